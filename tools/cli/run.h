/*
 * tools/cli/run.h: the second stage of tern - running a parsed request against the conductor.
 * Only main.c and wait.c include it; they are linked into the tern program, not into
 * libtern-cli, so the parsing and output code stays testable without a broker.
 *
 * Ownership: the session's client and context belong to main.c, which frees them.
 */
#ifndef TERN_TOOLS_CLI_RUN_H
#define TERN_TOOLS_CLI_RUN_H

#include <signal.h>

#include "rpc/rpc.h"
#include "tools/cli/cli.h"

/* A connection to the conductor for one run of tern. */
typedef struct cli_session {
    rpc_client_t *client;        /* owned by main.c */
    json_t *context;             /* owned by main.c: the request context of every call */
    int timeout_ms;              /* per call: the configured rpc_response_timeout */
    const rpc_config_t *rpc_cfg; /* borrowed from main.c: the transport, for listeners */
} cli_session_t;

/* Call the conductor's method with args (borrowed); timeout_ms <= 0: the session's. New
 * reference in *ret_result; -1 with the (remote) error otherwise. */
int cli_call(const cli_session_t *s, const char *method, json_t *args, int timeout_ms,
             json_t **ret_result);

/* live-migration --wait, migration-show --wait: follow the migration that live_migrate or
 * migration_get answered (result borrowed) until it ends, showing progress; started_ms is when
 * the request was made (monotonic; the summary counts from it after a live-migration). It
 * listens to the migration's events (with s->rpc_cfg) so that it is told of the end; without a
 * listener it polls. SIGINT must be blocked in every thread (sigint_set holds it), before the
 * client starts its threads: it is read from a signalfd and stops the waiting, not the
 * migration. Returns the exit code: CLI_EXIT_OK only when the migration completed;
 * CLI_EXIT_FAILED with the error set otherwise. */
int cli_wait_migration(const cli_session_t *s, const cli_request_t *req, json_t *result,
                       int64_t started_ms, const sigset_t *sigint_set);

/* The drains' --wait: follow the drain that host_evacuate_live, host_maintenance_enter or
 * evacuation_get answered (result borrowed), reading it every second, with a progress line
 * (percentage held, ETA), until it ends; then print it. CLI_EXIT_OK only when it completed (every
 * server moved). SIGINT as for cli_wait_migration. */
int cli_wait_drain(const cli_session_t *s, const cli_request_t *req, json_t *result,
                   const sigset_t *sigint_set);

#endif /* TERN_TOOLS_CLI_RUN_H */
