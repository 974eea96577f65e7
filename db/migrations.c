/*
 * db/migrations.c: the migrations table (db/migrations.h): status machine, progress, phase
 * timestamps and the switch-over transaction.
 */
#include "db/db-private.h"

#include <stdlib.h>
#include <string.h>

#define MIGRATION_COLS                                                                             \
    "id, uuid, instance_uuid, source_compute, source_node, dest_compute, dest_node, "              \
    "migration_type, status, block_migration, memory_total, memory_processed, memory_remaining, "  \
    "disk_total, disk_processed, disk_remaining, dirty_rate, iterations, "                         \
    "coalesce(downtime_ms, -1), coalesce(total_time_ms, -1), error_message, user_id, project_id, " \
    "tern_ms(checks_started_at), tern_ms(checks_finished_at), "                                    \
    "tern_ms(preparation_started_at), tern_ms(preparation_finished_at), "                          \
    "tern_ms(migration_started_at), tern_ms(migration_finished_at), "                              \
    "tern_ms(post_started_at), tern_ms(post_finished_at), "                                        \
    "tern_ms(created_at), tern_ms(updated_at), tern_ms(finished_at), cleanup_host, "               \
    "coalesce(action_id, 0)"

static const char *const status_names[DB_MIGRATION_STATUS__COUNT] = {
    [DB_MIGRATION_QUEUED] = "queued",
    [DB_MIGRATION_PREPARING] = "preparing",
    [DB_MIGRATION_RUNNING] = "running",
    [DB_MIGRATION_POSTCOPY_ACTIVE] = "postcopy-active",
    [DB_MIGRATION_POSTCOPY_PAUSED] = "postcopy-paused",
    [DB_MIGRATION_NEEDS_OPERATOR] = "needs-operator",
    [DB_MIGRATION_COMPLETED] = "completed",
    [DB_MIGRATION_FAILED] = "failed",
    [DB_MIGRATION_CANCELLED] = "cancelled",
    [DB_MIGRATION_ERROR] = "error",
};

/* allowed[to] = the statuses a migration may come from to enter `to`, as a text[] literal
 * (constant text of this file, passed as a parameter). */
static const char *const allowed_from[DB_MIGRATION_STATUS__COUNT] = {
    [DB_MIGRATION_QUEUED] = "{}",
    [DB_MIGRATION_PREPARING] = "{queued}",
    [DB_MIGRATION_RUNNING] = "{preparing}",
    [DB_MIGRATION_POSTCOPY_ACTIVE] = "{running}",
    [DB_MIGRATION_POSTCOPY_PAUSED] = "{running,postcopy-active}",
    [DB_MIGRATION_NEEDS_OPERATOR] = "{preparing,running,postcopy-active}",
    [DB_MIGRATION_COMPLETED] = "{preparing,running,postcopy-active,postcopy-paused,needs-operator}",
    [DB_MIGRATION_FAILED] = "{queued,preparing,running,postcopy-active,postcopy-paused,"
                            "needs-operator}",
    [DB_MIGRATION_CANCELLED] = "{queued,preparing,running}",
    [DB_MIGRATION_ERROR] = "{queued,preparing,running,postcopy-active,postcopy-paused,"
                           "needs-operator}",
};

static const char *const phase_names[DB_MIGRATION_PHASE__COUNT] = {
    [DB_MIGRATION_PHASE_CHECKS] = "checks",
    [DB_MIGRATION_PHASE_PREPARATION] = "preparation",
    [DB_MIGRATION_PHASE_MIGRATION] = "migration",
    [DB_MIGRATION_PHASE_POST] = "post",
};

#define PHASE_BEGIN_SQL(col)                                                          \
    "UPDATE migrations SET " col "_started_at = coalesce(" col "_started_at, now())," \
    " updated_at = now() WHERE uuid = $1"
#define PHASE_END_SQL(col) \
    "UPDATE migrations SET " col "_finished_at = now(), updated_at = now() WHERE uuid = $1"

static const char *const phase_begin_sql[DB_MIGRATION_PHASE__COUNT] = {
    PHASE_BEGIN_SQL("checks"), PHASE_BEGIN_SQL("preparation"), PHASE_BEGIN_SQL("migration"),
    PHASE_BEGIN_SQL("post")};
static const char *const phase_end_sql[DB_MIGRATION_PHASE__COUNT] = {
    PHASE_END_SQL("checks"), PHASE_END_SQL("preparation"), PHASE_END_SQL("migration"),
    PHASE_END_SQL("post")};

