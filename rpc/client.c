/*
 * rpc/client.c: the calling side - call, cast, fanout - and the client's reply queue.
 *
 * Owns two connections: pub, on which every request is published (publisher confirms on,
 * nothing waits for them while publishing: guarded by pub.lock, held only for the write), and
 * reply, the consumer of the reply queue "reply_<uuid>". Each call and cast is a waiter in the
 * table guarded by lock; its publish's confirm and its reply are matched to it as they are read.
 *
 * Reading is done by the waiting threads themselves, by turns (rpc/reader.c): whichever waiting
 * thread finds no reader becomes it, polls both sockets, pumps them (handing replies and
 * confirms to their waiters) and, once its own call is answered, hands the role to another
 * waiter. So a lone caller reads its own reply, with no thread in between. The reader's keeper
 * thread takes the role when nobody waits, so heartbeats flow and the reply queue is consumed
 * again after the broker comes back. Replies read are acknowledged in batches, by the reader.
 * A reply that no call waits for any more (it timed out) is dropped. A waiter is freed by
 * whoever drops its last reference: its caller and, while its publish waits for the confirm,
 * the connection.
 */
#include <pthread.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

/* How long a reader polls before looking at its own waiter and the clock again. */
#define READ_SLICE_MS 100
/* A call needs no confirm (its reply says more), so the confirms of calls are read without a
 * wake-up of their own: along with the next reply, or after this long at the latest. A cast
 * waits for its confirm: while one does, the request socket is polled too. */
#define CONFIRM_LAG_MS 50
/* Replies read are acknowledged (one "multiple" ack) after half the reply queue's prefetch
 * (reply_prefetch: 8 of the 16 replies of 4 MiB a client may hold), or this long after the last
 * ack, or when the keeper finds the client idle: an ack per reply costs a send() each, and a
 * reply left unacknowledged is only delivered again, to nobody, if the connection drops. Half
 * the window, so that the broker never waits for an ack with the window full. */
#define REPLY_ACK_LAG_MS 100

typedef struct waiter {
    rpc_client_t *client;
    pthread_cond_t cond; /* with client->lock */
    int refs;            /* guarded by lock: the caller + an unconfirmed publish */
    bool is_call;
    bool done;          /* answered: the reply (call) or the confirm (cast), or failed */
    bool lost;          /* the publish was lost with its connection: publish it again */
    bool failed;        /* with error */
    bool remote;        /* the error came from the server (a remote exception) */
    tern_error_t error; /* when failed */
    char msg_id[33];
    json_t *result;               /* owned until taken */
    struct waiter *next, **prevp; /* in client->waiters (prevp: the pointer to this one) */
} waiter_t;

struct rpc_client {
    rpc_config_t cfg; /* strings owned (copies) */
    rpc_url_t url;
    rpc_conn_t pub;      /* requests; pub.lock */
    rpc_conn_t reply;    /* the reply queue's consumer: the reader's (reply.lock) */
    rpc_reader_t reader; /* reads reply and pub by turns; its role, stop and confirm counts are
                          * guarded by lock */
    char reply_q[48];
    pthread_mutex_t lock;
    int reply_prefetch;     /* the reply queue's prefetch count (rpc_prefetch) */
    int reply_ack_batch;    /* replies acknowledged in one ack: half reply_prefetch */
    bool reply_ready;       /* guarded by lock: the reply queue is declared and consumed */
    uint64_t reply_ack_tag; /* reader only: the last reply read, not acknowledged */
    int reply_unacked;      /* reader only: replies read since the last ack */
    int64_t reply_acked_ms; /* reader only: when replies were last acknowledged */
    waiter_t *waiters;      /* guarded by lock */
    rpc_stats_t stats;      /* counted by any thread (RPC_COUNT), read by rpc_client_stats */
};

void
rpc_config_init(rpc_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->control_exchange = "tern";
    cfg->heartbeat_timeout_s = 60;
    cfg->retry_interval_ms = 1000;
    cfg->retry_backoff_ms = 2000;
    cfg->retry_max_ms = 30000;
    cfg->response_timeout_ms = 60000;
    cfg->max_message_bytes = 4 * 1024 * 1024;
}

