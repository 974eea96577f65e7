/*
 * compute/destination.c: the destination's part of a live migration.
 *
 *   pre_live_migration                 before_migration_destination hooks (compute/hooks.h:
 *                                      one that fails refuses the migration, before anything
 *                                      is created), instance dir, base image, pre-created disks
 *                                      (block migration), volumes connected, bridges plugged,
 *                                      nwfilter defined: everything the incoming domain needs
 *   post_live_migration_at_destination the domain arrived: persistent and running? its stats;
 *                                      then after_migration_destination hooks (only logged)
 *   rollback_live_migration_at_destination  remove what pre_live_migration created (idempotent)
 *
 * Every step is idempotent, so a redelivered request or a retry after a crash does no harm.
 * Owns nothing across calls.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "compute/compute.h"
#include "compute/hooks.h"
#include "compute/json_check.h"

/* The handlers' arguments and their types (compute/API.md), to name a key of the wrong type.
 * "migration" of pre_live_migration and "migrate_data" of post_live_migration_at_destination are
 * optional (a source from before hooks sends neither; its hooks then see null). */
static const compute_json_field_t migration_args[] = {
    {"instance", JSON_OBJECT}, {"migrate_data", JSON_OBJECT}, {"migration", JSON_STRING}};
static const compute_json_field_t post_args[] = {
    {"instance", JSON_OBJECT}, {"migration", JSON_STRING}, {"migrate_data", JSON_OBJECT}};

/* unpack_args: the common arguments, strictly: the instance (JSON, borrowed, and as virt sees
 * it: new), the migrate data (typed, filled) and, when ret_migration is not NULL, the optional
 * migration uuid (borrowed; NULL when absent; refused when ret_migration is NULL). */
static int
unpack_args(compute_manager_t *mgr, const rpc_request_t *req, const char *method,
            json_t **ret_instance, compute_migrate_data_t *ret_data, virt_instance_t **ret_inst,
            const char **ret_migration)
{
    TERN_AUTOFREE char *what = NULL;
    size_t n_fields = TERN_N_ELEMENTS(migration_args) - (ret_migration ? 0 : 1);
    const char *migration = NULL;
    json_t *data;
    json_error_t jerr;

    what = tern_asprintf("arguments to %s", method);
    if ((ret_migration
             ? json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o, s:o, s?s}", "instance",
                              ret_instance, "migrate_data", &data, "migration", &migration)
             : json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o, s:o}", "instance", ret_instance,
                              "migrate_data", &data)) < 0 ||
        compute_json_check(req->args, what, migration_args, n_fields, NULL) < 0)
        return compute_json_check(req->args, what, migration_args, n_fields, &jerr);
    if (migration && !tern_uuid_valid(migration))
        return tern_error_set(TERN_ERR_INVALID, "invalid %s: \"migration\" is not a uuid", what);
    if (ret_migration)
        *ret_migration = migration;
    free(what);
    what = tern_asprintf("\"migrate_data\" of %s", method);
    if (compute_migrate_data_from_json(data, what, ret_data) < 0)
        return -1;
    if (!(*ret_inst = compute_instance_from_json(mgr, *ret_instance))) {
        compute_migrate_data_clear(ret_data);
        return -1;
    }
    return 0;
}

/* connect_volumes: a file volume is connected when this host can open it read-write. */
static int
connect_volumes(compute_manager_t *mgr, const virt_instance_t *inst)
{
    if (compute_check_volume_paths(mgr, inst) < 0)
        return -1;
    for (size_t i = 0; i < inst->n_disks; i++) {
        const virt_disk_t *d = &inst->disks[i];

        if (!d->is_volume)
            continue;
        if (access(d->path, R_OK | (d->readonly ? 0 : W_OK)) < 0)
            return tern_error_set_errno(errno,
                                        "could not connect volume \"%s\" of instance \"%s\": "
                                        "cannot open \"%s\"",
                                        d->volume_id, inst->uuid, d->path);
    }
    return 0;
}

