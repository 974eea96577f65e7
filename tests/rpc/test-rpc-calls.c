/*
 * tests/rpc/test-rpc-calls.c: the RPC library against a real RabbitMQ (tests/harness).
 *
 * A tern server and client on the private broker: call, cast, fanout, timeouts, unknown
 * methods and versions, malformed messages (the server survives them and answers the next
 * call), the broker-validated identity, and remote errors arriving with their code and message.
 * Listeners: each listener of a key gets the casts to that key and no other, its queue goes with
 * it, and a cast with unrouted_ok to nobody succeeds where a plain one fails.
 * Counters (rpc_client_stats, rpc_server_stats) for what nobody hears as an error: a late reply,
 * a malformed message, a redelivery dropped, a failed cast, a reply to a queue that is gone.
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc.h"
#include "tests/harness/harness.h"
#include "tests/rpc/rpc_tests.h"

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int casts_seen;
static char last_user[64];

static int
h_echo(void *opaque, const rpc_request_t *req, json_t **ret)
{
    pthread_mutex_lock(&seen_lock);
    tern_strlcpy(last_user, req->amqp_user_id, sizeof(last_user));
    pthread_mutex_unlock(&seen_lock);
    *ret = json_pack("{s:O, s:s, s:s?}", "args", req->args, "user", req->amqp_user_id, "request_id",
                     req->request_id);
    return 0;
}

static int
h_fail(void *opaque, const rpc_request_t *req, json_t **ret)
{
    return tern_error_set(TERN_ERR_NOT_FOUND, "instance \"%s\" does not exist",
                          json_string_value(json_object_get(req->args, "uuid")));
}

static int
h_slow(void *opaque, const rpc_request_t *req, json_t **ret)
{
    tern_sleep_ms(json_integer_value(json_object_get(req->args, "ms")));
    *ret = json_string("done");
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

static const rpc_method_t methods[] = {
    {"echo", h_echo}, {"fail", h_fail}, {"slow", h_slow}, {"count", h_count}};
static const rpc_endpoint_t endpoint = {.version = "1.3", .methods = methods, .n_methods = 4};

/* A listener's handler counts the casts it got in *opaque (an int, atomic). */
static int
h_heard(void *opaque, const rpc_request_t *req, json_t **ret)
{
    __atomic_add_fetch((int *)opaque, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static const rpc_method_t listener_methods[] = {{"count", h_heard}};
static int heard[2];
static const rpc_endpoint_t listener_endpoints[2] = {
    {.version = "1.0", .methods = listener_methods, .n_methods = 1, .opaque = &heard[0]},
    {.version = "1.0", .methods = listener_methods, .n_methods = 1, .opaque = &heard[1]},
};

static rpc_config_t cfg;
static rpc_server_t *server;
static rpc_client_t *client;
static char topic[64];

static void
setup(void)
{
    const harness_services_t *svc = harness_services_get();

    rpc_config_init(&cfg);
    cfg.transport_url = svc->rabbitmq_url;
    cfg.response_timeout_ms = 10000;
    snprintf(topic, sizeof(topic), "test%d_%ld", (int)getpid(), (long)tern_now_monotonic_us());
    server = rpc_server_new(&cfg, topic, "s1", &endpoint, 1, 4);
    ck_assert_msg(server != NULL, "%s", tern_error_message());
    CK_OK(rpc_server_start(server));
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "%s", tern_error_message());
    casts_seen = 0;
    heard[0] = heard[1] = 0;
}

static void
teardown(void)
{
    rpc_client_free(client);
    rpc_server_free(server);
}

/* stat_at: the counter at offset (offsetof(rpc_stats_t, ...)) of *st. */
static uint64_t
stat_at(const rpc_stats_t *st, size_t offset)
{
    uint64_t v;

    memcpy(&v, (const char *)st + offset, sizeof(v));
    return v;
}

/* server_stat_wait: wait (at most timeout_ms) until the server's counter at offset reaches
 * want; its last value. */
static uint64_t
server_stat_wait(rpc_server_t *srv, size_t offset, uint64_t want, int timeout_ms)
{
    int64_t deadline = tern_now_monotonic_ms() + timeout_ms;
    rpc_stats_t st;

    for (;;) {
        rpc_server_stats(srv, &st);
        if (stat_at(&st, offset) >= want || tern_now_monotonic_ms() >= deadline)
            return stat_at(&st, offset);
        tern_sleep_ms(20);
    }
}

#define SERVER_STAT_WAIT(srv, counter, want, ms) \
    server_stat_wait((srv), offsetof(rpc_stats_t, counter), (want), (ms))

START_TEST(test_call_returns_result_and_identity)
{
    rpc_target_t t = {.topic = topic, .version = "1.2"};
    json_t *ctx = rpc_context_new("u1", "p1", NULL, "req-abc");
    json_t *args = json_pack("{s:s, s:i}", "name", "it's \"quoted\"", "n", 3);
    json_t *res = NULL;

    CK_OK(rpc_call(client, &t, ctx, "echo", args, 0, &res));
    ck_assert(json_equal(json_object_get(res, "args"), args));
    ck_assert_str_eq(json_string_value(json_object_get(res, "user")), "tern");
    ck_assert_str_eq(json_string_value(json_object_get(res, "request_id")), "req-abc");
    json_decref(res);
    json_decref(args);
    json_decref(ctx);
}
END_TEST

START_TEST(test_call_to_server_queue)
{
    rpc_target_t t = {.topic = topic, .server = "s1"};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *res = NULL;

    CK_OK(rpc_call(client, &t, ctx, "echo", NULL, 0, &res));
    ck_assert(json_is_object(json_object_get(res, "args")));
    json_decref(res);
    json_decref(ctx);
}
END_TEST

START_TEST(test_remote_error_keeps_code_and_message)
{
    rpc_target_t t = {.topic = topic};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *args = json_pack("{s:s}", "uuid", "0f3c");
    json_t *res = NULL;

    ck_assert_int_eq(rpc_call(client, &t, ctx, "fail", args, 0, &res), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_NOT_FOUND);
    ck_assert_str_eq(tern_error_message(), "instance \"0f3c\" does not exist");
    ck_assert_msg(tern_error_is_remote(), "a remote exception is not marked remote");
    json_decref(args);
    json_decref(ctx);
}
END_TEST

START_TEST(test_unknown_method_and_newer_version_refused)
{
    rpc_target_t t = {.topic = topic};
    rpc_target_t newer = {.topic = topic, .version = "1.4"};
    rpc_target_t major = {.topic = topic, .version = "2.0"};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *res = NULL;

    ck_assert_int_eq(rpc_call(client, &t, ctx, "nosuch", NULL, 0, &res), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "unknown method \"nosuch\""));
    ck_assert_int_eq(rpc_call(client, &newer, ctx, "echo", NULL, 0, &res), -1);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "unsupported RPC API version 1.4"));
    ck_assert_int_eq(rpc_call(client, &major, ctx, "echo", NULL, 0, &res), -1);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "unsupported RPC API version 2.0"));
    json_decref(ctx);
}
END_TEST

