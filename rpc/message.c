/*
 * rpc/message.c: the oslo.messaging wire format, and the one place incoming bytes are checked.
 *
 * Envelope (oslo's _RPC_ENVELOPE_VERSION 2.0): {"oslo.version": "2.0", "oslo.message": "<json>"}
 * Request:  {"method", "args", "version", "namespace"?, "_msg_id"?, "_reply_q"?, "_unique_id",
 *            "_context_<key>": ... for each key of the request context}
 * Reply:    {"result", "failure", "ending": true, "_msg_id", "_unique_id"}
 * failure:  a JSON string of {"class", "module", "message", "tb", "args", "kwargs"} - tern's
 *           errors travel as class "TernError" with kwargs {"code": "<tern_error_code_name>"}.
 *
 * Limits on every incoming message: its size (max_bytes: checked from the AMQP content header,
 * before any of the body is read, by rpc_body_start, and again by the decoders), JSON nesting
 * depth (RPC_MAX_JSON_DEPTH), the envelope's shape, and each key's type; the prefetch that
 * bounds what a consumer holds unacknowledged (rpc_prefetch).
 * Owns nothing across calls: results are new (see rpc-private.h).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

#define CONTEXT_PREFIX "_context_"

static int
json_depth(const json_t *j, int limit)
{
    int max = 0;
    const char *key;
    json_t *v;
    size_t i;

    if (limit < 0)
        return 1 << 20;
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, key, v)
        {
            int d = json_depth(v, limit - 1);

            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            int d = json_depth(v, limit - 1);

            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
}

/* open_envelope: the inner message object (new) of an envelope, or a bare dict. */
static json_t *
open_envelope(const char *body, size_t len, size_t max_bytes)
{
    json_error_t jerr;
    json_t *outer, *inner;
    const char *text;

    if (len > max_bytes) {
        tern_error_set(TERN_ERR_INVALID, "message of %zu bytes exceeds the limit of %zu", len,
                       max_bytes);
        return NULL;
    }
    if (!(outer = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr))) {
        tern_error_set(TERN_ERR_INVALID, "message is not JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(outer)) {
        json_decref(outer);
        tern_error_set(TERN_ERR_INVALID, "message is not a JSON object");
        return NULL;
    }
    if (!json_object_get(outer, "oslo.version")) {
        inner = outer; /* oslo accepts an unwrapped message too */
    } else {
        if (!json_is_string(json_object_get(outer, "oslo.version")) ||
            strcmp(json_string_value(json_object_get(outer, "oslo.version")),
                   RPC_ENVELOPE_VERSION) != 0 ||
            !(text = json_string_value(json_object_get(outer, "oslo.message")))) {
            json_decref(outer);
            tern_error_set(TERN_ERR_INVALID,
                           "message envelope is not oslo.version %s with a "
                           "string oslo.message",
                           RPC_ENVELOPE_VERSION);
            return NULL;
        }
        inner = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        json_decref(outer);
        if (!inner || !json_is_object(inner)) {
            json_decref(inner);
            tern_error_set(TERN_ERR_INVALID, "oslo.message is not a JSON object%s%s",
                           inner ? "" : ": ", inner ? "" : jerr.text);
            return NULL;
        }
    }
    if (json_depth(inner, RPC_MAX_JSON_DEPTH) > RPC_MAX_JSON_DEPTH) {
        json_decref(inner);
        tern_error_set(TERN_ERR_INVALID, "message nests deeper than %d levels", RPC_MAX_JSON_DEPTH);
        return NULL;
    }
    return inner;
}

int
rpc_prefetch(size_t max_bytes, int at_least)
{
    size_t n = max_bytes > 0 ? RPC_UNACKED_BUDGET_BYTES / max_bytes : RPC_MAX_PREFETCH;

    if (at_least > 0 && n < (size_t)at_least)
        n = (size_t)at_least;
    if (n < 1)
        n = 1;
    return n > RPC_MAX_PREFETCH ? RPC_MAX_PREFETCH : (int)n;
}

bool
rpc_body_oversized(uint64_t body_size, size_t max_bytes)
{
    return body_size > (uint64_t)max_bytes || body_size >= SIZE_MAX; /* size + 1 must fit */
}

void
rpc_body_start(rpc_body_t *b, uint64_t size, size_t max_bytes)
{
    memset(b, 0, sizeof(*b));
    b->size = size;
    b->drop = rpc_body_oversized(size, max_bytes);
    if (!b->drop) {
        b->bytes = tern_malloc((size_t)size + 1);
        b->bytes[size] = '\0';
    }
}

