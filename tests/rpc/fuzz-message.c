/*
 * tests/rpc/fuzz-message.c: libFuzzer target for rpc/message.c, the one place where incoming
 * RPC bytes are decoded and validated (requests and replies, the oslo envelope, remote errors).
 *
 * Each input is fed to both decoders with a 64 KiB limit. Besides the sanitizers' checks, the
 * decoders' promises are asserted: a request that decodes has a method, an args object and a
 * context object; a reply that decodes has a msg_id and a result (json null at least); a
 * failure reply leaves a tern error set. Built and run by tests/rpc/run-fuzz (clang
 * -fsanitize=fuzzer,address,undefined); owns nothing between inputs.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"
#include "rpc/rpc-private.h"

#define FUZZ_MAX_BYTES 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rpc_incoming_t in;
    char *msg_id = NULL;
    json_t *result = NULL;
    bool ending = false;
    int rc;

    if (rpc_message_decode_request((const char *)data, size, FUZZ_MAX_BYTES, &in) == 0) {
        if (!in.method || !json_is_object(in.args) || !json_is_object(in.context))
            abort();
        if ((in.msg_id == NULL) != (in.reply_q == NULL))
            abort();
        rpc_incoming_clear(&in);
    } else if (tern_error_code() == TERN_ERR_NONE) {
        abort(); /* a refusal always says why */
    }
    tern_error_reset();
    rc = rpc_message_decode_reply((const char *)data, size, FUZZ_MAX_BYTES, &msg_id, &ending,
                                  &result);
    if (rc == 0 && (!msg_id || !result))
        abort();
    if (rc == 1 && (!msg_id || tern_error_code() == TERN_ERR_NONE))
        abort();
    free(msg_id);
    json_decref(result);
    tern_error_reset();
    return 0;
}
