/*
 * compute/recovery.c: after a restart of this compute - the migrations it was the source of and
 * had not finished, and the question a recovering source asks its destination.
 *
 *   compute_live_migration_recover   ask the conductor (migration_recover) for them and queue a
 *                                    recovery of each: recover_run judges from both hosts'
 *                                    facts (compute_settle_migration) and finishes (switch-over,
 *                                    clean-up), rolls back from the migrate data stored at
 *                                    hand-off, or reports that it needs an operator
 *   compute_remove_leftovers         at start and with every report: what migrations left on this
 *                                    host (the source's copy after a switch-over whose clean-up
 *                                    did not run, a destination's after a rollback it missed),
 *                                    unless the database says the instance is here or it runs
 *   compute_get_instance_state       RPC: whether a domain exists here, its state, why it is
 *                                    paused, whether libvirt runs a job on it
 *
 * Owns nothing across calls: the jobs belong to the migration queue (compute/migration_job.h).
 */
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "compute/compute.h"
#include "compute/json_check.h"
#include "compute/migration_job.h"

/* recover_run: judge where the instance ended up from both hosts' facts, then finish, roll back
 * or leave it to an operator (compute_settle_migration). */
static void
recover_run(void *opaque)
{
    compute_migration_t *job = opaque;
    virt_instance_t *inst = compute_instance_from_json(job->mgr, job->instance);

    tern_log_set_request_id(json_string_value(json_object_get(job->context, "request_id")));
    if (inst)
        compute_settle_migration(job, inst, "failed", "tern-compute restarted during the migration",
                                 COMPUTE_SETTLE_MS);
    else
        TERN_ERROR("migration %s: cannot recover: %s", job->uuid, tern_error_message());
    tern_log_set_request_id(NULL);
    virt_instance_free(inst);
}

static const compute_migration_job_ops_t recover_job_ops = {
    .run = recover_run,
    .cancelled = compute_job_cancelled,
    .free = compute_job_free,
};

int
compute_live_migration_recover(compute_manager_t *mgr)
{
    json_t *args = tern_json_pack("{s:s}", "host", mgr->cfg.host), *res = NULL, *m;
    size_t i;

    if (compute_call_conductor(mgr, NULL, "migration_recover", args, &res) < 0) {
        json_decref(args);
        return -1;
    }
    json_decref(args);
    json_array_foreach(json_object_get(res, "migrations"), i, m)
    {
        compute_migration_t *job;
        compute_migrate_data_t typed;
        const char *uuid = NULL, *status, *dest;
        json_t *instance, *data;
        json_error_t jerr;

        if (json_unpack_ex(m, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:o, s:o}", "migration", &uuid,
                           "status", &status, "dest", &dest, "instance", &instance, "migrate_data",
                           &data) < 0) {
            TERN_ERROR("cannot recover migration %zu of the conductor's answer: %s", i, jerr.text);
            continue;
        }
        if (!tern_uuid_valid(uuid) ||
            compute_migrate_data_from_json(data, "stored migrate data", &typed) < 0) {
            TERN_ERROR("cannot recover migration \"%s\": %s", uuid,
                       tern_uuid_valid(uuid) ? tern_error_message() : "not a uuid");
            continue;
        }
        job = compute_job_new(mgr, uuid, dest, json_incref(instance), &typed,
                              rpc_context_new(NULL, NULL, NULL, NULL));
        job->post_copy =
            tern_streq(status, "postcopy-active") || tern_streq(status, "postcopy-paused");
        TERN_INFO("migration %s was in flight when this compute stopped: recovering", job->uuid);
        if (compute_migration_queue_submit(mgr->queue, job->uuid, &recover_job_ops, job) < 0) {
            TERN_ERROR("migration %s: %s", job->uuid, tern_error_message());
            compute_job_free(job);
        }
    }
    json_decref(res);
    return 0;
}

/* ---- leftovers ---- */

/* leftover_refused: why this host must not remove what a migration left (NULL: it may). */
static const char *
leftover_refused(const virt_domain_info_t *info)
{
    if (info->exists && info->state == VIRT_STATE_RUNNING)
        return "the instance runs here although the database names another host";
    return NULL;
}

