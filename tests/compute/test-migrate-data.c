/*
 * tests/compute/test-migrate-data.c: the live migration's contract between the hosts
 * (compute/migrate_data.h) - parsed strictly, each bad field named, written back as read.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/compute/compute_tests.h"
#include "compute/migrate_data.h"

#define CHECK_DATA                                                                   \
    "\"host\": \"host2\", \"libvirt_uri\": \"qemu+tcp://198.18.0.12/system\", "      \
    "\"migration_address\": \"198.18.0.12\", \"disk_available_bytes\": 5000000000, " \
    "\"shared_probe\": \"tern-probe-1234\", \"hypervisor_type\": \"QEMU\", "         \
    "\"hypervisor_version\": 10000002, \"instances_path\": \"/var/lib/tern/instances\""
#define DISK                                                                                      \
    "{\"target\": \"vda\", \"path\": \"/var/lib/tern/instances/u/disk\", \"format\": \"qcow2\", " \
    "\"backing_file\": \"/var/lib/tern/instances/_base/img/disk.qcow2\", \"virtual_size\": "      \
    "1073741824}"
#define SKIPPED "{\"target\": \"vdb\", \"path\": \"/shared/vol1\", \"reason\": \"volume\"}"
#define MIGRATE_DATA(block, shared, disks)                                                         \
    "{" CHECK_DATA ", \"source_host\": \"host1\", \"is_shared_instance_path\": " shared            \
    ", \"block_migration\": " block ", \"disks\": [" disks "], \"skipped_disks\": [" SKIPPED "], " \
    "\"bytes_to_copy\": 196608}"

static json_t *
load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);

    ck_assert_msg(j != NULL, "bad test JSON (%s): %s", jerr.text, text);
    return j;
}

/* expect_bad: the migrate data text is refused with INVALID and a message holding needle. */
static void
expect_bad(const char *text, const char *needle)
{
    json_t *j = load(text);
    compute_migrate_data_t d;

    ck_assert_int_eq(compute_migrate_data_from_json(j, "\"migrate_data\" of test", &d), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_msg(strstr(tern_error_message(), needle), "\"%s\" not in \"%s\"", needle,
                  tern_error_message());
    ck_assert_ptr_null(d.dest.host); /* nothing handed out */
    json_decref(j);
}

/* with: text with the first occurrence of from replaced by to (new). */
static char *
with(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);

    ck_assert_ptr_nonnull(at);
    return tern_asprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

START_TEST(test_round_trip)
{
    json_t *j = load(MIGRATE_DATA("true", "false", DISK)), *back;
    compute_migrate_data_t d, copy;

    ck_assert_msg(compute_migrate_data_from_json(j, "test", &d) == 0, "%s", tern_error_message());
    ck_assert_str_eq(d.dest.host, "host2");
    ck_assert_str_eq(d.dest.libvirt_uri, "qemu+tcp://198.18.0.12/system");
    ck_assert_int_eq(d.dest.disk_available_bytes, 5000000000LL); /* 64 bits, not 32 */
    ck_assert_str_eq(d.source_host, "host1");
    ck_assert(d.block_migration);
    ck_assert(!d.is_shared_instance_path);
    ck_assert_uint_eq(d.n_disks, 1);
    ck_assert_str_eq(d.disks[0].backing_file, "/var/lib/tern/instances/_base/img/disk.qcow2");
    ck_assert_int_eq(d.disks[0].virtual_size, 1073741824);
    ck_assert_uint_eq(d.n_skipped_disks, 1);
    ck_assert_str_eq(d.skipped_disks[0].reason, "volume");
    ck_assert(!d.never_pause); /* absent: the shipped ladder, pausing permitted */
    back = compute_migrate_data_to_json(&d);
    json_object_set_new(j, "never_pause", json_false()); /* always written */
    ck_assert_msg(json_equal(back, j), "written back differently");
    compute_migrate_data_copy(&d, &copy);
    ck_assert_str_eq(copy.disks[0].path, d.disks[0].path);
    compute_migrate_data_clear(&copy);
    compute_migrate_data_clear(&d);
    compute_migrate_data_clear(&d); /* twice is harmless */
    json_decref(back);
    json_decref(j);
}
END_TEST

/* The conductor's never-pause policy: "never_pause": true travels and is written back. */
START_TEST(test_never_pause)
{
    TERN_AUTOFREE char *never = with(MIGRATE_DATA("false", "true", ""), "\"bytes_to_copy\"",
                                     "\"never_pause\": true, \"bytes_to_copy\"");
    TERN_AUTOFREE char *wrong = with(MIGRATE_DATA("false", "true", ""), "\"bytes_to_copy\"",
                                     "\"never_pause\": \"no\", \"bytes_to_copy\"");
    json_t *j = load(never), *back;
    compute_migrate_data_t d, copy;

    ck_assert_msg(compute_migrate_data_from_json(j, "test", &d) == 0, "%s", tern_error_message());
    ck_assert(d.never_pause);
    back = compute_migrate_data_to_json(&d);
    ck_assert_msg(json_equal(back, j), "written back differently");
    compute_migrate_data_copy(&d, &copy);
    ck_assert(copy.never_pause);
    compute_migrate_data_clear(&copy);
    compute_migrate_data_clear(&d);
    json_decref(back);
    json_decref(j);
    expect_bad(wrong, "never_pause");
}
END_TEST

/* A migrate data built from zero - as the source's check builds it, field by field - permits
 * pausing: once, "permit_pause" defaulted to false there and every migration aborted where the
 * shipped ladder would pause the guest to complete. */
START_TEST(test_zeroed_permits_pause)
{
    compute_migrate_data_t d = {0};
    json_t *j;

    d.source_host = tern_strdup("host1");
    j = compute_migrate_data_to_json(&d);
    ck_assert(json_is_false(json_object_get(j, "never_pause")));
    json_decref(j);
    compute_migrate_data_clear(&d);
}
END_TEST

/* A missing key, a wrong type, an unknown key: each refused, naming it. The missing
 * is_shared_instance_path used to read as "not shared" - and a rollback deleted the disk. */
START_TEST(test_missing_wrong_unknown_named)
{
    const char *good = MIGRATE_DATA("false", "true", "");
    TERN_AUTOFREE char *missing = with(good, "\"is_shared_instance_path\": true, ", "");
    TERN_AUTOFREE char *wrong_type =
        with(good, "\"block_migration\": false", "\"block_migration\": 0");
    TERN_AUTOFREE char *unknown =
        with(good, "\"bytes_to_copy\"", "\"colour\": 1, \"bytes_to_copy\"");
    TERN_AUTOFREE char *misspelt =
        with(good, "\"is_shared_instance_path\"", "\"is_shared_instance_pth\"");

    expect_bad(missing, "is_shared_instance_path");
    expect_bad(wrong_type, "block_migration");
    expect_bad(unknown, "colour");
    expect_bad(misspelt, "Object item not found: is_shared_instance_path");
    expect_bad("[]", "invalid \"migrate_data\" of test");
}
END_TEST

START_TEST(test_values_checked)
{
    const char *good = MIGRATE_DATA("true", "false", DISK);
    static const struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"\"host\": \"host2\"", "\"host\": \"host2<x>\"", "field \"host\""},
        {"qemu+tcp://198.18.0.12/system", "http://evil/", "field \"libvirt_uri\""},
        {"\"migration_address\": \"198.18.0.12\"", "\"migration_address\": \"a b\"",
         "field \"migration_address\""},
        {"5000000000", "-1", "field \"disk_available_bytes\""},
        {"tern-probe-1234", "../../etc/passwd", "field \"shared_probe\""},
        {"\"/var/lib/tern/instances\"", "\"relative\"", "field \"instances_path\""},
        {"\"source_host\": \"host1\"", "\"source_host\": \"\"", "field \"source_host\""},
        {"196608", "-5", "field \"bytes_to_copy\""},
        {"\"format\": \"qcow2\"", "\"format\": \"vmdk\"", "field \"disks[0]\""},
        {"/var/lib/tern/instances/u/disk", "/var/lib/../etc/shadow", "field \"disks[0]\""},
        {"\"reason\": \"volume\"", "\"reason\": \"\"", "field \"skipped_disks[0]\""},
        {"\"is_shared_instance_path\": false", "\"is_shared_instance_path\": true",
         "field \"block_migration\": true on a shared instance path"},
        {"\"block_migration\": true", "\"block_migration\": false",
         "field \"disks\": disks to copy without block migration"},
    };

    for (size_t i = 0; i < TERN_N_ELEMENTS(cases); i++) {
        TERN_AUTOFREE char *text = with(good, cases[i].from, cases[i].to);

        expect_bad(text, cases[i].needle);
    }
}
END_TEST

