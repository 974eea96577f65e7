/*
 * api/server.c: tern-api's HTTP server on libmicrohttpd (see api.h).
 *
 * A request goes through, in order:
 *   1. the limits libmicrohttpd enforces: connections (max_connections), the request line and
 *      headers (max_header_bytes: 431), an idle connection (request_timeout); then the body,
 *      refused with 413 past max_body_bytes (Content-Length, or as it comes) and never parsed;
 *   2. a request id, req-<uuid>, in every answer (x-openstack-request-id) and in the context;
 *   3. GET / and GET /v2.1: the version documents, without a token (as nova); /image: the
 *      stub of an image service that openstackclient needs (image_stub);
 *   4. the token (X-Auth-Token) checked by Keystone (keystone.h): missing, bad or expired
 *      -> 401 with WWW-Authenticate; Keystone unreachable -> 503;
 *   5. the microversion (version.h): bad -> 400, unsupported -> 406; from here on the answer
 *      says which it served (OpenStack-API-Version, X-OpenStack-Nova-API-Version, Vary);
 *   6. the route (one table): the handler calls the conductor; its errors in nova's shapes.
 *
 * Owns: the libmicrohttpd daemon, a copy of the configuration's numbers and strings, and each
 * request's state (request_t: the body read so far, freed when libmicrohttpd completes it).
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "api/api.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

struct api {
    struct MHD_Daemon *mhd;
    rpc_client_t *rpc;          /* borrowed, thread-safe */
    api_keystone_t *ks;         /* borrowed, thread-safe */
    api_config_t cfg;           /* numbers; strings below */
    char *listen;               /* owned */
    char *www_authenticate_uri; /* owned */
    int port;                   /* bound */
};

/* One request in flight (libmicrohttpd's con_cls). */
typedef struct request {
    char request_id[41]; /* "req-<uuid>" */
    char *body;          /* what was read of it (owned), NUL-terminated */
    size_t body_len;
    bool too_large; /* over max_body_bytes: refused, the rest discarded */
} request_t;

/* An answer to send. */
typedef struct answer {
    int status;
    json_t *body;             /* owned; NULL: empty */
    bool versioned;           /* add the microversion headers */
    char version[16];         /* "2.60" */
    const char *authenticate; /* WWW-Authenticate value, or NULL */
} answer_t;

/* ---- errors ---- */

int
api_error_status(void)
{
    switch (tern_error_code()) {
    case TERN_ERR_NOT_FOUND:
        return 404;
    case TERN_ERR_PERMISSION:
        return 403;
    case TERN_ERR_INVALID:
    case TERN_ERR_CHECK_FAILED:
        return 400;
    case TERN_ERR_CONFLICT:
        return 409;
    case TERN_ERR_RATE_LIMITED:
        return 429;
    case TERN_ERR_UNAVAILABLE:
    case TERN_ERR_RPC:
        return 503;
    case TERN_ERR_TIMEOUT:
        return 504;
    default:
        return 500;
    }
}

/* nova's fault names (nova/api/openstack/wsgi.py, Fault._fault_names); others computeFault. */
static const char *
fault_name(int status)
{
    switch (status) {
    case 400:
        return "badRequest";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "itemNotFound";
    case 405:
        return "badMethod";
    case 409:
        return "conflictingRequest";
    case 413:
    case 429:
        return "overLimit";
    case 415:
        return "badMediaType";
    case 501:
        return "notImplemented";
    case 503:
        return "serviceUnavailable";
    default:
        return "computeFault";
    }
}

json_t *
api_error_body(int status, const char *message)
{
    return json_pack("{s:{s:i, s:s}}", fault_name(status), "code", status, "message",
                     message ? message : "");
}

/* ---- request helpers ---- */

