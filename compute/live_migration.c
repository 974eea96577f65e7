/*
 * compute/live_migration.c: the source compute's live-migration job.
 *
 *   compute_live_migration            RPC cast from the conductor: queue the job
 *   migration_run                     on its own thread, when the queue lets it start:
 *     "preparing" reported              the hand-off taken (refused: dropped, nothing changed)
 *     compute_job_hooks_before          before_migration_source hooks (compute/hooks.h): one
 *                                       that fails vetoes the migration (rolled back)
 *     compute_prepare_destination       call pre_live_migration on the destination (whose
 *                                       before_migration_destination hooks may veto it)
 *     "running" reported                before libvirt starts (refused: rolled back)
 *     virt_migrate                      LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE, block
 *                                       migration flags, bandwidth, ...
 *     compute_monitor_migration         job stats every 0.5 s: progress to the conductor (at most
 *                                       once a second), downtime steps, stalls, timeout action
 *     job_end                           what libvirt's job came to (its final statistics)
 *     compute_finish_migration          by that (compute/migration_end.c):
 *       compute_post_live_migration       libvirt succeeded: the switch-over record, the clean-up
 *       compute_settle_migration          anything else: judged from both hosts' facts
 *   abort / force-complete              RPC casts that find the running job
 *
 * How the job ends lives in compute/migration_end.c, recovery after a restart in
 * compute/recovery.c, the job's struct in compute/migration_job.h.
 *
 * Owns: each job (compute_migration_t) from the cast until its thread ends; the job sits in
 * mgr->migrations (guarded by mgr->migrations_lock) so that abort and force-complete find it.
 * The job's virt_migration_t is set under that lock while libvirt runs the migration.
 */
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/hold.h"
#include "common/log.h"
#include "common/util.h"
#include "compute/compute.h"
#include "compute/hooks.h"
#include "compute/migration_job.h"
#include "compute/json_check.h"
#include "compute/virt/converge.h"

#define MONITOR_INTERVAL_MS 500
#define PROGRESS_INTERVAL_MS 1000

/* ---- reporting to the conductor ---- */

static void
report_progress(compute_migration_t *job, const virt_job_stats_t *s)
{
    json_t *extra = tern_json_pack(
        "{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "progress", "memory_total",
        (json_int_t)s->memory_total, "memory_processed", (json_int_t)s->memory_processed,
        "memory_remaining", (json_int_t)s->memory_remaining, "disk_total",
        (json_int_t)s->disk_total, "disk_processed", (json_int_t)s->disk_processed,
        "disk_remaining", (json_int_t)s->disk_remaining, "dirty_rate",
        (json_int_t)s->memory_dirty_rate, "elapsed_ms", (json_int_t)s->time_elapsed_ms);

    json_object_set_new(extra, "migration", json_string(job->uuid));
    json_object_set_new(extra, "status", json_string("running"));
    /* Progress is a cast: a lost or late sample is harmless, the next one replaces it. */
    if (compute_cast_conductor(job->mgr, job->context, "migration_update", extra) < 0)
        TERN_WARN("could not report progress of migration %s: %s", job->uuid, tern_error_message());
    json_decref(extra);
}

/* ---- job bookkeeping ---- */

void
compute_job_free(void *opaque)
{
    compute_migration_t *job = opaque;
    compute_manager_t *mgr = job->mgr;

    pthread_mutex_lock(&mgr->migrations_lock);
    for (compute_migration_t **pp = &mgr->migrations; *pp; pp = &(*pp)->next) {
        if (*pp == job) {
            *pp = job->next;
            break;
        }
    }
    pthread_mutex_unlock(&mgr->migrations_lock);
    free(job->dest);
    json_decref(job->instance);
    compute_migrate_data_clear(&job->data);
    json_decref(job->context);
    free(job);
}

compute_migration_t *
compute_job_new(compute_manager_t *mgr, const char *uuid, const char *dest, json_t *instance,
                compute_migrate_data_t *data, json_t *context)
{
    compute_migration_t *job = tern_calloc(1, sizeof(*job));

    job->mgr = mgr;
    tern_strlcpy(job->uuid, uuid, sizeof(job->uuid));
    job->dest = tern_strdup(dest);
    job->instance = instance;
    job->data = *data;
    memset(data, 0, sizeof(*data));
    job->context = context;

    pthread_mutex_lock(&mgr->migrations_lock);
    job->next = mgr->migrations;
    mgr->migrations = job;
    pthread_mutex_unlock(&mgr->migrations_lock);
    return job;
}

