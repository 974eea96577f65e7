/*
 * tests/rpc/test-rpc-limits.c: the RPC library's bounds on what a peer can make it hold, on a
 * private RabbitMQ of its own (a gigabyte goes through the broker: no other suite should wait
 * behind it).
 *
 * limits: 16 messages of 64 MiB (16 times max_message_bytes) published with rabbitmq-c to the
 *         topic queue of a tern server running in a child process: each is dropped as it
 *         streams in (counted as oversized_dropped, never parsed, not even for its reply
 *         address), the server then answers a call, and the child's peak resident memory
 *         (VmHWM, read by the parent while the child runs) stays under 256 MiB; the same for a
 *         client in a child whose reply queue gets 16 replies of 64 MiB to its call: the call
 *         times out, the replies are dropped as oversized, the next call is answered, and the
 *         child's peak stays under 256 MiB; and a server started with 16 such messages
 *         waiting in its queue, stopped as they stream in, and started again: its child's peak
 *         under 256 MiB too (rabbitmq-c keeps nothing whole while tern waits for a consume-ok
 *         or a close-ok).
 *
 * Every test creates its own topic. The children are forked before the parent allocates its
 * 64 MiB buffer, so that their peak is theirs alone.
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
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

#define BIG_BYTES (64u * 1024 * 1024)
#define BIG_COUNT 16
#define PEAK_LIMIT_KB (256 * 1024)

static harness_services_t *svc; /* private; started by rpc_limits_prepare */

static char *
topic_name(const char *prefix)
{
    char uuid[37];

    tern_uuid_generate(uuid);
    uuid[8] = '\0';
    return tern_asprintf("%s_%s", prefix, uuid);
}

static void
limits_config(rpc_config_t *cfg)
{
    rpc_config_init(cfg);
    cfg->transport_url = svc->rabbitmq_url;
    cfg->retry_interval_ms = 200;
    cfg->retry_backoff_ms = 200;
    cfg->retry_max_ms = 1000;
}

/* ---- the child's endpoint ---- */

static rpc_server_t *child_server; /* the child's own server (stats) */

static int
h_echo(void *opaque, const rpc_request_t *req, json_t **ret)
{
    *ret = json_pack("{s:O}", "args", req->args);
    return 0;
}

/* stats: the serving child's counters, for the parent to check. */
static int
h_stats(void *opaque, const rpc_request_t *req, json_t **ret)
{
    rpc_stats_t st;

    rpc_server_stats(child_server, &st);
    *ret = json_pack("{s:I, s:I}", "oversized_dropped", (json_int_t)st.oversized_dropped,
                     "malformed_dropped", (json_int_t)st.malformed_dropped);
    return 0;
}

static const rpc_method_t limit_methods[] = {{"echo", h_echo}, {"stats", h_stats}};
static const rpc_endpoint_t limit_endpoint = {
    .version = "1.0",
    .methods = limit_methods,
    .n_methods = TERN_N_ELEMENTS(limit_methods),
};

/* ---- helpers ---- */

/* peak_kb: VmHWM of process pid, in KiB (-1 when unreadable). */
static long
peak_kb(pid_t pid)
{
    TERN_AUTOFREE char *path = tern_asprintf("/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    char line[256];
    long kb = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* raw_open: a plain rabbitmq-c connection to the private broker, channel 1 open. */
static amqp_connection_state_t
raw_open(void)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);

    ck_assert_int_eq(amqp_socket_open(s, "127.0.0.1", svc->rabbitmq_port), 0);
    ck_assert_int_eq(
        amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "tern", svc->rabbitmq_password)
            .reply_type,
        AMQP_RESPONSE_NORMAL);
    amqp_channel_open(c, 1);
    ck_assert_int_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
    return c;
}

static void
raw_close(amqp_connection_state_t c)
{
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
}

/* big_body: a BIG_BYTES buffer (new) holding prefix, then spaces, then suffix: valid JSON whose
 * reply address, were it parsed, would be readable at the start. */
static char *
big_body(const char *prefix, const char *suffix)
{
    char *b = tern_malloc(BIG_BYTES);
    size_t np = strlen(prefix), ns = strlen(suffix);

    memcpy(b, prefix, np);
    memset(b + np, ' ', BIG_BYTES - np - ns);
    memcpy(b + BIG_BYTES - ns, suffix, ns);
    return b;
}

/* publish_big: publish body (BIG_BYTES) count times to exchange/key, the same buffer each time,
 * then close the connection (its close-ok: the broker has read them all). */
