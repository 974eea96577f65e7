/*
 * tests/db/test-db-outcomes.c: how migrations end (db/migration_outcome.c) - a migration ends only
 * its own task, ends are idempotent and the first wins, needs-operator holds the task, and the
 * lists that recovery reads (leftovers on a host, migrations whose source went silent).
 */
#include <string.h>

#include "db/db.h"
#include "tests/db/test-db.h"

/* begin: db_migration_begin of instance from src, as a conductor does (the task is the
 * migration's). */
static void
begin(db_conn_t *conn, const char *inst, const char *src, char ret_uuid[DB_UUID_LEN])
{
    db_migration_t req = {0}, got = {0};

    tern_strlcpy(req.instance_uuid, inst, sizeof(req.instance_uuid));
    req.source_compute = (char *)src;
    CK_OK(db_migration_begin(conn, &req, "cond", "req", "live-migration", NULL, &got));
    tern_strlcpy(ret_uuid, got.uuid, DB_UUID_LEN);
    db_migration_clear(&got);
}

static void
run_to(db_conn_t *conn, const char *mig, const char *dest)
{
    CK_OK(db_migration_set_destination(conn, mig, dest, "dn"));
    CK_OK(db_migration_set_status(conn, mig, DB_MIGRATION_PREPARING, NULL));
    CK_OK(db_migration_set_status(conn, mig, DB_MIGRATION_RUNNING, NULL));
}

/* task_of: the instance's task_state ("-" for none) and host. */
static void
task_of(db_conn_t *conn, const char *inst, char *ret_task, size_t size, char **ret_host)
{
    db_instance_t got = {0};

    CK_OK(db_instance_get(conn, inst, &got));
    tern_strlcpy(ret_task, got.task_state ? got.task_state : "-", size);
    if (ret_host)
        *ret_host = tern_strdup(got.host);
    db_instance_clear(&got);
}

/* The race of a swept slow request: migration A is swept (its conductor looked gone), B begins
 * on the same instance, then A's own request fails late and ends A again. A's late end must
 * leave B's task, and A's late switch-over must not move the instance. */
START_TEST(test_late_end_leaves_a_newer_migrations_task)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *dst = test_name("dst");
    TERN_AUTOFREE char *host = NULL;
    char inst[DB_UUID_LEN], a[DB_UUID_LEN], b[DB_UUID_LEN], task[32];
    bool ended = true;

    test_make_node(conn, dst, "dn", 4096, 0);
    test_make_instance(conn, src, "sn", inst);
    begin(conn, inst, src, a);
    run_to(conn, a, dst);
    CK_OK(db_claim_take(
        conn, &(db_claim_request_t){.migration_uuid = a, .host = dst, .memory_mb = 256}, NULL));
    CK_OK(db_migration_end(conn, a, DB_MIGRATION_ERROR, "swept", NULL, &ended));
    ck_assert(ended);
    task_of(conn, inst, task, sizeof(task), NULL);
    ck_assert_str_eq(task, "-");

    begin(conn, inst, src, b);
    CK_OK(db_claim_take(
        conn, &(db_claim_request_t){.migration_uuid = b, .host = dst, .memory_mb = 256}, NULL));

    /* A ends again, late: succeeds (idempotent), keeps its first end, and leaves B alone. */
    CK_OK(db_migration_end(conn, a, DB_MIGRATION_FAILED, "the slow request failed", NULL, &ended));
    ck_assert(!ended);
    task_of(conn, inst, task, sizeof(task), NULL);
    ck_assert_str_eq(task, DB_TASK_STATE_MIGRATING);
    {
        db_migration_t got = {0};
        db_claim_t *claims = NULL;
        size_t n = 0;

        CK_OK(db_migration_get(conn, a, &got));
        ck_assert_int_eq(got.status, DB_MIGRATION_ERROR);
        ck_assert_str_eq(got.error_message, "swept");
        db_migration_clear(&got);
        CK_OK(db_claim_list(conn, dst, "dn", &claims, &n));
        ck_assert_uint_eq(n, 1); /* B's claim is still there */
        ck_assert_str_eq(claims[0].migration_uuid, b);
        db_claim_list_free(claims, n);
    }

    /* A's late switch-over: refused, the instance stays where it is. */
    CK_FAILS(db_migration_switch_over(conn, a, NULL), TERN_ERR_CONFLICT);
    task_of(conn, inst, task, sizeof(task), &host);
    ck_assert_str_eq(host, src);
    ck_assert_str_eq(task, DB_TASK_STATE_MIGRATING);

    /* B ends: its task is cleared. */
    CK_OK(db_migration_end(conn, b, DB_MIGRATION_CANCELLED, "aborted", NULL, &ended));
    ck_assert(ended);
    task_of(conn, inst, task, sizeof(task), NULL);
    ck_assert_str_eq(task, "-");
    db_close(conn);
}
END_TEST

