/*
 * tests/conductor/test-checks.c: the conductor's live-migration checks and the scheduler against
 * a real PostgreSQL (tests/harness): each check refuses its case with a message naming it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "conductor/checks.h"
#include "conductor/scheduler.h"
#include "tests/conductor/conductor_tests.h"
#include "tests/harness/harness.h"

static db_conn_t *db;
static char *db_url; /* the case's database */
static conductor_t cond;
static db_instance_t inst;

/* add_resident: an instance of memory_mb MiB (no vCPU, no disk) living on host: what the
 * host's "used" memory counts. */
static void
add_resident(const char *host, int64_t memory_mb)
{
    db_instance_t in = {0}, out = {0};

    in.name = (char *)"resident";
    in.memory_mb = memory_mb;
    in.project_id = in.user_id = (char *)"p1";
    CK_OK(db_instance_create(db, &in, &out));
    CK_OK(db_instance_set_location(db, out.uuid, host, host));
    db_instance_clear(&out);
}

/* add_host: report host's node; used_mb > 0 places a resident instance of that size there. */
static void
add_host(const char *host, int64_t memory_mb, int64_t used_mb, const char *type, int64_t version)
{
    db_compute_node_t n = {0};

    CK_OK(db_service_upsert(db, host, COMPUTE_BINARY, "compute", 1, NULL));
    n.host = (char *)host;
    n.hypervisor_hostname = (char *)host;
    n.hypervisor_type = (char *)type;
    n.hypervisor_version = version;
    n.vcpus = 4;
    n.memory_mb = memory_mb;
    n.local_gb = 100;
    n.ram_allocation_ratio = 1.0;
    n.cpu_allocation_ratio = 4.0;
    CK_OK(db_compute_node_upsert(db, &n, NULL));
    if (used_mb > 0)
        add_resident(host, used_mb);
}

static void
setup(void)
{
    static int seq;
    char name[64];
    TERN_AUTOFREE char *url = NULL;
    db_instance_t req = {0};

    snprintf(name, sizeof(name), "conductor_checks_%d_%d", (int)getpid(), seq++);
    url = harness_postgres_create_database(harness_services_get(), name);
    ck_assert_msg(url != NULL, "%s", tern_error_message());
    free(db_url);
    db_url = tern_strdup(url);
    db = db_open(url);
    ck_assert_msg(db != NULL, "%s", tern_error_message());
    CK_OK(db_schema_sync(db, NULL, NULL));
    memset(&cond, 0, sizeof(cond));
    cond.cfg.service_down_time_s = 60;
    add_host("host1", 4096, 512, "QEMU", 10000002);
    add_host("host2", 4096, 0, "QEMU", 10000002);
    add_host("host3", 8192, 0, "QEMU", 10000002);
    req.name = "vm1";
    req.memory_mb = 1024;
    req.vcpus = 1;
    req.root_gb = 1;
    req.image_ref = "tern-guest";
    req.project_id = "p1";
    req.user_id = "u1";
    CK_OK(db_instance_create(db, &req, &inst));
    CK_OK(db_instance_set_location(db, inst.uuid, "host1", "host1"));
    CK_OK(db_instance_set_vm_state(db, inst.uuid, DB_VM_STATE_ACTIVE));
    CK_OK(db_instance_set_power_state(db, inst.uuid, DB_POWER_RUNNING));
    db_instance_clear(&inst);
    CK_OK(conductor_find_instance(db, "vm1", &inst));
}

static void
teardown(void)
{
    db_instance_clear(&inst);
    db_close(db);
    db = NULL;
}

static void
node(const char *host, db_compute_node_t *ret)
{
    CK_OK(db_compute_node_get(db, host, NULL, ret));
}

START_TEST(test_running_instance_on_up_host_passes_every_check)
{
    db_compute_node_t src = {0}, dst = {0};

    node("host1", &src);
    node("host2", &dst);
    CK_OK(conductor_check_instance_running(&inst));
    CK_OK(conductor_check_source_up(&cond, db, &inst));
    CK_OK(conductor_check_destination_exists(db, "host2"));
    CK_OK(conductor_check_destination_up(&cond, db, "host2"));
    CK_OK(conductor_check_hosts_differ(&inst, "host2"));
    CK_OK(conductor_check_destination_resources(db, &inst, &dst, true, NULL));
    CK_OK(conductor_check_hypervisor_compatible(&inst, &src, &dst));
    db_compute_node_clear(&src);
    db_compute_node_clear(&dst);
}
END_TEST

