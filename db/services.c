/*
 * db/services.c: the services table (db/services.h).
 */
#include "db/db-private.h"

#include <stdlib.h>
#include <string.h>

/* Column list of every service read; $1 of those statements is the down time in seconds. */
#define SERVICE_COLS                                                                        \
    "id, host, binary_name, topic, disabled, disabled_reason, forced_down, report_count, "  \
    "tern_ms(last_heartbeat), version, tern_ms(created_at), tern_ms(updated_at), "          \
    "(NOT forced_down AND last_heartbeat IS NOT NULL AND "                                  \
    " last_heartbeat > now() - make_interval(secs => $1::double precision)), maintenance, " \
    "(binary_name = 'tern-compute' AND EXISTS (SELECT 1 FROM drains d"                      \
    " WHERE d.host = services.host AND d.status IN ('running', 'aborting')))"

static void
service_from_row(const PGresult *res, int row, db_service_t *svc)
{
    memset(svc, 0, sizeof(*svc));
    svc->id = db_get_int(res, row, 0);
    svc->host = db_get_str(res, row, 1);
    svc->binary = db_get_str(res, row, 2);
    svc->topic = db_get_str(res, row, 3);
    svc->disabled = db_get_bool(res, row, 4);
    svc->disabled_reason = db_get_str(res, row, 5);
    svc->forced_down = db_get_bool(res, row, 6);
    svc->report_count = db_get_int(res, row, 7);
    svc->last_heartbeat_ms = db_get_int(res, row, 8);
    svc->version = (int)db_get_int(res, row, 9);
    svc->created_ms = db_get_int(res, row, 10);
    svc->updated_ms = db_get_int(res, row, 11);
    svc->is_up = db_get_bool(res, row, 12);
    svc->maintenance = db_get_bool(res, row, 13);
    svc->draining = db_get_bool(res, row, 14);
}

void
db_service_clear(db_service_t *svc)
{
    if (!svc)
        return;
    free(svc->host);
    free(svc->binary);
    free(svc->topic);
    free(svc->disabled_reason);
    memset(svc, 0, sizeof(*svc));
}

void
db_service_list_free(db_service_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_service_clear(&list[i]);
    free(list);
}

int
db_service_upsert(db_conn_t *conn, const char *host, const char *binary, const char *topic,
                  int version, db_service_t *ret_service)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_str(host, "host", "register service") < 0 ||
        db_check_str(binary, "binary", "register service") < 0 ||
        db_check_str(topic, "topic", "register service") < 0)
        return -1;
    db_params_int(&p, 0); /* down time for the is_up column: just heartbeated, so up */
    db_params_text(&p, host);
    db_params_text(&p, binary);
    db_params_text(&p, topic);
    db_params_int(&p, version);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "INSERT INTO services (host, binary_name, topic, version, last_heartbeat,"
                  " report_count) VALUES ($2, $3, $4, $5, now(), 1)"
                  " ON CONFLICT (host, binary_name) DO UPDATE SET topic = EXCLUDED.topic,"
                  " version = EXCLUDED.version, last_heartbeat = now(),"
                  " report_count = services.report_count + 1, updated_at = now()"
                  " RETURNING " SERVICE_COLS,
                  &p, "register service \"%s\" on host \"%s\"", binary, host);
    if (!res)
        return -1;
    if (ret_service) {
        service_from_row(res, 0, ret_service);
        ret_service->is_up = !ret_service->forced_down;
    }
    return 0;
}

/* Run an UPDATE ... WHERE host = $1 AND binary_name = $2 and map "no row" to NOT_FOUND. */
static int
service_update(db_conn_t *conn, const char *sql, db_params_t *p, const char *host,
               const char *binary, const char *what)
{
    DB_AUTORESULT *res = NULL;

    res = db_exec(conn, DB_RETRY_SAFE, sql, p, "%s service \"%s\" on host \"%s\"", what, binary,
                  host);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND,
                              "could not %s service \"%s\" on host \"%s\": no such service", what,
                              binary, host);
    return 0;
}

int
db_service_heartbeat(db_conn_t *conn, const char *host, const char *binary)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, host);
    db_params_text(&p, binary);
    return service_update(conn,
                          "UPDATE services SET last_heartbeat = now(),"
                          " report_count = report_count + 1, updated_at = now()"
                          " WHERE host = $1 AND binary_name = $2",
                          &p, host, binary, "heartbeat");
}

int
db_service_get(db_conn_t *conn, const char *host, const char *binary, int down_time_s,
               db_service_t *ret_service)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_int(&p, down_time_s);
    db_params_text(&p, host);
    db_params_text(&p, binary);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " SERVICE_COLS " FROM services WHERE host = $2 AND binary_name = $3", &p,
                  "read service \"%s\" on host \"%s\"", binary, host);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "service \"%s\" on host \"%s\" does not exist",
                              binary, host);
    service_from_row(res, 0, ret_service);
    return 0;
}

int
db_service_list(db_conn_t *conn, const char *binary, int down_time_s, db_service_t **ret_list,
                size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_service_t *list;
    int n;

    db_params_int(&p, down_time_s);
    db_params_text(&p, binary);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " SERVICE_COLS " FROM services"
                  " WHERE $2::text IS NULL OR binary_name = $2 ORDER BY host, binary_name",
                  &p, "list services");
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        service_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

int
db_service_set_disabled(db_conn_t *conn, const char *host, const char *binary, bool disabled,
                        const char *reason)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, host);
    db_params_text(&p, binary);
    db_params_bool(&p, disabled);
    db_params_text(&p, disabled ? reason : NULL);
    return service_update(conn,
                          "UPDATE services SET disabled = $3, disabled_reason = $4,"
                          " updated_at = now() WHERE host = $1 AND binary_name = $2",
                          &p, host, binary, disabled ? "disable" : "enable");
}

int
db_service_set_forced_down(db_conn_t *conn, const char *host, const char *binary, bool forced_down)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, host);
    db_params_text(&p, binary);
    db_params_bool(&p, forced_down);
    return service_update(conn,
                          "UPDATE services SET forced_down = $3, updated_at = now()"
                          " WHERE host = $1 AND binary_name = $2",
                          &p, host, binary, "set forced_down of");
}

int
db_service_set_maintenance(db_conn_t *conn, const char *host, bool maintenance, const char *reason)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, host);
    db_params_text(&p, "tern-compute");
    db_params_bool(&p, maintenance);
    db_params_text(&p, maintenance ? reason : NULL);
    return service_update(conn,
                          "UPDATE services SET maintenance = $3, disabled = $3,"
                          " disabled_reason = $4, updated_at = now()"
                          " WHERE host = $1 AND binary_name = $2",
                          &p, host, "tern-compute",
                          maintenance ? "put into maintenance" : "take out of maintenance");
}