/* job_hook_migration: the job as its hooks see it. */
static compute_hook_migration_t
job_hook_migration(const compute_migration_t *job)
{
    return (compute_hook_migration_t){.uuid = job->uuid,
                                      .source_host = job->mgr->cfg.host,
                                      .dest_host = job->dest,
                                      .block_migration = job->data.block_migration};
}

int
compute_job_hooks_before(compute_migration_t *job, const char *event)
{
    compute_hook_migration_t hm = job_hook_migration(job);

    return compute_hooks_before(job->mgr, event, job->instance, &hm);
}

void
compute_job_hooks_after(compute_migration_t *job, const char *event)
{
    compute_hook_migration_t hm = job_hook_migration(job);

    compute_hooks_after(job->mgr, event, job->instance, &hm);
}

static bool
job_abort_requested(compute_migration_t *job)
{
    bool abort;

    pthread_mutex_lock(&job->mgr->migrations_lock);
    abort = job->abort_requested;
    pthread_mutex_unlock(&job->mgr->migrations_lock);
    return abort;
}

/* job_set_vmig: make libvirt's migration reachable by abort and force-complete (NULL: no
 * longer). An abort that arrived while libvirt was starting it (no vmig yet: only recorded) is
 * carried out now. */
static void
job_set_vmig(compute_migration_t *job, virt_migration_t *vmig)
{
    bool abort_now;

    pthread_mutex_lock(&job->mgr->migrations_lock);
    job->vmig = vmig;
    abort_now = vmig && job->abort_requested;
    if (abort_now && virt_migration_abort(vmig) < 0)
        TERN_WARN("migration %s: could not abort: %s", job->uuid, tern_error_message());
    pthread_mutex_unlock(&job->mgr->migrations_lock);
    if (abort_now)
        TERN_INFO("migration %s: aborted as requested while it started", job->uuid);
}

/* ---- the steps ---- */

/* migration_args: {"instance": INSTANCE, "migrate_data": ..., "migration": UUID} for the
 * destination's preparation (new). */
static json_t *
migration_args(const compute_migration_t *job)
{
    return tern_json_pack("{s:O, s:o, s:s}", "instance", job->instance, "migrate_data",
                          compute_migrate_data_to_json(&job->data), "migration", job->uuid);
}

/* changed_decision: the field of the conductor's decisions (where to, how) that the
 * destination's answer changed, or NULL. Those stay the conductor's: the URI the guest goes to
 * is the one of the conductor's record, whatever a peer answers. */
static const char *
changed_decision(const compute_migrate_data_t *asked, const compute_migrate_data_t *answer)
{
    if (!tern_streq(asked->dest.host, answer->dest.host))
        return "host";
    if (!tern_streq(asked->dest.libvirt_uri, answer->dest.libvirt_uri))
        return "libvirt_uri";
    if (!tern_streq(asked->dest.migration_address, answer->dest.migration_address))
        return "migration_address";
    if (!tern_streq(asked->source_host, answer->source_host))
        return "source_host";
    if (asked->block_migration != answer->block_migration)
        return "block_migration";
    if (asked->is_shared_instance_path != answer->is_shared_instance_path)
        return "is_shared_instance_path";
    if (asked->never_pause != answer->never_pause)
        return "never_pause";
    return NULL;
}