START_TEST(test_same_host_refused)
{
    CK_FAILS_WITH(conductor_check_hosts_differ(&inst, "host1"), TERN_ERR_CHECK_FAILED,
                  "source and destination must differ");
}
END_TEST

START_TEST(test_unknown_destination_refused)
{
    CK_FAILS_WITH(conductor_check_destination_exists(db, "nosuchhost"), TERN_ERR_NOT_FOUND,
                  "destination host \"nosuchhost\" does not exist");
}
END_TEST

START_TEST(test_disabled_destination_refused_with_reason)
{
    CK_OK(db_service_set_disabled(db, "host2", COMPUTE_BINARY, true, "maintenance"));
    CK_FAILS_WITH(conductor_check_destination_up(&cond, db, "host2"), TERN_ERR_CHECK_FAILED,
                  "compute service of destination host \"host2\" is disabled: maintenance");
}
END_TEST

START_TEST(test_down_destination_and_source_refused)
{
    CK_OK(db_service_set_forced_down(db, "host2", COMPUTE_BINARY, true));
    CK_FAILS_WITH(conductor_check_destination_up(&cond, db, "host2"), TERN_ERR_CHECK_FAILED,
                  "compute service of destination host \"host2\" is down");
    CK_OK(db_service_set_forced_down(db, "host1", COMPUTE_BINARY, true));
    CK_FAILS_WITH(conductor_check_source_up(&cond, db, &inst), TERN_ERR_CHECK_FAILED,
                  "compute service of source host \"host1\" is down");
}
END_TEST

START_TEST(test_disabled_source_allowed_for_maintenance)
{
    CK_OK(db_service_set_disabled(db, "host1", COMPUTE_BINARY, true, "draining"));
    CK_OK(conductor_check_source_up(&cond, db, &inst));
}
END_TEST

START_TEST(test_instance_not_running_refused)
{
    CK_OK(db_instance_set_power_state(db, inst.uuid, DB_POWER_SHUTDOWN));
    db_instance_clear(&inst);
    CK_OK(conductor_find_instance(db, "vm1", &inst));
    CK_FAILS_WITH(conductor_check_instance_running(&inst), TERN_ERR_CHECK_FAILED, "is not running");
}
END_TEST

START_TEST(test_busy_instance_refused_naming_task)
{
    CK_OK(db_instance_task_state_begin(db, inst.uuid, NULL, "migrating", NULL));
    db_instance_clear(&inst);
    CK_OK(conductor_find_instance(db, inst.uuid[0] ? "vm1" : "vm1", &inst));
    CK_FAILS_WITH(conductor_check_instance_running(&inst), TERN_ERR_CONFLICT,
                  "task_state is \"migrating\"");
}
END_TEST

START_TEST(test_not_enough_memory_refused_with_numbers)
{
    db_compute_node_t dst = {0};

    add_host("host2", 4096, 3584, "QEMU", 10000002);
    node("host2", &dst);
    CK_FAILS_WITH(conductor_check_destination_resources(db, &inst, &dst, false, NULL),
                  TERN_ERR_CHECK_FAILED, "host \"host2\" node \"host2\" cannot take instance");
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "1024 MiB of memory needed, 512 MiB free"));
    db_compute_node_clear(&dst);
}
END_TEST

/* The check previews the claim: for requests at and just over each resource's edge, on nodes
 * with uneven ratios and reservations, with claims held, the conductor's check and the claim
 * decide the same, with the same message (one rule: db/capacity.h). */
