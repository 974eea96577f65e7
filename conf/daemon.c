/*
 * conf/daemon.c: a tern daemon's start-up and end (conf/daemon.h).
 */
#include "conf/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/conf-rpc.h"

bool
conf_daemon_init(conf_daemon_t *d, const char *program, int argc, char **argv, int *ret_exit)
{
    int rc;

    memset(d, 0, sizeof(*d));
    d->program = program;
    tern_json_init(); /* before any JSON */
    rc = conf_parse_args(argc, argv, program, &d->args);
    if (rc != 0) { /* --help/--version done, or a usage error printed */
        *ret_exit = rc > 0 ? EXIT_SUCCESS : 2;
        return false;
    }
    if (!(d->cfg = conf_load_args(&d->args)) || conf_log_setup(d->cfg, program) < 0) {
        fprintf(stderr, "%s: %s\n", program, tern_error_message());
        conf_daemon_fini(d);
        *ret_exit = EXIT_FAILURE;
        return false;
    }
    /* Signals are taken synchronously by the main thread; every thread started from here on
     * inherits the mask. */
    sigemptyset(&d->sigs);
    sigaddset(&d->sigs, SIGTERM);
    sigaddset(&d->sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &d->sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    conf_rpc_config(d->cfg, &d->rpc_cfg);
    return true;
}

int
conf_daemon_wait(conf_daemon_t *d, int timeout_ms)
{
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L};
    int sig;

    for (;;) {
        if (timeout_ms < 0) {
            if (sigwait(&d->sigs, &sig) == 0)
                return sig;
            continue;
        }
        sig = sigtimedwait(&d->sigs, NULL, &ts);
        if (sig > 0)
            return sig;
        if (errno == EAGAIN)
            return 0;
        /* EINTR: another signal came; the time left is not tracked, a tick is a tick */
    }
}

void
conf_daemon_fini(conf_daemon_t *d)
{
    conf_free(d->cfg);
    conf_args_clear(&d->args);
    memset(d, 0, sizeof(*d));
    tern_log_close();
}

#define RPC_COUNTER(field)                   \
    {                                        \
#field, offsetof(rpc_stats_t, field) \
    }

const conf_counter_t conf_rpc_counters[] = {
    RPC_COUNTER(connections_lost),   RPC_COUNTER(reconnects),        RPC_COUNTER(reconnects_failed),
    RPC_COUNTER(publishes_retried),  RPC_COUNTER(replies_unclaimed), RPC_COUNTER(malformed_dropped),
    RPC_COUNTER(duplicates_dropped), RPC_COUNTER(replies_retried),   RPC_COUNTER(replies_dropped),
    RPC_COUNTER(casts_failed),       RPC_COUNTER(poll_errors),       RPC_COUNTER(oversized_dropped),
};
const size_t conf_n_rpc_counters = TERN_N_ELEMENTS(conf_rpc_counters);

void
conf_daemon_log_counters(const char *what, const conf_counter_t *counters, size_t n,
                         const void *now, void *last, size_t sizeof_stats)
{
    char line[1024] = "";
    size_t used = 0;

    for (size_t i = 0; i < n && used < sizeof(line); i++) {
        uint64_t a, b;

        memcpy(&a, (const char *)now + counters[i].offset, sizeof(a));
        memcpy(&b, (const char *)last + counters[i].offset, sizeof(b));
        if (a <= b)
            continue;
        used += (size_t)snprintf(line + used, sizeof(line) - used,
                                 "%s%s +%" PRIu64 " (%" PRIu64 " in all)", used ? ", " : "",
                                 counters[i].name, a - b, a);
    }
    if (used)
        TERN_WARN("%s since the last report: %s", what, line);
    memcpy(last, now, sizeof_stats);
}