const char *
db_migration_status_name(db_migration_status_t status)
{
    if ((int)status < 0 || status >= DB_MIGRATION_STATUS__COUNT)
        return "unknown";
    return status_names[status];
}

int
db_migration_status_from_name(const char *name)
{
    for (int i = 0; i < DB_MIGRATION_STATUS__COUNT; i++)
        if (tern_streq(name, status_names[i]))
            return i;
    return -1;
}

bool
db_migration_status_is_final(db_migration_status_t status)
{
    return status == DB_MIGRATION_COMPLETED || status == DB_MIGRATION_FAILED ||
           status == DB_MIGRATION_CANCELLED || status == DB_MIGRATION_ERROR;
}

bool
db_migration_transition_allowed(db_migration_status_t from, db_migration_status_t to)
{
    const char *list, *name;
    size_t len;

    if ((int)from < 0 || from >= DB_MIGRATION_STATUS__COUNT || (int)to < 0 ||
        to >= DB_MIGRATION_STATUS__COUNT)
        return false;
    list = allowed_from[to];
    name = status_names[from];
    len = strlen(name);
    for (const char *p = list + 1; *p && *p != '}';) {
        size_t n = strcspn(p, ",}");
        if (n == len && strncmp(p, name, len) == 0)
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

const char *
db_migration_phase_name(db_migration_phase_t phase)
{
    if ((int)phase < 0 || phase >= DB_MIGRATION_PHASE__COUNT)
        return "unknown";
    return phase_names[phase];
}

static void
migration_from_row(const PGresult *res, int row, db_migration_t *m)
{
    int status;

    memset(m, 0, sizeof(*m));
    m->id = db_get_int(res, row, 0);
    db_get_uuid(res, row, 1, m->uuid);
    db_get_uuid(res, row, 2, m->instance_uuid);
    m->source_compute = db_get_str(res, row, 3);
    m->source_node = db_get_str(res, row, 4);
    m->dest_compute = db_get_str(res, row, 5);
    m->dest_node = db_get_str(res, row, 6);
    m->migration_type = db_get_str(res, row, 7);
    status = db_migration_status_from_name(PQgetvalue(res, row, 8));
    m->status = status < 0 ? DB_MIGRATION_ERROR : (db_migration_status_t)status;
    m->block_migration = db_get_bool(res, row, 9);
    m->memory_total = db_get_int(res, row, 10);
    m->memory_processed = db_get_int(res, row, 11);
    m->memory_remaining = db_get_int(res, row, 12);
    m->disk_total = db_get_int(res, row, 13);
    m->disk_processed = db_get_int(res, row, 14);
    m->disk_remaining = db_get_int(res, row, 15);
    m->dirty_rate = db_get_int(res, row, 16);
    m->iterations = db_get_int(res, row, 17);
    m->downtime_ms = db_get_int(res, row, 18);
    m->total_time_ms = db_get_int(res, row, 19);
    m->error_message = db_get_str(res, row, 20);
    m->user_id = db_get_str(res, row, 21);
    m->project_id = db_get_str(res, row, 22);
    for (int i = 0; i < DB_MIGRATION_PHASE__COUNT; i++) {
        m->phase_start_ms[i] = db_get_int(res, row, 23 + 2 * i);
        m->phase_end_ms[i] = db_get_int(res, row, 24 + 2 * i);
    }
    m->created_ms = db_get_int(res, row, 31);
    m->updated_ms = db_get_int(res, row, 32);
    m->finished_ms = db_get_int(res, row, 33);
    m->cleanup_host = db_get_str(res, row, 34);
    m->action_id = db_get_int(res, row, 35);
}

/* migrations_from_result: every row of res as a new list (db_migration_list_free). */
static void
migrations_from_result(const PGresult *res, db_migration_t **ret_list, size_t *ret_count)
{
    int n = PQntuples(res);
    db_migration_t *list = tern_calloc((size_t)n + 1, sizeof(*list));

    for (int i = 0; i < n; i++)
        migration_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
}

void
db_migration_clear(db_migration_t *m)
{
    if (!m)
        return;
    free(m->source_compute);
    free(m->source_node);
    free(m->dest_compute);
    free(m->dest_node);
    free(m->migration_type);
    free(m->error_message);
    free(m->user_id);
    free(m->project_id);
    free(m->cleanup_host);
    memset(m, 0, sizeof(*m));
}

void
db_migration_list_free(db_migration_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_migration_clear(&list[i]);
    free(list);
}

int
db_migration_create(db_conn_t *conn, const db_migration_t *m, db_migration_t *ret_migration)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    char uuid[DB_UUID_LEN];

    if (m->uuid[0] == '\0')
        tern_uuid_generate(uuid);
    else if (db_check_uuid(m->uuid, "migration") < 0)
        return -1;
    else
        tern_strlcpy(uuid, m->uuid, sizeof(uuid));
    if (db_check_uuid(m->instance_uuid, "instance") < 0 ||
        db_check_str(m->source_compute, "source_compute", "create migration") < 0)
        return -1;
    db_params_text(&p, uuid);
    db_params_text(&p, m->instance_uuid);
    db_params_text(&p, m->source_compute);
    db_params_text(&p, m->source_node);
    db_params_text(&p, m->dest_compute); /* $5 */
    db_params_text(&p, m->dest_node);
    db_params_text(&p, m->migration_type ? m->migration_type : "live-migration");
    db_params_bool(&p, m->block_migration);
    db_params_text(&p, m->user_id);
    db_params_text(&p, m->project_id); /* $10 */
    res = db_exec(conn, DB_RETRY_NEVER,
                  "INSERT INTO migrations (uuid, instance_uuid, source_compute, source_node,"
                  " dest_compute, dest_node, migration_type, block_migration, user_id,"
                  " project_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                  " RETURNING " MIGRATION_COLS,
                  &p, "create migration \"%s\" of instance \"%s\"", uuid, m->instance_uuid);
    if (!res)
        return -1;
    if (ret_migration)
        migration_from_row(res, 0, ret_migration);
    return 0;
}

/* link_action: the migration's action (db_migration_begin, inside its transaction). */
static int
link_action(db_conn_t *conn, const char *uuid, int64_t action_id)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, uuid);
    db_params_int(&p, action_id);
    res = db_exec(conn, DB_RETRY_NEVER, "UPDATE migrations SET action_id = $2 WHERE uuid = $1", &p,
                  "link migration \"%s\" to action %lld", uuid, (long long)action_id);
    return res ? 0 : -1;
}

