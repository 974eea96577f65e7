/*
 * rpc/server.c: the serving side - queues, dispatch, worker pool, replies, acks.
 *
 * Owns two connections: conn, the consumer of the server's queues (deliveries in, acks out),
 * and pub, on which the workers publish replies (publisher confirms on; nobody waits for them
 * while publishing). Both are guarded by their own lock. Owns the reader of both (and so its
 * keeper thread), the worker threads, and the jobs (messages taken off the broker), which live
 * in one of the lists guarded by lock: jobs (waiting for a worker), retries (a reply to publish
 * again later) and confirmed (the reply is confirmed: the message is to be acknowledged), or
 * with the worker handling them, or with pub while their reply waits for its confirm.
 *
 * What a request means (endpoint, version, method) and which messages were taken already is
 * rpc/dispatch.c's.
 *
 * Reading is done by the workers themselves, by turns (rpc/reader.c): an idle worker that finds
 * no reader becomes it, polls both sockets, pumps them - deliveries become jobs, confirms move
 * jobs on - and then takes a job itself. The reader's keeper thread wakes an idle worker when
 * jobs wait or nobody reads, and pumps both connections itself when every worker is busy, so
 * heartbeats always flow. After each read, the reader publishes the replies due again and
 * acknowledges the messages whose replies were confirmed (after_read).
 *
 * A message is acknowledged after its handler ran and its reply was confirmed by the broker; a
 * message whose handler never finished (the process died) is redelivered by the broker.
 *
 * Queues (as oslo.messaging): "<topic>" shared by every server of the topic, "<topic>.<server>"
 * for this server alone, both bound to the control exchange (topic type), and
 * "<topic>_fanout_<uuid>" bound to the "<topic>_fanout" exchange. A listener (rpc_listener_new)
 * is the same machinery with one queue instead: "<topic>.<key>_listener_<uuid>", exclusive to
 * its consumer connection, bound to the control exchange with key "<topic>.<key>".
 */
#include <pthread.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

/* How long a reply is retried when its reply queue does not exist (oslo: 60 s), and how often. */
#define REPLY_MISSING_QUEUE_MS 10000
#define REPLY_MISSING_RETRY_MS 250

/* How long a reader polls before looking around again. */
#define READ_SLICE_MS 100
/* The keeper's tick while jobs flow: the longest a queued job waits for an idle worker, or the
 * sockets for a reader, while the worker that read last runs a handler. It ticks at the
 * reader's idle pace (1 s) again once no job was taken for KEEPER_QUIET_MS. */
#define KEEPER_TICK_MS 10
#define KEEPER_QUIET_MS 1000
/* The confirms of replies are read (and their messages acknowledged, in one write) this often,
 * or at once when half the prefetch window waits for them. */
#define CONFIRM_LAG_MS 5

/* How long rpc_server_stop() waits for the confirms of the last replies. */
#define STOP_CONFIRM_MS 5000

typedef struct job {
    struct rpc_server *srv;
    char *body; /* owned; NULL once handled */
    size_t len;
    char *user_id; /* AMQP user-id property (owned; "" when absent) */
    uint64_t tag;  /* delivery tag */
    unsigned gen;  /* consumer connection generation the tag belongs to */
    /* the reply, once the handler ran (all owned; reply NULL for a cast) */
    char *reply;
    char *reply_q;
    char *msg_id;
    int64_t reply_deadline_ms;   /* retry a reply the broker lost until then */
    int64_t missing_deadline_ms; /* retry a reply whose queue is missing until then */
    int64_t retry_at_ms;
    int64_t retry_delay_ms;
    struct job *next;
} job_t;

