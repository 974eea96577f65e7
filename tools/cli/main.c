/*
 * tools/cli/main.c: the tern program - parse, then load the configuration, connect to the
 * broker, call the conductor and print its answer.
 *
 * The command line is parsed and validated completely (cli_parse) before the configuration is
 * read or any connection made, so a usage error (exit 2) never sends anything. Errors are one
 * line on stderr, "tern: <message>"; a remote error carries the conductor's message. Exit codes:
 * 0 success, 1 the operation failed, 2 usage error.
 * Owns: the request, the configuration, the RPC client and the request context of this run.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "conf/conf-rpc.h"
#include "conf/conf.h"
#include "tools/cli/run.h"

int
cli_call(const cli_session_t *s, const char *method, json_t *args, int timeout_ms,
         json_t **ret_result)
{
    rpc_target_t target = {.topic = "conductor", .version = "1.0"};

    return rpc_call(s->client, &target, s->context, method, args,
                    timeout_ms > 0 ? timeout_ms : s->timeout_ms, ret_result);
}

/* The command named in argv, for the hint after a usage error (NULL when none is). */
static const char *
command_in(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cli_command_find(argv[i]))
            return argv[i];
    }
    return NULL;
}

/* The transport settings of cfg, with --transport-url winning over the files. */
static void
rpc_config_from(const conf_t *cfg, const cli_request_t *req, rpc_config_t *ret)
{
    conf_rpc_config(cfg, ret);
    if (req->transport_url)
        ret->transport_url = req->transport_url;
}

/* Call the request's method and print the answer; the exit code. */
static int
run(const cli_session_t *s, const cli_request_t *req, const sigset_t *sigint_set)
{
    const cli_command_t *cmd = req->command;
    int64_t started_ms = tern_now_monotonic_ms();
    int timeout_ms = s->timeout_ms;
    json_t *result = NULL;
    int rc;

    if (cmd->min_timeout_ms > timeout_ms)
        timeout_ms = cmd->min_timeout_ms;
    if (cli_call(s, cmd->method, req->args, timeout_ms, &result) < 0)
        return CLI_EXIT_FAILED;
    if (req->wait && req->wait_drain)
        rc = cli_wait_drain(s, req, result, sigint_set);
    else if (req->wait)
        rc = cli_wait_migration(s, req, result, started_ms, sigint_set);
    else
        rc = cmd->render(req, result, stdout) < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    json_decref(result);
    return rc;
}

static int
connect_and_run(const cli_request_t *req)
{
    conf_args_t args = {
        .config_files = (char **)req->config_files,
        .n_config_files = req->n_config_files,
        .config_dir = req->config_dir,
    };
    cli_session_t s = {0};
    rpc_config_t rpc_cfg;
    sigset_t sigint_set;
    conf_t *cfg;
    int rc;

    if (!(cfg = conf_load_args(&args)))
        return CLI_EXIT_FAILED;
    rpc_config_from(cfg, req, &rpc_cfg);
    /* --wait takes Ctrl-C itself (signalfd): block it before the client starts threads, so
     * that they (and the listener's) inherit the mask and no thread is interrupted by it. */
    sigemptyset(&sigint_set);
    sigaddset(&sigint_set, SIGINT);
    if (req->wait)
        pthread_sigmask(SIG_BLOCK, &sigint_set, NULL);
    s.timeout_ms = rpc_cfg.response_timeout_ms;
    s.rpc_cfg = &rpc_cfg; /* its strings are cfg's, freed after the run */
    if (!(s.client = rpc_client_new(&rpc_cfg))) {
        conf_free(cfg);
        return CLI_EXIT_FAILED;
    }
    s.context = rpc_context_new(NULL, NULL, NULL, NULL);
    rc = run(&s, req, &sigint_set);
    json_decref(s.context);
    rpc_client_free(s.client);
    conf_free(cfg);
    return rc;
}

int
main(int argc, char **argv)
{
    cli_request_t req;
    const char *command;
    int rc;

    tern_json_init(); /* before any JSON: jansson allocates as tern does */

    if (cli_parse(argc, argv, &req) < 0) {
        fprintf(stderr, "tern: %s\n", tern_error_message());
        command = command_in(argc, argv);
        fprintf(stderr, "Try \"tern help%s%s\" for more information.\n", command ? " " : "",
                command ? command : "");
        return CLI_EXIT_USAGE;
    }
    if (req.action == CLI_ACTION_HELP) {
        cli_print_help(req.command, stdout);
        cli_request_clear(&req);
        return CLI_EXIT_OK;
    }
    tern_error_reset();
    rc = connect_and_run(&req);
    fflush(stdout);
    if (rc != CLI_EXIT_OK && tern_error_code() != TERN_ERR_NONE)
        fprintf(stderr, "tern: %s\n", tern_error_message());
    cli_request_clear(&req);
    return rc;
}