static int
plug_networks(compute_manager_t *mgr, const virt_instance_t *inst)
{
    for (size_t i = 0; i < inst->n_interfaces; i++) {
        if (virt_ensure_bridge(mgr->virt, inst->interfaces[i].bridge) < 0)
            return -1;
    }
    return 0;
}

static int
define_firewall(compute_manager_t *mgr, const virt_instance_t *inst, const json_t *instance)
{
    virt_secgroup_rule_t *rules = NULL;
    size_t n_rules = 0;
    json_t *jrules = json_object_get(instance, "security_group_rules");
    int rc;

    if (inst->n_interfaces == 0)
        return 0;
    if (jrules && virt_secgroup_rules_from_json(jrules, &rules, &n_rules) < 0)
        return -1;
    rc = virt_define_instance_filter(mgr->virt, inst->uuid, rules, n_rules, NULL);
    free(rules);
    return rc;
}

int
compute_pre_live_migration(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance;
    const char *migration = NULL;
    compute_migrate_data_t data;
    compute_hook_migration_t hm;
    virt_instance_t *inst = NULL;
    bool block;
    int rc = -1;

    if (unpack_args(mgr, req, "pre_live_migration", &instance, &data, &inst, &migration) < 0)
        return -1;
    block = data.block_migration;
    hm = (compute_hook_migration_t){.uuid = migration,
                                    .source_host = data.source_host,
                                    .dest_host = mgr->cfg.host,
                                    .block_migration = block};
    if (compute_hooks_before(mgr, COMPUTE_HOOK_BEFORE_MIGRATION_DESTINATION, instance, &hm) < 0 ||
        compute_ensure_base_image(mgr, instance) < 0)
        goto cleanup;

    if (virt_create_instance_dir(mgr->virt, inst->uuid) < 0 ||
        (block && virt_pre_create_disks(mgr->virt, inst) < 0) || connect_volumes(mgr, inst) < 0 ||
        plug_networks(mgr, inst) < 0 || define_firewall(mgr, inst, instance) < 0) {
        /* each step names its object; the caller names this host */
        goto cleanup;
    }
    TERN_INFO("prepared host for incoming instance %s (block migration: %s)", inst->uuid,
              block ? "yes" : "no");
    *ret_result = tern_json_pack("{s:o}", "migrate_data", compute_migrate_data_to_json(&data));
    rc = 0;

cleanup:
    virt_instance_free(inst);
    compute_migrate_data_clear(&data);
    return rc;
}

/* unpack_post_args: post_live_migration_at_destination's arguments, strictly: the instance
 * and the migration uuid (borrowed) and the optional migrate data (typed; zeroed when absent). */
static int
unpack_post_args(const rpc_request_t *req, json_t **ret_instance, const char **ret_migration,
                 compute_migrate_data_t *ret_data)
{
    static const char what[] = "arguments to post_live_migration_at_destination";
    json_t *data = NULL;
    json_error_t jerr;

    memset(ret_data, 0, sizeof(*ret_data));
    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o, s:s, s?o}", "instance", ret_instance,
                       "migration", ret_migration, "migrate_data", &data) < 0 ||
        compute_json_check(req->args, what, COMPUTE_JSON_FIELDS(post_args), NULL) < 0)
        return compute_json_check(req->args, what, COMPUTE_JSON_FIELDS(post_args), &jerr);
    if (!tern_uuid_valid(*ret_migration))
        return tern_error_set(TERN_ERR_INVALID, "invalid %s: \"migration\" is not a uuid", what);
    if (data && compute_migrate_data_from_json(
                    data, "\"migrate_data\" of post_live_migration_at_destination", ret_data) < 0)
        return -1;
    return 0;
}

/* arrival_hooks: the after_migration_destination hooks, once the domain runs here. */
static void
arrival_hooks(compute_manager_t *mgr, const json_t *instance, const char *migration,
              const compute_migrate_data_t *data)
{
    compute_hook_migration_t hm = {.uuid = migration,
                                   .source_host = data->source_host,
                                   .dest_host = mgr->cfg.host,
                                   .block_migration = data->block_migration};

    compute_hooks_after(mgr, COMPUTE_HOOK_AFTER_MIGRATION_DESTINATION, instance, &hm);
}

