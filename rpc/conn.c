/*
 * rpc/conn.c: one AMQP 0-9-1 connection (librabbitmq), channel 1.
 *
 * Owns conn->state, conn->user, conn->declared and the ring of publishes waiting for their
 * confirms. One thread uses a connection at a time (rabbitmq-c's rule): conn->lock, taken by the
 * callers. Publishing never waits for the broker; whoever pumps the connection (rpc_conn_pump,
 * after poll() says its socket is readable) reads the confirms, returns and deliveries and
 * hands them to their callbacks. Every amqp_rpc_reply_t is checked here and turned into a tern
 * error.
 *
 * Deliveries are read frame by frame (never with amqp_read_message, which gathers a body of
 * whatever size the peer chose before anything can look at it): basic.deliver, then the content
 * header, whose body_size is checked against max_message_bytes (rpc_body_start) before any of
 * the body is read, then the body frames, across pumps (conn->rx_*). An oversized body's frames
 * are discarded as they come, each frame's buffer given back to rabbitmq-c at once, and the
 * delivery is rejected without requeue; it is never parsed (see on_oversized).
 */
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

/* How long a publisher waits for room in a full window of unconfirmed publishes. */
/* The operating system's CA bundle (Debian's ca-certificates), trusted when no CA file is set. */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

#define WINDOW_TIMEOUT_MS 30000
/* How long a close waits for the broker's close-ok. */
#define CLOSE_TIMEOUT_MS 1000

void
rpc_conn_init(rpc_conn_t *conn, const rpc_config_t *cfg, const rpc_url_t *url, rpc_stats_t *stats)
{
    memset(conn, 0, sizeof(*conn));
    pthread_mutex_init(&conn->lock, NULL);
    conn->cfg = cfg;
    conn->url = url;
    conn->stats = stats;
    conn->pending = tern_calloc(RPC_MAX_UNCONFIRMED, sizeof(rpc_pending_t));
    conn->fd = -1;
}

void
rpc_conn_fini(rpc_conn_t *conn)
{
    rpc_conn_close(conn);
    free(conn->pending);
    conn->pending = NULL;
    free(conn->out);
    conn->out = NULL;
    pthread_mutex_destroy(&conn->lock);
}

int
rpc_conn_fd(rpc_conn_t *conn)
{
    return __atomic_load_n(&conn->fd, __ATOMIC_ACQUIRE);
}

/* confirm: tell the publish of tag how it ended and free its slot. */
static void
confirm(rpc_conn_t *conn, uint64_t tag, rpc_outcome_t outcome)
{
    rpc_pending_t *p = &conn->pending[tag % RPC_MAX_UNCONFIRMED];

    if (p->tag != tag)
        return; /* already told (a return comes before its ack) */
    p->tag = 0;
    if (p->fn)
        p->fn(p->opaque, outcome);
    while (conn->confirm_floor < conn->next_tag &&
           conn->pending[conn->confirm_floor % RPC_MAX_UNCONFIRMED].tag != conn->confirm_floor)
        conn->confirm_floor++;
}

/* confirm_upto: an ack or nack with the "multiple" flag covers every tag up to tag. */
static void
confirm_upto(rpc_conn_t *conn, uint64_t tag, bool multiple, rpc_outcome_t outcome)
{
    if (!multiple) {
        confirm(conn, tag, outcome);
        return;
    }
    for (uint64_t t = conn->confirm_floor; t <= tag && t < conn->next_tag; t++)
        confirm(conn, t, outcome);
}

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

/* shut: close the connection of state and free it. Not with amqp_channel_close() and
 * amqp_connection_close(): while they wait for their close-ok, rabbitmq-c keeps every frame the
 * broker still sends - up to a prefetch window of deliveries, bodies whole, whatever their size
 * (a closing consumer under a flood of oversized messages took a gigabyte). connection.close is
 * sent, and what comes before its close-ok (for CLOSE_TIMEOUT_MS at most) is read and
 * discarded frame by frame; deliveries not acknowledged go back to their queues, as with any
 * close. */