json_t *
rpc_context_new(const char *user_id, const char *project_id, const char *const *roles,
                const char *request_id)
{
    json_t *ctx = json_object();
    json_t *r = json_array();
    char uuid[37];

    if (!request_id) {
        tern_uuid_generate(uuid);
        json_object_set_new(ctx, "request_id", json_sprintf("req-%s", uuid));
    } else {
        json_object_set_new(ctx, "request_id", json_string(request_id));
    }
    if (user_id)
        json_object_set_new(ctx, "user_id", json_string(user_id));
    if (project_id)
        json_object_set_new(ctx, "project_id", json_string(project_id));
    for (size_t i = 0; roles && roles[i]; i++)
        json_array_append_new(r, json_string(roles[i]));
    json_object_set_new(ctx, "roles", r);
    return ctx;
}

void
rpc_config_copy(const rpc_config_t *in, rpc_config_t *out)
{
    *out = *in;
    out->transport_url = tern_strdup(in->transport_url);
    out->control_exchange = tern_strdup(in->control_exchange ? in->control_exchange : "tern");
    out->ssl_ca_file = tern_strdup(in->ssl_ca_file);
    out->ssl_cert_file = tern_strdup(in->ssl_cert_file);
    out->ssl_key_file = tern_strdup(in->ssl_key_file);
    if (out->max_message_bytes == 0)
        out->max_message_bytes = 4 * 1024 * 1024;
    if (out->response_timeout_ms <= 0)
        out->response_timeout_ms = 60000;
    if (out->retry_interval_ms <= 0)
        out->retry_interval_ms = 1000;
    if (out->retry_max_ms <= 0)
        out->retry_max_ms = 30000;
}

void
rpc_config_free_strings(rpc_config_t *cfg)
{
    free((char *)cfg->transport_url);
    free((char *)cfg->control_exchange);
    free((char *)cfg->ssl_ca_file);
    free((char *)cfg->ssl_cert_file);
    free((char *)cfg->ssl_key_file);
}

/* ---- waiters ---- */

/* waiter_link, waiter_unlink: in and out of client->waiters (lock held), at the head. */
static void
waiter_link(rpc_client_t *client, waiter_t *w)
{
    w->next = client->waiters;
    if (w->next)
        w->next->prevp = &w->next;
    w->prevp = &client->waiters;
    client->waiters = w;
}

static void
waiter_unlink(waiter_t *w)
{
    *w->prevp = w->next;
    if (w->next)
        w->next->prevp = w->prevp;
}

static waiter_t *
waiter_new(rpc_client_t *client, bool is_call)
{
    waiter_t *w = tern_calloc(1, sizeof(*w));

    w->client = client;
    pthread_cond_init(&w->cond, NULL);
    w->refs = 1;
    w->is_call = is_call;
    rpc_unique_name(w->msg_id, sizeof(w->msg_id), "");
    pthread_mutex_lock(&client->lock);
    waiter_link(client, w);
    pthread_mutex_unlock(&client->lock);
    return w;
}

/* waiter_unref: drop a reference (lock held); the last one unlinks and frees w. */
static void
waiter_unref(waiter_t *w)
{
    if (--w->refs > 0)
        return;
    waiter_unlink(w);
    json_decref(w->result);
    pthread_cond_destroy(&w->cond);
    free(w);
}

/* waiter_fail: w is answered with an error (lock held). */
static void
waiter_fail(waiter_t *w, int code, const char *message)
{
    if (w->done)
        return;
    w->failed = w->done = true;
    w->error = (tern_error_t){.code = code};
    tern_strlcpy(w->error.message, message, sizeof(w->error.message));
}

