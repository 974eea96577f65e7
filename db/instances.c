/*
 * db/instances.c: the instances table (db/instances.h).
 */
#include "db/db-private.h"

#include <stdlib.h>
#include <string.h>

#define INSTANCE_COLS DB_INSTANCE_COLS

void
db_instance_from_row(const PGresult *res, int row, db_instance_t *in)
{
    memset(in, 0, sizeof(*in));
    in->id = db_get_int(res, row, 0);
    db_get_uuid(res, row, 1, in->uuid);
    in->name = db_get_str(res, row, 2);
    in->host = db_get_str(res, row, 3);
    in->node = db_get_str(res, row, 4);
    in->vm_state = db_get_str(res, row, 5);
    in->task_state = db_get_str(res, row, 6);
    in->power_state = (int)db_get_int(res, row, 7);
    in->memory_mb = db_get_int(res, row, 8);
    in->vcpus = (int)db_get_int(res, row, 9);
    in->root_gb = db_get_int(res, row, 10);
    in->ephemeral_gb = db_get_int(res, row, 11);
    in->flavor_name = db_get_str(res, row, 12);
    in->image_ref = db_get_str(res, row, 13);
    in->project_id = db_get_str(res, row, 14);
    in->user_id = db_get_str(res, row, 15);
    in->locked = db_get_bool(res, row, 16);
    in->priority = (int)db_get_int(res, row, 17);
    in->launched_ms = db_get_int(res, row, 18);
    in->created_ms = db_get_int(res, row, 19);
    in->updated_ms = db_get_int(res, row, 20);
    in->deleted_ms = db_get_int(res, row, 21);
    in->migration_support = db_get_str(res, row, 22);
    in->never_pause = db_get_bool(res, row, 23);
}

void
db_instance_clear(db_instance_t *in)
{
    if (!in)
        return;
    free(in->name);
    free(in->migration_support);
    free(in->host);
    free(in->node);
    free(in->vm_state);
    free(in->task_state);
    free(in->flavor_name);
    free(in->image_ref);
    free(in->project_id);
    free(in->user_id);
    memset(in, 0, sizeof(*in));
}

void
db_instance_list_free(db_instance_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_instance_clear(&list[i]);
    free(list);
}

int
db_instance_create(db_conn_t *conn, const db_instance_t *in, db_instance_t *ret_instance)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    char uuid[DB_UUID_LEN];

    if (in->uuid[0] == '\0')
        tern_uuid_generate(uuid);
    else if (db_check_uuid(in->uuid, "instance") < 0)
        return -1;
    else
        tern_strlcpy(uuid, in->uuid, sizeof(uuid));
    if (db_check_str(in->name, "name", "create instance") < 0 ||
        db_check_str(in->project_id, "project_id", "create instance") < 0 ||
        db_check_str(in->user_id, "user_id", "create instance") < 0)
        return -1;

    db_params_text(&p, uuid); /* $1 */
    db_params_text(&p, in->name);
    db_params_text(&p, in->host);
    db_params_text(&p, in->node);
    db_params_text(&p, in->vm_state ? in->vm_state : DB_VM_STATE_BUILDING); /* $5 */
    db_params_int(&p, in->power_state);
    db_params_int(&p, in->memory_mb);
    db_params_int(&p, in->vcpus);
    db_params_int(&p, in->root_gb);
    db_params_int(&p, in->ephemeral_gb); /* $10 */
    db_params_text(&p, in->flavor_name);
    db_params_text(&p, in->image_ref);
    db_params_text(&p, in->project_id);
    db_params_text(&p, in->user_id);
    db_params_bool(&p, in->locked); /* $15 */
    db_params_int(&p, in->priority);
    db_params_int(&p, in->launched_ms);
    db_params_text(&p, in->migration_support ? in->migration_support : "migratable");
    db_params_bool(&p, in->never_pause);
    res = db_exec(
        conn, DB_RETRY_NEVER,
        "INSERT INTO instances (uuid, name, host, node, vm_state, power_state,"
        " memory_mb, vcpus, root_gb, ephemeral_gb, flavor_name, image_ref, project_id,"
        " user_id, locked, priority, launched_at, migration_support, never_pause) VALUES ($1, $2,"
        " $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
        " CASE WHEN $17::bigint = 0 THEN NULL"
        " ELSE to_timestamp($17::bigint / 1000.0) END, $18, $19)"
        " RETURNING " INSTANCE_COLS,
        &p, "create instance \"%s\"", uuid);
    if (!res)
        return -1;
    if (ret_instance)
        db_instance_from_row(res, 0, ret_instance);
    return 0;
}