START_TEST(test_check_previews_the_claim)
{
    static const struct {
        int64_t memory_mb, root_gb;
        int vcpus;
        bool with_disk;
    } cases[] = {
        {1040, 1, 1, true},  /* memory: exactly what is left */
        {1041, 1, 1, true},  /* one MiB over */
        {512, 1, 10, true},  /* vCPUs: exactly what is left (4 x 2.75 = 11, 1 claimed) */
        {512, 1, 11, true},  /* one over */
        {512, 41, 1, true},  /* disk: exactly what is left ((50 - 3) x 0.9 = 42, 1 claimed) */
        {512, 42, 1, true},  /* one GiB over: refused with the disk, as a block migration */
        {512, 42, 1, false}, /* the same without the disk: fits */
    };
    db_compute_node_t n = {0}, dst = {0};
    db_instance_t holder = {0}, holder_in = {0};
    char held[DB_UUID_LEN] = "";

    /* (3000 - 50 reserved) MiB x 0.7 = 2065 (2064.99... in binary); 4 vCPUs x 2.75 = 11;
     * (50 - 3 reserved) GiB x 0.9 = 42.3 */
    CK_OK(db_service_upsert(db, "edge", COMPUTE_BINARY, "compute", 1, NULL));
    n.host = n.hypervisor_hostname = (char *)"edge";
    n.hypervisor_type = (char *)"QEMU";
    n.hypervisor_version = 10000002;
    n.vcpus = 4;
    n.memory_mb = 3000;
    n.ram_allocation_ratio = 0.7;
    n.reserved_host_memory_mb = 50;
    n.cpu_allocation_ratio = 2.75;
    n.local_gb = 50;
    n.disk_allocation_ratio = 0.9;
    n.reserved_host_disk_gb = 3;
    CK_OK(db_compute_node_upsert(db, &n, NULL));
    add_resident("edge", 500);
    /* a migration in flight holds 525 MiB, 1 vCPU, 1 GiB there: 2065 - 500 used - 525 = 1040 */
    {
        db_migration_t req = {0}, mig = {0};

        holder_in.name = (char *)"holder";
        holder_in.memory_mb = 525;
        holder_in.vcpus = 1;
        holder_in.root_gb = 1;
        holder_in.project_id = holder_in.user_id = (char *)"p1";
        CK_OK(db_instance_create(db, &holder_in, &holder));
        tern_strlcpy(req.instance_uuid, holder.uuid, sizeof(req.instance_uuid));
        req.source_compute = (char *)"host1";
        CK_OK(db_migration_create(db, &req, &mig));
        tern_strlcpy(held, mig.uuid, sizeof(held));
        db_migration_clear(&mig);
        CK_OK(db_claim_take(
            db,
            &(db_claim_request_t){
                .migration_uuid = held, .host = "edge", .memory_mb = 525, .vcpus = 1, .disk_gb = 1},
            NULL));
    }
    node("edge", &dst);
    for (size_t i = 0; i < TERN_N_ELEMENTS(cases); i++) {
        db_instance_t want = inst;
        db_migration_t req = {0}, mig = {0};
        char check_msg[TERN_ERROR_MSG_MAX] = "", claim_msg[TERN_ERROR_MSG_MAX] = "";
        TERN_AUTOFREE char *for_inst = tern_asprintf("instance \"%s\"", inst.uuid);
        TERN_AUTOFREE char *for_mig = NULL;
        int check, claim;

        want.memory_mb = cases[i].memory_mb;
        want.vcpus = cases[i].vcpus;
        want.root_gb = cases[i].root_gb;
        check = conductor_check_destination_resources(db, &want, &dst, cases[i].with_disk, NULL);
        if (check < 0)
            tern_strlcpy(check_msg, tern_error_message(), sizeof(check_msg));
        tern_strlcpy(req.instance_uuid, inst.uuid, sizeof(req.instance_uuid));
        req.source_compute = (char *)"host1";
        CK_OK(db_migration_create(db, &req, &mig));
        for_mig = tern_asprintf("migration \"%s\"", mig.uuid);
        claim =
            db_claim_take(db,
                          &(db_claim_request_t){.migration_uuid = mig.uuid,
                                                .host = "edge",
                                                .memory_mb = want.memory_mb,
                                                .vcpus = want.vcpus,
                                                .disk_gb = cases[i].with_disk ? want.root_gb : 0},
                          NULL);
        if (claim < 0)
            tern_strlcpy(claim_msg, tern_error_message(), sizeof(claim_msg));
        ck_assert_msg(check == claim, "case %zu: the check says %d (%s), the claim %d (%s)", i,
                      check, check_msg, claim, claim_msg);
        ck_assert_int_eq(check, (i % 2 == 0 || i == 6) ? 0 : -1);
        if (check < 0) { /* the same words, but for whom */
            char *a = strstr(check_msg, for_inst), *b = strstr(claim_msg, for_mig);

            ck_assert_ptr_nonnull(a);
            ck_assert_ptr_nonnull(b);
            ck_assert_str_eq(a + strlen(for_inst), b + strlen(for_mig));
        }
        CK_OK(db_claim_release(db, mig.uuid, NULL));
        db_migration_clear(&mig);
    }
    db_compute_node_clear(&dst);
    db_instance_clear(&holder);
}
END_TEST