/* migration_begin_steps: db_migration_begin's statements, inside its transaction. */
static int
migration_begin_steps(db_conn_t *conn, const db_migration_t *mig, const char *conductor_host,
                      const char *request_id, const char *action, int64_t *ret_action_id,
                      db_migration_t *ret_migration)
{
    db_migration_t created = {0};
    char uuid[DB_UUID_LEN];

    if (db_instance_task_state_begin(conn, mig->instance_uuid, NULL, DB_TASK_STATE_MIGRATING,
                                     NULL) < 0 ||
        db_action_start(conn, request_id ? request_id : "", mig->instance_uuid, action,
                        mig->user_id, mig->project_id, ret_action_id) < 0 ||
        db_migration_create(conn, mig, &created) < 0)
        return -1;
    tern_strlcpy(uuid, created.uuid, sizeof(uuid));
    db_migration_clear(&created);
    if (link_action(conn, uuid, *ret_action_id) < 0 || db_migration_own_task(conn, uuid) < 0 ||
        db_migration_set_conductor(conn, uuid, conductor_host) < 0 ||
        db_migration_phase_begin(conn, uuid, DB_MIGRATION_PHASE_CHECKS) < 0)
        return -1;
    return db_migration_get(conn, uuid, ret_migration); /* as it now stands */
}

int
db_migration_begin(db_conn_t *conn, const db_migration_t *mig, const char *conductor_host,
                   const char *request_id, const char *action, int64_t *ret_action_id,
                   db_migration_t *ret_migration)
{
    db_migration_t begun = {0};
    int64_t action_id = 0;

    if (db_txn_begin(conn, "begin migration") < 0)
        return tern_error_prefix("could not start a migration of instance \"%s\"",
                                 mig->instance_uuid);
    if (migration_begin_steps(conn, mig, conductor_host, request_id, action, &action_id, &begun) <
            0 ||
        db_txn_commit(conn, "commit the start of a migration") < 0) {
        db_txn_rollback(conn);
        db_migration_clear(&begun);
        return -1;
    }
    if (ret_action_id)
        *ret_action_id = action_id;
    if (ret_migration)
        *ret_migration = begun;
    else
        db_migration_clear(&begun);
    return 0;
}

