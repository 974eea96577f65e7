/*
 * tests/db/test-db-resources.c: services (heartbeats, up/down, disable), compute nodes (resource
 * reports) and claims (overcommit refused, concurrent claims, what still counts).
 */
#include <pthread.h>
#include <string.h>

#include "tests/db/test-db.h"

START_TEST(test_service_lifecycle)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *host = test_name("host");
    db_service_t svc = {0}, *list = NULL;
    size_t n = 0;

    CK_OK(db_service_upsert(conn, host, "tern-compute", "compute", 3, &svc));
    ck_assert_str_eq(svc.host, host);
    ck_assert_str_eq(svc.binary, "tern-compute");
    ck_assert_str_eq(svc.topic, "compute");
    ck_assert_int_eq(svc.version, 3);
    ck_assert_int_eq(svc.report_count, 1);
    ck_assert(svc.is_up);
    ck_assert(!svc.disabled);
    db_service_clear(&svc);

    CK_OK(db_service_heartbeat(conn, host, "tern-compute"));
    CK_OK(db_service_get(conn, host, "tern-compute", 60, &svc));
    ck_assert_int_eq(svc.report_count, 2);
    ck_assert(svc.is_up);
    ck_assert_int_gt(svc.last_heartbeat_ms, 0);
    db_service_clear(&svc);
    /* With a zero down time, a heartbeat from an earlier statement is already too old. */
    tern_sleep_ms(10);
    CK_OK(db_service_get(conn, host, "tern-compute", 0, &svc));
    ck_assert(!svc.is_up);
    db_service_clear(&svc);

    CK_OK(db_service_set_disabled(conn, host, "tern-compute", true, "maintenance window"));
    CK_OK(db_service_set_forced_down(conn, host, "tern-compute", true));
    /* A restart re-registers but keeps the operator's decisions. */
    CK_OK(db_service_upsert(conn, host, "tern-compute", "compute", 4, NULL));
    CK_OK(db_service_get(conn, host, "tern-compute", 60, &svc));
    ck_assert(svc.disabled);
    ck_assert_str_eq(svc.disabled_reason, "maintenance window");
    ck_assert(svc.forced_down);
    ck_assert(!svc.is_up);
    ck_assert_int_eq(svc.version, 4);
    db_service_clear(&svc);
    CK_OK(db_service_set_disabled(conn, host, "tern-compute", false, "ignored"));
    CK_OK(db_service_set_forced_down(conn, host, "tern-compute", false));
    CK_OK(db_service_get(conn, host, "tern-compute", 60, &svc));
    ck_assert(!svc.disabled);
    ck_assert_ptr_null(svc.disabled_reason);
    ck_assert(svc.is_up);
    db_service_clear(&svc);

    CK_OK(db_service_upsert(conn, host, "tern-conductor", "conductor", 1, NULL));
    CK_OK(db_service_list(conn, NULL, 60, &list, &n));
    ck_assert_uint_ge(n, 2);
    db_service_list_free(list, n);
    CK_OK(db_service_list(conn, "tern-conductor", 60, &list, &n));
    ck_assert_uint_ge(n, 1);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(list[i].binary, "tern-conductor");
    db_service_list_free(list, n);

    CK_FAILS(db_service_heartbeat(conn, host, "tern-nothing"), TERN_ERR_NOT_FOUND);
    CK_MSG_HAS(host);
    CK_FAILS(db_service_get(conn, "no-such-host", "tern-compute", 60, &svc), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_service_set_disabled(conn, "no-such-host", "x", true, NULL), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_service_upsert(conn, "", "b", "t", 1, NULL), TERN_ERR_INVALID);
    db_close(conn);
}
END_TEST

