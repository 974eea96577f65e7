/*
 * db/db.h: tern's database access (PostgreSQL through libpq), the single source of truth about
 * which host runs which instance. Include this one header; it pulls in every table family:
 *
 *   db/services.h          services (daemons, heartbeats, enable/disable, forced down)
 *   db/compute_nodes.h     compute_nodes (resource reports of hypervisor nodes)
 *   db/instances.h         instances (and the atomic task_state transitions)
 *   db/migrations.h        migrations (status machine, progress, phases, switch-over)
 *   db/claims.h            resource_claims (memory/vcpus/disk held by in-flight migrations)
 *   db/instance_devices.h  volume_attachments, virtual_interfaces, security_group_rules
 *   db/actions.h           instance_actions (who asked what, when, how it ended)
 *
 * Connections. db_open() takes a libpq connection string, either key=value or a
 * postgresql://user:pass@host:port/db URI (the [database] connection option; an SQLAlchemy-style
 * "postgresql+psycopg2://" prefix is accepted too). Before each statement outside a transaction
 * the connection is checked and re-established if the server went away (e.g. restarted). A
 * statement that fails because the connection dropped while it ran is retried once on a new
 * connection when that is safe (reads and idempotent writes, as each function's comment says);
 * otherwise, and when reconnecting fails, the call fails with TERN_ERR_UNAVAILABLE and the
 * caller cannot know whether a write happened. Statements inside a transaction are never retried.
 *
 * Threads: a db_conn_t belongs to one thread at a time; use one connection per thread. Nothing
 * in db/ keeps global state, so different connections may be used concurrently.
 *
 * Errors (PostgreSQL's are translated here and no PG* type leaves db/):
 *   TERN_ERR_NOT_FOUND     the named row does not exist (or a referenced one, e.g. instance)
 *   TERN_ERR_CONFLICT      unique violation, or the row is in a state that forbids the change
 *                          (the message names the current state)
 *   TERN_ERR_CHECK_FAILED  a claim would overcommit the destination (message names host, numbers)
 *   TERN_ERR_INVALID       a value the schema refuses (bad uuid, check constraint, bad enum)
 *   TERN_ERR_UNAVAILABLE   the server cannot be reached (after the one safe retry)
 *   TERN_ERR_DB            any other database failure
 * Messages name the table and key: could not update instance "0f3c...": ...
 *
 * Data conventions shared by every family:
 *   - uuids are canonical lower-case strings held in char[DB_UUID_LEN] fields;
 *   - timestamps are int64_t milliseconds since the epoch, taken from the server's clock; 0 means
 *     "not set" (NULL in the table);
 *   - strings in result structs are owned by the struct (NULL where the column is NULL) and freed
 *     by the family's db_*_clear(); arrays returned by list functions are freed by db_*_list_free()
 *     (both accept NULL);
 *   - json_t fields in result structs hold one reference owned by the struct; json_t inputs are
 *     borrowed (the caller keeps its reference);
 *   - string inputs are borrowed and stored verbatim (quotes, backslashes, SQL fragments: every
 *     value travels as a statement parameter, never in the SQL text).
 */
#ifndef TERN_DB_H
#define TERN_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_UUID_LEN 37 /* 36 characters and the NUL */

typedef struct db_conn db_conn_t;

/* Connect to conninfo (borrowed; copied). Returns a new connection (free with db_close()), or
 * NULL with TERN_ERR_INVALID (malformed string) or TERN_ERR_UNAVAILABLE (server unreachable);
 * the message shows the connection string with its password masked. */
db_conn_t *db_open(const char *conninfo);

/* At start-up (oslo.db's max_retries / retry_interval): db_open(), and while the server is
 * unavailable (TERN_ERR_UNAVAILABLE) up to max_retries more attempts (-1: without end), each
 * after wait(opaque, attempt, interval_ms) returned true; wait sleeps (and may log the error in
 * flight); false gives up at once (a signal came), as does any other error. NULL wait sleeps
 * interval_ms. The last error is kept on failure. */
typedef bool (*db_retry_wait_fn)(void *opaque, int attempt, int interval_ms);
db_conn_t *db_open_retry(const char *conninfo, int max_retries, int interval_ms,
                         db_retry_wait_fn wait, void *opaque);

/* Close and free. Accepts NULL. */
void db_close(db_conn_t *conn);

/* Run "SELECT 1" (retried once). 0 when the server answers, -1 (UNAVAILABLE) otherwise. */
int db_ping(db_conn_t *conn);

/* What a connection got over on its own, which its callers never hear of as an error: counted
 * for a daemon to log or export (db/ logs nothing). */
typedef struct db_stats {
    uint64_t reconnects;         /* re-established: found closed while idle (server restarted),
                                  * or lost while a safe statement ran */
    uint64_t reconnects_failed;  /* attempts to re-establish that reached no server (the call
                                  * failed with UNAVAILABLE) */
    uint64_t statements_retried; /* safe statements sent again on a new connection after theirs
                                  * was lost while they ran */
    uint64_t notices;            /* notices the server sent (dropped: a library does not print) */
} db_stats_t;

/* Count into *shared too from now on (borrowed, until db_close; connections of several threads
 * may share one: it is updated atomically, read it with db_stats_read). NULL: no longer. */
void db_count_into(db_conn_t *conn, db_stats_t *shared);
/* This connection's own counters since db_open() (read by its thread). */
void db_conn_stats(const db_conn_t *conn, db_stats_t *ret);
/* A snapshot of counters that connections count into (db_count_into). */
void db_stats_read(const db_stats_t *shared, db_stats_t *ret);

/* ---- schema (applied by tern-manage db sync) ---- */

/* The newest schema version this build knows (the highest db/schema/NNN_*.sql). */
int db_schema_latest_version(void);

/* The version recorded in the database: 0 for an empty database (no tern_schema_version table).
 * Read-only; retried once. */
int db_schema_current_version(db_conn_t *conn, int *ret_version);

/* Apply every schema file newer than the database's version, in order, in one transaction that
 * holds an advisory lock (concurrent syncs wait for each other), recording each version.
 * Idempotent: on an up-to-date database it changes nothing. Refuses with TERN_ERR_CONFLICT,
 * changing nothing, when the database is newer than this build. ret_from/ret_to (may be NULL)
 * receive the versions before and after. */
int db_schema_sync(db_conn_t *conn, int *ret_from, int *ret_to);

/* For daemons at start-up: 0 when the database is exactly at db_schema_latest_version(),
 * otherwise -1 with TERN_ERR_CONFLICT saying which side is older and what to run. */
int db_schema_check(db_conn_t *conn);

#include "db/services.h"
#include "db/compute_nodes.h"
#include "db/capacity.h"
#include "db/instances.h"
#include "db/migrations.h"
#include "db/claims.h"
#include "db/instance_devices.h"
#include "db/actions.h"
#include "db/drains.h"

#endif /* TERN_DB_H */
