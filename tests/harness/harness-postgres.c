/*
 * tests/harness/harness-postgres.c: the harness's private PostgreSQL 15 cluster.
 *
 * DIR/postgres/ holds data/ (initdb, owned by the OS user postgres), socket/ (the unix socket
 * directory), postgres.log (server output), initdb.log and server.pid (the postmaster, a session
 * leader). Settings for speed (fsync off, no full-page writes) are appended to postgresql.conf
 * so a restart from another process needs nothing but the data directory. Local socket
 * connections are trusted (the harness's own set-up as superuser); TCP needs scram passwords.
 *
 * Role names and database names cannot be bound as parameters in DDL: they are checked against
 * [a-z0-9_] and quoted with PQescapeIdentifier / PQescapeLiteral.
 */
#include "tests/harness/harness-private.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

#define POSTGRES_USER "postgres"

char *
harness_postgres_log_path(const char *dir)
{
    return tern_asprintf("%s/postgres/postgres.log", dir);
}

static void
postgres_env(const char *dir, harness_strv_t *env)
{
    TERN_AUTOFREE char *home = tern_asprintf("%s/postgres", dir);

    harness_strv_base_env(env, home, home);
}

/* copy_owned: the file from to the file to, mode mode, owned by the postgres user. */
static int
copy_owned(const char *from, const char *to, mode_t mode)
{
    TERN_AUTOFREE char *text = NULL;
    size_t len;

    if (tern_file_read_all(from, 1024 * 1024, &text, &len) < 0 ||
        harness_file_write(to, text, mode) < 0 || harness_chown(to, POSTGRES_USER) < 0)
        return tern_error_prefix("could not give PostgreSQL its TLS certificate");
    return 0;
}

int
harness_postgres_init(harness_services_t *svc)
{
    TERN_AUTOFREE char *top = tern_asprintf("%s/postgres", svc->dir);
    TERN_AUTOFREE char *data = tern_asprintf("%s/data", top);
    TERN_AUTOFREE char *sock = tern_asprintf("%s/socket", top);
    TERN_AUTOFREE char *pwfile = tern_asprintf("%s/pwfile", top);
    TERN_AUTOFREE char *pwarg = tern_asprintf("--pwfile=%s", pwfile);
    TERN_AUTOFREE char *conf_path = tern_asprintf("%s/postgresql.conf", data);
    TERN_AUTOFREE char *hba_path = tern_asprintf("%s/pg_hba.conf", data);
    TERN_AUTOFREE char *log = tern_asprintf("%s/initdb.log", top);
    TERN_AUTOFREE char *conf = NULL, *hba = NULL, *old = NULL, *pw = NULL;
    tern_command_result_t res = {0};
    harness_strv_t env = {0};
    size_t len;
    const char *argv[] = {HARNESS_POSTGRES_BIN "/initdb",
                          "-D",
                          data,
                          "-U",
                          POSTGRES_USER,
                          pwarg,
                          "--auth-local=trust",
                          "--auth-host=scram-sha-256",
                          "-E",
                          "UTF8",
                          "--locale=C",
                          "--no-sync",
                          NULL};
    int rc;

    if (harness_mkdir_owned(top, POSTGRES_USER, 0700) < 0 ||
        harness_mkdir_owned(sock, POSTGRES_USER, 0755) < 0)
        return -1;
    pw = tern_asprintf("%s\n", svc->postgres_password);
    if (harness_file_write(pwfile, pw, 0600) < 0 || harness_chown(pwfile, POSTGRES_USER) < 0)
        return -1;
    postgres_env(svc->dir, &env);
    rc = harness_run_as(POSTGRES_USER, (const char *const *)env.v, argv, 60000, &res);
    harness_strv_clear(&env);
    unlink(pwfile);
    if (res.out || res.err) {
        TERN_AUTOFREE char *text =
            tern_asprintf("%s%s", res.out ? res.out : "", res.err ? res.err : "");

        harness_file_write(log, text, 0644);
    }
    tern_command_result_clear(&res);
    if (rc < 0)
        return tern_error_prefix("could not initialise PostgreSQL in \"%s\" (see \"%s\")", data,
                                 log);

    /* TLS with the server certificate of harness_rabbitmq_init (localhost, 127.0.0.1 and the
     * extra address, signed by the harness's CA): sslmode=verify-full can be tested */
    {
        TERN_AUTOFREE char *crt_from = tern_asprintf("%s/rabbitmq/tls/server.pem", svc->dir);
        TERN_AUTOFREE char *key_from = tern_asprintf("%s/rabbitmq/tls/server.key", svc->dir);
        TERN_AUTOFREE char *crt = tern_asprintf("%s/server.crt", data);
        TERN_AUTOFREE char *key = tern_asprintf("%s/server.key", data);

        if (copy_owned(crt_from, crt, 0644) < 0 || copy_owned(key_from, key, 0600) < 0)
            return -1;
    }
    if (tern_file_read_all(conf_path, 4 * 1024 * 1024, &old, &len) < 0)
        return -1;
    conf = tern_asprintf("%s\n# tern test harness\nport = %d\nlisten_addresses = '127.0.0.1%s%s'\n"
                         "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                         "unix_socket_directories = '%s'\nfsync = off\n"
                         "full_page_writes = off\nmax_connections = 200\nlogging_collector = off\n"
                         "log_min_messages = warning\nlog_line_prefix = '%%m [%%p] '\n",
                         old, svc->postgres_port, svc->extra_listen ? "," : "",
                         svc->extra_listen ? svc->extra_listen : "", sock);
    if (harness_file_write(conf_path, conf, 0600) < 0 || harness_chown(conf_path, POSTGRES_USER))
        return -1;
    if (svc->extra_listen) {
        free(old);
        old = NULL;
        if (tern_file_read_all(hba_path, 4 * 1024 * 1024, &old, &len) < 0)
            return -1;
        /* TLS only from the testbed's network: a plain connection is refused */
        hba = tern_asprintf("%s\nhostssl all all %s/24 scram-sha-256\n", old, svc->extra_listen);
        if (harness_file_write(hba_path, hba, 0600) < 0 || harness_chown(hba_path, POSTGRES_USER))
            return -1;
    }
    return 0;
}

