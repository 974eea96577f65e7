/*
 * db/conn.c: database connections, the statement runner with its reconnect/retry rule,
 * transactions, PostgreSQL error translation, and the parameter/row helpers of db-private.h.
 *
 * The retry rule (see db/db.h): before a statement outside a transaction, pending input is
 * drained so that a server that closed the connection while we were idle (restart, immediate
 * shutdown) is noticed and the connection re-established before anything is sent; nothing can
 * have been executed then, so this holds for every statement. A connection lost while a
 * statement ran leaves its outcome unknown: only DB_RETRY_SAFE statements are sent again, once.
 */
#include "db/db-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* count: one more of the counter at offset (offsetof(db_stats_t, ...)) of conn's own stats and
 * of the shared ones it counts into (atomically: several threads' connections may share them). */
static void
count(db_conn_t *conn, size_t offset)
{
    uint64_t *own = (uint64_t *)((char *)&conn->stats + offset);

    (*own)++;
    if (conn->shared)
        __atomic_add_fetch((uint64_t *)((char *)conn->shared + offset), 1, __ATOMIC_RELAXED);
}

#define COUNT(conn, counter) count((conn), offsetof(db_stats_t, counter))

/* libpq's notices (and errors a server sends to an idle connection before closing it) would go
 * to stderr by default; a library must not print, so they are counted and dropped. */
static void
conn_notice_processor(void *arg, const char *message)
{
    (void)message;
    COUNT((db_conn_t *)arg, notices);
}

/* First line of libpq's error message for conn (messages end with "\n" and may have a hint). */
static char *
conn_error_line(PGconn *pg)
{
    const char *msg = pg ? PQerrorMessage(pg) : NULL;
    size_t len;

    if (tern_str_empty(msg))
        return tern_strdup("unknown error");
    len = strcspn(msg, "\n");
    return tern_strndup(msg, len);
}

/* Describe the connection target without the password: host=... port=... dbname=... user=... */
static char *
conn_describe(const char *conninfo)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    static const char *const keep[] = {"host", "hostaddr", "port", "dbname", "user"};
    char *out = tern_strdup("");

    if (!opts)
        return out;
    for (size_t k = 0; k < TERN_N_ELEMENTS(keep); k++) {
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            if (strcmp(o->keyword, keep[k]) != 0 || tern_str_empty(o->val))
                continue;
            char *next = tern_asprintf("%s%s%s=%s", out, *out ? " " : "", o->keyword, o->val);
            free(out);
            out = next;
        }
    }
    PQconninfoFree(opts);
    return out;
}

/* Accept SQLAlchemy-style "postgresql+driver://" URLs as written in nova-like configs. */
static char *
conn_normalise(const char *conninfo)
{
    const char *plus;

    if (strncmp(conninfo, "postgresql+", 11) == 0 || strncmp(conninfo, "postgres+", 9) == 0) {
        plus = strchr(conninfo, '+');
        const char *rest = strstr(plus, "://");
        if (rest)
            return tern_asprintf("%.*s%s", (int)(plus - conninfo), conninfo, rest);
    }
    return tern_strdup(conninfo);
}

