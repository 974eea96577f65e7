/*
 * rpc/rpc-private.h: what the files of rpc/ share; nothing here leaves the module.
 *
 *   rpc/url.c      transport URL parsing (hosts, credentials, vhost, TLS)
 *   rpc/conn.c     one AMQP connection: open with fail-over and backoff, TLS, publishing without
 *                  waiting (confirms reach callbacks), the pump, error translation (amqp_*
 *                  stays in rpc/)
 *   rpc/message.c  the oslo.messaging envelope: encode, decode and validate, remote errors
 *   rpc/reader.c   reading a client's or a server's two connections by turns (leader/followers),
 *                  the eventfd, confirm lag, reopening the consumer, the keeper thread
 *   rpc/client.c   call / cast / fanout, waiters, the reply queue and its acks
 *   rpc/dispatch.c endpoint, version and method of a request; duplicate detection
 *   rpc/server.c   topic / topic.server / fanout queues (or a listener's own), jobs, workers,
 *                  replies and their retries, acks
 */
#ifndef TERN_RPC_PRIVATE_H
#define TERN_RPC_PRIVATE_H

#include <amqp.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "rpc/rpc.h"

#define RPC_MAX_HOSTS 8
#define RPC_MAX_JSON_DEPTH 32
#define RPC_ENVELOPE_VERSION "2.0"

/* ---- client.c: configuration copies ---- */

/* Copy *in into *out with its strings duplicated (rpc_config_new/rpc_server_new keep a copy, as
 * rpc.h promises callers that their strings are borrowed only during the call) and zero or
 * negative limits replaced by the defaults. Free the strings with rpc_config_free_strings(). */
void rpc_config_copy(const rpc_config_t *in, rpc_config_t *out);
void rpc_config_free_strings(rpc_config_t *cfg);

/* ---- url.c ---- */

typedef struct rpc_url_host {
    char *user;     /* owned */
    char *password; /* owned */
    char *host;     /* owned */
    int port;
} rpc_url_host_t;

typedef struct rpc_url {
    bool tls;
    char *vhost; /* owned; "/" when the URL has none */
    rpc_url_host_t hosts[RPC_MAX_HOSTS];
    size_t n_hosts;
} rpc_url_t;

/* Parse rabbit://user:pass@host:port[,user:pass@host2:port]/vhost (amqp://, amqps://). The
 * error never shows the password. */
int rpc_url_parse(const char *text, rpc_url_t *ret);
void rpc_url_clear(rpc_url_t *url);

/* ---- message.c: the size of what comes in ---- */

/* What a consumer may hold of messages it has not acknowledged yet: its prefetch count is this
 * divided by max_message_bytes (16 messages of the default 4 MiB), never fewer than its workers
 * (rpc_prefetch). RabbitMQ implements no prefetch size in bytes, so the bound is kept by count.
 * See rpc/README.md, "Bounds". */
#define RPC_UNACKED_BUDGET_BYTES (64u * 1024 * 1024)
#define RPC_MAX_PREFETCH 65535 /* basic.qos prefetch-count is 16 bits */

/* The prefetch count of a consumer of messages up to max_bytes with at_least threads to keep
 * fed: RPC_UNACKED_BUDGET_BYTES / max_bytes, at least at_least and 1, at most RPC_MAX_PREFETCH.
 * Pure. */
int rpc_prefetch(size_t max_bytes, int at_least);

/* The size check of a delivery, made from its content header before any of its body is read:
 * true when a body of body_size bytes is over max_bytes and is to be dropped unread. Pure. */
bool rpc_body_oversized(uint64_t body_size, size_t max_bytes);

/* A delivery's body as its frames come in (conn.c; the fuzzer drives it too). A body within the
 * limit is gathered in bytes; an oversized one is counted and never kept. Owned by its reader. */
typedef struct rpc_body {
    uint64_t size;     /* announced by the content header */
    uint64_t received; /* bytes of body frames so far */
    bool drop;         /* oversized: its bytes are discarded as they come */
    char *bytes;       /* owned: size + 1 bytes, NUL-terminated once complete; NULL when drop */
} rpc_body_t;

/* Start a body of size bytes (the content header's body_size) under max_bytes: drop is set when
 * it is oversized (rpc_body_oversized), else size + 1 bytes are allocated. */
void rpc_body_start(rpc_body_t *b, uint64_t size, size_t max_bytes);
/* Take one body frame's len bytes: 1 when the body is complete, 0 when more is to come, -1 with
 * an RPC error when the frames carry more than the header announced (a broken peer). */