/* on_confirm: how a request's publish ended (called by whoever holds pub.lock). */
static void
on_confirm(void *opaque, rpc_outcome_t outcome)
{
    waiter_t *w = opaque;
    rpc_client_t *client = w->client;

    pthread_mutex_lock(&client->lock);
    client->reader.unconfirmed--;
    switch (outcome) {
    case RPC_OUTCOME_ACK:
        if (!w->is_call)
            w->done = true; /* a call is answered by its reply */
        break;
    case RPC_OUTCOME_RETURNED:
        waiter_fail(w, TERN_ERR_UNAVAILABLE, "no queue takes the message: is any server up?");
        break;
    case RPC_OUTCOME_NACK:
        waiter_fail(w, TERN_ERR_RPC, "the broker refused the message (nack)");
        break;
    case RPC_OUTCOME_LOST:
        if (!w->done)
            w->lost = true;
        break;
    }
    pthread_cond_signal(&w->cond);
    waiter_unref(w);
    pthread_mutex_unlock(&client->lock);
}

/* on_reply: a message off the reply queue, for the call with its _msg_id (read by the reader);
 * within max_message_bytes (conn.c dropped a bigger one unread, and its call times out). */
static void
on_reply(void *opaque, rpc_delivery_t *d)
{
    rpc_client_t *client = opaque;
    char *msg_id = NULL;
    json_t *result = NULL;
    bool ending = false;
    int rc = rpc_message_decode_reply(d->body, d->len, client->cfg.max_message_bytes, &msg_id,
                                      &ending, &result);
    waiter_t *w;

    client->reply_ack_tag = d->tag; /* every reply read is acknowledged, malformed or not */
    client->reply_unacked++;
    if (rc < 0) {
        RPC_COUNT(client->stats.malformed_dropped);
        return;
    }
    pthread_mutex_lock(&client->lock);
    for (w = client->waiters; w; w = w->next) {
        if (w->is_call && !w->done && strcmp(w->msg_id, msg_id) == 0)
            break;
    }
    if (w) {
        if (rc == 1) {
            w->failed = w->remote = true;
            tern_error_copy(&w->error);
        } else if (w->result == NULL || !json_is_null(result)) {
            json_decref(w->result);
            w->result = json_incref(result);
        }
        /* Old-style servers send the result and then an empty "ending" reply. */
        w->done = ending || rc == 1;
        if (w->done)
            pthread_cond_signal(&w->cond);
    } else {
        RPC_COUNT(client->stats.replies_unclaimed); /* its call timed out, or it came again */
    }
    pthread_mutex_unlock(&client->lock);
    json_decref(result);
    free(msg_id);
}

/* ---- the reader's part ---- */

/* set_reply_ready: the reply queue is consumed, or was lost (the reader reopens it). */
static void
set_reply_ready(void *opaque, bool ready)
{
    rpc_client_t *client = opaque;

    pthread_mutex_lock(&client->lock);
    client->reply_ready = ready;
    for (waiter_t *w = client->waiters; w && ready; w = w->next)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&client->lock);
}

/* reply_subscribe: declare the reply queue and consume it, acknowledged after reading
 * (ack_replies): a reply the broker sent as the connection died is delivered again on the next
 * one instead of being lost. reply.lock held. */
static int
reply_subscribe(void *opaque)
{
    rpc_client_t *client = opaque;

    if (rpc_conn_prefetch(&client->reply, client->reply_prefetch) < 0 ||
        rpc_conn_declare_reply_queue(&client->reply, client->reply_q) < 0)
        return -1;
    return rpc_conn_consume(&client->reply, client->reply_q, false);
}

/* ack_replies: acknowledge the replies read so far when enough of them wait, or when they have
 * waited long enough, or anyway (the keeper, on an idle client). Reader only. */
static void
ack_replies(void *opaque, bool anyway)
{
    rpc_client_t *client = opaque;
    int64_t now = tern_now_monotonic_ms();

    pthread_mutex_lock(&client->reply.lock);
    if (!client->reply.state) {
        client->reply_ack_tag = 0; /* their connection is gone: the broker delivers them again */
        client->reply_unacked = 0;
    } else if (client->reply_ack_tag &&
               (anyway || client->reply_unacked >= client->reply_ack_batch ||
                now - client->reply_acked_ms >= REPLY_ACK_LAG_MS)) {
        /* a failed ack closed the connection (counted): the reader opens it again, the broker
         * delivers those replies again, to nobody (unclaimed) */
        (void)rpc_conn_ack_through(&client->reply, client->reply_ack_tag);
        client->reply_ack_tag = 0;
        client->reply_unacked = 0;
        client->reply_acked_ms = now;
    }
    pthread_mutex_unlock(&client->reply.lock);
}

