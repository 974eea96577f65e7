/*
 * compute/manager.c: the compute manager - RPC endpoints, conductor calls, heartbeat.
 *
 * Owns the compute_manager_t (see compute/compute.h): its virt driver, RPC client and server,
 * migration queue and the heartbeat thread. The heartbeat thread reports this host's service and
 * resources to the conductor every report_interval seconds (the conductor stores them; this host
 * holds no database credentials).
 */
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/identity.h"
#include "common/log.h"
#include "common/util.h"
#include "compute/compute.h"
#include "compute/hooks.h"
#include "compute/json_check.h"

#define COMPUTE_BINARY "tern-compute"

/* ---- calls to the conductor and other computes ---- */

static int
call_target(compute_manager_t *mgr, const rpc_target_t *target, json_t *context, const char *method,
            json_t *args, int timeout_ms, json_t **ret_result)
{
    json_t *ctx = context ? json_incref(context) : rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *result = NULL;
    int rc;

    rc = rpc_call(mgr->rpc, target, ctx, method, args, timeout_ms, &result);
    json_decref(ctx);
    if (rc < 0)
        return -1;
    if (ret_result)
        *ret_result = result;
    else
        json_decref(result);
    return 0;
}

int
compute_call_conductor(compute_manager_t *mgr, json_t *context, const char *method, json_t *args,
                       json_t **ret_result)
{
    rpc_target_t target = {.topic = "conductor", .version = CONDUCTOR_RPC_VERSION};

    return call_target(mgr, &target, context, method, args, mgr->cfg.rpc_timeout_ms, ret_result);
}

int
compute_cast_conductor(compute_manager_t *mgr, json_t *context, const char *method, json_t *args)
{
    rpc_target_t target = {.topic = "conductor", .version = CONDUCTOR_RPC_VERSION};
    json_t *ctx = context ? json_incref(context) : rpc_context_new(NULL, NULL, NULL, NULL);
    int rc = rpc_cast(mgr->rpc, &target, ctx, method, args);

    json_decref(ctx);
    return rc;
}

int
compute_call_compute(compute_manager_t *mgr, json_t *context, const char *host, const char *method,
                     json_t *args, int timeout_ms, json_t **ret_result)
{
    rpc_target_t target = {.topic = "compute", .server = host, .version = COMPUTE_RPC_VERSION};

    if (call_target(mgr, &target, context, method, args,
                    timeout_ms > 0 ? timeout_ms : mgr->cfg.rpc_timeout_ms, ret_result) < 0)
        /* rpc/'s own errors name "compute.<host>"; the peer's answers need its name */
        return tern_error_is_remote() ? tern_error_prefix("host \"%s\"", host) : -1;
    return 0;
}

/* ---- spawn and destroy (server-create / server-delete) ---- */

/* instance_arg: the arguments {"instance": INSTANCE} of method, strictly (borrowed). */
static int
instance_arg(const rpc_request_t *req, const char *method, json_t **ret_instance)
{
    json_error_t jerr;

    static const compute_json_field_t fields[] = {{"instance", JSON_OBJECT}};
    TERN_AUTOFREE char *what = tern_asprintf("arguments to %s", method);

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o}", "instance", ret_instance) < 0 ||
        compute_json_check(req->args, what, COMPUTE_JSON_FIELDS(fields), NULL) < 0)
        return compute_json_check(req->args, what, COMPUTE_JSON_FIELDS(fields), &jerr);
    return 0;
}

