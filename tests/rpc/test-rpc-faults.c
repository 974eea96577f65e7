/*
 * tests/rpc/test-rpc-faults.c: the RPC library when the broker or a consumer fails, on a
 * private RabbitMQ of its own (harness_services_start_private) because it restarts the broker.
 *
 * restart:  the broker stopped and started in the middle of a stream of calls: every call gets
 *           its own answer and no handler runs twice, and the client's and the server's counters
 *           show the connections lost and opened again; casts confirmed before the stop are kept
 *           (durable_queues, on for every test here so that the control exchange agrees); a
 *           listener reconnects with a queue of its own again and hears the casts sent after
 * ack:      a server killed (SIGKILL) while its handler holds a message: the message was not
 *           acknowledged, so the broker redelivers it to the next server of the topic; a
 *           client acknowledges the replies it read (none left in its queue, delivered or not)
 * failover: a transport_url whose first host refuses connections: the client and the server
 *           fail over to the next host
 * tls:      amqps:// verified by default (a certificate for another name, or no trusted CA:
 *           refused; ssl_no_verify explicitly: accepted); with the harness's CA and client
 *           certificate a call goes through and the
 *           server sees the broker-validated user; a wrong CA is refused with a clear error
 * heartbeat: a client and a server idle for five heartbeat intervals keep all their
 *           connections (their counters: nothing lost, nothing reopened), then call and cast
 *
 * Every test creates its own topic so that tests never see each other's queues.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc.h"
#include "tests/harness/harness.h"
#include "tests/rpc/rpc_tests.h"

#define STREAM_CALLS 240

static harness_services_t *svc; /* private; started by rpc_faults_prepare */

static char *
topic_name(const char *prefix)
{
    char uuid[37];

    tern_uuid_generate(uuid);
    uuid[8] = '\0';
    return tern_asprintf("%s_%s", prefix, uuid);
}

static void
fast_config(rpc_config_t *cfg, const char *url)
{
    rpc_config_init(cfg);
    cfg->transport_url = url;
    cfg->retry_interval_ms = 200;
    cfg->retry_backoff_ms = 200;
    cfg->retry_max_ms = 1000;
    cfg->heartbeat_timeout_s = 10;
    cfg->durable_queues = true; /* every test of this private broker: the exchange agrees */
}

/* ---- handlers ---- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int executed[STREAM_CALLS]; /* guarded by seen_lock */
static int casts_seen;             /* guarded by seen_lock */
static int blocks_seen;            /* guarded by seen_lock */
static char seen_user[64];         /* guarded by seen_lock */
static int block_pipe = -1;        /* the killed child's signal to the parent */

static int
h_seq(void *opaque, const rpc_request_t *req, json_t **ret)
{
    json_int_t i = json_integer_value(json_object_get(req->args, "i"));

    if (i < 0 || i >= STREAM_CALLS)
        return tern_error_set(TERN_ERR_INVALID, "i %lld out of range", (long long)i);
    pthread_mutex_lock(&seen_lock);
    executed[i]++;
    tern_strlcpy(seen_user, req->amqp_user_id, sizeof(seen_user));
    pthread_mutex_unlock(&seen_lock);
    *ret = json_pack("{s:I, s:s}", "i", i, "user", req->amqp_user_id);
    return 0;
}

static int
h_count(void *opaque, const rpc_request_t *req, json_t **ret)
{
    pthread_mutex_lock(&seen_lock);
    casts_seen++;
    pthread_mutex_unlock(&seen_lock);
    return 0;
}

/* block: in the child, tell the parent the handler holds the message, then hang; in the parent
 * (block_pipe < 0), count it. */
