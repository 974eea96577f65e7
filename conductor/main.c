/*
 * conductor/main.c: tern-conductor start-up - configuration, logging, signals, heartbeat, the
 * sweep of migrations orphaned by a conductor at start-up (then, with the watch over silent
 * sources, every report_interval on the recovery thread: conductor/recovery.c), and with every
 * heartbeat the RPC and database counters that rose (conf_daemon_log_counters).
 *
 * Usage: tern-conductor [--config-file FILE]... [--config-dir DIR]
 * Runs in the foreground until SIGTERM or SIGINT. Refuses to start against a database whose
 * schema is not the one it was built for (run `tern-manage db sync`). Exit status: 0 after a
 * clean stop, 1 when it could not start.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/conductor.h"
#include "conf/conf.h"
#include "conf/daemon.h"

#define PROGRAM "tern-conductor"

static void
conductor_config_from_conf(const conf_t *cfg, conductor_config_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->host = tern_strdup(cfg->host);
    ret->db_connection = tern_strdup(cfg->database.connection);
    ret->policy_file = tern_strdup(cfg->policy_file);
    ret->service_down_time_s = cfg->service_down_time;
    ret->rpc_timeout_ms = cfg->rpc_response_timeout * 1000;
    ret->cpu_allocation_ratio = cfg->cpu_allocation_ratio;
    ret->ram_allocation_ratio = cfg->ram_allocation_ratio;
    ret->disk_allocation_ratio = cfg->disk_allocation_ratio;
    ret->reserved_host_memory_mb = cfg->reserved_host_memory_mb;
    ret->reserved_host_disk_mb = cfg->reserved_host_disk_mb;
    ret->workers = cfg->conductor.workers;
    ret->max_migrations = cfg->conductor.max_concurrent_migrations;
    ret->rate_limit_per_minute = cfg->conductor.rate_limit_per_minute;
    ret->rate_limit_burst = cfg->conductor.rate_limit_burst;
}

/* wait_retry: between two attempts to reach the database at start-up; false when SIGTERM or
 * SIGINT came meanwhile (then the conductor does not start). */
static bool
wait_retry(void *opaque, int attempt, int interval_ms)
{
    conf_daemon_t *d = opaque;

    TERN_WARN("%s (attempt %d); retrying in %d s", tern_error_message(), attempt,
              interval_ms / 1000);
    return conf_daemon_wait(d, interval_ms) == 0;
}

/* wait_for_database: [database] max_retries / retry_interval - a conductor started before
 * PostgreSQL (a reboot of the control plane) waits for it instead of failing. */
static int
wait_for_database(conf_daemon_t *d)
{
    db_conn_t *conn = db_open_retry(d->cfg->database.connection, d->cfg->database.max_retries,
                                    d->cfg->database.retry_interval * 1000, wait_retry, d);

    if (!conn)
        return -1;
    db_close(conn);
    return 0;
}

#define DB_COUNTER(field)                   \
    {                                       \
#field, offsetof(db_stats_t, field) \
    }

/* db_stats_t's counters worth a warning (notices are not). */
static const conf_counter_t db_counters[] = {DB_COUNTER(reconnects), DB_COUNTER(reconnects_failed),
                                             DB_COUNTER(statements_retried)};

/* counters_t: what the libraries counted, as of the last report. */
typedef struct counters {
    rpc_stats_t client, server;
    db_stats_t db;
} counters_t;

/* log_counters: what the RPC client and server and the database connections got over on their
 * own since the last report (the libraries count it; they log nothing). */
static void
log_counters(conductor_t *cond, counters_t *last)
{
    counters_t now;

    rpc_client_stats(cond->rpc, &now.client);
    rpc_server_stats(cond->server, &now.server);
    db_stats_read(&cond->db_stats, &now.db);
    conf_daemon_log_counters("rpc client", conf_rpc_counters, conf_n_rpc_counters, &now.client,
                             &last->client, sizeof(now.client));
    conf_daemon_log_counters("rpc server", conf_rpc_counters, conf_n_rpc_counters, &now.server,
                             &last->server, sizeof(now.server));
    conf_daemon_log_counters("database", db_counters, TERN_N_ELEMENTS(db_counters), &now.db,
                             &last->db, sizeof(now.db));
}

/* heartbeat_until_signal: keep this conductor's service row fresh until SIGTERM/SIGINT; report
 * the libraries' counters as they rise. */
static int
heartbeat_until_signal(conductor_t *cond, conf_daemon_t *d)
{
    int interval_ms = (d->cfg->report_interval > 0 ? d->cfg->report_interval : 10) * 1000;
    counters_t last = {0};
    db_conn_t *db;

    for (;;) {
        int sig = conf_daemon_wait(d, interval_ms);

        if (sig > 0)
            return sig;
        if (!(db = conductor_db(cond)) ||
            db_service_heartbeat(db, cond->cfg.host, CONDUCTOR_BINARY) < 0)
            TERN_WARN("could not record the conductor's heartbeat: %s", tern_error_message());
        log_counters(cond, &last);
    }
}

int
main(int argc, char **argv)
{
    conf_daemon_t d;
    conductor_config_t ccfg;
    conductor_t *cond = NULL;
    int sig, rc;

    if (!conf_daemon_init(&d, PROGRAM, argc, argv, &rc))
        return rc;
    conductor_config_from_conf(d.cfg, &ccfg);
    /* The sweep runs before the RPC server starts: a request this conductor took and never
     * answered before it died is delivered again, and must find its instance free. */
    if (wait_for_database(&d) == 0 && (cond = conductor_new(&ccfg, &d.rpc_cfg)) &&
        conductor_sweep_orphans(cond, true) < 0)
        TERN_WARN("could not look for orphaned migrations: %s", tern_error_message());
    if (!cond || conductor_start(cond, cond->cfg.workers) < 0 ||
        conductor_recovery_start(cond, (d.cfg->report_interval > 0 ? d.cfg->report_interval : 10) *
                                           1000) < 0) {
        TERN_ERROR("could not start: %s", tern_error_message());
        conductor_config_clear(&ccfg);
        conductor_free(cond);
        conf_daemon_fini(&d);
        return EXIT_FAILURE;
    }
    TERN_INFO(PROGRAM " %s ready", PACKAGE_VERSION);
    sig = heartbeat_until_signal(cond, &d);
    TERN_INFO("stopping on signal %d", sig);
    conductor_free(cond);
    TERN_INFO("stopped");
    conf_daemon_fini(&d);
    return EXIT_SUCCESS;
}