int
db_migration_get(db_conn_t *conn, const char *uuid, db_migration_t *ret_migration)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "migration") < 0)
        return -1;
    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_SAFE, "SELECT " MIGRATION_COLS " FROM migrations WHERE uuid = $1",
                  &p, "read migration \"%s\"", uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "migration \"%s\" does not exist", uuid);
    migration_from_row(res, 0, ret_migration);
    return 0;
}

int
db_migration_get_by_id(db_conn_t *conn, int64_t id, db_migration_t *ret_migration)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_int(&p, id);
    res = db_exec(conn, DB_RETRY_SAFE, "SELECT " MIGRATION_COLS " FROM migrations WHERE id = $1",
                  &p, "read migration %lld", (long long)id);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "migration %lld does not exist", (long long)id);
    migration_from_row(res, 0, ret_migration);
    return 0;
}

int
db_migration_list(db_conn_t *conn, const db_migration_filter_t *filter, db_migration_t **ret_list,
                  size_t *ret_count)
{
    static const db_migration_filter_t any = {.status = -1};
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (!filter)
        filter = &any;
    if (filter->instance_uuid && db_check_uuid(filter->instance_uuid, "instance") < 0)
        return -1;
    if (filter->status >= DB_MIGRATION_STATUS__COUNT)
        return tern_error_set(TERN_ERR_INVALID, "cannot list migrations: invalid status %d",
                              filter->status);
    db_params_text(&p, filter->host);
    db_params_text(&p, filter->instance_uuid);
    db_params_text(&p, filter->status < 0 ? NULL : status_names[filter->status]);
    db_params_bool(&p, filter->unfinished_only);
    db_params_text(&p, filter->cleanup_host); /* $5 */
    db_params_int(&p, filter->source_silent_s);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " MIGRATION_COLS " FROM migrations AS m"
                  " WHERE ($1::text IS NULL OR source_compute = $1 OR dest_compute = $1)"
                  " AND ($2::uuid IS NULL OR instance_uuid = $2)"
                  " AND ($3::text IS NULL OR status = $3)"
                  " AND (NOT $4::boolean OR status NOT IN"
                  "      ('completed', 'failed', 'cancelled', 'error'))"
                  " AND ($5::text IS NULL OR cleanup_host = $5)"
                  " AND ($6::integer <= 0 OR NOT EXISTS"
                  "      (SELECT 1 FROM services AS s WHERE s.host = m.source_compute"
                  "       AND s.binary_name = 'tern-compute' AND s.last_heartbeat > now() -"
                  "           make_interval(secs => $6::double precision)))"
                  " ORDER BY id",
                  &p, "list migrations");
    if (!res)
        return -1;
    migrations_from_result(res, ret_list, ret_count);
    return 0;
}

/* The UPDATE matched nothing: NOT_FOUND, or CONFLICT naming the current status. */
static int
migration_refused(db_conn_t *conn, const char *uuid, const char *action)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_SAFE, "SELECT status FROM migrations WHERE uuid = $1", &p,
                  "read status of migration \"%s\"", uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "cannot %s migration \"%s\": it does not exist",
                              action, uuid);
    return tern_error_set(TERN_ERR_CONFLICT, "cannot %s migration \"%s\": its status is \"%s\"",
                          action, uuid, PQgetvalue(res, 0, 0));
}

/* Run an UPDATE whose $1 is the migration uuid; 0 rows -> migration_refused(). */
static int
migration_update(db_conn_t *conn, const char *uuid, const char *sql, const db_params_t *p,
                 const char *action)
{
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "migration") < 0)
        return -1;
    res = db_exec(conn, DB_RETRY_SAFE, sql, p, "%s migration \"%s\"", action, uuid);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return migration_refused(conn, uuid, action);
    return 0;
}

/* migration_update_text: migration_update with $1 the uuid and $2 value (text, may be NULL). */
static int
migration_update_text(db_conn_t *conn, const char *uuid, const char *sql, const char *value,
                      const char *action)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, uuid);
    db_params_text(&p, value);
    return migration_update(conn, uuid, sql, &p, action);
}