START_TEST(test_end_after_switch_over_refused)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *dst = test_name("dst");
    db_migration_t got = {0};
    char inst[DB_UUID_LEN], m[DB_UUID_LEN];

    test_make_instance(conn, src, "sn", inst);
    begin(conn, inst, src, m);
    run_to(conn, m, dst);
    CK_OK(db_migration_switch_over(conn, m, NULL));
    CK_FAILS(db_migration_end(conn, m, DB_MIGRATION_FAILED, "late", NULL, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("switched over");
    CK_OK(db_migration_get(conn, m, &got));
    ck_assert_int_eq(got.status, DB_MIGRATION_COMPLETED);
    ck_assert_ptr_null(got.error_message);
    db_migration_clear(&got);
    CK_FAILS(db_migration_end(conn, m, DB_MIGRATION_COMPLETED, NULL, NULL, NULL), TERN_ERR_INVALID);
    db_close(conn);
}
END_TEST

/* A rollback the destination did not answer leaves its leftovers marked; post-processing that
 * ran clears the source's mark; each host lists what is left on it. */
START_TEST(test_leftovers_listed_per_host)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *dst = test_name("dst");
    db_migration_filter_t on_dst = {.status = -1, .cleanup_host = dst};
    db_migration_filter_t on_src = {.status = -1, .cleanup_host = src};
    db_migration_t *list = NULL;
    size_t n = 0;
    char inst[DB_UUID_LEN], failed[DB_UUID_LEN], moved[DB_UUID_LEN];

    test_make_instance(conn, src, "sn", inst);
    begin(conn, inst, src, failed);
    run_to(conn, failed, dst);
    CK_OK(db_migration_end(conn, failed, DB_MIGRATION_FAILED, "link", dst, NULL));
    CK_OK(db_migration_list(conn, &on_dst, &list, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].uuid, failed);
    db_migration_list_free(list, n);

    begin(conn, inst, src, moved);
    run_to(conn, moved, dst);
    CK_OK(db_migration_switch_over(conn, moved, NULL));
    CK_OK(db_migration_list(conn, &on_src, &list, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].uuid, moved);
    db_migration_list_free(list, n);
    CK_OK(db_migration_set_cleanup_host(conn, moved, NULL));
    CK_OK(db_migration_set_cleanup_host(conn, failed, NULL));
    CK_OK(db_migration_list(conn, &on_src, &list, &n));
    ck_assert_uint_eq(n, 0);
    db_migration_list_free(list, n);
    CK_OK(db_migration_list(conn, &on_dst, &list, &n));
    ck_assert_uint_eq(n, 0);
    db_migration_list_free(list, n);
    db_close(conn);
}
END_TEST

/* needs-operator keeps the task and the claim; an operator's (or a later recovery's) end or
 * switch-over releases them. */
START_TEST(test_needs_operator_holds_the_task)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *dst = test_name("dst");
    TERN_AUTOFREE char *host = NULL;
    char inst[DB_UUID_LEN], m[DB_UUID_LEN], task[32];

    test_make_instance(conn, src, "sn", inst);
    begin(conn, inst, src, m);
    run_to(conn, m, dst);
    CK_OK(db_migration_set_status(conn, m, DB_MIGRATION_NEEDS_OPERATOR, "paused on both hosts"));
    ck_assert(!db_migration_status_is_final(DB_MIGRATION_NEEDS_OPERATOR));
    ck_assert(
        !db_migration_transition_allowed(DB_MIGRATION_NEEDS_OPERATOR, DB_MIGRATION_CANCELLED));
    task_of(conn, inst, task, sizeof(task), NULL);
    ck_assert_str_eq(task, DB_TASK_STATE_MIGRATING);
    CK_OK(db_migration_switch_over(conn, m, NULL));
    task_of(conn, inst, task, sizeof(task), &host);
    ck_assert_str_eq(task, "-");
    ck_assert_str_eq(host, dst);
    db_close(conn);
}
END_TEST

/* postcopy-paused (post-copy's stream broke) comes only after the switch to post-copy, keeps the
 * task and the claim like needs-operator, cannot be cancelled, and an operator's end releases
 * them with the instance still on its source. */