static int
compute_prepare_destination(compute_migration_t *job)
{
    json_t *args = migration_args(job), *result = NULL, *data = NULL;
    compute_migrate_data_t prepared;
    int64_t t0 = tern_now_monotonic_ms();
    json_error_t jerr;
    int rc;

    rc = compute_call_compute(job->mgr, job->context, job->dest, "pre_live_migration", args,
                              PREPARE_TIMEOUT_MS, &result);
    json_decref(args);
    job->preparation_ms = tern_now_monotonic_ms() - t0;
    if (rc < 0)
        return -1;
    /* what the destination prepared replaces the checks' migrate data, once validated */
    if (json_unpack_ex(result, &jerr, JSON_STRICT, "{s:o}", "migrate_data", &data) < 0)
        rc = tern_error_set(TERN_ERR_RPC, "invalid answer of host \"%s\" to pre_live_migration: %s",
                            job->dest, jerr.text);
    else if ((rc = compute_migrate_data_from_json(data, "answer to pre_live_migration",
                                                  &prepared)) == 0) {
        const char *changed = changed_decision(&job->data, &prepared);

        if (changed) {
            rc = tern_error_set(TERN_ERR_RPC,
                                "invalid answer of host \"%s\" to pre_live_migration: it "
                                "changed \"%s\" of the conductor's migrate data",
                                job->dest, changed);
            compute_migrate_data_clear(&prepared);
        } else {
            compute_migrate_data_clear(&job->data);
            job->data = prepared;
        }
    }
    json_decref(result);
    return rc;
}

/* migrate_params: the libvirt migration as configuration and the checks decided it. */
static void
migrate_params(compute_migration_t *job, const virt_instance_t *inst, virt_migrate_params_t *p)
{
    const compute_config_t *cfg = &job->mgr->cfg;

    memset(p, 0, sizeof(*p));
    p->dest_uri = job->data.dest.libvirt_uri;
    p->dest_host = job->dest;
    p->migration_addr = job->data.dest.migration_address;
    p->block_migration = job->data.block_migration;
    /* Overlays on a base image the destination has cached: copy only the top layer. */
    p->incremental = false;
    for (size_t i = 0; p->block_migration && i < inst->n_disks; i++) {
        if (inst->disks[i].backing_file && !inst->disks[i].shared && !inst->disks[i].is_volume)
            p->incremental = true;
    }
    p->bandwidth_mibps = cfg->bandwidth_mibps;
    p->auto_converge = cfg->permit_auto_converge;
    /* Post-copy with a block migration cannot be resumed after a broken link (not proven):
     * never for those, which force-complete then pauses instead. */
    p->post_copy = cfg->permit_post_copy && !p->block_migration;
    p->tls = cfg->native_tls;
    p->parallel_connections = cfg->parallel_connections > 1 ? cfg->parallel_connections : 0;
}

static double
migration_data_gb(const virt_instance_t *inst, bool block)
{
    uint64_t sizes[VIRT_DISKS_MAX];
    size_t n = 0;

    for (size_t i = 0; block && i < inst->n_disks; i++) {
        const virt_disk_t *d = &inst->disks[i];

        if (!d->shared && !d->is_volume && !d->readonly)
            sizes[n++] = d->virtual_size_bytes;
    }
    return virt_migration_data_gb(inst->memory_mb, sizes, n);
}

static void
converge_options(const compute_config_t *cfg, bool block, virt_converge_options_t *o)
{
    virt_converge_options_default(o);
    o->downtime_ms = cfg->downtime_ms;
    o->downtime_steps = cfg->downtime_steps;
    o->downtime_delay_s = cfg->downtime_delay_s;
    o->completion_timeout_s = cfg->completion_timeout_s;
    o->timeout_action = cfg->timeout_action_force_complete ? VIRT_TIMEOUT_ACTION_FORCE_COMPLETE
                                                           : VIRT_TIMEOUT_ACTION_ABORT;
    o->permit_post_copy = cfg->permit_post_copy && !block; /* as migrate_params */
    o->permit_auto_converge = cfg->permit_auto_converge;
    virt_converge_options_clamp(o);
}

/* apply_decision: carry out what the convergence monitor decided. */
static void
apply_decision(compute_migration_t *job, virt_migration_t *vmig, const virt_converge_decision_t *d)
{
    bool post_copy = false;
    int rc = 0;

    switch (d->action) {
    case VIRT_CONVERGE_CONTINUE:
        if (d->stalled) /* a stall that changes nothing yet: auto-converge's turn, a dead link */
            TERN_INFO("migration %s: %s", job->uuid, d->reason);
        return;
    case VIRT_CONVERGE_SET_DOWNTIME:
        rc = virt_migration_set_max_downtime(vmig, (uint64_t)d->downtime_ms);
        break;
    case VIRT_CONVERGE_POST_COPY:
    case VIRT_CONVERGE_PAUSE:
        rc = virt_migration_force_complete(vmig, &post_copy);
        job->post_copy = job->post_copy || post_copy;
        break;
    case VIRT_CONVERGE_ABORT:
        rc = virt_migration_abort(vmig);
        if (rc == 0)
            tern_strlcpy(job->monitor_abort, d->reason, sizeof(job->monitor_abort));
        break;
    }
    TERN_INFO("migration %s: %s (%s)%s%s", job->uuid, virt_converge_action_name(d->action),
              d->reason, rc < 0 ? ": " : "", rc < 0 ? tern_error_message() : "");
}

