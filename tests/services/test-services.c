/*
 * tests/services/test-services.c: the harness's own suite: the real PostgreSQL and RabbitMQ it
 * provides work, survive restarts, and leave no process behind when stopped.
 *
 * core:    the shared services of the run (harness_services_get): a libpq query, a fresh
 *          database per name, an AMQP round trip over TCP and TLS, the user-id check, users.
 * restart: private services of its own (started in the unchecked fixture, in the parent), so
 *          restarting them never disturbs other suites running against the shared ones.
 * stop:    private services started and stopped inside the test, also after a simulated crash.
 */
#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/harness/harness.h"
#include "tests/support/tern-check.h"

/* ---- helpers ---- */

static void
notice_ignore(void *arg, const char *message)
{
}

static PGconn *
pg_connect(const char *url)
{
    PGconn *conn = PQconnectdb(url);

    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "could not connect to \"%s\": %s", url,
                  PQerrorMessage(conn));
    PQsetNoticeProcessor(conn, notice_ignore, NULL);
    return conn;
}

/* pg_value: the single value of a one-row query (caller frees), NULL when the query fails. */
static char *
pg_value(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    char *value = NULL;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        value = tern_strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return value;
}

static void
pg_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);

    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "\"%s\" failed: %s", sql,
                  PQresultErrorMessage(res));
    PQclear(res);
}

/* amqp_open: a logged-in connection with channel 1 open, or NULL (login refused / no broker).
 * tls: connect to the TLS port with the harness's CA and client certificate. */
static amqp_connection_state_t
amqp_open(const harness_services_t *svc, const char *user, const char *password, bool tls)
{
    amqp_connection_state_t conn = amqp_new_connection();
    struct timeval tv = {.tv_sec = 5};
    amqp_socket_t *sock;
    amqp_rpc_reply_t reply;

    if (tls) {
        sock = amqp_ssl_socket_new(conn);
        ck_assert_ptr_nonnull(sock);
        ck_assert_int_eq(amqp_ssl_socket_set_cacert(sock, svc->tls_ca_file), AMQP_STATUS_OK);
        ck_assert_int_eq(amqp_ssl_socket_set_key(sock, svc->tls_client_cert, svc->tls_client_key),
                         AMQP_STATUS_OK);
        amqp_ssl_socket_set_verify_peer(sock, 1);
        amqp_ssl_socket_set_verify_hostname(sock, 1);
    } else {
        sock = amqp_tcp_socket_new(conn);
        ck_assert_ptr_nonnull(sock);
    }
    amqp_set_handshake_timeout(conn, &tv);
    amqp_set_rpc_timeout(conn, &tv);
    /* TLS: the name the certificate carries (librabbitmq checks DNS names, not IP addresses) */
    if (amqp_socket_open_noblock(sock, tls ? "localhost" : "127.0.0.1",
                                 tls ? svc->rabbitmq_tls_port : svc->rabbitmq_port,
                                 &tv) != AMQP_STATUS_OK)
        goto fail;
    reply = amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, user, password);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL)
        goto fail;
    amqp_channel_open(conn, 1);
    if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL)
        goto fail;
    return conn;
fail:
    amqp_destroy_connection(conn);
    return NULL;
}

static void
amqp_close_all(amqp_connection_state_t conn)
{
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
}

static void
queue_declare(amqp_connection_state_t conn, const char *queue, bool durable)
{
    amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, durable, 0, !durable,
                       amqp_empty_table);
    ck_assert_msg(amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL,
                  "could not declare queue \"%s\"", queue);
}

/* publish: to the default exchange; user_id NULL for none; persistent delivery mode. */
static void
publish(amqp_connection_state_t conn, const char *queue, const char *body, const char *user_id)
{
    amqp_basic_properties_t props = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG, .delivery_mode = 2};

    if (user_id) {
        props._flags |= AMQP_BASIC_USER_ID_FLAG;
        props.user_id = amqp_cstring_bytes(user_id);
    }
    ck_assert_int_eq(amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0,
                                        &props, amqp_cstring_bytes(body)),
                     AMQP_STATUS_OK);
}

/* get_body: basic.get one message from queue (auto-ack); a copy of its body or NULL when the
 * queue is empty or the channel failed. */
static char *
get_body(amqp_connection_state_t conn, const char *queue)
{
    amqp_rpc_reply_t reply = amqp_basic_get(conn, 1, amqp_cstring_bytes(queue), 1);
    amqp_message_t msg;
    char *body;

    if (reply.reply_type != AMQP_RESPONSE_NORMAL || reply.reply.id != AMQP_BASIC_GET_OK_METHOD)
        return NULL;
    if (amqp_read_message(conn, 1, &msg, 0).reply_type != AMQP_RESPONSE_NORMAL)
        return NULL;
    body = tern_strndup(msg.body.bytes, msg.body.len);
    amqp_destroy_message(&msg);
    return body;
}

