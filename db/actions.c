/*
 * db/actions.c: the instance action log and its events (db/actions.h).
 */
#include "db/db-private.h"

#include <stdlib.h>
#include <string.h>

#define EVENT_COLS \
    "id, action_id, event, host, result, message, tern_ms(start_time), tern_ms(finish_time)"

#define ACTION_COLS                                                                 \
    "id, request_id, instance_uuid, action, user_id, project_id, result, message, " \
    "tern_ms(start_time), tern_ms(finish_time)"

static void
action_from_row(const PGresult *res, int row, db_action_t *a)
{
    memset(a, 0, sizeof(*a));
    a->id = db_get_int(res, row, 0);
    a->request_id = db_get_str(res, row, 1);
    db_get_uuid(res, row, 2, a->instance_uuid);
    a->action = db_get_str(res, row, 3);
    a->user_id = db_get_str(res, row, 4);
    a->project_id = db_get_str(res, row, 5);
    a->result = db_get_str(res, row, 6);
    a->message = db_get_str(res, row, 7);
    a->start_ms = db_get_int(res, row, 8);
    a->finish_ms = db_get_int(res, row, 9);
}

void
db_action_clear(db_action_t *a)
{
    if (!a)
        return;
    free(a->request_id);
    free(a->action);
    free(a->user_id);
    free(a->project_id);
    free(a->result);
    free(a->message);
    memset(a, 0, sizeof(*a));
}

void
db_action_list_free(db_action_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_action_clear(&list[i]);
    free(list);
}

int
db_action_start(db_conn_t *conn, const char *request_id, const char *instance_uuid,
                const char *action, const char *user_id, const char *project_id, int64_t *ret_id)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(instance_uuid, "instance") < 0 ||
        db_check_str(request_id, "request_id", "record action") < 0 ||
        db_check_str(action, "action", "record action") < 0)
        return -1;
    db_params_text(&p, request_id);
    db_params_text(&p, instance_uuid);
    db_params_text(&p, action);
    db_params_text(&p, user_id);
    db_params_text(&p, project_id);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "INSERT INTO instance_actions (request_id, instance_uuid, action, user_id,"
                  " project_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                  &p, "record action \"%s\" of instance \"%s\"", action, instance_uuid);
    if (!res)
        return -1;
    if (ret_id)
        *ret_id = db_get_int(res, 0, 0);
    return 0;
}

/* The statements that finish a row of one of the two tables (constant text of this file). */
typedef struct finish_sql {
    const char *update; /* $1 id, $2 result, $3 message */
    const char *select; /* $1 id -> result */
    const char *what;   /* "action", "event" */
} finish_sql_t;

static const finish_sql_t finish_action_sql = {
    "UPDATE instance_actions SET result = $2, message = $3,"
    " finish_time = coalesce(finish_time, now())"
    " WHERE id = $1 AND (result IS NULL OR result = $2)",
    "SELECT result FROM instance_actions WHERE id = $1",
    "action",
};

static const finish_sql_t finish_event_sql = {
    "UPDATE instance_action_events SET result = $2, message = $3,"
    " finish_time = coalesce(finish_time, now())"
    " WHERE id = $1 AND (result IS NULL OR result = $2)",
    "SELECT result FROM instance_action_events WHERE id = $1",
    "event",
};

/* finish_row: db_action_finish and db_action_event_finish (idempotent: the same result again
 * succeeds, the other one is a CONFLICT). */
static int
finish_row(db_conn_t *conn, const finish_sql_t *sql, int64_t id, bool success, const char *message)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    DB_AUTOPARAMS q = DB_PARAMS_INIT;
    DB_AUTORESULT *cur = NULL;
    const char *result = success ? "success" : "error";

    db_params_int(&p, id);
    db_params_text(&p, result);
    db_params_text(&p, message);
    res = db_exec(conn, DB_RETRY_SAFE, sql->update, &p, "finish %s %lld", sql->what, (long long)id);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") != 0)
        return 0;
    db_params_int(&q, id);
    cur = db_exec(conn, DB_RETRY_SAFE, sql->select, &q, "read %s %lld", sql->what, (long long)id);
    if (!cur)
        return -1;
    if (PQntuples(cur) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "%s %lld does not exist", sql->what,
                              (long long)id);
    return tern_error_set(TERN_ERR_CONFLICT,
                          "cannot finish %s %lld with result \"%s\": it already ended with "
                          "\"%s\"",
                          sql->what, (long long)id, result, PQgetvalue(cur, 0, 0));
}

int
db_action_finish(db_conn_t *conn, int64_t id, bool success, const char *message)
{
    return finish_row(conn, &finish_action_sql, id, success, message);
}

