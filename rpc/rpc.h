/*
 * rpc/rpc.h: OpenStack-style RPC over RabbitMQ (AMQP 0-9-1), wire-compatible with oslo.messaging.
 *
 * THIS IS THE PUBLIC CONTRACT the daemons and the CLI are written against. Keep these names and
 * semantics; add to it freely. Nothing of librabbitmq (amqp_*) appears here.
 *
 * Model (as oslo.messaging's rabbit driver):
 *   - a control exchange (topic type, ours "tern"); servers of topic T on host H consume the
 *     queues "T" (shared, round-robin) and "T.H" (theirs alone), plus "T_fanout_<unique>" bound
 *     to the fanout exchange "T_fanout";
 *   - call: publish {"oslo.version": "2.0", "oslo.message": "<json>"} with _msg_id, _reply_q,
 *     _unique_id and the _context_* keys, wait on the client's reply queue for the reply(ies);
 *   - cast: the same without _msg_id/_reply_q; fanout: cast to every server of the topic;
 *   - listener: a queue of its own, "<topic>.<key>_listener_<unique>", exclusive to its
 *     connection, bound to the control exchange with key "<topic>.<key>": every listener of a
 *     key gets a copy of each cast to {.topic = topic, .server = key} (events; tern extension);
 *   - errors raised by a handler travel back as oslo's serialised remote exception (failure
 *     field: class, module, message, tb, args, kwargs) and arrive at the caller as a tern error
 *     whose code is recovered from the class name and whose message is the remote message.
 *
 * Threads: an rpc_client_t may be used by several threads at once (calls are multiplexed over
 * one request connection and one reply queue; the waiting callers read the replies for each
 * other, a keeper thread when none waits). An rpc_server_t runs a pool of worker threads, which
 * also read its queues by turns, and a keeper thread; handlers run on workers and must be
 * thread-safe.
 */
#ifndef TERN_RPC_H
#define TERN_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Transport settings, filled by the daemon from its configuration (conf/). Strings borrowed for
 * the duration of rpc_client_new()/rpc_server_new(), which copy what they keep. */
typedef struct rpc_config {
    const char *transport_url;    /* rabbit://user:pass@h1:p1,user:pass@h2:p2/vhost or amqps:// */
    const char *control_exchange; /* "tern" */
    bool ssl;                     /* force TLS even for rabbit:// (amqps:// implies it) */
    const char *ssl_ca_file;      /* CA bundle to verify the broker, or NULL: the system's */
    bool ssl_no_verify;           /* accept any certificate and name (explicitly insecure; the
                                   * default verifies the broker's certificate and host name) */
    const char *ssl_cert_file;    /* client certificate, or NULL */
    const char *ssl_key_file;     /* client key, or NULL */
    int heartbeat_timeout_s;      /* AMQP heartbeat threshold (0 disables); default 60 */
    int retry_interval_ms;        /* first reconnect delay; default 1000 */
    int retry_backoff_ms;         /* added per failed attempt; default 2000 */
    int retry_max_ms;             /* cap on the delay; default 30000 */
    int response_timeout_ms;      /* default call timeout; default 60000 */
    size_t max_message_bytes;     /* incoming size limit; default 4 MiB */
    bool durable_queues;          /* oslo's amqp_durable_queues: the control exchange and the
                                   * topic queues durable, messages persistent, so confirmed
                                   * casts survive a broker restart; every peer on the exchange
                                   * must agree (RabbitMQ refuses a redeclaration). Default false */
} rpc_config_t;

/* Fill cfg with the defaults above (transport_url NULL: caller must set it). */
void rpc_config_init(rpc_config_t *cfg);

