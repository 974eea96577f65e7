/*
 * compute/migration_end.c: how the source's job ends - the reports the conductor must record, the
 * verdict from facts when libvirt's job did not succeed, the switch-over and clean-up, the
 * rollback.
 *
 *   compute_job_report              a report the conductor must record: retried while the
 *                                   conductor, RabbitMQ or PostgreSQL is away, until it answers
 *   compute_job_report_status       migration_update through compute_job_report
 *   read_facts                      what libvirt says here, and on the destination
 *                                   (get_instance_state)
 *   compute_settle_migration        judge from facts (compute/outcome.h) until there is a verdict,
 *                                   then act on it: finish, roll back, or report needs-operator
 *   compute_post_live_migration     the switch-over record first, then the clean-up here, then
 *                                   the after-migration hooks of both hosts (compute/hooks.h)
 *   compute_rollback_live_migration the destination undoes its part; the conductor records the
 *                                   end; then this host's after_migration_failure_source hooks
 *
 * Every handler on the conductor's side is idempotent (db/migrations.h), so a report repeated
 * after a lost answer is harmless. A report the conductor refuses (the migration ended meanwhile)
 * is final and the caller acts on it.
 *
 * Owns nothing across calls.
 */
#include <string.h>

#include "common/error.h"
#include "common/hold.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "compute/compute.h"
#include "compute/hooks.h"
#include "compute/migration_job.h"
#include "compute/outcome.h"

#define REPORT_RETRY_FIRST_MS 500
#define REPORT_RETRY_MAX_MS 5000
#define SETTLE_POLL_MS 1000

/* ---- reports ---- */

/* error_is_transient: whether the failed call may succeed if repeated: the conductor could not
 * be reached or answered in time, or it answered that its database or a peer is away. */
static bool
error_is_transient(void)
{
    tern_error_code_t code = tern_error_code();

    if (!tern_error_is_remote())
        return true;
    return code == TERN_ERR_DB || code == TERN_ERR_UNAVAILABLE || code == TERN_ERR_TIMEOUT ||
           code == TERN_ERR_RPC;
}

int
compute_job_report(compute_migration_t *job, const char *method, json_t *args)
{
    int64_t wait_ms = REPORT_RETRY_FIRST_MS;
    int tries = 0;

    for (;;) {
        if (compute_call_conductor(job->mgr, job->context, method, args, NULL) == 0) {
            if (tries)
                TERN_INFO("migration %s: %s recorded after %d retries", job->uuid, method, tries);
            return 0;
        }
        if (!error_is_transient())
            return -1; /* the conductor refused it: final */
        if (tries++ == 0)
            TERN_WARN("migration %s: %s not recorded yet, retrying until it is: %s", job->uuid,
                      method, tern_error_message());
        if (compute_stop_wait(job->mgr, wait_ms))
            return tern_error_set(TERN_ERR_UNAVAILABLE,
                                  "migration %s: %s not recorded: tern-compute is stopping (its "
                                  "recovery records it after the restart)",
                                  job->uuid, method);
        wait_ms = wait_ms * 2 > REPORT_RETRY_MAX_MS ? REPORT_RETRY_MAX_MS : wait_ms * 2;
    }
}

int
compute_job_report_status(compute_migration_t *job, const char *status, json_t *extra)
{
    json_t *args = tern_json_pack("{s:s, s:s}", "migration", job->uuid, "status", status);
    int rc;

    if (extra)
        json_object_update(args, extra);
    rc = compute_job_report(job, "migration_update", args);
    json_decref(args);
    if (rc < 0)
        TERN_WARN("migration %s: status \"%s\" not recorded: %s", job->uuid, status,
                  tern_error_message());
    return rc;
}

/* ---- facts ---- */

/* facts_here: the domain on this host. */
static void
facts_here(compute_migration_t *job, const char *uuid, compute_host_facts_t *ret)
{
    virt_domain_info_t info = {0};

    memset(ret, 0, sizeof(*ret));
    if (virt_get_domain_info(job->mgr->virt, uuid, &info) < 0) {
        TERN_WARN("migration %s: %s", job->uuid, tern_error_message());
        return;
    }
    ret->known = true;
    ret->exists = info.exists;
    ret->state = info.state;
    ret->pause_reason = info.pause_reason;
    ret->job_active = info.job_active;
    ret->postcopy = info.postcopy;
}