/* remove_leftover: one migration's leftovers on this host (entry of migration_leftovers). */
static int
remove_leftover(compute_manager_t *mgr, json_t *entry)
{
    const char *migration, *role, *instance_host = NULL, *refused;
    json_t *instance, *data, *args;
    int deleted = 0, rc;
    compute_migrate_data_t typed;
    virt_domain_info_t info = {0};
    virt_instance_t *inst;
    TERN_AUTOFREE char *warning = NULL;
    json_error_t jerr;

    if (json_unpack_ex(entry, &jerr, JSON_STRICT, "{s:s, s:s, s:o, s:o, s?s, s:b}", "migration",
                       &migration, "role", &role, "instance", &instance, "migrate_data", &data,
                       "instance_host", &instance_host, "deleted", &deleted) < 0)
        return tern_error_set(TERN_ERR_RPC, "invalid leftover in the conductor's answer: %s",
                              jerr.text);
    if (compute_job_in_flight(mgr, migration))
        return 0; /* its own job cleans up as it ends */
    if (compute_migrate_data_from_json(data, "stored migrate data", &typed) < 0)
        return -1;
    if (!(inst = compute_instance_from_json(mgr, instance))) {
        compute_migrate_data_clear(&typed);
        return -1;
    }
    rc = virt_get_domain_info(mgr->virt, inst->uuid, &info);
    if (rc == 0 && instance_host && tern_streq(instance_host, mgr->cfg.host)) {
        /* the instance lives here since (a later migration): nothing here is a leftover */
        TERN_INFO("migration %s: instance %s is on this host now: nothing to remove", migration,
                  inst->uuid);
    } else if (rc == 0 && (refused = leftover_refused(&info))) {
        rc = tern_error_set(TERN_ERR_CONFLICT,
                            "not removing what migration %s left of instance %s here (%s): %s",
                            migration, inst->uuid, role, refused);
    } else if (rc == 0 && compute_clean_source(mgr, inst, typed.is_shared_instance_path,
                                               info.exists, &warning) < 0) {
        rc = tern_error_set(TERN_ERR_VIRT, "could not remove what migration %s left here: %s",
                            migration, warning);
    }
    if (rc == 0) {
        args = tern_json_pack("{s:s, s:s}", "migration", migration, "host", mgr->cfg.host);
        rc = compute_call_conductor(mgr, NULL, "migration_cleaned", args, NULL);
        json_decref(args);
        if (rc == 0)
            TERN_INFO("migration %s: removed what it left of instance %s here (%s)", migration,
                      inst->uuid, role);
    }
    virt_instance_free(inst);
    compute_migrate_data_clear(&typed);
    return rc;
}

int
compute_remove_leftovers(compute_manager_t *mgr)
{
    json_t *args = tern_json_pack("{s:s}", "host", mgr->cfg.host), *res = NULL, *entry;
    size_t i;
    int rc;

    rc = compute_call_conductor(mgr, NULL, "migration_leftovers", args, &res);
    json_decref(args);
    if (rc < 0)
        return -1;
    json_array_foreach(json_object_get(res, "leftovers"), i, entry)
    {
        if (remove_leftover(mgr, entry) < 0)
            TERN_WARN("%s", tern_error_message());
    }
    json_decref(res);
    return 0;
}

int
compute_get_instance_state(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    const char *uuid = NULL;
    virt_domain_info_t info = {0};
    json_error_t jerr;
    int rc;

    static const compute_json_field_t fields[] = {{"uuid", JSON_STRING}};

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s}", "uuid", &uuid) < 0)
        return compute_json_check(req->args, "arguments to get_instance_state",
                                  COMPUTE_JSON_FIELDS(fields), &jerr);
    if (!tern_uuid_valid(uuid))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to get_instance_state: \"uuid\" is not a uuid");
    rc = virt_get_domain_info(mgr->virt, uuid, &info);
    if (rc < 0)
        return -1;
    *ret_result = tern_json_pack("{s:b, s:s, s:b, s:s*, s:b, s:s}", "exists", info.exists, "state",
                                 info.exists ? virt_state_name(info.state) : "none", "persistent",
                                 info.persistent, "pause_reason", info.pause_reason, "job_active",
                                 info.job_active, "postcopy", virt_postcopy_name(info.postcopy));
    return 0;
}
