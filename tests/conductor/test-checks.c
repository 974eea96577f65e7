/*
 * tests/conductor/test-checks.c: the conductor's live-migration checks and the scheduler against
 * a real PostgreSQL (tests/harness): each check refuses its case with a message naming it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "conductor/checks.h"
#include "conductor/scheduler.h"
#include "tests/harness/harness.h"

static db_conn_t *db;
static conductor_t cond;
static db_instance_t inst;

#define CK_OK(expr) ck_assert_msg((expr) == 0, "%s: %s", #expr, tern_error_message())
#define CK_FAILS_WITH(expr, code, text)                                                            \
    do {                                                                                           \
        ck_assert_int_eq((expr), -1);                                                              \
        ck_assert_int_eq(tern_error_code(), (code));                                               \
        ck_assert_msg(strstr(tern_error_message(), (text)) != NULL, "message \"%s\" lacks \"%s\"", \
                      tern_error_message(), (text));                                               \
    } while (0)

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
    n.memory_mb_used = used_mb;
    n.local_gb = 100;
    n.ram_allocation_ratio = 1.0;
    n.cpu_allocation_ratio = 4.0;
    CK_OK(db_compute_node_upsert(db, &n, NULL));
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
    CK_OK(conductor_check_destination_resources(db, &inst, &dst));
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
    CK_FAILS_WITH(conductor_check_destination_resources(db, &inst, &dst), TERN_ERR_CHECK_FAILED,
                  "host \"host2\" cannot take instance");
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "512 MiB of memory free, 1024 MiB needed"));
    db_compute_node_clear(&dst);
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
    CK_OK(conductor_select_destinations(&cond, db, &inst, &src, &hosts, &n));
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
    CK_FAILS_WITH(conductor_select_destinations(&cond, db, &inst, &src, &hosts, &n),
                  TERN_ERR_CHECK_FAILED, "no valid host for instance");
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "is disabled: maintenance"));
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "host \"host3\" cannot take"));
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

static Suite *
conductor_checks_suite(void)
{
    Suite *s = suite_create("conductor_checks");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");

    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_set_timeout(core, 60);
    tcase_set_timeout(errors, 60);
    tcase_add_test(core, test_running_instance_on_up_host_passes_every_check);
    tcase_add_test(core, test_disabled_source_allowed_for_maintenance);
    tcase_add_test(core, test_scheduler_prefers_most_free_memory_and_skips_source);
    tcase_add_test(core, test_find_instance_by_name_uuid_and_unknown);
    tcase_add_test(errors, test_same_host_refused);
    tcase_add_test(errors, test_unknown_destination_refused);
    tcase_add_test(errors, test_disabled_destination_refused_with_reason);
    tcase_add_test(errors, test_down_destination_and_source_refused);
    tcase_add_test(errors, test_instance_not_running_refused);
    tcase_add_test(errors, test_busy_instance_refused_naming_task);
    tcase_add_test(errors, test_not_enough_memory_refused_with_numbers);
    tcase_add_test(errors, test_hypervisor_type_and_older_version_refused);
    tcase_add_test(errors, test_scheduler_no_valid_host_lists_reasons);
    tcase_add_test(errors, test_parameters_validated);
    suite_add_tcase(s, core);
    suite_add_tcase(s, errors);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(conductor_checks_suite());
    int failed;

    harness_services_get(); /* start (or attach to) the services in this, the parent, process */
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