/* state_from_name: get_instance_state's "state" as a virt_state_t. */
static virt_state_t
state_from_name(const char *name)
{
    static const virt_state_t states[] = {VIRT_STATE_RUNNING, VIRT_STATE_PAUSED, VIRT_STATE_SHUTOFF,
                                          VIRT_STATE_CRASHED};

    for (size_t i = 0; i < TERN_N_ELEMENTS(states); i++) {
        if (tern_streq(name, virt_state_name(states[i])))
            return states[i];
    }
    return VIRT_STATE_OTHER;
}

/* facts_there: the domain on the destination, as its compute answers get_instance_state. */
static void
facts_there(compute_migration_t *job, const char *uuid, compute_host_facts_t *ret)
{
    json_t *args = tern_json_pack("{s:s}", "uuid", uuid), *res = NULL;
    const char *state = NULL, *reason = NULL, *postcopy = NULL;
    int exists = 0, persistent = 0, active = 0;
    json_error_t jerr;
    int rc;

    memset(ret, 0, sizeof(*ret));
    rc = compute_call_compute(job->mgr, job->context, job->dest, "get_instance_state", args, 0,
                              &res);
    json_decref(args);
    if (rc < 0) {
        TERN_WARN("migration %s: cannot ask host %s: %s", job->uuid, job->dest,
                  tern_error_message());
        return;
    }
    if (json_unpack_ex(res, &jerr, JSON_STRICT, "{s:b, s:s, s:b, s?s, s:b, s:s}", "exists", &exists,
                       "state", &state, "persistent", &persistent, "pause_reason", &reason,
                       "job_active", &active, "postcopy", &postcopy) < 0 ||
        virt_postcopy_from_name(postcopy) < 0) {
        TERN_WARN("migration %s: invalid answer of host %s to get_instance_state: %s", job->uuid,
                  job->dest, postcopy ? "unknown \"postcopy\"" : jerr.text);
    } else {
        ret->known = true;
        ret->exists = exists;
        ret->state = exists ? state_from_name(state) : VIRT_STATE_NONE;
        ret->pause_reason = reason && tern_streq(reason, "postcopy") ? "postcopy" : NULL;
        ret->job_active = active;
        ret->postcopy = (virt_postcopy_t)virt_postcopy_from_name(postcopy);
    }
    json_decref(res);
}

/* read_facts: both hosts' facts about the instance's domain. */
static void
read_facts(compute_migration_t *job, const char *uuid, compute_host_facts_t *ret_here,
           compute_host_facts_t *ret_there)
{
    facts_here(job, uuid, ret_here);
    facts_there(job, uuid, ret_there);
}

/* ---- the verdict ---- */

/* report_needs_operator: the guest is on both hosts (or its fate cannot be learnt): nothing is
 * touched, the conductor records why and keeps the instance's task. */
static void
report_needs_operator(compute_migration_t *job, const char *why)
{
    json_t *extra = tern_json_pack("{s:s}", "error_message", why);

    TERN_ERROR("migration %s: %s; both hosts are left as they are until an operator decides",
               job->uuid, why);
    compute_job_report_status(job, "needs-operator", extra);
    json_decref(extra);
}

/* report_postcopy_paused: post-copy's stream broke. Neither host's copy is whole, and resuming
 * (VIR_MIGRATE_POSTCOPY_RESUME) crashes libvirt 11.3's destination daemon and loses the guest
 * (compute/outcome.h), so both are left as they are, paused, for an operator. */
static void
report_postcopy_paused(compute_migration_t *job, const char *why)
{
    TERN_AUTOFREE char *text = tern_asprintf(
        "%s; tern does not resume post-copy (VIR_MIGRATE_POSTCOPY_RESUME crashes libvirt 11.3's "
        "destination daemon): both hosts are left as they are until an operator decides",
        why);
    json_t *extra = tern_json_pack("{s:s}", "error_message", text);

    TERN_ERROR("migration %s: %s", job->uuid, text);
    compute_job_report_status(job, "postcopy-paused", extra);
    json_decref(extra);
}

/* report_lost: the guest is on neither host. */
static void
report_lost(compute_migration_t *job, const char *why)
{
    json_t *failed = tern_json_pack("{s:s, s:s, s:s}", "migration", job->uuid, "status", "error",
                                    "error_message", why);

    TERN_ERROR("migration %s: %s", job->uuid, why);
    if (compute_job_report(job, "live_migration_failed", failed) < 0)
        TERN_ERROR("migration %s: could not record that the guest is lost: %s", job->uuid,
                   tern_error_message());
    json_decref(failed);
}

