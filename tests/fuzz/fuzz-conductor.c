/*
 * tests/fuzz/fuzz-conductor.c: libFuzzer target for the conductor's validation of request
 * arguments that needs no database (conductor/validate.c).
 *
 * The first byte of an input chooses the method (its value modulo 3); the rest is parsed as JSON
 * with the RPC decoder's flags (rpc/message.c: duplicate keys refused) and handed to its
 * validator as the request's arguments:
 *
 *   0  live_migrate            conductor_check_parameters
 *   1  server_create           conductor_validate_server_create
 *   2  host_evacuate_live      conductor_validate_drain
 *
 * Besides the sanitizers' checks, the validators' promises are asserted: a refusal leaves an
 * INVALID error with a message (non-empty, one line of UTF-8); what is accepted is what was sent
 * (every number the JSON number, no silent truncation; strings the JSON strings) and within the
 * documented limits. Built and run by tests/fuzz/run-fuzz-targets; owns nothing between inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "conductor/validate.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
refused(void)
{
    if (tern_error_code() != TERN_ERR_INVALID)
        abort();
    fuzz_check_message(tern_error_message());
}

/* member_is: the string s is args' member key (both absent counts: s NULL, key absent or null). */
static bool
member_is(const json_t *args, const char *key, const char *s)
{
    const json_t *v = json_object_get(args, key);

    if (!v || json_is_null(v))
        return s == NULL;
    return s && json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* number_is: args' member key is absent (and n is dflt) or the integer n. */
static bool
number_is(const json_t *args, const char *key, long long n, long long dflt)
{
    const json_t *v = json_object_get(args, key);

    if (!v)
        return n == dflt;
    return json_is_integer(v) && json_integer_value(v) == n;
}

static void
fuzz_live_migrate(const json_t *args)
{
    conductor_live_migrate_args_t a = {0};
    const json_t *block = json_object_get(args, "block_migration");

    if (conductor_check_parameters(args, &a) < 0) {
        refused();
        return;
    }
    if (!a.instance || !a.instance[0] || !member_is(args, "instance", a.instance) ||
        !member_is(args, "host", a.host) || (a.host && !a.host[0]))
        abort();
    if (a.block_migration != (!block || json_is_null(block) ? -1 : json_is_true(block)))
        abort();
}

static void
fuzz_server_create(const json_t *args)
{
    conductor_server_request_t r;

    if (conductor_validate_server_create(args, &r) < 0) {
        refused();
        return;
    }
    if (!member_is(args, "name", r.name) || !r.name[0] || strlen(r.name) > 255 ||
        !member_is(args, "image", r.image) || !member_is(args, "host", r.host) ||
        !member_is(args, "migration_support", r.migration_support))
        abort();
    if (!number_is(args, "memory_mb", r.memory_mb, -1) || !number_is(args, "vcpus", r.vcpus, -1) ||
        !number_is(args, "disk_gb", r.disk_gb, -1) || !number_is(args, "priority", r.priority, 0))
        abort(); /* what the conductor records is what was asked */
    if (r.memory_mb < 16 || r.memory_mb > 1024 * 1024 || r.vcpus < 1 || r.vcpus > 256 ||
        r.disk_gb < 0 || r.disk_gb > 64 * 1024 || r.priority < -1000 || r.priority > 1000)
        abort();
    if ((r.volumes && !json_is_array(r.volumes)) || (r.networks && !json_is_array(r.networks)) ||
        (r.rules && !json_is_array(r.rules)) || (r.workload && !json_is_object(r.workload)))
        abort();
}

static void
fuzz_drain(json_t *args)
{
    rpc_request_t req = {.method = "host_evacuate_live", .args = args};
    db_drain_t d = {0};

    if (conductor_validate_drain(&req, &d) < 0) {
        refused();
        return;
    }
    if (!d.host || !d.host[0] || !member_is(args, "host", d.host) ||
        !member_is(args, "target_host", d.target_host) || !member_is(args, "reason", d.reason))
        abort();
    if (!number_is(args, "max_concurrent", d.max_concurrent, 0) ||
        (json_object_get(args, "max_concurrent") &&
         (d.max_concurrent < 1 || d.max_concurrent > 64)))
        abort(); /* the limit asked is the limit kept */
    if (d.block_migration < -1 || d.block_migration > 1)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *json;

    if (size < 1)
        return 0;
    if (!(json = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL)))
        return 0;
    if (!json_is_object(json)) { /* the RPC decoder hands a handler an object only */
        json_decref(json);
        return 0;
    }
    tern_error_reset();
    switch (data[0] % 3) {
    case 0:
        fuzz_live_migrate(json);
        break;
    case 1:
        fuzz_server_create(json);
        break;
    default:
        fuzz_drain(json);
        break;
    }
    json_decref(json);
    tern_error_reset();
    return 0;
}