int rpc_body_add(rpc_body_t *b, const void *fragment, size_t len);
/* Free what b holds; b is empty (size 0, not started) again. */
void rpc_body_clear(rpc_body_t *b);

/* ---- conn.c ---- */

/* How a published message ended, as its rpc_confirm_fn hears it (exactly once). */
typedef enum rpc_outcome {
    RPC_OUTCOME_ACK,      /* the broker took it (publisher confirm) */
    RPC_OUTCOME_RETURNED, /* mandatory and no queue took it */
    RPC_OUTCOME_NACK,     /* the broker refused it */
    RPC_OUTCOME_LOST,     /* the connection closed before the broker confirmed it */
} rpc_outcome_t;

/* Called with the connection's lock held, by the thread pumping it (or closing it): it must not
 * use that connection, and must be quick. */
typedef void (*rpc_confirm_fn)(void *opaque, rpc_outcome_t outcome);

/* A message delivered to a consumer of the connection: valid during the callback only. Its
 * body was read frame by frame and is within max_message_bytes (an oversized one never reaches
 * the callback: conn.c drops it unread). */
typedef struct rpc_delivery {
    uint64_t tag;
    char *body; /* NUL-terminated, owned by the connection: the callback may take it (and set
                 * body to NULL), so that it is never copied */
    size_t len;
    const char *user_id; /* the AMQP user-id property, or NULL */
    size_t user_id_len;
} rpc_delivery_t;

typedef void (*rpc_delivery_fn)(void *opaque, rpc_delivery_t *d);

/* Publishes in flight on one connection, waiting for their confirms (a ring indexed by tag). */
#define RPC_MAX_UNCONFIRMED 1024

typedef struct rpc_pending {
    uint64_t tag; /* 0: free */
    rpc_confirm_fn fn;
    void *opaque;
} rpc_pending_t;

typedef struct rpc_conn {
    pthread_mutex_t lock;          /* rabbitmq-c allows one thread at a time on a connection:
                                    * every function below but init/fini/fd wants it held */
    amqp_connection_state_t state; /* NULL when closed */
    int fd;                        /* its socket, -1 when closed (atomic: read without lock) */
    const rpc_config_t *cfg;       /* borrowed from the owner's copy */
    const rpc_url_t *url;          /* borrowed */
    size_t host_index;             /* host of url currently connected (or next to try) */
    char *user;                    /* user of the current connection (owned) */
    bool confirms;                 /* channel 1 is in confirm mode */
    uint64_t next_tag;             /* publisher confirms: the tag of the next publish */
    uint64_t confirm_floor;        /* the lowest tag that may still be unconfirmed */
    rpc_pending_t *pending;        /* [RPC_MAX_UNCONFIRMED] (owned) */
    int heartbeat_s;
    int64_t last_rx_ms;  /* when the socket was last seen readable (heartbeat check) */
    unsigned generation; /* counts opens: a delivery tag is only valid in its generation */
    uint8_t *out;        /* frames being written in one piece (owned) */
    size_t out_len, out_cap;
    char *declared;     /* "\n"-separated exchanges declared on this connection (owned), so that a
                     * publish does not declare its exchange again (as oslo caches them) */
    rpc_stats_t *stats; /* the owner's counters (borrowed): losses and reconnects counted here */
    /* the delivery being read, frame by frame, by the pump (with lock): */
    int rx_stage;     /* RPC_RX_IDLE, or the frame expected next (header, body) */
    uint64_t rx_tag;  /* its delivery tag */
    char *rx_user_id; /* its user-id property (owned), or NULL */
    size_t rx_user_id_len;
    rpc_body_t rx_body; /* its body: gathered, or dropped when oversized */
} rpc_conn_t;

#define RPC_RX_IDLE 0   /* no delivery being read */
#define RPC_RX_HEADER 1 /* basic.deliver read: its content header is next */
#define RPC_RX_BODY 2   /* header read: body frames until rx_body is complete */

/* Count one event in a counter of an rpc_stats_t: atomic, from any thread, under any lock. */
#define RPC_COUNT(counter) ((void)__atomic_add_fetch(&(counter), 1, __ATOMIC_RELAXED))

/* cfg, url and stats are borrowed: the owner's, for as long as conn. */
void rpc_conn_init(rpc_conn_t *conn, const rpc_config_t *cfg, const rpc_url_t *url,
                   rpc_stats_t *stats);