int
db_instance_get(db_conn_t *conn, const char *uuid, db_instance_t *ret_instance)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "instance") < 0)
        return -1;
    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_SAFE, "SELECT " INSTANCE_COLS " FROM instances WHERE uuid = $1",
                  &p, "read instance \"%s\"", uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "instance \"%s\" does not exist", uuid);
    db_instance_from_row(res, 0, ret_instance);
    return 0;
}

int
db_instance_list(db_conn_t *conn, const db_instance_filter_t *filter, db_instance_t **ret_list,
                 size_t *ret_count)
{
    static const db_instance_filter_t none = {0};
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_instance_t *list;
    int n;

    if (!filter)
        filter = &none;
    db_params_text(&p, filter->host);
    db_params_text(&p, filter->node);
    db_params_text(&p, filter->project_id);
    db_params_bool(&p, filter->include_deleted);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " INSTANCE_COLS " FROM instances"
                  " WHERE ($1::text IS NULL OR host = $1) AND ($2::text IS NULL OR node = $2)"
                  " AND ($3::text IS NULL OR project_id = $3)"
                  " AND ($4::boolean OR deleted_at IS NULL) ORDER BY id",
                  &p, "list instances");
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        db_instance_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

/* After an UPDATE of a live instance matched no row: say whether it is absent or deleted. */
static int
instance_not_live(db_conn_t *conn, const char *uuid, const char *what)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT deleted_at IS NOT NULL FROM instances"
                  " WHERE uuid = $1",
                  &p, "%s instance \"%s\"", what, uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 1 && db_get_bool(res, 0, 0))
        return tern_error_set(TERN_ERR_NOT_FOUND, "cannot %s instance \"%s\": it is deleted", what,
                              uuid);
    return tern_error_set(TERN_ERR_NOT_FOUND, "cannot %s instance \"%s\": it does not exist", what,
                          uuid);
}

/* Run an idempotent UPDATE whose $1 is the uuid and whose WHERE requires a live row. */
static int
instance_update(db_conn_t *conn, const char *uuid, const char *sql, const db_params_t *p,
                const char *what)
{
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "instance") < 0)
        return -1;
    res = db_exec(conn, DB_RETRY_SAFE, sql, p, "%s instance \"%s\"", what, uuid);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return instance_not_live(conn, uuid, what);
    return 0;
}

int
db_instance_set_location(db_conn_t *conn, const char *uuid, const char *host, const char *node)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, uuid);
    db_params_text(&p, host);
    db_params_text(&p, node);
    return instance_update(conn, uuid,
                           "UPDATE instances SET host = $2, node = $3, updated_at = now()"
                           " WHERE uuid = $1 AND deleted_at IS NULL",
                           &p, "set host of");
}

int
db_instance_set_vm_state(db_conn_t *conn, const char *uuid, const char *vm_state)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    if (db_check_str(vm_state, "vm_state", "set vm_state of instance") < 0)
        return -1;
    db_params_text(&p, uuid);
    db_params_text(&p, vm_state);
    return instance_update(conn, uuid,
                           "UPDATE instances SET vm_state = $2, updated_at = now()"
                           " WHERE uuid = $1 AND deleted_at IS NULL",
                           &p, "set vm_state of");
}

int
db_instance_set_power_state(db_conn_t *conn, const char *uuid, int power_state)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, uuid);
    db_params_int(&p, power_state);
    return instance_update(conn, uuid,
                           "UPDATE instances SET power_state = $2, updated_at = now(),"
                           " launched_at = CASE WHEN $2 = 1 THEN coalesce(launched_at, now())"
                           " ELSE launched_at END"
                           " WHERE uuid = $1 AND deleted_at IS NULL",
                           &p, "set power_state of");
}

