/*
 * db/migration_outcome.c: how a migration ends (db/migrations.h) - the switch-over that moves its
 * instance to the destination, and the end of one that did not switch over. Each is one
 * transaction that first locks the migration row, so two reports of the same end (a retry after a
 * lost answer, two conductors) serialise and the second finds the first's result; each touches
 * the instance's task only while the migration owns it (instances.task_owner).
 */
#include "db/db-private.h"

#include <string.h>

/* The migration row as the ends need it, locked FOR UPDATE inside the caller's transaction. */
typedef struct locked_migration {
    char instance_uuid[DB_UUID_LEN];
    char status[32];
    char *source; /* owned */
    char *dest;   /* owned, NULL when none was chosen */
    char *dest_node;
} locked_migration_t;

static void
locked_migration_clear(locked_migration_t *m)
{
    free(m->source);
    free(m->dest);
    free(m->dest_node);
    memset(m, 0, sizeof(*m));
}

/* lock_migration: read and lock the row; NOT_FOUND naming action when it does not exist. */
static int
lock_migration(db_conn_t *conn, const char *uuid, const char *action, locked_migration_t *ret)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "SELECT instance_uuid, status, source_compute, dest_compute, dest_node"
                  " FROM migrations WHERE uuid = $1 FOR UPDATE",
                  &p, "lock migration \"%s\"", uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "cannot %s migration \"%s\": it does not exist",
                              action, uuid);
    memset(ret, 0, sizeof(*ret));
    db_get_uuid(res, 0, 0, ret->instance_uuid);
    tern_strlcpy(ret->status, PQgetvalue(res, 0, 1), sizeof(ret->status));
    ret->source = db_get_str(res, 0, 2);
    ret->dest = db_get_str(res, 0, 3);
    ret->dest_node = db_get_str(res, 0, 4);
    return 0;
}

/* read_instance: the instance row (inside the transaction). */
static int
read_instance(db_conn_t *conn, const char *uuid, db_instance_t *ret)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, uuid);
    res =
        db_exec(conn, DB_RETRY_NEVER, "SELECT " DB_INSTANCE_COLS " FROM instances WHERE uuid = $1",
                &p, "read instance \"%s\"", uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "instance \"%s\" does not exist", uuid);
    db_instance_from_row(res, 0, ret);
    return 0;
}

/* task_refused: the instance's task is not the migration's: CONFLICT naming what it is. */
static int
task_refused(db_conn_t *conn, const char *uuid, const char *instance_uuid)
{
    db_instance_t inst = {0};
    int rc;

    if (read_instance(conn, instance_uuid, &inst) < 0)
        return -1;
    if (inst.deleted_ms)
        rc = tern_error_set(TERN_ERR_NOT_FOUND, "instance \"%s\" was deleted", instance_uuid);
    else
        rc = tern_error_set(TERN_ERR_CONFLICT,
                            "the task of instance \"%s\" (%s) is not migration \"%s\"'s",
                            instance_uuid, inst.task_state ? inst.task_state : "none", uuid);
    db_instance_clear(&inst);
    return rc;
}

