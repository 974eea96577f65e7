/*
 * db/drains.c: host drains and their items (db/drains.h).
 */
#include "db/db-private.h"

#include <stdlib.h>
#include <string.h>

static const char *const drain_status_names[] = {
    [DB_DRAIN_RUNNING] = "running",     [DB_DRAIN_ABORTING] = "aborting",
    [DB_DRAIN_COMPLETED] = "completed", [DB_DRAIN_FAILED] = "failed",
    [DB_DRAIN_ABORTED] = "aborted",
};

static const char *const item_status_names[] = {
    [DB_DRAIN_ITEM_QUEUED] = "queued",       [DB_DRAIN_ITEM_MIGRATING] = "migrating",
    [DB_DRAIN_ITEM_COMPLETED] = "completed", [DB_DRAIN_ITEM_FAILED] = "failed",
    [DB_DRAIN_ITEM_BLOCKED] = "blocked",     [DB_DRAIN_ITEM_CANCELLED] = "cancelled",
};

const char *
db_drain_status_name(db_drain_status_t status)
{
    return (size_t)status < TERN_N_ELEMENTS(drain_status_names) ? drain_status_names[status]
                                                                : "unknown";
}

const char *
db_drain_item_status_name(db_drain_item_status_t status)
{
    return (size_t)status < TERN_N_ELEMENTS(item_status_names) ? item_status_names[status]
                                                               : "unknown";
}

bool
db_drain_status_is_final(db_drain_status_t status)
{
    return status != DB_DRAIN_RUNNING && status != DB_DRAIN_ABORTING;
}

bool
db_drain_item_status_is_final(db_drain_item_status_t status)
{
    return status != DB_DRAIN_ITEM_QUEUED && status != DB_DRAIN_ITEM_MIGRATING;
}

static int
name_index(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return 0;
}

#define DRAIN_COLS                                                                         \
    "id, host, status, maintenance, target_host,"                                          \
    " CASE WHEN block_migration IS NULL THEN -1 WHEN block_migration THEN 1 ELSE 0 END,"   \
    " max_concurrent, force, conductor, user_id, project_id, request_id, reason, message," \
    " tern_ms(created_at), tern_ms(updated_at), tern_ms(finished_at), never_pause"

static void
drain_from_row(const PGresult *res, int row, db_drain_t *d)
{
    TERN_AUTOFREE char *status = db_get_str(res, row, 2);

    memset(d, 0, sizeof(*d));
    d->id = db_get_int(res, row, 0);
    d->host = db_get_str(res, row, 1);
    d->status = (db_drain_status_t)name_index(drain_status_names,
                                              TERN_N_ELEMENTS(drain_status_names), status);
    d->maintenance = db_get_bool(res, row, 3);
    d->target_host = db_get_str(res, row, 4);
    d->block_migration = (int)db_get_int(res, row, 5);
    d->max_concurrent = (int)db_get_int(res, row, 6);
    d->force = db_get_bool(res, row, 7);
    d->conductor = db_get_str(res, row, 8);
    d->user_id = db_get_str(res, row, 9);
    d->project_id = db_get_str(res, row, 10);
    d->request_id = db_get_str(res, row, 11);
    d->reason = db_get_str(res, row, 12);
    d->message = db_get_str(res, row, 13);
    d->created_ms = db_get_int(res, row, 14);
    d->updated_ms = db_get_int(res, row, 15);
    d->finished_ms = db_get_int(res, row, 16);
    d->never_pause = db_get_bool(res, row, 17);
}

void
db_drain_clear(db_drain_t *d)
{
    if (!d)
        return;
    free(d->host);
    free(d->target_host);
    free(d->conductor);
    free(d->user_id);
    free(d->project_id);
    free(d->request_id);
    free(d->reason);
    free(d->message);
    memset(d, 0, sizeof(*d));
}

void
db_drain_list_free(db_drain_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_drain_clear(&list[i]);
    free(list);
}

void
db_drain_item_clear(db_drain_item_t *item)
{
    if (!item)
        return;
    free(item->instance_name);
    free(item->dest_host);
    free(item->message);
    free(item->migration_status);
    memset(item, 0, sizeof(*item));
}

void
db_drain_item_list_free(db_drain_item_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_drain_item_clear(&list[i]);
    free(list);
}