static int
h_block(void *opaque, const rpc_request_t *req, json_t **ret)
{
    if (block_pipe >= 0) {
        if (write(block_pipe, "b", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    pthread_mutex_lock(&seen_lock);
    blocks_seen++;
    pthread_mutex_unlock(&seen_lock);
    return 0;
}

static const rpc_method_t fault_methods[] = {
    {"seq", h_seq},
    {"count", h_count},
    {"block", h_block},
};

static const rpc_endpoint_t fault_endpoint = {
    .version = "1.0",
    .methods = fault_methods,
    .n_methods = TERN_N_ELEMENTS(fault_methods),
};

static void
reset_seen(void)
{
    pthread_mutex_lock(&seen_lock);
    memset(executed, 0, sizeof(executed));
    casts_seen = blocks_seen = 0;
    seen_user[0] = '\0';
    pthread_mutex_unlock(&seen_lock);
}

static int
seen(int *counter)
{
    int v;

    pthread_mutex_lock(&seen_lock);
    v = *counter;
    pthread_mutex_unlock(&seen_lock);
    return v;
}

/* wait_seen: wait (at most timeout_ms) until *counter >= want; returns the last value. */
static int
wait_seen(int *counter, int want, int timeout_ms)
{
    int64_t deadline = tern_now_monotonic_ms() + timeout_ms;
    int v;

    while ((v = seen(counter)) < want && tern_now_monotonic_ms() < deadline)
        tern_sleep_ms(20);
    return v;
}

/* ---- restart ---- */

typedef struct stream {
    rpc_client_t *client;
    const char *topic;
    int done;           /* calls answered correctly */
    int failed_at;      /* first call that failed, or -1 */
    tern_error_t error; /* its error */
} stream_t;

static void *
stream_thread(void *arg)
{
    stream_t *st = arg;
    rpc_target_t target = {.topic = st->topic};
    json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);

    st->failed_at = -1;
    for (int i = 0; i < STREAM_CALLS; i++) {
        json_t *args = json_pack("{s:i}", "i", i);
        json_t *res = NULL;
        int rc = rpc_call(st->client, &target, ctx, "seq", args, 60000, &res);

        json_decref(args);
        if (rc < 0 || json_integer_value(json_object_get(res, "i")) != i) {
            if (rc < 0)
                tern_error_copy(&st->error);
            else
                tern_error_set(TERN_ERR_INTERNAL, "call %d answered with %lld", i,
                               (long long)json_integer_value(json_object_get(res, "i")));
            tern_error_copy(&st->error);
            st->failed_at = i;
            json_decref(res);
            break;
        }
        json_decref(res);
        st->done = i + 1;
    }
    json_decref(ctx);
    return NULL;
}

START_TEST(test_broker_restart_mid_stream_no_call_lost_or_run_twice)
{
    TERN_AUTOFREE char *topic = topic_name("restart");
    rpc_config_t cfg;
    rpc_server_t *srv;
    stream_t st = {0};
    pthread_t th;
    rpc_stats_t cs, ss;

    reset_seen();
    fast_config(&cfg, svc->rabbitmq_url);
    srv = rpc_server_new(&cfg, topic, "h1", &fault_endpoint, 1, 4);
    ck_assert_ptr_nonnull(srv);
    CK_OK(rpc_server_start(srv));
    st.client = rpc_client_new(&cfg);
    ck_assert_msg(st.client != NULL, "rpc_client_new: %s", tern_error_message());
    st.topic = topic;
    pthread_create(&th, NULL, stream_thread, &st);

    /* let the stream run, then take the broker away under it and bring it back */
    for (int i = 0; i < 500 && __atomic_load_n(&st.done, __ATOMIC_RELAXED) < 40; i++)
        tern_sleep_ms(20);
    ck_assert_msg(harness_rabbitmq_stop(svc) == 0, "%s", tern_error_message());
    tern_sleep_ms(1000);
    ck_assert_msg(harness_rabbitmq_start(svc) == 0, "%s", tern_error_message());
    pthread_join(th, NULL);

    ck_assert_msg(st.failed_at < 0, "call %d failed: %s", st.failed_at, st.error.message);
    ck_assert_int_eq(st.done, STREAM_CALLS);
    for (int i = 0; i < STREAM_CALLS; i++)
        ck_assert_msg(executed[i] == 1, "call %d ran %d times", i, executed[i]);
    /* each side's two connections went with the broker and were opened again; the readers
     * tried their consumer while the broker was still away */
    rpc_client_stats(st.client, &cs);
    rpc_server_stats(srv, &ss);
    ck_assert_uint_ge(cs.connections_lost, 1);
    ck_assert_uint_ge(cs.reconnects, 2);
    ck_assert_uint_ge(cs.reconnects_failed, 1);
    ck_assert_uint_ge(ss.connections_lost, 1);
    ck_assert_uint_ge(ss.reconnects, 2);
    ck_assert_uint_ge(ss.reconnects_failed, 1);
    ck_assert_uint_eq(cs.malformed_dropped + ss.malformed_dropped, 0);

    rpc_client_free(st.client);
    rpc_server_free(srv);
}
END_TEST

START_TEST(test_listener_hears_again_after_broker_restart)
{
    TERN_AUTOFREE char *topic = topic_name("listen");
    rpc_target_t target = {.topic = NULL, .server = "k"};
    json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);
    int64_t deadline;
    rpc_config_t cfg;
    rpc_server_t *listener;
    rpc_client_t *client;
    rpc_stats_t ls;
    int rc;

    reset_seen();
    fast_config(&cfg, svc->rabbitmq_url);
    target.topic = topic;
    listener = rpc_listener_new(&cfg, topic, "k", &fault_endpoint, 1, 1);
    ck_assert_msg(listener != NULL, "%s", tern_error_message());
    CK_OK(rpc_server_start(listener));
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    CK_OK(rpc_cast(client, &target, ctx, "count", NULL));
    ck_assert_int_eq(wait_seen(&casts_seen, 1, 10000), 1);

    ck_assert_msg(harness_rabbitmq_stop(svc) == 0, "%s", tern_error_message());
    ck_assert_msg(harness_rabbitmq_start(svc) == 0, "%s", tern_error_message());

    /* its queue went with the broker; a plain cast is refused until the listener has bound a
     * new one (casts meanwhile are lost: that is the contract) */
    deadline = tern_now_monotonic_ms() + 30000;
    while ((rc = rpc_cast(client, &target, ctx, "count", NULL)) < 0 &&
           tern_error_code() == TERN_ERR_UNAVAILABLE && tern_now_monotonic_ms() < deadline)
        tern_sleep_ms(100);
    ck_assert_msg(rc == 0, "the listener did not come back: %s", tern_error_message());
    ck_assert_int_eq(wait_seen(&casts_seen, 2, 10000), 2);
    tern_sleep_ms(300);
    ck_assert_int_eq(seen(&casts_seen), 2);
    rpc_server_stats(listener, &ls);
    ck_assert_uint_ge(ls.reconnects, 1); /* its consumer, with a new queue */
    rpc_server_free(listener);
    rpc_client_free(client);
    json_decref(ctx);
}
END_TEST

START_TEST(test_confirmed_casts_survive_broker_restart)
{
    TERN_AUTOFREE char *topic = topic_name("keep");
    rpc_target_t target = {.topic = NULL};
    rpc_config_t cfg;
    rpc_server_t *srv;
    rpc_client_t *client;
    json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);

    reset_seen();
    fast_config(&cfg, svc->rabbitmq_url);
    /* a server declares the topic's queues, then goes away: casts wait in the queue */
    srv = rpc_server_new(&cfg, topic, "h1", &fault_endpoint, 1, 2);
    CK_OK(rpc_server_start(srv));
    rpc_server_free(srv);
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    target.topic = topic;
    for (int i = 0; i < 20; i++)
        CK_OK(rpc_cast(client, &target, ctx, "count", NULL));

    ck_assert_msg(harness_rabbitmq_stop(svc) == 0, "%s", tern_error_message());
    ck_assert_msg(harness_rabbitmq_start(svc) == 0, "%s", tern_error_message());

    srv = rpc_server_new(&cfg, topic, "h1", &fault_endpoint, 1, 2);
    CK_OK(rpc_server_start(srv));
    ck_assert_int_eq(wait_seen(&casts_seen, 20, 20000), 20);
    tern_sleep_ms(300);
    ck_assert_int_eq(seen(&casts_seen), 20);
    rpc_server_free(srv);
    rpc_client_free(client);
    json_decref(ctx);
}
END_TEST