/* switch_over_steps: db_migration_switch_over's statements, inside its transaction. */
static int
switch_over_steps(db_conn_t *conn, const char *uuid, db_instance_t *ret_instance)
{
    DB_AUTOPARAMS ip = DB_PARAMS_INIT;
    DB_AUTOPARAMS mp = DB_PARAMS_INIT;
    DB_AUTORESULT *inst = NULL;
    DB_AUTORESULT *done = NULL;
    locked_migration_t m;
    int rc = -1;

    if (lock_migration(conn, uuid, "switch over", &m) < 0)
        return -1;
    if (strcmp(m.status, "completed") == 0) { /* a retried report: done already */
        rc = read_instance(conn, m.instance_uuid, ret_instance);
        if (rc == 0 && !tern_streq(ret_instance->host, m.dest)) {
            db_instance_clear(ret_instance);
            rc = tern_error_set(TERN_ERR_CONFLICT,
                                "migration \"%s\" is completed but its instance is on \"%s\"", uuid,
                                ret_instance->host);
        }
        goto out;
    }
    /* preparing: the source's "running" report was lost (it restarted right after libvirt
     * started), yet libvirt moved the guest. */
    if (strcmp(m.status, "preparing") != 0 && strcmp(m.status, "running") != 0 &&
        strcmp(m.status, "postcopy-active") != 0 && strcmp(m.status, "postcopy-paused") != 0 &&
        strcmp(m.status, "needs-operator") != 0) {
        tern_error_set(TERN_ERR_CONFLICT,
                       "cannot switch over migration \"%s\": its status is \"%s\" (expected "
                       "\"running\" or \"postcopy-active\")",
                       uuid, m.status);
        goto out;
    }
    if (!m.dest) {
        tern_error_set(TERN_ERR_CONFLICT,
                       "cannot switch over migration \"%s\": it has no destination", uuid);
        goto out;
    }
    db_params_text(&ip, m.instance_uuid);
    db_params_text(&ip, m.dest);
    db_params_text(&ip, m.dest_node);
    db_params_text(&ip, uuid);
    inst = db_exec(conn, DB_RETRY_NEVER,
                   "UPDATE instances SET host = $2, node = $3, task_state = NULL,"
                   " task_owner = NULL, updated_at = now()"
                   " WHERE uuid = $1 AND deleted_at IS NULL AND task_owner = $4"
                   " RETURNING " DB_INSTANCE_COLS,
                   &ip, "move instance \"%s\" to host \"%s\"", m.instance_uuid, m.dest);
    if (!inst)
        goto out;
    if (PQntuples(inst) == 0) {
        task_refused(conn, uuid, m.instance_uuid);
        goto out;
    }
    db_params_text(&mp, uuid);
    /* The instance now counts on its destination: its claim there is done with. */
    done = db_exec(conn, DB_RETRY_NEVER,
                   "WITH released AS (DELETE FROM resource_claims WHERE migration_uuid = $1)"
                   " UPDATE migrations SET status = 'completed', cleanup_host = source_compute,"
                   " finished_at = now(), updated_at = now() WHERE uuid = $1",
                   &mp, "complete migration \"%s\"", uuid);
    if (!done)
        goto out;
    db_instance_from_row(inst, 0, ret_instance);
    rc = 0;
out:
    locked_migration_clear(&m);
    return rc;
}

int
db_migration_switch_over(db_conn_t *conn, const char *uuid, db_instance_t *ret_instance)
{
    db_instance_t moved = {0};

    if (db_check_uuid(uuid, "migration") < 0)
        return -1;
    if (db_txn_begin(conn, "begin switch-over") < 0)
        return tern_error_prefix("could not switch over migration \"%s\"", uuid);
    if (switch_over_steps(conn, uuid, &moved) < 0) {
        db_txn_rollback(conn);
        db_instance_clear(&moved);
        return tern_error_prefix("could not switch over migration \"%s\"", uuid);
    }
    if (db_txn_commit(conn, "commit switch-over") < 0) {
        db_instance_clear(&moved);
        return tern_error_prefix("could not switch over migration \"%s\"", uuid);
    }
    if (ret_instance)
        *ret_instance = moved;
    else
        db_instance_clear(&moved);
    return 0;
}