/* pass_role: after a turn as the reader (lock held), wake a waiter still waiting, to take the
 * role should it want it. */
static void
pass_role(rpc_client_t *client, waiter_t *self)
{
    for (waiter_t *w = client->waiters; w; w = w->next) {
        if (w != self && !w->done && !w->lost && w->refs > 0) {
            pthread_cond_signal(&w->cond);
            break;
        }
    }
}

static void
keeper_handoff(void *opaque)
{
    pass_role(opaque, NULL);
}

static const rpc_reader_ops_t client_reader_ops = {
    .confirm_lag_ms = CONFIRM_LAG_MS,
    .subscribe = reply_subscribe,
    .on_delivery = on_reply,
    .in_changed = set_reply_ready,
    .after_read = ack_replies,
    .handoff = keeper_handoff,
};

/* wait_progress: with lock held, wait until w is answered or lost (or, for_queue, until the
 * reply queue is ready), at most until deadline_ms; reads the sockets itself when no other
 * thread does. true when the condition holds. */
static bool
wait_progress(rpc_client_t *client, waiter_t *w, int64_t deadline_ms, bool for_queue)
{
    for (;;) {
        int64_t left = deadline_ms - tern_now_monotonic_ms();

        if (for_queue ? client->reply_ready : (w->done || w->lost)) {
            if (!client->reader.busy)
                pass_role(client, w); /* in case w was woken to take the role */
            return true;
        }
        if (left <= 0 || client->reader.stop)
            return false;
        if (rpc_reader_turn(&client->reader, (int)(left < READ_SLICE_MS ? left : READ_SLICE_MS),
                            false)) {
            pass_role(client, w);
        } else {
            int64_t wake = tern_now_realtime_ms() + (left < 1000 ? left : 1000);
            struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (wake % 1000) * 1000000};

            pthread_cond_timedwait(&w->cond, &client->lock, &ts);
        }
    }
}

/* ---- publishing ---- */

/* publish: send body for w (mandatory: returned when no queue takes it), reopening the request
 * connection with backoff until deadline_ms when it is broken. Does not wait for the confirm: w
 * hears it. */
static int
publish(rpc_client_t *client, waiter_t *w, const char *exchange, const char *exchange_type,
        const char *routing_key, bool mandatory, const char *body, int64_t deadline_ms)
{
    rpc_conn_t *pub = &client->pub;
    int64_t delay = client->cfg.retry_interval_ms;
    int rc = -1;

    pthread_mutex_lock(&pub->lock);
    for (;;) {
        if (rpc_reader_open_out(&client->reader) < 0 ||
            (exchange[0] != '\0' && rpc_conn_declare_exchange(pub, exchange, exchange_type) < 0))
            goto retry;
        pthread_mutex_lock(&client->lock);
        w->refs++;
        w->lost = false;
        client->reader.unconfirmed++;
        pthread_mutex_unlock(&client->lock);
        rc = rpc_conn_publish(pub, exchange, routing_key, body, strlen(body), mandatory, on_confirm,
                              w);
        if (rc == 0)
            break;
        pthread_mutex_lock(&client->lock);
        client->reader.unconfirmed--;
        waiter_unref(w);
        pthread_mutex_unlock(&client->lock);
        if (tern_error_code() == TERN_ERR_INVALID)
            break; /* the message itself is wrong (e.g. a routing key too long): no retry */

    retry:
        rpc_conn_close(pub);
        if (tern_now_monotonic_ms() + delay >= deadline_ms || client->reader.stop)
            break; /* the caller hears the error */
        RPC_COUNT(client->stats.publishes_retried);
        pthread_mutex_unlock(&pub->lock);
        tern_sleep_ms(delay);
        pthread_mutex_lock(&pub->lock);
        delay += client->cfg.retry_backoff_ms;
        if (delay > client->cfg.retry_max_ms)
            delay = client->cfg.retry_max_ms;
    }
    pthread_mutex_unlock(&pub->lock);
    return rc;
}