/* ---- ack ---- */

START_TEST(test_server_killed_before_ack_message_redelivered)
{
    TERN_AUTOFREE char *topic = topic_name("killed");
    rpc_target_t target = {.topic = NULL};
    json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);
    rpc_config_t cfg;
    rpc_client_t *client;
    rpc_server_t *srv;
    int fds[2];
    char b;
    pid_t pid;
    int status;

    reset_seen();
    fast_config(&cfg, svc->rabbitmq_url);
    target.topic = topic;
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the doomed server: its handler takes "block" and never finishes */
        rpc_server_t *child;

        close(fds[0]);
        block_pipe = fds[1];
        child = rpc_server_new(&cfg, topic, "doomed", &fault_endpoint, 1, 1);
        if (!child || rpc_server_start(child) < 0)
            _exit(2);
        if (write(block_pipe, "s", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &b, 1), 1);
    ck_assert_int_eq(b, 's'); /* serving */

    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    CK_OK(rpc_cast(client, &target, ctx, "block", NULL));
    ck_assert_int_eq(read(fds[0], &b, 1), 1);
    ck_assert_int_eq(b, 'b'); /* the child's handler holds the message */
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    close(fds[0]);

    /* the next server of the topic gets it again */
    srv = rpc_server_new(&cfg, topic, "heir", &fault_endpoint, 1, 1);
    CK_OK(rpc_server_start(srv));
    ck_assert_int_eq(wait_seen(&blocks_seen, 1, 20000), 1);
    tern_sleep_ms(300);
    ck_assert_int_eq(seen(&blocks_seen), 1);
    rpc_server_free(srv);
    rpc_client_free(client);
    json_decref(ctx);
}
END_TEST

