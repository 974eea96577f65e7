/*
 * tests/cli/test-cli-identities.c: a compute acts only for itself (issue 14) - the real
 * tern-conductor of the cli-conductor suite, called as three compute identities: the source
 * "tern-compute.ev-src", the destination "tern-compute.ev-dst" and "tern-compute.other", which
 * takes no part in the migration.
 *
 * A report for another host and an update of a migration the caller is neither the source nor
 * the destination of are refused with a permission error that names why, change nothing in the
 * database, and leave an "audit: refused:" line in the conductor's log. The owner's own calls
 * pass. The instance and migration are made with db/, as live_migrate would make them. Last, a
 * caller over its rate limit is refused while others are served.
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "common/util.h"
#include "tests/cli/test-cli-conductor.h"

static db_conn_t *db;
static rpc_client_t *source, *dest, *other;
static json_t *context;

static rpc_client_t *
client_as(const char *user)
{
    rpc_config_t cfg;
    rpc_client_t *c;

    test_compute_rpc_config_as(user, &cfg);
    c = rpc_client_new(&cfg);
    ck_assert_msg(c != NULL, "%s", tern_error_message());
    free((char *)cfg.transport_url);
    return c;
}

static void
setup(void)
{
    test_compute_fixture_open(&db, &source, &context);
    dest = client_as("tern-compute.ev-dst");
    other = client_as("tern-compute.other");
}

static void
teardown(void)
{
    rpc_client_free(other);
    rpc_client_free(dest);
    test_compute_fixture_close(db, source, context);
}

/* call: method as client; 0 or -1 with the relayed error (args stolen). */
static int
call(rpc_client_t *client, const char *method, json_t *args)
{
    rpc_target_t conductor = {.topic = "conductor", .version = "1.0"};
    json_t *result = NULL;
    int rc = rpc_call(client, &conductor, context, method, args, 0, &result);

    json_decref(result);
    json_decref(args);
    return rc;
}

/* expect_refused: the last call was refused as a permission error whose message has needle,
 * and the conductor logged it as an audit line. */
static void
expect_refused(int rc, const char *needle)
{
    TERN_AUTOFREE char *log_path = tern_asprintf("%s/conductor.log", work_dir);
    TERN_AUTOFREE char *message = NULL;
    TERN_AUTOFREE char *log = NULL;
    TERN_AUTOFREE char *audit = NULL;

    ck_assert_msg(rc < 0, "accepted, expected a refusal naming \"%s\"", needle);
    message = tern_strdup(tern_error_message());
    ck_assert_int_eq(tern_error_code(), TERN_ERR_PERMISSION);
    ck_assert_msg(strstr(message, needle), "\"%s\" does not name \"%s\"", message, needle);
    audit = tern_asprintf("audit: refused: %s", strstr(message, "user \""));
    log = test_read_file(log_path);
    ck_assert_msg(strstr(log, audit), "no audit line \"%s\" in %s", audit, log_path);
}

static json_t *
report_of(const char *host, json_int_t memory_mb)
{
    return tern_json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:I, s:s, s:s, s:i, s:I, s:I, s:I, s:I, "
                          "s:i}}",
                          "host", host, "binary", "tern-compute", "topic", "compute", "version",
                          "1", "node", "hypervisor_type", "QEMU", "hypervisor_version",
                          (json_int_t)10000000, "hypervisor_hostname", host, "cpu_info", "<cpu/>",
                          "vcpus", 4, "memory_mb", memory_mb, "free_ram_mb", memory_mb, "local_gb",
                          (json_int_t)100, "free_disk_gb", (json_int_t)100, "running_vms", 0);
}

START_TEST(test_identities_report_only_for_own_host)
{
    db_compute_node_t node = {0};

    CK_OK(call(source, "service_report", report_of("ev-src", 4096)));
    expect_refused(call(source, "service_report", report_of("ev-dst", 999999)),
                   "may not call \"service_report\" for host \"ev-dst\": it is host \"ev-src\"'s "
                   "identity");
    ck_assert_int_eq(db_compute_node_get(db, "ev-dst", NULL, &node), -1); /* none made */
    CK_OK(db_compute_node_get(db, "ev-src", NULL, &node));
    ck_assert_int_eq(node.memory_mb, 4096);
    db_compute_node_clear(&node);
    /* the same for the host-bound recovery calls */
    expect_refused(call(other, "migration_leftovers", tern_json_pack("{s:s}", "host", "ev-src")),
                   "for host \"ev-src\": it is host \"other\"'s identity");
}
END_TEST