/* end_steps: db_migration_end's statements, inside its transaction. */
static int
end_steps(db_conn_t *conn, const char *uuid, db_migration_status_t status,
          const char *error_message, const char *cleanup_host, bool queued_only, bool *ret_ended)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTOPARAMS tp = DB_PARAMS_INIT;
    DB_AUTORESULT *upd = NULL;
    DB_AUTORESULT *task = NULL;
    locked_migration_t m;
    int current, rc = -1;

    if (lock_migration(conn, uuid, "end", &m) < 0)
        return -1;
    current = db_migration_status_from_name(m.status);
    if (current == DB_MIGRATION_COMPLETED) {
        tern_error_set(TERN_ERR_CONFLICT,
                       "cannot end migration \"%s\" as %s: it has switched over (completed)", uuid,
                       db_migration_status_name(status));
        goto out;
    }
    if (queued_only && current != DB_MIGRATION_QUEUED &&
        !db_migration_status_is_final((db_migration_status_t)current)) {
        tern_error_set(TERN_ERR_CONFLICT,
                       "cannot abandon migration \"%s\": the source compute has taken it (its "
                       "status is \"%s\")",
                       uuid, m.status);
        goto out;
    }
    *ret_ended = !db_migration_status_is_final((db_migration_status_t)current);
    if (*ret_ended && !db_migration_transition_allowed((db_migration_status_t)current, status)) {
        tern_error_set(TERN_ERR_CONFLICT, "cannot end migration \"%s\" as %s: its status is \"%s\"",
                       uuid, db_migration_status_name(status), m.status);
        goto out;
    }
    db_params_text(&p, uuid);
    db_params_bool(&p, *ret_ended);
    db_params_text(&p, db_migration_status_name(status));
    db_params_text(&p, error_message);
    db_params_text(&p, cleanup_host);
    upd = db_exec(conn, DB_RETRY_NEVER,
                  "WITH released AS (DELETE FROM resource_claims WHERE migration_uuid = $1)"
                  " UPDATE migrations SET"
                  " status = CASE WHEN $2::boolean THEN $3 ELSE status END,"
                  " error_message = CASE WHEN $2::boolean THEN coalesce($4, error_message)"
                  "   ELSE error_message END,"
                  " finished_at = coalesce(finished_at, now()),"
                  " cleanup_host = coalesce($5, cleanup_host), updated_at = now()"
                  " WHERE uuid = $1",
                  &p, "end migration \"%s\"", uuid);
    if (!upd)
        goto out;
    db_params_text(&tp, m.instance_uuid);
    db_params_text(&tp, uuid);
    task = db_exec(conn, DB_RETRY_NEVER,
                   "UPDATE instances SET task_state = NULL, task_owner = NULL, updated_at = now()"
                   " WHERE uuid = $1 AND task_owner = $2",
                   &tp, "end the task of instance \"%s\"", m.instance_uuid);
    rc = task ? 0 : -1;
out:
    locked_migration_clear(&m);
    return rc;
}

/* end: db_migration_end and db_migration_abandon. */
static int
end(db_conn_t *conn, const char *uuid, db_migration_status_t status, const char *error_message,
    const char *cleanup_host, bool queued_only, bool *ret_ended)
{
    bool ended = false;

    if (db_check_uuid(uuid, "migration") < 0)
        return -1;
    if (status != DB_MIGRATION_FAILED && status != DB_MIGRATION_CANCELLED &&
        status != DB_MIGRATION_ERROR)
        return tern_error_set(TERN_ERR_INVALID,
                              "cannot end migration \"%s\" as \"%s\": not a failure's status", uuid,
                              db_migration_status_name(status));
    if (db_txn_begin(conn, "begin the end of a migration") < 0)
        return tern_error_prefix("could not end migration \"%s\"", uuid);
    if (end_steps(conn, uuid, status, error_message, cleanup_host, queued_only, &ended) < 0) {
        db_txn_rollback(conn);
        return -1;
    }
    if (db_txn_commit(conn, "commit the end of a migration") < 0)
        return tern_error_prefix("could not end migration \"%s\"", uuid);
    if (ret_ended)
        *ret_ended = ended;
    return 0;
}

int
db_migration_end(db_conn_t *conn, const char *uuid, db_migration_status_t status,
                 const char *error_message, const char *cleanup_host, bool *ret_ended)
{
    return end(conn, uuid, status, error_message, cleanup_host, false, ret_ended);
}

int
db_migration_abandon(db_conn_t *conn, const char *uuid, const char *error_message, bool *ret_ended)
{
    return end(conn, uuid, DB_MIGRATION_ERROR, error_message, NULL, true, ret_ended);
}