/* hold_transfer: the "transfer" hold point of tests/faults (common/hold.h; nothing in a
 * production build). *state: 0 not entered yet, 1 holding, 2 done. While held, libvirt's
 * transfer is throttled to 1 MiB/s so that it stays in this phase; true while held. */
static bool
hold_transfer(compute_migration_t *job, virt_migration_t *vmig, int *state)
{
    uint64_t speed = job->mgr->cfg.bandwidth_mibps ? job->mgr->cfg.bandwidth_mibps : 1 << 20;

    if (*state == 0) {
        *state = tern_hold_enter("transfer", job->uuid) ? 1 : 2;
        if (*state == 1)
            virt_migration_set_speed(vmig, 1);
    }
    if (*state != 1)
        return false;
    if (!tern_hold_released("transfer", job->uuid))
        return true;
    *state = 2;
    virt_migration_set_speed(vmig, speed);
    TERN_WARN("hold point transfer: %s goes on", job->uuid);
    return false;
}

/* hold_start: the "start" hold point of tests/faults (nothing in a production build): between
 * libvirt's start and job_set_vmig, where an abort can only be recorded; throttled meanwhile. */
static void
hold_start(compute_migration_t *job, virt_migration_t *vmig)
{
    uint64_t speed = job->mgr->cfg.bandwidth_mibps ? job->mgr->cfg.bandwidth_mibps : 1 << 20;

    if (!tern_hold_enter("start", job->uuid))
        return;
    virt_migration_set_speed(vmig, 1);
    while (!tern_hold_released("start", job->uuid))
        tern_sleep_ms(50);
    virt_migration_set_speed(vmig, speed);
    TERN_WARN("hold point start: %s goes on", job->uuid);
}

/* report_post_copy: once the job has switched to post-copy (by the monitor, a force-complete
 * request or libvirt itself), record it before anything else: from then on the guest can only
 * go forward, and a recovery must know it (compute/outcome.h). Retried until answered. */
static void
report_post_copy(compute_migration_t *job, bool *reported)
{
    if (*reported || !job->post_copy)
        return;
    *reported = true;
    TERN_INFO("migration %s: switched to post-copy: the guest runs on host %s now", job->uuid,
              job->dest);
    compute_job_report_status(job, "postcopy-active", NULL);
}

/* compute_monitor_migration: poll until libvirt says the job ended; returns its result. */
static virt_migration_result_t
compute_monitor_migration(compute_migration_t *job, const virt_instance_t *inst,
                          virt_migration_t *vmig, bool block)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    int hold = 0;
    int64_t last_report = 0;
    bool post_copy_reported = false;
    virt_migration_result_t result;

    converge_options(&job->mgr->cfg, block, &opts);
    opts.permit_pause = !job->data.never_pause; /* the instance's or drain's policy */
    virt_converge_init(&mon, &opts, migration_data_gb(inst, block));
    while ((result = virt_migration_wait(vmig, MONITOR_INTERVAL_MS)) == VIRT_MIGRATION_RUNNING) {
        virt_job_stats_t stats;
        virt_converge_decision_t decision;
        int64_t now = tern_now_monotonic_ms();

        if (virt_migration_get_stats(vmig, &stats) < 0 || stats.type == VIRT_JOB_NONE)
            continue;
        if (stats.post_copy)
            job->post_copy = true;
        report_post_copy(job, &post_copy_reported);
        if (hold_transfer(job, vmig, &hold))
            continue; /* tests/faults: held, throttled, no convergence steps */
        virt_converge_next(&mon, &stats, &decision);
        apply_decision(job, vmig, &decision);
        report_post_copy(job, &post_copy_reported);
        if (now - last_report >= PROGRESS_INTERVAL_MS) {
            report_progress(job, &stats);
            last_report = now;
        }
    }
    return result;
}

