/*
 * compute/migration_queue.c: bounded concurrency for outgoing live migrations.
 *
 * Owns: the list of jobs (waiting and running) and their threads. A job's thread is detached; the
 * queue counts running jobs and wakes compute_migration_queue_free() when the last one ends.
 */
#include "compute/migration_queue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

typedef struct job {
    char *id;                               /* owned */
    const compute_migration_job_ops_t *ops; /* borrowed */
    void *opaque;                           /* owned through ops->free */
    bool running;                           /* guarded by queue->lock */
    struct job *next;                       /* guarded by queue->lock */
    compute_migration_queue_t *queue;       /* back pointer */
} job_t;

struct compute_migration_queue {
    pthread_mutex_t lock;
    pthread_cond_t idle; /* signalled when a running job ends */
    int max_running;     /* 0: no limit */
    int n_running;       /* guarded by lock */
    bool stopping;       /* guarded by lock: no new job starts */
    job_t *head;         /* waiting and running jobs, arrival order; guarded by lock */
};

static void queue_start_waiting_locked(compute_migration_queue_t *queue);

static void
job_free(job_t *job)
{
    job->ops->free(job->opaque);
    free(job->id);
    free(job);
}

static void
queue_unlink_locked(compute_migration_queue_t *queue, job_t *job)
{
    for (job_t **pp = &queue->head; *pp; pp = &(*pp)->next) {
        if (*pp == job) {
            *pp = job->next;
            return;
        }
    }
}

static void *
job_thread(void *arg)
{
    job_t *job = arg;
    compute_migration_queue_t *queue = job->queue;

    job->ops->run(job->opaque);

    /* Release the job while it still counts as running, so that compute_migration_queue_free()
     * returns only once every job's free function has run. */
    pthread_mutex_lock(&queue->lock);
    queue_unlink_locked(queue, job);
    pthread_mutex_unlock(&queue->lock);
    job_free(job);

    pthread_mutex_lock(&queue->lock);
    queue->n_running--;
    queue_start_waiting_locked(queue);
    pthread_cond_broadcast(&queue->idle);
    pthread_mutex_unlock(&queue->lock);
    return NULL;
}

/* queue_start_waiting_locked: start waiting jobs in order while below the limit. */
static void
queue_start_waiting_locked(compute_migration_queue_t *queue)
{
    for (job_t *job = queue->head; job; job = job->next) {
        pthread_t tid;
        pthread_attr_t attr;

        if (queue->stopping)
            return;
        if (queue->max_running > 0 && queue->n_running >= queue->max_running)
            return;
        if (job->running)
            continue;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&tid, &attr, job_thread, job) == 0) {
            job->running = true;
            queue->n_running++;
        }
        pthread_attr_destroy(&attr);
    }
}

compute_migration_queue_t *
compute_migration_queue_new(int max_running)
{
    compute_migration_queue_t *queue = tern_calloc(1, sizeof(*queue));

    pthread_mutex_init(&queue->lock, NULL);
    pthread_cond_init(&queue->idle, NULL);
    queue->max_running = max_running < 0 ? 0 : max_running;
    return queue;
}

void
compute_migration_queue_free(compute_migration_queue_t *queue)
{
    job_t *waiting = NULL;

    if (!queue)
        return;
    pthread_mutex_lock(&queue->lock);
    queue->stopping = true;
    /* Take the jobs that never started out of the list; running ones unlink themselves. */
    for (job_t **pp = &queue->head; *pp;) {
        job_t *job = *pp;

        if (job->running) {
            pp = &job->next;
            continue;
        }
        *pp = job->next;
        job->next = waiting;
        waiting = job;
    }
    while (queue->n_running > 0)
        pthread_cond_wait(&queue->idle, &queue->lock);
    pthread_mutex_unlock(&queue->lock);

    while (waiting) {
        job_t *next = waiting->next;

        waiting->ops->cancelled(waiting->opaque);
        job_free(waiting);
        waiting = next;
    }
    pthread_cond_destroy(&queue->idle);
    pthread_mutex_destroy(&queue->lock);
    free(queue);
}

static job_t *
queue_find_locked(compute_migration_queue_t *queue, const char *id)
{
    for (job_t *job = queue->head; job; job = job->next) {
        if (strcmp(job->id, id) == 0)
            return job;
    }
    return NULL;
}

int
compute_migration_queue_submit(compute_migration_queue_t *queue, const char *id,
                               const compute_migration_job_ops_t *ops, void *opaque)
{
    job_t *job, **tail;

    pthread_mutex_lock(&queue->lock);
    if (queue->stopping) {
        pthread_mutex_unlock(&queue->lock);
        return tern_error_set(TERN_ERR_UNAVAILABLE,
                              "could not queue migration \"%s\": compute is shutting down", id);
    }
    if (queue_find_locked(queue, id)) {
        pthread_mutex_unlock(&queue->lock);
        return tern_error_set(TERN_ERR_CONFLICT, "migration \"%s\" is already queued or running",
                              id);
    }
    job = tern_calloc(1, sizeof(*job));
    job->id = tern_strdup(id);
    job->ops = ops;
    job->opaque = opaque;
    job->queue = queue;
    for (tail = &queue->head; *tail; tail = &(*tail)->next)
        ;
    *tail = job;
    queue_start_waiting_locked(queue);
    pthread_mutex_unlock(&queue->lock);
    return 0;
}

bool
compute_migration_queue_cancel(compute_migration_queue_t *queue, const char *id)
{
    job_t *job;

    pthread_mutex_lock(&queue->lock);
    job = queue_find_locked(queue, id);
    if (!job || job->running) {
        pthread_mutex_unlock(&queue->lock);
        return false;
    }
    queue_unlink_locked(queue, job);
    pthread_mutex_unlock(&queue->lock);
    job->ops->cancelled(job->opaque);
    job_free(job);
    return true;
}

int
compute_migration_queue_running(compute_migration_queue_t *queue)
{
    int n;

    pthread_mutex_lock(&queue->lock);
    n = queue->n_running;
    pthread_mutex_unlock(&queue->lock);
    return n;
}

int
compute_migration_queue_waiting(compute_migration_queue_t *queue)
{
    int n = 0;

    pthread_mutex_lock(&queue->lock);
    for (job_t *job = queue->head; job; job = job->next)
        n += !job->running;
    pthread_mutex_unlock(&queue->lock);
    return n;
}

bool
compute_migration_queue_has(compute_migration_queue_t *queue, const char *id)
{
    bool found;

    pthread_mutex_lock(&queue->lock);
    found = queue_find_locked(queue, id) != NULL;
    pthread_mutex_unlock(&queue->lock);
    return found;
}