/* Two conductors in one process, on two databases: each thread's connection belongs to its
 * conductor (no process-wide key sharing one connection string). */
START_TEST(test_two_conductors_keep_their_own_connections)
{
    const harness_services_t *svc = harness_services_get();
    TERN_AUTOFREE char *url2 = NULL;
    conductor_config_t c1 = {0}, c2 = {0};
    conductor_t *one, *two;
    rpc_config_t rpc;
    db_instance_t found = {0};
    char name[64];

    snprintf(name, sizeof(name), "conductor_two_%d", (int)getpid());
    url2 = harness_postgres_create_database(svc, name);
    ck_assert_msg(url2 != NULL, "%s", tern_error_message());
    {
        db_conn_t *setup = db_open(url2);

        ck_assert_ptr_nonnull(setup);
        CK_OK(db_schema_sync(setup, NULL, NULL));
        db_close(setup);
    }
    rpc_config_init(&rpc);
    rpc.transport_url = svc->rabbitmq_url;
    c1.host = tern_strdup("one");
    c1.db_connection = tern_strdup(db_url);
    c1.policy_file = tern_strdup(TERN_SRCDIR "/etc/policy.json");
    c2.host = tern_strdup("two");
    c2.db_connection = tern_strdup(url2);
    c2.policy_file = tern_strdup(TERN_SRCDIR "/etc/policy.json");
    ck_assert_msg((one = conductor_new(&c1, &rpc)) != NULL, "%s", tern_error_message());
    ck_assert_msg((two = conductor_new(&c2, &rpc)) != NULL, "%s", tern_error_message());
    ck_assert_ptr_ne(conductor_db(one), conductor_db(two));
    ck_assert_ptr_eq(conductor_db(one), conductor_db(one)); /* one per thread and conductor */
    /* vm1 lives in the first conductor's database only */
    CK_OK(conductor_find_instance(conductor_db(one), "vm1", &found));
    db_instance_clear(&found);
    ck_assert_int_eq(conductor_find_instance(conductor_db(two), "vm1", &found), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_NOT_FOUND);
    conductor_free(one);
    conductor_free(two);
}
END_TEST

START_TEST(test_hypervisor_type_and_older_version_refused)
{
    db_compute_node_t src = {0}, dst = {0};

    node("host1", &src);
    add_host("host2", 4096, 0, "Xen", 10000002);
    node("host2", &dst);
    CK_FAILS_WITH(conductor_check_hypervisor_compatible(&inst, &src, &dst), TERN_ERR_CHECK_FAILED,
                  "from a QEMU host to host \"host2\" running Xen");
    db_compute_node_clear(&dst);
    add_host("host2", 4096, 0, "QEMU", 9000000);
    node("host2", &dst);
    CK_FAILS_WITH(conductor_check_hypervisor_compatible(&inst, &src, &dst), TERN_ERR_CHECK_FAILED,
                  "version 9000000 is older than the source's 10000002");
    db_compute_node_clear(&src);
    db_compute_node_clear(&dst);
}
END_TEST