int
rpc_body_add(rpc_body_t *b, const void *fragment, size_t len)
{
    if (len > b->size - b->received)
        return tern_error_set(TERN_ERR_RPC,
                              "the broker sent more than the %llu bytes a message announced",
                              (unsigned long long)b->size);
    if (!b->drop && len > 0)
        memcpy(b->bytes + b->received, fragment, len);
    b->received += len;
    return b->received == b->size ? 1 : 0;
}

void
rpc_body_clear(rpc_body_t *b)
{
    free(b->bytes);
    memset(b, 0, sizeof(*b));
}

static int
take_string(json_t *msg, const char *key, bool required, char **ret)
{
    json_t *v = json_object_get(msg, key);

    *ret = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return tern_error_set(TERN_ERR_INVALID, "message lacks \"%s\"", key);
        return 0;
    }
    if (!json_is_string(v))
        return tern_error_set(TERN_ERR_INVALID, "message key \"%s\" is not a string", key);
    *ret = tern_strdup(json_string_value(v));
    return 0;
}

#define REQUEST_ID_MAX 128

/* request_id_ok: a request id is what reaches every log line and the action records, so it is
 * checked here, once: 1 to REQUEST_ID_MAX letters, digits, '.', '_', ':' or '-' (oslo's
 * "req-<uuid>" and tern's own); no control character, quote or space can be forged into a log. */
static bool
request_id_ok(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;

    if (!s || n == 0 || n > REQUEST_ID_MAX || n != json_string_length(v))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:-", s[i]))
            return false;
    return true;
}

int
rpc_message_decode_request(const char *body, size_t len, size_t max_bytes, rpc_incoming_t *ret)
{
    json_t *msg = open_envelope(body, len, max_bytes);
    json_t *args, *v;
    const char *key;

    memset(ret, 0, sizeof(*ret));
    if (!msg)
        return -1;
    args = json_object_get(msg, "args");
    if (take_string(msg, "method", true, &ret->method) < 0 ||
        take_string(msg, "version", false, &ret->version) < 0 ||
        take_string(msg, "namespace", false, &ret->namespace) < 0 ||
        take_string(msg, "_msg_id", false, &ret->msg_id) < 0 ||
        take_string(msg, "_reply_q", false, &ret->reply_q) < 0 ||
        take_string(msg, "_unique_id", false, &ret->unique_id) < 0)
        goto fail;
    if (args && !json_is_object(args) && !json_is_null(args)) {
        tern_error_set(TERN_ERR_INVALID, "message key \"args\" is not an object");
        goto fail;
    }
    if ((ret->msg_id == NULL) != (ret->reply_q == NULL)) {
        tern_error_set(TERN_ERR_INVALID, "message has one of \"_msg_id\" and \"_reply_q\" but "
                                         "not the other");
        goto fail;
    }
    ret->args = json_is_object(args) ? json_incref(args) : json_object();
    ret->context = json_object();
    json_object_foreach(msg, key, v)
    {
        if (strncmp(key, CONTEXT_PREFIX, strlen(CONTEXT_PREFIX)) == 0)
            json_object_set(ret->context, key + strlen(CONTEXT_PREFIX), v);
    }
    v = json_object_get(ret->context, "request_id");
    if (v && !json_is_null(v) && !request_id_ok(v)) {
        tern_error_set(TERN_ERR_INVALID,
                       "message key \"_context_request_id\" is not 1 to %d letters, digits, '.', "
                       "'_', ':' or '-'",
                       REQUEST_ID_MAX);
        goto fail;
    }
    json_decref(msg);
    return 0;

fail:
    json_decref(msg);
    rpc_incoming_clear(ret);
    return -1;
}

void
rpc_incoming_clear(rpc_incoming_t *in)
{
    free(in->method);
    json_decref(in->args);
    json_decref(in->context);
    free(in->version);
    free(in->namespace);
    free(in->msg_id);
    free(in->reply_q);
    free(in->unique_id);
    memset(in, 0, sizeof(*in));
}

static char *
wrap(json_t *msg)
{
    char *inner = json_dumps(msg, JSON_COMPACT);
    json_t *outer =
        tern_json_pack("{s:s, s:s}", "oslo.version", RPC_ENVELOPE_VERSION, "oslo.message", inner);
    char *text = json_dumps(outer, JSON_COMPACT);

    free(inner);
    json_decref(outer);
    json_decref(msg);
    return text;
}