START_TEST(test_check_data)
{
    json_t *j = load("{" CHECK_DATA "}"), *back;
    compute_dest_check_data_t d;

    ck_assert_int_eq(compute_dest_check_data_from_json(j, "test", &d), 0);
    ck_assert_str_eq(d.shared_probe, "tern-probe-1234");
    back = compute_dest_check_data_to_json(&d);
    ck_assert(json_equal(back, j));
    compute_dest_check_data_clear(&d);
    json_decref(back);
    json_decref(j);
    /* the check data alone: the migrate data's keys are unknown there */
    j = load("{" CHECK_DATA ", \"source_host\": \"host1\"}");
    ck_assert_int_eq(compute_dest_check_data_from_json(j, "\"dest_check_data\" of test", &d), -1);
    ck_assert_msg(strstr(tern_error_message(), "source_host"), "%s", tern_error_message());
    json_decref(j);
}
END_TEST

TCase *
compute_migrate_data_tcase(void)
{
    TCase *tc = tcase_create("migrate_data");

    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_never_pause);
    tcase_add_test(tc, test_zeroed_permits_pause);
    tcase_add_test(tc, test_missing_wrong_unknown_named);
    tcase_add_test(tc, test_values_checked);
    tcase_add_test(tc, test_check_data);
    return tc;
}