static void
publish_big(const char *exchange, const char *key, const char *body, int count)
{
    amqp_connection_state_t c = raw_open();
    amqp_basic_properties_t p = {._flags = AMQP_BASIC_CONTENT_TYPE_FLAG,
                                 .content_type = amqp_cstring_bytes("application/json")};
    amqp_bytes_t bytes = {.len = BIG_BYTES, .bytes = (void *)body};

    for (int i = 0; i < count; i++)
        ck_assert_int_eq(amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange),
                                            amqp_cstring_bytes(key), 0, 0, &p, bytes),
                         AMQP_STATUS_OK);
    raw_close(c);
}

/* stop_child: end the child (SIGKILL) and reap it. */
static void
stop_child(pid_t pid)
{
    int status;

    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* ---- the server side ---- */

START_TEST(test_oversized_messages_dropped_unread_server_memory_bounded)
{
    TERN_AUTOFREE char *topic = topic_name("big");
    TERN_AUTOFREE char *body = NULL;
    rpc_target_t target = {.topic = NULL};
    json_t *ctx, *res = NULL;
    rpc_config_t cfg;
    rpc_client_t *client;
    int64_t t0, deadline;
    json_int_t oversized = 0, malformed = 0;
    int fds[2];
    char b;
    pid_t pid;
    long kb;

    limits_config(&cfg);
    target.topic = topic;
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        child_server = rpc_server_new(&cfg, topic, "h1", &limit_endpoint, 1, 4);
        if (!child_server || rpc_server_start(child_server) < 0)
            _exit(2);
        if (write(fds[1], "s", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &b, 1), 1);
    ck_assert_int_eq(b, 's'); /* serving */
    close(fds[0]);

    /* calls, as a peer would send them, with their reply address at the start: 16 times the
     * limit, and 16 times the old minimum prefetch's worth of 64 MiB */
    body = big_body("{\"method\": \"echo\", \"_msg_id\": \"0123456789abcdef\", \"_reply_q\": "
                    "\"reply_nobody\", \"args\": {\"pad\": \"",
                    "\"}}");
    t0 = tern_now_monotonic_ms();
    publish_big("tern", topic, body, BIG_COUNT);
    fprintf(stderr, "limits: %d messages of %u MiB published in %lld ms\n", BIG_COUNT,
            BIG_BYTES >> 20, (long long)(tern_now_monotonic_ms() - t0));
    free(body);
    body = NULL;

    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    ctx = rpc_context_new("u1", "p1", NULL, NULL);
    CK_OK(rpc_call(client, &target, ctx, "echo", NULL, 120000, &res));
    ck_assert(json_is_object(json_object_get(res, "args")));
    json_decref(res);
    /* every one of them dropped as oversized, none as malformed (none was parsed) */
    deadline = tern_now_monotonic_ms() + 30000;
    for (;;) {
        res = NULL;
        CK_OK(rpc_call(client, &target, ctx, "stats", NULL, 10000, &res));
        oversized = json_integer_value(json_object_get(res, "oversized_dropped"));
        malformed = json_integer_value(json_object_get(res, "malformed_dropped"));
        json_decref(res);
        if (oversized >= BIG_COUNT || tern_now_monotonic_ms() >= deadline)
            break;
        tern_sleep_ms(100);
    }

    kb = peak_kb(pid);
    fprintf(stderr, "limits: server child's VmHWM %ld kB after %d messages of %u MiB\n", kb,
            BIG_COUNT, BIG_BYTES >> 20);
    stop_child(pid);
    rpc_client_free(client);
    json_decref(ctx);
    ck_assert_int_gt(kb, 0);
    ck_assert_msg(kb < PEAK_LIMIT_KB, "the server's peak resident memory was %ld kB", kb);
    ck_assert_int_eq(oversized, BIG_COUNT);
    ck_assert_int_eq(malformed, 0);
}
END_TEST

/* A backlog of oversized messages waiting when a server starts (its consumers' deliveries
 * begin while it still starts consuming its other queues), and the server stopped while they
 * stream in (its close): rabbitmq-c keeps none of them whole meanwhile. */
START_TEST(test_oversized_backlog_at_start_and_stop_server_memory_bounded)
{
    TERN_AUTOFREE char *topic = topic_name("backlog");
    TERN_AUTOFREE char *body = NULL;
    rpc_target_t target = {.topic = NULL};
    json_t *ctx, *res = NULL;
    rpc_config_t cfg;
    rpc_server_t *srv;
    rpc_client_t *client;
    int fds[2];
    char b;
    pid_t pid;
    long kb;

    limits_config(&cfg);
    target.topic = topic;
    /* the topic's queues, declared as a server does, then left: the messages wait there */
    srv = rpc_server_new(&cfg, topic, "h1", &limit_endpoint, 1, 4);
    ck_assert_msg(srv != NULL, "%s", tern_error_message());
    CK_OK(rpc_server_start(srv));
    rpc_server_free(srv);
    body = big_body("{\"method\": \"echo\", \"args\": {\"pad\": \"", "\"}}");
    publish_big("tern", topic, body, BIG_COUNT);
    free(body); /* given back to the system (mmap): not in the child's resident memory */
    body = NULL;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        rpc_server_t *first;

        close(fds[0]);
        /* a server that starts into the backlog and is stopped as it streams in */
        first = rpc_server_new(&cfg, topic, "h1", &limit_endpoint, 1, 4);
        if (!first || rpc_server_start(first) < 0)
            _exit(2);
        tern_sleep_ms(300);
        rpc_server_free(first);
        /* and the one that serves the rest */
        child_server = rpc_server_new(&cfg, topic, "h1", &limit_endpoint, 1, 4);
        if (!child_server || rpc_server_start(child_server) < 0)
            _exit(2);
        if (write(fds[1], "s", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &b, 1), 1);
    ck_assert_int_eq(b, 's');
    close(fds[0]);

    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "rpc_client_new: %s", tern_error_message());
    ctx = rpc_context_new("u1", "p1", NULL, NULL);
    CK_OK(rpc_call(client, &target, ctx, "echo", NULL, 120000, &res));
    json_decref(res);
    res = NULL;
    CK_OK(rpc_call(client, &target, ctx, "stats", NULL, 10000, &res));
    kb = peak_kb(pid);
    fprintf(stderr,
            "limits: backlog server child's VmHWM %ld kB after %d messages of %u MiB waiting "
            "(%lld dropped by the second server)\n",
            kb, BIG_COUNT, BIG_BYTES >> 20,
            (long long)json_integer_value(json_object_get(res, "oversized_dropped")));
    ck_assert_int_eq(json_integer_value(json_object_get(res, "malformed_dropped")), 0);
    json_decref(res);
    stop_child(pid);
    rpc_client_free(client);
    json_decref(ctx);
    ck_assert_int_gt(kb, 0);
    ck_assert_msg(kb < PEAK_LIMIT_KB, "the server's peak resident memory was %ld kB", kb);
}
END_TEST