struct rpc_server {
    rpc_config_t cfg; /* a copy: strings owned (rpc_config_free_strings) */
    rpc_url_t url;
    char *topic, *server_name; /* owned; a listener's key is its server_name */
    bool listener;             /* rpc_listener_new: one queue of its own (listen_q) */
    char fanout_q[64];
    char listen_q[256]; /* a listener's queue, named anew on each connection (conn.lock) */
    const rpc_endpoint_t *endpoints; /* borrowed */
    size_t n_endpoints;
    int n_workers;
    int prefetch; /* the consumer's prefetch count (rpc_prefetch) */
    pthread_t *workers;
    bool started;
    rpc_conn_t conn;     /* the consumer; conn.lock */
    rpc_conn_t pub;      /* replies; pub.lock */
    rpc_reader_t reader; /* reads conn and pub by turns (workers, its keeper); its role, stop
                          * and confirm counts are guarded by lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* with lock: idle workers */
    job_t *jobs, **jobs_tail; /* guarded by lock */
    job_t *retries;           /* guarded by lock */
    job_t *confirmed;         /* guarded by lock */
    int n_idle;               /* guarded by lock: workers waiting on cond */
    int64_t job_taken_ms;     /* guarded by lock: when a worker last took a job */
    bool keeper_fast;         /* guarded by lock: the keeper ticks at KEEPER_TICK_MS */
    bool draining;            /* guarded by lock: workers exit when jobs is empty */
    rpc_seen_t seen;          /* guarded by lock: the messages taken (dispatch.c) */
    rpc_stats_t stats;        /* counted by any thread (RPC_COUNT), read by rpc_server_stats */
};

static void
job_free(job_t *job)
{
    free(job->body);
    free(job->user_id);
    free(job->reply);
    free(job->reply_q);
    free(job->msg_id);
    free(job);
}

/* ---- replies ---- */

/* ack_job: acknowledge job's message (with more, perhaps only with the next ack_job without
 * more: conn.lock is held from the first to the last of such a batch) and free it. An ack that
 * cannot be written closed the connection (counted as lost): the broker delivers the message
 * again, and it is dropped as a duplicate. */
static void
ack_job(rpc_server_t *srv, job_t *job, bool more)
{
    if (srv->conn.state)
        (void)rpc_conn_ack(&srv->conn, job->tag, job->gen, more);
    job_free(job);
}

/* ack_one: acknowledge one job's message now. */
static void
ack_one(rpc_server_t *srv, job_t *job)
{
    pthread_mutex_lock(&srv->conn.lock);
    ack_job(srv, job, false);
    pthread_mutex_unlock(&srv->conn.lock);
}

/* ack_list: acknowledge the messages of a list of jobs in one write. */
static void
ack_list(rpc_server_t *srv, job_t *list)
{
    if (!list)
        return;
    pthread_mutex_lock(&srv->conn.lock);
    for (job_t *job = list, *next; job; job = next) {
        next = job->next;
        ack_job(srv, job, next != NULL);
    }
    pthread_mutex_unlock(&srv->conn.lock);
}

/* retry_later: job's reply was lost (or returned: missing) - publish it again later, or give
 * up when its time is over (then its message is acknowledged: this was its only answer; its
 * caller times out). Lock held. false when given up (the caller acknowledges). */
static bool
retry_later(rpc_server_t *srv, job_t *job, bool missing)
{
    int64_t now = tern_now_monotonic_ms();
    int64_t delay = missing ? REPLY_MISSING_RETRY_MS : job->retry_delay_ms;

    if (now + delay >= job->reply_deadline_ms ||
        (missing && now + delay >= job->missing_deadline_ms) || srv->reader.stop) {
        RPC_COUNT(srv->stats.replies_dropped);
        return false;
    }
    RPC_COUNT(srv->stats.replies_retried);
    if (!missing) {
        job->retry_delay_ms += srv->cfg.retry_backoff_ms;
        if (job->retry_delay_ms > srv->cfg.retry_max_ms)
            job->retry_delay_ms = srv->cfg.retry_max_ms;
    }
    job->retry_at_ms = now + delay;
    job->next = srv->retries;
    srv->retries = job;
    return true;
}

/* on_reply_confirm: how a reply's publish ended (called by whoever holds pub.lock). */
static void
on_reply_confirm(void *opaque, rpc_outcome_t outcome)
{
    job_t *job = opaque;
    rpc_server_t *srv = job->srv;
    bool keep = false;

    pthread_mutex_lock(&srv->lock);
    srv->reader.unconfirmed--;
    switch (outcome) {
    case RPC_OUTCOME_ACK:
        break;
    case RPC_OUTCOME_RETURNED: /* no such reply queue (yet?) */
        keep = retry_later(srv, job, true);
        break;
    case RPC_OUTCOME_NACK:
    case RPC_OUTCOME_LOST:
        keep = retry_later(srv, job, false);
        break;
    }
    if (!keep) {
        job->next = srv->confirmed;
        srv->confirmed = job;
    }
    pthread_mutex_unlock(&srv->lock);
}

