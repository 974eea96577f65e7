/*
 * tests/db/test-db-drains.c: host drains (db/drains.h) against the real PostgreSQL: a drain's
 * start in one transaction (the host disabled and in maintenance, one item per instance in
 * priority order, those that must not move blocked with why, --force moving them), one drain in
 * progress per host, nothing changed for a host without a compute service; ownership taken only
 * from a conductor gone silent; the items' compare-and-set; abort and end; the migrations in
 * flight per host.
 */
#include "tests/db/test-db.h"

/* make_inst: an instance on host with a priority, a migration_support and a vm_state. */
static void
make_inst(db_conn_t *conn, const char *host, int priority, const char *support,
          const char *vm_state, char ret_uuid[DB_UUID_LEN])
{
    db_instance_t in = {0}, out = {0};

    in.name = (char *)"drain-vm";
    in.host = (char *)host;
    in.node = (char *)host;
    in.vm_state = (char *)vm_state;
    in.memory_mb = 128;
    in.vcpus = 1;
    in.project_id = (char *)"p";
    in.user_id = (char *)"u";
    in.priority = priority;
    in.migration_support = (char *)support;
    CK_OK(db_instance_create(conn, &in, &out));
    tern_strlcpy(ret_uuid, out.uuid, DB_UUID_LEN);
    db_instance_clear(&out);
}

static db_drain_t
drain_request(const char *host, bool force)
{
    db_drain_t d = {0};

    d.host = (char *)host;
    d.maintenance = true;
    d.block_migration = -1;
    d.max_concurrent = 2;
    d.force = force;
    d.user_id = (char *)"admin-a";
    d.request_id = (char *)"req-drain";
    d.reason = (char *)"kernel update";
    return d;
}

START_TEST(test_drain_create_orders_and_blocks)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *host = test_name("dh");
    char low[DB_UUID_LEN], high[DB_UUID_LEN], pinned[DB_UUID_LEN], manual[DB_UUID_LEN],
        stopped[DB_UUID_LEN];
    db_drain_t req = drain_request(host, false), made = {0}, again = {0};
    db_drain_item_t *items = NULL;
    db_service_t svc = {0};
    size_t n = 0;

    CK_OK(db_service_upsert(conn, host, "tern-compute", "compute", 1, NULL));
    make_inst(conn, host, -5, NULL, DB_VM_STATE_ACTIVE, low);
    make_inst(conn, host, 10, "migratable", DB_VM_STATE_ACTIVE, high);
    make_inst(conn, host, 50, "pinned", DB_VM_STATE_ACTIVE, pinned);
    make_inst(conn, host, 0, "manual", DB_VM_STATE_ACTIVE, manual);
    make_inst(conn, host, 0, NULL, DB_VM_STATE_STOPPED, stopped);
    req.never_pause = true;
    CK_OK(db_drain_create(conn, &req, &made));
    ck_assert_int_gt(made.id, 0);
    ck_assert(made.never_pause);
    ck_assert_int_eq(made.status, DB_DRAIN_RUNNING);
    ck_assert_int_eq(made.block_migration, -1);
    ck_assert_int_eq(made.max_concurrent, 2);
    ck_assert_str_eq(made.user_id, "admin-a");
    ck_assert_ptr_null(made.conductor);
    CK_OK(db_drain_items(conn, made.id, &items, &n));
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(items[0].instance_uuid, pinned); /* priority order, highest first */
    ck_assert_int_eq(items[0].status, DB_DRAIN_ITEM_BLOCKED);
    ck_assert_ptr_nonnull(strstr(items[0].message, "pinned to its host"));
    ck_assert_int_gt(items[0].finished_ms, 0);
    ck_assert_str_eq(items[1].instance_uuid, high);
    ck_assert_int_eq(items[1].status, DB_DRAIN_ITEM_QUEUED);
    ck_assert_int_eq(items[1].priority, 10);
    ck_assert_int_eq(items[2].status, DB_DRAIN_ITEM_BLOCKED); /* manual, then stopped */
    ck_assert_int_eq(items[3].status, DB_DRAIN_ITEM_BLOCKED);
    ck_assert_ptr_nonnull(strstr(items[3].message, "not running (vm_state stopped)"));
    ck_assert_str_eq(items[4].instance_uuid, low);
    ck_assert_int_eq(items[4].status, DB_DRAIN_ITEM_QUEUED);
    ck_assert_str_eq(items[4].migration_uuid, "");
    db_drain_item_list_free(items, n);
    CK_OK(db_service_get(conn, host, "tern-compute", 60, &svc));
    ck_assert(svc.disabled && svc.maintenance && svc.draining);
    ck_assert_str_eq(svc.disabled_reason, "kernel update");
    db_service_clear(&svc);

    CK_FAILS(db_drain_create(conn, &req, &again), TERN_ERR_CONFLICT);
    CK_MSG_HAS("is being drained already");
    CK_OK(db_drain_get(conn, 0, host, &again));
    ck_assert_int_eq(again.id, made.id);
    db_drain_clear(&again);
    db_drain_clear(&made);
    db_close(conn);
}
END_TEST