const char *
api_query(const api_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int
api_call(const api_request_t *req, const char *method, json_t *args, json_t **ret_result)
{
    rpc_target_t target = {.topic = "conductor", .version = "1.0"};

    return rpc_call(req->rpc, &target, req->context, method, args, req->timeout_ms, ret_result);
}

/* header: the value of request header name, or NULL. */
static const char *
header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* base_url: "http://<Host header>" when that is a host[:port] (letters, digits, ".-:[]"), else
 * the address listened on. New string. */
static char *
base_url(api_t *api, struct MHD_Connection *conn)
{
    const char *host = header(conn, MHD_HTTP_HEADER_HOST);

    if (host && host[0] && strlen(host) <= 255 &&
        host[strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:[]")] ==
            '\0')
        return tern_asprintf("http://%s", host);
    return tern_asprintf(strchr(api->listen, ':') ? "http://[%s]:%d" : "http://%s:%d", api->listen,
                         api->port);
}

/* context_new: the conductor's request context for identity: its user, project and roles, the
 * request id (new). */
static json_t *
context_new(const api_identity_t *id, const char *request_id)
{
    return json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:O, s:s}", "user_id", id->user_id, "user_name",
                     id->user_name, "project_id", id->project_id, "project_name", id->project_name,
                     "tenant", id->project_id, "roles", id->roles, "request_id", request_id);
}

/* ---- routing ---- */

/* route: the handler of path (below /v2.1) and method, by the table of this slice. Sets *ret
 * and returns whether the path is known (a known path with another method: 405). */
static bool
route(const api_request_t *req, answer_t *ret)
{
    const char *p = req->path;
    TERN_AUTOFREE char *id = NULL;

    if (strcmp(p, "/servers") == 0 || strcmp(p, "/servers/detail") == 0 ||
        (strncmp(p, "/servers/", 9) == 0 && p[9] && !strchr(p + 9, '/'))) {
        if (strcmp(req->method, "GET") != 0)
            return false;
        if (strcmp(p, "/servers") == 0)
            ret->status = api_servers_index(req, &ret->body);
        else if (strcmp(p, "/servers/detail") == 0)
            ret->status = api_servers_detail(req, &ret->body);
        else
            ret->status = api_servers_show(req, p + 9, &ret->body);
        return true;
    }
    ret->status = 404;
    ret->body = api_error_body(404, "The resource could not be found.");
    return true;
}

/* keystone_refusal: keystonemiddleware's 401. */
static void
keystone_refusal(api_t *api, answer_t *ret)
{
    ret->status = 401;
    ret->body = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", 401, "title", "Unauthorized",
                          "message", "The request you have made requires authentication.");
    ret->authenticate = api->www_authenticate_uri;
}

/* authenticate: the request's token checked (step 4): true and *ret_id, or false and the 401
 * or 503 to answer in *ret. */
static bool
authenticate(api_t *api, request_t *r, struct MHD_Connection *conn, const char *url,
             const char *method, api_identity_t *ret_id, answer_t *ret)
{
    if (api_keystone_validate(api->ks, header(conn, "X-Auth-Token"), ret_id) == 0)
        return true;
    if (tern_error_code() == TERN_ERR_PERMISSION) {
        TERN_INFO("%s %s %s: 401: %s", r->request_id, method, url, tern_error_message());
        keystone_refusal(api, ret);
    } else {
        TERN_WARN("%s %s %s: 503: %s", r->request_id, method, url, tern_error_message());
        ret->status = 503;
        ret->body = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", 503, "title",
                              "Service Unavailable", "message",
                              "The server is currently unavailable. Please try again at a later "
                              "time.");
    }
    return false;
}

/* image_stub: the least of an Image API v2 under /image that openstackclient needs before it
 * shows a server (it makes an image client first, which discovers the versions): GET /image
 * lists v2 (300, no token, as glance); with a token, GET /image/v2/images is empty and every
 * image is not found (the client then shows the image's id). tern's image store is not served
 * yet (issue 15). */
