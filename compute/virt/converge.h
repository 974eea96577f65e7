/*
 * compute/virt/converge.h: the live-migration convergence monitor, pure logic.
 *
 * The compute polls a running migration's job statistics (virt_migration_get_stats) every few
 * hundred milliseconds and feeds each sample to virt_converge_next(), which decides the one thing
 * to do next: nothing, raise the allowed downtime to the next step, switch to post-copy, pause the
 * guest so the migration completes, or abort. The caller carries the decision out with
 * virt_migration_set_max_downtime / _force_complete / _abort. No libvirt here: the tests drive it
 * with sample series.
 *
 * The downtime schedule and the completion timeout follow nova's libvirt driver
 * (nova/virt/libvirt/migration.py downtime_steps, should_trigger_timeout_action and the driver's
 * data_gb scaling): with D = downtime_ms, S = downtime_steps and delay = downtime_delay_s * data_gb,
 * step i (0..S) starts after i * delay seconds with downtime D/S + i * (D - D/S) / S ms; the
 * completion timeout is completion_timeout_s * data_gb seconds. Added to nova's:
 * - stall detection by passes of the memory copy: what is left when a pass starts is what the
 *   guest dirtied during the one before; a stall is stall_passes passes in a row none of which
 *   starts with at least 10% less than the best pass so far (a guest that dirties as fast as the
 *   link sends). The escalation ladder: let auto-converge throttle first when permitted - for as
 *   long as its throttle still rises from one stall to the next (one that has just reached
 *   QEMU's maximum, VIRT_AUTO_CONVERGE_MAX_THROTTLE, gets its window: at the next stall it cannot
 *   have risen) - then post-copy when permitted, else pause, and abort if
 *   even a paused guest makes no progress;
 * - a dead link: stall_samples samples in a row with no byte moved. Nothing is escalated for
 *   it (neither pausing nor post-copy helps a link that carries nothing; TCP, libvirt's
 *   keepalive or the completion timeout end it), except that a guest paused by the ladder is not
 *   left paused behind it: the migration is aborted and the guest runs on its source again.
 * (Measuring progress by the lowest remaining of any sample, as before, took every pass's
 * natural dip near its end for a lowest no later pass could beat, and paused busy guests that
 * auto-converge was bringing down.)
 *
 * Ownership: virt_converge_t is a plain value owned by the caller (one per migration, used by the
 * thread that polls it); no allocation.
 */
#ifndef TERN_COMPUTE_VIRT_CONVERGE_H
#define TERN_COMPUTE_VIRT_CONVERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compute/virt/virt.h"

#define VIRT_DOWNTIME_STEPS_MAX 64
/* QEMU's max-cpu-throttle default: auto-converge can slow the guest no further. */
#define VIRT_AUTO_CONVERGE_MAX_THROTTLE 99

typedef enum {
    VIRT_TIMEOUT_ACTION_ABORT = 0,      /* nova's live_migration_timeout_action = abort */
    VIRT_TIMEOUT_ACTION_FORCE_COMPLETE, /* = force_complete: post-copy if permitted, else pause */
} virt_timeout_action_t;

typedef struct virt_converge_options {
    int downtime_ms;          /* live_migration_downtime: final max downtime (>= 100) */
    int downtime_steps;       /* live_migration_downtime_steps (>= 3) */
    int downtime_delay_s;     /* live_migration_downtime_delay, per GiB of data (>= 10) */
    int completion_timeout_s; /* live_migration_completion_timeout, per GiB; 0 = never */
    virt_timeout_action_t timeout_action;
    bool permit_post_copy;     /* the migration was started with post-copy enabled */
    bool permit_auto_converge; /* the migration was started with auto-converge */
    int stall_passes;          /* passes without progress that make a stall; 0 = off */
    int stall_samples;         /* samples with no byte moved that make a dead link; 0 = off */
    bool permit_pause;         /* the ladder may pause the guest to complete; false (a
                                * never-pause policy: oVirt's "minimal downtime"): it aborts
                                * instead, and the guest runs on where it was */
} virt_converge_options_t;

