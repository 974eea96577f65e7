/*
 * rpc/server.c: the serving side - queues, dispatch, worker pool, replies, acks.
 *
 * Owns: the consumer connection and thread, the worker threads (each with a publishing
 * connection of its own for its replies, so replies never wait for each other's publisher
 * confirms), and two queues guarded by lock: jobs (messages taken off the
 * broker, waiting for a worker) and acks (delivery tags whose handler has finished). Only the
 * consumer thread touches its connection: workers hand their acks back to it, so a message is
 * acknowledged after its handler ran and its reply went out. A message whose handler never
 * finished (the process died) is redelivered by the broker.
 *
 * Queues (as oslo.messaging): "<topic>" shared by every server of the topic, "<topic>.<server>"
 * for this server alone, both bound to the control exchange (topic type), and
 * "<topic>_fanout_<uuid>" bound to the "<topic>_fanout" exchange.
 */
#include <pthread.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

/* How many _unique_id values a server remembers to drop redeliveries of messages it already
 * took (oslo keeps 16): a message acknowledged just before the broker went away comes back. */
#define RPC_SEEN_IDS 1024

/* How long a reply is retried when its reply queue does not exist (oslo: 60 s). */
#define REPLY_MISSING_QUEUE_MS 10000

typedef struct job {
    char *body; /* owned */
    size_t len;
    char *user_id; /* AMQP user-id property (owned; "" when absent) */
    uint64_t tag;  /* delivery tag */
    unsigned gen;  /* connection generation the tag belongs to */
    struct job *next;
} job_t;

struct rpc_server {
    rpc_config_t cfg; /* a copy: strings owned (rpc_config_free_strings) */
    rpc_url_t url;
    char *topic, *server_name; /* owned */
    char fanout_q[64];
    const rpc_endpoint_t *endpoints; /* borrowed */
    size_t n_endpoints;
    int n_workers;
    pthread_t consumer;
    pthread_t *workers;
    bool started;
    volatile bool stop;
    rpc_conn_t conn; /* consumer thread only */
    unsigned gen;    /* consumer thread only (copied into jobs) */
    int inflight;    /* consumer thread only: jobs taken off the broker and not acknowledged */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job_t *jobs, **jobs_tail;    /* guarded by lock */
    job_t *acks;                 /* guarded by lock: finished jobs to acknowledge */
    bool draining;               /* guarded by lock: workers exit when jobs is empty */
    char seen[RPC_SEEN_IDS][33]; /* guarded by lock: _unique_id of the last messages taken */
    size_t seen_next;            /* guarded by lock: next slot of seen to overwrite */
};

/* ---- dispatch ---- */

/* version_ok: a request for "X.Y" is served by endpoint "A.B" when X == A and Y <= B. */
static bool
version_ok(const char *requested, const char *have)
{
    int rx = 1, ry = 0, hx = 1, hy = 0;

    if (requested && sscanf(requested, "%d.%d", &rx, &ry) < 1)
        return false;
    if (have)
        sscanf(have, "%d.%d", &hx, &hy);
    return rx == hx && ry <= hy;
}

static int
dispatch(rpc_server_t *srv, const rpc_incoming_t *in, const char *user_id, json_t **ret_result)
{
    const rpc_endpoint_t *ep = NULL;
    bool ns_found = false;
    rpc_request_t req;

    for (size_t i = 0; i < srv->n_endpoints; i++) {
        const rpc_endpoint_t *e = &srv->endpoints[i];

        if (!tern_streq(e->namespace, in->namespace))
            continue;
        ns_found = true;
        if (version_ok(in->version, e->version)) {
            ep = e;
            break;
        }
    }
    if (!ep) {
        if (ns_found)
            return tern_error_set(TERN_ERR_INVALID,
                                  "unsupported RPC API version %s of topic \"%s\" for \"%s\"",
                                  in->version ? in->version : "1.0", srv->topic, in->method);
        return tern_error_set(TERN_ERR_INVALID, "unknown RPC namespace \"%s\" of topic \"%s\"",
                              in->namespace ? in->namespace : "", srv->topic);
    }
    for (size_t i = 0; i < ep->n_methods; i++) {
        if (strcmp(ep->methods[i].name, in->method) != 0)
            continue;
        req.method = in->method;
        req.args = in->args;
        req.context = in->context;
        req.request_id = json_string_value(json_object_get(in->context, "request_id"));
        req.amqp_user_id = user_id;
        req.version = in->version ? in->version : "1.0";
        *ret_result = NULL;
        return ep->methods[i].handler(ep->opaque, &req, ret_result);
    }
    return tern_error_set(TERN_ERR_INVALID, "unknown method \"%s\" of topic \"%s\"", in->method,
                          srv->topic);
}