/* ---- creation ---- */

/* The host's compute service disabled with the reason (and put into maintenance). */
static int
drain_disable_host(db_conn_t *conn, const db_drain_t *req)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, req->host);
    db_params_text(&p, req->reason);
    db_params_bool(&p, req->maintenance);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "UPDATE services SET disabled = true, disabled_reason = $2,"
                  " maintenance = maintenance OR $3, updated_at = now()"
                  " WHERE host = $1 AND binary_name = 'tern-compute'",
                  &p, "disable host \"%s\" for its drain", req->host);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND,
                              "cannot drain host \"%s\": it has no tern-compute service",
                              req->host);
    return 0;
}

/* CONFLICT naming the drain in progress on the host, if any. */
static int
drain_none_active(db_conn_t *conn, const char *host)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, host);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "SELECT id, status FROM drains WHERE host = $1"
                  " AND status IN ('running', 'aborting') FOR UPDATE",
                  &p, "look for a drain of host \"%s\"", host);
    if (!res)
        return -1;
    if (PQntuples(res) > 0)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "host \"%s\" is being drained already (drain %s, %s): wait for "
                              "it or abort it with host-evacuate-abort",
                              host, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    return 0;
}

static int
drain_insert(db_conn_t *conn, const db_drain_t *req, db_drain_t *ret)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, req->host);
    db_params_bool(&p, req->maintenance);
    db_params_text(&p, req->target_host);
    db_params_text(&p, req->block_migration < 0 ? NULL : req->block_migration ? "t" : "f");
    db_params_int(&p, req->max_concurrent); /* $5 */
    db_params_bool(&p, req->force);
    db_params_text(&p, req->user_id);
    db_params_text(&p, req->project_id);
    db_params_text(&p, req->request_id);
    db_params_text(&p, req->reason); /* $10 */
    db_params_bool(&p, req->never_pause);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "INSERT INTO drains (host, maintenance, target_host, block_migration,"
                  " max_concurrent, force, user_id, project_id, request_id, reason, never_pause)"
                  " VALUES ($1, $2, $3, $4::boolean, $5, $6, $7, $8, $9, $10, $11)"
                  " RETURNING " DRAIN_COLS,
                  &p, "record a drain of host \"%s\"", req->host);
    if (!res)
        return -1;
    drain_from_row(res, 0, ret);
    return 0;
}

/* One item per live instance of the host; those that must not move are blocked, with why. */
static int
drain_insert_items(db_conn_t *conn, int64_t drain_id, const char *host, bool force)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_int(&p, drain_id);
    db_params_text(&p, host);
    db_params_bool(&p, force);
    res = db_exec(
        conn, DB_RETRY_NEVER,
        "INSERT INTO drain_instances (drain_id, instance_uuid, priority, status, message,"
        " finished_at)"
        " SELECT $1, uuid, priority, b.status, b.why,"
        "   CASE WHEN b.status = 'blocked' THEN now() END"
        " FROM instances i, LATERAL (SELECT"
        "   CASE WHEN i.vm_state <> 'active' THEN 'not running (vm_state ' || i.vm_state"
        "          || '): a live drain cannot move it'"
        "        WHEN NOT $3 AND i.migration_support = 'pinned' THEN 'pinned to its host"
        " (migration_support pinned): use --force to move it anyway'"
        "        WHEN NOT $3 AND i.migration_support = 'manual' THEN 'manual migration only"
        " (migration_support manual): use --force to move it anyway'"
        "   END AS why) w,"
        " LATERAL (SELECT CASE WHEN w.why IS NULL THEN 'queued' ELSE 'blocked' END AS status,"
        "   w.why) b"
        " WHERE i.host = $2 AND i.deleted_at IS NULL ORDER BY i.priority DESC, i.id",
        &p, "list the instances of host \"%s\" for its drain", host);
    return res ? 0 : -1;
}