int
db_instance_set_locked(db_conn_t *conn, const char *uuid, bool locked)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;

    db_params_text(&p, uuid);
    db_params_bool(&p, locked);
    return instance_update(conn, uuid,
                           "UPDATE instances SET locked = $2, updated_at = now()"
                           " WHERE uuid = $1 AND deleted_at IS NULL",
                           &p, locked ? "lock" : "unlock");
}

int
db_instance_soft_delete(db_conn_t *conn, const char *uuid)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "instance") < 0)
        return -1;
    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "UPDATE instances SET vm_state = 'deleted', task_state = NULL,"
                  " deleted_at = coalesce(deleted_at, now()), updated_at = now()"
                  " WHERE uuid = $1",
                  &p, "delete instance \"%s\"", uuid);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND,
                              "cannot delete instance \"%s\": it does not exist", uuid);
    return 0;
}

/* After a task_state compare-and-set matched no row: NOT_FOUND, or CONFLICT naming what the
 * instance's task_state is. */
int
db_instance_task_state_refused(db_conn_t *conn, const char *uuid, const char *expected,
                               const char *wanted)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    TERN_AUTOFREE char *action = wanted
                                     ? tern_asprintf("set task_state of instance \"%s\" to "
                                                     "\"%s\"",
                                                     uuid, wanted)
                                     : tern_asprintf("clear task_state of instance \"%s\"", uuid);

    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT task_state, deleted_at IS NOT NULL FROM instances WHERE uuid = $1", &p,
                  "read task_state of instance \"%s\"", uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "cannot %s: instance does not exist", action);
    if (db_get_bool(res, 0, 1))
        return tern_error_set(TERN_ERR_NOT_FOUND, "cannot %s: instance is deleted", action);
    if (db_is_null(res, 0, 0))
        return tern_error_set(TERN_ERR_CONFLICT,
                              "cannot %s: instance has no task_state (expected \"%s\")", action,
                              expected ? expected : "none");
    if (expected)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "cannot %s: task_state is \"%s\" (expected \"%s\")", action,
                              PQgetvalue(res, 0, 0), expected);
    return tern_error_set(TERN_ERR_CONFLICT, "cannot %s: task_state is \"%s\" (expected none)",
                          action, PQgetvalue(res, 0, 0));
}

int
db_instance_task_state_begin(db_conn_t *conn, const char *uuid, const char *expected_task_state,
                             const char *new_task_state, db_instance_t *ret_instance)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "instance") < 0 ||
        db_check_str(new_task_state, "new task_state", "begin a task") < 0)
        return -1;
    db_params_text(&p, uuid);
    db_params_text(&p, expected_task_state);
    db_params_text(&p, new_task_state);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "UPDATE instances SET task_state = $3, updated_at = now()"
                  " WHERE uuid = $1 AND deleted_at IS NULL"
                  " AND task_state IS NOT DISTINCT FROM $2::text"
                  " RETURNING " INSTANCE_COLS,
                  &p, "set task_state of instance \"%s\" to \"%s\"", uuid, new_task_state);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return db_instance_task_state_refused(conn, uuid, expected_task_state, new_task_state);
    if (ret_instance)
        db_instance_from_row(res, 0, ret_instance);
    return 0;
}

int
db_instance_task_state_end(db_conn_t *conn, const char *uuid, const char *expected_task_state)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(uuid, "instance") < 0)
        return -1;
    db_params_text(&p, uuid);
    db_params_text(&p, expected_task_state);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "UPDATE instances SET task_state = NULL, updated_at = now()"
                  " WHERE uuid = $1 AND deleted_at IS NULL"
                  " AND (task_state IS NULL OR task_state = $2::text)",
                  &p, "clear task_state of instance \"%s\"", uuid);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return db_instance_task_state_refused(conn, uuid, expected_task_state, NULL);
    return 0;
}