static void
shut(amqp_connection_state_t state)
{
    amqp_connection_close_t m = {.reply_code = AMQP_REPLY_SUCCESS,
                                 .reply_text = amqp_cstring_bytes("closing")};
    int64_t deadline = tern_now_monotonic_ms() + CLOSE_TIMEOUT_MS;

    if (amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_METHOD, &m) == AMQP_STATUS_OK) {
        for (;;) {
            int64_t left = deadline - tern_now_monotonic_ms();
            struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
            amqp_frame_t f;

            if (left <= 0 || amqp_simple_wait_frame_noblock(state, &f, &tv) != AMQP_STATUS_OK)
                break;
            if (f.frame_type == AMQP_FRAME_METHOD && f.channel == 0 &&
                (f.payload.method.id == AMQP_CONNECTION_CLOSE_OK_METHOD ||
                 f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD))
                break;
            amqp_maybe_release_buffers_on_channel(state, f.channel);
        }
    }
    amqp_destroy_connection(state);
}

/* rx_reset: forget the delivery being read, if any. */
static void
rx_reset(rpc_conn_t *conn)
{
    rpc_body_clear(&conn->rx_body);
    free(conn->rx_user_id);
    conn->rx_user_id = NULL;
    conn->rx_user_id_len = 0;
    conn->rx_stage = RPC_RX_IDLE;
}

void
rpc_conn_close(rpc_conn_t *conn)
{
    amqp_connection_state_t state = conn->state;

    __atomic_store_n(&conn->fd, -1, __ATOMIC_RELEASE);
    if (state) {
        conn->state = NULL;
        shut(state);
    }
    if (conn->pending) {
        for (uint64_t t = conn->confirm_floor; t < conn->next_tag; t++)
            confirm(conn, t, RPC_OUTCOME_LOST);
    }
    conn->confirm_floor = conn->next_tag = 0;
    conn->out_len = 0; /* frames for a connection that is gone */
    rx_reset(conn);    /* a delivery half read: the broker delivers it again */
    free(conn->user);
    conn->user = NULL;
    free(conn->declared);
    conn->declared = NULL;
    conn->confirms = false;
}

/* broken: the connection failed under us (not closed on purpose): count it, close it. */
static void
broken(rpc_conn_t *conn)
{
    RPC_COUNT(conn->stats->connections_lost);
    rpc_conn_close(conn);
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
            /* Verified unless explicitly told not to: with no CA file, against the system's
             * bundle (none there: nothing is trusted, and the connection fails). */
            const char *ca = cfg->ssl_ca_file;

            if (!ca && !cfg->ssl_no_verify && access(SYSTEM_CA_BUNDLE, R_OK) == 0)
                ca = SYSTEM_CA_BUNDLE;
            amqp_ssl_socket_set_verify_peer(sock, !cfg->ssl_no_verify);
            amqp_ssl_socket_set_verify_hostname(sock, !cfg->ssl_no_verify);
            if (ca && amqp_ssl_socket_set_cacert(sock, ca) != 0)
                return tern_error_set(TERN_ERR_RPC, "could not load CA file \"%s\"", ca);
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
                conn->next_tag = conn->confirm_floor = 1;
            }
            conn->last_rx_ms = tern_now_monotonic_ms();
            if (conn->generation++ > 0)
                RPC_COUNT(conn->stats->reconnects);
            __atomic_store_n(&conn->fd, amqp_get_sockfd(conn->state), __ATOMIC_RELEASE);
            return 0;
        }
        if (used < sizeof(reasons))
            used += (size_t)snprintf(reasons + used, sizeof(reasons) - used, "%s%s",
                                     used ? "; " : "", tern_error_message());
        rpc_conn_close(conn);
    }
    conn->host_index = (conn->host_index + 1) % conn->url->n_hosts;
    if (conn->generation > 0)
        RPC_COUNT(conn->stats->reconnects_failed);
    return tern_error_set(TERN_ERR_UNAVAILABLE, "could not reach any broker: %s", reasons);
}

/* on_return: a mandatory message no queue took; its message-id property names its tag. */
static int
on_return(rpc_conn_t *conn, amqp_channel_t channel)
{
    amqp_message_t msg;
    amqp_basic_properties_t *p = &msg.properties;
    char id[24] = "";

    if (rpc_conn_check(conn, amqp_read_message(conn->state, channel, &msg, 0),
                       "read a returned message") < 0)
        return -1;
    if ((p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) && p->message_id.len < sizeof(id)) {
        memcpy(id, p->message_id.bytes, p->message_id.len);
        confirm(conn, strtoull(id, NULL, 10), RPC_OUTCOME_RETURNED);
    }
    amqp_destroy_message(&msg);
    return 0;
}