void
rpc_unique_name(char *buf, size_t size, const char *prefix)
{
    char uuid[37];
    size_t j;

    tern_strlcpy(buf, prefix, size);
    j = strlen(buf);
    tern_uuid_generate(uuid);
    for (size_t i = 0; uuid[i] && j + 1 < size; i++) {
        if (uuid[i] != '-')
            buf[j++] = uuid[i];
    }
    buf[j] = '\0';
}

static json_t *
unique_id(void)
{
    char hex[33];

    rpc_unique_name(hex, sizeof(hex), "");
    return json_string(hex);
}

char *
rpc_message_encode_request(const char *method, json_t *args, json_t *context, const char *version,
                           const char *namespace, const char *msg_id, const char *reply_q)
{
    json_t *msg = json_object();
    const char *key;
    json_t *v;

    json_object_set_new(msg, "method", json_string(method));
    json_object_set_new(msg, "args", args ? json_incref(args) : json_object());
    json_object_set_new(msg, "version", json_string(version ? version : "1.0"));
    if (namespace)
        json_object_set_new(msg, "namespace", json_string(namespace));
    if (msg_id) {
        json_object_set_new(msg, "_msg_id", json_string(msg_id));
        json_object_set_new(msg, "_reply_q", json_string(reply_q));
    }
    json_object_set_new(msg, "_unique_id", unique_id());
    json_object_foreach(context, key, v)
    {
        TERN_AUTOFREE char *k = tern_asprintf(CONTEXT_PREFIX "%s", key);

        json_object_set(msg, k, v);
    }
    return wrap(msg);
}

char *
rpc_message_encode_reply(const char *msg_id, json_t *result, const tern_error_t *failure)
{
    json_t *msg = json_object();

    json_object_set(msg, "result", result ? result : json_null());
    if (failure) {
        json_t *f =
            tern_json_pack("{s:s, s:s, s:s, s:[], s:[s], s:{s:s}}", "class", "TernError", "module",
                           "tern", "message", failure->message, "tb", "args", failure->message,
                           "kwargs", "code", tern_error_code_name(failure->code));
        char *text = json_dumps(f, JSON_COMPACT);

        json_object_set_new(msg, "failure", json_string(text));
        free(text);
        json_decref(f);
    } else {
        json_object_set_new(msg, "failure", json_null());
    }
    json_object_set_new(msg, "ending", json_true());
    json_object_set_new(msg, "_msg_id", json_string(msg_id));
    json_object_set_new(msg, "_unique_id", unique_id());
    return wrap(msg);
}

/* restore_failure: a remote exception as this thread's tern error. */
static void
restore_failure(const char *text)
{
    json_t *f = json_loads(text, 0, NULL);
    const char *cls = json_string_value(json_object_get(f, "class"));
    const char *message = json_string_value(json_object_get(f, "message"));
    const char *code = json_string_value(json_object_get(json_object_get(f, "kwargs"), "code"));
    tern_error_code_t c = TERN_ERR_RPC;

    if (code)
        c = tern_error_code_from_name(code);
    else if (tern_streq(cls, "NoSuchMethod") || tern_streq(cls, "UnsupportedVersion"))
        c = TERN_ERR_INVALID;
    if (code || !cls)
        tern_error_set(c, "%s", message ? message : "remote error");
    else
        tern_error_set(c, "remote %s: %s", cls, message ? message : "");
    tern_error_mark_remote();
    json_decref(f);
}

int
rpc_message_decode_reply(const char *body, size_t len, size_t max_bytes, char **ret_msg_id,
                         bool *ret_ending, json_t **ret_result)
{
    json_t *msg = open_envelope(body, len, max_bytes);
    json_t *failure;
    char *msg_id = NULL;

    if (!msg)
        return -1;
    if (take_string(msg, "_msg_id", true, &msg_id) < 0) {
        json_decref(msg);
        return -1;
    }
    *ret_msg_id = msg_id;
    *ret_ending = json_is_true(json_object_get(msg, "ending"));
    failure = json_object_get(msg, "failure");
    if (failure && !json_is_null(failure)) {
        restore_failure(json_is_string(failure) ? json_string_value(failure) : "{}");
        json_decref(msg);
        return 1;
    }
    *ret_result = json_incref(json_object_get(msg, "result"));
    if (!*ret_result)
        *ret_result = json_null();
    json_decref(msg);
    return 0;
}