/* h_router: one callback for every method of its endpoint: it answers with the method's name
 * and the opaque it was given, and refuses "forbidden" by its own rule. */
static int
h_router(void *opaque, const rpc_request_t *req, json_t **ret)
{
    if (strcmp(req->method, "forbidden") == 0)
        return tern_error_set(TERN_ERR_PERMISSION, "router refuses \"%s\"", req->method);
    *ret = json_pack("{s:s, s:s}", "method", req->method, "opaque", (const char *)opaque);
    return 0;
}

START_TEST(test_dispatch_callback_gets_every_method)
{
    TERN_AUTOFREE char *rtopic = tern_asprintf("%s_router", topic);
    /* methods given too: with dispatch set they are not consulted */
    rpc_endpoint_t ep = {.version = "1.0",
                         .dispatch = h_router,
                         .methods = methods,
                         .n_methods = 4,
                         .opaque = (void *)"the-owner"};
    rpc_server_t *r = rpc_server_new(&cfg, rtopic, "r1", &ep, 1, 2);
    rpc_target_t t = {.topic = rtopic};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *res = NULL;

    ck_assert_msg(r != NULL, "%s", tern_error_message());
    CK_OK(rpc_server_start(r));
    CK_OK(rpc_call(client, &t, ctx, "echo", NULL, 0, &res)); /* a name of the table: routed */
    ck_assert_str_eq(json_string_value(json_object_get(res, "method")), "echo");
    ck_assert_str_eq(json_string_value(json_object_get(res, "opaque")), "the-owner");
    json_decref(res);
    CK_OK(rpc_call(client, &t, ctx, "anything_at_all", NULL, 0, &res));
    ck_assert_str_eq(json_string_value(json_object_get(res, "method")), "anything_at_all");
    json_decref(res);
    ck_assert_int_eq(rpc_call(client, &t, ctx, "forbidden", NULL, 0, &res), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_PERMISSION);
    ck_assert_str_eq(tern_error_message(), "router refuses \"forbidden\"");
    rpc_server_free(r);
    json_decref(ctx);
}
END_TEST

