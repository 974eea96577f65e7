/*
 * tests/cli/test-cli.h: the test cases of the tern client's suite, one file per seam.
 *   test-cli.c         runner; parse: command lines that parse, and into which request
 *   test-cli-errors.c  errors: every bad command line, its message, and that no request is left
 *   test-cli-output.c  output: tables, JSON, render functions; progress: the --wait display
 * and, against a real tern-conductor (test-cli-conductor.h): calls, remote_errors, events, wait.
 */
#ifndef TERN_TESTS_CLI_H
#define TERN_TESTS_CLI_H

#include "tests/support/tern-check.h"
#include "tools/cli/cli.h"

TCase *test_cli_parse_case(void);
TCase *test_cli_errors_case(void);
TCase *test_cli_output_case(void);
TCase *test_cli_progress_case(void);

/* Parse "tern" followed by the NULL-terminated arguments into *req; returns cli_parse()'s
 * result. */
int test_cli_parse(cli_request_t *req, ...) __attribute__((sentinel));
/* The same with the arguments in a NULL-terminated array (at most 198). */
int test_cli_parse_argv(cli_request_t *req, const char *const *args);

#endif /* TERN_TESTS_CLI_H */
