/*
 * tests/db/test-db.c: the db/ suite: connections, schema versioning, values stored verbatim,
 * surviving a PostgreSQL restart and a connection cut mid-statement; runner and shared helpers.
 * The table families' cases live in test-db-*.c.
 *
 * core:     opening (bad strings, unreachable server, password never shown), ping, start-up
 *           retries (given up after max_retries, at a signal, never for a bad string)
 * schema:   sync on an empty database, twice, concurrently; check; a newer database refused
 * quoting:  names with quotes, backslashes and SQL fragments round-trip verbatim
 * drop:     a connection cut while a statement waits: a safe one is retried once and succeeds,
 *           an unsafe one reports UNAVAILABLE, the next call reconnects
 * restart:  a private PostgreSQL restarted under open connections (reads and writes go on);
 *           a connection retried while it is down succeeds once it is up
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/db/test-db.h"

/* test_reconnects: how often conn was re-established (its own counter). */
static uint64_t
test_reconnects(const db_conn_t *conn)
{
    db_stats_t st;

    db_conn_stats(conn, &st);
    return st.reconnects;
}

const harness_services_t *test_svc;
char *test_db_url;

db_conn_t *
test_open(void)
{
    db_conn_t *conn = db_open(test_db_url);

    ck_assert_msg(conn != NULL, "db_open: %s", tern_error_message());
    return conn;
}

char *
test_name(const char *prefix)
{
    char uuid[37];

    tern_uuid_generate(uuid);
    uuid[8] = '\0';
    return tern_asprintf("%s-%s", prefix, uuid);
}

void
test_make_instance(db_conn_t *conn, const char *host, const char *node, char ret_uuid[DB_UUID_LEN])
{
    test_make_instance_of(conn, host, node, 256, ret_uuid);
}

void
test_make_instance_of(db_conn_t *conn, const char *host, const char *node, int64_t memory_mb,
                      char ret_uuid[DB_UUID_LEN])
{
    db_instance_t in = {0}, out = {0};

    in.name = (char *)"test-vm";
    in.host = (char *)host;
    in.node = (char *)node;
    in.vm_state = (char *)DB_VM_STATE_ACTIVE;
    in.power_state = DB_POWER_RUNNING;
    in.memory_mb = memory_mb;
    in.vcpus = 1;
    in.root_gb = 1;
    in.project_id = (char *)"project-a";
    in.user_id = (char *)"user-a";
    CK_OK(db_instance_create(conn, &in, &out));
    tern_strlcpy(ret_uuid, out.uuid, DB_UUID_LEN);
    db_instance_clear(&out);
}

void
test_make_node(db_conn_t *conn, const char *host, const char *node, int64_t memory_mb,
               int64_t reserved_mb)
{
    db_compute_node_t r = {0};

    r.host = (char *)host;
    r.hypervisor_hostname = (char *)node;
    r.hypervisor_type = (char *)"QEMU";
    r.hypervisor_version = 10000002;
    r.vcpus = 8;
    r.memory_mb = memory_mb;
    r.free_ram_mb = memory_mb;
    r.local_gb = 100;
    r.ram_allocation_ratio = 1.0;
    r.reserved_host_memory_mb = reserved_mb;
    CK_OK(db_compute_node_upsert(conn, &r, NULL));
}

void
test_make_migration(db_conn_t *conn, const char *instance_uuid, const char *src, const char *dest,
                    const char *dest_node, char ret_uuid[DB_UUID_LEN])
{
    db_migration_t m = {0}, out = {0};

    tern_strlcpy(m.instance_uuid, instance_uuid, sizeof(m.instance_uuid));
    m.source_compute = (char *)src;
    m.dest_compute = (char *)dest;
    m.dest_node = (char *)dest_node;
    CK_OK(db_migration_create(conn, &m, &out));
    tern_strlcpy(ret_uuid, out.uuid, DB_UUID_LEN);
    db_migration_clear(&out);
}

/* ---- core ---- */

START_TEST(test_open_bad_string_is_invalid)
{
    tern_error_reset();
    ck_assert_ptr_null(db_open("host=127.0.0.1 port='unterminated"));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    tern_error_reset();
    ck_assert_ptr_null(db_open(""));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
}
END_TEST