/* Close and free what conn owns (not conn itself). */
void rpc_conn_fini(rpc_conn_t *conn);

/* Open (or reopen) conn: try every host of the URL in turn. 0 or -1 (UNAVAILABLE). Once conn
 * has been open, counts a reconnect, or a failed one. */
int rpc_conn_open(rpc_conn_t *conn, bool confirms, int heartbeat_s);
/* Close (connection.close, what the broker still sends discarded unread until its close-ok,
 * 1 s at most); every publish still waiting for its confirm hears RPC_OUTCOME_LOST. */
void rpc_conn_close(rpc_conn_t *conn);

/* The socket to poll for input, or -1 when closed. Read without the lock: a stale value only
 * costs a spurious wake-up, since openers wake the pollers. */
int rpc_conn_fd(rpc_conn_t *conn);

/* Translate the reply of an amqp call; 0 when normal, else -1 with an RPC error naming what. */
int rpc_conn_check(rpc_conn_t *conn, amqp_rpc_reply_t reply, const char *what);

/* Publish body to exchange/routing_key (persistent when durable) without waiting: with
 * confirms on, fn (may be NULL) later hears how it ended, from whoever pumps the connection;
 * with confirms off it is never called. user-id is set from the connection's user. When
 * RPC_MAX_UNCONFIRMED publishes are in flight, pumps until one is confirmed. 0 or -1 (fn not
 * called). */
int rpc_conn_publish(rpc_conn_t *conn, const char *exchange, const char *routing_key,
                     const char *body, size_t len, bool mandatory, rpc_confirm_fn fn, void *opaque);

/* Take every frame the connection has ready, without blocking: confirms and returns go to the
 * publishes' rpc_confirm_fn, deliveries to on_delivery (may be NULL when nothing is consumed).
 * A delivery is read frame by frame (its method, its content header, its body frames), across
 * pumps: one whose header announces more than max_message_bytes is dropped unread - its body
 * frames discarded as they come, never gathered nor parsed - rejected without requeue and
 * counted (oversized_dropped); on_delivery never hears of it;
 * heartbeats are sent when due, and a broker silent for two heartbeat intervals is taken as
 * gone. 0, or -1 when the connection broke (it is closed then, and counted as lost: so is a
 * connection whose publish or ack could not be written). */
int rpc_conn_pump(rpc_conn_t *conn, rpc_delivery_fn on_delivery, void *opaque);
/* poll() saw the socket readable: the broker is alive (heartbeats are read inside rabbitmq-c,
 * unseen by the pump). */
void rpc_conn_note_readable(rpc_conn_t *conn);

/* Acknowledge a delivery of generation gen (nothing when the connection was reopened since:
 * the broker redelivers it). With more, the ack may wait for the next one without more, so
 * that a batch goes out in one write. 0 or -1 (connection closed). */
int rpc_conn_ack(rpc_conn_t *conn, uint64_t tag, unsigned gen, bool more);

/* Acknowledge every delivery of the current connection up to tag (AMQP multiple), now. 0 or -1
 * (connection closed). */
int rpc_conn_ack_through(rpc_conn_t *conn, uint64_t tag);

/* Declare exchange (type "topic"/"fanout"/"direct") and queue, bind them. */
int rpc_conn_declare_exchange(rpc_conn_t *conn, const char *exchange, const char *type);
int rpc_conn_declare_queue(rpc_conn_t *conn, const char *queue, bool auto_delete,
                           const char *exchange, const char *routing_key);
/* Declare a queue exclusive to this connection (transient, auto-deleted: the broker deletes it
 * when the connection closes, whatever durable_queues says) and bind it to exchange. */
int rpc_conn_declare_own_queue(rpc_conn_t *conn, const char *queue, const char *exchange,
                               const char *routing_key);
/* Declare a client's reply queue: with durable_queues durable and kept while its client is
 * away (a reply sent during a broker restart waits for it), expiring after 30 unused minutes
 * (oslo's rabbit_transient_queues_ttl); otherwise transient and auto-deleted. */
int rpc_conn_declare_reply_queue(rpc_conn_t *conn, const char *queue);
/* Consume queue on channel 1, acknowledging by hand (rpc_conn_ack, rpc_conn_ack_through): a
 * delivery not acknowledged when the connection goes is delivered again. With nowait, no
 * consume-ok is awaited (a refusal closes the channel, and the pump finds it). A consumer's
 * deliveries must never arrive while rabbitmq-c waits for the reply to a later method: it keeps
 * every frame it reads meanwhile, bodies whole, in memory. So only the first consumer of a
 * connection waits for its consume-ok (the broker delivers nothing before it); the others (a
 * server's second and third queues) are started with nowait. */