START_TEST(test_compute_node_report_round_trip)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *host = test_name("host");
    json_t *cpu = json_pack("{s:s, s:s, s:{s:i, s:i, s:i}, s:[s, s]}", "arch", "x86_64", "model",
                            "qemu64 \"v2\"", "topology", "sockets", 1, "cores", 4, "threads", 1,
                            "features", "sse2", "x2apic");
    db_compute_node_t r = {0}, got = {0}, *list = NULL;
    size_t n = 0;
    int64_t id;

    r.host = host;
    r.hypervisor_hostname = (char *)"node-a";
    r.hypervisor_type = (char *)"QEMU";
    r.hypervisor_version = 10000002;
    r.host_ip = (char *)"198.18.0.11";
    r.cpu_info = cpu;
    r.vcpus = 4;
    r.vcpus_used = 3; /* ignored: "used" is what the instances use */
    r.memory_mb = 8192;
    r.memory_mb_used = 4000;
    r.free_ram_mb = 6000;
    r.local_gb = 100;
    r.local_gb_used = 50;
    r.free_disk_gb = 90;
    r.cpu_allocation_ratio = 4.0;
    r.ram_allocation_ratio = 1.5;
    r.disk_allocation_ratio = 1.0;
    r.reserved_host_memory_mb = 512;
    r.reserved_host_disk_gb = 2;
    r.reserved_host_cpus = 1;
    r.running_vms = 2;
    CK_OK(db_compute_node_upsert(conn, &r, &got));
    id = got.id;
    db_compute_node_clear(&got);

    CK_OK(db_compute_node_get(conn, host, NULL, &got));
    ck_assert_int_eq(got.id, id);
    ck_assert_str_eq(got.hypervisor_hostname, "node-a");
    ck_assert_str_eq(got.hypervisor_type, "QEMU");
    ck_assert_int_eq(got.hypervisor_version, 10000002);
    ck_assert_str_eq(got.host_ip, "198.18.0.11");
    ck_assert_msg(json_equal(got.cpu_info, cpu), "cpu_info changed on the way");
    ck_assert_int_eq(got.vcpus, 4);
    ck_assert_int_eq(got.vcpus_used, 0);
    ck_assert_int_eq(got.memory_mb, 8192);
    ck_assert_int_eq(got.memory_mb_used, 0);
    ck_assert_int_eq(got.free_ram_mb, 6000);
    ck_assert_int_eq(got.local_gb, 100);
    ck_assert_int_eq(got.local_gb_used, 0);
    ck_assert_int_eq(got.free_disk_gb, 90);
    ck_assert(got.cpu_allocation_ratio == 4.0);
    ck_assert(got.ram_allocation_ratio == 1.5);
    ck_assert(got.disk_allocation_ratio == 1.0);
    ck_assert_int_eq(got.reserved_host_memory_mb, 512);
    ck_assert_int_eq(got.reserved_host_disk_gb, 2);
    ck_assert_int_eq(got.reserved_host_cpus, 1);
    ck_assert_int_eq(got.running_vms, 2);
    ck_assert_int_gt(got.updated_ms, 0);
    db_compute_node_clear(&got);

    /* "Used" is summed from the node's live instances when the row is read, with no report. */
    {
        char a[DB_UUID_LEN], b[DB_UUID_LEN], elsewhere[DB_UUID_LEN];

        test_make_instance_of(conn, host, "node-a", 1024, a);
        test_make_instance_of(conn, host, NULL, 512, b); /* no node yet: the host's */
        test_make_instance_of(conn, "another-host", "node-a", 2048, elsewhere);
        CK_OK(db_compute_node_get(conn, host, NULL, &got));
        ck_assert_int_eq(got.memory_mb_used, 1536);
        ck_assert_int_eq(got.vcpus_used, 2);
        ck_assert_int_eq(got.local_gb_used, 2);
        db_compute_node_clear(&got);
        CK_OK(db_instance_soft_delete(conn, b));
        CK_OK(db_compute_node_get(conn, host, NULL, &got));
        ck_assert_int_eq(got.memory_mb_used, 1024);
        ck_assert_int_eq(got.vcpus_used, 1);
        db_compute_node_clear(&got);
    }

    /* A new report replaces the figures in the same row. */
    r.running_vms = 3;
    r.cpu_info = NULL;
    CK_OK(db_compute_node_upsert(conn, &r, &got));
    ck_assert_int_eq(got.id, id);
    ck_assert_int_eq(got.memory_mb_used, 1024);
    ck_assert_int_eq(got.running_vms, 3);
    ck_assert(json_is_object(got.cpu_info) && json_object_size(got.cpu_info) == 0);
    db_compute_node_clear(&got);

    /* A second node: the host's node must now be named. */
    r.hypervisor_hostname = (char *)"node-b";
    CK_OK(db_compute_node_upsert(conn, &r, NULL));
    CK_FAILS(db_compute_node_get(conn, host, NULL, &got), TERN_ERR_CONFLICT);
    CK_OK(db_compute_node_get(conn, host, "node-b", &got));
    db_compute_node_clear(&got);
    CK_OK(db_compute_node_list(conn, host, &list, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].hypervisor_hostname, "node-a");
    ck_assert_str_eq(list[1].hypervisor_hostname, "node-b");
    db_compute_node_list_free(list, n);
    CK_OK(db_compute_node_delete(conn, host, "node-b"));
    CK_FAILS(db_compute_node_delete(conn, host, "node-b"), TERN_ERR_NOT_FOUND);
    CK_FAILS(db_compute_node_get(conn, "no-such-host", NULL, &got), TERN_ERR_NOT_FOUND);
    CK_MSG_HAS("no-such-host");

    r.cpu_info = json_array();
    CK_FAILS(db_compute_node_upsert(conn, &r, NULL), TERN_ERR_INVALID);
    json_decref(r.cpu_info);
    r.cpu_info = NULL;
    r.memory_mb = -4;
    CK_FAILS(db_compute_node_upsert(conn, &r, NULL), TERN_ERR_INVALID);
    json_decref(cpu);
    db_close(conn);
}
END_TEST