int
db_action_list(db_conn_t *conn, const char *instance_uuid, db_action_t **ret_list,
               size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_action_t *list;
    int n;

    if (db_check_uuid(instance_uuid, "instance") < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " ACTION_COLS " FROM instance_actions WHERE instance_uuid = $1"
                  " ORDER BY id",
                  &p, "list actions of instance \"%s\"", instance_uuid);
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        action_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

int
db_action_get(db_conn_t *conn, const char *instance_uuid, const char *request_id,
              db_action_t *ret_action)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(instance_uuid, "instance") < 0 ||
        db_check_str(request_id, "request_id", "read action") < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    db_params_text(&p, request_id);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " ACTION_COLS " FROM instance_actions"
                  " WHERE instance_uuid = $1 AND request_id = $2 ORDER BY id DESC LIMIT 1",
                  &p, "read action \"%s\" of instance \"%s\"", request_id, instance_uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "instance \"%s\" has no action of request \"%s\"",
                              instance_uuid, request_id);
    action_from_row(res, 0, ret_action);
    return 0;
}

/* ---- events ---- */

static void
event_from_row(const PGresult *res, int row, db_action_event_t *e)
{
    memset(e, 0, sizeof(*e));
    e->id = db_get_int(res, row, 0);
    e->action_id = db_get_int(res, row, 1);
    e->event = db_get_str(res, row, 2);
    e->host = db_get_str(res, row, 3);
    e->result = db_get_str(res, row, 4);
    e->message = db_get_str(res, row, 5);
    e->start_ms = db_get_int(res, row, 6);
    e->finish_ms = db_get_int(res, row, 7);
}

void
db_action_event_clear(db_action_event_t *e)
{
    if (!e)
        return;
    free(e->event);
    free(e->host);
    free(e->result);
    free(e->message);
    memset(e, 0, sizeof(*e));
}

void
db_action_event_list_free(db_action_event_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_action_event_clear(&list[i]);
    free(list);
}

/* event_insert: db_action_event_start (result NULL) and _record (result and finish now). */
static int
event_insert(db_conn_t *conn, int64_t action_id, const char *event, const char *host,
             const char *result, const char *message, int64_t *ret_id)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_str(event, "event", "record event") < 0)
        return -1;
    db_params_int(&p, action_id);
    db_params_text(&p, event);
    db_params_text(&p, host);
    db_params_text(&p, result);
    db_params_text(&p, message);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "INSERT INTO instance_action_events (action_id, event, host, result, message,"
                  " finish_time) VALUES ($1, $2, $3, $4, $5,"
                  " CASE WHEN $4::text IS NULL THEN NULL ELSE now() END) RETURNING id",
                  &p, "record event \"%s\" of action %lld", event, (long long)action_id);
    if (!res)
        return -1;
    if (ret_id)
        *ret_id = db_get_int(res, 0, 0);
    return 0;
}

int
db_action_event_start(db_conn_t *conn, int64_t action_id, const char *event, const char *host,
                      int64_t *ret_id)
{
    return event_insert(conn, action_id, event, host, NULL, NULL, ret_id);
}

int
db_action_event_finish(db_conn_t *conn, int64_t id, bool success, const char *message)
{
    return finish_row(conn, &finish_event_sql, id, success, message);
}

int
db_action_event_record(db_conn_t *conn, int64_t action_id, const char *event, const char *host,
                       bool success, const char *message)
{
    return event_insert(conn, action_id, event, host, success ? "success" : "error", message, NULL);
}

int
db_action_event_finish_open(db_conn_t *conn, int64_t action_id, const char *event, bool success,
                            const char *message, size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_int(&p, action_id);
    db_params_text(&p, event);
    db_params_text(&p, success ? "success" : "error");
    db_params_text(&p, message);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "UPDATE instance_action_events SET result = $3, message = $4,"
                  " finish_time = now()"
                  " WHERE action_id = $1 AND ($2::text IS NULL OR event = $2)"
                  " AND finish_time IS NULL",
                  &p, "finish the open events of action %lld", (long long)action_id);
    if (!res)
        return -1;
    if (ret_count)
        *ret_count = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
    return 0;
}

int
db_action_event_list(db_conn_t *conn, int64_t action_id, db_action_event_t **ret_list,
                     size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_action_event_t *list;
    int n;

    db_params_int(&p, action_id);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " EVENT_COLS " FROM instance_action_events WHERE action_id = $1"
                  " ORDER BY start_time, id",
                  &p, "list events of action %lld", (long long)action_id);
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        event_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}