/* publish_reply: publish job's reply; its confirm moves the job on. A reply that cannot be
 * published now is retried later. */
static void
publish_reply(rpc_server_t *srv, job_t *job)
{
    rpc_conn_t *pub = &srv->pub;
    int rc = -1;

    pthread_mutex_lock(&pub->lock);
    if (rpc_reader_open_out(&srv->reader) == 0)
        rc = rpc_conn_publish(pub, "", job->reply_q, job->reply, strlen(job->reply), true,
                              on_reply_confirm, job);
    if (rc == 0) {
        pthread_mutex_lock(&srv->lock);
        srv->reader.unconfirmed++;
        pthread_mutex_unlock(&srv->lock);
    }
    pthread_mutex_unlock(&pub->lock);
    if (rc < 0) {
        bool keep;

        pthread_mutex_lock(&srv->lock);
        keep = retry_later(srv, job, false);
        pthread_mutex_unlock(&srv->lock);
        if (!keep)
            ack_one(srv, job);
    }
}

static void
set_reply(rpc_server_t *srv, job_t *job, const char *reply_q, const char *msg_id, json_t *result,
          const tern_error_t *failure)
{
    int64_t now = tern_now_monotonic_ms();

    job->reply = rpc_message_encode_reply(msg_id, result, failure);
    job->reply_q = tern_strdup(reply_q);
    job->msg_id = tern_strdup(msg_id);
    job->reply_deadline_ms = now + srv->cfg.response_timeout_ms;
    job->missing_deadline_ms = now + REPLY_MISSING_QUEUE_MS;
    job->retry_delay_ms = srv->cfg.retry_interval_ms;
}