int
db_migration_set_status(db_conn_t *conn, const char *uuid, db_migration_status_t status,
                        const char *error_message)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    TERN_AUTOFREE char *action = NULL;

    if ((int)status < 0 || status >= DB_MIGRATION_STATUS__COUNT)
        return tern_error_set(TERN_ERR_INVALID,
                              "cannot set status of migration \"%s\": invalid "
                              "status %d",
                              uuid, (int)status);
    action = tern_asprintf("set status \"%s\" of", status_names[status]);
    db_params_text(&p, uuid);
    db_params_text(&p, status_names[status]);
    db_params_text(&p, allowed_from[status]);
    db_params_text(&p, error_message);
    db_params_bool(&p, db_migration_status_is_final(status));
    return migration_update(conn, uuid,
                            "UPDATE migrations SET status = $2,"
                            " error_message = coalesce($4, error_message),"
                            " finished_at = CASE WHEN $5::boolean"
                            "   THEN coalesce(finished_at, now()) ELSE finished_at END,"
                            " updated_at = now()"
                            " WHERE uuid = $1 AND (status = $2 OR status = ANY ($3::text[]))",
                            &p, action);
}

int
db_migration_set_destination(db_conn_t *conn, const char *uuid, const char *dest_compute,
                             const char *dest_node)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    if (db_check_str(dest_compute, "dest_compute", "set destination of migration") < 0)
        return -1;
    db_params_text(&p, uuid);
    db_params_text(&p, dest_compute);
    db_params_text(&p, dest_node);
    return migration_update(conn, uuid,
                            "UPDATE migrations SET dest_compute = $2, dest_node = $3,"
                            " updated_at = now()"
                            " WHERE uuid = $1 AND status IN ('queued', 'preparing')",
                            &p, "set destination of");
}

int
db_migration_update_progress(db_conn_t *conn, const char *uuid, const db_migration_progress_t *g)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, uuid);
    db_params_int(&p, g->memory_total);
    db_params_int(&p, g->memory_processed);
    db_params_int(&p, g->memory_remaining);
    db_params_int(&p, g->disk_total);
    db_params_int(&p, g->disk_processed);
    db_params_int(&p, g->disk_remaining);
    db_params_int(&p, g->dirty_rate);
    db_params_int(&p, g->iterations);
    return migration_update(conn, uuid,
                            "UPDATE migrations SET memory_total = $2, memory_processed = $3,"
                            " memory_remaining = $4, disk_total = $5, disk_processed = $6,"
                            " disk_remaining = $7, dirty_rate = $8, iterations = $9,"
                            " updated_at = now() WHERE uuid = $1",
                            &p, "update progress of");
}

int
db_migration_set_times(db_conn_t *conn, const char *uuid, int64_t downtime_ms,
                       int64_t total_time_ms)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, uuid);
    db_params_int(&p, downtime_ms);
    db_params_int(&p, total_time_ms);
    return migration_update(conn, uuid,
                            "UPDATE migrations SET"
                            " downtime_ms = CASE WHEN $2::bigint < 0 THEN downtime_ms ELSE $2 END,"
                            " total_time_ms = CASE WHEN $3::bigint < 0 THEN total_time_ms"
                            "   ELSE $3 END,"
                            " updated_at = now() WHERE uuid = $1",
                            &p, "set times of");
}

int
db_migration_set_error(db_conn_t *conn, const char *uuid, const char *error_message)
{
    return migration_update_text(conn, uuid,
                                 "UPDATE migrations SET error_message = $2, updated_at = now()"
                                 " WHERE uuid = $1",
                                 error_message, "set error message of");
}

static int
migration_phase(db_conn_t *conn, const char *uuid, db_migration_phase_t phase, bool begin)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    TERN_AUTOFREE char *action = NULL;

    if ((int)phase < 0 || phase >= DB_MIGRATION_PHASE__COUNT)
        return tern_error_set(TERN_ERR_INVALID,
                              "cannot mark phase %d of migration \"%s\": no "
                              "such phase",
                              (int)phase, uuid);
    action = tern_asprintf("%s phase \"%s\" of", begin ? "begin" : "end", phase_names[phase]);
    db_params_text(&p, uuid);
    return migration_update(conn, uuid, begin ? phase_begin_sql[phase] : phase_end_sql[phase], &p,
                            action);
}

int
db_migration_phase_begin(db_conn_t *conn, const char *uuid, db_migration_phase_t phase)
{
    return migration_phase(conn, uuid, phase, true);
}

int
db_migration_phase_end(db_conn_t *conn, const char *uuid, db_migration_phase_t phase)
{
    return migration_phase(conn, uuid, phase, false);
}