static void
image_stub(api_t *api, request_t *r, struct MHD_Connection *conn, const char *url,
           const char *method, const char *base, answer_t *ret)
{
    api_identity_t id = {0};

    if (strcmp(method, "GET") != 0) {
        ret->status = 405;
        ret->body = api_error_body(405, "The method is not allowed for this resource.");
        return;
    }
    if (strncmp(url, "/image/v2/", 10) != 0) {
        ret->status = 300;
        ret->body =
            json_pack("{s:[{s:s, s:s, s:[{s:s, s:s++}]}]}", "versions", "id", "v2.0", "status",
                      "CURRENT", "links", "rel", "self", "href", base, "/image/v2/");
        return;
    }
    if (!authenticate(api, r, conn, url, method, &id, ret))
        return;
    api_identity_clear(&id);
    if (strcmp(url, "/image/v2/images") == 0) {
        ret->status = 200;
        ret->body = json_pack("{s:[], s:s, s:s}", "images", "first", "/v2/images", "schema",
                              "/v2/schemas/images");
        return;
    }
    ret->status = 404;
    ret->body = api_error_body(404, "The resource could not be found.");
}

/* handle: everything after the body was read (steps 3 to 6). */
static void
handle(api_t *api, request_t *r, struct MHD_Connection *conn, const char *url, const char *method,
       answer_t *ret)
{
    TERN_AUTOFREE char *base = base_url(api, conn);
    api_identity_t id = {0};
    api_request_t req = {
        .method = method,
        .base = base,
        .request_id = r->request_id,
        .conn = conn,
        .rpc = api->rpc,
        .timeout_ms = api->cfg.request_timeout_s * 1000,
    };

    tern_error_reset();
    if (strcmp(url, "/") == 0 || strcmp(url, "/v2.1") == 0 || strcmp(url, "/v2.1/") == 0) {
        if (strcmp(method, "GET") != 0) {
            ret->status = 405;
            ret->body = api_error_body(405, "The method is not allowed for this resource.");
            return;
        }
        ret->status = 200;
        ret->body = strcmp(url, "/") == 0 ? api_version_list(base) : api_version_show(base);
        return;
    }
    if (strcmp(url, "/image") == 0 || strcmp(url, "/image/") == 0 ||
        strncmp(url, "/image/v2/", 10) == 0) {
        image_stub(api, r, conn, url, method, base, ret);
        return;
    }
    if (strncmp(url, "/v2.1/", 6) != 0) {
        ret->status = 404;
        ret->body = api_error_body(404, "The resource could not be found.");
        return;
    }
    if (!authenticate(api, r, conn, url, method, &id, ret))
        return;
    if (api_version_negotiate(header(conn, "OpenStack-API-Version"),
                              header(conn, "X-OpenStack-Nova-API-Version"), &req.version) < 0) {
        ret->status = tern_error_code() == TERN_ERR_INVALID ? 400 : 406;
        ret->body = api_error_body(ret->status, tern_error_message());
        api_identity_clear(&id);
        return;
    }
    api_version_format(req.version, ret->version);
    ret->versioned = true;
    req.path = url + 5;
    req.context = context_new(&id, r->request_id);
    if (!route(&req, ret)) {
        ret->status = 405;
        ret->body = api_error_body(405, "The method is not allowed for this resource.");
    }
    TERN_INFO("%s %s %s: %d (user %s, project %s)", r->request_id, method, url, ret->status,
              id.user_id, id.project_id ? id.project_id : "-");
    json_decref(req.context);
    api_identity_clear(&id);
}

/* ---- libmicrohttpd ---- */

