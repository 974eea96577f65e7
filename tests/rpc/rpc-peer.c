/*
 * tests/rpc/rpc-peer.c: a tern RPC peer for the oslo.messaging interoperability test.
 *
 *   rpc-peer URL serve TOPIC SERVER SECONDS   serve "echo" and "fail" for SECONDS
 *   rpc-peer URL call TOPIC METHOD JSON       call METHOD with JSON args; print the result
 *   rpc-peer URL cast TOPIC METHOD JSON       cast METHOD
 * Exit status: 0 on success, 1 when the call failed (the error is printed as
 * "error <code>: <message>"), 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "rpc/rpc.h"

static int
h_echo(void *opaque, const rpc_request_t *req, json_t **ret)
{
    *ret = json_pack("{s:O, s:O, s:s}", "args", req->args, "context", req->context, "user",
                     req->amqp_user_id);
    return 0;
}

static int
h_fail(void *opaque, const rpc_request_t *req, json_t **ret)
{
    return tern_error_set(TERN_ERR_CONFLICT, "instance \"%s\" is busy",
                          json_string_value(json_object_get(req->args, "uuid")));
}

static const rpc_method_t methods[] = {{"echo", h_echo}, {"fail", h_fail}};

int
main(int argc, char **argv)
{
    rpc_config_t cfg;
    json_t *args, *ctx, *res = NULL;
    rpc_client_t *client;
    rpc_target_t target = {0};
    int rc;

    if (argc != 6)
        return 2;
    if (getenv("TERN_DEBUG"))
        tern_log_open("rpc-peer", TERN_LOG_DEBUG, NULL, false);
    rpc_config_init(&cfg);
    cfg.transport_url = argv[1];
    cfg.response_timeout_ms = 15000;
    if (strcmp(argv[2], "serve") == 0) {
        rpc_endpoint_t ep = {.version = "1.0", .methods = methods, .n_methods = 2};
        rpc_server_t *srv = rpc_server_new(&cfg, argv[3], argv[4], &ep, 1, 2);

        if (!srv || rpc_server_start(srv) < 0) {
            fprintf(stderr, "rpc-peer: %s\n", tern_error_message());
            return 1;
        }
        printf("serving\n");
        fflush(stdout);
        tern_sleep_ms(atoi(argv[5]) * 1000LL);
        rpc_server_free(srv);
        return 0;
    }
    if (!(args = json_loads(argv[5], 0, NULL)))
        return 2;
    if (!(client = rpc_client_new(&cfg))) {
        fprintf(stderr, "rpc-peer: %s\n", tern_error_message());
        return 1;
    }
    target.topic = argv[3];
    ctx = rpc_context_new("u1", "p1", NULL, "req-interop");
    if (strcmp(argv[2], "call") == 0)
        rc = rpc_call(client, &target, ctx, argv[4], args, 0, &res);
    else
        rc = rpc_cast(client, &target, ctx, argv[4], args);
    if (rc < 0) {
        printf("error %s: %s\n", tern_error_code_name(tern_error_code()), tern_error_message());
    } else if (res) {
        char *text = json_dumps(res, JSON_SORT_KEYS | JSON_ENCODE_ANY);

        printf("%s\n", text);
        free(text);
    }
    json_decref(res);
    json_decref(args);
    json_decref(ctx);
    rpc_client_free(client);
    return rc < 0 ? 1 : 0;
}