/* Where a message goes. */
typedef struct rpc_target {
    const char *topic;     /* e.g. "conductor", "compute" */
    const char *server;    /* host name for "topic.server", or NULL for the shared queue */
    bool fanout;           /* cast to every server of topic */
    const char *version;   /* requested API version "X.Y", or NULL for "1.0" */
    const char *namespace; /* endpoint namespace, or NULL */
    bool unrouted_ok;      /* cast: a message no queue takes is dropped silently instead of
                            * failing (events for listeners that may be gone); rpc_call refuses
                            * it (INVALID) */
} rpc_target_t;

/* What a server hands a handler. All borrowed, valid during the handler call. */
typedef struct rpc_request {
    const char *method;       /* method name */
    json_t *args;             /* the "args" object (never NULL; {} when absent) */
    json_t *context;          /* the request context: keys of the _context_* fields without the
                              * prefix, e.g. user_id, project_id, roles, request_id */
    const char *request_id;   /* context request_id, or NULL */
    const char *amqp_user_id; /* the AMQP user-id property, validated by RabbitMQ against the
                              * publisher's connection user; "" when the publisher set none */
    const char *version;      /* requested version */
} rpc_request_t;

/* A handler returns 0 and sets *ret_result to a NEW reference (or NULL for None), or returns -1
 * with a tern error set; the error goes back to a caller as a remote exception. */
typedef int (*rpc_handler_fn)(void *opaque, const rpc_request_t *req, json_t **ret_result);

typedef struct rpc_method {
    const char *name;
    rpc_handler_fn handler;
} rpc_method_t;

/* An endpoint serves its methods either by name from a table (methods: one handler each) or
 * through one callback (dispatch: every method, req->method naming it; it refuses those it does
 * not know, e.g. with TERN_ERR_INVALID "unknown method"). A daemon with a policy to apply to
 * every method uses dispatch; then methods is ignored. */
typedef struct rpc_endpoint {
    const char *namespace;       /* NULL for the default namespace */
    const char *version;         /* "X.Y": a call asking for a newer minor or another major is
                                   * refused with UnsupportedVersion */
    rpc_handler_fn dispatch;     /* every method, or NULL: by methods */
    const rpc_method_t *methods; /* borrowed; must outlive the server */
    size_t n_methods;
    void *opaque; /* passed to handlers */
} rpc_endpoint_t;

typedef struct rpc_client rpc_client_t;
typedef struct rpc_server rpc_server_t;

/* What a client or a server got over on its own, which its callers never hear of as an error:
 * counters since rpc_client_new()/rpc_server_new(), for a daemon to log or export (the library
 * logs none of it). A counter that does not apply to a side stays 0. */
typedef struct rpc_stats {
    uint64_t connections_lost;   /* connections found broken: broker gone, heartbeats missed, a
                                  * write failed (each is opened again) */
    uint64_t reconnects;         /* connections opened again after they had been open */
    uint64_t reconnects_failed;  /* attempts to open such a connection again that reached no
                                  * broker (tried again with backoff) */
    uint64_t publishes_retried;  /* client: requests published again (the publish failed, or its
                                  * connection went before the broker confirmed it) */
    uint64_t replies_unclaimed;  /* client: replies no call waited for (it had timed out, or the
                                  * reply came again after a reconnect): dropped */
    uint64_t malformed_dropped;  /* messages that could not be decoded, dropped unanswered (the
                                  * caller of a malformed call times out) */
    uint64_t oversized_dropped;  /* messages (a server) or replies (a client) whose content header
                                  * announced more than max_message_bytes: read and discarded as
                                  * they came, never parsed, rejected without requeue; a caller
                                  * whose call or reply was too big times out */
    uint64_t duplicates_dropped; /* server: redeliveries of messages already taken (_unique_id):
                                  * dropped, their handler not run again */
    uint64_t replies_retried;    /* server: replies published again (the broker away, or their
                                  * reply queue missing) */
    uint64_t replies_dropped;    /* server: replies given up (their queue missing for 10 s, or the
                                  * broker away past response_timeout_ms): the caller times out */
    uint64_t casts_failed;       /* server: casts whose handler failed (nobody to answer: also
                                  * logged, see rpc/README.md) */
    uint64_t poll_errors;        /* poll() or the reader's eventfd failed (reading went on) */
} rpc_stats_t;