static PGconn *
conn_connect(db_conn_t *conn, const char *conninfo)
{
    /* Defaults first: with expand_dbname the string's own settings override them. */
    /* Keepalives notice a server that vanished without closing (host down, partition). */
    const char *const keys[] = {
        "connect_timeout",     "fallback_application_name", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count",          "dbname",     NULL};
    const char *const values[] = {"10", "tern", "1", "30", "10", "3", conninfo, NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);

    if (pg)
        PQsetNoticeProcessor(pg, conn_notice_processor, conn);
    return pg;
}

db_conn_t *
db_open(const char *conninfo)
{
    TERN_AUTOFREE char *norm = NULL;
    TERN_AUTOFREE char *errmsg = NULL;
    char *perr = NULL;
    PQconninfoOption *opts;
    db_conn_t *conn;

    if (tern_str_empty(conninfo)) {
        tern_error_set(TERN_ERR_INVALID, "cannot connect to database: no connection string");
        return NULL;
    }
    norm = conn_normalise(conninfo);
    opts = PQconninfoParse(norm, &perr);
    if (!opts) {
        /* libpq's message may quote the string; do not repeat it, it may hold a password. */
        tern_error_set(TERN_ERR_INVALID, "invalid database connection string: %.*s",
                       perr ? (int)strcspn(perr, "\n") : 13, perr ? perr : "parse failure");
        PQfreemem(perr);
        return NULL;
    }
    PQconninfoFree(opts);

    conn = tern_calloc(1, sizeof(*conn));
    conn->conninfo = tern_steal_pointer(&norm);
    conn->masked = conn_describe(conn->conninfo);
    conn->pg = conn_connect(conn, conn->conninfo);
    if (!conn->pg || PQstatus(conn->pg) != CONNECTION_OK) {
        errmsg = conn_error_line(conn->pg);
        tern_error_set(TERN_ERR_UNAVAILABLE, "could not connect to database (%s): %s", conn->masked,
                       errmsg);
        db_close(conn);
        return NULL;
    }
    return conn;
}

db_conn_t *
db_open_retry(const char *conninfo, int max_retries, int interval_ms, db_retry_wait_fn wait,
              void *opaque)
{
    db_conn_t *conn;

    for (int attempt = 1;; attempt++) {
        if ((conn = db_open(conninfo)) || tern_error_code() != TERN_ERR_UNAVAILABLE)
            return conn;
        if (max_retries >= 0 && attempt > max_retries)
            return NULL;
        if (wait) {
            if (!wait(opaque, attempt, interval_ms))
                return NULL;
        } else {
            tern_sleep_ms(interval_ms);
        }
    }
}

void
db_close(db_conn_t *conn)
{
    if (!conn)
        return;
    if (conn->pg)
        PQfinish(conn->pg);
    free(conn->conninfo);
    free(conn->masked);
    free(conn);
}

void
db_count_into(db_conn_t *conn, db_stats_t *shared)
{
    conn->shared = shared;
}

void
db_conn_stats(const db_conn_t *conn, db_stats_t *ret)
{
    *ret = conn->stats;
}

void
db_stats_read(const db_stats_t *shared, db_stats_t *ret)
{
    ret->reconnects = __atomic_load_n(&shared->reconnects, __ATOMIC_RELAXED);
    ret->reconnects_failed = __atomic_load_n(&shared->reconnects_failed, __ATOMIC_RELAXED);
    ret->statements_retried = __atomic_load_n(&shared->statements_retried, __ATOMIC_RELAXED);
    ret->notices = __atomic_load_n(&shared->notices, __ATOMIC_RELAXED);
}

/* Re-establish a broken connection. -1 with UNAVAILABLE when the server cannot be reached. */
static int
conn_reset(db_conn_t *conn)
{
    TERN_AUTOFREE char *errmsg = NULL;

    PQreset(conn->pg);
    if (PQstatus(conn->pg) != CONNECTION_OK) {
        COUNT(conn, reconnects_failed);
        errmsg = conn_error_line(conn->pg);
        return tern_error_set(TERN_ERR_UNAVAILABLE, "could not reconnect to database (%s): %s",
                              conn->masked, errmsg);
    }
    PQsetNoticeProcessor(conn->pg, conn_notice_processor, conn);
    COUNT(conn, reconnects);
    return 0;
}

/* Make sure an idle connection is alive before sending: drain what the server sent while we
 * were idle (a termination notice, then end of file) and reconnect if it turns out closed. */
static int
conn_ensure(db_conn_t *conn)
{
    for (int i = 0; i < 3 && PQstatus(conn->pg) == CONNECTION_OK; i++) {
        if (!PQconsumeInput(conn->pg))
            break;
        PGnotify *n = PQnotifies(conn->pg);
        PQfreemem(n);
    }
    if (PQstatus(conn->pg) == CONNECTION_OK)
        return 0;
    return conn_reset(conn);
}

static bool
sqlstate_is(const char *state, const char *want)
{
    return state && strcmp(state, want) == 0;
}

/* Did this failure come from losing the connection (rather than from the statement)? */
static bool
conn_lost(db_conn_t *conn, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(conn->pg) != CONNECTION_OK)
        return true;
    if (!res)
        return true;
    if (state && strncmp(state, "08", 2) == 0)
        return true;
    /* admin_shutdown, crash_shutdown, cannot_connect_now */
    return sqlstate_is(state, "57P01") || sqlstate_is(state, "57P02") ||
           sqlstate_is(state, "57P03");
}

