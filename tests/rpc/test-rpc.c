/*
 * tests/rpc/test-rpc.c: the runner of the rpc suite (rpc/): calls, errors and listeners against
 * the run's shared RabbitMQ, faults (broker restarts, acknowledgements, failover, TLS,
 * heartbeats) against private services of their own. Each set of services is started (or
 * attached to) in this, the parent, process, and only when its cases run (CK_RUN_CASE).
 */
#include <stdbool.h>
#include <stdlib.h>

#include "common/util.h"
#include "tests/harness/harness.h"
#include "tests/rpc/rpc_tests.h"

static bool faults_prepared, limits_prepared;

static bool
any_case_runs(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tern_check_case_runs(names[i]))
            return true;
    return false;
}

static int
prepare(void)
{
    static const char *const shared[] = {"calls", "errors", "listeners"};
    static const char *const faults[] = {"restart", "ack", "failover", "tls", "heartbeat"};

    if (any_case_runs(shared, TERN_N_ELEMENTS(shared)))
        harness_services_get(); /* aborts, naming the service, when one cannot start */
    if (any_case_runs(faults, TERN_N_ELEMENTS(faults))) {
        if (rpc_faults_prepare() < 0)
            return -1;
        faults_prepared = true;
    }
    if (tern_check_case_runs("limits")) {
        if (rpc_limits_prepare() < 0)
            return -1;
        limits_prepared = true;
    }
    return 0;
}

static void
release(void)
{
    if (faults_prepared)
        rpc_faults_release();
    if (limits_prepared)
        rpc_limits_release();
}

int
main(void)
{
    static const tern_check_case_fn cases[] = {
        rpc_calls_tcase,    rpc_errors_tcase, rpc_listeners_tcase, rpc_restart_tcase, rpc_ack_tcase,
        rpc_failover_tcase, rpc_tls_tcase,    rpc_heartbeat_tcase, rpc_limits_tcase,
    };

    return tern_check_run("rpc", cases, TERN_N_ELEMENTS(cases), prepare, release);
}