START_TEST(test_open_unreachable_is_unavailable_and_masks_password)
{
    /* Port 1 on loopback: nothing listens there. */
    tern_error_reset();
    ck_assert_ptr_null(db_open("postgresql://tern:s3cr3t-pw@127.0.0.1:1/tern?connect_timeout=3"));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    ck_assert_ptr_null(strstr(tern_error_message(), "s3cr3t-pw"));
    CK_MSG_HAS("could not connect to database");
    CK_MSG_HAS("port=1");
}
END_TEST

START_TEST(test_open_accepts_sqlalchemy_url_and_pings)
{
    TERN_AUTOFREE char *url = NULL;
    db_conn_t *conn;

    ck_assert(strncmp(test_db_url, "postgresql://", 13) == 0);
    url = tern_asprintf("postgresql+psycopg2://%s", test_db_url + 13);
    conn = db_open(url);
    ck_assert_msg(conn != NULL, "%s", tern_error_message());
    CK_OK(db_ping(conn));
    ck_assert_uint_eq(test_reconnects(conn), 0);
    db_close(conn);
    db_close(NULL);
}
END_TEST

/* ---- schema ---- */

static db_conn_t *
open_fresh(const char *name)
{
    TERN_AUTOFREE char *url = harness_postgres_create_database(test_svc, name);
    db_conn_t *conn;

    ck_assert_msg(url != NULL, "%s", tern_error_message());
    conn = db_open(url);
    ck_assert_msg(conn != NULL, "%s", tern_error_message());
    return conn;
}

START_TEST(test_schema_sync_empty_then_twice)
{
    db_conn_t *conn = open_fresh("db_schema_twice");
    int from = -1, to = -1, version = -1;

    CK_OK(db_schema_current_version(conn, &version));
    ck_assert_int_eq(version, 0);
    CK_FAILS(db_schema_check(conn), TERN_ERR_CONFLICT);
    CK_MSG_HAS("tern-manage db sync");

    CK_OK(db_schema_sync(conn, &from, &to));
    ck_assert_int_eq(from, 0);
    ck_assert_int_eq(to, db_schema_latest_version());
    CK_OK(db_schema_current_version(conn, &version));
    ck_assert_int_eq(version, db_schema_latest_version());
    CK_OK(db_schema_check(conn));

    CK_OK(db_schema_sync(conn, &from, &to));
    ck_assert_int_eq(from, db_schema_latest_version());
    ck_assert_int_eq(to, db_schema_latest_version());
    CK_OK(db_schema_check(conn));
    db_close(conn);
}
END_TEST

