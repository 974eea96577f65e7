/*
 * tests/compute/test-migration-queue.c: bounded concurrency of outgoing live migrations.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/compute/compute_tests.h"
#include "compute/migration_queue.h"

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running, max_seen, done, cancelled, freed;
    bool release; /* jobs block until this is set */
} board_t;

static board_t board;

static void
board_reset(void)
{
    memset(&board, 0, sizeof(board));
    pthread_mutex_init(&board.lock, NULL);
    pthread_cond_init(&board.cond, NULL);
}

static void
job_run(void *opaque)
{
    pthread_mutex_lock(&board.lock);
    board.running++;
    if (board.running > board.max_seen)
        board.max_seen = board.running;
    pthread_cond_broadcast(&board.cond);
    while (!board.release)
        pthread_cond_wait(&board.cond, &board.lock);
    board.running--;
    board.done++;
    pthread_cond_broadcast(&board.cond);
    pthread_mutex_unlock(&board.lock);
}

static void
job_cancelled(void *opaque)
{
    pthread_mutex_lock(&board.lock);
    board.cancelled++;
    pthread_mutex_unlock(&board.lock);
}

static void
job_free(void *opaque)
{
    pthread_mutex_lock(&board.lock);
    board.freed++;
    pthread_mutex_unlock(&board.lock);
    free(opaque);
}

static const compute_migration_job_ops_t ops = {
    .run = job_run,
    .cancelled = job_cancelled,
    .free = job_free,
};

static void
wait_running(int n)
{
    pthread_mutex_lock(&board.lock);
    while (board.running < n)
        pthread_cond_wait(&board.cond, &board.lock);
    pthread_mutex_unlock(&board.lock);
}

static void
release_all(void)
{
    pthread_mutex_lock(&board.lock);
    board.release = true;
    pthread_cond_broadcast(&board.cond);
    pthread_mutex_unlock(&board.lock);
}

START_TEST(test_queue_runs_at_most_max_and_keeps_the_rest_waiting)
{
    compute_migration_queue_t *q;
    char id[16];

    board_reset();
    q = compute_migration_queue_new(2);
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "m%d", i);
        ck_assert_int_eq(compute_migration_queue_submit(q, id, &ops, tern_malloc(8)), 0);
    }
    wait_running(2);
    ck_assert_int_eq(compute_migration_queue_running(q), 2);
    ck_assert_int_eq(compute_migration_queue_waiting(q), 3);
    release_all();
    compute_migration_queue_free(q);
    ck_assert_int_eq(board.max_seen, 2);
    ck_assert_int_eq(board.done + board.cancelled, 5);
    ck_assert_int_eq(board.freed, 5);
}
END_TEST

START_TEST(test_queue_duplicate_id_refused_as_conflict)
{
    compute_migration_queue_t *q;

    board_reset();
    q = compute_migration_queue_new(1);
    ck_assert_int_eq(compute_migration_queue_submit(q, "m1", &ops, tern_malloc(8)), 0);
    ck_assert_int_eq(compute_migration_queue_submit(q, "m1", &ops, NULL), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_CONFLICT);
    ck_assert_str_eq(tern_error_message(), "migration \"m1\" is already queued or running");
    release_all();
    compute_migration_queue_free(q);
    ck_assert_int_eq(board.freed, 1);
}
END_TEST

START_TEST(test_queue_cancel_waiting_job_only)
{
    compute_migration_queue_t *q;

    board_reset();
    q = compute_migration_queue_new(1);
    ck_assert_int_eq(compute_migration_queue_submit(q, "a", &ops, tern_malloc(8)), 0);
    ck_assert_int_eq(compute_migration_queue_submit(q, "b", &ops, tern_malloc(8)), 0);
    wait_running(1);
    ck_assert(!compute_migration_queue_cancel(q, "a")); /* running */
    ck_assert(compute_migration_queue_cancel(q, "b"));  /* waiting */
    ck_assert(!compute_migration_queue_cancel(q, "b"));
    ck_assert(!compute_migration_queue_has(q, "b"));
    ck_assert_int_eq(board.cancelled, 1);
    release_all();
    compute_migration_queue_free(q);
    ck_assert_int_eq(board.done, 1);
    ck_assert_int_eq(board.freed, 2);
}
END_TEST

START_TEST(test_queue_zero_means_unlimited)
{
    compute_migration_queue_t *q;
    char id[16];

    board_reset();
    q = compute_migration_queue_new(0);
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof(id), "m%d", i);
        ck_assert_int_eq(compute_migration_queue_submit(q, id, &ops, tern_malloc(8)), 0);
    }
    wait_running(4);
    ck_assert_int_eq(compute_migration_queue_waiting(q), 0);
    release_all();
    compute_migration_queue_free(q);
    ck_assert_int_eq(board.done, 4);
}
END_TEST

TCase *
compute_queue_tcase(void)
{
    TCase *tc = tcase_create("queue");

    tcase_add_test(tc, test_queue_cancel_waiting_job_only);
    tcase_add_test(tc, test_queue_duplicate_id_refused_as_conflict);
    tcase_add_test(tc, test_queue_runs_at_most_max_and_keeps_the_rest_waiting);
    tcase_add_test(tc, test_queue_zero_means_unlimited);
    return tc;
}