START_TEST(test_timeout_then_late_reply_dropped)
{
    rpc_target_t t = {.topic = topic};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *slow = json_pack("{s:i}", "ms", 1500);
    json_t *res = NULL;

    rpc_stats_t st;

    ck_assert_int_eq(rpc_call(client, &t, ctx, "slow", slow, 300, &res), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_TIMEOUT);
    ck_assert_msg(!tern_error_is_remote(), "a timeout is the caller's own error");
    ck_assert_msg(strstr(tern_error_message(), topic), "%s", tern_error_message()); /* names it */
    rpc_client_stats(client, &st);
    ck_assert_uint_eq(st.replies_unclaimed, 0);
    tern_sleep_ms(1600); /* the late reply arrives and is dropped */
    CK_OK(rpc_call(client, &t, ctx, "echo", NULL, 0, &res));
    ck_assert(json_is_object(res));
    rpc_client_stats(client, &st); /* it came before echo's reply, on the same queue */
    ck_assert_uint_eq(st.replies_unclaimed, 1);
    ck_assert_uint_eq(st.publishes_retried + st.connections_lost + st.malformed_dropped, 0);
    json_decref(res);
    json_decref(slow);
    json_decref(ctx);
}
END_TEST

START_TEST(test_slow_handler_does_not_stall_others)
{
    rpc_target_t t = {.topic = topic};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *slow = json_pack("{s:i}", "ms", 3000);
    json_t *res = NULL;
    int64_t t0;

    CK_OK(rpc_cast(client, &t, ctx, "slow", slow));
    tern_sleep_ms(100);
    t0 = tern_now_monotonic_ms();
    CK_OK(rpc_call(client, &t, ctx, "echo", NULL, 0, &res));
    ck_assert_int_lt(tern_now_monotonic_ms() - t0, 2000);
    json_decref(res);
    json_decref(slow);
    json_decref(ctx);
}
END_TEST

START_TEST(test_casts_and_fanout_delivered)
{
    rpc_target_t t = {.topic = topic};
    rpc_target_t fan = {.topic = topic, .fanout = true};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    rpc_server_t *second = rpc_server_new(&cfg, topic, "s2", &endpoint, 1, 2);

    CK_OK(rpc_server_start(second));
    for (int i = 0; i < 20; i++)
        CK_OK(rpc_cast(client, &t, ctx, "count", NULL));
    CK_OK(rpc_cast(client, &fan, ctx, "count", NULL));
    for (int i = 0; i < 100 && casts_seen < 22; i++)
        tern_sleep_ms(50);
    ck_assert_int_eq(casts_seen, 22); /* 20 shared + the fanout to both servers */
    rpc_server_free(second);
    json_decref(ctx);
}
END_TEST

START_TEST(test_cast_to_missing_server_is_an_error)
{
    rpc_target_t t = {.topic = topic, .server = "nosuchhost"};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);

    ck_assert_int_eq(rpc_cast(client, &t, ctx, "count", NULL), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    json_decref(ctx);
}
END_TEST

START_TEST(test_unrouted_ok_cast_to_nobody_succeeds)
{
    rpc_target_t quiet = {.topic = topic, .server = "nobody", .unrouted_ok = true};
    rpc_target_t plain = {.topic = topic, .server = "nobody"};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *res = NULL;

    CK_OK(rpc_cast(client, &quiet, ctx, "count", NULL));
    ck_assert_int_eq(rpc_cast(client, &plain, ctx, "count", NULL), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    /* a call nobody would answer is refused before anything is sent */
    ck_assert_int_eq(rpc_call(client, &quiet, ctx, "echo", NULL, 0, &res), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "unrouted_ok is for casts only"));
    ck_assert_ptr_null(res);
    json_decref(ctx);
}
END_TEST