/* on_deliver: a basic.deliver: its content header and body frames come next (on_header,
 * on_body), in this pump or the next ones. */
static int
on_deliver(rpc_conn_t *conn, const amqp_frame_t *frame)
{
    amqp_basic_deliver_t *m = frame->payload.method.decoded;

    rx_reset(conn);
    conn->rx_tag = m->delivery_tag;
    conn->rx_stage = RPC_RX_HEADER;
    return 0;
}

/* on_method: one method frame read by the pump. 0, or -1 when the connection is unusable. */
static int
on_method(rpc_conn_t *conn, const amqp_frame_t *frame)
{
    switch (frame->payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *m = frame->payload.method.decoded;

        confirm_upto(conn, m->delivery_tag, m->multiple, RPC_OUTCOME_ACK);
        return 0;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *m = frame->payload.method.decoded;

        confirm_upto(conn, m->delivery_tag, m->multiple, RPC_OUTCOME_NACK);
        return 0;
    }
    case AMQP_BASIC_RETURN_METHOD:
        return on_return(conn, frame->channel);
    case AMQP_BASIC_DELIVER_METHOD:
        return on_deliver(conn, frame);
    case AMQP_BASIC_CANCEL_METHOD:
        return tern_error_set(TERN_ERR_RPC, "the broker cancelled a consumer (queue deleted?)");
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *m = frame->payload.method.decoded;

        return tern_error_set(TERN_ERR_RPC, "channel closed by the broker: %d %.*s", m->reply_code,
                              (int)m->reply_text.len, (char *)m->reply_text.bytes);
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_t *m = frame->payload.method.decoded;

        return tern_error_set(TERN_ERR_RPC, "connection closed by the broker: %d %.*s",
                              m->reply_code, (int)m->reply_text.len, (char *)m->reply_text.bytes);
    }
    default:
        return 0;
    }
}

static int reject(rpc_conn_t *conn, uint64_t tag);

/* on_oversized: a delivery whose body was over max_message_bytes, its frames all read and
 * discarded. Rejected without requeue, as oslo.messaging's rabbit driver rejects a message it
 * cannot process (kombu's reject(requeue=False)): the broker drops it, or dead-letters it to the
 * queue's dead-letter exchange if the operator set one (an ack would claim it was processed;
 * requeued, it would come back for ever). Nobody is answered: the reply address of an oslo call
 * (_reply_q, _msg_id) is inside the body, which is never parsed - reading it would take the
 * very bytes the limit refuses - so its caller times out. The same for a reply too big (the
 * client's consumer): the call it answers times out. */
static int
on_oversized(rpc_conn_t *conn)
{
    RPC_COUNT(conn->stats->oversized_dropped);
    return reject(conn, conn->rx_tag);
}

/* rx_complete: the delivery read is whole: hand it to on_delivery, or drop it when oversized. */
static int
rx_complete(rpc_conn_t *conn, rpc_delivery_fn on_delivery, void *opaque)
{
    rpc_delivery_t d = {.tag = conn->rx_tag,
                        .body = conn->rx_body.bytes,
                        .len = (size_t)conn->rx_body.size,
                        .user_id = conn->rx_user_id,
                        .user_id_len = conn->rx_user_id_len};
    int rc = 0;

    if (conn->rx_body.drop)
        rc = on_oversized(conn);
    else if (on_delivery) {
        on_delivery(opaque, &d);
        conn->rx_body.bytes = d.body; /* NULL when the callback took it */
    }
    rx_reset(conn);
    return rc;
}

/* on_header: the content header of the delivery being read - the size check, before its body. */
static int
on_header(rpc_conn_t *conn, const amqp_frame_t *frame, rpc_delivery_fn on_delivery, void *opaque)
{
    const amqp_basic_properties_t *p = frame->payload.properties.decoded;

    if (conn->rx_stage != RPC_RX_HEADER)
        return tern_error_set(TERN_ERR_RPC, "the broker sent a content header out of place");
    if (p && (p->_flags & AMQP_BASIC_USER_ID_FLAG) && p->user_id.len > 0) {
        conn->rx_user_id = rpc_bytes_dup(p->user_id);
        conn->rx_user_id_len = p->user_id.len;
    }
    rpc_body_start(&conn->rx_body, frame->payload.properties.body_size,
                   conn->cfg->max_message_bytes);
    conn->rx_stage = RPC_RX_BODY;
    if (conn->rx_body.size == 0)
        return rx_complete(conn, on_delivery, opaque);
    return 0;
}

