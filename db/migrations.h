/*
 * db/migrations.h: the migrations table: one row per (live) migration of an instance.
 *
 * Status machine (db_migration_set_status() enforces it in the UPDATE's WHERE clause, so it
 * holds under concurrency; setting the status a migration already has is an idempotent no-op):
 *
 *   queued -> preparing -> running -> completed
 *      |          |          |  \---> postcopy-active -> completed | failed | error
 *      |          |          |  \            |
 *      |          |          |   +------------+--> postcopy-paused -> completed | failed | error
 *      +----------+----------+--> failed | cancelled | error
 *                 |          |          |
 *                 +----------+----------+--> needs-operator -> completed | failed | error
 *                 +--> completed (libvirt moved the guest; the "running" report was lost)
 *
 * completed, failed, cancelled and error are final (finished_at is set on entering them).
 * needs-operator and postcopy-paused are not: the guest is paused (or runs) on both hosts, or
 * post-copy's stream broke and it is split between them; tern touches neither host, and the
 * instance keeps its task and claim until someone decides.
 *
 * Ownership of the instance: the migration that db_migration_begin() created owns its instance's
 * task_state (instances.task_owner). Its ends - db_migration_switch_over() (moves the instance to
 * the destination) and db_migration_end() (a migration that did not switch over) - clear the
 * task_state only while the migration still owns it, so a late end of an old migration never
 * releases a newer one. Both are idempotent, so a report retried after a lost answer is safe.
 *
 * Leftovers: cleanup_host names the host still holding the migration's leftovers (domain, disks,
 * filter, bridge): the source from the switch-over until its post-processing has run, or a
 * destination that did not answer its rollback. That host's compute removes them when it is
 * back and clears the mark (db_migration_set_cleanup_host()).
 *
 * Phases: benchmarks break a migration's overhead into checks (pre-checks at the conductor),
 * preparation (pre_live_migration at the destination), migration (the hypervisor's job) and post
 * (post_live_migration at source and destination); each has a start and end timestamp.
 *
 * Units: memory_* and disk_* in bytes, dirty_rate in bytes per second, times in milliseconds.
 * Ownership: db_migration_t owns its strings (db_migration_clear()); lists are new arrays
 * (db_migration_list_free()). Inputs are borrowed.
 */
#ifndef TERN_DB_MIGRATIONS_H
#define TERN_DB_MIGRATIONS_H

#include <jansson.h>

#include "db/db.h"
#include "db/instances.h"

typedef enum {
    DB_MIGRATION_QUEUED = 0,
    DB_MIGRATION_PREPARING,
    DB_MIGRATION_RUNNING,
    DB_MIGRATION_POSTCOPY_ACTIVE,
    DB_MIGRATION_POSTCOPY_PAUSED,
    DB_MIGRATION_NEEDS_OPERATOR,
    DB_MIGRATION_COMPLETED,
    DB_MIGRATION_FAILED,
    DB_MIGRATION_CANCELLED,
    DB_MIGRATION_ERROR,
    DB_MIGRATION_STATUS__COUNT
} db_migration_status_t;

typedef enum {
    DB_MIGRATION_PHASE_CHECKS = 0,
    DB_MIGRATION_PHASE_PREPARATION,
    DB_MIGRATION_PHASE_MIGRATION,
    DB_MIGRATION_PHASE_POST,
    DB_MIGRATION_PHASE__COUNT
} db_migration_phase_t;

/* "queued", "preparing", "running", "postcopy-active", "postcopy-paused", "needs-operator",
 * "completed", "failed", "cancelled", "error" (static strings); "unknown" for a value out of range. */
const char *db_migration_status_name(db_migration_status_t status);
/* -1 (no error set) for an unknown name. */
int db_migration_status_from_name(const char *name);
/* completed, failed, cancelled, error */
bool db_migration_status_is_final(db_migration_status_t status);
/* Whether from -> to is an edge of the machine above (from == to is not). */
bool db_migration_transition_allowed(db_migration_status_t from, db_migration_status_t to);
/* "checks", "preparation", "migration", "post" */
const char *db_migration_phase_name(db_migration_phase_t phase);

