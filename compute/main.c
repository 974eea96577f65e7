/*
 * compute/main.c: tern-compute start-up - configuration, logging, signals, the manager.
 *
 * Usage: tern-compute [--config-file FILE]... [--config-dir DIR]
 * Runs in the foreground until SIGTERM or SIGINT, then stops serving, lets migrations in flight
 * finish, and exits. Exit status: 0 after a clean stop, 1 when it could not start.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "compute/compute.h"
#include "conf/conf-rpc.h"
#include "conf/conf.h"

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
}

int
main(int argc, char **argv)
{
    conf_args_t args;
    conf_t *cfg = NULL;
    compute_config_t ccfg;
    rpc_config_t rpc_cfg;
    compute_manager_t *mgr = NULL;
    sigset_t sigs;
    int sig, rc;

    tern_json_init(); /* before any JSON: jansson allocates as tern does */

    rc = conf_parse_args(argc, argv, PROGRAM, &args);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : 2; /* --help/--version done, or a usage error */
    if (!(cfg = conf_load_args(&args)) || conf_log_setup(cfg, PROGRAM) < 0) {
        fprintf(stderr, PROGRAM ": %s\n", tern_error_message());
        conf_args_clear(&args);
        conf_free(cfg);
        return EXIT_FAILURE;
    }
    /* Signals are taken synchronously by this thread; every other thread blocks them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    conf_rpc_config(cfg, &rpc_cfg);
    compute_config_from_conf(cfg, &ccfg);
    if (!(mgr = compute_manager_new(&ccfg, &rpc_cfg)) ||
        compute_manager_start(mgr, cfg->compute.workers) < 0) {
        TERN_ERROR("could not start: %s", tern_error_message());
        compute_config_clear(&ccfg);
        compute_manager_free(mgr);
        conf_free(cfg);
        conf_args_clear(&args);
        return EXIT_FAILURE;
    }
    TERN_INFO(PROGRAM " %s ready on host \"%s\"", PACKAGE_VERSION, cfg->host);
    sigwait(&sigs, &sig);
    TERN_INFO("stopping on signal %d", sig);
    compute_manager_free(mgr);
    conf_free(cfg);
    conf_args_clear(&args);
    TERN_INFO("stopped");
    tern_log_close();
    return EXIT_SUCCESS;
}
