/*
 * rpc/client.c: the calling side - call, cast, fanout - and the client's reply queue.
 *
 * Owns: RPC_CLIENT_PUBLISHERS publishing connections (publisher confirms on; each guarded by
 * its pub_lock, so any number of threads may call at once and up to that many publish in
 * parallel; opened on first use), and a reply thread with a connection of its own that consumes the
 * reply queue "reply_<uuid>" and hands each reply to the waiting call by its _msg_id. A reply
 * that no call waits for any more (it timed out) is dropped. The table of waiting calls is
 * guarded by lock.
 */
#include <pthread.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

/* Publishing connections of a client: a publish waits for its confirm while holding one. */
#define RPC_CLIENT_PUBLISHERS 4

typedef struct waiter {
    char msg_id[33];
    bool done;
    bool failed;
    json_t *result;     /* owned until taken */
    tern_error_t error; /* when failed */
    struct waiter *next;
} waiter_t;

struct rpc_client {
    rpc_config_t cfg; /* strings owned (copies) */
    rpc_url_t url;
    pthread_mutex_t pub_lock[RPC_CLIENT_PUBLISHERS];
    rpc_conn_t pub[RPC_CLIENT_PUBLISHERS]; /* each guarded by its pub_lock */
    unsigned pub_next;                     /* atomic: where the next publish looks first */
    char reply_q[48];
    pthread_t reply_thread;
    rpc_conn_t reply_conn; /* used by the reply thread only */
    volatile bool stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool reply_ready;  /* the reply queue is declared and consumed; guarded by lock */
    waiter_t *waiters; /* guarded by lock */
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

/* ---- the reply thread ---- */

static void
deliver_reply(rpc_client_t *client, const char *body, size_t len)
{
    char *msg_id = NULL;
    json_t *result = NULL;
    bool ending = false;
    int rc = rpc_message_decode_reply(body, len, client->cfg.max_message_bytes, &msg_id, &ending,
                                      &result);
    waiter_t *w;

    if (rc < 0) {
        TERN_WARN("dropped a malformed reply: %s", tern_error_message());
        return;
    }
    pthread_mutex_lock(&client->lock);
    for (w = client->waiters; w; w = w->next) {
        if (strcmp(w->msg_id, msg_id) == 0 && !w->done)
            break;
    }
    if (w) {
        if (rc == 1) {
            w->failed = true;
            tern_error_copy(&w->error);
        } else if (w->result == NULL || !json_is_null(result)) {
            json_decref(w->result);
            w->result = json_incref(result);
        }
        /* Old-style servers send the result and then an empty "ending" reply. */
        w->done = ending || rc == 1;
        pthread_cond_broadcast(&client->cond);
    } else {
        TERN_DEBUG("dropped a reply for %s: no call waits for it (timed out?)", msg_id);
    }
    pthread_mutex_unlock(&client->lock);
    json_decref(result);
    free(msg_id);
}

static int
reply_consume_setup(rpc_client_t *client)
{
    rpc_conn_t *c = &client->reply_conn;

    if (rpc_conn_open_retry(c, false, client->cfg.heartbeat_timeout_s, &client->stop) < 0 ||
        rpc_conn_declare_reply_queue(c, client->reply_q) < 0)
        return -1;
    amqp_basic_consume(c->state, 1, amqp_cstring_bytes(client->reply_q), amqp_empty_bytes, 0, 1, 0,
                       amqp_empty_table);
    if (rpc_conn_check(c, amqp_get_rpc_reply(c->state), "consume the reply queue") < 0)
        return -1;
    pthread_mutex_lock(&client->lock);
    client->reply_ready = true;
    pthread_cond_broadcast(&client->cond);
    pthread_mutex_unlock(&client->lock);
    return 0;
}

static void *
reply_thread(void *arg)
{
    rpc_client_t *client = arg;
    rpc_conn_t *c = &client->reply_conn;

    while (!client->stop) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
        amqp_envelope_t env;
        amqp_rpc_reply_t r;

        if (!c->state && reply_consume_setup(client) < 0) {
            if (!client->stop)
                TERN_WARN("reply queue unavailable: %s", tern_error_message());
            rpc_conn_close(c);
            tern_sleep_ms(client->cfg.retry_interval_ms);
            continue;
        }
        amqp_maybe_release_buffers(c->state);
        r = amqp_consume_message(c->state, &env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT)
            continue;
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            rpc_conn_check(c, r, "receive replies");
            TERN_WARN("reply connection lost: %s; reconnecting", tern_error_message());
            pthread_mutex_lock(&client->lock);
            client->reply_ready = false;
            pthread_mutex_unlock(&client->lock);
            rpc_conn_close(c);
            continue;
        }
        deliver_reply(client, env.message.body.bytes, env.message.body.len);
        amqp_destroy_envelope(&env);
    }
    rpc_conn_close(c);
    return NULL;
}