static void
send_reply(rpc_server_t *srv, rpc_conn_t *pub, const char *reply_q, const char *msg_id,
           json_t *result, const tern_error_t *failure)
{
    TERN_AUTOFREE char *body = rpc_message_encode_reply(msg_id, result, failure);
    int64_t now = tern_now_monotonic_ms();
    int64_t deadline = now + srv->cfg.response_timeout_ms;
    int64_t missing_deadline = now + REPLY_MISSING_QUEUE_MS;
    int64_t delay = srv->cfg.retry_interval_ms;
    int rc = -1;

    /* Retried while the broker is away (the redelivery of this message will be dropped as a
     * duplicate, so this is its only answer), and for a while when the reply queue is missing
     * (after a broker restart its client declares it again), as oslo does. */
    for (;;) {
        bool returned = false;

        if (pub->state || rpc_conn_open(pub, true, srv->cfg.heartbeat_timeout_s) == 0) {
            rc = rpc_conn_publish(pub, "", reply_q, body, strlen(body), true);
            if (rc == 0)
                break;
            returned = tern_error_code() == TERN_ERR_UNAVAILABLE;
            if (!returned)
                rpc_conn_close(pub);
        }
        now = tern_now_monotonic_ms();
        if (now + delay >= deadline || (returned && now + delay >= missing_deadline))
            break;
        tern_sleep_ms(returned ? 250 : delay);
        if (!returned && (delay += srv->cfg.retry_backoff_ms) > srv->cfg.retry_max_ms)
            delay = srv->cfg.retry_max_ms;
    }
    if (rc < 0)
        TERN_WARN("could not reply to %s on \"%s\": %s", msg_id, reply_q, tern_error_message());
}

/* reply_address: _msg_id and _reply_q of a message too broken to decode, if they can be read. */
static void
reply_address(const char *body, size_t len, char **ret_msg_id, char **ret_reply_q)
{
    json_t *outer = json_loadb(body, len, 0, NULL);
    json_t *inner = NULL;
    const char *text = json_string_value(json_object_get(outer, "oslo.message"));

    inner = text ? json_loads(text, 0, NULL) : json_incref(outer);
    *ret_msg_id = tern_strdup(json_string_value(json_object_get(inner, "_msg_id")));
    *ret_reply_q = tern_strdup(json_string_value(json_object_get(inner, "_reply_q")));
    json_decref(inner);
    json_decref(outer);
}

/* seen_before: true when unique_id was taken already; else remember it. */
static bool
seen_before(rpc_server_t *srv, const char *unique_id)
{
    bool found = false;

    if (!unique_id || strlen(unique_id) >= sizeof(srv->seen[0]))
        return false;
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < RPC_SEEN_IDS && !found; i++)
        found = strcmp(srv->seen[i], unique_id) == 0;
    if (!found) {
        tern_strlcpy(srv->seen[srv->seen_next], unique_id, sizeof(srv->seen[0]));
        srv->seen_next = (srv->seen_next + 1) % RPC_SEEN_IDS;
    }
    pthread_mutex_unlock(&srv->lock);
    return found;
}

static void
handle_job(rpc_server_t *srv, rpc_conn_t *pub, job_t *job)
{
    rpc_incoming_t in;
    json_t *result = NULL;
    tern_error_t err;

    tern_error_reset();
    if (rpc_message_decode_request(job->body, job->len, srv->cfg.max_message_bytes, &in) < 0) {
        char *msg_id = NULL, *reply_q = NULL;

        tern_error_copy(&err);
        TERN_WARN("dropped a malformed message on topic \"%s\": %s", srv->topic, err.message);
        reply_address(job->body, job->len, &msg_id, &reply_q);
        if (msg_id && reply_q)
            send_reply(srv, pub, reply_q, msg_id, NULL, &err);
        free(msg_id);
        free(reply_q);
        return;
    }
    if (seen_before(srv, in.unique_id)) {
        TERN_WARN("dropped a redelivered message %s (\"%s\" on topic \"%s\"): already taken",
                  in.unique_id, in.method, srv->topic);
        rpc_incoming_clear(&in);
        return;
    }
    tern_log_set_request_id(json_string_value(json_object_get(in.context, "request_id")));
    if (dispatch(srv, &in, job->user_id, &result) < 0) {
        tern_error_copy(&err);
        if (err.code == TERN_ERR_NONE)
            err.code = TERN_ERR_INTERNAL;
        TERN_DEBUG("\"%s\" from \"%s\" failed: %s", in.method, job->user_id, err.message);
        if (in.msg_id)
            send_reply(srv, pub, in.reply_q, in.msg_id, NULL, &err);
        else
            TERN_WARN("cast \"%s\" failed: %s", in.method, err.message);
    } else if (in.msg_id) {
        send_reply(srv, pub, in.reply_q, in.msg_id, result, NULL);
    }
    json_decref(result);
    tern_log_set_request_id(NULL);
    rpc_incoming_clear(&in);
}

