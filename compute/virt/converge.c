/*
 * compute/virt/converge.c: the convergence monitor's decisions (see converge.h).
 */
#include "compute/virt/converge.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

void
virt_converge_options_default(virt_converge_options_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->downtime_ms = 500;
    ret->downtime_steps = 10;
    ret->downtime_delay_s = 75;
    ret->completion_timeout_s = 800;
    ret->timeout_action = VIRT_TIMEOUT_ACTION_ABORT;
    ret->stall_passes = 4;
    ret->stall_samples = 20;
    ret->permit_pause = true;
}

void
virt_converge_options_clamp(virt_converge_options_t *opts)
{
    if (opts->downtime_ms < 100)
        opts->downtime_ms = 100;
    if (opts->downtime_steps < 3)
        opts->downtime_steps = 3;
    if (opts->downtime_steps > VIRT_DOWNTIME_STEPS_MAX)
        opts->downtime_steps = VIRT_DOWNTIME_STEPS_MAX;
    if (opts->downtime_delay_s < 10)
        opts->downtime_delay_s = 10;
    if (opts->completion_timeout_s < 0)
        opts->completion_timeout_s = 0;
    if (opts->stall_passes < 0)
        opts->stall_passes = 0;
    if (opts->stall_samples < 0)
        opts->stall_samples = 0;
}

double
virt_migration_data_gb(uint64_t memory_mb, const uint64_t *disk_sizes, size_t n_disks)
{
    double ram_gb = (double)memory_mb / 1024.0;
    double disk_gb = 0;

    if (ram_gb < 2)
        ram_gb = 2;
    for (size_t i = 0; i < n_disks; i++) {
        double gb = (double)disk_sizes[i] / GIB;

        disk_gb += gb < 2 ? 2 : gb;
    }
    return ram_gb + disk_gb;
}

size_t
virt_downtime_steps(const virt_converge_options_t *opts, double data_gb,
                    virt_downtime_step_t *ret_steps, size_t max)
{
    int64_t delay = (int64_t)(opts->downtime_delay_s * data_gb);
    double base = (double)opts->downtime_ms / opts->downtime_steps;
    double offset = (opts->downtime_ms - base) / opts->downtime_steps;
    size_t n = 0;

    for (int i = 0; i <= opts->downtime_steps && n < max; i++, n++) {
        ret_steps[n].after_s = delay * i;
        ret_steps[n].downtime_ms = (int64_t)(base + offset * i);
    }
    return n;
}

bool
virt_should_trigger_timeout_action(int64_t elapsed_s, int64_t completion_timeout_s, bool post_copy)
{
    if (completion_timeout_s <= 0 || post_copy)
        return false;
    return elapsed_s > completion_timeout_s;
}

const char *
virt_converge_action_name(virt_converge_action_t action)
{
    switch (action) {
    case VIRT_CONVERGE_CONTINUE:
        return "continue";
    case VIRT_CONVERGE_SET_DOWNTIME:
        return "set-downtime";
    case VIRT_CONVERGE_POST_COPY:
        return "post-copy";
    case VIRT_CONVERGE_PAUSE:
        return "pause";
    case VIRT_CONVERGE_ABORT:
        return "abort";
    }
    return "unknown";
}

void
virt_converge_init(virt_converge_t *mon, const virt_converge_options_t *opts, double data_gb)
{
    memset(mon, 0, sizeof(*mon));
    mon->opts = *opts;
    virt_converge_options_clamp(&mon->opts);
    mon->n_steps =
        virt_downtime_steps(&mon->opts, data_gb, mon->steps, TERN_N_ELEMENTS(mon->steps));
    mon->completion_timeout_s = (int64_t)(mon->opts.completion_timeout_s * data_gb);
    mon->current_downtime_ms = -1;
    mon->best_pass_remaining = UINT64_MAX;
    mon->throttle_at_stall = -1;
}

/* decide: fill the decision and record escalations in the monitor. */
static void
decide(virt_converge_t *mon, virt_converge_decision_t *ret, virt_converge_action_t action,
       const char *reason)
{
    ret->action = action;
    snprintf(ret->reason, sizeof(ret->reason), "%s", reason);
    if (action == VIRT_CONVERGE_POST_COPY)
        mon->post_copy = true;
    else if (action == VIRT_CONVERGE_PAUSE)
        mon->paused = true;
    else if (action == VIRT_CONVERGE_ABORT)
        mon->aborted = true;
}

