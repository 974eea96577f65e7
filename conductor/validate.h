/*
 * conductor/validate.h: the conductor's validation of request arguments that needs no database.
 *
 * Each function checks one method's arguments strictly (json_unpack_ex with JSON_STRICT: an
 * unknown or missing key, a value of the wrong type is an INVALID error naming the method and
 * jansson's reason), then their values, and fills a struct of what it read. The handlers
 * (live_migrate.c, servers.c, evacuations.c) call them first; tests/fuzz/fuzz-conductor.c fuzzes
 * them. Ownership: the strings and JSON values filled in are borrowed from args (req->args),
 * valid as long as it is.
 */
#ifndef TERN_CONDUCTOR_VALIDATE_H
#define TERN_CONDUCTOR_VALIDATE_H

#include <jansson.h>

#include "db/db.h"
#include "rpc/rpc.h"

/* The parsed live_migrate request. */
typedef struct conductor_live_migrate_args {
    const char *instance; /* uuid or name (borrowed from the request) */
    const char *host;     /* destination or NULL: the scheduler picks */
    int block_migration;  /* 1 block, 0 shared storage, -1 auto */
} conductor_live_migrate_args_t;

/* live_migrate's arguments: instance, host (a string, null or absent: the scheduler's choice),
 * block_migration (true, false, null or absent: auto). 0 or -1 with an INVALID error. */
int conductor_check_parameters(const json_t *args, conductor_live_migrate_args_t *ret);

/* The parsed server_create request (borrowed from its arguments). */
typedef struct conductor_server_request {
    const char *name, *image, *host, *migration_support;
    json_int_t memory_mb, disk_gb;
    int vcpus, priority, never_pause;
    json_t *volumes, *networks, *rules, *workload; /* borrowed */
} conductor_server_request_t;

/* server_create's arguments: sizes within the limits, volumes with an absolute path, networks a
 * bridge of 1 to 15 characters, the test guest's workload parameters. 0 or -1 with an INVALID
 * error; *r zeroed first. */
int conductor_validate_server_create(const json_t *args, conductor_server_request_t *r);

/* The arguments of host_evacuate_live and host_maintenance_enter (req->method names it in
 * errors) into *d: host, target_host, block_migration, max_concurrent (0 when absent), force,
 * reason, never_pause. 0 or -1 with an INVALID error; d's strings are borrowed from req->args. */
int conductor_validate_drain(const rpc_request_t *req, db_drain_t *d);

#endif /* TERN_CONDUCTOR_VALIDATE_H */