/* Replies are acknowledged once read (in batches), so that a reply the broker sent as the
 * client's connection died is delivered again rather than lost (auto-ack would drop it): after
 * a run of calls, once the client is idle, no reply queue holds a message, delivered or not. */
START_TEST(test_replies_acknowledged_after_reading)
{
    TERN_AUTOFREE char *topic = topic_name("acked");
    rpc_target_t target = {.topic = NULL};
    json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);
    rpc_config_t cfg;
    rpc_client_t *client;
    rpc_server_t *srv;
    long ready, unacked;
    int queues;

    reset_seen();
    fast_config(&cfg, svc->rabbitmq_url);
    target.topic = topic;
    srv = rpc_server_new(&cfg, topic, "h1", &fault_endpoint, 1, 2);
    CK_OK(rpc_server_start(srv));
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    for (int i = 0; i < 30; i++) {
        json_t *args = json_pack("{s:i}", "i", i);
        json_t *res = NULL;

        CK_OK(rpc_call(client, &target, ctx, "seq", args, 10000, &res));
        ck_assert_int_eq(json_integer_value(json_object_get(res, "i")), i);
        json_decref(args);
        json_decref(res);
    }
    /* acks go out in batches, the last one when the client is idle (within about a second) */
    for (int attempt = 0; attempt < 4; attempt++) {
        ck_assert_msg(harness_rabbitmq_queue_counts(svc, "reply_", &queues, &ready, &unacked) == 0,
                      "%s", tern_error_message());
        if (unacked == 0)
            break;
        tern_sleep_ms(500);
    }
    ck_assert_int_ge(queues, 1); /* the client's reply queue, at least */
    ck_assert_int_eq(ready, 0);
    ck_assert_int_eq(unacked, 0);
    rpc_client_free(client);
    rpc_server_free(srv);
    json_decref(ctx);
}
END_TEST

/* ---- failover ---- */

START_TEST(test_failover_to_next_host_of_url)
{
    TERN_AUTOFREE char *topic = topic_name("failover");
    TERN_AUTOFREE char *url =
        tern_asprintf("rabbit://tern:%s@127.0.0.1:1,tern:%s@127.0.0.1:%d/", svc->rabbitmq_password,
                      svc->rabbitmq_password, svc->rabbitmq_port);
    rpc_target_t target = {.topic = NULL};
    json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);
    json_t *args = json_pack("{s:i}", "i", 7);
    json_t *res = NULL;
    rpc_config_t cfg;
    rpc_client_t *client;
    rpc_server_t *srv;

    reset_seen();
    fast_config(&cfg, url);
    target.topic = topic;
    srv = rpc_server_new(&cfg, topic, "h1", &fault_endpoint, 1, 2);
    CK_OK(rpc_server_start(srv));
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    CK_OK(rpc_call(client, &target, ctx, "seq", args, 10000, &res));
    ck_assert_int_eq(json_integer_value(json_object_get(res, "i")), 7);
    json_decref(res);
    rpc_client_free(client);
    rpc_server_free(srv);
    json_decref(args);
    json_decref(ctx);
}
END_TEST