/* on_body: one body frame of the delivery being read: gathered, or discarded when oversized;
 * either way its buffer goes back to rabbitmq-c now, so that a body is never held twice nor an
 * oversized one at all. */
static int
on_body(rpc_conn_t *conn, const amqp_frame_t *frame, rpc_delivery_fn on_delivery, void *opaque)
{
    int rc;

    if (conn->rx_stage != RPC_RX_BODY)
        return tern_error_set(TERN_ERR_RPC, "the broker sent a body frame out of place");
    rc = rpc_body_add(&conn->rx_body, frame->payload.body_fragment.bytes,
                      frame->payload.body_fragment.len);
    amqp_maybe_release_buffers_on_channel(conn->state, frame->channel);
    if (rc < 0)
        return -1;
    return rc == 1 ? rx_complete(conn, on_delivery, opaque) : 0;
}

/* on_frame: one frame read by the pump. A method on channel 1 while a delivery's content is
 * being read breaks the protocol (content frames are never interleaved on a channel). */
static int
on_frame(rpc_conn_t *conn, const amqp_frame_t *frame, rpc_delivery_fn on_delivery, void *opaque)
{
    switch (frame->frame_type) {
    case AMQP_FRAME_METHOD:
        if (conn->rx_stage != RPC_RX_IDLE && frame->channel == 1)
            return tern_error_set(TERN_ERR_RPC,
                                  "the broker sent a method in the middle of a message");
        return on_method(conn, frame);
    case AMQP_FRAME_HEADER:
        return on_header(conn, frame, on_delivery, opaque);
    case AMQP_FRAME_BODY:
        return on_body(conn, frame, on_delivery, opaque);
    default:
        return 0;
    }
}

int
rpc_conn_pump(rpc_conn_t *conn, rpc_delivery_fn on_delivery, void *opaque)
{
    static const struct timeval now = {0, 0};
    int64_t silent;

    if (!conn->state)
        return tern_error_set(TERN_ERR_UNAVAILABLE, "not connected to the broker");
    /* Heartbeats are read inside rabbitmq-c, unseen here: on a quiet connection, look at the
     * socket before reading it, so that a heartbeat counts as a sign of life. */
    if (conn->heartbeat_s > 0 &&
        tern_now_monotonic_ms() - conn->last_rx_ms > 500 * (int64_t)conn->heartbeat_s) {
        struct pollfd pfd = {.fd = amqp_get_sockfd(conn->state), .events = POLLIN};

        if (poll(&pfd, 1, 0) > 0)
            conn->last_rx_ms = tern_now_monotonic_ms();
    }
    for (bool first = true;; first = false) {
        amqp_frame_t frame;
        int rc;

        /* Read the socket once, then only what that read brought: the caller polls again
         * (a second read would only find EAGAIN, two system calls for nothing) - unless a
         * delivery is half read: then on until the socket has nothing more. */
        if (!first && conn->rx_stage == RPC_RX_IDLE && !amqp_frames_enqueued(conn->state) &&
            !amqp_data_in_buffer(conn->state))
            break;
        rc = amqp_simple_wait_frame_noblock(conn->state, &frame, &now);
        if (rc == AMQP_STATUS_TIMEOUT)
            break;
        if (rc != AMQP_STATUS_OK) {
            tern_error_set(TERN_ERR_RPC, "connection to the broker lost: %s",
                           amqp_error_string2(rc));
            goto fail;
        }
        conn->last_rx_ms = tern_now_monotonic_ms();
        if (on_frame(conn, &frame, on_delivery, opaque) < 0)
            goto fail;
    }
    amqp_maybe_release_buffers(conn->state);
    silent = tern_now_monotonic_ms() - conn->last_rx_ms;
    if (conn->heartbeat_s > 0 && silent > 2000 * (int64_t)conn->heartbeat_s) {
        tern_error_set(TERN_ERR_RPC, "the broker sent nothing for %lld s (missed heartbeats)",
                       (long long)(silent / 1000));
        goto fail;
    }
    return 0;

fail:
    if (conn->state) /* else a write failed and closed it, counted already */
        broken(conn);
    return -1;
}