void
compute_settle_migration(compute_migration_t *job, const virt_instance_t *inst, const char *status,
                         const char *reason, int64_t settle_ms)
{
    int64_t deadline = tern_now_monotonic_ms() + settle_ms;
    compute_host_facts_t here, there;
    compute_outcome_t outcome;
    const char *why = "";

    for (;;) {
        read_facts(job, inst->uuid, &here, &there);
        outcome = compute_judge_outcome(&here, &there, job->post_copy, &why);
        if (outcome != COMPUTE_OUTCOME_WAIT)
            break;
        if (tern_now_monotonic_ms() >= deadline) {
            TERN_AUTOFREE char *text =
                tern_asprintf("%s; still so after %lld s", why, (long long)(settle_ms / 1000));

            report_needs_operator(job, text);
            return;
        }
        if (compute_stop_wait(job->mgr, SETTLE_POLL_MS))
            return; /* the unfinished record is recovered after the restart */
    }
    TERN_INFO("migration %s: %s (%s): %s", job->uuid, reason, why, compute_outcome_name(outcome));
    switch (outcome) {
    case COMPUTE_OUTCOME_FINISH:
        if (compute_post_live_migration(job, inst, here.exists) < 0)
            TERN_ERROR("migration %s: could not finish: %s", job->uuid, tern_error_message());
        break;
    case COMPUTE_OUTCOME_ROLLBACK:
        if (compute_outcome_resumes_source(outcome, &here) &&
            virt_resume(job->mgr->virt, inst->uuid) < 0)
            TERN_ERROR("migration %s: could not resume the guest here: %s", job->uuid,
                       tern_error_message());
        compute_rollback_live_migration(job, status, reason);
        break;
    case COMPUTE_OUTCOME_OPERATOR:
        report_needs_operator(job, why);
        break;
    case COMPUTE_OUTCOME_LOST:
        report_lost(job, why);
        break;
    case COMPUTE_OUTCOME_POSTCOPY_BROKEN:
        report_postcopy_paused(job, why);
        break;
    case COMPUTE_OUTCOME_WAIT:
        break;
    }
}

/* ---- the switch-over and the clean-up ---- */

/* final_figures: the job's end as libvirt reported it, for the migration record (new). */
static json_t *
final_figures(const virt_job_stats_t *f)
{
    return tern_json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "memory_total",
                          (json_int_t)f->memory_total, "memory_processed",
                          (json_int_t)f->memory_processed, "memory_remaining",
                          (json_int_t)f->memory_remaining, "disk_total", (json_int_t)f->disk_total,
                          "disk_processed", (json_int_t)f->disk_processed, "disk_remaining",
                          (json_int_t)f->disk_remaining, "iterations",
                          (json_int_t)f->memory_iteration, "job_ms", (json_int_t)f->time_elapsed_ms,
                          "downtime_ms", (json_int_t)f->downtime_ms);
}

/* post_args: the arguments of post_live_migration_at_destination (new). */
static json_t *
post_args(const compute_migration_t *job)
{
    return tern_json_pack("{s:O, s:s, s:o}", "instance", job->instance, "migration", job->uuid,
                          "migrate_data", compute_migrate_data_to_json(&job->data));
}

/* destination_stats: the destination's completed-job statistics, when libvirt gave the source
 * none; an empty object when it cannot answer (the record then keeps the last sample). The
 * destination runs its after_migration_destination hooks meanwhile. */
static json_t *
destination_stats(compute_migration_t *job)
{
    json_t *args = post_args(job);
    json_t *stats = NULL;

    if (compute_call_compute(job->mgr, job->context, job->dest,
                             "post_live_migration_at_destination", args, 0, &stats) < 0) {
        TERN_WARN("migration %s: no statistics from host %s: %s", job->uuid, job->dest,
                  tern_error_message());
        stats = json_object();
    }
    json_decref(args);
    return stats;
}

/* notify_destination: after the switch-over, when destination_stats did not call it,
 * post_live_migration_at_destination, whose answer is not needed any more but during which the
 * destination runs its after_migration_destination hooks. A failure is only logged. */
static void
notify_destination(compute_migration_t *job)
{
    json_t *args = post_args(job);

    if (compute_call_compute(job->mgr, job->context, job->dest,
                             "post_live_migration_at_destination", args, PREPARE_TIMEOUT_MS,
                             NULL) < 0)
        TERN_WARN("migration %s: host %s did not confirm the guest's arrival: %s", job->uuid,
                  job->dest, tern_error_message());
    json_decref(args);
}