int
compute_spawn(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance = NULL;
    virt_instance_t *inst;
    int rc = -1;

    if (instance_arg(req, "spawn", &instance) < 0)
        return -1;
    /* Checked before anything happens here, then built again once the image is cached: the
     * instance's kernel command line comes from the cached image. */
    if (!(inst = compute_instance_from_json(mgr, instance)))
        return -1;
    rc = compute_check_volume_paths(mgr, inst); /* before anything is made here */
    virt_instance_free(inst);
    if (rc < 0 || compute_ensure_base_image(mgr, instance) < 0 ||
        !(inst = compute_instance_from_json(mgr, instance)))
        return -1;
    {
        json_t *rules = json_object_get(instance, "security_group_rules");
        virt_secgroup_rule_t *vrules = NULL;
        size_t n = 0;

        size_t made = 0;

        rc = 0;
        for (; rc == 0 && made < inst->n_interfaces; made++)
            rc = virt_ensure_bridge(mgr->virt, inst->interfaces[made].bridge);
        if (rc < 0) { /* a bridge refused: those made before it are unused, and go */
            tern_error_t refusal;

            tern_error_copy(&refusal);
            for (size_t i = 0; i + 1 < made; i++)
                virt_remove_bridge_if_unused(mgr->virt, inst->interfaces[i].bridge, NULL);
            tern_error_restore(&refusal);
        }
        if (rc == 0 && inst->n_interfaces > 0 && rules)
            rc = virt_secgroup_rules_from_json(rules, &vrules, &n);
        if (rc == 0 && inst->n_interfaces > 0)
            rc = virt_define_instance_filter(mgr->virt, inst->uuid, vrules, n, NULL);
        free(vrules);
        if (rc == 0)
            rc = virt_spawn(mgr->virt, inst);
    }
    if (rc == 0) {
        TERN_INFO("spawned instance %s", inst->uuid);
        *ret_result = json_object();
    }
    virt_instance_free(inst);
    return rc;
}

int
compute_destroy(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance = NULL;
    virt_instance_t *inst;
    int rc;

    if (instance_arg(req, "destroy", &instance) < 0)
        return -1;
    if (!(inst = compute_instance_from_json(mgr, instance)))
        return -1;
    rc = virt_destroy(mgr->virt, inst, true);
    if (rc == 0)
        rc = virt_undefine_instance_filter(mgr->virt, inst->uuid);
    for (size_t i = 0; rc == 0 && i < inst->n_interfaces; i++)
        rc = virt_remove_bridge_if_unused(mgr->virt, inst->interfaces[i].bridge, NULL);
    if (rc == 0) {
        TERN_INFO("destroyed instance %s", inst->uuid);
        *ret_result = json_object();
    }
    virt_instance_free(inst);
    return rc;
}

/* ---- heartbeat and resource report ---- */

/* compute_report_resources: one service heartbeat with this host's resources. */
static int
compute_report_resources(compute_manager_t *mgr)
{
    virt_host_info_t info = {0};
    json_t *args;
    int rc;

    rc = virt_get_host_info(mgr->virt, &info);
    if (rc < 0)
        return -1;
    args = tern_json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s, s:I, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:i}}", "host",
        mgr->cfg.host, "binary", COMPUTE_BINARY, "topic", "compute", "version", PACKAGE_VERSION,
        "node", "hypervisor_type", info.hypervisor_type, "hypervisor_version",
        (json_int_t)info.hypervisor_version, "hypervisor_hostname",
        info.hostname ? info.hostname : mgr->cfg.host, "cpu_info",
        info.cpu_model_xml ? info.cpu_model_xml : "", "vcpus", (int)info.vcpus, "memory_mb",
        (json_int_t)(info.memory_total_bytes >> 20), "free_ram_mb",
        (json_int_t)(info.memory_free_bytes >> 20), "local_gb",
        (json_int_t)(info.disk_total_bytes >> 30), "free_disk_gb",
        (json_int_t)(info.disk_free_bytes >> 30), "running_vms", info.running_domains);
    virt_host_info_clear(&info);
    /* The drains' per-host limit, both ways (conductor/drain.c). */
    json_object_set_new(args, "max_concurrent_live_migrations",
                        json_integer(mgr->cfg.max_concurrent_live_migrations));
    rc = compute_call_conductor(mgr, NULL, "service_report", args, NULL);
    json_decref(args);
    return rc;
}

bool
compute_stop_wait(compute_manager_t *mgr, int64_t ms)
{
    struct timespec ts;
    bool stopping;

    tern_timespec_after(CLOCK_REALTIME, ms, &ts);
    pthread_mutex_lock(&mgr->stop_lock);
    if (!mgr->stopping)
        pthread_cond_timedwait(&mgr->stop_cond, &mgr->stop_lock, &ts);
    stopping = mgr->stopping;
    pthread_mutex_unlock(&mgr->stop_lock);
    return stopping;
}