/* get_body_wait: get_body, retried for up to 5 s (a publish is asynchronous). */
static char *
get_body_wait(amqp_connection_state_t conn, const char *queue)
{
    for (int i = 0; i < 100; i++) {
        char *body = get_body(conn, queue);

        if (body)
            return body;
        tern_sleep_ms(50);
    }
    return NULL;
}

/* ---- core: the shared services ---- */

START_TEST(test_postgres_query)
{
    const harness_services_t *svc = harness_services_get();
    PGconn *conn = pg_connect(svc->postgres_url);
    TERN_AUTOFREE char *user = pg_value(conn, "SELECT current_user");
    TERN_AUTOFREE char *sum = pg_value(conn, "SELECT 20 + 22");
    TERN_AUTOFREE char *db = pg_value(conn, "SELECT current_database()");

    ck_assert_str_eq(user, "tern");
    ck_assert_str_eq(sum, "42");
    ck_assert_str_eq(db, "tern");
    PQfinish(conn);
}
END_TEST

START_TEST(test_postgres_create_database_is_fresh)
{
    const harness_services_t *svc = harness_services_get();
    TERN_AUTOFREE char *url = harness_postgres_create_database(svc, "harness_fresh");
    TERN_AUTOFREE char *url2 = NULL;
    TERN_AUTOFREE char *count = NULL;
    TERN_AUTOFREE char *owner = NULL;
    PGconn *conn;

    ck_assert_msg(url != NULL, "%s", tern_error_message());
    conn = pg_connect(url);
    pg_ok(conn, "CREATE TABLE t (id int)");
    pg_ok(conn, "INSERT INTO t VALUES (1), (2)");
    count = pg_value(conn, "SELECT count(*) FROM t");
    ck_assert_str_eq(count, "2");
    owner = pg_value(conn, "SELECT pg_get_userbyid(datdba) FROM pg_database "
                           "WHERE datname = current_database()");
    ck_assert_str_eq(owner, "tern");
    PQfinish(conn); /* (creating again also cuts open connections: WITH (FORCE)) */

    url2 = harness_postgres_create_database(svc, "harness_fresh");
    ck_assert_msg(url2 != NULL, "%s", tern_error_message());
    conn = pg_connect(url2);
    ck_assert_ptr_null(pg_value(conn, "SELECT count(*) FROM t")); /* table gone */
    PQfinish(conn);

    ck_assert_ptr_null(harness_postgres_create_database(svc, "Bad-Name; DROP"));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
}
END_TEST

START_TEST(test_rabbitmq_round_trip)
{
    const harness_services_t *svc = harness_services_get();
    amqp_connection_state_t conn = amqp_open(svc, "tern", svc->rabbitmq_password, false);
    TERN_AUTOFREE char *body = NULL;

    ck_assert_msg(conn != NULL, "could not log in to RabbitMQ on port %d", svc->rabbitmq_port);
    queue_declare(conn, "harness.round-trip", false);
    publish(conn, "harness.round-trip", "hello over amqp", "tern");
    body = get_body_wait(conn, "harness.round-trip");
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(body, "hello over amqp");
    amqp_close_all(conn);
}
END_TEST

START_TEST(test_rabbitmq_tls_round_trip)
{
    const harness_services_t *svc = harness_services_get();
    amqp_connection_state_t conn = amqp_open(svc, "tern", svc->rabbitmq_password, true);
    TERN_AUTOFREE char *body = NULL;

    ck_assert_msg(conn != NULL, "could not log in to RabbitMQ over TLS on port %d",
                  svc->rabbitmq_tls_port);
    ck_assert(strncmp(svc->rabbitmq_tls_url, "amqps://", 8) == 0);
    ck_assert(strstr(svc->rabbitmq_tls_url, "@localhost:") != NULL);
    queue_declare(conn, "harness.tls", false);
    publish(conn, "harness.tls", "hello over tls", NULL);
    body = get_body_wait(conn, "harness.tls");
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(body, "hello over tls");
    amqp_close_all(conn);
}
END_TEST

