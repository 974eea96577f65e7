/*
 * compute/migration_queue.h: the source compute's queue of outgoing live migrations.
 *
 * At most `max_running` jobs run at once ([DEFAULT] max_concurrent_live_migrations; 0 means no
 * limit); the others wait in arrival order with status "queued". Each job runs on a thread of its
 * own (a migration blocks in libvirt for its whole duration). A queued job can be cancelled before
 * it starts; a running one is reached through its id (abort, force-complete) by the caller's own
 * bookkeeping.
 *
 * Ownership: the queue owns each job's opaque data from compute_migration_queue_submit() until it
 * calls the job's free function, after run() returned or when the job was cancelled while queued.
 * Threads: every function may be called from any thread; one mutex guards the queue.
 */
#ifndef TERN_COMPUTE_MIGRATION_QUEUE_H
#define TERN_COMPUTE_MIGRATION_QUEUE_H

#include <stdbool.h>

typedef struct compute_migration_queue compute_migration_queue_t;

typedef struct compute_migration_job_ops {
    void (*run)(void *opaque);       /* the whole migration; called on its own thread */
    void (*cancelled)(void *opaque); /* called instead of run() for a job cancelled while queued */
    void (*free)(void *opaque);      /* releases opaque; called exactly once */
} compute_migration_job_ops_t;

compute_migration_queue_t *compute_migration_queue_new(int max_running);

/* Wait for running jobs to finish, cancel queued ones, and free the queue. NULL accepted. */
void compute_migration_queue_free(compute_migration_queue_t *queue);

/* Queue a job under id (copied; e.g. the migration uuid). Returns 0, or -1 with a CONFLICT error
 * when a job with that id is already queued or running (a redelivered cast is idempotent). */
int compute_migration_queue_submit(compute_migration_queue_t *queue, const char *id,
                                   const compute_migration_job_ops_t *ops, void *opaque);

/* Cancel a job still waiting: true when it was queued and is now cancelled (ops->cancelled has
 * run), false when it is unknown or already running. */
bool compute_migration_queue_cancel(compute_migration_queue_t *queue, const char *id);

/* Number of jobs running / waiting. */
int compute_migration_queue_running(compute_migration_queue_t *queue);
int compute_migration_queue_waiting(compute_migration_queue_t *queue);

/* True when a job with id is queued or running. */
bool compute_migration_queue_has(compute_migration_queue_t *queue, const char *id);

#endif /* TERN_COMPUTE_MIGRATION_QUEUE_H */