int
compute_post_live_migration_at_destination(void *opaque, const rpc_request_t *req,
                                           json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance = NULL;
    const char *migration = NULL;
    compute_migrate_data_t data;
    virt_instance_t *inst;
    virt_domain_info_t info = {0};
    virt_job_stats_t stats = {0};
    char uuid[VIRT_UUID_LEN + 1];
    int rc;

    if (unpack_post_args(req, &instance, &migration, &data) < 0)
        return -1;
    if (!(inst = compute_instance_from_json(mgr, instance))) {
        compute_migrate_data_clear(&data);
        return -1;
    }
    memcpy(uuid, inst->uuid, sizeof(uuid));
    virt_instance_free(inst);
    rc = virt_get_domain_info(mgr->virt, uuid, &info);
    if (rc == 0 && (!info.exists || info.state != VIRT_STATE_RUNNING || !info.persistent))
        rc = tern_error_set(TERN_ERR_VIRT,
                            "instance \"%s\" did not arrive on host \"%s\": domain %s, %s", uuid,
                            mgr->cfg.host, info.exists ? virt_state_name(info.state) : "missing",
                            info.persistent ? "persistent" : "not persistent");
    if (rc == 0 && virt_get_completed_migration_stats(mgr->virt, uuid, &stats) < 0) {
        /* The domain runs here: missing statistics are not worth failing the migration. */
        TERN_WARN("no completed job statistics for instance %s: %s", uuid, tern_error_message());
        memset(&stats, 0, sizeof(stats));
    }
    if (rc == 0)
        arrival_hooks(mgr, instance, migration, &data);
    compute_migrate_data_clear(&data);
    if (rc < 0)
        return -1;
    *ret_result = tern_json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I}", "downtime_ms", (json_int_t)stats.downtime_ms,
        "total_time_ms", (json_int_t)stats.time_elapsed_ms, "memory_total",
        (json_int_t)stats.memory_total, "memory_processed", (json_int_t)stats.memory_processed,
        "disk_processed", (json_int_t)stats.disk_processed, "memory_iterations",
        (json_int_t)stats.memory_iteration);
    return 0;
}

int
compute_rollback_live_migration_at_destination(void *opaque, const rpc_request_t *req,
                                               json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance;
    compute_migrate_data_t data;
    virt_instance_t *inst = NULL;
    virt_domain_info_t info = {0};
    bool shared;
    int rc = -1;

    if (unpack_args(mgr, req, "rollback_live_migration_at_destination", &instance, &data, &inst,
                    NULL) < 0)
        return -1;
    shared = data.is_shared_instance_path; /* strictly there: a shared disk is never deleted */

    if (virt_get_domain_info(mgr->virt, inst->uuid, &info) < 0)
        goto unlock;
    if (info.exists && info.state == VIRT_STATE_RUNNING) {
        /* The source decides to roll back only after seeing its own domain still running; a
         * running domain here as well would be a split brain: keep it and refuse. */
        tern_error_set(TERN_ERR_CONFLICT,
                       "refusing to roll back instance \"%s\" on host \"%s\": it is running here",
                       inst->uuid, mgr->cfg.host);
        goto unlock;
    }
    if (info.exists && virt_destroy(mgr->virt, inst, false) < 0)
        goto unlock;
    if (virt_undefine_instance_filter(mgr->virt, inst->uuid) < 0)
        goto unlock;
    for (size_t i = 0; i < inst->n_interfaces; i++) {
        if (virt_remove_bridge_if_unused(mgr->virt, inst->interfaces[i].bridge, NULL) < 0)
            goto unlock;
    }
    if (!shared && virt_delete_instance_files(mgr->virt, inst->uuid) < 0)
        goto unlock;
    rc = 0;

unlock:
    if (rc == 0) {
        TERN_INFO("rolled back host for instance %s", inst->uuid);
        *ret_result = json_object();
    }
    virt_instance_free(inst);
    compute_migrate_data_clear(&data);
    return rc;
}
