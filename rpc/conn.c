/*
 * rpc/conn.c: one AMQP 0-9-1 connection (librabbitmq), channel 1.
 *
 * Owns conn->state and conn->user. One thread uses a connection at a time (rabbitmq-c's rule);
 * the client and the server serialise their own use. Every amqp_rpc_reply_t is checked here and
 * turned into a tern error; callers see nothing of librabbitmq's types.
 */
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <string.h>
#include <sys/time.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

#define CONFIRM_TIMEOUT_S 30

int
rpc_conn_check(rpc_conn_t *conn, amqp_rpc_reply_t reply, const char *what)
{
    switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_NONE:
        return tern_error_set(TERN_ERR_RPC, "could not %s: no reply from the broker", what);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return tern_error_set(TERN_ERR_RPC, "could not %s: %s", what,
                              amqp_error_string2(reply.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = reply.reply.decoded;

            return tern_error_set(TERN_ERR_RPC,
                                  "could not %s: connection closed by the broker: "
                                  "%d %.*s",
                                  what, m->reply_code, (int)m->reply_text.len,
                                  (char *)m->reply_text.bytes);
        }
        if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = reply.reply.decoded;

            return tern_error_set(TERN_ERR_RPC,
                                  "could not %s: channel closed by the broker: %d "
                                  "%.*s",
                                  what, m->reply_code, (int)m->reply_text.len,
                                  (char *)m->reply_text.bytes);
        }
        return tern_error_set(TERN_ERR_RPC, "could not %s: broker error (method 0x%08x)", what,
                              reply.reply.id);
    }
    return tern_error_set(TERN_ERR_RPC, "could not %s: unknown reply", what);
}

