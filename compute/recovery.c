/*
 * compute/recovery.c: after a restart of this compute - the migrations it was the source of and
 * had not finished, and the question a recovering source asks its destination.
 *
 *   compute_live_migration_recover   ask the conductor (migration_recover) for them and queue a
 *                                    recovery of each: recover_run waits until the instance is
 *                                    on one host only, then finishes (switch-over, clean-up) or
 *                                    rolls back from the migrate data stored at hand-off
 *   compute_get_instance_state       RPC: whether a domain exists here, its state
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

#define RECOVER_SETTLE_MS (10 * 60 * 1000)

/* dest_state: the instance's domain on the destination (get_instance_state). */
static int
dest_state(compute_migration_t *job, const char *uuid, bool *ret_exists, bool *ret_running)
{
    json_t *args = tern_json_pack("{s:s}", "uuid", uuid), *res = NULL;
    int rc = compute_call_compute(job->mgr, job->context, job->dest, "get_instance_state", args, 0,
                                  &res);

    json_decref(args);
    if (rc < 0)
        return -1;
    *ret_exists = json_is_true(json_object_get(res, "exists"));
    *ret_running = tern_streq(json_string_value(json_object_get(res, "state")), "running");
    json_decref(res);
    return 0;
}

/* recover_run: find out where the instance ended up, then finish or roll back. While the domain
 * exists on both hosts libvirt is still migrating it: wait for that to settle. */
static void
recover_run(void *opaque)
{
    compute_migration_t *job = opaque;
    virt_instance_t *inst = compute_instance_from_json(job->mgr, job->instance);
    int64_t deadline = tern_now_monotonic_ms() + RECOVER_SETTLE_MS;
    const char *why = "tern-compute restarted during the migration";

    tern_log_set_request_id(json_string_value(json_object_get(job->context, "request_id")));
    while (inst && tern_now_monotonic_ms() < deadline) {
        virt_domain_info_t here = {0};
        bool there = false, there_running = false;
        int rc;

        rc = virt_get_domain_info(job->mgr->virt, inst->uuid, &here);
        if (rc == 0 && (rc = dest_state(job, inst->uuid, &there, &there_running)) == 0) {
            if (here.exists && !there) {
                TERN_WARN("migration %s: %s; instance %s is still here: rolling back", job->uuid,
                          why, inst->uuid);
                compute_source_still_runs(job, inst); /* resumes a guest paused by force-complete */
                compute_rollback_live_migration(job, "failed", why);
                break;
            }
            if (!here.exists && there && there_running) {
                TERN_WARN("migration %s: %s; instance %s runs on %s: finishing", job->uuid, why,
                          inst->uuid, job->dest);
                compute_job_report_status(job, "preparing", NULL);
                compute_job_report_status(job, "running", NULL);
                if (compute_post_live_migration(job, inst) < 0)
                    TERN_ERROR("migration %s: could not finish after a restart: %s", job->uuid,
                               tern_error_message());
                break;
            }
            if (!here.exists && !there) {
                json_t *extra = tern_json_pack("{s:s}", "error_message",
                                               "instance found on neither host after a restart");

                TERN_ERROR("migration %s: instance %s is on neither %s nor %s", job->uuid,
                           inst->uuid, job->mgr->cfg.host, job->dest);
                compute_job_report_status(job, "error", extra);
                json_decref(extra);
                break;
            }
        } else {
            TERN_WARN("migration %s: recovery waits: %s", job->uuid, tern_error_message());
        }
        tern_sleep_ms(1000); /* on both hosts: libvirt is still moving it */
    }
    if (!inst)
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
        TERN_INFO("migration %s was in flight when this compute stopped: recovering", job->uuid);
        if (compute_migration_queue_submit(mgr->queue, job->uuid, &recover_job_ops, job) < 0) {
            TERN_ERROR("migration %s: %s", job->uuid, tern_error_message());
            compute_job_free(job);
        }
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
    *ret_result = tern_json_pack("{s:b, s:s, s:b}", "exists", info.exists, "state",
                                 info.exists ? virt_state_name(info.state) : "none", "persistent",
                                 info.persistent);
    return 0;
}