static enum MHD_Result
send_answer(api_t *api, request_t *r, struct MHD_Connection *conn, answer_t *a)
{
    char *text = a->body ? json_dumps(a->body, JSON_COMPACT) : NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(text ? strlen(text) : 0, text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    free(text);
    json_decref(a->body);
    a->body = NULL;
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "x-openstack-request-id", r->request_id);
    if (a->versioned) {
        TERN_AUTOFREE char *compute = tern_asprintf("compute %s", a->version);

        MHD_add_response_header(resp, "OpenStack-API-Version", compute);
        MHD_add_response_header(resp, "X-OpenStack-Nova-API-Version", a->version);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY,
                                "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    }
    if (a->authenticate) {
        TERN_AUTOFREE char *value = tern_asprintf("Keystone uri=\"%s\"", a->authenticate);

        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, value);
    }
    rc = MHD_queue_response(conn, (unsigned int)a->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* too_large: nova's 413 for a body over the limit. */
static enum MHD_Result
refuse_too_large(api_t *api, request_t *r, struct MHD_Connection *conn)
{
    TERN_AUTOFREE char *msg =
        tern_asprintf("Request is too large. (limit %zu bytes)", api->cfg.max_body_bytes);
    answer_t a = {.status = 413, .body = api_error_body(413, msg)};

    return send_answer(api, r, conn, &a);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    api_t *api = cls;
    request_t *r = *con_cls;
    answer_t a = {0};

    if (!r) {
        const char *length = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
        char uuid[37];
        int64_t n;

        r = tern_calloc(1, sizeof(*r));
        tern_uuid_generate(uuid);
        snprintf(r->request_id, sizeof(r->request_id), "req-%s", uuid);
        *con_cls = r;
        if (length && (tern_parse_int64(length, "Content-Length", &n) < 0 || n < 0 ||
                       (uint64_t)n > api->cfg.max_body_bytes)) {
            r->too_large = true;
            return refuse_too_large(api, r, conn); /* the body is never read */
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!r->too_large && r->body_len + *upload_data_size <= api->cfg.max_body_bytes) {
            r->body = tern_realloc(r->body, r->body_len + *upload_data_size + 1);
            memcpy(r->body + r->body_len, upload_data, *upload_data_size);
            r->body_len += *upload_data_size;
            r->body[r->body_len] = '\0';
        } else {
            r->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_large)
        return refuse_too_large(api, r, conn);
    handle(api, r, conn, url, method, &a);
    return send_answer(api, r, conn, &a);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    request_t *r = *con_cls;

    if (r) {
        free(r->body);
        free(r);
    }
    *con_cls = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    size_t n;

    vsnprintf(buf, sizeof(buf), fmt, ap);
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    TERN_WARN("libmicrohttpd: %s", buf);
}

api_t *
api_start(const api_config_t *cfg, rpc_client_t *rpc, api_keystone_t *ks)
{
    struct sockaddr_storage addr = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    api_t *api;

    if (inet_pton(AF_INET, cfg->listen, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->port);
    } else if (inet_pton(AF_INET6, cfg->listen, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->port);
        flags |= MHD_USE_IPv6;
    } else {
        tern_error_set(TERN_ERR_CONFIG, "[api] listen \"%s\" is not an IP address", cfg->listen);
        return NULL;
    }
    api = tern_calloc(1, sizeof(*api));
    api->cfg = *cfg;
    api->rpc = rpc;
    api->ks = ks;
    api->listen = tern_strdup(cfg->listen);
    api->www_authenticate_uri = tern_strdup(cfg->www_authenticate_uri);
    api->cfg.listen = api->listen;
    api->cfg.www_authenticate_uri = api->www_authenticate_uri;
    api->mhd = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, api, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->workers, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)cfg->request_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        cfg->max_header_bytes, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api, MHD_OPTION_END);
    if (!api->mhd) {
        tern_error_set(TERN_ERR_SYSTEM, "could not listen on \"%s\" port %d", cfg->listen,
                       cfg->port);
        api_stop(api);
        return NULL;
    }
    info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_BIND_PORT);
    api->port = info ? info->port : cfg->port;
    return api;
}

int
api_port(const api_t *api)
{
    return api->port;
}

void
api_stop(api_t *api)
{
    if (!api)
        return;
    if (api->mhd)
        MHD_stop_daemon(api->mhd);
    free(api->listen);
    free(api->www_authenticate_uri);
    free(api);
}