/* ---- the client side ---- */

/* What the calling child reports. */
typedef struct client_report {
    int first_rc, first_code; /* the call answered with oversized replies only */
    int second_rc;            /* the next call, answered by a tern server */
    uint64_t oversized, malformed;
    char error[200];
} client_report_t;

START_TEST(test_oversized_replies_dropped_unread_client_memory_bounded)
{
    TERN_AUTOFREE char *topic = topic_name("bigreply");
    TERN_AUTOFREE char *echo_topic = topic_name("echo");
    TERN_AUTOFREE char *body = NULL;
    TERN_AUTOFREE char *prefix = NULL;
    client_report_t rep = {0};
    rpc_config_t cfg;
    rpc_server_t *srv;
    amqp_connection_state_t c;
    amqp_envelope_t env;
    json_t *req, *inner;
    const char *text;
    int report[2], go[2];
    char b;
    pid_t pid;
    long kb;

    limits_config(&cfg);
    /* the topic's queue, read here with rabbitmq-c: the exchange as tern declares it */
    c = raw_open();
    amqp_exchange_declare(c, 1, amqp_cstring_bytes("tern"), amqp_cstring_bytes("topic"), 0, 0, 0, 0,
                          amqp_empty_table);
    ck_assert_int_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
    amqp_queue_declare(c, 1, amqp_cstring_bytes(topic), 0, 0, 0, 1, amqp_empty_table);
    ck_assert_int_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
    amqp_queue_bind(c, 1, amqp_cstring_bytes(topic), amqp_cstring_bytes("tern"),
                    amqp_cstring_bytes(topic), amqp_empty_table);
    ck_assert_int_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);

    ck_assert_int_eq(pipe(report), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        rpc_target_t big = {.topic = topic}, echo = {.topic = echo_topic};
        json_t *ctx = rpc_context_new("u1", "p1", NULL, NULL);
        json_t *res = NULL;
        rpc_client_t *client;
        rpc_stats_t st;

        close(report[0]);
        close(go[1]);
        if (!(client = rpc_client_new(&cfg)))
            _exit(2);
        rep.first_rc = rpc_call(client, &big, ctx, "big", NULL, 5000, &res);
        rep.first_code = tern_error_code();
        tern_strlcpy(rep.error, tern_error_message(), sizeof(rep.error));
        json_decref(res);
        res = NULL;
        if (read(go[0], &b, 1) != 1) /* the parent has published every reply */
            _exit(4);
        rep.second_rc = rpc_call(client, &echo, ctx, "echo", NULL, 120000, &res);
        if (rep.second_rc < 0)
            tern_strlcpy(rep.error, tern_error_message(), sizeof(rep.error));
        json_decref(res);
        rpc_client_stats(client, &st);
        rep.oversized = st.oversized_dropped;
        rep.malformed = st.malformed_dropped;
        if (write(report[1], &rep, sizeof(rep)) != sizeof(rep))
            _exit(3);
        (void)read(go[0], &b, 1); /* the parent has read the peak */
        _exit(0);
    }
    close(report[1]);
    close(go[0]);
    srv = rpc_server_new(&cfg, echo_topic, "h1", &limit_endpoint, 1, 2);
    ck_assert_msg(srv != NULL, "%s", tern_error_message());
    CK_OK(rpc_server_start(srv));

    /* the child's request, then 16 replies of 64 MiB to it, with its own _msg_id */
    amqp_basic_consume(c, 1, amqp_cstring_bytes(topic), amqp_empty_bytes, 0, 1, 0,
                       amqp_empty_table);
    ck_assert_int_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
    ck_assert_int_eq(amqp_consume_message(c, &env, NULL, 0).reply_type, AMQP_RESPONSE_NORMAL);
    req = json_loadb(env.message.body.bytes, env.message.body.len, 0, NULL);
    text = json_string_value(json_object_get(req, "oslo.message"));
    inner = text ? json_loads(text, 0, NULL) : NULL;
    ck_assert_ptr_nonnull(inner);
    amqp_destroy_envelope(&env);
    raw_close(c);
    prefix = tern_asprintf("{\"result\": {\"pad\": \"x\"}, \"failure\": null, \"ending\": true, "
                           "\"_msg_id\": \"%s\", \"pad\": \"",
                           json_string_value(json_object_get(inner, "_msg_id")));
    body = big_body(prefix, "\"}");
    publish_big("", json_string_value(json_object_get(inner, "_reply_q")), body, BIG_COUNT);
    ck_assert_int_eq(write(go[1], "p", 1), 1);
    free(body);
    body = NULL;
    json_decref(inner);
    json_decref(req);

    ck_assert_int_eq(read(report[0], &rep, sizeof(rep)), sizeof(rep));
    kb = peak_kb(pid);
    fprintf(stderr, "limits: client child's VmHWM %ld kB after %d replies of %u MiB\n", kb,
            BIG_COUNT, BIG_BYTES >> 20);
    if (write(go[1], "g", 1) != 1)
        kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    close(report[0]);
    close(go[1]);
    rpc_server_free(srv);
    ck_assert_msg(rep.first_rc < 0 && rep.first_code == TERN_ERR_TIMEOUT,
                  "the call answered with oversized replies: rc %d, %s: %s", rep.first_rc,
                  tern_error_code_name(rep.first_code), rep.error);
    ck_assert_msg(rep.second_rc == 0, "the next call failed: %s", rep.error);
    ck_assert_int_gt(kb, 0);
    ck_assert_msg(kb < PEAK_LIMIT_KB, "the client's peak resident memory was %ld kB", kb);
    ck_assert_uint_eq(rep.oversized, BIG_COUNT);
    ck_assert_uint_eq(rep.malformed, 0);
}
END_TEST

int
rpc_limits_prepare(void)
{
    if (harness_services_start_private(&svc) < 0)
        return tern_error_prefix("could not start the limits case's private services");
    return 0;
}

void
rpc_limits_release(void)
{
    harness_services_destroy(svc);
    svc = NULL;
}

TCase *
rpc_limits_tcase(void)
{
    TCase *tc = tcase_create("limits");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_oversized_messages_dropped_unread_server_memory_bounded);
    tcase_add_test(tc, test_oversized_backlog_at_start_and_stop_server_memory_bounded);
    tcase_add_test(tc, test_oversized_replies_dropped_unread_client_memory_bounded);
    return tc;
}
