/*
 * db/actions.h: the instance action log: who asked what of an instance, when, how it ended.
 *
 * A request handler calls db_action_start() when it accepts a request (e.g. action
 * "live-migration" with the request id of the RPC context) and db_action_finish() when it ends.
 *
 * Events (instance_action_events, nova's): the steps of an action, each with the host it ran on
 * (or was about), its start and finish time and its result. A step that takes time is
 * db_action_event_start() then db_action_event_finish(); an instantaneous one (a check's
 * verdict, a report) is one db_action_event_record(). A migration knows the action that started
 * it (migrations.action_id, set by db_migration_begin(); db_migration_t.action_id), so the
 * source compute's later reports find it without guessing from the instance and request id.
 *
 * Ownership: db_action_t and db_action_event_t own their strings (db_action_clear(),
 * db_action_event_clear()); lists are new arrays (db_action_list_free(),
 * db_action_event_list_free()). Inputs are borrowed.
 */
#ifndef TERN_DB_ACTIONS_H
#define TERN_DB_ACTIONS_H

#include "db/db.h"

typedef struct db_action {
    int64_t id;
    char *request_id;
    char instance_uuid[DB_UUID_LEN];
    char *action;     /* "live-migration", "create", ... */
    char *user_id;    /* may be NULL */
    char *project_id; /* may be NULL */
    char *result;     /* NULL while running, then "success" or "error" */
    char *message;    /* NULL, or how it ended */
    int64_t start_ms;
    int64_t finish_ms; /* 0 while running */
} db_action_t;

void db_action_clear(db_action_t *action);
void db_action_list_free(db_action_t *list, size_t count);

/* Record the start of an action; *ret_id (may be NULL) receives its id. NOT_FOUND when the
 * instance does not exist. Not retried (an INSERT). */
int db_action_start(db_conn_t *conn, const char *request_id, const char *instance_uuid,
                    const char *action, const char *user_id, const char *project_id,
                    int64_t *ret_id);

/* Record how action id ended: success true -> "success", false -> "error"; message may be
 * NULL. CONFLICT when it has already finished with another result, NOT_FOUND when absent.
 * Idempotent, retried. */
int db_action_finish(db_conn_t *conn, int64_t id, bool success, const char *message);

/* An instance's actions, oldest first. Read, retried. */
int db_action_list(db_conn_t *conn, const char *instance_uuid, db_action_t **ret_list,
                   size_t *ret_count);

/* The action of instance_uuid started by request_id (the latest when a request id was used
 * twice). NOT_FOUND when there is none. Read, retried. */
int db_action_get(db_conn_t *conn, const char *instance_uuid, const char *request_id,
                  db_action_t *ret_action);

typedef struct db_action_event {
    int64_t id;
    int64_t action_id;
    char *event;   /* "conductor_check", "compute_live_migration", ... (conductor/README.md) */
    char *host;    /* the host it ran on or was about; may be NULL */
    char *result;  /* NULL while running, then "success" or "error" */
    char *message; /* NULL, or why it failed / what it found */
    int64_t start_ms;
    int64_t finish_ms; /* 0 while running */
} db_action_event_t;

void db_action_event_clear(db_action_event_t *event);
void db_action_event_list_free(db_action_event_t *list, size_t count);

/* Record the start of event (host may be NULL) of action action_id; *ret_id (may be NULL)
 * receives its id. NOT_FOUND when the action does not exist. Not retried (an INSERT). */
int db_action_event_start(db_conn_t *conn, int64_t action_id, const char *event, const char *host,
                          int64_t *ret_id);

/* Record how event id ended, as db_action_finish() does for an action: CONFLICT when it has
 * already finished with the other result, NOT_FOUND when absent. Idempotent, retried. */
int db_action_event_finish(db_conn_t *conn, int64_t id, bool success, const char *message);

/* An instantaneous event: started and finished now with its result. NOT_FOUND when the action
 * does not exist. Not retried (an INSERT). */
int db_action_event_record(db_conn_t *conn, int64_t action_id, const char *event, const char *host,
                           bool success, const char *message);

/* Finish every unfinished event of action action_id called event (NULL: of any name) with the
 * result and message; none is not an error. *ret_count (may be NULL) receives how many were
 * finished. Idempotent, retried. */
int db_action_event_finish_open(db_conn_t *conn, int64_t action_id, const char *event, bool success,
                                const char *message, size_t *ret_count);

/* The events of action action_id, in the order they started (then by id). Read, retried. */
int db_action_event_list(db_conn_t *conn, int64_t action_id, db_action_event_t **ret_list,
                         size_t *ret_count);

#endif /* TERN_DB_ACTIONS_H */