START_TEST(test_instance_migration_policy_round_trip)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *host = test_name("dh");
    db_instance_t in = {0}, out = {0}, got = {0};

    in.name = (char *)"policy-vm";
    in.host = (char *)host;
    in.memory_mb = 64;
    in.vcpus = 1;
    in.project_id = (char *)"p";
    in.user_id = (char *)"u";
    in.priority = -3;
    in.migration_support = (char *)"manual";
    in.never_pause = true;
    CK_OK(db_instance_create(conn, &in, &out));
    CK_OK(db_instance_get(conn, out.uuid, &got));
    ck_assert_int_eq(got.priority, -3);
    ck_assert_str_eq(got.migration_support, "manual");
    ck_assert(got.never_pause);
    db_instance_clear(&got);
    in.migration_support = (char *)"sometimes";
    CK_FAILS(db_instance_create(conn, &in, &got), TERN_ERR_INVALID);
    db_instance_clear(&out);
    db_close(conn);
}
END_TEST

START_TEST(test_drain_force_and_unknown_host)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *host = test_name("dh"), *none = test_name("dh");
    char pinned[DB_UUID_LEN];
    db_drain_t req = drain_request(host, true), made = {0}, got = {0};
    db_drain_t bad = drain_request(none, false);
    db_drain_item_t *items = NULL;
    size_t n = 0;

    CK_OK(db_service_upsert(conn, host, "tern-compute", "compute", 1, NULL));
    make_inst(conn, host, 0, "pinned", DB_VM_STATE_ACTIVE, pinned);
    CK_OK(db_drain_create(conn, &req, &made));
    ck_assert(!made.never_pause);
    CK_OK(db_drain_items(conn, made.id, &items, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(items[0].status, DB_DRAIN_ITEM_QUEUED); /* force: pinned moves too */
    db_drain_item_list_free(items, n);
    db_drain_clear(&made);

    CK_FAILS(db_drain_create(conn, &bad, &made), TERN_ERR_NOT_FOUND);
    CK_MSG_HAS("has no tern-compute service");
    CK_FAILS(db_drain_get(conn, 0, none, &got), TERN_ERR_NOT_FOUND); /* nothing was left */
    bad.max_concurrent = 0;
    CK_FAILS(db_drain_create(conn, &bad, &made), TERN_ERR_INVALID);
    db_close(conn);
}
END_TEST

/* owns: whether conductor's take returned drain id. */
static bool
owns(db_conn_t *conn, const char *conductor, int down_s, int64_t id)
{
    db_drain_t *list = NULL;
    size_t n = 0;
    bool found = false;

    CK_OK(db_drain_take(conn, conductor, down_s, &list, &n));
    for (size_t i = 0; i < n; i++)
        found = found || list[i].id == id;
    db_drain_list_free(list, n);
    return found;
}

START_TEST(test_drain_taken_only_from_a_silent_conductor)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *host = test_name("dh"), *a = test_name("cond"), *b = test_name("cond");
    db_drain_t req = drain_request(host, false), made = {0}, got = {0};

    CK_OK(db_service_upsert(conn, host, "tern-compute", "compute", 1, NULL));
    CK_OK(db_service_upsert(conn, a, "tern-conductor", "conductor", 1, NULL));
    CK_OK(db_service_upsert(conn, b, "tern-conductor", "conductor", 1, NULL));
    CK_OK(db_drain_create(conn, &req, &made));
    ck_assert(owns(conn, a, 60, made.id));  /* nobody ran it */
    ck_assert(!owns(conn, b, 60, made.id)); /* a is alive */
    ck_assert(owns(conn, a, 60, made.id));  /* and keeps it */
    ck_assert(owns(conn, b, 0, made.id));   /* a silent (down time 0): b takes it */
    ck_assert(!owns(conn, a, 60, made.id));
    CK_OK(db_drain_get(conn, made.id, NULL, &got));
    ck_assert_str_eq(got.conductor, b);
    db_drain_clear(&got);

    CK_OK(db_drain_abort(conn, made.id));
    CK_FAILS(db_drain_abort(conn, made.id), TERN_ERR_CONFLICT);
    CK_MSG_HAS("it is aborting");
    ck_assert(owns(conn, b, 60, made.id)); /* an aborting drain is still run */
    CK_OK(db_drain_finish(conn, made.id, DB_DRAIN_ABORTED, "stopped"));
    CK_FAILS(db_drain_finish(conn, made.id, DB_DRAIN_COMPLETED, NULL), TERN_ERR_CONFLICT);
    ck_assert(!owns(conn, b, 60, made.id)); /* over: nobody runs it */
    CK_OK(db_drain_get(conn, made.id, NULL, &got));
    ck_assert_int_eq(got.status, DB_DRAIN_ABORTED);
    ck_assert_str_eq(got.message, "stopped");
    ck_assert_int_gt(got.finished_ms, 0);
    db_drain_clear(&got);
    CK_FAILS(db_drain_abort(conn, 999999999), TERN_ERR_NOT_FOUND);
    /* a new drain of the host may begin once the last one ended */
    db_drain_clear(&made);
    CK_OK(db_drain_create(conn, &req, &made));
    db_drain_clear(&made);
    db_close(conn);
}
END_TEST