START_TEST(test_schema_newer_database_refused)
{
    TERN_AUTOFREE char *url = harness_postgres_create_database(test_svc, "db_schema_newer");
    TERN_AUTOFREE char *future = tern_asprintf("%d", db_schema_latest_version() + 1);
    const char *params[] = {future};
    db_conn_t *conn;
    PGconn *pg;
    PGresult *res;
    int version = -1;

    ck_assert_msg(url != NULL, "%s", tern_error_message());
    conn = db_open(url);
    ck_assert_msg(conn != NULL, "%s", tern_error_message());
    CK_OK(db_schema_sync(conn, NULL, NULL));

    /* Pretend a newer tern synced this database. */
    pg = PQconnectdb(url);
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    res = PQexecParams(pg, "INSERT INTO tern_schema_version (version, name) VALUES ($1, 'future')",
                       1, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(pg);

    CK_FAILS(db_schema_sync(conn, NULL, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("newer");
    CK_FAILS(db_schema_check(conn), TERN_ERR_CONFLICT);
    CK_MSG_HAS("upgrade tern");
    CK_OK(db_schema_current_version(conn, &version));
    ck_assert_int_eq(version, db_schema_latest_version() + 1);
    db_close(conn);
}
END_TEST

typedef struct sync_thread {
    const char *url;
    int rc;
    tern_error_t err;
} sync_thread_t;

static void *
sync_thread_run(void *arg)
{
    sync_thread_t *t = arg;
    db_conn_t *conn = db_open(t->url);

    t->rc = conn ? db_schema_sync(conn, NULL, NULL) : -1;
    tern_error_copy(&t->err);
    db_close(conn);
    return NULL;
}

START_TEST(test_schema_concurrent_syncs_serialise)
{
    TERN_AUTOFREE char *url = harness_postgres_create_database(test_svc, "db_schema_race");
    sync_thread_t t[3] = {{.url = url}, {.url = url}, {.url = url}};
    pthread_t th[3];
    db_conn_t *conn;
    int version;

    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, sync_thread_run, &t[i]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(t[i].rc == 0, "sync %d failed: %s", i, t[i].err.message);
    }
    conn = db_open(url);
    ck_assert_ptr_nonnull(conn);
    CK_OK(db_schema_current_version(conn, &version));
    ck_assert_int_eq(version, db_schema_latest_version());
    db_close(conn);
}
END_TEST

/* ---- quoting ---- */

static const char *const nasty[] = {
    "Robert'); DROP TABLE instances;--", "it's \"quoted\" \\ back\\slash $1 %s %n",
    "'; SELECT pg_sleep(10); --",        "ünïcødé ✓ 名前",
    "$$ dollar $$ E'\\x00' \\N NULL",
};

START_TEST(test_nasty_strings_round_trip_verbatim)
{
    db_conn_t *conn = test_open();
    const char *s = nasty[_i];
    TERN_AUTOFREE char *host = tern_asprintf("%s-host-%d", s, _i);
    TERN_AUTOFREE char *bin = test_name("tern-compute");
    db_instance_t in = {0}, out = {0}, *list = NULL;
    db_service_t svc = {0};
    db_migration_t mig = {0};
    char mig_uuid[DB_UUID_LEN];
    size_t n = 0;

    in.name = (char *)s;
    in.host = host;
    in.node = (char *)s;
    in.flavor_name = (char *)s;
    in.image_ref = (char *)s;
    in.project_id = (char *)s;
    in.user_id = (char *)s;
    in.memory_mb = 128;
    in.vcpus = 1;
    CK_OK(db_instance_create(conn, &in, &out));
    ck_assert_str_eq(out.name, s);
    db_instance_clear(&out);

    CK_OK(
        db_instance_list(conn, &(db_instance_filter_t){.host = host, .project_id = s}, &list, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].name, s);
    ck_assert_str_eq(list[0].host, host);
    ck_assert_str_eq(list[0].node, s);
    ck_assert_str_eq(list[0].flavor_name, s);
    ck_assert_str_eq(list[0].image_ref, s);
    ck_assert_str_eq(list[0].user_id, s);

    CK_OK(db_service_upsert(conn, host, bin, s, 1, NULL));
    CK_OK(db_service_set_disabled(conn, host, bin, true, s));
    CK_OK(db_service_get(conn, host, bin, 60, &svc));
    ck_assert_str_eq(svc.host, host);
    ck_assert_str_eq(svc.topic, s);
    ck_assert_str_eq(svc.disabled_reason, s);
    db_service_clear(&svc);

    test_make_migration(conn, list[0].uuid, host, s, s, mig_uuid);
    CK_OK(db_migration_set_status(conn, mig_uuid, DB_MIGRATION_ERROR, s));
    CK_OK(db_migration_get(conn, mig_uuid, &mig));
    ck_assert_str_eq(mig.error_message, s);
    ck_assert_str_eq(mig.dest_compute, s);
    db_migration_clear(&mig);
    db_instance_list_free(list, n);

    /* The tables are all still there. */
    CK_OK(db_instance_list(conn, NULL, &list, &n));
    ck_assert_uint_ge(n, 1);
    db_instance_list_free(list, n);
    db_close(conn);
}
END_TEST

/* ---- drop: a connection cut while its statement waits for a lock ---- */

typedef struct victim {
    db_conn_t *conn;
    int (*call)(struct victim *v);
    const char *host;
    const char *uuid;
    int rc;
    tern_error_t err;
} victim_t;

static void *
victim_run(void *arg)
{
    victim_t *v = arg;

    v->rc = v->call(v);
    tern_error_copy(&v->err);
    return NULL;
}

static int
victim_upsert_node(victim_t *v)
{
    db_compute_node_t r = {.host = (char *)v->host,
                           .hypervisor_hostname = (char *)"node1",
                           .hypervisor_type = (char *)"QEMU",
                           .memory_mb = 999};

    return db_compute_node_upsert(v->conn, &r, NULL);
}

static int
victim_begin_task(victim_t *v)
{
    return db_instance_task_state_begin(v->conn, v->uuid, NULL, DB_TASK_STATE_MIGRATING, NULL);
}

static PGresult *
pg_run(PGconn *pg, const char *sql, const char *param)
{
    const char *params[1] = {param};
    PGresult *res = PQexecParams(pg, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);

    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
                  "\"%s\": %s", sql, PQresultErrorMessage(res));
    return res;
}

/* Hold lock_sql's row lock in pg, run v in a thread until its backend waits for the lock,
 * terminate that backend, release the lock, and wait for v. */
static void
cut_while_waiting(PGconn *pg, const char *lock_sql, const char *lock_param, const char *appname,
                  victim_t *v)
{
    pthread_t th;
    bool waiting = false;

    PQclear(pg_run(pg, "BEGIN", NULL));
    PQclear(pg_run(pg, lock_sql, lock_param));
    ck_assert_int_eq(pthread_create(&th, NULL, victim_run, v), 0);
    for (int i = 0; i < 200 && !waiting; i++) {
        PGresult *res = pg_run(pg,
                               "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                               " WHERE application_name = $1 AND wait_event_type = 'Lock'",
                               appname);
        waiting = PQntuples(res) == 1;
        PQclear(res);
        if (!waiting)
            tern_sleep_ms(50);
    }
    PQclear(pg_run(pg, "ROLLBACK", NULL));
    pthread_join(th, NULL);
    ck_assert_msg(waiting, "the victim's statement never waited for the lock");
}

START_TEST(test_cut_connection_safe_retried_unsafe_reported)
{
    TERN_AUTOFREE char *appname = test_name("victim");
    TERN_AUTOFREE char *url = tern_asprintf("%s?application_name=%s", test_db_url, appname);
    TERN_AUTOFREE char *host = test_name("host");
    db_conn_t *setup = test_open();
    PGconn *pg = PQconnectdb(test_db_url);
    victim_t v = {0};
    db_compute_node_t node = {0};
    db_instance_t inst = {0};
    char uuid[DB_UUID_LEN];

    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    test_make_node(setup, host, "node1", 4096, 0);
    test_make_instance(setup, host, "node1", uuid);
    db_stats_t shared = {0}, st;

    v.conn = db_open(url);
    ck_assert_ptr_nonnull(v.conn);
    db_count_into(v.conn, &shared);
    v.host = host;
    v.uuid = uuid;

    /* A safe (idempotent) write: retried once on a new connection, succeeds. */
    v.call = victim_upsert_node;
    cut_while_waiting(pg, "SELECT 1 FROM compute_nodes WHERE host = $1 FOR UPDATE", host, appname,
                      &v);
    ck_assert_msg(v.rc == 0, "safe statement not retried: %s", v.err.message);
    ck_assert_uint_eq(test_reconnects(v.conn), 1);
    db_conn_stats(v.conn, &st);
    ck_assert_uint_eq(st.statements_retried, 1);
    CK_OK(db_compute_node_get(setup, host, "node1", &node));
    ck_assert_int_eq(node.memory_mb, 999);
    db_compute_node_clear(&node);

    /* An unsafe compare-and-set: reported as UNAVAILABLE, not repeated. */
    v.call = victim_begin_task;
    cut_while_waiting(pg, "SELECT 1 FROM instances WHERE uuid = $1 FOR UPDATE", uuid, appname, &v);
    ck_assert_int_eq(v.rc, -1);
    ck_assert_msg(v.err.code == TERN_ERR_UNAVAILABLE, "got %s: %s",
                  tern_error_code_name(v.err.code), v.err.message);
    ck_assert_msg(strstr(v.err.message, "outcome is unknown"), "%s", v.err.message);
    CK_OK(db_instance_get(setup, uuid, &inst));
    ck_assert_ptr_null(inst.task_state); /* it was not executed twice, nor once */
    db_instance_clear(&inst);

    /* The next call reconnects and works. */
    CK_OK(db_instance_task_state_begin(v.conn, uuid, NULL, DB_TASK_STATE_MIGRATING, NULL));
    ck_assert_uint_eq(test_reconnects(v.conn), 2);
    /* the unsafe statement was not retried; what the connection counted, the shared stats did */
    db_conn_stats(v.conn, &st);
    ck_assert_uint_eq(st.statements_retried, 1);
    db_stats_read(&shared, &st);
    ck_assert_uint_eq(st.reconnects, 2);
    ck_assert_uint_eq(st.statements_retried, 1);
    ck_assert_uint_eq(st.reconnects_failed, 0);

    db_close(v.conn);
    db_close(setup);
    PQfinish(pg);
}
END_TEST

/* ---- restart: a private PostgreSQL ---- */

static char restart_dir[] = "/tmp/tern-db-restart.XXXXXX";
static harness_services_t *restart_svc;

static void
restart_setup(void)
{
    if (!mkdtemp(restart_dir) || harness_services_start(restart_dir, NULL, &restart_svc) < 0) {
        fprintf(stderr, "could not start services for the restart tests: %s\n",
                tern_error_message());
        restart_svc = NULL;
    }
}

static void
restart_teardown(void)
{
    harness_services_stop(restart_dir);
    harness_services_free(restart_svc);
    restart_svc = NULL;
    harness_services_remove(restart_dir);
}

START_TEST(test_postgres_restart_survived)
{
    TERN_AUTOFREE char *url = NULL;
    db_conn_t *conn, *other;
    db_instance_t inst = {0};
    char uuid[DB_UUID_LEN], uuid2[DB_UUID_LEN];

    ck_assert_msg(restart_svc != NULL, "the restart fixture could not start the services");
    url = harness_postgres_create_database(restart_svc, "db_restart");
    ck_assert_msg(url != NULL, "%s", tern_error_message());
    conn = db_open(url);
    ck_assert_ptr_nonnull(conn);
    other = db_open(url);
    ck_assert_ptr_nonnull(other);
    CK_OK(db_schema_sync(conn, NULL, NULL));
    test_make_instance(conn, "host-r", "node-r", uuid);

    /* A read after a restart. */
    CK_OK(harness_postgres_restart(restart_svc));
    CK_OK(db_instance_get(conn, uuid, &inst));
    ck_assert_str_eq(inst.uuid, uuid);
    db_instance_clear(&inst);
    ck_assert_uint_eq(test_reconnects(conn), 1);

    /* Non-idempotent writes after a restart: the dead connection is noticed before sending. */
    CK_OK(harness_postgres_restart(restart_svc));
    CK_OK(db_instance_task_state_begin(conn, uuid, NULL, DB_TASK_STATE_MIGRATING, NULL));
    test_make_instance(other, "host-r", "node-r", uuid2);
    ck_assert_uint_eq(test_reconnects(conn), 2);
    ck_assert_uint_eq(test_reconnects(other), 1);
    CK_OK(db_instance_get(other, uuid, &inst));
    ck_assert_str_eq(inst.task_state, DB_TASK_STATE_MIGRATING);
    db_instance_clear(&inst);

    /* A transaction after a restart. */
    CK_OK(harness_postgres_restart(restart_svc));
    CK_OK(db_schema_sync(conn, NULL, NULL));

    /* The server away: the attempt to reconnect fails, is counted, and the call says why. */
    {
        db_stats_t st;

        CK_OK(harness_postgres_stop(restart_svc));
        ck_assert_int_eq(db_ping(other), -1);
        ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
        db_conn_stats(other, &st);
        ck_assert_uint_ge(st.reconnects_failed, 1);
        CK_OK(harness_postgres_start(restart_svc));
        CK_OK(db_ping(other));
        db_conn_stats(other, &st);
        ck_assert_uint_eq(st.reconnects, 2);
    }
    db_close(conn);
    db_close(other);
}
END_TEST

/* ---- start-up retries ([database] max_retries / retry_interval) ---- */

typedef struct retry_probe {
    int calls;                     /* wait() calls */
    int last_attempt, interval_ms; /* as wait() was told */
    int start_at;                  /* attempt after which PostgreSQL is started; 0 never */
    const harness_services_t *svc; /* whose server */
    bool give_up_at_first;         /* wait() returns false (a signal came) */
} retry_probe_t;

static bool
retry_wait(void *opaque, int attempt, int interval_ms)
{
    retry_probe_t *p = opaque;

    p->calls++;
    p->last_attempt = attempt;
    p->interval_ms = interval_ms;
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE); /* the error in flight */
    if (p->start_at && attempt == p->start_at)
        CK_OK(harness_postgres_start(p->svc));
    return !p->give_up_at_first;
}