typedef struct db_migration {
    int64_t id;
    char uuid[DB_UUID_LEN]; /* "" in a create request: generated */
    char instance_uuid[DB_UUID_LEN];
    char *source_compute; /* source host */
    char *source_node;    /* may be NULL */
    char *dest_compute;   /* NULL until the destination is chosen */
    char *dest_node;
    char *migration_type; /* "live-migration" (default), "migration", "evacuation" */
    db_migration_status_t status;
    bool block_migration; /* disks copied too (no shared storage) */
    int64_t memory_total;
    int64_t memory_processed;
    int64_t memory_remaining;
    int64_t disk_total;
    int64_t disk_processed;
    int64_t disk_remaining;
    int64_t dirty_rate;    /* bytes per second */
    int64_t iterations;    /* pre-copy passes */
    int64_t downtime_ms;   /* measured downtime, -1 when unknown */
    int64_t total_time_ms; /* hypervisor job time, -1 when unknown */
    char *error_message;   /* NULL unless failed/error */
    char *user_id;         /* who asked, may be NULL */
    char *project_id;
    int64_t phase_start_ms[DB_MIGRATION_PHASE__COUNT]; /* 0 = not started */
    int64_t phase_end_ms[DB_MIGRATION_PHASE__COUNT];   /* 0 = not finished */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t finished_ms; /* when it entered a final status; 0 before */
    char *cleanup_host;  /* host still holding leftovers of the migration, NULL: none */
    int64_t action_id;   /* the instance action that started it (db_migration_begin), 0: none */
} db_migration_t;

typedef struct db_migration_progress {
    int64_t memory_total;
    int64_t memory_processed;
    int64_t memory_remaining;
    int64_t disk_total;
    int64_t disk_processed;
    int64_t disk_remaining;
    int64_t dirty_rate;
    int64_t iterations;
} db_migration_progress_t;

typedef struct db_migration_filter {
    const char *host;          /* source_compute or dest_compute equals it; NULL: any */
    const char *instance_uuid; /* NULL: any */
    int status;                /* a db_migration_status_t, or -1 for any */
    bool unfinished_only;      /* only non-final statuses (crash recovery) */
    const char *cleanup_host;  /* only those whose leftovers are on this host; NULL: any */
    int source_silent_s;       /* > 0: only those whose source compute has sent no heartbeat
                                * for this many seconds (its service row, or it has none) */
} db_migration_filter_t;

void db_migration_clear(db_migration_t *mig);
void db_migration_list_free(db_migration_t *list, size_t count);

/* Insert a migration in status queued. Required: instance_uuid (NOT_FOUND if that instance does
 * not exist) and source_compute; uuid "" generates one; migration_type NULL means
 * "live-migration". Progress, status and timestamps of mig are ignored. ret_migration may be
 * NULL. Not retried (an INSERT). */
int db_migration_create(db_conn_t *conn, const db_migration_t *mig, db_migration_t *ret_migration);

/* A conductor's atomic start of a migration, in one transaction: the instance's task_state
 * goes from none to "migrating" (CONFLICT naming the task holding it, NOT_FOUND), the action
 * (action, e.g. "live-migration", for request_id "" or an id) is recorded, the migration is
 * created as by db_migration_create() with conductor_host as its conductor, its checks phase
 * begun and the action as its action_id (db/actions.h: the events of its steps go there). Either all of it happens or none: a conductor that dies halfway leaves the instance
 * free, never "migrating" with no migration a sweep could find. *ret_action_id and
 * ret_migration may be NULL. Not retried (a transaction). */
int db_migration_begin(db_conn_t *conn, const db_migration_t *mig, const char *conductor_host,
                       const char *request_id, const char *action, int64_t *ret_action_id,
                       db_migration_t *ret_migration);

/* Read by uuid / by id. NOT_FOUND when absent. Reads, retried. */
int db_migration_get(db_conn_t *conn, const char *uuid, db_migration_t *ret_migration);
int db_migration_get_by_id(db_conn_t *conn, int64_t id, db_migration_t *ret_migration);

/* List ordered by id; filter may be NULL. Read, retried. A host's migrations to recover after
 * a crash: {.host = host, .status = -1, .unfinished_only = true}. */
int db_migration_list(db_conn_t *conn, const db_migration_filter_t *filter,
                      db_migration_t **ret_list, size_t *ret_count);

/* Move to status `status` if that is allowed from the current one (or already the status:
 * no-op). error_message (may be NULL) is stored with it; entering a final status sets
 * finished_at. CONFLICT naming the current status when the transition is not allowed,
 * NOT_FOUND when absent. Retried (idempotent). */
int db_migration_set_status(db_conn_t *conn, const char *uuid, db_migration_status_t status,
                            const char *error_message);

/* Choose the destination (before preparing). CONFLICT unless queued or preparing. Retried. */
int db_migration_set_destination(db_conn_t *conn, const char *uuid, const char *dest_compute,
                                 const char *dest_node);

/* Store the latest progress figures. Retried. */
int db_migration_update_progress(db_conn_t *conn, const char *uuid,
                                 const db_migration_progress_t *progress);

/* Store measured downtime and total job time (-1: leave unchanged). Retried. */
int db_migration_set_times(db_conn_t *conn, const char *uuid, int64_t downtime_ms,
                           int64_t total_time_ms);