int
db_drain_create(db_conn_t *conn, const db_drain_t *req, db_drain_t *ret_drain)
{
    db_drain_t made = {0};

    if (db_check_str(req->host, "host", "drain a host") < 0)
        return -1;
    if (req->max_concurrent < 1)
        return tern_error_set(TERN_ERR_INVALID,
                              "could not drain host \"%s\": max_concurrent %d"
                              " is below 1",
                              req->host, req->max_concurrent);
    if (db_txn_begin(conn, "begin a drain") < 0)
        return -1;
    if (drain_none_active(conn, req->host) < 0 || drain_disable_host(conn, req) < 0 ||
        drain_insert(conn, req, &made) < 0 ||
        drain_insert_items(conn, made.id, req->host, req->force) < 0 ||
        db_txn_commit(conn, "commit a drain") < 0) {
        db_txn_rollback(conn);
        db_drain_clear(&made);
        return -1;
    }
    if (ret_drain)
        *ret_drain = made;
    else
        db_drain_clear(&made);
    return 0;
}

/* ---- reads ---- */

static int
drain_rows(PGresult *res, db_drain_t **ret_list, size_t *ret_count)
{
    int n = PQntuples(res);
    db_drain_t *list = tern_calloc((size_t)n + 1, sizeof(*list));

    for (int i = 0; i < n; i++)
        drain_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

int
db_drain_get(db_conn_t *conn, int64_t id, const char *host, db_drain_t *ret_drain)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_int(&p, id);
    db_params_text(&p, host);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " DRAIN_COLS " FROM drains WHERE ($1::bigint = 0 OR id = $1)"
                  " AND ($2::text IS NULL OR host = $2) ORDER BY id DESC LIMIT 1",
                  &p, "read a drain");
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return id ? tern_error_set(TERN_ERR_NOT_FOUND, "no drain %lld", (long long)id)
                  : tern_error_set(TERN_ERR_NOT_FOUND, "host \"%s\" has never been drained",
                                   host ? host : "");
    drain_from_row(res, 0, ret_drain);
    return 0;
}

int
db_drain_take(db_conn_t *conn, const char *conductor_host, int down_s, db_drain_t **ret_list,
              size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, conductor_host);
    db_params_int(&p, down_s);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "UPDATE drains d SET conductor = $1, updated_at = CASE WHEN d.conductor"
                  " IS DISTINCT FROM $1 THEN now() ELSE d.updated_at END"
                  " WHERE d.status IN ('running', 'aborting') AND (d.conductor IS NULL"
                  "   OR d.conductor = $1 OR NOT EXISTS (SELECT 1 FROM services s"
                  "     WHERE s.host = d.conductor AND s.binary_name = 'tern-conductor'"
                  "     AND NOT s.forced_down AND s.last_heartbeat >"
                  "       now() - make_interval(secs => $2::double precision)))"
                  " RETURNING " DRAIN_COLS,
                  &p, "take the drains for conductor \"%s\"", conductor_host);
    if (!res)
        return -1;
    return drain_rows(res, ret_list, ret_count);
}

#define ITEM_COLS                                                                              \
    "di.id, di.drain_id, di.instance_uuid, i.name, di.priority, di.status, di.migration_uuid," \
    " di.attempts, di.dest_host, di.message, di.abort_sent, tern_ms(di.started_at),"           \
    " tern_ms(di.finished_at), m.status, coalesce(m.id, 0),"                                   \
    " coalesce(m.memory_total + m.disk_total, 0),"                                             \
    " coalesce(m.memory_processed + m.disk_processed, 0),"                                     \
    " coalesce(m.memory_remaining + m.disk_remaining, 0), coalesce(m.downtime_ms, -1),"        \
    " coalesce(tern_ms(m.migration_finished_at) - tern_ms(m.migration_started_at), 0),"        \
    " tern_ms(m.migration_started_at), tern_ms(m.migration_finished_at)"

