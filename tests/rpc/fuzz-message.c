/*
 * tests/rpc/fuzz-message.c: libFuzzer target for rpc/message.c, the one place where incoming
 * RPC bytes are decoded and validated (requests and replies, the oslo envelope, remote errors).
 *
 * Each input is fed to both decoders with a 64 KiB limit. Besides the sanitizers' checks, the
 * decoders' promises are asserted: a request that decodes has a method, an args object and a
 * context object; a reply that decodes has a msg_id and a result (json null at least); a
 * failure reply leaves a tern error set.
 *
 * Then the same input goes the way a delivery does in rpc/conn.c, frame by frame: its first
 * three bytes choose a limit (1 to 64 KiB), how the content header's body_size relates to the
 * rest (exact, fewer bytes announced than sent, more, or near 2^64) and the body frames' length;
 * the rest is the body. The size check and the body's gathering (rpc_body_start, rpc_body_add)
 * promise: a body over the limit is dropped - nothing allocated, nothing kept, never handed to
 * a decoder - and one within it is gathered byte for byte, NUL-terminated, then decoded; frames
 * carrying more than announced are refused with an error; a prefetch (rpc_prefetch) keeps
 * prefetch x limit within RPC_UNACKED_BUDGET_BYTES unless the workers need more. So the
 * oversized path is inside the fuzzed range. Built and run by tests/rpc/run-fuzz (clang
 * -fsanitize=fuzzer,address,undefined); owns nothing between inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "rpc/rpc-private.h"

#define FUZZ_MAX_BYTES 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* decode_both: feed body to both decoders under max_bytes, asserting their promises. */
static void
decode_both(const char *body, size_t len, size_t max_bytes)
{
    rpc_incoming_t in;
    char *msg_id = NULL;
    json_t *result = NULL;
    bool ending = false;
    int rc;

    tern_error_reset();
    if (rpc_message_decode_request(body, len, max_bytes, &in) == 0) {
        if (!in.method || !json_is_object(in.args) || !json_is_object(in.context))
            abort();
        if ((in.msg_id == NULL) != (in.reply_q == NULL))
            abort();
        rpc_incoming_clear(&in);
    } else if (tern_error_code() == TERN_ERR_NONE) {
        abort(); /* a refusal always says why */
    }
    tern_error_reset();
    rc = rpc_message_decode_reply(body, len, max_bytes, &msg_id, &ending, &result);
    if (rc == 0 && (!msg_id || !result))
        abort();
    if (rc == 1 && (!msg_id || tern_error_code() == TERN_ERR_NONE))
        abort();
    free(msg_id);
    json_decref(result);
    tern_error_reset();
}

/* as_delivery: data as conn.c reads a delivery: header (body_size), then body frames. */
static void
as_delivery(const uint8_t *data, size_t size)
{
    uint8_t mode;
    size_t max_bytes, chunk, len, sent = 0;
    const uint8_t *payload;
    uint64_t announced;
    rpc_body_t b;
    int rc = 0;

    if (size < 3)
        return;
    mode = data[0];
    max_bytes = 1 + (size_t)((data[1] | data[2] << 8) % FUZZ_MAX_BYTES);
    payload = data + 3;
    len = size - 3;
    chunk = 1 + (size_t)(data[1] % 97);
    switch (mode & 3) {
    case 0: /* as a broker sends it */
        announced = len;
        break;
    case 1: /* frames carrying more than the header said */
        announced = len > (size_t)(mode >> 2) ? len - (mode >> 2) : 0;
        break;
    case 2: /* a body still to come */
        announced = (uint64_t)len + (mode >> 2);
        break;
    default: /* a header announcing about 2^64 */
        announced = UINT64_MAX - (mode >> 2);
        break;
    }

    rpc_body_start(&b, announced, max_bytes);
    if (b.drop != rpc_body_oversized(announced, max_bytes) || b.drop != (announced > max_bytes))
        abort();
    if (b.drop != (b.bytes == NULL) || b.size != announced || b.received != 0)
        abort();
    if (announced == 0)
        rc = 1; /* complete at its header */
    while (rc == 0 && sent < len) {
        size_t piece = len - sent < chunk ? len - sent : chunk;

        tern_error_reset();
        rc = rpc_body_add(&b, payload + sent, piece);
        if (rc < 0) {
            if (sent + piece <= announced || tern_error_code() == TERN_ERR_NONE)
                abort(); /* refused only for more than announced, saying why */
            break;
        }
        sent += piece;
        if (b.received != sent || (rc == 1) != (sent == announced))
            abort();
    }
    if (b.drop && b.bytes)
        abort(); /* an oversized body is never kept */
    if (rc == 1 && !b.drop) {
        if (b.bytes[b.size] != '\0' || memcmp(b.bytes, payload, (size_t)b.size) != 0)
            abort();
        decode_both(b.bytes, (size_t)b.size, max_bytes); /* what the consumer's callback gets */
    }
    rpc_body_clear(&b);
    if (b.bytes || b.size || b.drop)
        abort();

    /* the prefetch of a consumer of messages up to max_bytes with mode workers */
    rc = rpc_prefetch(max_bytes, mode);
    if (rc < 1 || rc > RPC_MAX_PREFETCH || (mode > 0 && rc < mode))
        abort();
    if (rc > (mode > 1 ? mode : 1) && (uint64_t)rc * max_bytes > RPC_UNACKED_BUDGET_BYTES)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_both((const char *)data, size, FUZZ_MAX_BYTES);
    as_delivery(data, size);
    return 0;
}