/* ---- workers ---- */

static void *
worker_thread(void *arg)
{
    rpc_server_t *srv = arg;
    rpc_conn_t pub = {.cfg = &srv->cfg,
                      .url = &srv->url}; /* this worker's replies, opened lazily */

    for (;;) {
        job_t *job;

        pthread_mutex_lock(&srv->lock);
        while (!srv->jobs && !srv->draining)
            pthread_cond_wait(&srv->cond, &srv->lock);
        job = srv->jobs;
        if (!job) {
            pthread_mutex_unlock(&srv->lock);
            rpc_conn_close(&pub);
            return NULL;
        }
        srv->jobs = job->next;
        if (!srv->jobs)
            srv->jobs_tail = &srv->jobs;
        pthread_mutex_unlock(&srv->lock);

        handle_job(srv, &pub, job);

        free(job->body);
        job->body = NULL;
        pthread_mutex_lock(&srv->lock);
        job->next = srv->acks;
        srv->acks = job;
        pthread_mutex_unlock(&srv->lock);
    }
}

/* ---- the consumer ---- */

static int
consume_queue(rpc_server_t *srv, const char *queue)
{
    amqp_basic_consume(srv->conn.state, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    return rpc_conn_check(&srv->conn, amqp_get_rpc_reply(srv->conn.state), "consume a queue");
}

/* consumer_setup: connect, declare exchanges and queues, start consuming. */
static int
consumer_setup(rpc_server_t *srv)
{
    rpc_conn_t *c = &srv->conn;
    TERN_AUTOFREE char *server_q = tern_asprintf("%s.%s", srv->topic, srv->server_name);
    TERN_AUTOFREE char *fanout_x = tern_asprintf("%s_fanout", srv->topic);

    if (rpc_conn_open(c, false, srv->cfg.heartbeat_timeout_s) < 0)
        return -1;
    amqp_basic_qos(c->state, 1, 0, (uint16_t)(srv->n_workers * 2), 0);
    if (rpc_conn_check(c, amqp_get_rpc_reply(c->state), "set the prefetch count") < 0 ||
        rpc_conn_declare_exchange(c, srv->cfg.control_exchange, "topic") < 0 ||
        rpc_conn_declare_exchange(c, fanout_x, "fanout") < 0 ||
        rpc_conn_declare_queue(c, srv->topic, false, srv->cfg.control_exchange, srv->topic) < 0 ||
        rpc_conn_declare_queue(c, server_q, false, srv->cfg.control_exchange, server_q) < 0 ||
        rpc_conn_declare_queue(c, srv->fanout_q, true, fanout_x, srv->topic) < 0 ||
        consume_queue(srv, srv->topic) < 0 || consume_queue(srv, server_q) < 0 ||
        consume_queue(srv, srv->fanout_q) < 0)
        return -1;
    srv->gen++;
    return 0;
}

/* flush_acks: acknowledge finished jobs of this connection (older ones are redelivered). */
static int
flush_acks(rpc_server_t *srv)
{
    job_t *acks;
    int rc = 0;

    pthread_mutex_lock(&srv->lock);
    acks = srv->acks;
    srv->acks = NULL;
    pthread_mutex_unlock(&srv->lock);
    while (acks) {
        job_t *next = acks->next;

        if (rc == 0 && srv->conn.state && acks->gen == srv->gen &&
            amqp_basic_ack(srv->conn.state, 1, acks->tag, 0) != 0)
            rc = -1;
        free(acks->user_id);
        free(acks);
        srv->inflight--;
        acks = next;
    }
    return rc;
}

static void
enqueue_job(rpc_server_t *srv, amqp_envelope_t *env)
{
    job_t *job = tern_calloc(1, sizeof(*job));
    amqp_basic_properties_t *p = &env->message.properties;

    job->body = tern_malloc(env->message.body.len + 1);
    memcpy(job->body, env->message.body.bytes, env->message.body.len);
    job->body[env->message.body.len] = '\0';
    job->len = env->message.body.len;
    job->user_id =
        (p->_flags & AMQP_BASIC_USER_ID_FLAG) ? rpc_bytes_dup(p->user_id) : tern_strdup("");
    job->tag = env->delivery_tag;
    job->gen = srv->gen;
    srv->inflight++;
    pthread_mutex_lock(&srv->lock);
    *srv->jobs_tail = job;
    srv->jobs_tail = &job->next;
    pthread_cond_signal(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
}

static void *
consumer_thread(void *arg)
{
    rpc_server_t *srv = arg;
    int64_t delay = srv->cfg.retry_interval_ms;

    while (!srv->stop) {
        /* Once the prefetch window is full the broker sends nothing more until it gets acks,
         * so nothing would wake this loop to send them: come back soon then. */
        struct timeval tv = {.tv_sec = 0,
                             .tv_usec = srv->inflight >= srv->n_workers * 2 ? 1000 : 100000};
        amqp_envelope_t env;
        amqp_rpc_reply_t r;

        if (!srv->conn.state) {
            if (consumer_setup(srv) < 0) {
                TERN_WARN("topic \"%s\": %s; retrying in %lld ms", srv->topic, tern_error_message(),
                          (long long)delay);
                rpc_conn_close(&srv->conn);
                for (int64_t w = 0; w < delay && !srv->stop; w += 100)
                    tern_sleep_ms(100);
                delay = delay + srv->cfg.retry_backoff_ms > srv->cfg.retry_max_ms
                            ? srv->cfg.retry_max_ms
                            : delay + srv->cfg.retry_backoff_ms;
                continue;
            }
            delay = srv->cfg.retry_interval_ms;
        }
        if (flush_acks(srv) < 0) {
            rpc_conn_close(&srv->conn);
            continue;
        }
        amqp_maybe_release_buffers(srv->conn.state);
        r = amqp_consume_message(srv->conn.state, &env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT)
            continue;
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            rpc_conn_check(&srv->conn, r, "receive messages");
            TERN_WARN("topic \"%s\": connection lost: %s; reconnecting", srv->topic,
                      tern_error_message());
            rpc_conn_close(&srv->conn);
            continue;
        }
        TERN_DEBUG("delivery %llu on \"%.*s\"", (unsigned long long)env.delivery_tag,
                   (int)env.routing_key.len, (char *)env.routing_key.bytes);
        enqueue_job(srv, &env);
        amqp_destroy_envelope(&env);
    }
    return NULL;
}

/* ---- public API ---- */

rpc_server_t *
rpc_server_new(const rpc_config_t *cfg, const char *topic, const char *server_name,
               const rpc_endpoint_t *endpoints, size_t n_endpoints, int n_workers)
{
    rpc_server_t *srv = tern_calloc(1, sizeof(*srv));
    char uuid[37];
    size_t j;

    rpc_config_copy(cfg, &srv->cfg); /* the caller's strings are borrowed only during this call */
    if (rpc_url_parse(cfg->transport_url, &srv->url) < 0) {
        rpc_config_free_strings(&srv->cfg);
        free(srv);
        return NULL;
    }
    srv->topic = tern_strdup(topic);
    srv->server_name = tern_strdup(server_name);
    srv->endpoints = endpoints;
    srv->n_endpoints = n_endpoints;
    srv->n_workers = n_workers > 0 ? n_workers : 1;
    srv->conn.cfg = &srv->cfg;
    srv->conn.url = &srv->url;
    srv->jobs_tail = &srv->jobs;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);
    tern_uuid_generate(uuid);
    j = (size_t)snprintf(srv->fanout_q, sizeof(srv->fanout_q), "%.20s_fanout_", topic);
    for (size_t i = 0; uuid[i] && j + 1 < sizeof(srv->fanout_q); i++) {
        if (uuid[i] != '-')
            srv->fanout_q[j++] = uuid[i];
    }
    srv->fanout_q[j] = '\0';
    return srv;
}