/* ---- publishing ---- */

/* publish: send body, reconnecting with backoff until deadline_ms when the connection broke. */
static int
publish(rpc_client_t *client, const char *exchange, const char *exchange_type,
        const char *routing_key, const char *body, int64_t deadline_ms)
{
    int64_t delay = client->cfg.retry_interval_ms;
    unsigned first = __atomic_fetch_add(&client->pub_next, 1, __ATOMIC_RELAXED);
    unsigned k = first % RPC_CLIENT_PUBLISHERS;
    rpc_conn_t *pub;
    int rc = -1;

    /* the first free publisher from a rotating start, else wait for that start */
    for (unsigned i = 0; i < RPC_CLIENT_PUBLISHERS; i++) {
        if (pthread_mutex_trylock(&client->pub_lock[(first + i) % RPC_CLIENT_PUBLISHERS]) == 0) {
            k = (first + i) % RPC_CLIENT_PUBLISHERS;
            break;
        }
        if (i == RPC_CLIENT_PUBLISHERS - 1)
            pthread_mutex_lock(&client->pub_lock[k]);
    }
    pub = &client->pub[k];
    for (;;) {
        if (!pub->state && rpc_conn_open(pub, true, client->cfg.heartbeat_timeout_s) < 0) {
            rc = -1;
        } else if ((exchange[0] == '\0' ||
                    rpc_conn_declare_exchange(pub, exchange, exchange_type) == 0) &&
                   (rc = rpc_conn_publish(pub, exchange, routing_key, body, strlen(body), true)) ==
                       0) {
            break;
        }
        if (tern_error_code() == TERN_ERR_UNAVAILABLE && pub->state)
            break; /* no queue takes it: retrying will not help */
        rpc_conn_close(pub);
        if (tern_now_monotonic_ms() + delay >= deadline_ms || client->stop)
            break;
        TERN_WARN("could not publish to \"%s\": %s; retrying in %lld ms", routing_key,
                  tern_error_message(), (long long)delay);
        tern_sleep_ms(delay);
        delay += client->cfg.retry_backoff_ms;
        if (delay > client->cfg.retry_max_ms)
            delay = client->cfg.retry_max_ms;
    }
    pthread_mutex_unlock(&client->pub_lock[k]);
    return rc;
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
    char uuid[37];
    size_t j = 0;

    rpc_config_copy(cfg, &client->cfg);
    if (rpc_url_parse(client->cfg.transport_url, &client->url) < 0) {
        rpc_config_free_strings(&client->cfg);
        free(client);
        return NULL;
    }
    for (size_t i = 0; i < RPC_CLIENT_PUBLISHERS; i++) {
        pthread_mutex_init(&client->pub_lock[i], NULL);
        client->pub[i].cfg = &client->cfg;
        client->pub[i].url = &client->url;
    }
    pthread_mutex_init(&client->lock, NULL);
    pthread_cond_init(&client->cond, NULL);
    client->reply_conn.cfg = &client->cfg;
    client->reply_conn.url = &client->url;
    tern_uuid_generate(uuid);
    j = (size_t)snprintf(client->reply_q, sizeof(client->reply_q), "reply_");
    for (size_t i = 0; uuid[i]; i++) {
        if (uuid[i] != '-')
            client->reply_q[j++] = uuid[i];
    }
    client->reply_q[j] = '\0';
    /* the first publisher now, so that a bad URL or credentials fail here */
    if (rpc_conn_open(&client->pub[0], true, client->cfg.heartbeat_timeout_s) < 0) {
        rpc_client_free(client);
        return NULL;
    }
    pthread_create(&client->reply_thread, NULL, reply_thread, client);
    return client;
}