START_TEST(test_drain_item_compare_and_set_and_flight)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *host = test_name("dh"), *dest = test_name("dd");
    char inst[DB_UUID_LEN], mig[DB_UUID_LEN];
    db_drain_t req = drain_request(host, false), made = {0};
    db_drain_item_t *items = NULL;
    db_flight_t flight = {0};
    size_t n = 0;

    CK_OK(db_service_upsert(conn, host, "tern-compute", "compute", 1, NULL));
    make_inst(conn, host, 0, NULL, DB_VM_STATE_ACTIVE, inst);
    CK_OK(db_drain_create(conn, &req, &made));
    CK_OK(db_drain_items(conn, made.id, &items, &n));
    test_make_migration(conn, inst, host, dest, dest, mig);
    CK_OK(db_drain_item_update(conn, items[0].id, DB_DRAIN_ITEM_QUEUED, DB_DRAIN_ITEM_MIGRATING,
                               mig, dest, NULL, true));
    CK_FAILS(db_drain_item_update(conn, items[0].id, DB_DRAIN_ITEM_QUEUED, DB_DRAIN_ITEM_FAILED,
                                  NULL, NULL, "late", false),
             TERN_ERR_CONFLICT);
    db_drain_item_list_free(items, n);
    CK_OK(db_drain_items(conn, made.id, &items, &n));
    ck_assert_int_eq(items[0].status, DB_DRAIN_ITEM_MIGRATING);
    ck_assert_str_eq(items[0].migration_uuid, mig);
    ck_assert_str_eq(items[0].dest_host, dest);
    ck_assert_str_eq(items[0].migration_status, "queued");
    ck_assert_int_eq(items[0].attempts, 1);
    ck_assert_int_gt(items[0].started_ms, 0);
    ck_assert_int_eq(items[0].finished_ms, 0);
    CK_OK(db_migrations_in_flight(conn, &flight));
    ck_assert_int_ge(flight.total, 1);
    ck_assert_int_eq(db_flight_outgoing(&flight, host), 1);
    ck_assert_int_eq(db_flight_incoming(&flight, dest), 1);
    ck_assert_int_eq(db_flight_incoming(&flight, host), 0);
    db_flight_add(&flight, host, "new-host");
    ck_assert_int_eq(db_flight_outgoing(&flight, host), 2);
    ck_assert_int_eq(db_flight_incoming(&flight, "new-host"), 1);
    db_flight_clear(&flight);
    CK_OK(db_drain_item_update(conn, items[0].id, DB_DRAIN_ITEM_MIGRATING, DB_DRAIN_ITEM_COMPLETED,
                               NULL, NULL, "now on dd", false));
    db_drain_item_list_free(items, n);
    CK_OK(db_drain_items(conn, made.id, &items, &n));
    ck_assert_int_eq(items[0].status, DB_DRAIN_ITEM_COMPLETED);
    ck_assert_str_eq(items[0].migration_uuid, mig); /* kept */
    ck_assert_int_gt(items[0].finished_ms, 0);
    db_drain_item_list_free(items, n);
    db_drain_clear(&made);
    db_close(conn);
}
END_TEST

TCase *
test_db_case_drains(void)
{
    TCase *tc = tcase_create("drains");

    tcase_add_test(tc, test_drain_create_orders_and_blocks);
    tcase_add_test(tc, test_instance_migration_policy_round_trip);
    tcase_add_test(tc, test_drain_force_and_unknown_host);
    tcase_add_test(tc, test_drain_taken_only_from_a_silent_conductor);
    tcase_add_test(tc, test_drain_item_compare_and_set_and_flight);
    return tc;
}