START_TEST(test_call_to_missing_server_or_bad_key_fails_at_once)
{
    char long_host[300];
    rpc_target_t t = {.topic = topic, .server = "nosuchhost"};
    rpc_target_t bad = {.topic = topic, .server = long_host};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *res = NULL;
    int64_t start = tern_now_monotonic_ms();

    /* no queue takes it: the broker returns it, long before the 20 s timeout */
    ck_assert_int_eq(rpc_call(client, &t, ctx, "echo", NULL, 20000, &res), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "no queue takes the message"));
    /* a routing key longer than AMQP allows (255): refused before sending, never retried */
    memset(long_host, 'h', sizeof(long_host) - 1);
    long_host[sizeof(long_host) - 1] = '\0';
    ck_assert_int_eq(rpc_call(client, &bad, ctx, "echo", NULL, 20000, &res), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_int_lt(tern_now_monotonic_ms() - start, 5000);
    json_decref(ctx);
}
END_TEST

/* ---- listeners ---- */

#define counter(c) __atomic_load_n((c), __ATOMIC_SEQ_CST)

/* wait_count: wait (at most 10 s) until *c >= want; the last value. */
static int
wait_count(int *c, int want)
{
    for (int i = 0; i < 200 && counter(c) < want; i++)
        tern_sleep_ms(50);
    return counter(c);
}

static rpc_server_t *
start_listener(const char *t, const char *key, int which)
{
    rpc_server_t *l = rpc_listener_new(&cfg, t, key, &listener_endpoints[which], 1, 1);

    ck_assert_msg(l != NULL, "%s", tern_error_message());
    CK_OK(rpc_server_start(l));
    return l;
}

START_TEST(test_listener_gets_casts_to_its_key_only)
{
    rpc_target_t mine = {.topic = topic, .server = "k1"};
    rpc_target_t other = {.topic = topic, .server = "k2", .unrouted_ok = true};
    rpc_target_t shared = {.topic = topic};
    rpc_target_t fan = {.topic = topic, .fanout = true};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    rpc_server_t *l = start_listener(topic, "k1", 0);

    for (int i = 0; i < 3; i++)
        CK_OK(rpc_cast(client, &mine, ctx, "count", NULL)); /* routed: the listener's queue */
    CK_OK(rpc_cast(client, &other, ctx, "count", NULL));
    CK_OK(rpc_cast(client, &shared, ctx, "count", NULL));
    CK_OK(rpc_cast(client, &fan, ctx, "count", NULL));
    ck_assert_int_eq(wait_count(&heard[0], 3), 3);
    ck_assert_int_eq(wait_count(&casts_seen, 2), 2); /* the server: shared and fanout only */
    tern_sleep_ms(300);
    ck_assert_int_eq(counter(&heard[0]), 3);   /* nothing of k2, the shared queue or the fanout */
    ck_assert_int_eq(counter(&casts_seen), 2); /* and the server saw none of the listener's */
    rpc_server_free(l);
    json_decref(ctx);
}
END_TEST

START_TEST(test_two_listeners_of_a_key_both_receive)
{
    rpc_target_t t = {.topic = topic, .server = "both"};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    rpc_server_t *l1 = start_listener(topic, "both", 0);
    rpc_server_t *l2 = start_listener(topic, "both", 1);

    CK_OK(rpc_cast(client, &t, ctx, "count", NULL));
    ck_assert_int_eq(wait_count(&heard[0], 1), 1);
    ck_assert_int_eq(wait_count(&heard[1], 1), 1);
    tern_sleep_ms(300);
    ck_assert_int_eq(counter(&heard[0]) + counter(&heard[1]), 2);
    rpc_server_free(l1);
    rpc_server_free(l2);
    json_decref(ctx);
}
END_TEST