void
rpc_client_free(rpc_client_t *client)
{
    if (!client)
        return;
    client->stop = true;
    if (client->reply_thread)
        pthread_join(client->reply_thread, NULL);
    for (size_t i = 0; i < RPC_CLIENT_PUBLISHERS; i++)
        rpc_conn_close(&client->pub[i]);
    for (waiter_t *w = client->waiters, *next; w; w = next) {
        next = w->next;
        json_decref(w->result);
        free(w);
    }
    pthread_cond_destroy(&client->cond);
    pthread_mutex_destroy(&client->lock);
    for (size_t i = 0; i < RPC_CLIENT_PUBLISHERS; i++)
        pthread_mutex_destroy(&client->pub_lock[i]);
    rpc_url_clear(&client->url);
    rpc_config_free_strings(&client->cfg);
    free(client);
}

static int
wait_reply_ready(rpc_client_t *client, int64_t deadline_ms)
{
    int rc = 0;

    pthread_mutex_lock(&client->lock);
    while (!client->reply_ready && rc == 0) {
        struct timespec ts;
        int64_t now = tern_now_realtime_ms(), left = deadline_ms - tern_now_monotonic_ms();

        if (left <= 0) {
            rc = tern_error_set(TERN_ERR_TIMEOUT, "no reply queue: the broker is unreachable");
            break;
        }
        now += left < 100 ? left : 100;
        ts.tv_sec = now / 1000;
        ts.tv_nsec = (now % 1000) * 1000000;
        pthread_cond_timedwait(&client->cond, &client->lock, &ts);
    }
    pthread_mutex_unlock(&client->lock);
    return rc;
}

int
rpc_call(rpc_client_t *client, const rpc_target_t *target, json_t *context, const char *method,
         json_t *args, int timeout_ms, json_t **ret_result)
{
    int64_t deadline =
        tern_now_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : client->cfg.response_timeout_ms);
    waiter_t *w = tern_calloc(1, sizeof(*w));
    TERN_AUTOFREE char *exchange = NULL;
    TERN_AUTOFREE char *key = NULL;
    TERN_AUTOFREE char *body = NULL;
    const char *type;
    char uuid[37];
    size_t j = 0;
    int rc = 0;

    if (wait_reply_ready(client, deadline) < 0) {
        free(w);
        return -1;
    }
    tern_uuid_generate(uuid);
    for (size_t i = 0; uuid[i]; i++) {
        if (uuid[i] != '-')
            w->msg_id[j++] = uuid[i];
    }
    target_route(client, target, &exchange, &type, &key);
    body = rpc_message_encode_request(method, args, context, target->version, target->namespace,
                                      w->msg_id, client->reply_q);
    pthread_mutex_lock(&client->lock);
    w->next = client->waiters;
    client->waiters = w;
    pthread_mutex_unlock(&client->lock);

    if (publish(client, exchange, type, key, body, deadline) < 0) {
        rc = tern_error_prefix("could not call \"%s\" on \"%s\"", method, key);
    } else {
        pthread_mutex_lock(&client->lock);
        while (!w->done) {
            struct timespec ts;
            int64_t left = deadline - tern_now_monotonic_ms();
            int64_t wake = tern_now_realtime_ms() + left;

            if (left <= 0)
                break;
            ts.tv_sec = wake / 1000;
            ts.tv_nsec = (wake % 1000) * 1000000;
            pthread_cond_timedwait(&client->cond, &client->lock, &ts);
        }
        pthread_mutex_unlock(&client->lock);
        if (!w->done)
            rc = tern_error_set(
                TERN_ERR_TIMEOUT, "no reply to \"%s\" from \"%s\" within %lld ms", method, key,
                (long long)(timeout_ms > 0 ? timeout_ms : client->cfg.response_timeout_ms));
        else if (w->failed)
            rc = (tern_error_restore(&w->error), -1);
    }
    pthread_mutex_lock(&client->lock);
    for (waiter_t **pp = &client->waiters; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&client->lock);
    if (rc == 0)
        *ret_result = w->result ? w->result : json_null();
    else
        json_decref(w->result);
    free(w);
    return rc;
}

int
rpc_cast(rpc_client_t *client, const rpc_target_t *target, json_t *context, const char *method,
         json_t *args)
{
    int64_t deadline = tern_now_monotonic_ms() + client->cfg.response_timeout_ms;
    TERN_AUTOFREE char *exchange = NULL;
    TERN_AUTOFREE char *key = NULL;
    TERN_AUTOFREE char *body = NULL;
    const char *type;

    target_route(client, target, &exchange, &type, &key);
    body = rpc_message_encode_request(method, args, context, target->version, target->namespace,
                                      NULL, NULL);
    if (publish(client, exchange, type, key, body, deadline) < 0)
        return tern_error_prefix("could not cast \"%s\" to \"%s\"", method, key);
    return 0;
}