START_TEST(test_open_retry_gives_up_after_max_retries)
{
    retry_probe_t probe = {0};
    int64_t t0 = tern_now_monotonic_ms();

    ck_assert_ptr_null(db_open_retry("postgresql://tern:x@127.0.0.1:1/tern?connect_timeout=3", 2,
                                     50, retry_wait, &probe));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    ck_assert_int_eq(probe.calls, 2); /* three attempts, two waits */
    ck_assert_int_eq(probe.last_attempt, 2);
    ck_assert_int_eq(probe.interval_ms, 50);
    /* a signal during the wait gives up at once */
    memset(&probe, 0, sizeof(probe));
    probe.give_up_at_first = true;
    ck_assert_ptr_null(
        db_open_retry("postgresql://tern:x@127.0.0.1:1/tern", -1, 50, retry_wait, &probe));
    ck_assert_int_eq(probe.calls, 1);
    /* no retries: one attempt; a bad string is never retried; NULL wait sleeps */
    memset(&probe, 0, sizeof(probe));
    ck_assert_ptr_null(
        db_open_retry("postgresql://tern:x@127.0.0.1:1/tern", 0, 50, retry_wait, &probe));
    ck_assert_int_eq(probe.calls, 0);
    ck_assert_ptr_null(db_open_retry("port='unterminated", 5, 50, retry_wait, &probe));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_int_eq(probe.calls, 0);
    t0 = tern_now_monotonic_ms();
    ck_assert_ptr_null(db_open_retry("postgresql://tern:x@127.0.0.1:1/tern", 2, 100, NULL, NULL));
    ck_assert_int_ge(tern_now_monotonic_ms() - t0, 200);
}
END_TEST

