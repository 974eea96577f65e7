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
/* How long a migration whose outcome is unclear (a host cannot be asked, libvirt is still at it)
 * is looked at again before it is reported as needing an operator. */
#define COMPUTE_SETTLE_MS (5 * 60 * 1000)

struct compute_migration {
    compute_manager_t *mgr;
    char uuid[37];               /* migration uuid */
    char *dest;                  /* destination host (owned) */
    json_t *instance;            /* INSTANCE (owned) */
    compute_migrate_data_t data; /* from the checks, then from pre_live_migration (owned) */
    json_t *context;             /* request context of the conductor's cast (owned) */
    virt_migration_t *vmig;      /* while libvirt migrates; guarded by mgr->migrations_lock */
    bool abort_requested;        /* guarded by mgr->migrations_lock */
    char monitor_abort[256];     /* why the convergence monitor aborted it, "" if it did not */
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
/* Whether a job of migration uuid is on mgr->migrations (queued, running or ending here). */
bool compute_job_in_flight(compute_manager_t *mgr, const char *uuid);
/* The queue's free hook: off mgr->migrations, everything released. */
void compute_job_free(void *opaque);
/* The queue's hook for a job cancelled before it ran: the conductor records it. */
void compute_job_cancelled(void *opaque);
/* The job's hooks of event on this host (compute/hooks.h): a before-hook's 0, or -1 with the
 * error that vetoes the migration; an after-hook's failure is only logged. */
int compute_job_hooks_before(compute_migration_t *job, const char *event);
void compute_job_hooks_after(compute_migration_t *job, const char *event);
/* ---- how the job ends (compute/migration_end.c) ---- */

/* A report the conductor must record (method with args, borrowed): retried while the conductor,
 * RabbitMQ or PostgreSQL is away, until it answers. -1 when the conductor refused it (final:
 * the migration ended meanwhile) or when this compute is stopping. */
int compute_job_report(compute_migration_t *job, const char *method, json_t *args);
/* A status change (migration_update, extra merged into the args; borrowed), through
 * compute_job_report; a refusal is logged and returned. */
int compute_job_report_status(compute_migration_t *job, const char *status, json_t *extra);
/* After libvirt's job failed, or after a restart: read both hosts' facts until they give a
 * verdict (compute/outcome.h) or settle_ms has passed (then: needs-operator), and act on it -
 * finish, roll back (status "failed", "cancelled" or "error" with reason), or report. */
void compute_settle_migration(compute_migration_t *job, const virt_instance_t *inst,
                              const char *status, const char *reason, int64_t settle_ms);
/* The guest runs on the destination: the switch-over record first (retried until the conductor
 * has it), then the clean-up here (a stale copy of the domain is destroyed when
 * stale_copy_here), then "completed". 0, or -1 when the switch-over could not be recorded. */
int compute_post_live_migration(compute_migration_t *job, const virt_instance_t *inst,
                                bool stale_copy_here);
/* Remove what the instance held on this host once it runs elsewhere: its domain (a stale copy,
 * when destroy_stale), filter, unused bridges, and its files unless shared. On a failure the rest
 * is not tried and *ret_warning (new) says what was left; else NULL. 0 or -1. */
int compute_clean_source(compute_manager_t *mgr, const virt_instance_t *inst, bool shared,
                         bool destroy_stale, char **ret_warning);
/* Before the switch-over: the destination undoes its preparation (when it cannot, its compute
 * removes the leftovers when it is back); the conductor records the end (status: failed,
 * cancelled or error). */
void compute_rollback_live_migration(compute_migration_t *job, const char *status,
                                     const char *reason);

#endif /* TERN_COMPUTE_MIGRATION_JOB_H */
