/*
 * common/identity.h: the broker identities of tern's daemons, and the host a compute's is bound
 * to.
 *
 * RabbitMQ validates a message's user-id property against the publisher's connection, so the
 * user-id names who sent it. By convention each compute logs in as its own user,
 * "tern-compute.<host>" (TERN_COMPUTE_USER_PREFIX and the host name of its [DEFAULT] host):
 * the conductor accepts a report or a migration update from it only for that host or for a
 * migration that host takes part in, and a compute serves a peer compute only for a migration
 * of which the peer is the source. A host name is 1..255 of [A-Za-z0-9._-].
 *
 * Ownership: no state; returned pointers point into the caller's string; allocated results are
 * freed by the caller.
 */
#ifndef TERN_COMMON_IDENTITY_H
#define TERN_COMMON_IDENTITY_H

#include <stdbool.h>

#define TERN_COMPUTE_USER_PREFIX "tern-compute."
/* tern-api's identity: the one the default policy lets assert its callers' identities (the
 * Keystone user and roles) in the request context (conductor/policy.h, role "api"). */
#define TERN_API_USER "tern-api"

/* Whether s is a host name: 1..255 of [A-Za-z0-9._-]. */
bool tern_host_name_ok(const char *s);

/* The host a compute identity is bound to - the part after TERN_COMPUTE_USER_PREFIX, when it
 * is a host name - or NULL when user is not a compute's identity (NULL user: NULL). */
const char *tern_identity_compute_host(const char *user);

/* The identity of the compute of host ("tern-compute.<host>"; free()). */
char *tern_identity_compute_user(const char *host);

#endif /* TERN_COMMON_IDENTITY_H */
