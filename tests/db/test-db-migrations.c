/*
 * tests/db/test-db-migrations.c: the migrations table: round trip, the status machine (also
 * under two concurrent clients), progress, phases, lists for crash recovery, switch-over, the
 * sweep of migrations orphaned by their conductor, the all-or-nothing start.
 */
#include <pthread.h>
#include <string.h>

#include "tests/db/test-db.h"

START_TEST(test_migration_round_trip_and_progress)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    db_migration_t m = {0}, got = {0}, byid = {0};
    db_migration_progress_t g = {.memory_total = 268435456,
                                 .memory_processed = 1000,
                                 .memory_remaining = 268434456,
                                 .disk_total = 5,
                                 .disk_processed = 4,
                                 .disk_remaining = 1,
                                 .dirty_rate = 4096,
                                 .iterations = 3};
    char inst[DB_UUID_LEN];

    test_make_instance(conn, src, "n", inst);
    tern_strlcpy(m.instance_uuid, inst, sizeof(m.instance_uuid));
    m.source_compute = src;
    m.source_node = (char *)"n";
    m.block_migration = true;
    m.user_id = (char *)"u";
    m.project_id = (char *)"p";
    CK_OK(db_migration_create(conn, &m, &got));
    ck_assert_int_eq(got.status, DB_MIGRATION_QUEUED);
    ck_assert_str_eq(got.migration_type, "live-migration");
    ck_assert_ptr_null(got.dest_compute);
    ck_assert(got.block_migration);
    ck_assert_int_eq(got.downtime_ms, -1);
    ck_assert_int_eq(got.total_time_ms, -1);
    ck_assert_int_eq(got.finished_ms, 0);

    CK_OK(db_migration_set_destination(conn, got.uuid, "dest-1", "dn"));
    CK_OK(db_migration_update_progress(conn, got.uuid, &g));
    CK_OK(db_migration_set_times(conn, got.uuid, 42, 1600));
    CK_OK(db_migration_set_times(conn, got.uuid, -1, 1700)); /* downtime kept */
    CK_OK(db_migration_get_by_id(conn, got.id, &byid));
    ck_assert_str_eq(byid.uuid, got.uuid);
    ck_assert_str_eq(byid.instance_uuid, inst);
    ck_assert_str_eq(byid.source_compute, src);
    ck_assert_str_eq(byid.source_node, "n");
    ck_assert_str_eq(byid.dest_compute, "dest-1");
    ck_assert_str_eq(byid.dest_node, "dn");
    ck_assert_str_eq(byid.user_id, "u");
    ck_assert_str_eq(byid.project_id, "p");
    ck_assert_int_eq(byid.memory_total, 268435456);
    ck_assert_int_eq(byid.memory_processed, 1000);
    ck_assert_int_eq(byid.memory_remaining, 268434456);
    ck_assert_int_eq(byid.disk_total, 5);
    ck_assert_int_eq(byid.disk_processed, 4);
    ck_assert_int_eq(byid.disk_remaining, 1);
    ck_assert_int_eq(byid.dirty_rate, 4096);
    ck_assert_int_eq(byid.iterations, 3);
    ck_assert_int_eq(byid.downtime_ms, 42);
    ck_assert_int_eq(byid.total_time_ms, 1700);
    db_migration_clear(&byid);

    CK_OK(db_migration_set_error(conn, got.uuid, "disk \"vda\" too small"));
    CK_OK(db_migration_get(conn, got.uuid, &byid));
    ck_assert_str_eq(byid.error_message, "disk \"vda\" too small");
    ck_assert_int_eq(byid.status, DB_MIGRATION_QUEUED);
    db_migration_clear(&byid);
    db_migration_clear(&got);
    db_close(conn);
}
END_TEST

START_TEST(test_migration_errors)
{
    db_conn_t *conn = test_open();
    db_migration_t m = {0}, got = {0};
    char uuid[DB_UUID_LEN];

    tern_uuid_generate(uuid);
    tern_strlcpy(m.instance_uuid, uuid, sizeof(m.instance_uuid));
    m.source_compute = (char *)"h";
    CK_FAILS(db_migration_create(conn, &m, NULL), TERN_ERR_NOT_FOUND); /* no such instance */
    CK_FAILS(db_migration_get(conn, uuid, &got), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_migration_get_by_id(conn, -5, &got), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_migration_set_status(conn, uuid, DB_MIGRATION_RUNNING, NULL), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_migration_phase_begin(conn, uuid, DB_MIGRATION_PHASE_CHECKS), TERN_ERR_NOT_FOUND);
    test_make_instance(conn, "h", "n", uuid);
    tern_strlcpy(m.instance_uuid, uuid, sizeof(m.instance_uuid));
    m.migration_type = (char *)"teleport";
    CK_FAILS(db_migration_create(conn, &m, NULL), TERN_ERR_INVALID);
    db_close(conn);
}
END_TEST