/* Build a request context object: new reference. Any argument may be NULL (omitted), except
 * request_id: NULL generates "req-<uuid>". roles: NULL-terminated array or NULL. */
json_t *rpc_context_new(const char *user_id, const char *project_id, const char *const *roles,
                        const char *request_id);

/* Connect a client (reconnects by itself later). NULL with an error when the URL is invalid or
 * no broker host can be reached. Free with rpc_client_free(). */
rpc_client_t *rpc_client_new(const rpc_config_t *cfg);
void rpc_client_free(rpc_client_t *client);

/* The client's counters, now (any thread, at any time; each counter read atomically). */
void rpc_client_stats(const rpc_client_t *client, rpc_stats_t *ret);

/* Call method on target and wait for its result. context and args are borrowed (args NULL means
 * {}). timeout_ms <= 0 uses the configured response timeout. On success *ret_result is a new
 * reference (json null when the remote returned None). On failure -1 with the error: TIMEOUT,
 * the remote error's code and message, UNAVAILABLE when no queue takes the request, RPC for
 * transport failures, INVALID for a target with unrouted_ok (nothing is sent). */
int rpc_call(rpc_client_t *client, const rpc_target_t *target, json_t *context, const char *method,
             json_t *args, int timeout_ms, json_t **ret_result);

/* Send method without waiting for a result; returns once the broker has confirmed the message
 * (publisher confirms), so a 0 here means the message is durable in the broker. The message is
 * published mandatory: when no queue takes it, -1 with UNAVAILABLE ("a cast to nobody is an
 * error"), unless target->unrouted_ok: then it is published non-mandatory, the broker drops it
 * and confirms it, and the cast returns 0. */
int rpc_cast(rpc_client_t *client, const rpc_target_t *target, json_t *context, const char *method,
             json_t *args);

/* A server for topic on host server_name, dispatching to endpoints (borrowed, must outlive the
 * server) with n_workers worker threads. rpc_server_start() declares the queues and starts
 * consuming; rpc_server_stop() stops consuming, lets running handlers finish and replies go out,
 * then returns. Free with rpc_server_free(). */
rpc_server_t *rpc_server_new(const rpc_config_t *cfg, const char *topic, const char *server_name,
                             const rpc_endpoint_t *endpoints, size_t n_endpoints, int n_workers);
int rpc_server_start(rpc_server_t *server);
void rpc_server_stop(rpc_server_t *server);
void rpc_server_free(rpc_server_t *server);

/* The server's (or listener's) counters, now (any thread, at any time, started or not). */
void rpc_server_stats(const rpc_server_t *server, rpc_stats_t *ret);

/* A listener: a server (start, stop and free it with rpc_server_*()) that takes the casts sent
 * to {.topic = topic, .server = key} on a queue of its own, so that every listener of a key gets
 * each of them, beside the server of that name if there is one. It declares nothing else (no
 * "<topic>" or "<topic>.<key>" queue, no fanout). Its queue lives as long as its consumer
 * connection: rpc_server_stop() deletes it. After a lost connection it reconnects as a server
 * does, with a new queue: casts sent while it was disconnected are lost, so a listener is for
 * events that are only hints (read the state itself again after a reconnect or a quiet while).
 * Handlers run as a server's do, on n_workers threads. A call sent to its key would be answered
 * by every listener; casts are what it is for. NULL with INVALID when topic or key is missing or
 * empty, or with the error of an invalid transport URL. */
rpc_server_t *rpc_listener_new(const rpc_config_t *cfg, const char *topic, const char *key,
                               const rpc_endpoint_t *endpoints, size_t n_endpoints, int n_workers);

#endif /* TERN_RPC_H */