/* job_end: what libvirt's migration came to. On success its final figures go into job (or, when
 * libvirt never reported them, a warning says the record keeps its last sample); otherwise
 * *ret_reason says why (new string). */
static void
job_end(compute_migration_t *job, virt_migration_t *vmig, virt_migration_result_t result,
        char **ret_reason)
{
    if (result == VIRT_MIGRATION_CANCELLED && job->monitor_abort[0]) {
        *ret_reason = tern_asprintf("aborted by tern-compute: %s", job->monitor_abort);
        return;
    }
    if (result != VIRT_MIGRATION_SUCCEEDED) {
        virt_migration_restore_error(vmig);
        *ret_reason = tern_strdup(result == VIRT_MIGRATION_CANCELLED ? "aborted by request"
                                                                     : tern_error_message());
        return;
    }
    if (!(job->have_final = virt_migration_get_final_stats(vmig, &job->final) == 0)) {
        TERN_WARN("migration %s: %s; the record keeps the last progress sample", job->uuid,
                  tern_error_message());
        return;
    }
    TERN_INFO("migration %s: libvirt's migration took %lld ms (its job %llu ms, downtime %llu ms, "
              "memory %llu MiB, disk %llu MiB)",
              job->uuid, (long long)job->migration_ms,
              (unsigned long long)job->final.time_elapsed_ms,
              (unsigned long long)job->final.downtime_ms,
              (unsigned long long)(job->final.memory_processed >> 20),
              (unsigned long long)(job->final.disk_processed >> 20));
}

/* compute_finish_migration: after libvirt's job. Its success means the guest runs on the
 * destination: the switch-over and clean-up. Anything else is judged from both hosts' facts
 * (compute_settle_migration): a guest still here is rolled back, one the destination runs is
 * finished, one on both hosts is left to an operator. */
static void
compute_finish_migration(compute_migration_t *job, const virt_instance_t *inst,
                         virt_migration_result_t result, const char *reason)
{
    if (result == VIRT_MIGRATION_SUCCEEDED) {
        if (compute_post_live_migration(job, inst, false) < 0)
            TERN_ERROR("migration %s: %s", job->uuid, tern_error_message());
        return;
    }
    /* cancelled: an operator's abort; the monitor's own abort (a stall, the timeout) failed */
    compute_settle_migration(
        job, inst,
        result == VIRT_MIGRATION_CANCELLED && !job->monitor_abort[0] ? "cancelled" : "failed",
        reason, COMPUTE_SETTLE_MS);
}

static void
migration_run(void *opaque)
{
    compute_migration_t *job = opaque;
    compute_manager_t *mgr = job->mgr;
    virt_instance_t *inst = compute_instance_from_json(mgr, job->instance);
    virt_migrate_params_t params;
    virt_migration_t *vmig = NULL;
    virt_migration_result_t result;
    TERN_AUTOFREE char *reason = NULL;
    int64_t t0;

    tern_log_set_request_id(json_string_value(json_object_get(job->context, "request_id")));
    if (!inst) {
        reason = tern_strdup(tern_error_message());
        compute_rollback_live_migration(job, "error", reason);
        goto out;
    }
    /* Taken only while the conductor still has it queued: a late hand-off (the conductor's
     * cast timed out and it ended the migration) is refused here and changes nothing. */
    if (compute_job_report_status(job, "preparing", NULL) < 0) {
        TERN_WARN("migration %s not taken: %s", job->uuid, tern_error_message());
        goto out;
    }
    if (compute_job_hooks_before(job, COMPUTE_HOOK_BEFORE_MIGRATION_SOURCE) < 0 ||
        compute_prepare_destination(job) < 0) {
        reason = tern_strdup(tern_error_message());
        compute_rollback_live_migration(job, "failed", reason);
        goto out;
    }
    tern_hold("preparation", job->uuid); /* tests/faults: nothing in a production build */
    if (job_abort_requested(job)) {
        compute_rollback_live_migration(job, "cancelled", "aborted by request");
        goto out;
    }
    /* Recorded before its effect: "running" before libvirt starts, so a migration the conductor
     * ended meanwhile (a sweep, a silent-source watch) never starts. */
    if (compute_job_report_status(job, "running", NULL) < 0) {
        reason = tern_strdup(tern_error_message());
        compute_rollback_live_migration(job, "error", reason);
        goto out;
    }
    migrate_params(job, inst, &params);
    t0 = tern_now_monotonic_ms();
    if (virt_migrate(mgr->virt, inst, &params, &vmig) < 0) {
        reason = tern_strdup(tern_error_message());
        compute_rollback_live_migration(job, "failed", reason);
        goto out;
    }
    hold_start(job, vmig);
    job_set_vmig(job, vmig);
    TERN_INFO("migration %s: instance %s to host %s started (%s)", job->uuid, inst->uuid, job->dest,
              params.block_migration ? "block migration" : "shared storage");
    result = compute_monitor_migration(job, inst, vmig, params.block_migration);
    job->migration_ms = tern_now_monotonic_ms() - t0;
    job_end(job, vmig, result, &reason);
    job_set_vmig(job, NULL);
    virt_migration_free(vmig);
    compute_finish_migration(job, inst, result, reason);

out:
    TERN_INFO("migration %s finished", job->uuid);
    tern_log_set_request_id(NULL);
    virt_instance_free(inst);
}