/* ---- claims ---- */

static void
running_migration(db_conn_t *conn, const char *src, const char *dst, char ret_mig[DB_UUID_LEN])
{
    char inst[DB_UUID_LEN];

    test_make_instance(conn, src, "sn", inst);
    test_make_migration(conn, inst, src, dst, "dn", ret_mig);
}

START_TEST(test_claims_refuse_overcommit)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *dst = test_name("dst");
    db_claim_t claim = {0}, *list = NULL;
    size_t n = 0;
    int released = -1;
    char m1[DB_UUID_LEN], m2[DB_UUID_LEN], m3[DB_UUID_LEN], m4[DB_UUID_LEN];
    char resident[DB_UUID_LEN];

    /* usable = (4096 - 512) x 1.0 = 3584; used 1024 (an instance there): 2560 free. */
    test_make_node(conn, dst, "dn", 4096, 512);
    test_make_instance_of(conn, dst, "dn", 1024, resident);
    running_migration(conn, "src", dst, m1);
    running_migration(conn, "src", dst, m2);
    running_migration(conn, "src", dst, m3);
    running_migration(conn, "src", dst, m4);

    CK_OK(db_claim_take(
        conn,
        &(db_claim_request_t){.migration_uuid = m1, .host = dst, .memory_mb = 2048, .vcpus = 1},
        &claim));
    ck_assert_str_eq(claim.host, dst);
    ck_assert_str_eq(claim.node, "dn");
    ck_assert_str_eq(claim.migration_uuid, m1);
    ck_assert_int_eq(claim.memory_mb, 2048);
    ck_assert_int_eq(strlen(claim.instance_uuid), 36);
    ck_assert(claim.counts);
    db_claim_clear(&claim);

    CK_FAILS(db_claim_take(conn,
                           &(db_claim_request_t){
                               .migration_uuid = m2, .host = dst, .node = "dn", .memory_mb = 1024},
                           NULL),
             TERN_ERR_CHECK_FAILED);
    CK_MSG_HAS(dst);
    CK_MSG_HAS("1024 MiB of memory needed");
    CK_MSG_HAS("1024 used and 2048 claimed of 3584 MiB usable");
    CK_MSG_HAS("512 MiB free");

    /* Exactly what is left fits. */
    CK_OK(db_claim_take(
        conn, &(db_claim_request_t){.migration_uuid = m2, .host = dst, .memory_mb = 512}, NULL));
    CK_FAILS(db_claim_take(conn,
                           &(db_claim_request_t){.migration_uuid = m3, .host = dst, .memory_mb = 1},
                           NULL),
             TERN_ERR_CHECK_FAILED);
    /* vcpus: 8 x 16.0 (the default ratio) = 128 usable; disk: 100 GB x 1.0. */
    CK_FAILS(db_claim_take(conn,
                           &(db_claim_request_t){.migration_uuid = m3, .host = dst, .vcpus = 1000},
                           NULL),
             TERN_ERR_CHECK_FAILED);
    CK_MSG_HAS("1000 vCPUs needed");
    CK_FAILS(db_claim_take(conn,
                           &(db_claim_request_t){.migration_uuid = m3, .host = dst, .disk_gb = 101},
                           NULL),
             TERN_ERR_CHECK_FAILED);
    CK_MSG_HAS("GiB of disk needed");

    /* A failed migration's claim no longer counts. */
    CK_OK(db_migration_set_status(conn, m1, DB_MIGRATION_FAILED, "boom"));
    CK_OK(db_claim_take(
        conn, &(db_claim_request_t){.migration_uuid = m3, .host = dst, .memory_mb = 2048}, NULL));
    /* One claim per migration and node. */
    CK_FAILS(db_claim_take(conn,
                           &(db_claim_request_t){.migration_uuid = m3, .host = dst, .memory_mb = 1},
                           NULL),
             TERN_ERR_CONFLICT);

    CK_OK(db_claim_list(conn, dst, NULL, &list, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(list[0].migration_uuid, m1);
    ck_assert(!list[0].counts); /* its migration failed */
    ck_assert(list[1].counts);
    ck_assert(list[2].counts);
    db_claim_list_free(list, n);
    CK_OK(db_claim_release(conn, m1, &released));
    ck_assert_int_eq(released, 1);
    CK_OK(db_claim_release(conn, m1, &released));
    ck_assert_int_eq(released, 0);
    CK_OK(db_claim_list(conn, dst, "dn", &list, &n));
    ck_assert_uint_eq(n, 2);
    db_claim_list_free(list, n);

    CK_FAILS(db_claim_take(
                 conn,
                 &(db_claim_request_t){.migration_uuid = m4, .host = "nowhere", .memory_mb = 1},
                 NULL),
             TERN_ERR_NOT_FOUND);
    CK_MSG_HAS("nowhere");
    {
        char ghost[DB_UUID_LEN];

        tern_uuid_generate(ghost);
        CK_FAILS(db_claim_take(
                     conn,
                     &(db_claim_request_t){.migration_uuid = ghost, .host = dst, .memory_mb = 1},
                     NULL),
                 TERN_ERR_NOT_FOUND);
    }
    CK_FAILS(
        db_claim_take(
            conn, &(db_claim_request_t){.migration_uuid = m4, .host = dst, .memory_mb = -1}, NULL),
        TERN_ERR_INVALID);
    db_close(conn);
}
END_TEST

START_TEST(test_switch_over_moves_usage_from_claim_to_instance)
{
    db_conn_t *conn = test_open();
    TERN_AUTOFREE char *src = test_name("src");
    TERN_AUTOFREE char *dst = test_name("dst");
    db_compute_node_t node = {0};
    db_claim_t *list = NULL;
    size_t n = 0;
    char inst[DB_UUID_LEN], m1[DB_UUID_LEN], m2[DB_UUID_LEN];

    test_make_node(conn, src, "sn", 2048, 0);
    test_make_node(conn, dst, "dn", 2048, 0);
    test_make_instance_of(conn, src, "sn", 1536, inst);
    test_make_migration(conn, inst, src, dst, "dn", m1);
    running_migration(conn, src, dst, m2);
    CK_OK(db_claim_take(
        conn, &(db_claim_request_t){.migration_uuid = m1, .host = dst, .memory_mb = 1536}, NULL));
    CK_OK(db_instance_task_state_begin(conn, inst, NULL, DB_TASK_STATE_MIGRATING, NULL));
    CK_OK(db_migration_set_status(conn, m1, DB_MIGRATION_PREPARING, NULL));
    CK_OK(db_migration_set_status(conn, m1, DB_MIGRATION_RUNNING, NULL));

    /* In flight: the claim holds the destination's room. */
    CK_FAILS(db_claim_take(
                 conn, &(db_claim_request_t){.migration_uuid = m2, .host = dst, .memory_mb = 1024},
                 NULL),
             TERN_ERR_CHECK_FAILED);
    CK_MSG_HAS("0 used and 1536 claimed");

    /* The switch-over moves the instance: the destination uses it, the source no longer does,
     * its claim is released - at once, with no resource report in between. */
    CK_OK(db_migration_own_task(conn, m1));
    CK_OK(db_migration_switch_over(conn, m1, NULL));
    CK_OK(db_compute_node_get(conn, dst, NULL, &node));
    ck_assert_int_eq(node.memory_mb_used, 1536);
    db_compute_node_clear(&node);
    CK_OK(db_compute_node_get(conn, src, NULL, &node));
    ck_assert_int_eq(node.memory_mb_used, 256); /* m2's instance */
    db_compute_node_clear(&node);
    CK_OK(db_claim_list(conn, dst, "dn", &list, &n));
    ck_assert_uint_eq(n, 0); /* released with the switch-over */
    db_claim_list_free(list, n);
    CK_FAILS(db_claim_take(
                 conn, &(db_claim_request_t){.migration_uuid = m2, .host = dst, .memory_mb = 1024},
                 NULL),
             TERN_ERR_CHECK_FAILED);
    CK_MSG_HAS("1536 used and 0 claimed");

    /* Deleting the instance frees its room at once. */
    CK_OK(db_instance_soft_delete(conn, inst));
    CK_OK(db_claim_take(
        conn, &(db_claim_request_t){.migration_uuid = m2, .host = dst, .memory_mb = 1024}, NULL));
    db_close(conn);
}
END_TEST

typedef struct claimer {
    const char *migration_uuid;
    const char *host;
    pthread_barrier_t *barrier;
    db_conn_t *conn;
    int rc;
    tern_error_t err;
} claimer_t;

static void *
claimer_run(void *arg)
{
    claimer_t *c = arg;

    pthread_barrier_wait(c->barrier);
    c->rc =
        db_claim_take(c->conn,
                      &(db_claim_request_t){
                          .migration_uuid = c->migration_uuid, .host = c->host, .memory_mb = 2048},
                      NULL);
    tern_error_copy(&c->err);
    return NULL;
}

START_TEST(test_concurrent_claims_one_fits)
{
    db_conn_t *setup = test_open();

    for (int round = 0; round < 10; round++) {
        TERN_AUTOFREE char *dst = test_name("dst");
        pthread_barrier_t barrier;
        claimer_t c[2] = {{0}};
        pthread_t th[2];
        char m[2][DB_UUID_LEN];
        int wins = 0;

        test_make_node(setup, dst, "dn", 3072, 0); /* room for one 2048 MB claim */
        pthread_barrier_init(&barrier, NULL, 2);
        for (int i = 0; i < 2; i++) {
            running_migration(setup, "src", dst, m[i]);
            c[i].migration_uuid = m[i];
            c[i].host = dst;
            c[i].barrier = &barrier;
            c[i].conn = test_open();
        }
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(pthread_create(&th[i], NULL, claimer_run, &c[i]), 0);
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            db_close(c[i].conn);
        }
        pthread_barrier_destroy(&barrier);
        for (int i = 0; i < 2; i++) {
            if (c[i].rc == 0) {
                wins++;
                continue;
            }
            ck_assert_msg(c[i].err.code == TERN_ERR_CHECK_FAILED, "loser got %s: %s",
                          tern_error_code_name(c[i].err.code), c[i].err.message);
            ck_assert_msg(strstr(c[i].err.message, "2048 claimed"), "%s", c[i].err.message);
        }
        ck_assert_int_eq(wins, 1);
    }
    db_close(setup);
}
END_TEST

TCase *
test_db_case_services(void)
{
    TCase *tc = tcase_create("services");

    tcase_add_test(tc, test_service_lifecycle);
    tcase_add_test(tc, test_compute_node_report_round_trip);
    return tc;
}

TCase *
test_db_case_claims(void)
{
    TCase *tc = tcase_create("claims");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_claims_refuse_overcommit);
    tcase_add_test(tc, test_switch_over_moves_usage_from_claim_to_instance);
    tcase_add_test(tc, test_concurrent_claims_one_fits);
    return tc;
}
