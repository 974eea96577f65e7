/*
 * tests/fuzz/fuzz-compute.c: libFuzzer target for the compute's validation of what reaches it
 * over RPC - the parsers that need no hypervisor.
 *
 * The first byte of an input chooses the parser (its value modulo 4); the rest is parsed as JSON
 * with the RPC decoder's flags (rpc/message.c: duplicate keys refused) and handed to it:
 *
 *   0  compute_migrate_data_from_json (compute/migrate_data.c: the migrate data of
 *      pre_live_migration, live_migration, rollback_live_migration_at_destination)
 *   1  compute_dest_check_data_from_json (the destination's check data)
 *   2  virt_instance_from_json (compute/virt/instance.c: the instance the virt layer takes)
 *   3  virt_secgroup_rules_from_json (the rules of its nwfilter)
 *
 * Besides the sanitizers' checks, the parsers' promises are asserted: a refusal leaves an
 * INVALID error with a message (non-empty, one line of UTF-8); what is accepted is written back
 * as it was read (migrate and check data: to_json gives the input again, "never_pause" added as
 * false when absent; the migrate data's check-data keys are accepted check data) or, for an
 * instance, parses again into the same JSON, and copies. Built and run by
 * tests/fuzz/run-fuzz-targets; owns nothing between inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "compute/migrate_data.h"
#include "compute/virt/virt.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The keys of the migrate data that are not check data (compute/migrate_data.h). */
static const char *const migrate_only_keys[] = {
    "source_host",   "is_shared_instance_path", "block_migration", "disks",
    "skipped_disks", "bytes_to_copy",           "never_pause",
};

static void
refused(void)
{
    if (tern_error_code() != TERN_ERR_INVALID)
        abort();
    fuzz_check_message(tern_error_message());
}

/* same: a and b are equal JSON; else both are printed and the run aborts. */
static void
same(const json_t *a, const json_t *b, const char *what)
{
    char *ta, *tb;

    if (json_equal((json_t *)a, (json_t *)b))
        return;
    ta = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
    tb = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
    fprintf(stderr, "fuzz-compute: %s differ:\n  %s\n  %s\n", what, ta, tb);
    abort();
}

static void
fuzz_migrate_data(const json_t *json)
{
    compute_migrate_data_t d, copy;
    compute_dest_check_data_t dest;
    json_t *want, *back, *check;

    if (compute_migrate_data_from_json(json, "migrate data", &d) < 0) {
        refused();
        return;
    }
    want = json_deep_copy(json);
    if (!json_object_get(want, "never_pause"))
        json_object_set_new(want, "never_pause", json_false());
    back = compute_migrate_data_to_json(&d);
    same(want, back, "accepted migrate data and what it writes");
    compute_migrate_data_copy(&d, &copy); /* aborts when it cannot read what it wrote */
    compute_migrate_data_clear(&copy);

    check = json_deep_copy(json);
    for (size_t i = 0; i < sizeof(migrate_only_keys) / sizeof(migrate_only_keys[0]); i++)
        json_object_del(check, migrate_only_keys[i]);
    if (compute_dest_check_data_from_json(check, "check data", &dest) < 0) {
        fprintf(stderr, "fuzz-compute: migrate data whose check data is refused: %s\n",
                tern_error_message());
        abort();
    }
    compute_dest_check_data_clear(&dest);
    json_decref(check);
    json_decref(back);
    json_decref(want);
    compute_migrate_data_clear(&d);
}

static void
fuzz_check_data(const json_t *json)
{
    compute_dest_check_data_t d;
    json_t *back;

    if (compute_dest_check_data_from_json(json, "check data", &d) < 0) {
        refused();
        return;
    }
    back = compute_dest_check_data_to_json(&d);
    same(json, back, "accepted check data and what it writes");
    json_decref(back);
    compute_dest_check_data_clear(&d);
}

static void
fuzz_instance(const json_t *json)
{
    virt_instance_t *inst = virt_instance_from_json(json), *again, *copy;
    json_t *first, *second;

    if (!inst) {
        refused();
        return;
    }
    first = virt_instance_to_json(inst);
    if (!(again = virt_instance_from_json(first))) {
        fprintf(stderr, "fuzz-compute: an instance that does not read what it wrote: %s\n",
                tern_error_message());
        abort();
    }
    second = virt_instance_to_json(again);
    same(first, second, "an instance written, read and written again");
    if (!(copy = virt_instance_copy(inst)))
        abort();
    virt_instance_free(copy);
    json_decref(second);
    json_decref(first);
    virt_instance_free(again);
    virt_instance_free(inst);
}

static void
fuzz_rules(const json_t *json)
{
    virt_secgroup_rule_t *rules = NULL;
    size_t n = 0;

    if (virt_secgroup_rules_from_json(json, &rules, &n) < 0) {
        refused();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (rules[i].port_min < 0 || rules[i].port_max > 65535 ||
            rules[i].port_min > rules[i].port_max ||
            !memchr(rules[i].remote_cidr, '\0', sizeof(rules[i].remote_cidr)))
            abort();
    }
    free(rules);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *json;

    if (size < 1)
        return 0;
    if (!(json = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL)))
        return 0;
    tern_error_reset();
    switch (data[0] % 4) {
    case 0:
        fuzz_migrate_data(json);
        break;
    case 1:
        fuzz_check_data(json);
        break;
    case 2:
        fuzz_instance(json);
        break;
    default:
        fuzz_rules(json);
        break;
    }
    json_decref(json);
    tern_error_reset();
    return 0;
}
