/*
 * tests/db/test-db-actions.c: the events of an instance action (db/actions.h) against the real
 * PostgreSQL: start/finish and one-shot round trips, finish idempotent (the other result is a
 * conflict), the open events of an action finished by name, the list in the order the steps
 * started, the events going with their action, and a migration knowing the action that started
 * it.
 */
#include <libpq-fe.h>

#include "tests/db/test-db.h"

/* new_action: an action of a new instance on a fresh host; its instance uuid in ret_inst. */
static int64_t
new_action(db_conn_t *conn, const char *request_id, char ret_inst[DB_UUID_LEN])
{
    TERN_AUTOFREE char *host = test_name("evh");
    int64_t id = 0;

    test_make_instance(conn, host, "n", ret_inst);
    CK_OK(db_action_start(conn, request_id, ret_inst, "live-migration", "alice", "proj", &id));
    ck_assert_int_gt(id, 0);
    return id;
}

START_TEST(test_action_event_round_trip)
{
    db_conn_t *conn = test_open();
    db_action_event_t *list = NULL;
    db_action_t got = {0};
    char inst[DB_UUID_LEN];
    int64_t action = new_action(conn, "req-ev-1", inst), ev = 0;
    size_t n = 0;

    CK_OK(db_action_event_start(conn, action, "conductor_try_destination", "h2", &ev));
    CK_OK(db_action_event_finish(conn, ev, false, "host \"h2\" has no room: 't'; DROP"));
    CK_OK(db_action_event_record(conn, action, "conductor_check", NULL, true, NULL));
    CK_OK(db_action_event_list(conn, action, &list, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(list[0].id, ev);
    ck_assert_int_eq(list[0].action_id, action);
    ck_assert_str_eq(list[0].event, "conductor_try_destination");
    ck_assert_str_eq(list[0].host, "h2");
    ck_assert_str_eq(list[0].result, "error");
    ck_assert_str_eq(list[0].message, "host \"h2\" has no room: 't'; DROP");
    ck_assert_int_gt(list[0].start_ms, 0);
    ck_assert_int_ge(list[0].finish_ms, list[0].start_ms);
    ck_assert_str_eq(list[1].event, "conductor_check");
    ck_assert_ptr_null(list[1].host);
    ck_assert_str_eq(list[1].result, "success");
    ck_assert_ptr_null(list[1].message);
    ck_assert_int_ge(list[1].finish_ms, list[1].start_ms);
    db_action_event_list_free(list, n);

    CK_OK(db_action_get(conn, inst, "req-ev-1", &got));
    ck_assert_int_eq(got.id, action);
    ck_assert_str_eq(got.user_id, "alice");
    db_action_clear(&got);
    CK_FAILS(db_action_get(conn, inst, "req-none", &got), TERN_ERR_NOT_FOUND);
    CK_MSG_HAS("req-none");
    CK_FAILS(db_action_event_start(conn, -5, "x", NULL, NULL), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_action_event_record(conn, -5, "x", NULL, true, NULL), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_action_event_start(conn, action, NULL, NULL, NULL), TERN_ERR_INVALID);
    db_close(conn);
}
END_TEST

START_TEST(test_action_event_finish_idempotent)
{
    db_conn_t *conn = test_open();
    db_action_event_t *list = NULL;
    char inst[DB_UUID_LEN];
    int64_t action = new_action(conn, "req-ev-2", inst), ev = 0, finish_ms;
    size_t n = 0, finished = 9;

    CK_OK(db_action_event_start(conn, action, "compute_live_migration", "src", &ev));
    CK_OK(db_action_event_list(conn, action, &list, &n));
    ck_assert_ptr_null(list[0].result);
    ck_assert_int_eq(list[0].finish_ms, 0);
    db_action_event_list_free(list, n);

    CK_OK(db_action_event_finish(conn, ev, true, NULL));
    CK_OK(db_action_event_list(conn, action, &list, &n));
    finish_ms = list[0].finish_ms;
    db_action_event_list_free(list, n);
    CK_OK(db_action_event_finish(conn, ev, true, NULL)); /* a retried report */
    CK_OK(db_action_event_list(conn, action, &list, &n));
    ck_assert_int_eq(list[0].finish_ms, finish_ms); /* the first finish time is kept */
    db_action_event_list_free(list, n);
    CK_FAILS(db_action_event_finish(conn, ev, false, "late"), TERN_ERR_CONFLICT);
    CK_MSG_HAS("\"success\"");
    CK_FAILS(db_action_event_finish(conn, -7, true, NULL), TERN_ERR_NOT_FOUND);

    /* The open ones by name: only those, once. */
    CK_OK(db_action_event_start(conn, action, "compute_pre_live_migration", "src", NULL));
    CK_OK(db_action_event_start(conn, action, "compute_post_live_migration", "src", NULL));
    CK_OK(db_action_event_finish_open(conn, action, "compute_pre_live_migration", false, "gone",
                                      &finished));
    ck_assert_uint_eq(finished, 1);
    CK_OK(db_action_event_finish_open(conn, action, "compute_pre_live_migration", true, NULL,
                                      &finished));
    ck_assert_uint_eq(finished, 0);
    CK_OK(db_action_event_finish_open(conn, action, NULL, false, "all", &finished));
    ck_assert_uint_eq(finished, 1);
    CK_OK(db_action_event_list(conn, action, &list, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(list[0].result, "success"); /* finished before: untouched */
    ck_assert_str_eq(list[1].message, "gone");
    ck_assert_str_eq(list[2].message, "all");
    db_action_event_list_free(list, n);
    db_close(conn);
}
END_TEST

START_TEST(test_action_event_list_in_start_order)
{
    static const char *const names[] = {"conductor_check", "conductor_try_destination",
                                        "conductor_hand_off", "compute_pre_live_migration"};
    db_conn_t *conn = test_open();
    db_action_event_t *list = NULL;
    char inst[DB_UUID_LEN], other_inst[DB_UUID_LEN];
    int64_t action = new_action(conn, "req-ev-3", inst);
    int64_t other = new_action(conn, "req-ev-3", other_inst);
    size_t n = 0;

    for (size_t i = 0; i < TERN_N_ELEMENTS(names); i++) {
        CK_OK(db_action_event_record(conn, action, names[i], "h", true, NULL));
        CK_OK(db_action_event_record(conn, other, "other", "h", true, NULL));
    }
    CK_OK(db_action_event_list(conn, action, &list, &n));
    ck_assert_uint_eq(n, TERN_N_ELEMENTS(names));
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(list[i].event, names[i]);
        if (i)
            ck_assert_int_ge(list[i].start_ms, list[i - 1].start_ms);
    }
    db_action_event_list_free(list, n);
    CK_OK(db_action_event_list(conn, 0, &list, &n)); /* no such action: none */
    ck_assert_uint_eq(n, 0);
    db_action_event_list_free(list, n);
    db_close(conn);
}
END_TEST

START_TEST(test_action_events_go_with_their_action)
{
    db_conn_t *conn = test_open();
    db_action_event_t *list = NULL;
    char inst[DB_UUID_LEN];
    int64_t action = new_action(conn, "req-ev-4", inst);
    TERN_AUTOFREE char *id = tern_asprintf("%lld", (long long)action);
    const char *params[] = {id};
    PGconn *pg = PQconnectdb(test_db_url);
    PGresult *res;
    size_t n = 9;

    CK_OK(db_action_event_record(conn, action, "conductor_check", "c", true, NULL));
    CK_OK(db_action_event_start(conn, action, "conductor_hand_off", "c", NULL));
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    res = PQexecParams(pg, "DELETE FROM instance_actions WHERE id = $1", 1, NULL, params, NULL,
                       NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(pg);
    CK_OK(db_action_event_list(conn, action, &list, &n));
    ck_assert_uint_eq(n, 0);
    db_action_event_list_free(list, n);
    db_close(conn);
}
END_TEST

START_TEST(test_migration_knows_its_action)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("evsrc");
    db_migration_t req = {0}, begun = {0}, got = {0};
    char inst[DB_UUID_LEN], plain_inst[DB_UUID_LEN];
    int64_t action_id = 0;

    test_make_instance(conn, src, "n", inst);
    tern_strlcpy(req.instance_uuid, inst, sizeof(req.instance_uuid));
    req.source_compute = src;
    CK_OK(db_migration_begin(conn, &req, "cond", "req-ev-5", "live-migration", &action_id, &begun));
    ck_assert_int_gt(action_id, 0);
    ck_assert_int_eq(begun.action_id, action_id);
    CK_OK(db_migration_get(conn, begun.uuid, &got));
    ck_assert_int_eq(got.action_id, action_id);
    db_migration_clear(&got);
    db_migration_clear(&begun);

    /* Made without an action (db_migration_create): none. */
    test_make_instance(conn, src, "n", plain_inst);
    tern_strlcpy(req.instance_uuid, plain_inst, sizeof(req.instance_uuid));
    CK_OK(db_migration_create(conn, &req, &got));
    ck_assert_int_eq(got.action_id, 0);
    db_migration_clear(&got);
    db_close(conn);
}
END_TEST

TCase *
test_db_case_actions(void)
{
    TCase *tc = tcase_create("actions");

    tcase_add_test(tc, test_action_event_round_trip);
    tcase_add_test(tc, test_action_event_finish_idempotent);
    tcase_add_test(tc, test_action_event_list_in_start_order);
    tcase_add_test(tc, test_action_events_go_with_their_action);
    tcase_add_test(tc, test_migration_knows_its_action);
    return tc;
}
