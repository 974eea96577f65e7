/*
 * conductor/policy.h: who may call which conductor method.
 *
 * The policy file (JSON, [DEFAULT] policy_file) maps identities to roles and methods to the role
 * they require:
 *
 *   { "users": { "tern": ["admin"], "demo": ["reader"] },
 *     "rules": { "live_migrate": "admin", "migration_list": "reader" } }
 *
 * The identity is the AMQP user-id of the message, which RabbitMQ validates against the
 * publisher's connection, so a client cannot claim another's. Role "admin" implies "reader"; a
 * method without a rule requires "admin"; an unknown user has no roles.
 *
 * Ownership: conductor_policy_t is immutable after loading and may be read by every worker thread
 * without locking. Free with conductor_policy_free().
 */
#ifndef TERN_CONDUCTOR_POLICY_H
#define TERN_CONDUCTOR_POLICY_H

typedef struct conductor_policy conductor_policy_t;

/* Load from a file / parse from a string (name used in messages). NULL with a CONFIG error
 * naming the file and what is wrong. */
conductor_policy_t *conductor_policy_load(const char *path);
conductor_policy_t *conductor_policy_parse(const char *name, const char *data);
void conductor_policy_free(conductor_policy_t *policy);

/* 0 when user may call method; -1 with a PERMISSION error naming user, method and the role it
 * needs otherwise. */
int conductor_policy_check(const conductor_policy_t *policy, const char *user, const char *method);

#endif /* TERN_CONDUCTOR_POLICY_H */