/* Translate a failed statement's result into a tern error "could not <what>: <reason>". */
static int
conn_set_error(db_conn_t *conn, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    TERN_AUTOFREE char *line = NULL;
    tern_error_code_t code = TERN_ERR_DB;

    if (!primary) {
        line = conn_error_line(conn->pg);
        primary = line;
    }
    if (!state)
        code = TERN_ERR_DB;
    else if (sqlstate_is(state, "23505"))
        code = TERN_ERR_CONFLICT;
    else if (sqlstate_is(state, "23503"))
        code = detail && strstr(detail, "is not present") ? TERN_ERR_NOT_FOUND : TERN_ERR_CONFLICT;
    else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
        code = TERN_ERR_INVALID; /* data exceptions, check and not-null violations */
    else if (sqlstate_is(state, "40001") || sqlstate_is(state, "40P01"))
        code = TERN_ERR_CONFLICT;
    else if (sqlstate_is(state, "57014") || sqlstate_is(state, "55P03"))
        code = TERN_ERR_TIMEOUT;
    else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        code = TERN_ERR_UNAVAILABLE;

    if (detail)
        return tern_error_set(code, "could not %s: %s (%s)", what, primary, detail);
    return tern_error_set(code, "could not %s: %s", what, primary);
}

PGresult *
db_exec(db_conn_t *conn, db_retry_t retry, const char *sql, const db_params_t *params,
        const char *what_fmt, ...)
{
    TERN_AUTOFREE char *what = NULL;
    TERN_AUTOFREE char *line = NULL;
    va_list ap;
    int nparams = params ? params->n : 0;
    const char *const *values = params ? params->values : NULL;

    va_start(ap, what_fmt);
    if (vasprintf(&what, what_fmt, ap) < 0)
        abort();
    va_end(ap);

    for (int attempt = 0;; attempt++) {
        PGresult *res;
        ExecStatusType st;

        if (!conn->in_txn && conn_ensure(conn) < 0) {
            tern_error_prefix("could not %s", what);
            return NULL;
        }
        res = PQexecParams(conn->pg, sql, nparams, NULL, values, NULL, NULL, 0);
        st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
            return res;

        if (!conn_lost(conn, res)) {
            conn_set_error(conn, res, what);
            PQclear(res);
            return NULL;
        }
        line = conn_error_line(conn->pg);
        PQclear(res);
        if (conn->in_txn) {
            conn->in_txn = false; /* the server rolled it back with the session */
            tern_error_set(TERN_ERR_UNAVAILABLE,
                           "could not %s: connection to database lost during a transaction, "
                           "which was rolled back: %s",
                           what, line);
            return NULL;
        }
        if (retry != DB_RETRY_SAFE || attempt > 0) {
            tern_error_set(TERN_ERR_UNAVAILABLE, "could not %s: connection to database lost%s: %s",
                           what, retry == DB_RETRY_SAFE ? " twice" : "; the outcome is unknown",
                           line);
            return NULL;
        }
        COUNT(conn, statements_retried);
        free(line);
        line = NULL;
    }
}

int
db_txn_begin(db_conn_t *conn, const char *what)
{
    DB_AUTORESULT *res = NULL;

    if (conn->in_txn)
        return tern_error_set(TERN_ERR_INTERNAL, "could not %s: a transaction is already open",
                              what);
    res = db_exec(conn, DB_RETRY_SAFE, "BEGIN", NULL, "%s", what);
    if (!res)
        return -1;
    conn->in_txn = true;
    return 0;
}