static void *
reporter_thread(void *arg)
{
    compute_manager_t *mgr = arg;

    do {
        if (compute_report_resources(mgr) < 0)
            TERN_WARN("could not report to the conductor: %s", tern_error_message());
        else if (compute_remove_leftovers(mgr) < 0)
            TERN_WARN("could not ask for the leftovers of migrations: %s", tern_error_message());
    } while (!compute_stop_wait(mgr, (int64_t)mgr->cfg.report_interval_s * 1000));
    return NULL;
}

/* ---- life cycle ---- */

static const rpc_method_t compute_handlers[] = {
    {"check_can_live_migrate_destination", compute_check_can_live_migrate_destination},
    {"check_can_live_migrate_source", compute_check_can_live_migrate_source},
    {"cleanup_live_migration_destination_check", compute_cleanup_live_migration_destination_check},
    {"pre_live_migration", compute_pre_live_migration},
    {"live_migration", compute_live_migration},
    {"post_live_migration_at_destination", compute_post_live_migration_at_destination},
    {"rollback_live_migration_at_destination", compute_rollback_live_migration_at_destination},
    {"live_migration_abort", compute_live_migration_abort},
    {"live_migration_force_complete", compute_live_migration_force_complete},
    {"spawn", compute_spawn},
    {"destroy", compute_destroy},
    {"get_instance_state", compute_get_instance_state},
    {"get_guest_cpu", compute_get_guest_cpu},
};

/* compute_user_trusted: is user one of the conductor's identities ([DEFAULT]
 * compute_trusted_users)? */
static bool
compute_user_trusted(const compute_manager_t *mgr, const char *user)
{
    const char *p = mgr->cfg.trusted_users;
    size_t len = user ? strlen(user) : 0;

    while (len > 0 && p && *p) {
        size_t n = strcspn(p, ",");

        if (n == len && strncmp(p, user, len) == 0)
            return true;
        p += n;
        p += *p == ',';
    }
    return false;
}

/* What a peer compute may call here: the source's calls to its destination (only for a
 * migration whose migrate data names the peer as source and this host as destination), and the
 * read-only state of a domain. Everything else only the conductor may call. */
static const struct {
    const char *method;
    bool as_source;
} peer_methods[] = {
    {"pre_live_migration", true},
    {"post_live_migration_at_destination", true},
    {"rollback_live_migration_at_destination", true},
    {"get_instance_state", false},
};

/* peer_allowed: 0 when the compute of host peer may call req's method here; -1 with a
 * PERMISSION error naming why not. */
static int
peer_allowed(const compute_manager_t *mgr, const rpc_request_t *req, const char *peer)
{
    json_t *data = json_object_get(req->args, "migrate_data");
    const char *source = json_string_value(json_object_get(data, "source_host"));
    const char *dest = json_string_value(json_object_get(data, "host"));

    for (size_t i = 0; i < TERN_N_ELEMENTS(peer_methods); i++) {
        if (!tern_streq(peer_methods[i].method, req->method))
            continue;
        if (!peer_methods[i].as_source ||
            (tern_streq(source, peer) && tern_streq(dest, mgr->cfg.host)))
            return 0;
        return tern_error_set(TERN_ERR_PERMISSION,
                              "host \"%s\" may not call \"%s\" on host \"%s\": the migration "
                              "data names source \"%.255s\" and destination \"%.255s\"",
                              peer, req->method, mgr->cfg.host, source ? source : "",
                              dest ? dest : "");
    }
    return tern_error_set(TERN_ERR_PERMISSION,
                          "host \"%s\" may not call \"%s\" on host \"%s\": only the "
                          "conductor may",
                          peer, req->method, mgr->cfg.host);
}

/* compute_caller_allowed: the conductor may call every method, a peer compute only its own (see
 * peer_methods), nobody else anything. A refusal is logged as an audit line. */
static int
compute_caller_allowed(const compute_manager_t *mgr, const rpc_request_t *req)
{
    const char *peer = tern_identity_compute_host(req->amqp_user_id);

    if (compute_user_trusted(mgr, req->amqp_user_id))
        return 0;
    if (peer && !tern_streq(peer, mgr->cfg.host) && peer_allowed(mgr, req, peer) == 0)
        return 0;
    if (!peer || tern_streq(peer, mgr->cfg.host))
        tern_error_set(TERN_ERR_PERMISSION,
                       "user \"%s\" may not call \"%s\" on host \"%s\": neither the conductor "
                       "nor another host's compute",
                       req->amqp_user_id, req->method, mgr->cfg.host);
    TERN_WARN("audit: refused: %s", tern_error_message());
    return -1;
}

