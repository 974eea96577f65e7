/*
 * rpc/dispatch.c: what a server does with a decoded request before and after the wire - finding
 * the endpoint and method it names (namespace, version "X.Y" as oslo's dispatcher), and
 * remembering the _unique_id of the messages taken so that a redelivery runs no handler twice.
 *
 * Owns nothing but the table of remembered ids (rpc_seen_t), which its caller guards
 * (server.c: the server's lock).
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

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

int
rpc_dispatch(const rpc_endpoint_t *endpoints, size_t n_endpoints, const char *topic,
             const rpc_incoming_t *in, const char *user_id, json_t **ret_result)
{
    const rpc_endpoint_t *ep = NULL;
    bool ns_found = false;
    rpc_request_t req;

    for (size_t i = 0; i < n_endpoints; i++) {
        const rpc_endpoint_t *e = &endpoints[i];

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
                                  in->version ? in->version : "1.0", topic, in->method);
        return tern_error_set(TERN_ERR_INVALID, "unknown RPC namespace \"%s\" of topic \"%s\"",
                              in->namespace ? in->namespace : "", topic);
    }
    req.method = in->method;
    req.args = in->args;
    req.context = in->context;
    req.request_id = json_string_value(json_object_get(in->context, "request_id"));
    req.amqp_user_id = user_id;
    req.version = in->version ? in->version : "1.0";
    *ret_result = NULL;
    if (ep->dispatch)
        return ep->dispatch(ep->opaque, &req, ret_result);
    for (size_t i = 0; i < ep->n_methods; i++) {
        if (strcmp(ep->methods[i].name, in->method) == 0)
            return ep->methods[i].handler(ep->opaque, &req, ret_result);
    }
    return tern_error_set(TERN_ERR_INVALID, "unknown method \"%s\" of topic \"%s\"", in->method,
                          topic);
}

/* ---- duplicate detection ---- */

void
rpc_seen_init(rpc_seen_t *seen)
{
    memset(seen, 0, sizeof(*seen));
    for (size_t i = 0; i < RPC_SEEN_BUCKETS; i++)
        seen->bucket[i] = -1;
}

static unsigned
seen_hash(const char *id)
{
    unsigned h = 2166136261u; /* FNV-1a */

    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % RPC_SEEN_BUCKETS;
}

bool
rpc_seen_before(rpc_seen_t *seen, const char *unique_id)
{
    unsigned h;
    rpc_seen_slot_t *slot;
    int i;

    if (!unique_id || strlen(unique_id) >= sizeof(seen->slots[0].id))
        return false;
    h = seen_hash(unique_id);
    for (i = seen->bucket[h]; i >= 0; i = seen->slots[i].next) {
        if (strcmp(seen->slots[i].id, unique_id) == 0)
            return true;
    }
    slot = &seen->slots[seen->next];
    if (slot->id[0]) { /* unchain the oldest from its bucket */
        int *pp = &seen->bucket[seen_hash(slot->id)];

        while (*pp != (int)seen->next)
            pp = &seen->slots[*pp].next;
        *pp = slot->next;
    }
    tern_strlcpy(slot->id, unique_id, sizeof(slot->id));
    slot->next = seen->bucket[h];
    seen->bucket[h] = (int)seen->next;
    seen->next = (seen->next + 1) % RPC_SEEN_IDS;
    return false;
}
