/*
 * db/instances.h: the instances table and its atomic task_state transitions.
 *
 * task_state is the instance's lock for long operations: a conductor starting a live migration
 * calls db_instance_task_state_begin(conn, uuid, NULL, "migrating"), a single
 * UPDATE ... WHERE task_state IS NOT DISTINCT FROM expected ... RETURNING, so of two conductors
 * racing for the same instance exactly one wins; the other gets TERN_ERR_CONFLICT naming the
 * task_state it found. The move of an instance to its destination is part of the migration's
 * switch-over (db_migration_switch_over() in db/migrations.h).
 *
 * Soft delete: a deleted instance keeps its row (deleted_ms != 0, vm_state "deleted");
 * db_instance_get() still returns it, lists skip it unless asked, updates refuse it (NOT_FOUND).
 *
 * Ownership: db_instance_t owns its strings (db_instance_clear()); lists are new arrays
 * (db_instance_list_free()). Inputs are borrowed.
 */
#ifndef TERN_DB_INSTANCES_H
#define TERN_DB_INSTANCES_H

#include "db/db.h"

/* vm_state values (the table's CHECK constraint lists them all). */
#define DB_VM_STATE_BUILDING "building"
#define DB_VM_STATE_ACTIVE "active"
#define DB_VM_STATE_PAUSED "paused"
#define DB_VM_STATE_STOPPED "stopped"
#define DB_VM_STATE_DELETED "deleted"
#define DB_VM_STATE_ERROR "error"

/* task_state values used by tern (free text in the table; NULL means no task). */
#define DB_TASK_STATE_MIGRATING "migrating"
#define DB_TASK_STATE_DELETING "deleting"

/* power_state values (nova's numbering). */
enum {
    DB_POWER_NOSTATE = 0,
    DB_POWER_RUNNING = 1,
    DB_POWER_PAUSED = 3,
    DB_POWER_SHUTDOWN = 4,
    DB_POWER_CRASHED = 6,
    DB_POWER_SUSPENDED = 7,
};

typedef struct db_instance {
    int64_t id;
    char uuid[DB_UUID_LEN]; /* "" in a create request: db_instance_create() generates one */
    char *name;             /* display name, stored verbatim */
    char *host;             /* compute host running it, NULL when unscheduled */
    char *node;             /* hypervisor_hostname on that host, NULL when unscheduled */
    char *vm_state;         /* DB_VM_STATE_*; NULL in a create request means "building" */
    char *task_state;       /* NULL when no task runs */
    int power_state;        /* DB_POWER_* */
    int64_t memory_mb;      /* flavor sizes */
    int vcpus;
    int64_t root_gb;
    int64_t ephemeral_gb;
    char *flavor_name; /* may be NULL */
    char *image_ref;   /* image id or path, may be NULL */
    char *project_id;
    char *user_id;
    bool locked;         /* an operator locked it against actions */
    int priority;        /* migration ordering hint: higher first */
    int64_t launched_ms; /* 0 until first started */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t deleted_ms;      /* 0 unless soft-deleted */
    char *migration_support; /* "migratable", "manual" (not by a drain) or "pinned" (never);
                              * NULL in a create: "migratable" */
    bool never_pause;        /* its migrations abort rather than pause it to complete */
} db_instance_t;

typedef struct db_instance_filter {
    const char *host;       /* NULL: any */
    const char *node;       /* NULL: any */
    const char *project_id; /* NULL: any */
    bool include_deleted;
} db_instance_filter_t;

void db_instance_clear(db_instance_t *inst);
void db_instance_list_free(db_instance_t *list, size_t count);

/* Insert an instance. inst->uuid "" means generate one. name, project_id and user_id are
 * required; id, task_state and the timestamps are ignored. CONFLICT when the uuid exists.
 * ret_instance (may be NULL) receives the stored row. Not retried (an INSERT). */
int db_instance_create(db_conn_t *conn, const db_instance_t *inst, db_instance_t *ret_instance);

/* Read by uuid, soft-deleted rows included. NOT_FOUND when absent. Read, retried. */
int db_instance_get(db_conn_t *conn, const char *uuid, db_instance_t *ret_instance);

/* List ordered by id. filter may be NULL (all live instances). Read, retried. */
int db_instance_list(db_conn_t *conn, const db_instance_filter_t *filter, db_instance_t **ret_list,
                     size_t *ret_count);

/* Single-column updates of a live instance; NOT_FOUND when absent or deleted. Idempotent and
 * retried. host/node NULL clears them. */
int db_instance_set_location(db_conn_t *conn, const char *uuid, const char *host, const char *node);
int db_instance_set_vm_state(db_conn_t *conn, const char *uuid, const char *vm_state);
int db_instance_set_power_state(db_conn_t *conn, const char *uuid, int power_state);
int db_instance_set_locked(db_conn_t *conn, const char *uuid, bool locked);

/* Soft-delete: vm_state "deleted", task_state cleared, deleted_at now(). Deleting a deleted
 * instance succeeds and changes nothing. NOT_FOUND when absent. Retried. */
int db_instance_soft_delete(db_conn_t *conn, const char *uuid);

/* Atomically set task_state to new_task_state if it currently equals expected_task_state
 * (NULL: no task) and the instance is live. Otherwise CONFLICT "... task_state is "migrating"
 * (expected none)", or NOT_FOUND. ret_instance (may be NULL) receives the updated row.
 * Not retried: a retry would see its own write. */
int db_instance_task_state_begin(db_conn_t *conn, const char *uuid, const char *expected_task_state,
                                 const char *new_task_state, db_instance_t *ret_instance);

/* Clear task_state if it equals expected_task_state (or is already clear: idempotent, retried).
 * CONFLICT naming the current task_state when another task holds the instance. */
int db_instance_task_state_end(db_conn_t *conn, const char *uuid, const char *expected_task_state);

#endif /* TERN_DB_INSTANCES_H */