static void
item_from_row(const PGresult *res, int row, db_drain_item_t *it)
{
    TERN_AUTOFREE char *status = db_get_str(res, row, 5);

    memset(it, 0, sizeof(*it));
    it->id = db_get_int(res, row, 0);
    it->drain_id = db_get_int(res, row, 1);
    db_get_uuid(res, row, 2, it->instance_uuid);
    it->instance_name = db_get_str(res, row, 3);
    it->priority = (int)db_get_int(res, row, 4);
    it->status = (db_drain_item_status_t)name_index(item_status_names,
                                                    TERN_N_ELEMENTS(item_status_names), status);
    if (!db_is_null(res, row, 6))
        db_get_uuid(res, row, 6, it->migration_uuid);
    it->attempts = (int)db_get_int(res, row, 7);
    it->dest_host = db_get_str(res, row, 8);
    it->message = db_get_str(res, row, 9);
    it->abort_sent = db_get_bool(res, row, 10);
    it->started_ms = db_get_int(res, row, 11);
    it->finished_ms = db_get_int(res, row, 12);
    it->migration_status = db_get_str(res, row, 13);
    it->migration_id = db_get_int(res, row, 14);
    it->data_total = db_get_int(res, row, 15);
    it->data_processed = db_get_int(res, row, 16);
    it->data_remaining = db_get_int(res, row, 17);
    it->downtime_ms = db_get_int(res, row, 18);
    it->transfer_ms = db_get_int(res, row, 19);
    it->migration_started_ms = db_get_int(res, row, 20);
    it->migration_finished_ms = db_get_int(res, row, 21);
}

int
db_drain_items(db_conn_t *conn, int64_t drain_id, db_drain_item_t **ret_list, size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_drain_item_t *list;
    int n;

    db_params_int(&p, drain_id);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " ITEM_COLS " FROM drain_instances di"
                  " JOIN instances i ON i.uuid = di.instance_uuid"
                  " LEFT JOIN migrations m ON m.uuid = di.migration_uuid"
                  " WHERE di.drain_id = $1 ORDER BY di.priority DESC, di.id",
                  &p, "list the instances of drain %lld", (long long)drain_id);
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        item_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

/* ---- changes ---- */

int
db_drain_item_update(db_conn_t *conn, int64_t id, db_drain_item_status_t from,
                     db_drain_item_status_t to, const char *migration_uuid, const char *dest_host,
                     const char *message, bool attempt)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_int(&p, id);
    db_params_text(&p, db_drain_item_status_name(from));
    db_params_text(&p, db_drain_item_status_name(to));
    db_params_text(&p, migration_uuid);
    db_params_text(&p, dest_host); /* $5 */
    db_params_text(&p, message);
    db_params_bool(&p, attempt);
    db_params_bool(&p, db_drain_item_status_is_final(to));
    res = db_exec(conn, DB_RETRY_NEVER,
                  "UPDATE drain_instances SET status = $3,"
                  " migration_uuid = coalesce($4::uuid, migration_uuid),"
                  " dest_host = coalesce($5, dest_host), message = coalesce($6, message),"
                  " attempts = attempts + CASE WHEN $7 THEN 1 ELSE 0 END,"
                  " abort_sent = CASE WHEN $4::uuid IS NULL THEN abort_sent ELSE false END,"
                  " started_at = CASE WHEN $7 THEN coalesce(started_at, now())"
                  "   ELSE started_at END,"
                  " finished_at = CASE WHEN $8 THEN now() END"
                  " WHERE id = $1 AND status = $2",
                  &p, "update drain instance %lld", (long long)id);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "drain instance %lld is no longer %s (or does not exist)",
                              (long long)id, db_drain_item_status_name(from));
    return 0;
}

int
db_drain_item_abort_sent(db_conn_t *conn, int64_t id)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_int(&p, id);
    res = db_exec(conn, DB_RETRY_SAFE, "UPDATE drain_instances SET abort_sent = true WHERE id = $1",
                  &p, "mark the abort of drain instance %lld", (long long)id);
    return res ? 0 : -1;
}

/* UPDATE drains ... WHERE id = $1 AND status IN (from): NOT_FOUND or CONFLICT naming it. */
static int
drain_change(db_conn_t *conn, const char *sql, db_params_t *p, int64_t id, const char *what)
{
    DB_AUTOPARAMS q = DB_PARAMS_INIT;
    DB_AUTORESULT *res =
        db_exec(conn, DB_RETRY_NEVER, sql, p, "%s drain %lld", what, (long long)id);
    DB_AUTORESULT *cur = NULL;

    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") != 0)
        return 0;
    db_params_int(&q, id);
    cur = db_exec(conn, DB_RETRY_SAFE, "SELECT status FROM drains WHERE id = $1", &q,
                  "read drain %lld", (long long)id);
    if (!cur)
        return -1;
    if (PQntuples(cur) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "could not %s drain %lld: no such drain", what,
                              (long long)id);
    return tern_error_set(TERN_ERR_CONFLICT, "could not %s drain %lld: it is %s", what,
                          (long long)id, PQgetvalue(cur, 0, 0));
}

