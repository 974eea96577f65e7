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
 * publisher's connection, so a client cannot claim another's. Only an identity with the role
 * "api" (tern-api's) speaks for others: the user and roles of its request context are used
 * instead (conductor_policy_check_request), its roles mapped by "context_roles". Role "admin" implies "reader"; a
 * method without a rule requires "admin"; an unknown user has no roles, except that a compute's
 * identity, "tern-compute.<host>" (common/identity.h), has "service" unless the file names it.
 * The policy says only which role a method needs; that a compute acts only for its own host and
 * its own migrations is checked after it (conductor/dispatch.c, conductor_check_caller).
 *
 * The rules and their defaults live in the code (policy.c: every method of conductor/API.md,
 * and the user "tern": admin), as nova's policy-in-code: a file only
 * overrides them - a user it names gets the roles it lists, a method it names the role it gives
 * - and a missing file means the defaults. A rule for a method the conductor does not have, or
 * an unknown role (admin, reader, service), is a CONFIG error naming it, so that a typo never
 * leaves a method open or closed by surprise. `tern-config policy-sample` prints the defaults.
 *
 * Ownership: conductor_policy_t is immutable after loading and may be read by every worker thread
 * without locking. Free with conductor_policy_free().
 */
#ifndef TERN_CONDUCTOR_POLICY_H
#define TERN_CONDUCTOR_POLICY_H

typedef struct conductor_policy conductor_policy_t;

#include <jansson.h>
#include <stdbool.h>

/* Load from a file - the defaults alone when path is NULL, empty or names no file
 * (*ret_from_file, may be NULL, says which) - or parse a file's text (name used in messages).
 * NULL with a CONFIG error naming the file and what is wrong. */
conductor_policy_t *conductor_policy_load(const char *path, bool *ret_from_file);
conductor_policy_t *conductor_policy_parse(const char *name, const char *data);
/* Whether method is a rule of the code (a method of the conductor). */
bool conductor_policy_knows(const char *method);
/* The defaults as a policy file (JSON text and a newline; free()). */
char *conductor_policy_sample(void);
void conductor_policy_free(conductor_policy_t *policy);

/* 0 when user may call method; -1 with a PERMISSION error naming user, method and the role it
 * needs otherwise. */
int conductor_policy_check(const conductor_policy_t *policy, const char *user, const char *method);

/* The policy for a request: who asks, and may they call method. A message from an identity with
 * the role "api" (tern-api's "tern-api", common/identity.h) asks for the user its context
 * names: the context's "user_id" (not a tern identity: a compute's, or one the policy names)
 * with the tern roles its "roles" give through the policy's "context_roles" (Keystone's "admin":
 * admin; only admin and reader can be given). Any other message asks for its AMQP user with
 * that user's own roles, whatever its context says. 0 and *ret_user (borrowed from amqp_user or
 * context) when the caller may; -1 with a PERMISSION error naming the user, the method and the
 * role it needs, or what is wrong with the context. */
int conductor_policy_check_request(const conductor_policy_t *policy, const char *amqp_user,
                                   json_t *context, const char *method, const char **ret_user);

#endif /* TERN_CONDUCTOR_POLICY_H */