int
db_migration_own_task(db_conn_t *conn, const char *uuid)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "migration") < 0)
        return -1;
    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "UPDATE instances AS i SET task_owner = m.uuid FROM migrations AS m"
                  " WHERE m.uuid = $1 AND i.uuid = m.instance_uuid"
                  " AND i.task_state = 'migrating' AND i.task_owner IS NULL",
                  &p, "give migration \"%s\" its instance's task", uuid);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "cannot give migration \"%s\" its instance's task: the instance is "
                              "not migrating, or another migration owns the task",
                              uuid);
    return 0;
}

int
db_migration_set_cleanup_host(db_conn_t *conn, const char *uuid, const char *host)
{
    return migration_update_text(conn, uuid,
                                 "UPDATE migrations SET cleanup_host = $2, updated_at = now()"
                                 " WHERE uuid = $1",
                                 host, "record the leftovers of");
}

int
db_migration_leftovers_removed(db_conn_t *conn, const char *uuid, const char *host)
{
    if (db_check_str(host, "host", "clear the leftovers of a migration") < 0)
        return -1;
    return migration_update_text(conn, uuid,
                                 "UPDATE migrations SET cleanup_host = CASE WHEN cleanup_host = $2"
                                 " THEN NULL ELSE cleanup_host END, updated_at = now()"
                                 " WHERE uuid = $1",
                                 host, "clear the leftovers of");
}

int
db_migration_set_migrate_data(db_conn_t *conn, const char *uuid, const json_t *migrate_data)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, uuid);
    db_params_json(&p, migrate_data);
    return migration_update(conn, uuid,
                            "UPDATE migrations SET migrate_data = $2::jsonb, updated_at = now()"
                            " WHERE uuid = $1 AND status = 'queued'",
                            &p, "store the migrate data of");
}

int
db_migration_get_migrate_data(db_conn_t *conn, const char *uuid, json_t **ret_migrate_data)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "migration") < 0)
        return -1;
    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_SAFE, "SELECT migrate_data FROM migrations WHERE uuid = $1", &p,
                  "read the migrate data of migration \"%s\"", uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "migration \"%s\" does not exist", uuid);
    *ret_migrate_data = db_get_json(res, 0, 0);
    if (!*ret_migrate_data)
        *ret_migrate_data = json_null();
    return 0;
}

int
db_migration_set_conductor(db_conn_t *conn, const char *uuid, const char *conductor_host)
{
    return migration_update_text(conn, uuid,
                                 "UPDATE migrations SET conductor = $2, updated_at = now()"
                                 " WHERE uuid = $1",
                                 conductor_host, "record the conductor of");
}

int
db_migration_take_orphans(db_conn_t *conn, const char *restarted_host, int down_s, int max_age_s,
                          const char *message, db_migration_t **ret_list, size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, restarted_host);
    db_params_int(&p, down_s);
    db_params_int(&p, max_age_s);
    db_params_text(&p, message);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "UPDATE migrations AS m SET status = 'error',"
                  " error_message = CASE WHEN m.migrate_data IS NULL THEN $4"
                  "   ELSE 'handed to the source compute, which never took it' END,"
                  " finished_at = now(), updated_at = now()"
                  " WHERE m.status = 'queued' AND ((m.migrate_data IS NULL"
                  " AND (m.conductor = $1"
                  "      OR m.created_at < now() - make_interval(secs => $3::double precision)"
                  "      OR (m.conductor IS NOT NULL AND NOT EXISTS"
                  "          (SELECT 1 FROM services AS s WHERE s.host = m.conductor"
                  "           AND s.binary_name = 'tern-conductor'"
                  "           AND s.last_heartbeat > now() -"
                  "               make_interval(secs => $2::double precision)))))"
                  "   OR (m.migrate_data IS NOT NULL"
                  "       AND m.updated_at < now() - make_interval(secs => $3::double precision)"
                  "       AND NOT EXISTS (SELECT 1 FROM services AS s"
                  "           WHERE s.host = m.source_compute AND s.binary_name = 'tern-compute'"
                  "           AND s.last_heartbeat > now() -"
                  "               make_interval(secs => $2::double precision))))"
                  " RETURNING " MIGRATION_COLS,
                  &p, "take orphaned migrations");
    if (!res)
        return -1;
    migrations_from_result(res, ret_list, ret_count);
    return 0;
}