int
db_drain_abort(db_conn_t *conn, int64_t id)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_int(&p, id);
    return drain_change(conn,
                        "UPDATE drains SET status = 'aborting', updated_at = now()"
                        " WHERE id = $1 AND status = 'running'",
                        &p, id, "abort");
}

int
db_drain_finish(db_conn_t *conn, int64_t id, db_drain_status_t status, const char *message)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_int(&p, id);
    db_params_text(&p, db_drain_status_name(status));
    db_params_text(&p, message);
    return drain_change(conn,
                        "UPDATE drains SET status = $2, message = $3, finished_at = now(),"
                        " updated_at = now() WHERE id = $1 AND status IN ('running', 'aborting')",
                        &p, id, "end");
}

/* ---- migrations in flight ---- */

int
db_migrations_in_flight(db_conn_t *conn, db_flight_t *ret)
{
    DB_AUTORESULT *res = NULL;
    int n;

    memset(ret, 0, sizeof(*ret));
    res = db_exec(conn, DB_RETRY_SAFE,
                  "WITH f AS (SELECT source_compute, dest_compute FROM migrations"
                  "   WHERE status IN ('queued', 'preparing', 'running', 'postcopy-active'))"
                  " SELECT h, sum(o)::bigint, sum(i)::bigint, (SELECT count(*) FROM f) FROM"
                  " (SELECT source_compute AS h, 1 AS o, 0 AS i FROM f UNION ALL"
                  "  SELECT dest_compute, 0, 1 FROM f WHERE dest_compute IS NOT NULL) x"
                  " GROUP BY h ORDER BY h",
                  NULL, "count the migrations in flight");
    if (!res)
        return -1;
    n = PQntuples(res);
    ret->n = (size_t)n;
    ret->hosts = tern_calloc((size_t)n + 1, sizeof(char *));
    ret->outgoing = tern_calloc((size_t)n + 1, sizeof(int64_t));
    ret->incoming = tern_calloc((size_t)n + 1, sizeof(int64_t));
    for (int i = 0; i < n; i++) {
        ret->hosts[i] = db_get_str(res, i, 0);
        ret->outgoing[i] = db_get_int(res, i, 1);
        ret->incoming[i] = db_get_int(res, i, 2);
        ret->total = db_get_int(res, i, 3);
    }
    return 0;
}

void
db_flight_clear(db_flight_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->hosts[i]);
    free(f->hosts);
    free(f->outgoing);
    free(f->incoming);
    memset(f, 0, sizeof(*f));
}

static ssize_t
flight_index(const db_flight_t *f, const char *host)
{
    for (size_t i = 0; host && i < f->n; i++)
        if (f->hosts[i] && strcmp(f->hosts[i], host) == 0)
            return (ssize_t)i;
    return -1;
}

int64_t
db_flight_outgoing(const db_flight_t *f, const char *host)
{
    ssize_t i = flight_index(f, host);

    return i < 0 ? 0 : f->outgoing[i];
}

int64_t
db_flight_incoming(const db_flight_t *f, const char *host)
{
    ssize_t i = flight_index(f, host);

    return i < 0 ? 0 : f->incoming[i];
}

void
db_flight_add(db_flight_t *f, const char *source, const char *dest)
{
    const char *hosts[2] = {source, dest};

    f->total++;
    for (int k = 0; k < 2; k++) {
        ssize_t i;

        if (!hosts[k])
            continue;
        if ((i = flight_index(f, hosts[k])) < 0) {
            f->hosts = tern_realloc(f->hosts, (f->n + 1) * sizeof(*f->hosts));
            f->outgoing = tern_realloc(f->outgoing, (f->n + 1) * sizeof(*f->outgoing));
            f->incoming = tern_realloc(f->incoming, (f->n + 1) * sizeof(*f->incoming));
            i = (ssize_t)f->n++;
            f->hosts[i] = tern_strdup(hosts[k]);
            f->outgoing[i] = f->incoming[i] = 0;
        }
        if (k == 0)
            f->outgoing[i]++;
        else
            f->incoming[i]++;
    }
}