void
rpc_conn_note_readable(rpc_conn_t *conn)
{
    conn->last_rx_ms = tern_now_monotonic_ms();
}

/* wait_window: pump until the slot of the next tag is free (its publish confirmed). */
static int
wait_window(rpc_conn_t *conn)
{
    int64_t deadline = tern_now_monotonic_ms() + WINDOW_TIMEOUT_MS;

    while (conn->pending[conn->next_tag % RPC_MAX_UNCONFIRMED].tag != 0) {
        struct pollfd pfd = {.fd = rpc_conn_fd(conn), .events = POLLIN};

        if (tern_now_monotonic_ms() >= deadline)
            return tern_error_set(TERN_ERR_TIMEOUT,
                                  "the broker confirmed none of %d messages in %d s",
                                  RPC_MAX_UNCONFIRMED, WINDOW_TIMEOUT_MS / 1000);
        if (poll(&pfd, 1, 100) > 0)
            conn->last_rx_ms = tern_now_monotonic_ms();
        if (rpc_conn_pump(conn, NULL, NULL) < 0)
            return -1;
    }
    return 0;
}

/* ---- frames in one write ----
 *
 * rabbitmq-c writes a publish as three send() calls (method, header and body frames) and
 * system calls are what RPC costs on a small machine. On a plain TCP connection the frames are
 * encoded here, with rabbitmq-c's own encoders, into conn->out and written with one send();
 * on TLS the library's path is kept. Only the holder of conn->lock writes, so frames never
 * interleave with the library's own (heartbeats). */

#define FRAME_OVERHEAD 8 /* type, channel, size; frame end */

static bool
raw_writes(const rpc_conn_t *conn)
{
    return !conn->url->tls && !conn->cfg->ssl;
}

static uint8_t *
out_reserve(rpc_conn_t *conn, size_t more)
{
    if (conn->out_len + more > conn->out_cap) {
        size_t cap = conn->out_cap ? conn->out_cap : 4096;

        while (cap < conn->out_len + more)
            cap *= 2;
        conn->out = tern_realloc(conn->out, cap);
        conn->out_cap = cap;
    }
    return conn->out + conn->out_len;
}

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* out_frame_close: write the frame header for a payload of len at the end of conn->out. */
static void
out_frame_close(rpc_conn_t *conn, uint8_t type, size_t len)
{
    uint8_t *f = conn->out + conn->out_len;

    f[0] = type;
    put16(f + 1, 1); /* channel 1 */
    put32(f + 3, (uint32_t)len);
    f[7 + len] = AMQP_FRAME_END;
    conn->out_len += len + FRAME_OVERHEAD;
}

static int
out_method(rpc_conn_t *conn, amqp_method_number_t id, void *decoded, size_t max_args)
{
    uint8_t *f = out_reserve(conn, max_args + 4 + FRAME_OVERHEAD);
    int n;

    put32(f + 7, id);
    n = amqp_encode_method(id, decoded, (amqp_bytes_t){.len = max_args, .bytes = f + 11});
    if (n < 0)
        return tern_error_set(TERN_ERR_INVALID, "could not encode an AMQP method: %s",
                              amqp_error_string2(n));
    out_frame_close(conn, AMQP_FRAME_METHOD, (size_t)n + 4);
    return 0;
}

static int
out_content(rpc_conn_t *conn, amqp_basic_properties_t *props, const char *body, size_t len)
{
    size_t max_props = 4096;
    uint8_t *f = out_reserve(conn, max_props + 12 + FRAME_OVERHEAD);
    size_t chunk = (size_t)amqp_get_frame_max(conn->state) - FRAME_OVERHEAD;
    int n;

    put16(f + 7, AMQP_BASIC_CLASS);
    put16(f + 9, 0); /* weight */
    put64(f + 11, len);
    n = amqp_encode_properties(AMQP_BASIC_CLASS, props,
                               (amqp_bytes_t){.len = max_props, .bytes = f + 19});
    if (n < 0)
        return tern_error_set(TERN_ERR_INVALID, "could not encode AMQP properties: %s",
                              amqp_error_string2(n));
    out_frame_close(conn, AMQP_FRAME_HEADER, (size_t)n + 12);
    for (size_t off = 0; off < len; off += chunk) {
        size_t piece = len - off < chunk ? len - off : chunk;

        f = out_reserve(conn, piece + FRAME_OVERHEAD);
        memcpy(f + 7, body + off, piece);
        out_frame_close(conn, AMQP_FRAME_BODY, piece);
    }
    return 0;
}