void
rpc_conn_close(rpc_conn_t *conn)
{
    if (conn->state) {
        amqp_channel_close(conn->state, 1, AMQP_REPLY_SUCCESS);
        amqp_connection_close(conn->state, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(conn->state);
    }
    conn->state = NULL;
    free(conn->user);
    conn->user = NULL;
    free(conn->declared);
    conn->declared = NULL;
    conn->confirms = false;
}

/* open_host: connect, log in and open channel 1 on one host of the URL. */
static int
open_host(rpc_conn_t *conn, const rpc_url_host_t *h, int heartbeat_s)
{
    const rpc_config_t *cfg = conn->cfg;
    amqp_socket_t *sock;
    struct timeval tv = {.tv_sec = 10};
    int rc;

    conn->state = amqp_new_connection();
    if (conn->url->tls || cfg->ssl) {
        sock = amqp_ssl_socket_new(conn->state);
        if (sock) {
            amqp_ssl_socket_set_verify_peer(sock, cfg->ssl_ca_file ? 1 : 0);
            amqp_ssl_socket_set_verify_hostname(sock, cfg->ssl_ca_file ? 1 : 0);
            if (cfg->ssl_ca_file && amqp_ssl_socket_set_cacert(sock, cfg->ssl_ca_file) != 0)
                return tern_error_set(TERN_ERR_RPC, "could not load CA file \"%s\"",
                                      cfg->ssl_ca_file);
            if (cfg->ssl_cert_file && cfg->ssl_key_file &&
                amqp_ssl_socket_set_key(sock, cfg->ssl_cert_file, cfg->ssl_key_file) != 0)
                return tern_error_set(TERN_ERR_RPC, "could not load client certificate \"%s\"",
                                      cfg->ssl_cert_file);
        }
    } else {
        sock = amqp_tcp_socket_new(conn->state);
    }
    if (!sock)
        return tern_error_set(TERN_ERR_RPC, "could not create a socket");
    if ((rc = amqp_socket_open_noblock(sock, h->host, h->port, &tv)) != AMQP_STATUS_OK)
        return tern_error_set(TERN_ERR_UNAVAILABLE, "could not connect to broker %s:%d: %s",
                              h->host, h->port, amqp_error_string2(rc));
    if (rpc_conn_check(conn,
                       amqp_login(conn->state, conn->url->vhost, 0, 131072, heartbeat_s,
                                  AMQP_SASL_METHOD_PLAIN, h->user, h->password),
                       "log in to the broker") < 0)
        return tern_error_prefix("broker %s:%d as \"%s\"", h->host, h->port, h->user);
    amqp_channel_open(conn->state, 1);
    if (rpc_conn_check(conn, amqp_get_rpc_reply(conn->state), "open a channel") < 0)
        return -1;
    conn->user = tern_strdup(h->user);
    return 0;
}

int
rpc_conn_open(rpc_conn_t *conn, bool confirms, int heartbeat_s)
{
    char reasons[TERN_ERROR_MSG_MAX / 2] = "";
    size_t used = 0;

    rpc_conn_close(conn);
    conn->heartbeat_s = heartbeat_s;
    for (size_t k = 0; k < conn->url->n_hosts; k++) {
        size_t i = (conn->host_index + k) % conn->url->n_hosts;

        if (open_host(conn, &conn->url->hosts[i], heartbeat_s) == 0) {
            conn->host_index = i;
            if (confirms) {
                amqp_confirm_select(conn->state, 1);
                if (rpc_conn_check(conn, amqp_get_rpc_reply(conn->state),
                                   "enable publisher confirms") < 0) {
                    rpc_conn_close(conn);
                    return -1;
                }
                conn->confirms = true;
                conn->next_delivery_tag = 1;
            }
            return 0;
        }
        if (used < sizeof(reasons))
            used += (size_t)snprintf(reasons + used, sizeof(reasons) - used, "%s%s",
                                     used ? "; " : "", tern_error_message());
        rpc_conn_close(conn);
    }
    conn->host_index = (conn->host_index + 1) % conn->url->n_hosts;
    return tern_error_set(TERN_ERR_UNAVAILABLE, "could not reach any broker: %s", reasons);
}

int
rpc_conn_open_retry(rpc_conn_t *conn, bool confirms, int heartbeat_s, volatile bool *stop)
{
    int64_t delay = conn->cfg->retry_interval_ms;

    while (!*stop) {
        if (rpc_conn_open(conn, confirms, heartbeat_s) == 0)
            return 0;
        TERN_WARN("%s; retrying in %lld ms", tern_error_message(), (long long)delay);
        for (int64_t waited = 0; waited < delay && !*stop; waited += 100)
            tern_sleep_ms(100);
        delay += conn->cfg->retry_backoff_ms;
        if (delay > conn->cfg->retry_max_ms)
            delay = conn->cfg->retry_max_ms;
    }
    return tern_error_set(TERN_ERR_UNAVAILABLE, "stopped while reconnecting to the broker");
}

/* wait_confirm: the broker's ack (or nack) of the last published message. */
static int
wait_confirm(rpc_conn_t *conn, uint64_t tag)
{
    struct timeval tv = {.tv_sec = CONFIRM_TIMEOUT_S};

    for (;;) {
        amqp_frame_t frame;
        int rc = amqp_simple_wait_frame_noblock(conn->state, &frame, &tv);

        if (rc == AMQP_STATUS_TIMEOUT)
            return tern_error_set(TERN_ERR_TIMEOUT,
                                  "the broker did not confirm a message "
                                  "within %d s",
                                  CONFIRM_TIMEOUT_S);
        if (rc != AMQP_STATUS_OK)
            return tern_error_set(TERN_ERR_RPC, "could not read the broker's confirmation: %s",
                                  amqp_error_string2(rc));
        if (frame.frame_type != AMQP_FRAME_METHOD)
            continue;
        switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            amqp_basic_ack_t *ack = frame.payload.method.decoded;

            if (ack->delivery_tag >= tag)
                return 0;
            break;
        }
        case AMQP_BASIC_NACK_METHOD:
            return tern_error_set(TERN_ERR_RPC, "the broker refused a message (nack)");
        case AMQP_BASIC_RETURN_METHOD: {
            amqp_message_t msg;

            /* An unroutable mandatory message: read its content, then the ack follows. */
            amqp_read_message(conn->state, frame.channel, &msg, 0);
            amqp_destroy_message(&msg);
            return tern_error_set(TERN_ERR_UNAVAILABLE, "no queue takes the message");
        }
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
            return tern_error_set(TERN_ERR_RPC, "the broker closed the channel while "
                                                "confirming a message");
        default:
            break;
        }
    }
}