START_TEST(test_scheduler_prefers_most_free_memory_and_skips_source)
{
    db_compute_node_t src = {0};
    char **hosts = NULL;
    size_t n = 0;

    node("host1", &src);
    CK_OK(conductor_select_destinations(&cond, db, &inst, &src, true, &hosts, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(hosts[0], "host3");
    ck_assert_str_eq(hosts[1], "host2");
    conductor_hosts_free(hosts, n);
    db_compute_node_clear(&src);
}
END_TEST

START_TEST(test_scheduler_no_valid_host_lists_reasons)
{
    db_compute_node_t src = {0};
    char **hosts = NULL;
    size_t n = 0;

    CK_OK(db_service_set_disabled(db, "host2", COMPUTE_BINARY, true, "maintenance"));
    add_host("host3", 1024, 512, "QEMU", 10000002);
    node("host1", &src);
    CK_FAILS_WITH(conductor_select_destinations(&cond, db, &inst, &src, true, &hosts, &n),
                  TERN_ERR_CHECK_FAILED, "no valid host for instance");
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "is disabled: maintenance"));
    ck_assert_ptr_nonnull(
        strstr(tern_error_message(), "host \"host3\" node \"host3\" cannot take"));
    db_compute_node_clear(&src);
}
END_TEST

START_TEST(test_find_instance_by_name_uuid_and_unknown)
{
    db_instance_t other = {0};
    char uuid[DB_UUID_LEN];

    memcpy(uuid, inst.uuid, sizeof(uuid));
    CK_OK(conductor_find_instance(db, uuid, &other));
    ck_assert_str_eq(other.name, "vm1");
    db_instance_clear(&other);
    CK_FAILS_WITH(conductor_find_instance(db, "nosuchserver", &other), TERN_ERR_NOT_FOUND,
                  "no instance with uuid or name \"nosuchserver\"");
}
END_TEST

START_TEST(test_parameters_validated)
{
    conductor_live_migrate_args_t a;
    json_t *args;

    args = json_pack("{s:s, s:n, s:n}", "instance", "vm1", "host", "block_migration");
    CK_OK(conductor_check_parameters(args, &a));
    ck_assert_ptr_null(a.host);
    ck_assert_int_eq(a.block_migration, -1);
    json_decref(args);
    args = json_pack("{s:s, s:s, s:b}", "instance", "vm1", "host", "host2", "block_migration", 1);
    CK_OK(conductor_check_parameters(args, &a));
    ck_assert_str_eq(a.host, "host2");
    ck_assert_int_eq(a.block_migration, 1);
    json_decref(args);
    args = json_pack("{s:s, s:s}", "instance", "vm1", "colour", "blue");
    CK_FAILS_WITH(conductor_check_parameters(args, &a), TERN_ERR_INVALID,
                  "invalid arguments to live_migrate");
    json_decref(args);
    args = json_pack("{s:s, s:s}", "instance", "vm1", "block_migration", "yes");
    CK_FAILS_WITH(conductor_check_parameters(args, &a), TERN_ERR_INVALID, "block_migration");
    json_decref(args);
    args = json_pack("{s:i}", "instance", 3);
    CK_FAILS_WITH(conductor_check_parameters(args, &a), TERN_ERR_INVALID,
                  "invalid arguments to live_migrate");
    json_decref(args);
}
END_TEST

TCase *
conductor_checks_tcase(void)
{
    TCase *core = tcase_create("checks");

    tcase_add_checked_fixture(core, setup, teardown);
    tcase_set_timeout(core, 60);
    tcase_add_test(core, test_running_instance_on_up_host_passes_every_check);
    tcase_add_test(core, test_disabled_source_allowed_for_maintenance);
    tcase_add_test(core, test_scheduler_prefers_most_free_memory_and_skips_source);
    tcase_add_test(core, test_find_instance_by_name_uuid_and_unknown);
    tcase_add_test(core, test_two_conductors_keep_their_own_connections);
    return core;
}

TCase *
conductor_refusals_tcase(void)
{
    TCase *errors = tcase_create("refusals");

    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_set_timeout(errors, 60);
    tcase_add_test(errors, test_same_host_refused);
    tcase_add_test(errors, test_unknown_destination_refused);
    tcase_add_test(errors, test_disabled_destination_refused_with_reason);
    tcase_add_test(errors, test_down_destination_and_source_refused);
    tcase_add_test(errors, test_instance_not_running_refused);
    tcase_add_test(errors, test_busy_instance_refused_naming_task);
    tcase_add_test(errors, test_not_enough_memory_refused_with_numbers);
    tcase_add_test(errors, test_check_previews_the_claim);
    tcase_add_test(errors, test_hypervisor_type_and_older_version_refused);
    tcase_add_test(errors, test_scheduler_no_valid_host_lists_reasons);
    tcase_add_test(errors, test_parameters_validated);
    return errors;
}