START_TEST(test_postcopy_paused_holds_the_task)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *dst = test_name("dst");
    TERN_AUTOFREE char *host = NULL;
    char inst[DB_UUID_LEN], m[DB_UUID_LEN], task[32];
    bool ended = false;

    test_make_instance(conn, src, "pc", inst);
    begin(conn, inst, src, m);
    /* queued: it never ran */
    CK_FAILS(db_migration_set_status(conn, m, DB_MIGRATION_POSTCOPY_PAUSED, "broke"),
             TERN_ERR_CONFLICT);
    run_to(conn, m, dst);
    CK_OK(db_migration_set_status(conn, m, DB_MIGRATION_POSTCOPY_ACTIVE, NULL));
    CK_OK(db_migration_set_status(conn, m, DB_MIGRATION_POSTCOPY_PAUSED, "the stream broke"));
    CK_OK(db_migration_set_status(conn, m, DB_MIGRATION_POSTCOPY_PAUSED, "the stream broke"));
    ck_assert(!db_migration_status_is_final(DB_MIGRATION_POSTCOPY_PAUSED));
    CK_FAILS(db_migration_set_status(conn, m, DB_MIGRATION_CANCELLED, NULL), TERN_ERR_CONFLICT);
    task_of(conn, inst, task, sizeof(task), NULL);
    ck_assert_str_eq(task, DB_TASK_STATE_MIGRATING);
    CK_OK(db_migration_end(conn, m, DB_MIGRATION_ERROR, "an operator ended it", NULL, &ended));
    ck_assert(ended);
    task_of(conn, inst, task, sizeof(task), &host);
    ck_assert_str_eq(task, "-");
    ck_assert_str_eq(host, src);
    db_close(conn);
}
END_TEST

/* The conductor's watch over sources that went silent: a migration in flight whose source
 * compute has no recent heartbeat is listed; one whose source reports is not. */
START_TEST(test_silent_sources_listed)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *alive = test_name("alive");
    TERN_AUTOFREE char *silent = test_name("silent");
    db_migration_filter_t f = {.status = -1, .unfinished_only = true, .source_silent_s = 30};
    db_migration_t *list = NULL;
    size_t n = 0;
    char i1[DB_UUID_LEN], i2[DB_UUID_LEN], m1[DB_UUID_LEN], m2[DB_UUID_LEN];
    bool found1 = false, found2 = false;

    CK_OK(db_service_upsert(conn, alive, "tern-compute", "compute", 1, NULL));
    test_make_instance(conn, alive, "n", i1);
    test_make_instance(conn, silent, "n", i2);
    begin(conn, i1, alive, m1);
    begin(conn, i2, silent, m2);
    CK_OK(db_migration_list(conn, &f, &list, &n));
    for (size_t i = 0; i < n; i++) {
        found1 = found1 || strcmp(list[i].uuid, m1) == 0;
        found2 = found2 || strcmp(list[i].uuid, m2) == 0;
    }
    db_migration_list_free(list, n);
    ck_assert(!found1);
    ck_assert(found2);
    db_close(conn);
}
END_TEST

/* The conductor abandons a migration it could not hand over only while the source has not
 * taken it: a cast that looked failed but arrived is never ended behind the source's back. */
START_TEST(test_abandon_only_before_the_source_takes_it)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    db_migration_t got = {0};
    char inst[DB_UUID_LEN], m[DB_UUID_LEN], task[32];
    bool ended = false;

    test_make_instance(conn, src, "sn", inst);
    begin(conn, inst, src, m);
    CK_OK(db_migration_set_status(conn, m, DB_MIGRATION_PREPARING, NULL)); /* the source took it */
    CK_FAILS(db_migration_abandon(conn, m, "cast timed out", &ended), TERN_ERR_CONFLICT);
    CK_MSG_HAS("has taken it");
    CK_OK(db_migration_get(conn, m, &got));
    ck_assert_int_eq(got.status, DB_MIGRATION_PREPARING);
    db_migration_clear(&got);
    task_of(conn, inst, task, sizeof(task), NULL);
    ck_assert_str_eq(task, DB_TASK_STATE_MIGRATING);
    CK_OK(db_migration_end(conn, m, DB_MIGRATION_FAILED, "done", NULL, NULL));

    /* Not taken: abandoned; the late cast's first report is then refused. */
    begin(conn, inst, src, m);
    CK_OK(db_migration_abandon(conn, m, "cast timed out", &ended));
    ck_assert(ended);
    CK_FAILS(db_migration_set_status(conn, m, DB_MIGRATION_PREPARING, NULL), TERN_ERR_CONFLICT);
    task_of(conn, inst, task, sizeof(task), NULL);
    ck_assert_str_eq(task, "-");
    /* Ended already (a sweep came first): the first end wins, no error. */
    CK_OK(db_migration_abandon(conn, m, "again", &ended));
    ck_assert(!ended);
    db_close(conn);
}
END_TEST

TCase *
test_db_case_outcomes(void)
{
    TCase *tc = tcase_create("outcomes");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_late_end_leaves_a_newer_migrations_task);
    tcase_add_test(tc, test_end_after_switch_over_refused);
    tcase_add_test(tc, test_leftovers_listed_per_host);
    tcase_add_test(tc, test_needs_operator_holds_the_task);
    tcase_add_test(tc, test_postcopy_paused_holds_the_task);
    tcase_add_test(tc, test_silent_sources_listed);
    tcase_add_test(tc, test_abandon_only_before_the_source_takes_it);
    return tc;
}