int rpc_conn_consume(rpc_conn_t *conn, const char *queue, bool nowait);
/* Set the prefetch count of the consumers started next on channel 1 (basic.qos). 0 or -1. */
int rpc_conn_prefetch(rpc_conn_t *conn, int count);

/* ---- reader.c: reading by turns, the keeper ---- */

/* What the owner of a reader (a client, a server) does with what is read. Called by the reader
 * of the moment, without the owner's lock unless said. */
typedef struct rpc_reader_ops {
    int confirm_lag_ms; /* out is pumped this long after its last pump at the latest */
    /* Declare and consume the owner's queues on in, just opened (in->lock held): 0 or -1. */
    int (*subscribe)(void *owner);
    /* A message delivered on in (in->lock held). */
    rpc_delivery_fn on_delivery;
    /* in is consumed (up) or was found lost; NULL when the owner does not care. */
    void (*in_changed)(void *owner, bool up);
    /* After each read: the owner's own part (acks, retries), all of it now when force. */
    void (*after_read)(void *owner, bool force);
    /* The keeper's tick (owner's lock held): true when it woke one of the owner's threads to
     * read instead of the keeper; may set *ret_next_ms, the wait until the next tick (default
     * 1000 ms). NULL: the keeper reads whenever nobody does. */
    bool (*keeper_tick)(void *owner, int64_t now_ms, int *ret_next_ms);
    /* After the keeper read (owner's lock held): wake a thread that may want the role. */
    void (*handoff)(void *owner);
} rpc_reader_ops_t;

/* The reading of one owner's two connections. Threads: the fields marked "reader only" belong
 * to whoever holds the role (busy), or to the owner's only thread (start, stop). */
typedef struct rpc_reader {
    const rpc_reader_ops_t *ops; /* borrowed (static) */
    void *owner;                 /* passed to ops */
    pthread_mutex_t *lock;       /* the owner's lock: guards busy, stop, the counts below and
                                  * keeper_cond */
    rpc_conn_t *in;              /* the consumer (borrowed): pumped under in->lock */
    rpc_conn_t *out;             /* publishes (borrowed): pumped under out->lock */
    int watch_unconfirmed;       /* out is polled at once when this many wait for their confirm */
    int wake_fd;                 /* eventfd: interrupts the reader's poll (owned) */
    pthread_t keeper;
    bool keeper_running;        /* start/stop only */
    pthread_cond_t keeper_cond; /* with *lock: stop, or the owner's kick (CLOCK_MONOTONIC) */
    bool busy;                  /* guarded by *lock: a thread is the reader */
    volatile bool stop;         /* set under *lock; read anywhere: no reader reopens in then */
    int unconfirmed;            /* guarded by *lock: publishes on out waiting for their confirm */
    int confirm_waiters;        /* guarded by *lock: threads waiting for a confirm (casts) */
    bool in_up, in_fresh;       /* reader only: in consumed; just opened, not read yet */
    int64_t in_retry_at_ms;     /* reader only: when to open in again */
    int64_t in_retry_delay_ms;  /* reader only: the backoff */
    int64_t out_pumped_ms;      /* reader only: when out was last pumped */
} rpc_reader_t;

/* Set up r for owner, whose lock is lock (in, out and ops borrowed; nothing started). 0, or -1
 * when no eventfd could be had (rpc_reader_fini is still due). */
int rpc_reader_init(rpc_reader_t *r, const rpc_reader_ops_t *ops, void *owner,
                    pthread_mutex_t *lock, rpc_conn_t *in, rpc_conn_t *out, int watch_unconfirmed);
/* After rpc_reader_stop: free what r owns (not r). */
void rpc_reader_fini(rpc_reader_t *r);

/* Start the keeper (stop false again). 0 or -1 with the error. */
int rpc_reader_start(rpc_reader_t *r);
/* Stop: set stop, wake the reader and the keeper, join the keeper. Owner's lock not held. */
void rpc_reader_stop(rpc_reader_t *r);
/* Have the keeper tick now (owner's lock held): its pace changed. */
void rpc_reader_kick_keeper(rpc_reader_t *r);

/* With the owner's lock held: when nobody reads, become the reader and read once (the lock
 * released meanwhile), then give up the role. false when another thread reads. */