/* A conductor started before PostgreSQL: the retries find the server once it is up. */
START_TEST(test_open_retry_waits_for_the_server)
{
    TERN_AUTOFREE char *url = NULL;
    retry_probe_t probe = {.start_at = 2, .svc = restart_svc};
    db_conn_t *conn;

    ck_assert_msg(restart_svc != NULL, "the restart fixture could not start the services");
    url = harness_postgres_create_database(restart_svc, "db_retry");
    ck_assert_msg(url != NULL, "%s", tern_error_message());
    CK_OK(harness_postgres_stop(restart_svc));
    conn = db_open_retry(url, -1, 100, retry_wait, &probe);
    ck_assert_msg(conn != NULL, "%s", tern_error_message());
    ck_assert_int_eq(probe.calls, 2); /* refused twice, then the server was there */
    CK_OK(db_ping(conn));
    db_close(conn);
}
END_TEST

static TCase *
case_core(void)
{
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_open_bad_string_is_invalid);
    tcase_add_test(tc, test_open_unreachable_is_unavailable_and_masks_password);
    tcase_add_test(tc, test_open_accepts_sqlalchemy_url_and_pings);
    tcase_add_test(tc, test_open_retry_gives_up_after_max_retries);
    return tc;
}

static TCase *
case_schema(void)
{
    TCase *tc = tcase_create("schema");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_schema_sync_empty_then_twice);
    tcase_add_test(tc, test_schema_newer_database_refused);
    tcase_add_test(tc, test_schema_concurrent_syncs_serialise);
    return tc;
}