START_TEST(test_rabbitmq_rejects_forged_user_id)
{
    const harness_services_t *svc = harness_services_get();
    amqp_connection_state_t conn = amqp_open(svc, "tern", svc->rabbitmq_password, false);
    amqp_rpc_reply_t reply;

    ck_assert_ptr_nonnull(conn);
    queue_declare(conn, "harness.forged", false);
    publish(conn, "harness.forged", "forged", "somebody-else");
    /* the broker closes the channel with 406 PRECONDITION_FAILED; the next call sees it */
    reply = amqp_basic_get(conn, 1, amqp_cstring_bytes("harness.forged"), 1);
    ck_assert_int_eq(reply.reply_type, AMQP_RESPONSE_SERVER_EXCEPTION);
    ck_assert_int_eq(reply.reply.id, AMQP_CHANNEL_CLOSE_METHOD);
    ck_assert_int_eq(((amqp_channel_close_t *)reply.reply.decoded)->reply_code, 406);
    amqp_destroy_connection(conn);

    ck_assert_ptr_null(amqp_open(svc, "guest", "guest", false)); /* no guest user */
    ck_assert_ptr_null(amqp_open(svc, "tern", "wrong-password", false));
}
END_TEST

START_TEST(test_rabbitmq_add_user)
{
    const harness_services_t *svc = harness_services_get();
    amqp_connection_state_t conn;
    TERN_AUTOFREE char *body = NULL;

    ck_assert_msg(harness_rabbitmq_add_user(svc, "harness-user", "secret-1", false) == 0, "%s",
                  tern_error_message());
    /* again: resets the password */
    ck_assert_msg(harness_rabbitmq_add_user(svc, "harness-user", "secret-2", true) == 0, "%s",
                  tern_error_message());
    ck_assert_ptr_null(amqp_open(svc, "harness-user", "secret-1", false));
    conn = amqp_open(svc, "harness-user", "secret-2", false);
    ck_assert_ptr_nonnull(conn);
    queue_declare(conn, "harness.user", false);
    publish(conn, "harness.user", "from harness-user", "harness-user");
    body = get_body_wait(conn, "harness.user");
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(body, "from harness-user");
    amqp_close_all(conn);

    ck_assert_int_eq(harness_rabbitmq_add_user(svc, "bad\"user", "x", false), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
}
END_TEST

/* ---- restart: private services ---- */

static harness_services_t *restart_svc;

static void
restart_setup(void)
{
    if (harness_services_start_private(&restart_svc) < 0) {
        fprintf(stderr, "could not start services for the restart tests: %s\n",
                tern_error_message());
        restart_svc = NULL;
    }
}

static void
restart_teardown(void)
{
    harness_services_destroy(restart_svc);
    restart_svc = NULL;
}

START_TEST(test_postgres_restart_reconnect)
{
    const harness_services_t *svc = restart_svc;
    PGconn *conn, *conn2;
    TERN_AUTOFREE char *count = NULL;

    ck_assert_msg(svc != NULL, "the restart fixture could not start the services");
    conn = pg_connect(svc->postgres_url);
    pg_ok(conn, "CREATE TABLE survives (id int)");
    pg_ok(conn, "INSERT INTO survives VALUES (7)");
    ck_assert_msg(harness_postgres_restart(svc) == 0, "%s", tern_error_message());
    ck_assert_ptr_null(pg_value(conn, "SELECT 1")); /* the old connection was cut */
    PQfinish(conn);
    conn2 = pg_connect(svc->postgres_url);
    count = pg_value(conn2, "SELECT count(*) FROM survives");
    ck_assert_ptr_nonnull(count);
    ck_assert_str_eq(count, "1");
    PQfinish(conn2);
}
END_TEST

START_TEST(test_rabbitmq_stop_start_reconnect)
{
    const harness_services_t *svc = restart_svc;
    amqp_connection_state_t conn;
    TERN_AUTOFREE char *body = NULL;

    ck_assert_msg(svc != NULL, "the restart fixture could not start the services");
    conn = amqp_open(svc, "tern", svc->rabbitmq_password, false);
    ck_assert_ptr_nonnull(conn);
    queue_declare(conn, "harness.durable", true);
    publish(conn, "harness.durable", "kept across restarts", NULL);
    amqp_close_all(conn);

    ck_assert_msg(harness_rabbitmq_stop(svc) == 0, "%s", tern_error_message());
    ck_assert(!harness_rabbitmq_running(svc));
    ck_assert_ptr_null(amqp_open(svc, "tern", svc->rabbitmq_password, false));
    ck_assert_msg(harness_rabbitmq_start(svc) == 0, "%s", tern_error_message());
    ck_assert(harness_rabbitmq_running(svc));

    conn = amqp_open(svc, "tern", svc->rabbitmq_password, false);
    ck_assert_ptr_nonnull(conn);
    body = get_body_wait(conn, "harness.durable");
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(body, "kept across restarts");
    amqp_close_all(conn);
}
END_TEST

/* ---- stop: nothing is left behind ---- */

/* comm_of: the command name of pid (static buffer), "" when gone. */
static const char *
comm_of(int pid)
{
    static char comm[64];
    char path[64];
    FILE *f;

    comm[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/comm", pid);
    f = fopen(path, "r");
    if (f) {
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
    }
    return comm;
}

static bool
pid_gone(int pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    bool gone = true;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return true;
    if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
        gone = p[2] == 'Z';
    fclose(f);
    return gone;
}

/* check_stop_leaves_nothing: start private services; crash: SIGKILL their session leaders
 * first (as if the starter died badly and left stale pid files); stop; nothing may remain. */
static void
check_stop_leaves_nothing(bool crash)
{
    char dir[] = "/tmp/tern-harness-stop.XXXXXX";
    harness_services_t *svc = NULL;
    int *pids = NULL, n;
    bool seen_postgres = false, seen_beam = false, seen_epmd = false;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_msg(harness_services_start(dir, NULL, &svc) == 0, "%s", tern_error_message());
    n = harness_services_processes(dir, &pids);
    ck_assert_int_gt(n, 3);
    for (int i = 0; i < n; i++) {
        const char *comm = comm_of(pids[i]);

        seen_postgres |= strcmp(comm, "postgres") == 0;
        seen_beam |= strncmp(comm, "beam", 4) == 0;
        seen_epmd |= strcmp(comm, "epmd") == 0;
    }
    ck_assert(seen_postgres && seen_beam && seen_epmd);
    if (crash) {
        const char *leaders[] = {"postgres/server.pid", "rabbitmq/server.pid"};

        for (size_t i = 0; i < TERN_N_ELEMENTS(leaders); i++) {
            TERN_AUTOFREE char *path = tern_asprintf("%s/%s", dir, leaders[i]);
            TERN_AUTOFREE char *text = NULL;
            size_t len;

            ck_assert_int_eq(tern_file_read_all(path, 64, &text, &len), 0);
            ck_assert_int_eq(kill(atoi(text), SIGKILL), 0);
        }
    }
    ck_assert_msg(harness_services_stop(dir) == 0, "%s", tern_error_message());
    ck_assert_int_eq(harness_services_processes(dir, NULL), 0);
    for (int i = 0; i < n; i++)
        ck_assert_msg(pid_gone(pids[i]), "process %d (%s) survived stop", pids[i],
                      comm_of(pids[i]));
    ck_assert(!harness_postgres_running(svc));
    ck_assert(!harness_rabbitmq_running(svc));
    ck_assert_int_eq(harness_services_stop(dir), 0); /* idempotent */
    ck_assert_int_ne(harness_services_attach(dir, &(harness_services_t *){NULL}), 0);
    free(pids);
    harness_services_free(svc);
    ck_assert_int_eq(harness_services_remove(dir), 0);
    ck_assert_int_ne(access(dir, F_OK), 0);
}

START_TEST(test_stop_leaves_no_process)
{
    check_stop_leaves_nothing(false);
}
END_TEST

START_TEST(test_stop_after_crash_leaves_no_process)
{
    check_stop_leaves_nothing(true);
}
END_TEST

static Suite *
services_suite(void)
{
    Suite *s = suite_create("services");
    TCase *core = tcase_create("core");
    TCase *restart = tcase_create("restart");
    TCase *stop = tcase_create("stop");

    tcase_set_timeout(core, 120);
    tcase_add_test(core, test_postgres_query);
    tcase_add_test(core, test_postgres_create_database_is_fresh);
    tcase_add_test(core, test_rabbitmq_round_trip);
    tcase_add_test(core, test_rabbitmq_tls_round_trip);
    tcase_add_test(core, test_rabbitmq_rejects_forged_user_id);
    tcase_add_test(core, test_rabbitmq_add_user);
    suite_add_tcase(s, core);

    tcase_set_timeout(restart, 180);
    tcase_add_unchecked_fixture(restart, restart_setup, restart_teardown);
    tcase_add_test(restart, test_postgres_restart_reconnect);
    tcase_add_test(restart, test_rabbitmq_stop_start_reconnect);
    suite_add_tcase(s, restart);

    tcase_set_timeout(stop, 180);
    tcase_add_test(stop, test_stop_leaves_no_process);
    tcase_add_test(stop, test_stop_after_crash_leaves_no_process);
    suite_add_tcase(s, stop);
    return s;
}

/* prepare: start (or attach to) the shared services in the parent, before Check forks the
 * tests. */
static int
prepare(void)
{
    harness_services_get();
    return 0;
}

int
main(void)
{
    return tern_check_run_suite(services_suite(), prepare, NULL);
}