/* Samples in a row with no byte moved: the link (not the guest's dirtying) stalls the job. */
#define LINK_STALLED_SAMPLES 2

/* escalate: the next rung after a stall or a force-complete timeout; false when none is left.
 * Never post-copy while the link moves nothing: the guest would start on the destination with
 * its memory behind a dead link (on the testbed a 20 s cut then lost it: libvirt's keepalive
 * closed the connection, the destination dropped its copy, the source stopped its own as
 * migrated). Pausing keeps the whole guest on the source. */
static bool
escalate(virt_converge_t *mon, virt_converge_decision_t *ret, const char *why, bool may_abort)
{
    bool link_stalled = mon->samples_without_transfer >= LINK_STALLED_SAMPLES;
    char reason[192];

    if (mon->opts.permit_post_copy && !mon->post_copy && !link_stalled) {
        snprintf(reason, sizeof(reason), "%.150s: switching to post-copy", why);
        decide(mon, ret, VIRT_CONVERGE_POST_COPY, reason);
        return true;
    }
    if (!mon->paused && !mon->opts.permit_pause) {
        snprintf(reason, sizeof(reason),
                 "%.120s; the policy never pauses the guest: aborting, it runs on here", why);
        decide(mon, ret, VIRT_CONVERGE_ABORT, reason);
        return true;
    }
    if (!mon->paused) {
        snprintf(
            reason, sizeof(reason), "%.100s: %spausing the guest so the migration completes", why,
            mon->opts.permit_post_copy && link_stalled ? "nothing moves, not post-copy: " : "");
        decide(mon, ret, VIRT_CONVERGE_PAUSE, reason);
        return true;
    }
    if (may_abort) {
        snprintf(reason, sizeof(reason), "%.150s even with the guest paused: aborting", why);
        decide(mon, ret, VIRT_CONVERGE_ABORT, reason);
        return true;
    }
    return false;
}

/* note_transfer: whether bytes move (a link that moves none is dead) and, at the start of each
 * pass of the memory copy after the first, whether the guest dirtied less than in the best pass
 * so far (progress: at least 10% less). A sample with no data total yet (libvirt's job before
 * the memory transfer starts, e.g. while a block migration's disks are mirrored) says nothing. */
static void
note_transfer(virt_converge_t *mon, const virt_job_stats_t *sample)
{
    uint64_t left = sample->memory_remaining;

    if (sample->data_total == 0)
        return;
    if (sample->data_processed > mon->last_processed) {
        mon->last_processed = sample->data_processed;
        mon->samples_without_transfer = 0;
    } else {
        mon->samples_without_transfer++;
    }
    if (sample->memory_iteration <= mon->last_iteration)
        return;
    mon->last_iteration = sample->memory_iteration;
    if (sample->memory_iteration < 2)
        return; /* the first pass copies all memory: no measure of dirtying */
    if (mon->best_pass_remaining == UINT64_MAX || left / 9 < mon->best_pass_remaining / 10) {
        mon->best_pass_remaining = left;
        mon->passes_without_progress = 0;
    } else {
        mon->passes_without_progress++;
    }
}

/* auto_converge_turn: at a stall, whether auto-converge is still bringing the guest down: it was
 * permitted and its throttle rose since the last stall (or this is the first). A busy guest
 * re-dirties its whole working set every pass until the throttle is high, so the passes show no
 * progress for a while although the throttle is doing its work. A throttle that has just reached
 * QEMU's maximum gets its window too: the testbed's busy guest converges only at 99%, and a stall
 * that fell a pass after the throttle reached it paused the guest for seconds instead. At the
 * next stall it cannot have risen, and the ladder goes on. */
static bool
auto_converge_turn(virt_converge_t *mon, const virt_job_stats_t *sample)
{
    int throttle = sample->auto_converge_throttle;
    bool rising = throttle > mon->throttle_at_stall;

    if (!mon->opts.permit_auto_converge)
        return false;
    mon->throttle_at_stall = throttle;
    return rising;
}

/* check_dead_link: a guest this monitor paused is not left paused behind a link that moves
 * nothing: abort, so that it runs on its source again. true when decided. */
