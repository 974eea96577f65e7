/*
 * conductor/conductor.h: tern-conductor, the central daemon.
 *
 * The conductor serves topic "conductor": the operator API (conductor/API.md) used by the tern
 * CLI, and the service API the computes use to report heartbeats and resources and to record
 * migration progress (computes hold no database credentials). It owns the live-migration task:
 * checks, destination selection, the atomic start, and the switch-over record at the end.
 *
 * Files, one per part of the flow (README.md's diagram maps onto them):
 *   conductor/dispatch.c      method table, policy check, per-thread database connections
 *   conductor/checks.c        conductor_check_*: one function per check
 *   conductor/scheduler.c     conductor_select_destination: filter and weigh the hosts
 *   conductor/live_migrate.c  conductor_live_migrate: the task, start to hand-off
 *   conductor/drain.c         the drain runner: every instance off a host (its own thread)
 *   conductor/evacuations.c   host-evacuate-live, maintenance, evacuation show and abort
 *   conductor/migrations.c    migration list/show/abort/force-complete, compute reports
 *   conductor/events.c        conductor_notify_migration: status changes told to listeners
 *   conductor/actions.c       instance_action_list/_get: the action log and its events
 *   conductor/action_events.c conductor_event_*: the steps of an action recorded, best effort
 *   conductor/servers.c       server create/delete/list/show
 *   conductor/services.c      service and hypervisor views, service_report
 *   conductor/views.c         database rows -> API JSON objects
 *   conductor/policy.c        who may call what
 *   conductor/main.c          start-up
 *
 * Threads: handlers run on the RPC server's worker threads. Each worker thread has its own
 * database connection (conductor_db()); everything else in conductor_t is read-only after start
 * except what the RPC client guards itself.
 */
#ifndef TERN_CONDUCTOR_H
#define TERN_CONDUCTOR_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "conductor/policy.h"
#include "conductor/ratelimit.h"
#include "db/db.h"
#include "rpc/rpc.h"

#define CONDUCTOR_RPC_VERSION "1.0"
#define COMPUTE_RPC_VERSION "1.0"
#define CONDUCTOR_BINARY "tern-conductor"
#define COMPUTE_BINARY "tern-compute"
/* Migration events (API.md, "Events"): cast "migration_changed" to this topic, key the uuid. */
#define CONDUCTOR_MIGRATION_EVENTS_TOPIC "migration_events"
#define CONDUCTOR_EVENTS_VERSION "1.0"

/* What the conductor needs from its configuration; filled by main.c (strings owned). */
typedef struct conductor_config {
    char *host;                   /* [DEFAULT] host */
    char *db_connection;          /* [database] connection */
    char *policy_file;            /* [DEFAULT] policy_file */
    int service_down_time_s;      /* [DEFAULT] service_down_time */
    int rpc_timeout_ms;           /* [DEFAULT] rpc_response_timeout */
    double cpu_allocation_ratio;  /* [DEFAULT] cpu_allocation_ratio */
    double ram_allocation_ratio;  /* [DEFAULT] ram_allocation_ratio */
    double disk_allocation_ratio; /* [DEFAULT] disk_allocation_ratio */
    int reserved_host_memory_mb;  /* [DEFAULT] reserved_host_memory_mb */
    int reserved_host_disk_mb;    /* [DEFAULT] reserved_host_disk_mb */
    int workers;                  /* [conductor] workers */
    int max_migrations;           /* [conductor] max_concurrent_migrations (0: no limit) */
    int rate_limit_per_minute;    /* [conductor] rate_limit_per_minute (0: none) */
    int rate_limit_burst;         /* [conductor] rate_limit_burst */
} conductor_config_t;

void conductor_config_clear(conductor_config_t *cfg);

typedef struct conductor {
    conductor_config_t cfg;           /* owned */
    conductor_policy_t *policy;       /* owned, read-only */
    conductor_ratelimit_t *ratelimit; /* owned, thread-safe; NULL: no limit */
    rpc_client_t *rpc;                /* owned, thread-safe */
    rpc_config_t rpc_cfg;             /* strings borrowed from the daemon's configuration */
    rpc_server_t *server;             /* owned */
    rpc_endpoint_t endpoint;          /* what the server dispatches to: conductor_dispatch, this */
    pthread_key_t db_key;             /* each thread's database connection to cfg.db_connection */
    bool db_key_made;
    db_stats_t db_stats; /* what all those connections counted (atomic; db_stats_read) */
    /* the periodic recovery (conductor/recovery.c), on a thread of its own */
    pthread_t recovery;
    bool recovery_started;
    int recovery_interval_ms;
    pthread_mutex_t recovery_lock;
    pthread_cond_t recovery_cond;
    bool recovery_stopping; /* guarded by recovery_lock */
    /* the drain runner (conductor/drain.c), on a thread of its own */
    pthread_t drain;
    bool drain_started;
    pthread_mutex_t drain_lock;
    pthread_cond_t drain_cond;
    bool drain_stopping; /* guarded by drain_lock */
    bool drain_woken;    /* guarded by drain_lock: run a round now */
} conductor_t;