START_TEST(test_listener_queue_is_its_own_and_gone_after_free)
{
    const harness_services_t *svc = harness_services_get();
    TERN_AUTOFREE char *solo = tern_asprintf("%s_solo", topic); /* no server on this topic */
    TERN_AUTOFREE char *own_prefix = tern_asprintf("%s.k_listener_", solo);
    rpc_target_t t = {.topic = solo, .server = "k"};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    rpc_server_t *l = start_listener(solo, "k", 0);
    long ready, unacked;
    int queues;

    CK_OK(rpc_cast(client, &t, ctx, "count", NULL));
    ck_assert_int_eq(wait_count(&heard[0], 1), 1);
    /* one queue of the topic, and it is the listener's: no "<topic>", "<topic>.k" or fanout */
    CK_OK(harness_rabbitmq_queue_counts(svc, solo, &queues, &ready, &unacked));
    ck_assert_int_eq(queues, 1);
    CK_OK(harness_rabbitmq_queue_counts(svc, own_prefix, &queues, &ready, &unacked));
    ck_assert_int_eq(queues, 1);
    rpc_server_free(l);
    CK_OK(harness_rabbitmq_queue_counts(svc, solo, &queues, &ready, &unacked));
    ck_assert_int_eq(queues, 0);
    ck_assert_int_eq(rpc_cast(client, &t, ctx, "count", NULL), -1); /* nothing bound any more */
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    ck_assert_ptr_null(rpc_listener_new(&cfg, solo, "", &listener_endpoints[0], 1, 1));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    json_decref(ctx);
}
END_TEST

/* raw_publish: put bytes on the topic queue as a hostile or broken client would. */
static void
raw_publish(const char *routing_key, const char *body, const char *reply_q)
{
    const harness_services_t *svc = harness_services_get();
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    amqp_basic_properties_t p = {0};

    ck_assert_int_eq(amqp_socket_open(s, "127.0.0.1", svc->rabbitmq_port), 0);
    ck_assert_int_eq(
        amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "tern", svc->rabbitmq_password)
            .reply_type,
        AMQP_RESPONSE_NORMAL);
    amqp_channel_open(c, 1);
    (void)reply_q;
    ck_assert_int_eq(amqp_basic_publish(c, 1, amqp_cstring_bytes("tern"),
                                        amqp_cstring_bytes(routing_key), 0, 0, &p,
                                        amqp_cstring_bytes(body)),
                     0);
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
}

START_TEST(test_malformed_messages_never_wedge_the_server)
{
    rpc_target_t t = {.topic = topic};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *res = NULL;
    static const char *const bad[] = {
        "not json",
        "[1,2,3]",
        "{\"oslo.version\": \"2.0\", \"oslo.message\": 42}",
        "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"args\\\": {}}\"}",
        "{\"oslo.version\": \"9.9\", \"oslo.message\": \"{}\"}",
        "{\"method\": 7}",
        "{\"method\": \"echo\", \"args\": [1]}",
        "{\"method\": \"echo\", \"_msg_id\": \"x\"}",
        /* a request id that would forge a log line, or is not text */
        "{\"method\": \"echo\", \"_context_request_id\": \"req-1\\n2026-12-01 ERROR forged\"}",
        "{\"method\": \"echo\", \"_context_request_id\": 5}",
        "{\"method\": \"echo\", \"args\": {\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}",
    };

    for (size_t i = 0; i < TERN_N_ELEMENTS(bad); i++)
        raw_publish(topic, bad[i], NULL);
    CK_OK(rpc_call(client, &t, ctx, "echo", NULL, 0, &res));
    ck_assert_uint_eq(SERVER_STAT_WAIT(server, malformed_dropped, TERN_N_ELEMENTS(bad), 5000),
                      TERN_N_ELEMENTS(bad));
    json_decref(res);
    json_decref(ctx);
}
END_TEST

/* A message delivered twice (as the broker does after a lost ack) runs its handler once. */
START_TEST(test_redelivered_message_dropped_and_counted)
{
    static const char body[] = "{\"method\": \"count\", \"_unique_id\": \"0f3c0f3c0f3c\"}";
    rpc_stats_t st;

    raw_publish(topic, body, NULL);
    raw_publish(topic, body, NULL);
    ck_assert_uint_eq(SERVER_STAT_WAIT(server, duplicates_dropped, 1, 10000), 1);
    for (int i = 0; i < 100 && casts_seen < 1; i++)
        tern_sleep_ms(50);
    tern_sleep_ms(200);
    ck_assert_int_eq(casts_seen, 1);
    rpc_server_stats(server, &st);
    ck_assert_uint_eq(st.malformed_dropped + st.casts_failed + st.replies_dropped, 0);
}
END_TEST