int
db_txn_commit(db_conn_t *conn, const char *what)
{
    PGresult *res;
    ExecStatusType st;
    TERN_AUTOFREE char *line = NULL;
    int rc = 0;

    /* Not through db_exec(): a COMMIT must never go to a fresh session, and when the connection
     * drops during it the transaction may or may not have committed. */
    res = PQexec(conn->pg, "COMMIT");
    conn->in_txn = false;
    st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK) {
        if (conn_lost(conn, res)) {
            line = conn_error_line(conn->pg);
            rc = tern_error_set(TERN_ERR_UNAVAILABLE,
                                "could not %s: connection to database lost while committing; "
                                "the outcome is unknown: %s",
                                what, line);
        } else {
            rc = conn_set_error(conn, res, what);
        }
    }
    PQclear(res);
    return rc;
}

void
db_txn_rollback(db_conn_t *conn)
{
    tern_error_t saved;

    if (!conn->in_txn)
        return;
    tern_error_copy(&saved);
    PQclear(PQexec(conn->pg, "ROLLBACK"));
    conn->in_txn = false;
    tern_error_restore(&saved);
}

int
db_ping(db_conn_t *conn)
{
    DB_AUTORESULT *res =
        db_exec(conn, DB_RETRY_SAFE, "SELECT 1", NULL, "reach database (%s)", conn->masked);

    return res ? 0 : -1;
}

void
db_result_freep(PGresult **res)
{
    if (*res)
        PQclear(*res);
    *res = NULL;
}

/* ---- parameters ---- */

static void
params_push(db_params_t *p, const char *value, char *owned)
{
    if (p->n >= DB_PARAMS_MAX)
        abort(); /* a statement with more parameters than the array holds: fix the array */
    p->values[p->n] = value;
    p->owned[p->n] = owned;
    p->n++;
}

void
db_params_text(db_params_t *p, const char *value)
{
    params_push(p, value, NULL);
}

void
db_params_int(db_params_t *p, int64_t value)
{
    char *s = tern_asprintf("%" PRId64, value);

    params_push(p, s, s);
}

void
db_params_double(db_params_t *p, double value)
{
    char *s = tern_asprintf("%.17g", value);

    params_push(p, s, s);
}

void
db_params_bool(db_params_t *p, bool value)
{
    params_push(p, value ? "t" : "f", NULL);
}

void
db_params_json(db_params_t *p, const json_t *value)
{
    char *s;

    if (!value) {
        params_push(p, NULL, NULL);
        return;
    }
    s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        abort(); /* out of memory: tern aborts on allocation failure */
    params_push(p, s, s);
}

void
db_params_clear(db_params_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        free(p->owned[i]);
    p->n = 0;
}

/* ---- rows ---- */

bool
db_is_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col);
}

char *
db_get_str(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : tern_strdup(PQgetvalue(res, row, col));
}

int64_t
db_get_int(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

double
db_get_double(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0.0 : strtod(PQgetvalue(res, row, col), NULL);
}

bool
db_get_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

json_t *
db_get_json(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    /* The server produced this text from a jsonb value, so it parses; NULL only on OOM. */
    return json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
}

void
db_get_uuid(const PGresult *res, int row, int col, char ret_uuid[DB_UUID_LEN])
{
    tern_strlcpy(ret_uuid, PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col),
                 DB_UUID_LEN);
}

int
db_check_uuid(const char *s, const char *what)
{
    if (!tern_uuid_valid(s))
        return tern_error_set(TERN_ERR_INVALID, "invalid %s uuid \"%s\"", what, s ? s : "(null)");
    return 0;
}

int
db_check_str(const char *s, const char *field, const char *what)
{
    if (tern_str_empty(s))
        return tern_error_set(TERN_ERR_INVALID, "cannot %s: %s is empty", what, field);
    return 0;
}