/* Create: load the policy, check the database schema, connect the RPC client. cfg is stolen. */
conductor_t *conductor_new(conductor_config_t *cfg, const rpc_config_t *rpc_cfg);
/* Serve topic "conductor" with n_workers threads. */
int conductor_start(conductor_t *cond, int n_workers);
void conductor_free(conductor_t *cond);

/* This thread's database connection of this conductor, opened on first use (reconnects by
 * itself). NULL with an error when the database cannot be reached. Borrowed: closed when the
 * thread exits, or by conductor_free for the thread that frees it. Two conductors in one
 * process (tests) have connections of their own. */
db_conn_t *conductor_db(conductor_t *cond);

/* A compute acts only for itself: 0 when req's method is not a compute's, or its caller is
 * the compute of the host the request names ("host") or a host of the migration it names (source
 * or destination, as recorded); -1 with a PERMISSION error (and an "audit:" log line) when it
 * is not, or the caller is no compute identity at all (common/identity.h). */
int conductor_check_caller(conductor_t *cond, const rpc_request_t *req);

/* The name of the i-th method the conductor serves, or NULL past the last. */
const char *conductor_method_name(size_t i);

/* A conductor method: args and identity in req; *ret_result a new reference. */
typedef int (*conductor_handler_fn)(conductor_t *cond, const rpc_request_t *req,
                                    json_t **ret_result);

/* Calls and casts to computes (topic "compute", server host); context is the request's (req
 * NULL: a new one, for the conductor's own periodic work). The call waits rpc_timeout_ms, or
 * timeout_ms with _within. */
int conductor_call_compute(conductor_t *cond, const rpc_request_t *req, const char *host,
                           const char *method, json_t *args, json_t **ret_result);
int conductor_call_compute_within(conductor_t *cond, const rpc_request_t *req, const char *host,
                                  const char *method, json_t *args, int timeout_ms,
                                  json_t **ret_result);
int conductor_cast_compute(conductor_t *cond, const rpc_request_t *req, const char *host,
                           const char *method, json_t *args);