void
compute_job_cancelled(void *opaque)
{
    compute_migration_t *job = opaque;
    json_t *failed = tern_json_pack("{s:s, s:s, s:s}", "migration", job->uuid, "status",
                                    "cancelled", "error_message", "aborted while queued");

    if (compute_call_conductor(job->mgr, job->context, "live_migration_failed", failed, NULL) < 0)
        TERN_ERROR("migration %s: could not record the cancellation: %s", job->uuid,
                   tern_error_message());
    json_decref(failed);
}

static const compute_migration_job_ops_t migration_job_ops = {
    .run = migration_run,
    .cancelled = compute_job_cancelled,
    .free = compute_job_free,
};

/* ---- RPC handlers ---- */

/* live_migration's arguments and their types, to name a key of the wrong type. */
static const compute_json_field_t handoff_args[] = {{"instance", JSON_OBJECT},
                                                    {"migration", JSON_STRING},
                                                    {"dest", JSON_STRING},
                                                    {"migrate_data", JSON_OBJECT}};

/* refuse_handoff: a hand-off this host cannot run (its arguments are bad): the error in flight
 * goes to the conductor as the migration's end, so that it does not stay queued, and is
 * returned. Nothing has changed on this host. */
static int
refuse_handoff(compute_manager_t *mgr, const rpc_request_t *req, const char *migration)
{
    tern_error_t err;
    json_t *failed;

    tern_error_copy(&err);
    failed = tern_json_pack("{s:s, s:s, s:s}", "migration", migration, "status", "error",
                            "error_message", err.message);
    if (compute_call_conductor(mgr, req->context, "live_migration_failed", failed, NULL) < 0)
        TERN_ERROR("migration %s: could not record the refused hand-off: %s", migration,
                   tern_error_message());
    json_decref(failed);
    tern_error_restore(&err);
    return -1;
}

int
compute_live_migration(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance, *data;
    const char *migration, *dest;
    compute_migration_t *job;
    json_error_t jerr;

    compute_migrate_data_t typed;
    virt_instance_t *inst;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o, s:s, s:s, s:o}", "instance", &instance,
                       "migration", &migration, "dest", &dest, "migrate_data", &data) < 0 ||
        compute_json_check(req->args, "arguments to live_migration",
                           COMPUTE_JSON_FIELDS(handoff_args), NULL) < 0)
        return compute_json_check(req->args, "arguments to live_migration",
                                  COMPUTE_JSON_FIELDS(handoff_args), &jerr);
    if (!tern_uuid_valid(migration))
        return tern_error_set(TERN_ERR_INVALID, "invalid migration uuid \"%s\"", migration);
    if (compute_migrate_data_from_json(data, "\"migrate_data\" of live_migration", &typed) < 0)
        return refuse_handoff(mgr, req, migration);
    if (!(inst = compute_instance_from_json(mgr, instance))) {
        compute_migrate_data_clear(&typed);
        return refuse_handoff(mgr, req, migration);
    }
    virt_instance_free(inst);
    job = compute_job_new(mgr, migration, dest, json_deep_copy(instance), &typed,
                          json_deep_copy(req->context));
    if (compute_migration_queue_submit(mgr->queue, migration, &migration_job_ops, job) < 0) {
        if (tern_error_code() == TERN_ERR_CONFLICT) {
            /* A redelivered cast: the job is already here. */
            compute_job_free(job);
            *ret_result = NULL;
            return 0;
        }
        compute_job_free(job);
        return -1;
    }
    *ret_result = NULL;
    return 0;
}

