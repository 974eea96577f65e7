/*
 * db/actions.h: the instance action log: who asked what of an instance, when, how it ended.
 *
 * A request handler calls db_action_start() when it accepts a request (e.g. action
 * "live-migration" with the request id of the RPC context) and db_action_finish() when it ends.
 *
 * Ownership: db_action_t owns its strings (db_action_clear()); lists are new arrays
 * (db_action_list_free()). Inputs are borrowed.
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

#endif /* TERN_DB_ACTIONS_H */