static bool
check_dead_link(virt_converge_t *mon, virt_converge_decision_t *ret)
{
    char reason[192];

    if (mon->opts.stall_samples <= 0 || mon->samples_without_transfer < mon->opts.stall_samples)
        return false;
    mon->samples_without_transfer = 0;
    ret->stalled = true;
    if (!mon->paused) {
        snprintf(ret->reason, sizeof(ret->reason),
                 "no byte moved over %d samples: waiting for the link", mon->opts.stall_samples);
        return true;
    }
    snprintf(reason, sizeof(reason),
             "no byte moved over %d samples with the guest paused: aborting so that it runs "
             "on its source again",
             mon->opts.stall_samples);
    decide(mon, ret, VIRT_CONVERGE_ABORT, reason);
    return true;
}

void
virt_converge_next(virt_converge_t *mon, const virt_job_stats_t *sample,
                   virt_converge_decision_t *ret)
{
    int64_t elapsed_s = (int64_t)(sample->time_elapsed_ms / 1000);
    char reason[192];
    const virt_downtime_step_t *step = NULL;
    int step_index = -1;

    memset(ret, 0, sizeof(*ret));
    ret->step = -1;
    snprintf(ret->reason, sizeof(ret->reason), "nothing to do");
    if (sample->type != VIRT_JOB_BOUNDED && sample->type != VIRT_JOB_UNBOUNDED) {
        snprintf(ret->reason, sizeof(ret->reason), "job is %s", virt_job_type_name(sample->type));
        return;
    }
    if (sample->post_copy)
        mon->post_copy = true;
    if (mon->aborted) {
        snprintf(ret->reason, sizeof(ret->reason), "abort already requested");
        return;
    }
    if (mon->post_copy) {
        /* The destination runs the guest now: never abort, nothing left to tune. */
        snprintf(ret->reason, sizeof(ret->reason), "running in post-copy");
        return;
    }
    note_transfer(mon, sample);

    /* 1. The completion timeout. */
    if (virt_should_trigger_timeout_action(elapsed_s, mon->completion_timeout_s, false)) {
        snprintf(reason, sizeof(reason), "not completed after %lld s (completion timeout %lld s)",
                 (long long)elapsed_s, (long long)mon->completion_timeout_s);
        if (mon->opts.timeout_action == VIRT_TIMEOUT_ACTION_ABORT) {
            decide(mon, ret, VIRT_CONVERGE_ABORT, reason);
            return;
        }
        if (escalate(mon, ret, reason, false))
            return;
    }

    /* 2. A dead link; then progress: a stall is stall_passes passes without progress. */
    if (check_dead_link(mon, ret))
        return;
    if (mon->opts.stall_passes > 0 && mon->passes_without_progress >= mon->opts.stall_passes) {
        mon->passes_without_progress = 0;
        ret->stalled = true;
        snprintf(reason, sizeof(reason),
                 "no progress over %d passes (pass %llu starts with %llu bytes, best %llu)",
                 mon->opts.stall_passes, (unsigned long long)sample->memory_iteration,
                 (unsigned long long)sample->memory_remaining,
                 (unsigned long long)mon->best_pass_remaining);
        if (auto_converge_turn(mon, sample)) {
            snprintf(ret->reason, sizeof(ret->reason),
                     "%.140s: letting auto-converge throttle (%d%%)", reason,
                     sample->auto_converge_throttle);
            return;
        }
        if (escalate(mon, ret, reason, true))
            return;
    }

    /* 3. nova's downtime steps: the last step whose time has passed. */
    for (size_t i = 0; i < mon->n_steps; i++)
        if (elapsed_s > mon->steps[i].after_s || (i == 0 && mon->current_downtime_ms < 0)) {
            step = &mon->steps[i];
            step_index = (int)i;
        }
    if (step && step->downtime_ms != mon->current_downtime_ms) {
        mon->current_downtime_ms = step->downtime_ms;
        ret->action = VIRT_CONVERGE_SET_DOWNTIME;
        ret->downtime_ms = step->downtime_ms;
        ret->step = step_index;
        snprintf(ret->reason, sizeof(ret->reason), "downtime step %d: %lld ms after %lld s elapsed",
                 step_index, (long long)step->downtime_ms, (long long)elapsed_s);
    }
}