/* migration_arg: the arguments {"migration": UUID} of method, strictly (uuid borrowed). */
static int
migration_arg(const rpc_request_t *req, const char *method, const char **ret_uuid)
{
    json_error_t jerr;

    static const compute_json_field_t fields[] = {{"migration", JSON_STRING}};
    TERN_AUTOFREE char *what = tern_asprintf("arguments to %s", method);

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s}", "migration", ret_uuid) < 0)
        return compute_json_check(req->args, what, COMPUTE_JSON_FIELDS(fields), &jerr);
    if (!tern_uuid_valid(*ret_uuid))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to %s: \"migration\" is not a uuid", method);
    return 0;
}

/* find_job_locked: the migration in flight with uuid, or NULL. */
static compute_migration_t *
find_job_locked(compute_manager_t *mgr, const char *uuid)
{
    for (compute_migration_t *job = mgr->migrations; job; job = job->next) {
        if (strcmp(job->uuid, uuid) == 0)
            return job;
    }
    return NULL;
}

bool
compute_job_in_flight(compute_manager_t *mgr, const char *uuid)
{
    bool found;

    pthread_mutex_lock(&mgr->migrations_lock);
    found = find_job_locked(mgr, uuid) != NULL;
    pthread_mutex_unlock(&mgr->migrations_lock);
    return found;
}

int
compute_live_migration_abort(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    const char *uuid;
    compute_migration_t *job;
    int rc = 0;

    if (migration_arg(req, "live_migration_abort", &uuid) < 0)
        return -1;
    if (compute_migration_queue_cancel(mgr->queue, uuid)) {
        *ret_result = json_object();
        return 0;
    }
    pthread_mutex_lock(&mgr->migrations_lock);
    job = find_job_locked(mgr, uuid);
    if (!job)
        rc = tern_error_set(TERN_ERR_NOT_FOUND,
                            "migration \"%s\" is not in progress on host "
                            "\"%s\"",
                            uuid, mgr->cfg.host);
    else if (job->post_copy)
        rc = tern_error_set(TERN_ERR_CONFLICT,
                            "cannot abort migration \"%s\": it has switched "
                            "to post-copy",
                            uuid);
    else if (job->vmig)
        rc = virt_migration_abort(job->vmig);
    else
        job->abort_requested = true;
    pthread_mutex_unlock(&mgr->migrations_lock);
    if (rc == 0)
        *ret_result = json_object();
    return rc;
}

int
compute_live_migration_force_complete(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    const char *uuid;
    compute_migration_t *job;
    bool post_copy = false;
    int rc;

    if (migration_arg(req, "live_migration_force_complete", &uuid) < 0)
        return -1;
    pthread_mutex_lock(&mgr->migrations_lock);
    job = find_job_locked(mgr, uuid);
    if (!job || !job->vmig)
        rc = tern_error_set(TERN_ERR_CONFLICT,
                            "cannot force migration \"%s\" to complete: it is "
                            "not running on host \"%s\"",
                            uuid, mgr->cfg.host);
    else
        rc = virt_migration_force_complete(job->vmig, &post_copy);
    if (rc == 0 && post_copy)
        job->post_copy = true;
    pthread_mutex_unlock(&mgr->migrations_lock);
    if (rc == 0) {
        TERN_INFO("migration %s: forced to complete (%s)", uuid,
                  post_copy ? "post-copy" : "guest paused");
        *ret_result = tern_json_pack("{s:b}", "post_copy", post_copy);
    }
    return rc;
}

void
compute_live_migration_shutdown(compute_manager_t *mgr)
{
    compute_migration_queue_free(mgr->queue);
    mgr->queue = NULL;
}