/* send_and_wait: publish w's request and wait until it is answered (a call: its reply; a
 * cast: its confirm), publishing it again when its connection dropped before the confirm.
 * 0, -1 with the error set, or 1 when deadline_ms passed first (no error set). */
static int
send_and_wait(rpc_client_t *client, waiter_t *w, const char *exchange, const char *type,
              const char *key, bool mandatory, const char *body, int64_t deadline_ms)
{
    bool answered;

    for (;;) {
        if (publish(client, w, exchange, type, key, mandatory, body, deadline_ms) < 0)
            return -1;
        pthread_mutex_lock(&client->lock);
        answered = wait_progress(client, w, deadline_ms, false);
        if (answered && !w->done) { /* lost with its connection: send it again */
            pthread_mutex_unlock(&client->lock);
            RPC_COUNT(client->stats.publishes_retried);
            continue;
        }
        pthread_mutex_unlock(&client->lock);
        break;
    }
    if (!answered)
        return 1;
    return w->failed ? (tern_error_restore(&w->error), -1) : 0;
}

static void
target_route(const rpc_client_t *client, const rpc_target_t *t, char **ret_exchange,
             const char **ret_type, char **ret_key)
{
    if (t->fanout) {
        *ret_exchange = tern_asprintf("%s_fanout", t->topic);
        *ret_type = "fanout";
        *ret_key = tern_strdup(t->topic);
    } else {
        *ret_exchange = tern_strdup(client->cfg.control_exchange);
        *ret_type = "topic";
        *ret_key = t->server ? tern_asprintf("%s.%s", t->topic, t->server) : tern_strdup(t->topic);
    }
}

/* ---- public API ---- */

rpc_client_t *
rpc_client_new(const rpc_config_t *cfg)
{
    rpc_client_t *client = tern_calloc(1, sizeof(*client));
    int rc;

    rpc_config_copy(cfg, &client->cfg);
    if (rpc_url_parse(client->cfg.transport_url, &client->url) < 0) {
        rpc_config_free_strings(&client->cfg);
        free(client);
        return NULL;
    }
    rpc_conn_init(&client->pub, &client->cfg, &client->url, &client->stats);
    rpc_conn_init(&client->reply, &client->cfg, &client->url, &client->stats);
    pthread_mutex_init(&client->lock, NULL);
    rpc_unique_name(client->reply_q, sizeof(client->reply_q), "reply_");
    /* the replies it holds unacknowledged: RPC_UNACKED_BUDGET_BYTES at most (rpc/README.md) */
    client->reply_prefetch = rpc_prefetch(client->cfg.max_message_bytes, 1);
    client->reply_ack_batch = client->reply_prefetch > 1 ? client->reply_prefetch / 2 : 1;
    if (rpc_reader_init(&client->reader, &client_reader_ops, client, &client->lock, &client->reply,
                        &client->pub, RPC_MAX_UNCONFIRMED / 2) < 0) {
        rpc_client_free(client);
        return NULL;
    }
    /* the request connection now, so that a bad URL or credentials fail here */
    pthread_mutex_lock(&client->pub.lock);
    rc = rpc_conn_open(&client->pub, true, client->cfg.heartbeat_timeout_s);
    pthread_mutex_unlock(&client->pub.lock);
    if (rc < 0 || rpc_reader_start(&client->reader) < 0) {
        rpc_client_free(client);
        return NULL;
    }
    return client;
}

void
rpc_client_free(rpc_client_t *client)
{
    if (!client)
        return;
    rpc_reader_stop(&client->reader);
    ack_replies(client, true); /* nobody reads any more: else they would be queued again */
    pthread_mutex_lock(&client->pub.lock);
    rpc_conn_close(&client->pub); /* unconfirmed publishes drop their waiter references */
    pthread_mutex_unlock(&client->pub.lock);
    rpc_conn_fini(&client->pub);
    rpc_conn_fini(&client->reply);
    for (waiter_t *w = client->waiters, *next; w; w = next) {
        next = w->next;
        json_decref(w->result);
        pthread_cond_destroy(&w->cond);
        free(w);
    }
    rpc_reader_fini(&client->reader);
    pthread_mutex_destroy(&client->lock);
    rpc_url_clear(&client->url);
    rpc_config_free_strings(&client->cfg);
    free(client);
}

