/*
 * api/api.h: tern-api, the OpenStack Compute API (v2.1, microversions 2.1 to 2.80) in front of
 * the conductor.
 *
 * tern-api is a client of the conductor, as the tern CLI is: every request that passes
 * authentication becomes one conductor RPC call (conductor/API.md) made with tern-api's own
 * broker identity ("tern-api", common/identity.h) and a context naming the Keystone user, its
 * project and its roles, and the request id. The conductor's policy alone decides what that user
 * may do (conductor/policy.h); tern-api checks the token, not the rights.
 *
 * Files:
 *   api/server.c    the HTTP server (libmicrohttpd): limits, request id, microversion, the
 *                   token, routing, nova-shaped errors
 *   api/servers.c   GET /v2.1/servers, /servers/detail, /servers/{id}: nova's server views
 *   api/version.c   microversion negotiation, the version documents
 *   api/keystone.c  token validation and its cache (libcurl)
 *   api/main.c      start-up
 *
 * Threads: libmicrohttpd's pool of `workers` threads runs the handlers; api_t is read-only once
 * started but for what rpc_client_t and api_keystone_t guard themselves.
 */
#ifndef TERN_API_H
#define TERN_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/keystone.h"
#include "api/version.h"
#include "rpc/rpc.h"

#define API_BINARY "tern-api"

/* What tern-api needs from its configuration ([api], [keystone_authtoken]); strings borrowed
 * from the daemon's conf_t while the api_t lives. */
typedef struct api_config {
    const char *listen;               /* address */
    int port;                         /* 0: any (tests read api_port) */
    int workers;                      /* threads */
    int max_connections;              /* open at once */
    size_t max_body_bytes;            /* largest body read */
    size_t max_header_bytes;          /* a connection's request line and headers */
    int request_timeout_s;            /* idle connection, the conductor's answer */
    const char *www_authenticate_uri; /* told in a 401 */
} api_config_t;

typedef struct api api_t;

/* Start serving: listen on cfg's address, answer with rpc (borrowed: calls to the conductor) and
 * ks (borrowed: tokens). NULL with an error naming the address when it cannot listen. */
api_t *api_start(const api_config_t *cfg, rpc_client_t *rpc, api_keystone_t *ks);
/* The port it listens on (the one chosen when cfg->port was 0). */
int api_port(const api_t *api);
/* Stop: no new connection, the running requests end; then free. NULL is fine. */
void api_stop(api_t *api);

/* ---- what server.c gives the handlers (servers.c) ---- */

/* One request, as the handlers see it. All borrowed, valid during the handler. */
typedef struct api_request {
    const char *method;     /* "GET", ... */
    const char *path;       /* below /v2.1, e.g. "/servers/detail" */
    const char *base;       /* "http://host:port" for links */
    api_version_t version;  /* negotiated */
    const char *request_id; /* "req-<uuid>" */
    json_t *context;        /* the RPC context: user, project, roles, request id */
    void *conn;             /* the libmicrohttpd connection (query arguments) */
    rpc_client_t *rpc;      /* the conductor's client (thread-safe) */
    int timeout_ms;         /* for the conductor's answer */
} api_request_t;

/* A handler returns the HTTP status and *ret_body (a new reference) to send; on a failed call it
 * returns api_error_status() with the error as body (api_error_body). */
typedef int (*api_handler_fn)(const api_request_t *req, json_t **ret_body);

/* The query argument name of req (borrowed), or NULL. */
const char *api_query(const api_request_t *req, const char *name);

/* Call the conductor's method with args (borrowed; NULL is {}): 0 and *ret_result (new), or -1
 * with the error (the conductor's, or the transport's). */
int api_call(const api_request_t *req, const char *method, json_t *args, json_t **ret_result);

/* The HTTP status of the current error (NOT_FOUND 404, PERMISSION 403, INVALID 400, CONFLICT
 * 409, RATE_LIMITED 429, UNAVAILABLE/RPC 503, TIMEOUT 504, else 500) and nova's fault body for
 * status and message (new): {"itemNotFound": {"code": 404, "message": "..."}}. */
int api_error_status(void);
json_t *api_error_body(int status, const char *message);

/* The servers handlers (servers.c). */
int api_servers_index(const api_request_t *req, json_t **ret_body);
int api_servers_detail(const api_request_t *req, json_t **ret_body);
int api_servers_show(const api_request_t *req, const char *id, json_t **ret_body);

/* nova's view of a conductor SERVER at req's version: the detailed one, or the brief {id, name,
 * links} (new). Pure: unit-tested. */
json_t *api_view_server(const api_request_t *req, json_t *server, bool detail);

#endif /* TERN_API_H */