/* Store an error message without changing the status. Retried. */
int db_migration_set_error(db_conn_t *conn, const char *uuid, const char *error_message);

/* Mark a phase started (keeps the first start time if called again) / finished (now).
 * Retried. */
int db_migration_phase_begin(db_conn_t *conn, const char *uuid, db_migration_phase_t phase);
int db_migration_phase_end(db_conn_t *conn, const char *uuid, db_migration_phase_t phase);

/* The switch-over record, in one transaction: the migration (preparing, running,
 * postcopy-active or needs-operator) becomes completed with cleanup_host := its source, and its instance - whose
 * task the migration must own - moves to dest_compute/dest_node with its task cleared. Either
 * both happen or neither: CONFLICT naming the migration's status or the instance's task
 * otherwise. Idempotent: a migration already completed whose instance is on its destination
 * succeeds again. The migration's claims are released with it (the instance counts on its
 * destination from then on). ret_instance (may be
 * NULL) receives the instance as it now is. Not retried (a transaction). */
int db_migration_switch_over(db_conn_t *conn, const char *uuid, db_instance_t *ret_instance);

/* The end of a migration that did not switch over, in one transaction: status (failed, cancelled
 * or error) with error_message, its claims released, its instance's task cleared if the migration
 * still owns it, and cleanup_host (NULL: keep) recorded. The first end wins: a migration already
 * failed, cancelled or in error keeps its status and message, *ret_ended (may be NULL) is false,
 * and the rest is done again (so a sweep that marked it first can call this too); one that
 * switched over is a CONFLICT. Not retried (a transaction). */
int db_migration_end(db_conn_t *conn, const char *uuid, db_migration_status_t status,
                     const char *error_message, const char *cleanup_host, bool *ret_ended);

/* The conductor's end of a migration it has not handed over: as db_migration_end with status
 * error (an end already recorded, by a sweep, wins as there), but only while the migration is
 * queued or ended - CONFLICT once the source compute has taken it (reported "preparing"), so that a hand-off whose cast looked failed yet arrived is
 * never ended behind the source's back, and a cast arriving after this end is refused by the
 * source's first report. Not retried (a transaction). */
int db_migration_abandon(db_conn_t *conn, const char *uuid, const char *error_message,
                         bool *ret_ended);

/* Make the migration the owner of its instance's task: the instance's task_state must be
 * "migrating" with no owner (CONFLICT otherwise). db_migration_begin() does it; tests that build
 * a migration step by step call it. Not retried. */
int db_migration_own_task(db_conn_t *conn, const char *uuid);

/* Record (host) or clear (NULL) the host holding the migration's leftovers. Retried. */
int db_migration_set_cleanup_host(db_conn_t *conn, const char *uuid, const char *host);
/* host has removed the migration's leftovers: the mark is cleared if it names host (a mark
 * already cleared, or naming another host, is left as it is: no error). NOT_FOUND when the
 * migration does not exist. Retried. */
int db_migration_leftovers_removed(db_conn_t *conn, const char *uuid, const char *host);

/* The computes' agreed migrate data (the host checks' result), kept for crash recovery; storing
 * it is the hand-off to the source compute, so it is refused (CONFLICT) unless the migration is
 * still queued (a sweep may have ended it: see db_migration_take_orphans). Stored as given
 * (borrowed); read back as a new reference (json null when never stored). NOT_FOUND when the
 * migration does not exist. Both retried. */
int db_migration_set_migrate_data(db_conn_t *conn, const char *uuid, const json_t *migrate_data);

/* The conductor (host) handling the migration until its hand-off. Retried. */
int db_migration_set_conductor(db_conn_t *conn, const char *uuid, const char *conductor_host);

/* Take the migrations handed to a source compute that never took them (status queued with migrate
 * data, unchanged for max_age_s, and the source's tern-compute silent for down_s: its conductor
 * died before the cast, or the compute is gone; a live compute may hold one in its queue) and
 * those orphaned by their conductor before the hand-off - status queued, no migrate data - whose
 * conductor is known gone: it is restarted_host (the caller, just started:
 * nothing of its own is in flight; NULL for none), or its tern-conductor service row has had no
 * heartbeat for down_s seconds (or has none), or the migration is older than max_age_s (no
 * conductor takes that long before the hand-off, whoever it is). Each becomes status error with
 * message, in one statement, so that two sweeping conductors never take the same one. The taken
 * migrations are returned (free with db_migration_list_free). Not retried. */
int db_migration_take_orphans(db_conn_t *conn, const char *restarted_host, int down_s,
                              int max_age_s, const char *message, db_migration_t **ret_list,
                              size_t *ret_count);
int db_migration_get_migrate_data(db_conn_t *conn, const char *uuid, json_t **ret_migrate_data);

#endif /* TERN_DB_MIGRATIONS_H */
