/*
 * db/db-private.h: helpers shared by the files of db/ only; never included outside db/.
 *
 * This is the only header that sees libpq. It holds the connection struct, the statement runner
 * with its reconnect/retry rule (db_exec), parameter building (db_params_t: every value travels
 * as a text parameter of PQexecParams, never inside SQL text), result-row readers and the
 * embedded schema files.
 *
 * Ownership: db_exec() returns a PGresult the caller owns (declare it DB_AUTORESULT to have it
 * cleared by scope). db_params_t owns the strings it formats (numbers, JSON) until
 * db_params_clear(); text values it is given are borrowed and must outlive the statement.
 */
#ifndef TERN_DB_PRIVATE_H
#define TERN_DB_PRIVATE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"
#include "db/db.h"

struct db_conn {
    PGconn *pg;         /* libpq connection (owned) */
    char *conninfo;     /* connection string as given to libpq (owned) */
    char *masked;       /* conninfo with the password masked, for messages (owned) */
    bool in_txn;        /* between db_txn_begin() and commit/rollback: no reconnect, no retry */
    db_stats_t stats;   /* this connection's own counters since db_open() */
    db_stats_t *shared; /* counted into as well (borrowed; atomically), or NULL */
};

/* Whether a statement may be re-sent once on a fresh connection when the old one dropped while
 * it ran: reads and idempotent writes are SAFE; anything whose repetition could change the
 * outcome (a compare-and-set that would then see its own write, an INSERT) is NEVER. */
typedef enum {
    DB_RETRY_NEVER = 0,
    DB_RETRY_SAFE = 1,
} db_retry_t;

#define DB_PARAMS_MAX 40

typedef struct db_params {
    int n;                             /* parameters added so far */
    const char *values[DB_PARAMS_MAX]; /* $1..$n as text, NULL for SQL NULL */
    char *owned[DB_PARAMS_MAX];        /* values this struct allocated (freed by clear) */
} db_params_t;

#define DB_PARAMS_INIT \
    {                  \
        0              \
    }

/* Append one parameter. Text is borrowed; numbers and JSON are formatted into owned strings.
 * Adding more than DB_PARAMS_MAX parameters aborts (a programming error). */
void db_params_text(db_params_t *p, const char *value); /* NULL -> SQL NULL */
void db_params_int(db_params_t *p, int64_t value);
void db_params_double(db_params_t *p, double value);
void db_params_bool(db_params_t *p, bool value);
void db_params_json(db_params_t *p, const json_t *value); /* NULL -> SQL NULL */
void db_params_clear(db_params_t *p);

/* Run sql with params (may be NULL) and return its result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK; caller frees with PQclear), or NULL with a translated tern error whose
 * message is "could not <what>: <reason>". See db/db.h for the reconnect and retry rules. */
PGresult *db_exec(db_conn_t *conn, db_retry_t retry, const char *sql, const db_params_t *params,
                  const char *what_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Transactions (READ COMMITTED). begin: reconnects first if needed. commit: -1 with an error if
 * the commit failed (the transaction is then over). rollback: keeps the thread's current error,
 * never fails (a dropped connection has rolled back already). */
int db_txn_begin(db_conn_t *conn, const char *what);
int db_txn_commit(db_conn_t *conn, const char *what);
void db_txn_rollback(db_conn_t *conn);

/* Clear a PGresult by scope. */
void db_result_freep(PGresult **res);
#define DB_AUTORESULT __attribute__((cleanup(db_result_freep))) PGresult

/* Clear a db_params_t by scope. */
#define DB_AUTOPARAMS __attribute__((cleanup(db_params_clear))) db_params_t

/* Row readers: column col of row of res. NULL columns read as NULL / 0 / false / "". */
char *db_get_str(const PGresult *res, int row, int col); /* new string or NULL */
int64_t db_get_int(const PGresult *res, int row, int col);
double db_get_double(const PGresult *res, int row, int col);
bool db_get_bool(const PGresult *res, int row, int col);
json_t *db_get_json(const PGresult *res, int row, int col); /* new reference or NULL */
void db_get_uuid(const PGresult *res, int row, int col, char ret_uuid[DB_UUID_LEN]);
bool db_is_null(const PGresult *res, int row, int col);

/* Validate a uuid argument: -1 with TERN_ERR_INVALID naming what it is ("instance") when s is
 * not a canonical uuid (upper case accepted). */
int db_check_uuid(const char *s, const char *what);

/* Require a non-empty string argument: -1 with TERN_ERR_INVALID naming the field. */
int db_check_str(const char *s, const char *field, const char *what);

/* compute_nodes.c, shared with claims.c. */
/* The *_used figures are what the instances table places on the node, summed as the row is
 * read: one source of truth, never a figure as stale as the last resource report. */
#define DB_NODE_USED(expr)                                                                         \
    "(SELECT coalesce(sum(" expr "), 0) FROM instances i WHERE i.host = compute_nodes.host"        \
    " AND coalesce(i.node, compute_nodes.hypervisor_hostname) = compute_nodes.hypervisor_hostname" \
    " AND i.deleted_at IS NULL)"
#define DB_COMPUTE_NODE_COLS                                                                    \
    "id, host, hypervisor_hostname, hypervisor_type, hypervisor_version, host_ip, cpu_info, "   \
    "vcpus, " DB_NODE_USED("i.vcpus") ", memory_mb, " DB_NODE_USED(                             \
        "i.memory_mb") ", "                                                                     \
                       "free_ram_mb, local_gb, " DB_NODE_USED(                                  \
                           "i.root_gb + i.ephemeral_gb") ", "                                   \
                                                         "free_disk_gb, cpu_allocation_ratio, " \
                                                         "ram_allocation_ratio, "               \
                                                         "disk_allocation_ratio, "              \
                                                         "reserved_host_memory_mb, "            \
                                                         "reserved_host_disk_gb, "              \
                                                         "reserved_host_cpus, running_vms, "    \
                                                         "tern_ms(created_at), "                \
                                                         "tern_ms(updated_at), "                \
                                                         "max_live_migrations"
void db_compute_node_from_row(const PGresult *res, int row, db_compute_node_t *ret_node);

/* instances.c, shared with migrations.c (switch-over). */
#define DB_INSTANCE_COLS                                                                         \
    "id, uuid, name, host, node, vm_state, task_state, power_state, memory_mb, vcpus, root_gb, " \
    "ephemeral_gb, flavor_name, image_ref, project_id, user_id, locked, priority, "              \
    "tern_ms(launched_at), tern_ms(created_at), tern_ms(updated_at), tern_ms(deleted_at), "      \
    "migration_support, never_pause"
void db_instance_from_row(const PGresult *res, int row, db_instance_t *ret_instance);
/* Set the error for a task_state compare-and-set that matched no row: NOT_FOUND, or CONFLICT
 * naming the current task_state. wanted NULL: the caller was clearing it. Returns -1. */
int db_instance_task_state_refused(db_conn_t *conn, const char *uuid, const char *expected,
                                   const char *wanted);

/* Embedded schema (generated from db/schema/NNN_name.sql by db/gen-schema.sh). */
typedef struct db_schema_file {
    int version;      /* NNN */
    const char *name; /* name */
    const char *sql;  /* the file's text */
} db_schema_file_t;

extern const db_schema_file_t db_schema_files[];
extern const size_t db_schema_n_files;

#endif /* TERN_DB_PRIVATE_H */
