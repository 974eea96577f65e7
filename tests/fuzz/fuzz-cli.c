/*
 * tests/fuzz/fuzz-cli.c: libFuzzer target for the tern client's command line (tools/cli: parse.c,
 * the command table and every command's build function), the stage that turns argv into a
 * conductor request without talking to a broker.
 *
 * The input is split on NUL bytes into the arguments after "tern" (at most FUZZ_MAX_ARGS). Besides
 * the sanitizers' checks, cli_parse()'s promises are asserted: a parse that succeeds is either
 * help (no arguments) or a command with its conductor method and arguments that are a JSON object
 * jansson can write; a parse that fails leaves an INVALID error with a message (non-empty, one
 * line of UTF-8) and a cleared request. Built and run by tests/fuzz/run-fuzz-targets; owns
 * nothing between inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "tests/fuzz/fuzz.h"
#include "tools/cli/cli.h"

#define FUZZ_MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *argv[FUZZ_MAX_ARGS + 2];
    char program[] = "tern";
    cli_request_t req;
    int argc = 0;

    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[argc++] = program;
    for (size_t at = 0; at < size && argc <= FUZZ_MAX_ARGS; at += strlen(copy + at) + 1)
        argv[argc++] = copy + at;
    argv[argc] = NULL;

    tern_error_reset();
    if (cli_parse(argc, argv, &req) == 0) {
        if (req.action == CLI_ACTION_HELP) {
            if (req.args)
                abort();
        } else {
            char *text;

            if (req.action != CLI_ACTION_RUN || !req.command || !req.command->method ||
                !json_is_object(req.args))
                abort();
            if (!(text = json_dumps(req.args, JSON_COMPACT)))
                abort(); /* what would be sent must be writable as JSON */
            free(text);
        }
        if ((req.n_config_files == 0) != (req.config_files == NULL))
            abort();
        cli_request_clear(&req);
    } else {
        if (tern_error_code() != TERN_ERR_INVALID)
            abort(); /* a bad command line is the user's error, never an internal one */
        fuzz_check_message(tern_error_message());
        if (req.args || req.config_files || req.command)
            abort(); /* nothing is left of a refused request */
    }
    tern_error_reset();
    free(copy);
    return 0;
}
