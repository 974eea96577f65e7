/*
 * db/actions.c: the instance action log (db/actions.h).
 */
#include "db/db-private.h"

#include <stdlib.h>
#include <string.h>

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

int
db_action_finish(db_conn_t *conn, int64_t id, bool success, const char *message)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    DB_AUTOPARAMS q = DB_PARAMS_INIT;
    DB_AUTORESULT *cur = NULL;
    const char *result = success ? "success" : "error";

    db_params_int(&p, id);
    db_params_text(&p, result);
    db_params_text(&p, message);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "UPDATE instance_actions SET result = $2, message = $3,"
                  " finish_time = coalesce(finish_time, now())"
                  " WHERE id = $1 AND (result IS NULL OR result = $2)",
                  &p, "finish action %lld", (long long)id);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") != 0)
        return 0;
    db_params_int(&q, id);
    cur = db_exec(conn, DB_RETRY_SAFE, "SELECT result FROM instance_actions WHERE id = $1", &q,
                  "read action %lld", (long long)id);
    if (!cur)
        return -1;
    if (PQntuples(cur) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "action %lld does not exist", (long long)id);
    return tern_error_set(TERN_ERR_CONFLICT,
                          "cannot finish action %lld with result \"%s\": it already ended with "
                          "\"%s\"",
                          (long long)id, result, PQgetvalue(cur, 0, 0));
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