/* handle_job: decode, dispatch, and set the reply when the message asks for one. */
static void
handle_job(rpc_server_t *srv, job_t *job)
{
    rpc_incoming_t in;
    json_t *result = NULL;
    tern_error_t err;
    bool duplicate;

    tern_error_reset();
    if (rpc_message_decode_request(job->body, job->len, srv->cfg.max_message_bytes, &in) < 0) {
        /* Dropped unanswered, its caller times out: a message that fails the one decoder is
         * never parsed again to find a reply address (that second, laxer parse is what would
         * let a peer make the server read what the checks refused). */
        RPC_COUNT(srv->stats.malformed_dropped);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    duplicate = rpc_seen_before(&srv->seen, in.unique_id);
    pthread_mutex_unlock(&srv->lock);
    if (duplicate) {
        RPC_COUNT(srv->stats.duplicates_dropped);
        rpc_incoming_clear(&in);
        return;
    }
    tern_log_set_request_id(json_string_value(json_object_get(in.context, "request_id")));
    if (rpc_dispatch(srv->endpoints, srv->n_endpoints, srv->topic, &in, job->user_id, &result) <
        0) {
        tern_error_copy(&err);
        if (err.code == TERN_ERR_NONE)
            err.code = TERN_ERR_INTERNAL;
        if (in.msg_id) {
            set_reply(srv, job, in.reply_q, in.msg_id, NULL, &err); /* the caller reports it */
        } else {
            /* The one thing rpc/ logs (rpc/README.md): nobody else ever hears this error. */
            RPC_COUNT(srv->stats.casts_failed);
            TERN_WARN("cast \"%s\" on topic \"%s\" failed: %s", in.method, srv->topic, err.message);
        }
    } else if (in.msg_id) {
        set_reply(srv, job, in.reply_q, in.msg_id, result, NULL);
    }
    json_decref(result);
    tern_log_set_request_id(NULL);
    rpc_incoming_clear(&in);
}

/* ---- the consumer ---- */

/* listener_setup: a listener's queue, exclusive to this connection (the broker deletes it with
 * the connection), bound to the control exchange with key "<topic>.<key>". Named anew on each
 * connection: the broker may not have noticed yet that the last one is gone. */
static int
listener_setup(rpc_server_t *srv, const char *key)
{
    TERN_AUTOFREE char *prefix = tern_asprintf("%.200s_listener_", key);

    rpc_unique_name(srv->listen_q, sizeof(srv->listen_q), prefix);
    if (rpc_conn_declare_own_queue(&srv->conn, srv->listen_q, srv->cfg.control_exchange, key) < 0)
        return -1;
    return rpc_conn_consume(&srv->conn, srv->listen_q, false);
}

/* consumer_subscribe: declare the exchanges and queues, start consuming (conn.lock held, conn
 * just opened). */
static int
consumer_subscribe(void *opaque)
{
    rpc_server_t *srv = opaque;
    rpc_conn_t *c = &srv->conn;
    TERN_AUTOFREE char *server_q = tern_asprintf("%s.%s", srv->topic, srv->server_name);
    TERN_AUTOFREE char *fanout_x = tern_asprintf("%s_fanout", srv->topic);

    if (rpc_conn_prefetch(c, srv->prefetch) < 0 ||
        rpc_conn_declare_exchange(c, srv->cfg.control_exchange, "topic") < 0)
        return -1;
    if (srv->listener)
        return listener_setup(srv, server_q);
    if (rpc_conn_declare_exchange(c, fanout_x, "fanout") < 0 ||
        rpc_conn_declare_queue(c, srv->topic, false, srv->cfg.control_exchange, srv->topic) < 0 ||
        rpc_conn_declare_queue(c, server_q, false, srv->cfg.control_exchange, server_q) < 0 ||
        rpc_conn_declare_queue(c, srv->fanout_q, true, fanout_x, srv->topic) < 0 ||
        rpc_conn_consume(c, srv->topic, false) < 0 || rpc_conn_consume(c, server_q, true) < 0 ||
        rpc_conn_consume(c, srv->fanout_q, true) < 0) /* nowait: see rpc_conn_consume */
        return -1;
    return 0;
}

/* on_delivery: a message off the server's queues (within max_message_bytes: conn.c dropped it
 * otherwise) becomes a job, which takes its body (conn.lock held). */
static void
on_delivery(void *opaque, rpc_delivery_t *d)
{
    rpc_server_t *srv = opaque;
    job_t *job = tern_calloc(1, sizeof(*job));

    job->srv = srv;
    job->body = d->body;
    d->body = NULL;
    job->len = d->len;
    job->user_id = tern_malloc(d->user_id_len + 1);
    if (d->user_id_len)
        memcpy(job->user_id, d->user_id, d->user_id_len);
    job->user_id[d->user_id_len] = '\0';
    job->tag = d->tag;
    job->gen = srv->conn.generation;
    pthread_mutex_lock(&srv->lock);
    *srv->jobs_tail = job;
    srv->jobs_tail = &job->next;
    pthread_mutex_unlock(&srv->lock);
}

/* take_list: detach a list guarded by lock. */
static job_t *
take_list(rpc_server_t *srv, job_t **list)
{
    job_t *l;

    pthread_mutex_lock(&srv->lock);
    l = *list;
    *list = NULL;
    pthread_mutex_unlock(&srv->lock);
    return l;
}

/* after_read: the reader's part of the server's work - publish the replies due again, and
 * acknowledge the messages whose replies are confirmed, in one write. */
static void
after_read(void *opaque, bool force)
{
    rpc_server_t *srv = opaque;
    int64_t now = tern_now_monotonic_ms();

    (void)force; /* retries wait for their time even then: the broker may be away */
    for (job_t *job = take_list(srv, &srv->retries), *next; job; job = next) {
        next = job->next;
        if (job->retry_at_ms <= now) {
            publish_reply(srv, job);
        } else {
            pthread_mutex_lock(&srv->lock);
            job->next = srv->retries;
            srv->retries = job;
            pthread_mutex_unlock(&srv->lock);
        }
    }
    ack_list(srv, take_list(srv, &srv->confirmed));
}

/* keeper_tick: while jobs flow, every KEEPER_TICK_MS, wake an idle worker when jobs wait or
 * nobody reads (the last reader runs a handler); when every worker is busy the keeper reads
 * itself (heartbeats, confirms, deliveries queued for the next free worker). Lock held. */
static bool
keeper_tick(void *opaque, int64_t now_ms, int *ret_next_ms)
{
    rpc_server_t *srv = opaque;
    bool woke = false;

    if (srv->n_idle > 0 && (srv->jobs || !srv->reader.busy)) {
        pthread_cond_signal(&srv->cond);
        woke = true;
    }
    if (now_ms - srv->job_taken_ms >= KEEPER_QUIET_MS)
        srv->keeper_fast = false;
    if (srv->keeper_fast)
        *ret_next_ms = KEEPER_TICK_MS;
    return woke;
}

static const rpc_reader_ops_t server_reader_ops = {
    .confirm_lag_ms = CONFIRM_LAG_MS,
    .subscribe = consumer_subscribe,
    .on_delivery = on_delivery,
    .after_read = after_read,
    .keeper_tick = keeper_tick,
};

/* ---- workers ---- */

/* finish_job: after the handler - publish the reply, or acknowledge a message needing none. */
static void
finish_job(rpc_server_t *srv, job_t *job)
{
    free(job->body);
    job->body = NULL;
    if (job->reply)
        publish_reply(srv, job);
    else
        ack_one(srv, job);
}

/* Workers: a worker takes the next job, or becomes the reader when there is none and nobody
 * reads, or waits. The worker that read a message runs it itself, and the next ones too, one
 * after the other, without waking anyone: on two cores a wake-up costs more than a short
 * handler. When a handler takes long, the keeper notices within KEEPER_TICK_MS that jobs wait
 * or nobody reads, and wakes an idle worker for them (keeper_tick). */
static void *
worker_thread(void *arg)
{
    rpc_server_t *srv = arg;

    pthread_mutex_lock(&srv->lock);
    for (;;) {
        job_t *job = srv->jobs;

        if (job) {
            srv->jobs = job->next;
            if (!srv->jobs)
                srv->jobs_tail = &srv->jobs;
            srv->job_taken_ms = tern_now_monotonic_ms();
            if (!srv->keeper_fast) {
                srv->keeper_fast = true;
                rpc_reader_kick_keeper(&srv->reader);
            }
            pthread_mutex_unlock(&srv->lock);
            handle_job(srv, job);
            finish_job(srv, job);
            pthread_mutex_lock(&srv->lock);
            continue;
        }
        if (srv->draining)
            break;
        if (!srv->reader.stop && rpc_reader_turn(&srv->reader, READ_SLICE_MS, false))
            continue;
        srv->n_idle++;
        pthread_cond_wait(&srv->cond, &srv->lock);
        srv->n_idle--;
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

/* ---- public API ---- */

/* server_new: a server, or with listener a listener whose key is server_name. */
static rpc_server_t *
server_new(const rpc_config_t *cfg, const char *topic, const char *server_name, bool listener,
           const rpc_endpoint_t *endpoints, size_t n_endpoints, int n_workers)
{
    rpc_server_t *srv = tern_calloc(1, sizeof(*srv));
    TERN_AUTOFREE char *fanout_prefix = tern_asprintf("%.20s_fanout_", topic);

    rpc_config_copy(cfg, &srv->cfg); /* the caller's strings are borrowed only during this call */
    if (rpc_url_parse(cfg->transport_url, &srv->url) < 0) {
        rpc_config_free_strings(&srv->cfg);
        free(srv);
        return NULL;
    }
    srv->topic = tern_strdup(topic);
    srv->server_name = tern_strdup(server_name);
    srv->listener = listener;
    srv->endpoints = endpoints;
    srv->n_endpoints = n_endpoints;
    srv->n_workers = n_workers > 0 ? n_workers : 1;
    /* what it holds unacknowledged: RPC_UNACKED_BUDGET_BYTES of messages at most, or one per
     * worker when they are more (rpc/README.md, "Bounds") */
    srv->prefetch = rpc_prefetch(srv->cfg.max_message_bytes, srv->n_workers);
    rpc_conn_init(&srv->conn, &srv->cfg, &srv->url, &srv->stats);
    rpc_conn_init(&srv->pub, &srv->cfg, &srv->url, &srv->stats);
    srv->jobs_tail = &srv->jobs;
    rpc_seen_init(&srv->seen);
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);
    rpc_unique_name(srv->fanout_q, sizeof(srv->fanout_q), fanout_prefix);
    if (rpc_reader_init(&srv->reader, &server_reader_ops, srv, &srv->lock, &srv->conn, &srv->pub,
                        srv->prefetch > 1 ? srv->prefetch / 2 : 1) < 0) {
        rpc_server_free(srv);
        return NULL;
    }
    return srv;
}

rpc_server_t *
rpc_server_new(const rpc_config_t *cfg, const char *topic, const char *server_name,
               const rpc_endpoint_t *endpoints, size_t n_endpoints, int n_workers)
{
    return server_new(cfg, topic, server_name, false, endpoints, n_endpoints, n_workers);
}

rpc_server_t *
rpc_listener_new(const rpc_config_t *cfg, const char *topic, const char *key,
                 const rpc_endpoint_t *endpoints, size_t n_endpoints, int n_workers)
{
    if (tern_str_empty(topic) || tern_str_empty(key)) {
        tern_error_set(TERN_ERR_INVALID,
                       "cannot listen on \"%s.%s\": a listener needs a topic and a key",
                       topic ? topic : "", key ? key : "");
        return NULL;
    }
    return server_new(cfg, topic, key, true, endpoints, n_endpoints, n_workers);
}

int
rpc_server_start(rpc_server_t *srv)
{
    /* The first connection is made here so that a bad URL or credentials fail the start. */
    if (rpc_reader_open_in(&srv->reader) < 0 || rpc_reader_start(&srv->reader) < 0) {
        pthread_mutex_lock(&srv->conn.lock);
        rpc_conn_close(&srv->conn);
        pthread_mutex_unlock(&srv->conn.lock);
        if (srv->listener)
            return tern_error_prefix("could not listen on \"%s.%s\"", srv->topic, srv->server_name);
        return tern_error_prefix("could not serve topic \"%s\"", srv->topic);
    }
    srv->draining = false;
    srv->workers = tern_calloc((size_t)srv->n_workers, sizeof(pthread_t));
    for (int i = 0; i < srv->n_workers; i++)
        pthread_create(&srv->workers[i], NULL, worker_thread, srv);
    srv->started = true;
    return 0;
}

/* settle_replies: after the workers stopped, wait (bounded) for the last replies' confirms and
 * acknowledge their messages, so that no other server runs them again. */
static void
settle_replies(rpc_server_t *srv)
{
    int64_t deadline = tern_now_monotonic_ms() + STOP_CONFIRM_MS;

    for (;;) {
        bool pending, retrying;

        pthread_mutex_lock(&srv->pub.lock);
        pending = srv->pub.state && srv->pub.confirm_floor < srv->pub.next_tag;
        pthread_mutex_unlock(&srv->pub.lock);
        pthread_mutex_lock(&srv->lock);
        retrying = srv->retries != NULL;
        pthread_mutex_unlock(&srv->lock);
        if ((!pending && !retrying) || tern_now_monotonic_ms() >= deadline)
            break;
        rpc_reader_read(&srv->reader, 50, true);
    }
    rpc_reader_read(&srv->reader, 0, true);
}

void
rpc_server_stop(rpc_server_t *srv)
{
    if (!srv || !srv->started)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->draining = true;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    rpc_reader_stop(&srv->reader); /* no worker reads any more, nor reopens the consumer */
    for (int i = 0; i < srv->n_workers; i++)
        pthread_join(srv->workers[i], NULL);
    free(srv->workers);
    srv->workers = NULL;
    settle_replies(srv);
    pthread_mutex_lock(&srv->pub.lock);
    rpc_conn_close(&srv->pub); /* replies still unconfirmed: retry_later gives up (stop) */
    pthread_mutex_unlock(&srv->pub.lock);
    ack_list(srv, take_list(srv, &srv->confirmed));
    pthread_mutex_lock(&srv->conn.lock);
    rpc_conn_close(&srv->conn);
    pthread_mutex_unlock(&srv->conn.lock);
    srv->started = false;
}

void
rpc_server_free(rpc_server_t *srv)
{
    if (!srv)
        return;
    rpc_server_stop(srv);
    rpc_conn_fini(&srv->conn);
    rpc_conn_fini(&srv->pub);
    for (job_t *j = srv->jobs, *n; j; j = n) {
        n = j->next;
        job_free(j);
    }
    for (job_t *j = take_list(srv, &srv->retries), *n; j; j = n) {
        n = j->next;
        job_free(j);
    }
    rpc_reader_fini(&srv->reader);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    rpc_url_clear(&srv->url);
    rpc_config_free_strings(&srv->cfg);
    free(srv->topic);
    free(srv->server_name);
    free(srv);
}

void
rpc_server_stats(const rpc_server_t *srv, rpc_stats_t *ret)
{
    rpc_stats_copy(&srv->stats, ret);
}