bool rpc_reader_turn(rpc_reader_t *r, int timeout_ms, bool force);
/* Read once, as the reader (the role held, or no other thread left): poll up to timeout_ms,
 * pump what is ready (both connections when force), then ops->after_read. Reopens a lost in
 * unless stopped. Owner's lock not held. */
void rpc_reader_read(rpc_reader_t *r, int timeout_ms, bool force);
/* Interrupt the reader's poll. */
void rpc_reader_wake(rpc_reader_t *r);

/* Open in and subscribe (ops->subscribe), closing it again on failure. 0 or -1 with the error.
 * The reader, or the owner before anyone reads. */
int rpc_reader_open_in(rpc_reader_t *r);
/* Open out when it is closed (out->lock held), and wake the reader to poll its socket. 0 or -1
 * with the error. */
int rpc_reader_open_out(rpc_reader_t *r);

/* Copy the counters of live into *ret, each read atomically. */
void rpc_stats_copy(const rpc_stats_t *live, rpc_stats_t *ret);

/* ---- message.c ---- */

/* A request as it comes off the wire (all owned; rpc_incoming_clear). */
typedef struct rpc_incoming {
    char *method;
    json_t *args;
    json_t *context;
    char *version;
    char *namespace;
    char *msg_id;  /* NULL for a cast */
    char *reply_q; /* NULL for a cast */
    char *unique_id;
} rpc_incoming_t;

/* Decode and validate a request body (size, depth, envelope, keys and types). 0, or -1 with
 * an INVALID error saying what is wrong. */
int rpc_message_decode_request(const char *body, size_t len, size_t max_bytes, rpc_incoming_t *ret);
void rpc_incoming_clear(rpc_incoming_t *in);

/* Encode a request envelope (new string). msg_id/reply_q NULL for casts. */
char *rpc_message_encode_request(const char *method, json_t *args, json_t *context,
                                 const char *version, const char *namespace, const char *msg_id,
                                 const char *reply_q);

/* Encode a reply: result (borrowed, may be NULL) or the current tern error as a failure. */
char *rpc_message_encode_reply(const char *msg_id, json_t *result, const tern_error_t *failure);

/* Decode a reply: its msg_id (new), ending flag, and either *ret_result (new) or the failure
 * made the thread's tern error (return 1). 0 for a result, 1 for a failure, -1 malformed. */
int rpc_message_decode_reply(const char *body, size_t len, size_t max_bytes, char **ret_msg_id,
                             bool *ret_ending, json_t **ret_result);

/* The bytes of an amqp_bytes_t as a new NUL-terminated string. */
char *rpc_bytes_dup(amqp_bytes_t b);

/* Write prefix and the 32 hex digits of a new uuid into buf (a _unique_id, a _msg_id, a queue
 * name), cut to size. */
void rpc_unique_name(char *buf, size_t size, const char *prefix);

/* ---- dispatch.c ---- */

/* Run the handler of the endpoint (namespace, version) and method that in names, with the
 * publisher's user_id; the handler's result and return value, or -1 with an INVALID error
 * naming the unknown namespace, version or method of topic. */
int rpc_dispatch(const rpc_endpoint_t *endpoints, size_t n_endpoints, const char *topic,
                 const rpc_incoming_t *in, const char *user_id, json_t **ret_result);

/* How many _unique_id values a server remembers to drop redeliveries of messages it already
 * took (oslo keeps 16): a message acknowledged just before the broker went away comes back. */
#define RPC_SEEN_IDS 1024
#define RPC_SEEN_BUCKETS 2048

typedef struct rpc_seen_slot {
    char id[33]; /* "" when unused */
    int next;    /* next slot in the same bucket, -1 at the end */
} rpc_seen_slot_t;

/* The _unique_id of the last RPC_SEEN_IDS messages taken: a ring, each slot chained into its
 * hash bucket. Not locked: its owner serialises the calls. */
typedef struct rpc_seen {
    rpc_seen_slot_t slots[RPC_SEEN_IDS];
    int bucket[RPC_SEEN_BUCKETS]; /* first slot of each bucket, -1 none */
    size_t next;                  /* next slot to overwrite */
} rpc_seen_t;

void rpc_seen_init(rpc_seen_t *seen);
/* true when unique_id (NULL: never) was taken already; else remember it, forgetting the oldest
 * remembered one. */
bool rpc_seen_before(rpc_seen_t *seen, const char *unique_id);

#endif /* TERN_RPC_PRIVATE_H */