START_TEST(test_migration_status_machine)
{
    db_conn_t *conn = test_open();
    db_migration_t got = {0};
    char inst[DB_UUID_LEN], mig[DB_UUID_LEN], mig2[DB_UUID_LEN];

    ck_assert(db_migration_transition_allowed(DB_MIGRATION_QUEUED, DB_MIGRATION_PREPARING));
    ck_assert(
        db_migration_transition_allowed(DB_MIGRATION_POSTCOPY_ACTIVE, DB_MIGRATION_COMPLETED));
    ck_assert(!db_migration_transition_allowed(DB_MIGRATION_QUEUED, DB_MIGRATION_COMPLETED));
    ck_assert(!db_migration_transition_allowed(DB_MIGRATION_COMPLETED, DB_MIGRATION_FAILED));
    ck_assert(
        !db_migration_transition_allowed(DB_MIGRATION_POSTCOPY_ACTIVE, DB_MIGRATION_CANCELLED));
    ck_assert_str_eq(db_migration_status_name(DB_MIGRATION_POSTCOPY_ACTIVE), "postcopy-active");
    ck_assert_int_eq(db_migration_status_from_name("cancelled"), DB_MIGRATION_CANCELLED);
    ck_assert_int_eq(db_migration_status_from_name("nope"), -1);

    test_make_instance(conn, "h", "n", inst);
    test_make_migration(conn, inst, "h", "d", NULL, mig);
    CK_FAILS(db_migration_set_status(conn, mig, DB_MIGRATION_COMPLETED, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("its status is \"queued\"");
    CK_OK(db_migration_set_status(conn, mig, DB_MIGRATION_PREPARING, NULL));
    CK_OK(db_migration_set_status(conn, mig, DB_MIGRATION_PREPARING, NULL)); /* no-op */
    CK_OK(db_migration_set_status(conn, mig, DB_MIGRATION_RUNNING, NULL));
    CK_FAILS(db_migration_set_destination(conn, mig, "other", NULL), TERN_ERR_CONFLICT);
    CK_OK(db_migration_set_status(conn, mig, DB_MIGRATION_POSTCOPY_ACTIVE, NULL));
    CK_FAILS(db_migration_set_status(conn, mig, DB_MIGRATION_CANCELLED, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("\"postcopy-active\"");
    CK_OK(db_migration_get(conn, mig, &got));
    ck_assert_int_eq(got.finished_ms, 0);
    db_migration_clear(&got);
    CK_OK(db_migration_set_status(conn, mig, DB_MIGRATION_FAILED, "guest crashed"));
    CK_OK(db_migration_get(conn, mig, &got));
    ck_assert_int_eq(got.status, DB_MIGRATION_FAILED);
    ck_assert_str_eq(got.error_message, "guest crashed");
    ck_assert_int_gt(got.finished_ms, 0);
    db_migration_clear(&got);
    CK_FAILS(db_migration_set_status(conn, mig, DB_MIGRATION_RUNNING, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("\"failed\"");

    test_make_migration(conn, inst, "h", "d", NULL, mig2);
    CK_OK(db_migration_set_status(conn, mig2, DB_MIGRATION_CANCELLED, NULL));
    CK_FAILS(db_migration_set_status(conn, mig2, DB_MIGRATION_PREPARING, NULL), TERN_ERR_CONFLICT);
    db_close(conn);
}
END_TEST

START_TEST(test_migration_phases)
{
    db_conn_t *conn = test_open();
    db_migration_t got = {0};
    char inst[DB_UUID_LEN], mig[DB_UUID_LEN];
    int64_t first;

    test_make_instance(conn, "h", "n", inst);
    test_make_migration(conn, inst, "h", "d", NULL, mig);
    for (int p = 0; p < DB_MIGRATION_PHASE__COUNT; p++) {
        CK_OK(db_migration_phase_begin(conn, mig, (db_migration_phase_t)p));
        tern_sleep_ms(5);
        CK_OK(db_migration_phase_end(conn, mig, (db_migration_phase_t)p));
    }
    CK_OK(db_migration_get(conn, mig, &got));
    for (int p = 0; p < DB_MIGRATION_PHASE__COUNT; p++) {
        ck_assert_int_gt(got.phase_start_ms[p], 0);
        ck_assert_int_ge(got.phase_end_ms[p], got.phase_start_ms[p] + 5);
        if (p > 0)
            ck_assert_int_ge(got.phase_start_ms[p], got.phase_end_ms[p - 1]);
    }
    first = got.phase_start_ms[DB_MIGRATION_PHASE_CHECKS];
    db_migration_clear(&got);
    /* A second begin keeps the first start time. */
    tern_sleep_ms(5);
    CK_OK(db_migration_phase_begin(conn, mig, DB_MIGRATION_PHASE_CHECKS));
    CK_OK(db_migration_get(conn, mig, &got));
    ck_assert_int_eq(got.phase_start_ms[DB_MIGRATION_PHASE_CHECKS], first);
    db_migration_clear(&got);
    ck_assert_str_eq(db_migration_phase_name(DB_MIGRATION_PHASE_PREPARATION), "preparation");
    CK_FAILS(db_migration_phase_end(conn, mig, DB_MIGRATION_PHASE__COUNT), TERN_ERR_INVALID);
    db_close(conn);
}
END_TEST

START_TEST(test_migrate_data_kept_for_recovery)
{
    db_conn_t *conn = test_open();
    char inst[DB_UUID_LEN], mig[DB_UUID_LEN];
    json_t *data = json_pack("{s:b, s:s}", "is_shared_instance_path", 0, "note", "it's \"x\"");
    json_t *got = NULL;

    test_make_instance(conn, "h", "n", inst);
    test_make_migration(conn, inst, "h", "d", NULL, mig);
    CK_OK(db_migration_get_migrate_data(conn, mig, &got));
    ck_assert(json_is_null(got)); /* never stored */
    json_decref(got);
    CK_OK(db_migration_set_migrate_data(conn, mig, data));
    CK_OK(db_migration_get_migrate_data(conn, mig, &got));
    ck_assert(json_equal(got, data));
    json_decref(got);
    CK_FAILS(db_migration_get_migrate_data(conn, "00000000-0000-4000-8000-000000000000", &got),
             TERN_ERR_NOT_FOUND);
    json_decref(data);
    db_close(conn);
}
END_TEST

START_TEST(test_migration_lists_for_recovery)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *dst = test_name("dst");
    db_migration_t *list = NULL;
    size_t n = 0;
    char i1[DB_UUID_LEN], i2[DB_UUID_LEN], m1[DB_UUID_LEN], m2[DB_UUID_LEN], m3[DB_UUID_LEN];

    test_make_instance(conn, src, "n", i1);
    test_make_instance(conn, src, "n", i2);
    test_make_migration(conn, i1, src, dst, NULL, m1);
    test_make_migration(conn, i2, src, dst, NULL, m2);
    test_make_migration(conn, i2, dst, src, NULL, m3);
    CK_OK(db_migration_set_status(conn, m1, DB_MIGRATION_PREPARING, NULL));
    CK_OK(db_migration_set_status(conn, m2, DB_MIGRATION_ERROR, "x"));

    CK_OK(db_migration_list(conn, &(db_migration_filter_t){.host = dst, .status = -1}, &list, &n));
    ck_assert_uint_eq(n, 3);
    db_migration_list_free(list, n);
    CK_OK(db_migration_list(
        conn, &(db_migration_filter_t){.host = dst, .status = -1, .unfinished_only = true}, &list,
        &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].uuid, m1);
    ck_assert_str_eq(list[1].uuid, m3);
    db_migration_list_free(list, n);
    CK_OK(db_migration_list(
        conn, &(db_migration_filter_t){.host = src, .status = DB_MIGRATION_PREPARING}, &list, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].uuid, m1);
    db_migration_list_free(list, n);
    CK_OK(db_migration_list(conn, &(db_migration_filter_t){.instance_uuid = i2, .status = -1},
                            &list, &n));
    ck_assert_uint_eq(n, 2);
    db_migration_list_free(list, n);
    CK_OK(db_migration_list(conn, NULL, &list, &n));
    ck_assert_uint_ge(n, 3);
    db_migration_list_free(list, n);
    db_close(conn);
}
END_TEST

START_TEST(test_switch_over_moves_instance_atomically)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *dst = test_name("dst");
    db_instance_t inst = {0};
    db_migration_t mig = {0};
    char i1[DB_UUID_LEN], m1[DB_UUID_LEN], m2[DB_UUID_LEN];

    test_make_instance(conn, src, "sn", i1);
    test_make_migration(conn, i1, src, dst, "dn", m1);
    CK_OK(db_instance_task_state_begin(conn, i1, NULL, DB_TASK_STATE_MIGRATING, NULL));

    /* Not running yet: refused, nothing changes. */
    CK_FAILS(db_migration_switch_over(conn, m1, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("\"queued\"");
    CK_OK(db_migration_set_status(conn, m1, DB_MIGRATION_PREPARING, NULL));
    CK_OK(db_migration_set_status(conn, m1, DB_MIGRATION_RUNNING, NULL));

    /* The migration does not own the instance's task: refused, and the migration stays running
     * (one transaction). */
    CK_FAILS(db_migration_switch_over(conn, m1, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("(migrating) is not migration");
    CK_OK(db_migration_get(conn, m1, &mig));
    ck_assert_int_eq(mig.status, DB_MIGRATION_RUNNING);
    db_migration_clear(&mig);
    CK_OK(db_instance_get(conn, i1, &inst));
    ck_assert_str_eq(inst.host, src);
    db_instance_clear(&inst);

    CK_OK(db_migration_own_task(conn, m1));
    CK_OK(db_migration_switch_over(conn, m1, &inst));
    ck_assert_str_eq(inst.host, dst);
    ck_assert_str_eq(inst.node, "dn");
    ck_assert_ptr_null(inst.task_state);
    db_instance_clear(&inst);
    CK_OK(db_migration_get(conn, m1, &mig));
    ck_assert_int_eq(mig.status, DB_MIGRATION_COMPLETED);
    ck_assert_int_gt(mig.finished_ms, 0);
    ck_assert_str_eq(mig.cleanup_host, src); /* the source's leftovers, until post-processing */
    db_migration_clear(&mig);
    /* A retried report of the same switch-over succeeds and changes nothing. */
    CK_OK(db_migration_switch_over(conn, m1, &inst));
    ck_assert_str_eq(inst.host, dst);
    db_instance_clear(&inst);

    /* A migration without destination cannot switch over. */
    test_make_migration(conn, i1, dst, NULL, NULL, m2);
    CK_OK(db_migration_set_status(conn, m2, DB_MIGRATION_PREPARING, NULL));
    CK_OK(db_migration_set_status(conn, m2, DB_MIGRATION_RUNNING, NULL));
    CK_FAILS(db_migration_switch_over(conn, m2, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("no destination");
    db_close(conn);
}
END_TEST

/* Two clients finish the same running migration differently: exactly one wins. */
typedef struct finisher {
    const char *uuid;
    db_migration_status_t status;
    pthread_barrier_t *barrier;
    db_conn_t *conn;
    int rc;
    tern_error_t err;
} finisher_t;

static void *
finisher_run(void *arg)
{
    finisher_t *f = arg;

    pthread_barrier_wait(f->barrier);
    f->rc = db_migration_set_status(f->conn, f->uuid, f->status, NULL);
    tern_error_copy(&f->err);
    return NULL;
}

START_TEST(test_migration_status_race_one_wins)
{
    db_conn_t *setup = test_open();
    char inst[DB_UUID_LEN];

    test_make_instance(setup, "h", "n", inst);
    for (int round = 0; round < 10; round++) {
        pthread_barrier_t barrier;
        finisher_t f[2] = {{.status = DB_MIGRATION_COMPLETED}, {.status = DB_MIGRATION_CANCELLED}};
        pthread_t th[2];
        char mig[DB_UUID_LEN];
        int wins = 0;

        test_make_migration(setup, inst, "h", "d", NULL, mig);
        CK_OK(db_migration_set_status(setup, mig, DB_MIGRATION_PREPARING, NULL));
        CK_OK(db_migration_set_status(setup, mig, DB_MIGRATION_RUNNING, NULL));
        pthread_barrier_init(&barrier, NULL, 2);
        for (int i = 0; i < 2; i++) {
            f[i].uuid = mig;
            f[i].barrier = &barrier;
            f[i].conn = test_open();
            ck_assert_int_eq(pthread_create(&th[i], NULL, finisher_run, &f[i]), 0);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            db_close(f[i].conn);
        }
        pthread_barrier_destroy(&barrier);
        for (int i = 0; i < 2; i++) {
            if (f[i].rc == 0) {
                wins++;
                continue;
            }
            ck_assert_int_eq(f[i].err.code, TERN_ERR_CONFLICT);
            ck_assert_msg(strstr(f[i].err.message, db_migration_status_name(f[1 - i].status)),
                          "loser's message does not name the winner's status: %s",
                          f[i].err.message);
        }
        ck_assert_int_eq(wins, 1);
    }
    db_close(setup);
}
END_TEST

/* taken: whether uuid is among the n migrations of list. */
static bool
taken(const db_migration_t *list, size_t n, const char *uuid)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].uuid, uuid) == 0)
            return true;
    }
    return false;
}

START_TEST(test_orphans_of_a_gone_conductor_taken_once)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *restarted = test_name("cond-restarted");
    TERN_AUTOFREE char *alive = test_name("cond-alive");
    TERN_AUTOFREE char *dead = test_name("cond-dead");
    char inst[DB_UUID_LEN], m_restarted[DB_UUID_LEN], m_alive[DB_UUID_LEN], m_dead[DB_UUID_LEN],
        m_handed[DB_UUID_LEN], m_ownerless[DB_UUID_LEN];
    json_t *data = json_pack("{s:b}", "block_migration", 1);
    db_migration_t *list = NULL, got = {0};
    size_t n = 0;

    test_make_instance(conn, src, "n", inst);
    test_make_migration(conn, inst, src, NULL, NULL, m_restarted);
    test_make_migration(conn, inst, src, NULL, NULL, m_alive);
    test_make_migration(conn, inst, src, NULL, NULL, m_dead);
    test_make_migration(conn, inst, src, NULL, NULL, m_handed);
    test_make_migration(conn, inst, src, NULL, NULL, m_ownerless);
    CK_OK(db_migration_set_conductor(conn, m_restarted, restarted));
    CK_OK(db_migration_set_conductor(conn, m_alive, alive));
    CK_OK(db_migration_set_conductor(conn, m_dead, dead)); /* no service row at all */
    CK_OK(db_migration_set_conductor(conn, m_handed, restarted));
    CK_OK(db_migration_set_migrate_data(conn, m_handed, data)); /* handed off: not an orphan */
    CK_OK(
        db_service_upsert(conn, alive, "tern-conductor", "conductor", 1, NULL)); /* heartbeat now */

    CK_OK(db_migration_take_orphans(conn, restarted, 60, 3600, "swept", &list, &n));
    ck_assert(taken(list, n, m_restarted));
    ck_assert(taken(list, n, m_dead));
    ck_assert(!taken(list, n, m_alive));
    ck_assert(!taken(list, n, m_handed));
    ck_assert(!taken(list, n, m_ownerless)); /* fresh, owner unknown: maybe in flight */
    db_migration_list_free(list, n);

    CK_OK(db_migration_get(conn, m_restarted, &got));
    ck_assert_int_eq(got.status, DB_MIGRATION_ERROR);
    ck_assert_str_eq(got.error_message, "swept");
    ck_assert_int_gt(got.finished_ms, 0);
    db_migration_clear(&got);
    /* a conductor still alive but late cannot hand it off any more */
    CK_FAILS(db_migration_set_migrate_data(conn, m_restarted, data), TERN_ERR_CONFLICT);

    /* taken once: a second sweep finds neither again; age takes the ownerless one, and the
     * handed-off one the source never took (queued for longer than max_age) */
    CK_OK(db_migration_take_orphans(conn, restarted, 60, 0, "swept again", &list, &n));
    ck_assert(!taken(list, n, m_restarted));
    ck_assert(!taken(list, n, m_dead));
    ck_assert(taken(list, n, m_handed));
    ck_assert(taken(list, n, m_ownerless));
    ck_assert(taken(list, n, m_alive)); /* older than max_age (0 s here): whoever owns it */
    db_migration_list_free(list, n);
    CK_OK(db_migration_get(conn, m_handed, &got));
    ck_assert_str_eq(got.error_message, "handed to the source compute, which never took it");
    db_migration_clear(&got);
    json_decref(data);
    db_close(conn);
}
END_TEST

/* count_of: how many migrations and actions an instance has, and its task_state (or "-"). */
static void
count_of(db_conn_t *conn, const char *inst, size_t *n_migrations, size_t *n_actions,
         char *task_state, size_t task_state_size)
{
    db_migration_filter_t f = {.instance_uuid = inst, .status = -1};
    db_migration_t *migs = NULL;
    db_action_t *acts = NULL;
    db_instance_t got = {0};

    CK_OK(db_migration_list(conn, &f, &migs, n_migrations));
    db_migration_list_free(migs, *n_migrations);
    CK_OK(db_action_list(conn, inst, &acts, n_actions));
    db_action_list_free(acts, *n_actions);
    CK_OK(db_instance_get(conn, inst, &got));
    tern_strlcpy(task_state, got.task_state ? got.task_state : "-", task_state_size);
    db_instance_clear(&got);
}

START_TEST(test_migration_begin_all_or_nothing)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *cond = test_name("cond");
    db_migration_t req = {0}, got = {0}, *list = NULL;
    char inst[DB_UUID_LEN], ts[32];
    size_t n_migs, n_acts, n;
    int64_t action_id = 0;

    test_make_instance(conn, src, "n", inst);
    tern_strlcpy(req.instance_uuid, inst, sizeof(req.instance_uuid));
    req.source_compute = src;
    req.block_migration = true;

    /* a failure half-way (the migration row is refused after task_state and action) undoes all */
    req.source_compute = NULL;
    CK_FAILS(db_migration_begin(conn, &req, cond, "req-1", "live-migration", &action_id, &got),
             TERN_ERR_INVALID);
    count_of(conn, inst, &n_migs, &n_acts, ts, sizeof(ts));
    ck_assert_uint_eq(n_migs, 0);
    ck_assert_uint_eq(n_acts, 0);
    ck_assert_str_eq(ts, "-");

    /* all of it */
    req.source_compute = src;
    CK_OK(db_migration_begin(conn, &req, cond, "req-2", "live-migration", &action_id, &got));
    ck_assert_int_gt(action_id, 0);
    ck_assert_int_eq(got.status, DB_MIGRATION_QUEUED);
    ck_assert(got.block_migration);
    ck_assert_int_gt(got.phase_start_ms[DB_MIGRATION_PHASE_CHECKS], 0);
    count_of(conn, inst, &n_migs, &n_acts, ts, sizeof(ts));
    ck_assert_uint_eq(n_migs, 1);
    ck_assert_uint_eq(n_acts, 1);
    ck_assert_str_eq(ts, DB_TASK_STATE_MIGRATING);

    /* a second start finds the instance busy and changes nothing */
    CK_FAILS(db_migration_begin(conn, &req, cond, "req-3", "live-migration", NULL, NULL),
             TERN_ERR_CONFLICT);
    count_of(conn, inst, &n_migs, &n_acts, ts, sizeof(ts));
    ck_assert_uint_eq(n_migs, 1);
    ck_assert_uint_eq(n_acts, 1);

    /* the conductor was recorded with it: its restart sweeps it */
    CK_OK(db_migration_take_orphans(conn, cond, 60, 3600, "swept", &list, &n));
    ck_assert(taken(list, n, got.uuid));
    db_migration_list_free(list, n);
    db_migration_clear(&got);
    db_close(conn);
}
END_TEST

TCase *
test_db_case_migrations(void)
{
    TCase *tc = tcase_create("migrations");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_migration_round_trip_and_progress);
    tcase_add_test(tc, test_migrate_data_kept_for_recovery);
    tcase_add_test(tc, test_migration_errors);
    tcase_add_test(tc, test_migration_status_machine);
    tcase_add_test(tc, test_migration_phases);
    tcase_add_test(tc, test_migration_lists_for_recovery);
    tcase_add_test(tc, test_switch_over_moves_instance_atomically);
    tcase_add_test(tc, test_migration_status_race_one_wins);
    tcase_add_test(tc, test_orphans_of_a_gone_conductor_taken_once);
    tcase_add_test(tc, test_migration_begin_all_or_nothing);
    return tc;
}