/* compute_dispatch: every method goes through here: only the conductor and, for their calls, the
 * peer computes are served. */
static int
compute_dispatch(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;

    if (compute_caller_allowed(mgr, req) < 0)
        return -1;
    for (size_t i = 0; i < TERN_N_ELEMENTS(compute_handlers); i++) {
        if (strcmp(compute_handlers[i].name, req->method) == 0)
            return compute_handlers[i].handler(opaque, req, ret_result);
    }
    return tern_error_set(TERN_ERR_INVALID, "unknown compute method \"%s\"", req->method);
}

compute_manager_t *
compute_manager_new(compute_config_t *cfg, const rpc_config_t *rpc_cfg)
{
    compute_manager_t *mgr = tern_calloc(1, sizeof(*mgr));
    virt_options_t vopts = {
        .uri = cfg->libvirt_uri,
        .virt_type = cfg->virt_type,
        .instances_path = cfg->instances_path,
        .cpu_mode = cfg->cpu_mode,
        .cpu_models = (const char *const *)cfg->cpu_models,
        .allowed_bridges = (const char *const *)cfg->allowed_bridges,
        .cpu_extra_flags = (const char *const *)cfg->cpu_extra_flags,
        .preserve_on_crash = true,
    };

    mgr->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    mgr->rpc_cfg = *rpc_cfg;
    pthread_mutex_init(&mgr->migrations_lock, NULL);
    pthread_mutex_init(&mgr->stop_lock, NULL);
    pthread_cond_init(&mgr->stop_cond, NULL);
    mgr->queue = compute_migration_queue_new(mgr->cfg.max_concurrent_live_migrations);
    if (compute_hooks_check_dir(mgr->cfg.hooks_dir) < 0 ||
        !(mgr->virt = virt_driver_open("libvirt", &vopts)) ||
        !(mgr->rpc = rpc_client_new(rpc_cfg))) {
        compute_manager_free(mgr);
        return NULL;
    }
    return mgr;
}

int
compute_manager_start(compute_manager_t *mgr, int n_workers)
{
    mgr->endpoint = (rpc_endpoint_t){
        .version = COMPUTE_RPC_VERSION,
        .dispatch = compute_dispatch,
        .opaque = mgr,
    };
    if (compute_report_resources(mgr) < 0)
        return tern_error_prefix("could not register host \"%s\" with the conductor",
                                 mgr->cfg.host);
    mgr->server =
        rpc_server_new(&mgr->rpc_cfg, "compute", mgr->cfg.host, &mgr->endpoint, 1, n_workers);
    if (!mgr->server || rpc_server_start(mgr->server) < 0)
        return -1;
    if (pthread_create(&mgr->reporter, NULL, reporter_thread, mgr) != 0)
        return tern_error_set(TERN_ERR_SYSTEM, "could not start the heartbeat thread");
    mgr->reporter_started = true;
    if (compute_live_migration_recover(mgr) < 0)
        TERN_WARN("could not look for migrations to recover: %s", tern_error_message());
    TERN_INFO("compute \"%s\" serving topic compute.%s", mgr->cfg.host, mgr->cfg.host);
    return 0;
}

void
compute_manager_free(compute_manager_t *mgr)
{
    if (!mgr)
        return;
    pthread_mutex_lock(&mgr->stop_lock);
    mgr->stopping = true;
    pthread_cond_broadcast(&mgr->stop_cond);
    pthread_mutex_unlock(&mgr->stop_lock);
    if (mgr->reporter_started)
        pthread_join(mgr->reporter, NULL);
    if (mgr->server)
        rpc_server_stop(mgr->server);
    if (mgr->queue)
        compute_live_migration_shutdown(mgr);
    rpc_server_free(mgr->server);
    rpc_client_free(mgr->rpc);
    virt_driver_close(mgr->virt);
    compute_config_clear(&mgr->cfg);
    pthread_cond_destroy(&mgr->stop_cond);
    pthread_mutex_destroy(&mgr->stop_lock);
    pthread_mutex_destroy(&mgr->migrations_lock);
    free(mgr);
}