void
rpc_client_stats(const rpc_client_t *client, rpc_stats_t *ret)
{
    rpc_stats_copy(&client->stats, ret);
}

int
rpc_call(rpc_client_t *client, const rpc_target_t *target, json_t *context, const char *method,
         json_t *args, int timeout_ms, json_t **ret_result)
{
    int64_t timeout = timeout_ms > 0 ? timeout_ms : client->cfg.response_timeout_ms;
    int64_t deadline = tern_now_monotonic_ms() + timeout;
    waiter_t *w;
    TERN_AUTOFREE char *exchange = NULL;
    TERN_AUTOFREE char *key = NULL;
    TERN_AUTOFREE char *body = NULL;
    const char *type;
    int rc;

    if (target->unrouted_ok) /* nobody would answer: it could only time out */
        return tern_error_set(TERN_ERR_INVALID,
                              "cannot call \"%s\" on topic \"%s\": unrouted_ok is for casts only",
                              method, target->topic);
    pthread_mutex_lock(&client->lock);
    if (!client->reply_ready) {
        waiter_t probe = {.client = client, .refs = 1};

        /* wait for the reply queue as a waiter of its own, so that it can be the reader */
        pthread_cond_init(&probe.cond, NULL);
        waiter_link(client, &probe);
        rc = wait_progress(client, &probe, deadline, true);
        waiter_unlink(&probe);
        pthread_cond_destroy(&probe.cond);
        if (!rc) {
            pthread_mutex_unlock(&client->lock);
            return tern_error_set(TERN_ERR_TIMEOUT, "no reply queue: the broker is unreachable");
        }
    }
    pthread_mutex_unlock(&client->lock);

    w = waiter_new(client, true);
    target_route(client, target, &exchange, &type, &key);
    body = rpc_message_encode_request(method, args, context, target->version, target->namespace,
                                      w->msg_id, client->reply_q);
    rc = send_and_wait(client, w, exchange, type, key, true, body, deadline);
    if (rc == 1)
        rc = tern_error_set(TERN_ERR_TIMEOUT, "no reply to \"%s\" from \"%s\" within %lld ms",
                            method, key, (long long)timeout);
    else if (rc < 0 && !w->remote)
        tern_error_prefix("could not call \"%s\" on \"%s\"", method, key);
    pthread_mutex_lock(&client->lock);
    if (rc == 0) {
        *ret_result = w->result ? w->result : json_null();
        w->result = NULL;
    }
    waiter_unref(w);
    pthread_mutex_unlock(&client->lock);
    return rc;
}

int
rpc_cast(rpc_client_t *client, const rpc_target_t *target, json_t *context, const char *method,
         json_t *args)
{
    int64_t deadline = tern_now_monotonic_ms() + client->cfg.response_timeout_ms;
    waiter_t *w = waiter_new(client, false);
    TERN_AUTOFREE char *exchange = NULL;
    TERN_AUTOFREE char *key = NULL;
    TERN_AUTOFREE char *body = NULL;
    const char *type;
    int rc;

    target_route(client, target, &exchange, &type, &key);
    body = rpc_message_encode_request(method, args, context, target->version, target->namespace,
                                      NULL, NULL);
    pthread_mutex_lock(&client->lock);
    client->reader.confirm_waiters++;
    pthread_mutex_unlock(&client->lock);
    rc = send_and_wait(client, w, exchange, type, key, !target->unrouted_ok, body, deadline);
    if (rc == 1)
        rc = tern_error_set(TERN_ERR_TIMEOUT,
                            "the broker did not confirm the message within %lld ms",
                            (long long)client->cfg.response_timeout_ms);
    if (rc < 0)
        tern_error_prefix("could not cast \"%s\" to \"%s\"", method, key);
    pthread_mutex_lock(&client->lock);
    client->reader.confirm_waiters--;
    waiter_unref(w);
    pthread_mutex_unlock(&client->lock);
    return rc;
}