/* nova's defaults: 500 ms, 10 steps, 75 s/GiB, 800 s/GiB, abort; a stall after 4 passes without
 * progress, a dead link after 20 samples; pausing permitted. */
void virt_converge_options_default(virt_converge_options_t *ret);

/* Clamp the options to nova's minimums (downtime 100, steps 3, delay 10) and the array limit. */
void virt_converge_options_clamp(virt_converge_options_t *opts);

typedef struct virt_downtime_step {
    int64_t after_s;     /* this step applies once more than after_s seconds have elapsed */
    int64_t downtime_ms; /* max downtime to set */
} virt_downtime_step_t;

/* GiB of data a migration moves, as nova counts it: RAM (at least 2), plus each copied disk
 * (each at least 2). disk_sizes may be NULL when n_disks is 0. */
double virt_migration_data_gb(uint64_t memory_mb, const uint64_t *disk_sizes, size_t n_disks);

/* Fill ret_steps (room for max) with the downtime schedule; returns how many (steps + 1). */
size_t virt_downtime_steps(const virt_converge_options_t *opts, double data_gb,
                           virt_downtime_step_t *ret_steps, size_t max);

/* nova's should_trigger_timeout_action: never when the timeout is 0 or in post-copy. */
bool virt_should_trigger_timeout_action(int64_t elapsed_s, int64_t completion_timeout_s,
                                        bool post_copy);

typedef enum {
    VIRT_CONVERGE_CONTINUE = 0, /* nothing to do */
    VIRT_CONVERGE_SET_DOWNTIME, /* virt_migration_set_max_downtime(decision.downtime_ms) */
    VIRT_CONVERGE_POST_COPY,    /* virt_migration_force_complete (post-copy permitted) */
    VIRT_CONVERGE_PAUSE,        /* virt_migration_force_complete (pauses the guest) */
    VIRT_CONVERGE_ABORT,        /* virt_migration_abort */
} virt_converge_action_t;

const char *virt_converge_action_name(virt_converge_action_t action);

typedef struct virt_converge_decision {
    virt_converge_action_t action;
    int64_t downtime_ms; /* SET_DOWNTIME: the value */
    int step;            /* SET_DOWNTIME: the step's index; else -1 */
    bool stalled;        /* this sample completed a stall window */
    char reason[192];    /* why, for the log and the migration record */
} virt_converge_decision_t;

typedef struct virt_converge {
    virt_converge_options_t opts;
    virt_downtime_step_t steps[VIRT_DOWNTIME_STEPS_MAX + 1];
    size_t n_steps;
    int64_t completion_timeout_s; /* scaled by data_gb; 0 = none */
    int64_t current_downtime_ms;  /* -1 until the first step is set */
    uint64_t last_iteration;      /* memory pass of the last sample */
    uint64_t best_pass_remaining; /* lowest memory_remaining a pass started with */
    int passes_without_progress;
    uint64_t last_processed;      /* highest data_processed seen */
    int samples_without_transfer; /* consecutive samples in which no byte moved */
    int throttle_at_stall;        /* auto-converge's throttle at the last stall (-1: none) */
    bool post_copy;               /* post-copy decided (or reported by the job) */
    bool paused;                  /* pause decided */
    bool aborted;                 /* abort decided */
} virt_converge_t;

/* Start monitoring a migration moving data_gb GiB (virt_migration_data_gb). */
void virt_converge_init(virt_converge_t *mon, const virt_converge_options_t *opts, double data_gb);

/* Decide what to do after this sample. Each escalation (post-copy, pause, abort) is returned once;
 * the monitor assumes the caller carries it out. */
void virt_converge_next(virt_converge_t *mon, const virt_job_stats_t *sample,
                        virt_converge_decision_t *ret);

#endif /* TERN_COMPUTE_VIRT_CONVERGE_H */
