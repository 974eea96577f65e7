/*
 * tests/db/test-db-instances.c: the instances table: round trips, filters, soft delete, and the
 * atomic task_state transition under two concurrent clients.
 */
#include <pthread.h>
#include <string.h>

#include "tests/db/test-db.h"

START_TEST(test_instance_round_trip)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *host = test_name("host");
    db_instance_t in = {0}, out = {0}, got = {0};
    char uuid[DB_UUID_LEN];

    tern_uuid_generate(uuid);
    tern_strlcpy(in.uuid, uuid, sizeof(in.uuid));
    in.name = (char *)"vm-1";
    in.host = host;
    in.node = (char *)"node-1";
    in.vm_state = (char *)DB_VM_STATE_ACTIVE;
    in.power_state = DB_POWER_RUNNING;
    in.memory_mb = 512;
    in.vcpus = 2;
    in.root_gb = 10;
    in.ephemeral_gb = 5;
    in.flavor_name = (char *)"m1.small";
    in.image_ref = (char *)"cirros";
    in.project_id = (char *)"p1";
    in.user_id = (char *)"u1";
    in.locked = true;
    in.priority = 7;
    in.launched_ms = 1700000000123;
    CK_OK(db_instance_create(conn, &in, &out));
    ck_assert_str_eq(out.uuid, uuid);
    ck_assert_int_gt(out.id, 0);
    ck_assert_int_gt(out.created_ms, 0);

    CK_OK(db_instance_get(conn, uuid, &got));
    ck_assert_int_eq(got.id, out.id);
    ck_assert_str_eq(got.name, "vm-1");
    ck_assert_str_eq(got.host, host);
    ck_assert_str_eq(got.node, "node-1");
    ck_assert_str_eq(got.vm_state, "active");
    ck_assert_ptr_null(got.task_state);
    ck_assert_int_eq(got.power_state, DB_POWER_RUNNING);
    ck_assert_int_eq(got.memory_mb, 512);
    ck_assert_int_eq(got.vcpus, 2);
    ck_assert_int_eq(got.root_gb, 10);
    ck_assert_int_eq(got.ephemeral_gb, 5);
    ck_assert_str_eq(got.flavor_name, "m1.small");
    ck_assert_str_eq(got.image_ref, "cirros");
    ck_assert_str_eq(got.project_id, "p1");
    ck_assert_str_eq(got.user_id, "u1");
    ck_assert(got.locked);
    ck_assert_int_eq(got.priority, 7);
    ck_assert_int_eq(got.launched_ms, 1700000000123);
    ck_assert_int_eq(got.deleted_ms, 0);
    db_instance_clear(&got);
    db_instance_clear(&out);

    /* Upper-case input is the same uuid. */
    for (char *p = uuid; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    CK_OK(db_instance_get(conn, uuid, &got));
    ck_assert_str_eq(got.name, "vm-1");
    db_instance_clear(&got);

    /* Same uuid twice: conflict naming the key. */
    CK_FAILS(db_instance_create(conn, &in, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS(in.uuid);
    db_instance_clear(&got);
    db_close(conn);
}
END_TEST

START_TEST(test_instance_errors)
{
    db_conn_t *conn = test_open();
    db_instance_t in = {0}, got = {0};
    char uuid[DB_UUID_LEN];

    tern_uuid_generate(uuid);
    CK_FAILS(db_instance_get(conn, uuid, &got), TERN_ERR_NOT_FOUND);
    CK_MSG_HAS(uuid);
    CK_FAILS(db_instance_get(conn, "not-a-uuid'; --", &got), TERN_ERR_INVALID);
    CK_FAILS(db_instance_set_vm_state(conn, uuid, "active"), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_instance_create(conn, &in, NULL), TERN_ERR_INVALID); /* no name */
    in.name = (char *)"x";
    in.project_id = (char *)"p";
    in.user_id = (char *)"u";
    in.vm_state = (char *)"flying";
    CK_FAILS(db_instance_create(conn, &in, NULL), TERN_ERR_INVALID); /* CHECK constraint */
    in.vm_state = NULL;
    in.memory_mb = -1;
    CK_FAILS(db_instance_create(conn, &in, NULL), TERN_ERR_INVALID);
    db_close(conn);
}
END_TEST

START_TEST(test_instance_updates_list_and_soft_delete)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *h1 = test_name("host");
    TERN_AUTOFREE char *h2 = test_name("host");
    db_instance_t got = {0}, *list = NULL;
    size_t n = 0;
    char a[DB_UUID_LEN], b[DB_UUID_LEN];

    test_make_instance(conn, h1, "n1", a);
    test_make_instance(conn, h1, "n1", b);

    CK_OK(db_instance_set_location(conn, b, h2, "n2"));
    CK_OK(db_instance_set_vm_state(conn, b, DB_VM_STATE_PAUSED));
    CK_OK(db_instance_set_power_state(conn, b, DB_POWER_PAUSED));
    CK_OK(db_instance_set_locked(conn, b, true));
    CK_OK(db_instance_get(conn, b, &got));
    ck_assert_str_eq(got.host, h2);
    ck_assert_str_eq(got.node, "n2");
    ck_assert_str_eq(got.vm_state, "paused");
    ck_assert_int_eq(got.power_state, DB_POWER_PAUSED);
    ck_assert(got.locked);
    db_instance_clear(&got);

    CK_OK(db_instance_list(conn, &(db_instance_filter_t){.host = h1}, &list, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].uuid, a);
    db_instance_list_free(list, n);
    CK_OK(db_instance_list(
        conn, &(db_instance_filter_t){.host = h2, .node = "n2", .project_id = "project-a"}, &list,
        &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].uuid, b);
    db_instance_list_free(list, n);
    CK_OK(db_instance_list(conn, &(db_instance_filter_t){.host = h2, .project_id = "other"}, &list,
                           &n));
    ck_assert_uint_eq(n, 0);
    db_instance_list_free(list, n);

    CK_OK(db_instance_soft_delete(conn, a));
    CK_OK(db_instance_soft_delete(conn, a)); /* idempotent */
    CK_OK(db_instance_get(conn, a, &got));
    ck_assert_int_gt(got.deleted_ms, 0);
    ck_assert_str_eq(got.vm_state, "deleted");
    db_instance_clear(&got);
    CK_OK(db_instance_list(conn, &(db_instance_filter_t){.host = h1}, &list, &n));
    ck_assert_uint_eq(n, 0);
    db_instance_list_free(list, n);
    CK_OK(db_instance_list(conn, &(db_instance_filter_t){.host = h1, .include_deleted = true},
                           &list, &n));
    ck_assert_uint_eq(n, 1);
    db_instance_list_free(list, n);
    CK_FAILS(db_instance_set_vm_state(conn, a, DB_VM_STATE_ACTIVE), TERN_ERR_NOT_FOUND);
    CK_MSG_HAS("deleted");
    CK_FAILS(db_instance_task_state_begin(conn, a, NULL, "migrating", NULL), TERN_ERR_NOT_FOUND);
    db_close(conn);
}
END_TEST

START_TEST(test_task_state_begin_end)
{
    db_conn_t *conn = test_open();
    db_instance_t got = {0};
    char uuid[DB_UUID_LEN];

    test_make_instance(conn, "h", "n", uuid);
    CK_OK(db_instance_task_state_begin(conn, uuid, NULL, DB_TASK_STATE_MIGRATING, &got));
    ck_assert_str_eq(got.task_state, "migrating");
    db_instance_clear(&got);

    CK_FAILS(db_instance_task_state_begin(conn, uuid, NULL, DB_TASK_STATE_MIGRATING, NULL),
             TERN_ERR_CONFLICT);
    CK_MSG_HAS("task_state is \"migrating\" (expected none)");
    CK_FAILS(db_instance_task_state_begin(conn, uuid, "deleting", "x", NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("task_state is \"migrating\" (expected \"deleting\")");
    CK_FAILS(db_instance_task_state_end(conn, uuid, DB_TASK_STATE_DELETING), TERN_ERR_CONFLICT);
    CK_MSG_HAS("\"migrating\"");

    /* migrating -> migrating-ish chained transition with an expected state. */
    CK_OK(db_instance_task_state_begin(conn, uuid, "migrating", "post-migrating", NULL));
    CK_OK(db_instance_task_state_end(conn, uuid, "post-migrating"));
    CK_OK(db_instance_task_state_end(conn, uuid, "post-migrating")); /* already clear: ok */
    CK_OK(db_instance_get(conn, uuid, &got));
    ck_assert_ptr_null(got.task_state);
    db_instance_clear(&got);
    CK_FAILS(db_instance_task_state_begin(conn, uuid, "migrating", "x", NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("no task_state");
    db_close(conn);
}
END_TEST

/* ---- two conductors race for the same instance ---- */

typedef struct racer {
    const char *uuid;
    pthread_barrier_t *barrier;
    db_conn_t *conn;
    int rc;
    tern_error_t err;
} racer_t;

static void *
racer_run(void *arg)
{
    racer_t *r = arg;

    pthread_barrier_wait(r->barrier);
    r->rc = db_instance_task_state_begin(r->conn, r->uuid, NULL, DB_TASK_STATE_MIGRATING, NULL);
    tern_error_copy(&r->err);
    return NULL;
}

START_TEST(test_task_state_race_one_wins)
{
    db_conn_t *setup = test_open();

    for (int round = 0; round < 25; round++) {
        pthread_barrier_t barrier;
        racer_t r[2] = {{0}};
        pthread_t th[2];
        char uuid[DB_UUID_LEN];
        int wins = 0;

        test_make_instance(setup, "race-host", "n", uuid);
        pthread_barrier_init(&barrier, NULL, 2);
        for (int i = 0; i < 2; i++) {
            r[i].uuid = uuid;
            r[i].barrier = &barrier;
            r[i].conn = test_open();
            ck_assert_int_eq(pthread_create(&th[i], NULL, racer_run, &r[i]), 0);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            db_close(r[i].conn);
        }
        pthread_barrier_destroy(&barrier);
        for (int i = 0; i < 2; i++) {
            if (r[i].rc == 0) {
                wins++;
                continue;
            }
            ck_assert_msg(r[i].err.code == TERN_ERR_CONFLICT, "loser got %s: %s",
                          tern_error_code_name(r[i].err.code), r[i].err.message);
            ck_assert_msg(strstr(r[i].err.message, "task_state is \"migrating\""),
                          "loser's message does not name the state: %s", r[i].err.message);
            ck_assert_msg(strstr(r[i].err.message, uuid), "no uuid in: %s", r[i].err.message);
        }
        ck_assert_int_eq(wins, 1);
    }
    db_close(setup);
}
END_TEST

TCase *
test_db_case_instances(void)
{
    TCase *tc = tcase_create("instances");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_instance_round_trip);
    tcase_add_test(tc, test_instance_errors);
    tcase_add_test(tc, test_instance_updates_list_and_soft_delete);
    tcase_add_test(tc, test_task_state_begin_end);
    tcase_add_test(tc, test_task_state_race_one_wins);
    return tc;
}
