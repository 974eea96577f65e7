/*
 * db/schema.c: schema versioning (db_schema_* in db/db.h), driven by `tern-manage db sync`.
 *
 * The database records applied versions in tern_schema_version (version, name, applied_at).
 * A sync runs in one transaction under a transaction-scoped advisory lock, so concurrent syncs
 * serialise and a failed file leaves the database exactly as it was. Schema files are embedded
 * at build time (db/gen-schema.sh); their SQL is constant text of this build, never user input.
 */
#include "db/db-private.h"

#include <string.h>

/* pg_advisory_xact_lock key: "tern" in ASCII, so other applications are unlikely to collide. */
#define SCHEMA_LOCK_KEY "1952805486"

int
db_schema_latest_version(void)
{
    return db_schema_n_files ? db_schema_files[db_schema_n_files - 1].version : 0;
}

/* Version recorded in the database (0 when the table does not exist). In or out of a txn. */
static int
schema_read_version(db_conn_t *conn, int *ret_version)
{
    DB_AUTORESULT *exists = NULL;
    DB_AUTORESULT *res = NULL;

    exists = db_exec(conn, DB_RETRY_SAFE, "SELECT to_regclass('tern_schema_version') IS NOT NULL",
                     NULL, "read the database schema version");
    if (!exists)
        return -1;
    if (!db_get_bool(exists, 0, 0)) {
        *ret_version = 0;
        return 0;
    }
    res = db_exec(conn, DB_RETRY_SAFE, "SELECT coalesce(max(version), 0) FROM tern_schema_version",
                  NULL, "read the database schema version");
    if (!res)
        return -1;
    *ret_version = (int)db_get_int(res, 0, 0);
    return 0;
}

int
db_schema_current_version(db_conn_t *conn, int *ret_version)
{
    return schema_read_version(conn, ret_version);
}

/* Apply one embedded file and record it; inside the sync transaction. */
static int
schema_apply(db_conn_t *conn, const db_schema_file_t *file)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    PGresult *res;
    DB_AUTORESULT *ins = NULL;

    /* A file holds many statements: PQexec (simple protocol) runs them all in the open
     * transaction. The text is this build's schema file, not a value. */
    res = PQexec(conn->pg, file->sql);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        TERN_AUTOFREE char *copy = tern_strdup(msg ? msg : PQerrorMessage(conn->pg));

        copy[strcspn(copy, "\n")] = '\0';
        PQclear(res);
        if (PQstatus(conn->pg) != CONNECTION_OK)
            conn->in_txn = false;
        return tern_error_set(
            PQstatus(conn->pg) == CONNECTION_OK ? TERN_ERR_DB : TERN_ERR_UNAVAILABLE,
            "could not apply schema file %03d_%s.sql: %s", file->version, file->name, copy);
    }
    PQclear(res);

    db_params_int(&p, file->version);
    db_params_text(&p, file->name);
    ins = db_exec(conn, DB_RETRY_NEVER,
                  "INSERT INTO tern_schema_version (version, name) VALUES ($1, $2)", &p,
                  "record schema version %d", file->version);
    return ins ? 0 : -1;
}

int
db_schema_sync(db_conn_t *conn, int *ret_from, int *ret_to)
{
    DB_AUTORESULT *lock = NULL;
    DB_AUTORESULT *create = NULL;
    int latest = db_schema_latest_version();
    int current = 0;

    if (db_txn_begin(conn, "begin schema sync") < 0)
        return -1;
    lock = db_exec(conn, DB_RETRY_NEVER, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", NULL,
                   "lock the database schema");
    if (!lock)
        goto error;
    create = db_exec(conn, DB_RETRY_NEVER,
                     "CREATE TABLE IF NOT EXISTS tern_schema_version ("
                     " version integer PRIMARY KEY,"
                     " name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     NULL, "create table \"tern_schema_version\"");
    if (!create)
        goto error;
    if (schema_read_version(conn, &current) < 0)
        goto error;
    if (current > latest) {
        tern_error_set(TERN_ERR_CONFLICT,
                       "cannot sync database schema: the database is at version %d, newer than "
                       "this tern (%d); upgrade tern",
                       current, latest);
        goto error;
    }
    for (size_t i = 0; i < db_schema_n_files; i++) {
        if (db_schema_files[i].version <= current)
            continue;
        if (schema_apply(conn, &db_schema_files[i]) < 0)
            goto error;
    }
    if (db_txn_commit(conn, "commit schema sync") < 0)
        return -1;
    if (ret_from)
        *ret_from = current;
    if (ret_to)
        *ret_to = latest;
    return 0;

error:
    db_txn_rollback(conn);
    return -1;
}

int
db_schema_check(db_conn_t *conn)
{
    int current, latest = db_schema_latest_version();

    if (schema_read_version(conn, &current) < 0)
        return -1;
    if (current < latest)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "database schema version %d is older than this tern's (%d): run "
                              "\"tern-manage db sync\"",
                              current, latest);
    if (current > latest)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "database schema version %d is newer than this tern's (%d): "
                              "upgrade tern",
                              current, latest);
    return 0;
}