int
harness_postgres_launch(const harness_services_t *svc)
{
    TERN_AUTOFREE char *data = tern_asprintf("%s/postgres/data", svc->dir);
    TERN_AUTOFREE char *log = harness_postgres_log_path(svc->dir);
    TERN_AUTOFREE char *pid_path = tern_asprintf("%s/postgres/server.pid", svc->dir);
    const char *argv[] = {HARNESS_POSTGRES_BIN "/postgres", "-D", data, NULL};
    harness_strv_t env = {0};
    int rc;

    postgres_env(svc->dir, &env);
    rc = harness_proc_spawn(argv, (const char *const *)env.v, POSTGRES_USER, data, log, pid_path,
                            NULL);
    harness_strv_clear(&env);
    if (rc < 0)
        return tern_error_prefix("could not start PostgreSQL (see \"%s\")", log);
    return 0;
}

static void
notice_ignore(void *arg, const char *message)
{
}

/* postgres_connect_admin: a superuser connection over the unix socket (trust). */
static PGconn *
postgres_connect_admin(const harness_services_t *svc, const char *dbname)
{
    TERN_AUTOFREE char *sock = tern_asprintf("%s/postgres/socket", svc->dir);
    char port[16];
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *values[] = {sock, port, POSTGRES_USER, dbname, "10", NULL};
    PGconn *conn;

    snprintf(port, sizeof(port), "%d", svc->postgres_port);
    conn = PQconnectdbParams(keys, values, 0);
    if (PQstatus(conn) != CONNECTION_OK) {
        tern_error_set(TERN_ERR_DB, "could not connect to PostgreSQL on port %d as \"%s\": %s",
                       svc->postgres_port, POSTGRES_USER, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, notice_ignore, NULL); /* "does not exist, skipping" */
    return conn;
}

static int
postgres_exec(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = tern_error_set(TERN_ERR_DB, "could not run \"%.60s\": %s", sql,
                            PQresultErrorMessage(res));
    PQclear(res);
    return rc;
}

int
harness_postgres_wait(const harness_services_t *svc, int timeout_ms)
{
    TERN_AUTOFREE char *log = harness_postgres_log_path(svc->dir);
    TERN_AUTOFREE char *pid_path = tern_asprintf("%s/postgres/server.pid", svc->dir);
    TERN_AUTOFREE char *marker = tern_asprintf("%s/postgres", svc->dir);
    int64_t deadline = tern_now_monotonic_ms() + timeout_ms;
    char port[16];
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *values[] = {"127.0.0.1", port, POSTGRES_USER, "postgres", "2", NULL};

    snprintf(port, sizeof(port), "%d", svc->postgres_port);
    for (;;) {
        if (PQpingParams(keys, values, 0) == PQPING_OK)
            return 0;
        if (!harness_proc_alive(harness_pid_file_read(pid_path), marker)) {
            TERN_AUTOFREE char *tail = harness_log_tail(log, 400);

            return tern_error_set(TERN_ERR_UNAVAILABLE,
                                  "PostgreSQL on port %d exited during start-up (see \"%s\"): %s",
                                  svc->postgres_port, log, tail);
        }
        if (tern_now_monotonic_ms() > deadline)
            return tern_error_set(TERN_ERR_TIMEOUT,
                                  "PostgreSQL on port %d did not accept connections within %d ms "
                                  "(see \"%s\")",
                                  svc->postgres_port, timeout_ms, log);
        tern_sleep_ms(25);
    }
}

bool
harness_postgres_running(const harness_services_t *svc)
{
    char port[16];
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *values[] = {"127.0.0.1", port, POSTGRES_USER, "postgres", "2", NULL};

    snprintf(port, sizeof(port), "%d", svc->postgres_port);
    return PQpingParams(keys, values, 0) == PQPING_OK;
}

int
harness_postgres_setup(const harness_services_t *svc)
{
    PGconn *conn = postgres_connect_admin(svc, "postgres");
    char *pw = NULL, *sql = NULL;
    int rc = -1;

    if (!conn)
        return -1;
    pw = PQescapeLiteral(conn, svc->postgres_password, strlen(svc->postgres_password));
    if (!pw) {
        tern_error_set(TERN_ERR_DB, "could not quote a password: %s", PQerrorMessage(conn));
        goto cleanup;
    }
    sql = tern_asprintf("CREATE ROLE tern LOGIN CREATEDB PASSWORD %s", pw);
    if (postgres_exec(conn, sql) < 0 || postgres_exec(conn, "CREATE DATABASE tern OWNER tern") < 0)
        goto cleanup;
    rc = 0;

cleanup:
    free(sql);
    PQfreemem(pw);
    PQfinish(conn);
    return rc;
}

int
harness_postgres_stop_dir(const char *dir)
{
    TERN_AUTOFREE char *marker = tern_asprintf("%s/postgres", dir);
    TERN_AUTOFREE char *pid_path = tern_asprintf("%s/postgres/server.pid", dir);
    const char *pid_paths[] = {pid_path, NULL};

    /* SIGQUIT: immediate shutdown; the postmaster removes its pid file and shared memory */
    if (harness_proc_stop(marker, pid_paths, SIGQUIT, 5000) < 0)
        return tern_error_prefix("could not stop PostgreSQL in \"%s\"", dir);
    return 0;
}

int
harness_postgres_restart(const harness_services_t *svc)
{
    return harness_postgres_stop(svc) < 0 ? -1 : harness_postgres_start(svc);
}

int
harness_postgres_stop(const harness_services_t *svc)
{
    return harness_postgres_stop_dir(svc->dir);
}

int
harness_postgres_start(const harness_services_t *svc)
{
    if (harness_postgres_launch(svc) < 0)
        return -1;
    return harness_postgres_wait(svc, 30000);
}

static bool
name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

char *
harness_postgres_create_database(const harness_services_t *svc, const char *name)
{
    PGconn *conn;
    char *ident = NULL, *drop = NULL, *create = NULL, *url = NULL;

    if (!name_valid(name)) {
        tern_error_set(TERN_ERR_INVALID, "invalid database name \"%s\": use [a-z0-9_], 1-63",
                       name ? name : "");
        return NULL;
    }
    conn = postgres_connect_admin(svc, "postgres");
    if (!conn)
        return NULL;
    ident = PQescapeIdentifier(conn, name, strlen(name));
    if (!ident) {
        tern_error_set(TERN_ERR_DB, "could not quote \"%s\": %s", name, PQerrorMessage(conn));
        goto cleanup;
    }
    drop = tern_asprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
    create = tern_asprintf("CREATE DATABASE %s OWNER tern", ident);
    if (postgres_exec(conn, drop) < 0 || postgres_exec(conn, create) < 0) {
        tern_error_prefix("could not create database \"%s\"", name);
        goto cleanup;
    }
    url = tern_asprintf("postgresql://tern:%s@127.0.0.1:%d/%s", svc->postgres_password,
                        svc->postgres_port, name);

cleanup:
    PQfreemem(ident);
    free(drop);
    free(create);
    PQfinish(conn);
    return url;
}
