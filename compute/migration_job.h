/*
 * compute/migration_job.h: an outgoing live migration, as the files of its job share it
 * (private to compute/): live_migration.c runs it, recovery.c finishes or rolls back the ones a
 * restart interrupted.
 *
 * Ownership: a job belongs to the migration queue from its submission (compute_job_free is its
 * free hook), and sits in mgr->migrations (compute_job_new) until freed, so that abort and
 * force-complete find it. Fields marked guarded are under mgr->migrations_lock.
 */
#ifndef TERN_COMPUTE_MIGRATION_JOB_H
#define TERN_COMPUTE_MIGRATION_JOB_H

#include "compute/compute.h"

#define PREPARE_TIMEOUT_MS (10 * 60 * 1000) /* the destination's preparation and rollback */

struct compute_migration {
    compute_manager_t *mgr;
    char uuid[37];               /* migration uuid */
    char *dest;                  /* destination host (owned) */
    json_t *instance;            /* INSTANCE (owned) */
    compute_migrate_data_t data; /* from the checks, then from pre_live_migration (owned) */
    json_t *context;             /* request context of the conductor's cast (owned) */
    virt_migration_t *vmig;      /* while libvirt migrates; guarded by mgr->migrations_lock */
    bool abort_requested;        /* guarded by mgr->migrations_lock */
    bool post_copy;              /* switched to post-copy: no rollback possible any more */
    int64_t preparation_ms;
    int64_t migration_ms;
    bool have_final; /* final holds the job's statistics as libvirt reported its end */
    virt_job_stats_t final;
    compute_migration_t *next; /* guarded by mgr->migrations_lock */
};

/* A new job, on mgr->migrations until compute_job_free: uuid and dest are copied, instance
 * and context taken over (new references), *data moved (left zeroed). */
compute_migration_t *compute_job_new(compute_manager_t *mgr, const char *uuid, const char *dest,
                                     json_t *instance, compute_migrate_data_t *data,
                                     json_t *context);
/* The queue's free hook: off mgr->migrations, everything released. */
void compute_job_free(void *opaque);
/* The queue's hook for a job cancelled before it ran: the conductor records it. */
void compute_job_cancelled(void *opaque);
/* A status change to the conductor (migration_update, extra merged into the args; borrowed);
 * a failure is logged, the job goes on. */
void compute_job_report_status(compute_migration_t *job, const char *status, json_t *extra);
/* After the switch-over on the destination: its confirmation, the conductor's record, the
 * clean-up here. 0 or -1. */
int compute_post_live_migration(compute_migration_t *job, const virt_instance_t *inst);
/* Before the switch-over: the destination undoes its preparation; the conductor records the
 * end (status: failed, cancelled or error). */
void compute_rollback_live_migration(compute_migration_t *job, const char *status,
                                     const char *reason);
/* Whether the instance's domain is still here (a guest paused by a failed force-complete is
 * resumed). */
bool compute_source_still_runs(compute_migration_t *job, const virt_instance_t *inst);

#endif /* TERN_COMPUTE_MIGRATION_JOB_H */