int
rpc_conn_publish(rpc_conn_t *conn, const char *exchange, const char *routing_key, const char *body,
                 size_t len, bool mandatory)
{
    amqp_basic_properties_t props;
    amqp_bytes_t bytes = {.len = len, .bytes = (void *)body};
    int rc;

    if (!conn->state)
        return tern_error_set(TERN_ERR_UNAVAILABLE, "not connected to the broker");
    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
                   AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_USER_ID_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.content_encoding = amqp_cstring_bytes("utf-8");
    props.delivery_mode = conn->cfg->durable_queues ? 2 : 1; /* persistent in durable queues */
    props.user_id = amqp_cstring_bytes(conn->user);
    rc = amqp_basic_publish(conn->state, 1, amqp_cstring_bytes(exchange),
                            amqp_cstring_bytes(routing_key), mandatory, 0, &props, bytes);
    if (rc != AMQP_STATUS_OK)
        return tern_error_set(TERN_ERR_RPC, "could not publish to \"%s\": %s", routing_key,
                              amqp_error_string2(rc));
    if (!conn->confirms)
        return 0;
    return wait_confirm(conn, conn->next_delivery_tag++);
}

/* As oslo.messaging's rabbit driver declares them: the control exchange (topic) durable when
 * durable_queues, never auto-deleted; "<topic>_fanout" exchanges transient and auto-deleted. A
 * redeclaration with other properties is refused by RabbitMQ, so they must match oslo's. */
int
rpc_conn_declare_exchange(rpc_conn_t *conn, const char *exchange, const char *type)
{
    bool fanout = strcmp(type, "fanout") == 0;
    TERN_AUTOFREE char *entry = tern_asprintf("\n%s\n", exchange);
    char *more;

    if (conn->declared && strstr(conn->declared, entry))
        return 0;
    amqp_exchange_declare(conn->state, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes(type), 0,
                          !fanout && conn->cfg->durable_queues, fanout, 0, amqp_empty_table);
    if (rpc_conn_check(conn, amqp_get_rpc_reply(conn->state), "declare an exchange") < 0)
        return tern_error_prefix("exchange \"%s\"", exchange);
    more = tern_asprintf("%s%s\n", conn->declared ? conn->declared : "\n", exchange);
    free(conn->declared);
    conn->declared = more;
    return 0;
}

#define REPLY_QUEUE_EXPIRES_MS 1800000

int
rpc_conn_declare_reply_queue(rpc_conn_t *conn, const char *queue)
{
    amqp_table_entry_t expires = {
        .key = amqp_cstring_bytes("x-expires"),
        .value = {.kind = AMQP_FIELD_KIND_I32, .value.i32 = REPLY_QUEUE_EXPIRES_MS}};
    amqp_table_t args = {.num_entries = 1, .entries = &expires};
    bool durable = conn->cfg->durable_queues;

    amqp_queue_declare(conn->state, 1, amqp_cstring_bytes(queue), 0, durable, 0, !durable,
                       durable ? args : amqp_empty_table);
    if (rpc_conn_check(conn, amqp_get_rpc_reply(conn->state), "declare a queue") < 0)
        return tern_error_prefix("reply queue \"%s\"", queue);
    return 0;
}

/* Queues that are not auto-deleted (the topic queues) are durable when durable_queues. */
int
rpc_conn_declare_queue(rpc_conn_t *conn, const char *queue, bool auto_delete, const char *exchange,
                       const char *routing_key)
{
    amqp_queue_declare(conn->state, 1, amqp_cstring_bytes(queue), 0,
                       !auto_delete && conn->cfg->durable_queues, 0, auto_delete, amqp_empty_table);
    if (rpc_conn_check(conn, amqp_get_rpc_reply(conn->state), "declare a queue") < 0)
        return tern_error_prefix("queue \"%s\"", queue);
    if (!exchange || !exchange[0])
        return 0;
    amqp_queue_bind(conn->state, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                    amqp_cstring_bytes(routing_key), amqp_empty_table);
    if (rpc_conn_check(conn, amqp_get_rpc_reply(conn->state), "bind a queue") < 0)
        return tern_error_prefix("queue \"%s\" to exchange \"%s\"", queue, exchange);
    return 0;
}

char *
rpc_bytes_dup(amqp_bytes_t b)
{
    char *s = tern_malloc(b.len + 1);

    memcpy(s, b.bytes, b.len);
    s[b.len] = '\0';
    return s;
}