int
compute_clean_source(compute_manager_t *mgr, const virt_instance_t *inst, bool shared,
                     bool destroy_stale, char **ret_warning)
{
    char *warning = NULL;

    /* A stale copy (paused or stopped while the destination runs the guest) is destroyed,
     * never resumed. Volumes are files on shared storage: nothing stays attached here once the
     * domain is gone. */
    if (destroy_stale && virt_destroy(mgr->virt, inst, false) < 0)
        warning = tern_strdup(tern_error_message());
    if (!warning && virt_undefine_instance_filter(mgr->virt, inst->uuid) < 0)
        warning = tern_strdup(tern_error_message());
    for (size_t i = 0; !warning && i < inst->n_interfaces; i++) {
        if (virt_remove_bridge_if_unused(mgr->virt, inst->interfaces[i].bridge, NULL) < 0)
            warning = tern_strdup(tern_error_message());
    }
    if (!warning && !shared && virt_delete_instance_files(mgr->virt, inst->uuid) < 0)
        warning = tern_strdup(tern_error_message());
    *ret_warning = warning;
    return warning ? -1 : 0;
}

int
compute_post_live_migration(compute_migration_t *job, const virt_instance_t *inst,
                            bool stale_copy_here)
{
    json_t *done, *stats;
    int64_t t0 = tern_now_monotonic_ms();
    TERN_AUTOFREE char *warning = NULL;
    int rc;

    /* The switch-over record comes first: from here the database says the destination. */
    stats = job->have_final ? json_object() : destination_stats(job);
    done = tern_json_pack("{s:s, s:s, s:s, s:o, s:I, s:I}", "migration", job->uuid, "instance",
                          inst->uuid, "dest", job->dest, "stats", stats, "preparation_ms",
                          (json_int_t)job->preparation_ms, "migration_ms",
                          (json_int_t)job->migration_ms);
    if (job->have_final)
        json_object_set_new(done, "final", final_figures(&job->final));
    tern_hold("switch-over", job->uuid); /* tests/faults: nothing in a production build */
    rc = compute_job_report(job, "live_migration_completed", done);
    json_decref(done);
    if (rc < 0)
        return tern_error_prefix("the switch-over of migration %s was not recorded", job->uuid);
    tern_hold("post-processing", job->uuid);
    if (compute_clean_source(job->mgr, inst, job->data.is_shared_instance_path, stale_copy_here,
                             &warning) < 0)
        TERN_WARN("migration %s: cleaning up the source left something behind: %s", job->uuid,
                  warning);
    {
        json_t *extra =
            tern_json_pack("{s:I, s:s*}", "post_processing_ms",
                           (json_int_t)(tern_now_monotonic_ms() - t0), "warning", warning);

        compute_job_report_status(job, "completed", extra);
        json_decref(extra);
    }
    if (job->have_final)
        notify_destination(job);
    compute_job_hooks_after(job, COMPUTE_HOOK_AFTER_MIGRATION_SOURCE);
    return 0;
}

void
compute_rollback_live_migration(compute_migration_t *job, const char *status, const char *reason)
{
    json_t *args = tern_json_pack("{s:O, s:o}", "instance", job->instance, "migrate_data",
                                  compute_migrate_data_to_json(&job->data));
    json_t *failed;
    TERN_AUTOFREE char *rollback_error = NULL;

    if (compute_call_compute(job->mgr, job->context, job->dest,
                             "rollback_live_migration_at_destination", args, PREPARE_TIMEOUT_MS,
                             NULL) < 0) {
        rollback_error = tern_strdup(tern_error_message());
        TERN_ERROR("migration %s: rollback on host %s failed (its compute removes what is left "
                   "when it is back): %s",
                   job->uuid, job->dest, rollback_error);
    }
    json_decref(args);
    failed = tern_json_pack("{s:s, s:s, s:s, s:s*}", "migration", job->uuid, "status", status,
                            "error_message", reason, "rollback_error", rollback_error);
    if (compute_job_report(job, "live_migration_failed", failed) < 0)
        TERN_ERROR("migration %s: could not record the failure: %s", job->uuid,
                   tern_error_message());
    json_decref(failed);
    compute_job_hooks_after(job, COMPUTE_HOOK_AFTER_MIGRATION_FAILURE_SOURCE);
}