/* Handlers (conductor/API.md). */
int conductor_live_migrate(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
/* The live-migration task for inst (a drain's), as req's caller, trying hosts (borrowed, best
 * first; the conductor-side checks already passed) in turn: block_migration 1, 0 or -1 (auto);
 * never_pause: the migration aborts rather than pause the guest (so it does when the instance
 * says so).
 * On success *ret_migration is the migration handed to the source (db_migration_clear). */
int conductor_live_migrate_among(conductor_t *cond, const rpc_request_t *req,
                                 const db_instance_t *inst, int block_migration, bool never_pause,
                                 char **hosts, size_t n_hosts, db_migration_t *ret_migration);
/* conductor/evacuations.c: drains and maintenance (API.md). */
int conductor_host_evacuate_live(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_host_maintenance_enter(conductor_t *cond, const rpc_request_t *req,
                                     json_t **ret_result);
int conductor_host_maintenance_exit(conductor_t *cond, const rpc_request_t *req,
                                    json_t **ret_result);
int conductor_host_evacuate_abort(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_evacuation_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_migration_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_migration_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_live_migration_abort(conductor_t *cond, const rpc_request_t *req,
                                   json_t **ret_result);
int conductor_live_migration_force_complete(conductor_t *cond, const rpc_request_t *req,
                                            json_t **ret_result);
int conductor_server_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_server_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_server_create(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_server_delete(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_service_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_service_update(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_hypervisor_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_hypervisor_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
/* Service API (computes). */
int conductor_service_report(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_migration_update(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_live_migration_completed(conductor_t *cond, const rpc_request_t *req,
                                       json_t **ret_result);
int conductor_live_migration_failed(conductor_t *cond, const rpc_request_t *req,
                                    json_t **ret_result);
/* conductor/recovery.c: unfinished migrations a restarted source compute must end; the
 * leftovers a compute must remove, and their removal. */
int conductor_migration_recover(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_migration_leftovers(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);
int conductor_migration_cleaned(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);

/* Close the live-migration action of instance_uuid started by request_id (NULL: the latest open
 * one) with success and message. Best effort. */
void conductor_finish_action(db_conn_t *db, const char *request_id, const char *instance_uuid,
                             bool success, const char *message);

/* Tell the listeners of migration uuid that its status is now status: cast "migration_changed"
 * {"migration": uuid, "status": name} to topic "migration_events", key uuid, with the context of
 * req (NULL: a new one). Call it after the change is committed. Best effort: nobody listening is
 * fine, a failure is logged as a warning; the thread's error state is left as it was. */
void conductor_notify_migration(conductor_t *cond, const rpc_request_t *req, const char *uuid,
                                db_migration_status_t status);

/* ---- instance action events (conductor/action_events.c; conductor/README.md lists them) ---- */

#define CONDUCTOR_EVENT_CHECK "conductor_check"                         /* conductor-side checks */
#define CONDUCTOR_EVENT_TRY_DESTINATION "conductor_try_destination"     /* claim + host checks */
#define CONDUCTOR_EVENT_HAND_OFF "conductor_hand_off"                   /* cast to the source */
#define CONDUCTOR_EVENT_PRE_LIVE_MIGRATION "compute_pre_live_migration" /* preparing..running */
#define CONDUCTOR_EVENT_LIVE_MIGRATION "compute_live_migration"         /* running..switch-over */
#define CONDUCTOR_EVENT_SWITCH_OVER "switch_over"                       /* instance moved */
#define CONDUCTOR_EVENT_POST_LIVE_MIGRATION "compute_post_live_migration" /* source cleanup */
#define CONDUCTOR_EVENT_ABORT "live_migration_abort"                      /* operator's request */
#define CONDUCTOR_EVENT_FORCE_COMPLETE "live_migration_force_complete"    /* operator's request */

/* Best effort, all of them: nothing happens when action_id (event_id) is 0, a failure is a
 * warning, and the thread's error state is left as it was. Start: the new event's id, or 0. */
int64_t conductor_event_start(db_conn_t *db, int64_t action_id, const char *event,
                              const char *host);
void conductor_event_finish(db_conn_t *db, int64_t event_id, bool success, const char *message);
void conductor_event_record(db_conn_t *db, int64_t action_id, const char *event, const char *host,
                            bool success, const char *message);
/* Finish the action's unfinished events called event (NULL: all of them). */
void conductor_events_finish_open(db_conn_t *db, int64_t action_id, const char *event, bool success,
                                  const char *message);

/* The events of the source compute's report (method report: "migration_update",
 * "live_migration_completed" or "live_migration_failed") that moved migration before (as it was
 * before the report; its action_id and hosts) to status, with message (the error, or the
 * warning of post-processing; may be NULL). A status the migration already had records
 * nothing (a repeated report). Best effort. */
void conductor_report_events(db_conn_t *db, const db_migration_t *before, const char *report,
                             db_migration_status_t status, const char *message);

/* instance_action_list {instance, events?} -> {"actions": [...]}, instance_action_get {instance,
 * request_id} -> {"action": {..., "events": [...]}} (conductor/actions.c). */
int conductor_instance_action_list(conductor_t *cond, const rpc_request_t *req,
                                   json_t **ret_result);
int conductor_instance_action_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result);

/* End the migrations orphaned by a conductor that stopped between the atomic start and the
 * hand-off to the source compute (db_migration_take_orphans): each becomes error, its claim is
 * released, its instance's task_state cleared and its action finished. The VM never left its
 * source. at_start: this conductor has just started, so its own such migrations are orphans
 * too. Returns how many were ended, or -1. Run at start-up, then every report_interval
 * (conductor_recovery_start). */
int conductor_sweep_orphans(conductor_t *cond, bool at_start);

/* End the migrations in flight whose source compute has sent no heartbeat for twice
 * service_down_time, by what the destination's hypervisor says (conductor/recovery.c): running
 * there - the switch-over is recorded, the source cleans up when it is back; not there - failed,
 * the guest stays on its source; held otherwise, or the destination cannot be asked - left for
 * the next round. Returns how many were looked at, or -1. Run every report_interval
 * (conductor_recovery_start). */
int conductor_watch_silent_sources(conductor_t *cond);

/* Run conductor_sweep_orphans and conductor_watch_silent_sources every interval_ms on a thread
 * of their own, so that their calls to computes never delay the heartbeat. Stopped (and
 * joined) by conductor_free. 0, or -1 when the thread cannot start. */
int conductor_recovery_start(conductor_t *cond, int interval_ms);

/* conductor/drain.c: run one round of the drains this conductor owns (taking over those whose
 * conductor stopped); how many drains it ran, or -1. The drain thread runs it every second and
 * when woken (conductor_drain_wake: a migration changed status, a drain was asked for or
 * aborted). conductor_start starts the thread; conductor_free stops it (conductor_drain_stop). */
int conductor_drain_round(conductor_t *cond);
int conductor_drain_start(conductor_t *cond);
void conductor_drain_stop(conductor_t *cond);
void conductor_drain_wake(conductor_t *cond);

#endif /* TERN_CONDUCTOR_H */