/* out_flush: write conn->out; on failure the connection is closed. */
static int
out_flush(rpc_conn_t *conn)
{
    size_t done = 0;
    int fd = amqp_get_sockfd(conn->state);

    while (done < conn->out_len) {
        ssize_t n = send(fd, conn->out + done, conn->out_len - done, MSG_NOSIGNAL);

        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};

            if (poll(&pfd, 1, WINDOW_TIMEOUT_MS) <= 0) {
                tern_error_set(TERN_ERR_RPC, "the broker takes no data (send buffer full)");
                goto fail;
            }
        } else if (n < 0 && errno != EINTR) {
            tern_error_set_errno(errno, "could not write to the broker");
            goto fail;
        }
    }
    conn->out_len = 0;
    return 0;

fail:
    conn->out_len = 0;
    broken(conn);
    return -1;
}

int
rpc_conn_publish(rpc_conn_t *conn, const char *exchange, const char *routing_key, const char *body,
                 size_t len, bool mandatory, rpc_confirm_fn fn, void *opaque)
{
    amqp_basic_properties_t props;
    amqp_bytes_t bytes = {.len = len, .bytes = (void *)body};
    char id[24];
    int rc;

    if (!conn->state)
        return tern_error_set(TERN_ERR_UNAVAILABLE, "not connected to the broker");
    if (conn->confirms && wait_window(conn) < 0)
        return -1;
    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
                   AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_USER_ID_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.content_encoding = amqp_cstring_bytes("utf-8");
    props.delivery_mode = conn->cfg->durable_queues ? 2 : 1; /* persistent in durable queues */
    props.user_id = amqp_cstring_bytes(conn->user);
    if (conn->confirms && mandatory) {
        /* a return names the publish it undoes by this */
        snprintf(id, sizeof(id), "%" PRIu64, conn->next_tag);
        props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        props.message_id = amqp_cstring_bytes(id);
    }
    if (raw_writes(conn)) {
        amqp_basic_publish_t m = {.exchange = amqp_cstring_bytes(exchange),
                                  .routing_key = amqp_cstring_bytes(routing_key),
                                  .mandatory = mandatory};

        if (out_method(conn, AMQP_BASIC_PUBLISH_METHOD, &m, 1024) < 0 ||
            out_content(conn, &props, body, len) < 0) {
            conn->out_len = 0;
            return tern_error_prefix("could not publish to \"%s\"", routing_key);
        }
        if (out_flush(conn) < 0)
            return -1;
    } else {
        rc = amqp_basic_publish(conn->state, 1, amqp_cstring_bytes(exchange),
                                amqp_cstring_bytes(routing_key), mandatory, 0, &props, bytes);
        if (rc != AMQP_STATUS_OK) {
            tern_error_set(TERN_ERR_RPC, "could not write to the broker: %s",
                           amqp_error_string2(rc));
            broken(conn);
            return -1;
        }
    }
    if (conn->confirms) {
        rpc_pending_t *p = &conn->pending[conn->next_tag % RPC_MAX_UNCONFIRMED];

        p->tag = conn->next_tag++;
        p->fn = fn;
        p->opaque = opaque;
    }
    return 0;
}

int
rpc_conn_ack(rpc_conn_t *conn, uint64_t tag, unsigned gen, bool more)
{
    if (!conn->state)
        return tern_error_set(TERN_ERR_UNAVAILABLE, "not connected to the broker");
    if (gen == conn->generation && raw_writes(conn)) {
        amqp_basic_ack_t m = {.delivery_tag = tag};

        if (out_method(conn, AMQP_BASIC_ACK_METHOD, &m, 64) < 0) {
            conn->out_len = 0;
            return tern_error_prefix("could not acknowledge a message");
        }
    } else if (gen == conn->generation &&
               amqp_basic_ack(conn->state, 1, tag, 0) != AMQP_STATUS_OK) {
        tern_error_set(TERN_ERR_RPC, "could not acknowledge a message: connection lost");
        broken(conn);
        return -1;
    }
    if (!more && conn->out_len > 0 && out_flush(conn) < 0)
        return tern_error_prefix("could not acknowledge a message");
    return 0;
}

