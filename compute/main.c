/*
 * compute/main.c: tern-compute start-up - configuration, logging, signals, the manager - and,
 * every report interval, the RPC counters that rose (conf_daemon_log_counters).
 *
 * Usage: tern-compute [--config-file FILE]... [--config-dir DIR]
 * Runs in the foreground until SIGTERM or SIGINT, then stops serving, lets migrations in flight
 * finish, and exits. Exit status: 0 after a clean stop, 1 when it could not start.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "compute/compute.h"
#include "conf/conf.h"
#include "conf/daemon.h"

#define PROGRAM "tern-compute"

/* compute_config_from_conf: what the manager needs, copied out of the configuration. */
static void
compute_config_from_conf(const conf_t *cfg, compute_config_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->host = tern_strdup(cfg->host);
    ret->instances_path = tern_strdup(cfg->instances_path);
    ret->image_store_path = tern_strdup(cfg->image_store_path);
    ret->libvirt_uri =
        tern_strdup(tern_str_empty(cfg->libvirt.connection_uri) ? "qemu:///system"
                                                                : cfg->libvirt.connection_uri);
    ret->virt_type = tern_strdup(cfg->libvirt.virt_type);
    ret->cpu_mode = tern_strdup(cfg->libvirt.cpu_mode);
    ret->cpu_models = conf_list_split(cfg->libvirt.cpu_models, NULL);
    ret->allowed_bridges = conf_list_split(cfg->compute.allowed_bridges, NULL);
    ret->cpu_extra_flags = conf_list_split(cfg->libvirt.cpu_model_extra_flags, NULL);
    ret->migration_scheme = tern_strdup(cfg->libvirt.live_migration_scheme);
    ret->migration_inbound_addr = tern_strdup(cfg->libvirt.live_migration_inbound_addr);
    ret->max_concurrent_live_migrations = cfg->max_concurrent_live_migrations;
    ret->bandwidth_mibps = (uint64_t)cfg->libvirt.live_migration_bandwidth;
    ret->downtime_ms = cfg->libvirt.live_migration_downtime;
    ret->downtime_steps = cfg->libvirt.live_migration_downtime_steps;
    ret->downtime_delay_s = cfg->libvirt.live_migration_downtime_delay;
    ret->completion_timeout_s = cfg->libvirt.live_migration_completion_timeout;
    ret->timeout_action_force_complete =
        tern_streq(cfg->libvirt.live_migration_timeout_action, "force_complete");
    ret->permit_post_copy = cfg->libvirt.live_migration_permit_post_copy;
    ret->permit_auto_converge = cfg->libvirt.live_migration_permit_auto_converge;
    ret->native_tls = cfg->libvirt.live_migration_with_native_tls;
    ret->parallel_connections = cfg->libvirt.live_migration_parallel_connections;
    ret->report_interval_s = cfg->report_interval;
    ret->rpc_timeout_ms = cfg->rpc_response_timeout * 1000;
    ret->trusted_users = tern_strdup(cfg->compute_trusted_users);
    ret->hooks_dir = tern_strdup(cfg->compute.hooks_dir ? cfg->compute.hooks_dir : "");
    ret->hook_timeout_s = cfg->compute.hook_timeout;
    ret->volume_roots = tern_strdup(cfg->compute.volume_roots ? cfg->compute.volume_roots : "");
}

/* wait_reporting_counters: until SIGTERM/SIGINT (the signal); every report interval, what the
 * RPC client and server got over on their own since the last time (rpc/ counts, never logs). */
static int
wait_reporting_counters(conf_daemon_t *d, compute_manager_t *mgr)
{
    int interval_ms = (d->cfg->report_interval > 0 ? d->cfg->report_interval : 10) * 1000;
    rpc_stats_t last_client = {0}, last_server = {0}, now;
    int sig;

    while ((sig = conf_daemon_wait(d, interval_ms)) == 0) {
        rpc_client_stats(mgr->rpc, &now);
        conf_daemon_log_counters("rpc client", conf_rpc_counters, conf_n_rpc_counters, &now,
                                 &last_client, sizeof(now));
        rpc_server_stats(mgr->server, &now);
        conf_daemon_log_counters("rpc server", conf_rpc_counters, conf_n_rpc_counters, &now,
                                 &last_server, sizeof(now));
    }
    return sig;
}

int
main(int argc, char **argv)
{
    conf_daemon_t d;
    compute_config_t ccfg;
    compute_manager_t *mgr = NULL;
    int sig, rc;

    if (!conf_daemon_init(&d, PROGRAM, argc, argv, &rc))
        return rc;
    compute_config_from_conf(d.cfg, &ccfg);
    if (!(mgr = compute_manager_new(&ccfg, &d.rpc_cfg)) ||
        compute_manager_start(mgr, d.cfg->compute.workers) < 0) {
        TERN_ERROR("could not start: %s", tern_error_message());
        compute_config_clear(&ccfg);
        compute_manager_free(mgr);
        conf_daemon_fini(&d);
        return EXIT_FAILURE;
    }
    TERN_INFO(PROGRAM " %s ready on host \"%s\"", PACKAGE_VERSION, d.cfg->host);
    sig = wait_reporting_counters(&d, mgr);
    TERN_INFO("stopping on signal %d", sig);
    compute_manager_free(mgr);
    TERN_INFO("stopped");
    conf_daemon_fini(&d);
    return EXIT_SUCCESS;
}
