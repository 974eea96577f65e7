/*
 * conf/daemon.h: the start-up and end of a tern daemon (tern-conductor, tern-compute), shared.
 *
 *   conf_daemon_init   the command line (--help, --version, usage errors), the configuration,
 *                      logging, jansson's allocator, the signals: SIGTERM and SIGINT blocked in
 *                      this thread and every thread it starts later, SIGPIPE ignored; the RPC
 *                      settings from the configuration
 *   conf_daemon_wait   wait for SIGTERM or SIGINT, or a time (a daemon's periodic work)
 *   conf_daemon_fini   free what init made, close the log
 *   conf_daemon_log_counters  what the libraries counted instead of logging (rpc_stats_t,
 *                      db_stats_t: conf_rpc_counters and the caller's table), logged as it rises
 *
 * Part of libtern-conf-rpc (it fills the rpc_config_t). Ownership: the conf_daemon_t owns its
 * configuration and arguments; rpc_cfg's strings are borrowed from cfg, valid until fini.
 */
#ifndef TERN_CONF_DAEMON_H
#define TERN_CONF_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "rpc/rpc.h"

typedef struct conf_daemon {
    const char *program;  /* borrowed */
    conf_args_t args;     /* owned */
    conf_t *cfg;          /* owned */
    rpc_config_t rpc_cfg; /* strings borrowed from cfg */
    sigset_t sigs;        /* SIGTERM, SIGINT */
} conf_daemon_t;

/* true: go on. false: stop now and exit with *ret_exit (EXIT_SUCCESS after --help or --version,
 * 2 after a usage error, EXIT_FAILURE after a configuration or logging error, which is printed
 * on stderr prefixed with the program's name); d is then cleared. */
bool conf_daemon_init(conf_daemon_t *d, const char *program, int argc, char **argv, int *ret_exit);

/* Wait up to timeout_ms (< 0: without end) for SIGTERM or SIGINT: the signal, or 0 when the
 * time is up. */
int conf_daemon_wait(conf_daemon_t *d, int timeout_ms);

void conf_daemon_fini(conf_daemon_t *d);

/* One counter of a statistics struct of uint64_t fields: its name and offsetof. */
typedef struct conf_counter {
    const char *name;
    size_t offset;
} conf_counter_t;

/* rpc_stats_t's counters, every one a sign of trouble when it rises. */
extern const conf_counter_t conf_rpc_counters[];
extern const size_t conf_n_rpc_counters;

/* Log one warning naming each of the counters (n of them) of *now that rose since *last, with
 * its rise and its total - "rpc server since the last report: connections_lost +1 (3 in all)";
 * nothing when none rose. Then *last = *now (structs of the counters' type, sizeof_stats
 * bytes). The daemons call it with every heartbeat. */
void conf_daemon_log_counters(const char *what, const conf_counter_t *counters, size_t n,
                              const void *now, void *last, size_t sizeof_stats);

#endif /* TERN_CONF_DAEMON_H */