START_TEST(test_no_host_reachable_is_unavailable)
{
    rpc_config_t cfg;

    fast_config(&cfg, "rabbit://tern:secret@127.0.0.1:1,tern:secret@127.0.0.1:2/");
    ck_assert_ptr_null(rpc_client_new(&cfg));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(tern_error_message(), "127.0.0.1:2") != NULL, "%s", tern_error_message());
    ck_assert_msg(strstr(tern_error_message(), "secret") == NULL, "password shown: %s",
                  tern_error_message());
}
END_TEST

/* ---- tls ---- */

START_TEST(test_tls_call_with_client_certificate)
{
    TERN_AUTOFREE char *topic = topic_name("tls");
    rpc_target_t target = {.topic = NULL};
    json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);
    json_t *args = json_pack("{s:i}", "i", 3);
    json_t *res = NULL;
    rpc_config_t cfg;
    rpc_client_t *client;
    rpc_server_t *srv;

    reset_seen();
    fast_config(&cfg, svc->rabbitmq_tls_url);
    cfg.ssl_ca_file = svc->tls_ca_file;
    cfg.ssl_cert_file = svc->tls_client_cert;
    cfg.ssl_key_file = svc->tls_client_key;
    target.topic = topic;
    srv = rpc_server_new(&cfg, topic, "h1", &fault_endpoint, 1, 2);
    ck_assert_ptr_nonnull(srv);
    CK_OK(rpc_server_start(srv));
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    CK_OK(rpc_call(client, &target, ctx, "seq", args, 10000, &res));
    ck_assert_int_eq(json_integer_value(json_object_get(res, "i")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(res, "user")), "tern");
    json_decref(res);
    rpc_client_free(client);
    rpc_server_free(srv);
    json_decref(args);
    json_decref(ctx);
}
END_TEST

START_TEST(test_tls_wrong_ca_refused)
{
    rpc_config_t cfg;

    fast_config(&cfg, svc->rabbitmq_tls_url);
    cfg.ssl_ca_file = svc->tls_client_cert; /* not the CA that signed the broker's certificate */
    ck_assert_ptr_null(rpc_client_new(&cfg));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
}
END_TEST

/* tls_url_for: the harness's amqps URL with host as the name connected to (new string). */
static char *
tls_url_for(const char *host)
{
    const char *at = strrchr(svc->rabbitmq_tls_url, '@');
    const char *port = strrchr(svc->rabbitmq_tls_url, ':');

    ck_assert_ptr_nonnull(at);
    return tern_asprintf("%.*s@%s%s", (int)(at - svc->rabbitmq_tls_url), svc->rabbitmq_tls_url,
                         host, port);
}

/* The broker's certificate names localhost and 127.0.0.1. "127.1" reaches the same broker
 * (inet_aton reads it as 127.0.0.1, on any machine) under a name the certificate does not
 * have: refused, with the right CA; and with no CA file, the system's bundle does not trust
 * the harness's CA: refused too. Only ssl_no_verify, said explicitly, lets either through. */
START_TEST(test_tls_verified_by_default)
{
    TERN_AUTOFREE char *wrong_name = tls_url_for("127.1");
    rpc_config_t cfg;
    rpc_client_t *client;

    fast_config(&cfg, svc->rabbitmq_tls_url); /* localhost: the certificate's name */
    cfg.ssl_ca_file = svc->tls_ca_file;
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "the right name refused: %s", tern_error_message());
    rpc_client_free(client);

    fast_config(&cfg, wrong_name);
    cfg.ssl_ca_file = svc->tls_ca_file;
    ck_assert_ptr_null(rpc_client_new(&cfg));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(tern_error_message(), "127.1"), "%s", tern_error_message());

    fast_config(&cfg, svc->rabbitmq_tls_url); /* no CA file: the system's bundle */
    ck_assert_ptr_null(rpc_client_new(&cfg));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);

    fast_config(&cfg, wrong_name); /* told not to verify: any name, any CA */
    cfg.ssl_no_verify = true;
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "ssl_no_verify refused: %s", tern_error_message());
    rpc_client_free(client);
}
END_TEST