START_TEST(test_identities_migration_only_by_its_hosts)
{
    const char *uuid = "7d0c6d1e-51a8-4c4b-9a77-0a1e2b3c4d01";
    db_instance_t inst = {0}, after = {0};
    db_migration_t mig = {0};

    test_migration_begin(db, context, "idm1", uuid, HOST, &inst);
    expect_refused(call(other, "migration_update",
                        tern_json_pack("{s:s, s:s}", "migration", uuid, "status", "running")),
                   "for migration \"7d0c6d1e-51a8-4c4b-9a77-0a1e2b3c4d01\": host \"other\" is "
                   "neither its source nor its destination");
    expect_refused(
        call(other, "live_migration_completed",
             tern_json_pack("{s:s, s:s, s:s, s:{}, s:I, s:I}", "migration", uuid, "instance",
                            inst.uuid, "dest", "other", "stats", "preparation_ms", (json_int_t)1,
                            "migration_ms", (json_int_t)1)),
        "host \"other\" is neither its source nor its destination");
    expect_refused(call(other, "live_migration_failed",
                        tern_json_pack("{s:s, s:s, s:s}", "migration", uuid, "status", "failed",
                                       "error_message", "forged")),
                   "host \"other\" is neither its source nor its destination");
    CK_OK(db_migration_get(db, uuid, &mig));
    ck_assert_str_eq(db_migration_status_name(mig.status), "queued"); /* unchanged */
    db_migration_clear(&mig);
    CK_OK(db_instance_get(db, inst.uuid, &after));
    ck_assert_str_eq(after.host, "ev-src");
    db_instance_clear(&after);

    /* its source and its destination may */
    CK_OK(call(source, "migration_update",
               tern_json_pack("{s:s, s:s}", "migration", uuid, "status", "preparing")));
    CK_OK(call(dest, "migration_update",
               tern_json_pack("{s:s, s:s, s:s}", "migration", uuid, "status", "failed",
                              "error_message", "the destination gave up")));
    CK_OK(db_migration_get(db, uuid, &mig));
    ck_assert_str_eq(db_migration_status_name(mig.status), "failed");
    db_migration_clear(&mig);
    db_instance_clear(&inst);
}
END_TEST

/* An identity over its rate limit is refused (the conductor's [conductor] rate_limit_burst is
 * 400, refilled at 6 a minute) before any work; another identity, and the compute's service
 * calls, are not. */
START_TEST(test_identities_rate_limited_apart)
{
    rpc_config_t cfg;
    rpc_client_t *demo, *admin;
    int i, rc = 0;

    rpc_config_init(&cfg);
    cfg.transport_url = tern_asprintf("rabbit://demo:demo@127.0.0.1:%d/", svc->rabbitmq_port);
    demo = rpc_client_new(&cfg);
    ck_assert_msg(demo != NULL, "%s", tern_error_message());
    free((char *)cfg.transport_url);
    rpc_config_init(&cfg);
    cfg.transport_url = svc->rabbitmq_url;
    admin = rpc_client_new(&cfg);
    ck_assert_msg(admin != NULL, "%s", tern_error_message());

    for (i = 0; i < 450 && rc == 0; i++)
        rc = call(demo, "migration_list", json_object());
    ck_assert_msg(rc < 0, "450 lists in a row were all served");
    ck_assert_int_eq(tern_error_code(), TERN_ERR_RATE_LIMITED);
    ck_assert_msg(strstr(tern_error_message(), "user \"demo\" may not call \"migration_list\" "
                                               "now: over its rate limit of 6 requests a minute "
                                               "(bursts of 400)"),
                  "%s", tern_error_message());
    ck_assert_msg(i > 400 && i <= 420, "refused at call %d, not after the burst of 400", i);
    CK_OK(call(admin, "migration_list", json_object()));              /* its own bucket */
    CK_OK(call(source, "service_report", report_of("ev-src", 4096))); /* not limited */
    rpc_client_free(admin);
    rpc_client_free(demo);
}
END_TEST

TCase *
test_cli_identities_case(void)
{
    TCase *tc = tcase_create("identities");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_identities_report_only_for_own_host);
    tcase_add_test(tc, test_identities_migration_only_by_its_hosts);
    tcase_add_test(tc, test_identities_rate_limited_apart);
    return tc;
}