/* A cast whose handler fails has nobody to answer: counted (and the one thing rpc/ logs). */
START_TEST(test_failed_cast_counted)
{
    rpc_target_t t = {.topic = topic};
    json_t *ctx = rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *args = json_pack("{s:s}", "uuid", "0f3c");

    CK_OK(rpc_cast(client, &t, ctx, "fail", args));
    CK_OK(rpc_cast(client, &t, ctx, "nosuch", NULL));
    ck_assert_uint_eq(SERVER_STAT_WAIT(server, casts_failed, 2, 10000), 2);
    json_decref(args);
    json_decref(ctx);
}
END_TEST

/* A reply whose queue is gone (its client went away) is published again for 10 s, then given
 * up and its message acknowledged: nobody hears of either but the counters. */
START_TEST(test_reply_to_missing_queue_retried_then_dropped)
{
    rpc_stats_t st;

    raw_publish(topic, "{\"method\": \"echo\", \"_msg_id\": \"m1\", \"_reply_q\": \"reply_gone\"}",
                NULL);
    ck_assert_uint_ge(SERVER_STAT_WAIT(server, replies_retried, 2, 5000), 2);
    rpc_server_stats(server, &st);
    ck_assert_uint_eq(st.replies_dropped, 0);
    ck_assert_uint_eq(SERVER_STAT_WAIT(server, replies_dropped, 1, 20000), 1);
    rpc_server_stats(server, &st);
    ck_assert_uint_ge(st.replies_retried, 10); /* every 250 ms */
}
END_TEST

START_TEST(test_bad_transport_url_named)
{
    rpc_config_t c;

    rpc_config_init(&c);
    c.transport_url = "http://h/";
    ck_assert_ptr_null(rpc_client_new(&c));
    ck_assert_str_eq(tern_error_message(),
                     "invalid transport URL: expected rabbit://, amqp:// or amqps://");
    c.transport_url = "rabbit://u:secretpw@h:notaport/";
    ck_assert_ptr_null(rpc_client_new(&c));
    ck_assert_ptr_null(strstr(tern_error_message(), "secretpw"));
    c.transport_url = "rabbit://u:secretpw@127.0.0.1:1/";
    ck_assert_ptr_null(rpc_client_new(&c));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_UNAVAILABLE);
    ck_assert_ptr_null(strstr(tern_error_message(), "secretpw"));
}
END_TEST

TCase *
rpc_calls_tcase(void)
{
    TCase *tc = tcase_create("calls");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_call_returns_result_and_identity);
    tcase_add_test(tc, test_call_to_server_queue);
    tcase_add_test(tc, test_casts_and_fanout_delivered);
    tcase_add_test(tc, test_slow_handler_does_not_stall_others);
    return tc;
}

TCase *
rpc_errors_tcase(void)
{
    TCase *tc = tcase_create("errors");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_remote_error_keeps_code_and_message);
    tcase_add_test(tc, test_unknown_method_and_newer_version_refused);
    tcase_add_test(tc, test_dispatch_callback_gets_every_method);
    tcase_add_test(tc, test_timeout_then_late_reply_dropped);
    tcase_add_test(tc, test_cast_to_missing_server_is_an_error);
    tcase_add_test(tc, test_unrouted_ok_cast_to_nobody_succeeds);
    tcase_add_test(tc, test_call_to_missing_server_or_bad_key_fails_at_once);
    tcase_add_test(tc, test_malformed_messages_never_wedge_the_server);
    tcase_add_test(tc, test_redelivered_message_dropped_and_counted);
    tcase_add_test(tc, test_failed_cast_counted);
    tcase_add_test(tc, test_reply_to_missing_queue_retried_then_dropped);
    tcase_add_test(tc, test_bad_transport_url_named);
    return tc;
}

TCase *
rpc_listeners_tcase(void)
{
    TCase *tc = tcase_create("listeners");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_listener_gets_casts_to_its_key_only);
    tcase_add_test(tc, test_two_listeners_of_a_key_both_receive);
    tcase_add_test(tc, test_listener_queue_is_its_own_and_gone_after_free);
    return tc;
}