/* ---- heartbeat ---- */

/* assert_kept: nothing lost, reopened or failed on any connection of a side (st). */
static void
assert_kept(const char *side, const rpc_stats_t *st)
{
    ck_assert_msg(
        st->connections_lost + st->reconnects + st->reconnects_failed + st->poll_errors == 0,
        "%s: %llu lost, %llu reopened, %llu failed reopens, %llu poll errors while idle", side,
        (unsigned long long)st->connections_lost, (unsigned long long)st->reconnects,
        (unsigned long long)st->reconnects_failed, (unsigned long long)st->poll_errors);
}

START_TEST(test_idle_connections_kept_by_heartbeats)
{
    TERN_AUTOFREE char *topic = topic_name("heartbeat");
    rpc_target_t target = {.topic = NULL};
    json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);
    json_t *args = json_pack("{s:i}", "i", 3);
    json_t *res = NULL;
    rpc_config_t cfg;
    rpc_client_t *client;
    rpc_server_t *srv;
    rpc_stats_t cs, ss;

    reset_seen();
    fast_config(&cfg, svc->rabbitmq_url);
    cfg.heartbeat_timeout_s = 3; /* RabbitMQ closes a connection silent for two intervals */
    target.topic = topic;
    srv = rpc_server_new(&cfg, topic, "h1", &fault_endpoint, 1, 2);
    CK_OK(rpc_server_start(srv));
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    CK_OK(rpc_call(client, &target, ctx, "seq", args, 10000, &res));
    json_decref(res);
    res = NULL;

    sleep(15); /* five intervals, every connection idle: requests, replies, consumer, reply queue */

    CK_OK(rpc_cast(client, &target, ctx, "count", NULL));
    CK_OK(rpc_call(client, &target, ctx, "seq", args, 10000, &res));
    ck_assert_int_eq(json_integer_value(json_object_get(res, "i")), 3);
    json_decref(res);
    rpc_client_stats(client, &cs);
    rpc_server_stats(srv, &ss);
    assert_kept("client", &cs);
    assert_kept("server", &ss);
    ck_assert_uint_eq(cs.publishes_retried + ss.replies_retried, 0);
    rpc_client_free(client);
    rpc_server_free(srv);
    json_decref(args);
    json_decref(ctx);
}
END_TEST

int
rpc_faults_prepare(void)
{
    /* private services: the restart tests must not disturb other suites' broker */
    if (harness_services_start_private(&svc) < 0)
        return tern_error_prefix("could not start the fault cases' private services");
    return 0;
}

void
rpc_faults_release(void)
{
    harness_services_destroy(svc);
    svc = NULL;
}

TCase *
rpc_restart_tcase(void)
{
    TCase *tc = tcase_create("restart");

    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_broker_restart_mid_stream_no_call_lost_or_run_twice);
    tcase_add_test(tc, test_confirmed_casts_survive_broker_restart);
    tcase_add_test(tc, test_listener_hears_again_after_broker_restart);
    return tc;
}

TCase *
rpc_ack_tcase(void)
{
    TCase *tc = tcase_create("ack");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_server_killed_before_ack_message_redelivered);
    tcase_add_test(tc, test_replies_acknowledged_after_reading);
    return tc;
}

TCase *
rpc_failover_tcase(void)
{
    TCase *tc = tcase_create("failover");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_failover_to_next_host_of_url);
    tcase_add_test(tc, test_no_host_reachable_is_unavailable);
    return tc;
}

TCase *
rpc_tls_tcase(void)
{
    TCase *tc = tcase_create("tls");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tls_call_with_client_certificate);
    tcase_add_test(tc, test_tls_wrong_ca_refused);
    tcase_add_test(tc, test_tls_verified_by_default);
    return tc;
}

TCase *
rpc_heartbeat_tcase(void)
{
    TCase *tc = tcase_create("heartbeat");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_idle_connections_kept_by_heartbeats);
    return tc;
}
