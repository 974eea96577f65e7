/*
 * tests/conductor/test-validate.c: the validate case (unit) - the request arguments that
 * conductor/validate.c checks without a database; a number is the number sent or refused, never
 * cut down to an int (tests/fuzz/fuzz-conductor's promise).
 */
#include <stdlib.h>

#include "common/error.h"
#include "conductor/validate.h"
#include "tests/conductor/conductor_tests.h"

static json_t *
load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);

    ck_assert_msg(j != NULL, "bad test JSON (%s): %s", jerr.text, text);
    return j;
}

#define CREATE(vcpus, priority)                                                          \
    "{\"name\": \"vm1\", \"image\": \"img\", \"memory_mb\": 256, \"vcpus\": " vcpus ", " \
    "\"disk_gb\": 1, \"priority\": " priority "}"

START_TEST(test_server_create_numbers_kept_or_refused)
{
    conductor_server_request_t r;
    json_t *args = load(CREATE("2", "-7"));

    CK_OK(conductor_validate_server_create(args, &r));
    ck_assert_int_eq(r.vcpus, 2);
    ck_assert_int_eq(r.priority, -7);
    json_decref(args);
    /* 2^32 + 1 and 2^32 + 5 were read as 1 and 5 */
    args = load(CREATE("4294967297", "0"));
    CK_FAILS_WITH(conductor_validate_server_create(args, &r), TERN_ERR_INVALID,
                  "invalid server size");
    json_decref(args);
    args = load(CREATE("1", "4294967301"));
    CK_FAILS_WITH(conductor_validate_server_create(args, &r), TERN_ERR_INVALID,
                  "invalid priority 4294967301: -1000..1000");
    json_decref(args);
}
END_TEST

START_TEST(test_drain_max_concurrent_kept_or_refused)
{
    rpc_request_t req = {.method = "host_evacuate_live"};
    db_drain_t d = {0};

    req.args = load("{\"host\": \"h1\", \"max_concurrent\": 4}");
    CK_OK(conductor_validate_drain(&req, &d));
    ck_assert_int_eq(d.max_concurrent, 4);
    json_decref(req.args);
    req.args = load("{\"host\": \"h1\", \"max_concurrent\": 4294967300}"); /* was read as 4 */
    CK_FAILS_WITH(conductor_validate_drain(&req, &d), TERN_ERR_INVALID,
                  "invalid max_concurrent 4294967300: must be 1 to 64");
    json_decref(req.args);
}
END_TEST

TCase *
conductor_validate_tcase(void)
{
    TCase *tc = tcase_create("validate");

    tcase_add_test(tc, test_server_create_numbers_kept_or_refused);
    tcase_add_test(tc, test_drain_max_concurrent_kept_or_refused);
    return tc;
}