int
rpc_server_start(rpc_server_t *srv)
{
    /* The first connection is made here so that a bad URL or credentials fail the start. */
    if (consumer_setup(srv) < 0) {
        rpc_conn_close(&srv->conn);
        return tern_error_prefix("could not serve topic \"%s\"", srv->topic);
    }
    srv->workers = tern_calloc((size_t)srv->n_workers, sizeof(pthread_t));
    for (int i = 0; i < srv->n_workers; i++)
        pthread_create(&srv->workers[i], NULL, worker_thread, srv);
    pthread_create(&srv->consumer, NULL, consumer_thread, srv);
    srv->started = true;
    return 0;
}

void
rpc_server_stop(rpc_server_t *srv)
{
    if (!srv || !srv->started)
        return;
    srv->stop = true;
    pthread_join(srv->consumer, NULL);
    pthread_mutex_lock(&srv->lock);
    srv->draining = true;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    for (int i = 0; i < srv->n_workers; i++)
        pthread_join(srv->workers[i], NULL);
    flush_acks(srv);
    rpc_conn_close(&srv->conn);
    srv->started = false;
}

void
rpc_server_free(rpc_server_t *srv)
{
    if (!srv)
        return;
    rpc_server_stop(srv);
    rpc_conn_close(&srv->conn);
    for (job_t *j = srv->jobs, *n; j; j = n) {
        n = j->next;
        free(j->body);
        free(j->user_id);
        free(j);
    }
    free(srv->workers);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    rpc_url_clear(&srv->url);
    rpc_config_free_strings(&srv->cfg);
    free(srv->topic);
    free(srv->server_name);
    free(srv);
}