static TCase *
case_quoting(void)
{
    TCase *tc = tcase_create("quoting");

    tcase_add_loop_test(tc, test_nasty_strings_round_trip_verbatim, 0, (int)TERN_N_ELEMENTS(nasty));
    return tc;
}

static TCase *
case_drop(void)
{
    TCase *tc = tcase_create("drop");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cut_connection_safe_retried_unsafe_reported);
    return tc;
}

static TCase *
case_restart(void)
{
    TCase *tc = tcase_create("restart");

    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, restart_setup, restart_teardown);
    tcase_add_test(tc, test_postgres_restart_survived);
    tcase_add_test(tc, test_open_retry_waits_for_the_server);
    return tc;
}

/* prepare: the run's services, the suite's database at the current schema, tern-manage. */
static int
prepare(void)
{
    db_conn_t *conn;

    test_svc = harness_services_get();
    test_db_url = harness_postgres_create_database(test_svc, "db_suite");
    if (!test_db_url)
        return tern_error_prefix("could not create the suite's database");
    conn = db_open(test_db_url);
    if (!conn || db_schema_sync(conn, NULL, NULL) < 0) {
        db_close(conn);
        return tern_error_prefix("could not sync the suite's database");
    }
    db_close(conn);
    if (tern_check_case_runs("manage_sync") || tern_check_case_runs("manage_errors"))
        return test_manage_prepare();
    return 0;
}

static void
release(void)
{
    test_manage_release();
    free(test_db_url);
}

int
main(void)
{
    static const tern_check_case_fn cases[] = {
        case_core,
        case_schema,
        case_quoting,
        test_db_case_services,
        test_db_case_instances,
        test_db_case_migrations,
        test_db_case_outcomes,
        test_db_case_claims,
        test_db_case_devices,
        test_db_case_actions,
        test_db_case_drains,
        case_drop,
        case_restart,
        test_db_case_manage_sync,
        test_db_case_manage_errors,
        test_db_case_tls,
    };

    return tern_check_run("db", cases, TERN_N_ELEMENTS(cases), prepare, release);
}