int
rpc_conn_ack_through(rpc_conn_t *conn, uint64_t tag)
{
    if (!conn->state)
        return tern_error_set(TERN_ERR_UNAVAILABLE, "not connected to the broker");
    if (raw_writes(conn)) {
        amqp_basic_ack_t m = {.delivery_tag = tag, .multiple = 1};

        if (out_method(conn, AMQP_BASIC_ACK_METHOD, &m, 64) < 0 || out_flush(conn) < 0) {
            conn->out_len = 0;
            return tern_error_prefix("could not acknowledge messages");
        }
    } else if (amqp_basic_ack(conn->state, 1, tag, 1) != AMQP_STATUS_OK) {
        tern_error_set(TERN_ERR_RPC, "could not acknowledge messages: connection lost");
        broken(conn);
        return -1;
    }
    return 0;
}

/* reject: refuse a delivery of the current connection without requeue (basic.reject), now. */
static int
reject(rpc_conn_t *conn, uint64_t tag)
{
    if (raw_writes(conn)) {
        amqp_basic_reject_t m = {.delivery_tag = tag, .requeue = 0};

        if (out_method(conn, AMQP_BASIC_REJECT_METHOD, &m, 64) < 0 || out_flush(conn) < 0) {
            conn->out_len = 0;
            return tern_error_prefix("could not reject a message");
        }
    } else if (amqp_basic_reject(conn->state, 1, tag, 0) != AMQP_STATUS_OK) {
        tern_error_set(TERN_ERR_RPC, "could not reject a message: connection lost");
        broken(conn);
        return -1;
    }
    return 0;
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

/* declare_and_bind: declare queue, bind it to exchange (none when NULL or "") with routing_key. */
static int
declare_and_bind(rpc_conn_t *conn, const char *queue, bool durable, bool exclusive,
                 bool auto_delete, const char *exchange, const char *routing_key)
{
    amqp_queue_declare(conn->state, 1, amqp_cstring_bytes(queue), 0, durable, exclusive,
                       auto_delete, amqp_empty_table);
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

/* Queues that are not auto-deleted (the topic queues) are durable when durable_queues. */
int
rpc_conn_declare_queue(rpc_conn_t *conn, const char *queue, bool auto_delete, const char *exchange,
                       const char *routing_key)
{
    return declare_and_bind(conn, queue, !auto_delete && conn->cfg->durable_queues, false,
                            auto_delete, exchange, routing_key);
}

int
rpc_conn_declare_own_queue(rpc_conn_t *conn, const char *queue, const char *exchange,
                           const char *routing_key)
{
    return declare_and_bind(conn, queue, false, true, true, exchange, routing_key);
}

int
rpc_conn_consume(rpc_conn_t *conn, const char *queue, bool nowait)
{
    /* no consume-ok will name a nowait consumer: name it (unique on the channel: one per queue) */
    amqp_basic_consume_t m = {.queue = amqp_cstring_bytes(queue),
                              .consumer_tag = amqp_cstring_bytes(queue),
                              .nowait = 1,
                              .arguments = amqp_empty_table};
    char what[300];
    int rc;

    snprintf(what, sizeof(what), "consume queue \"%.255s\"", queue);
    if (!nowait) {
        amqp_basic_consume(conn->state, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
                           amqp_empty_table);
        return rpc_conn_check(conn, amqp_get_rpc_reply(conn->state), what);
    }
    if ((rc = amqp_send_method(conn->state, 1, AMQP_BASIC_CONSUME_METHOD, &m)) != AMQP_STATUS_OK)
        return tern_error_set(TERN_ERR_RPC, "could not %s: %s", what, amqp_error_string2(rc));
    return 0;
}

int
rpc_conn_prefetch(rpc_conn_t *conn, int count)
{
    amqp_basic_qos(conn->state, 1, 0, (uint16_t)count, 0);
    return rpc_conn_check(conn, amqp_get_rpc_reply(conn->state), "set the prefetch count");
}

char *
rpc_bytes_dup(amqp_bytes_t b)
{
    char *s = tern_malloc(b.len + 1);

    memcpy(s, b.bytes, b.len);
    s[b.len] = '\0';
    return s;
}
