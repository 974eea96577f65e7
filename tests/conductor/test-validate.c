/*
 * tests/conductor/test-validate.c: the validate case (unit) - the request arguments that
 * conductor/validate.c checks without a database; a number is the number sent or refused, never
 * cut down to an int (tests/fuzz/fuzz-conductor's promise).
 */
#include <stdio.h>
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

/* What reaches log lines, the domain's XML and the firewall is refused at the boundary unless
 * well formed: a name with a control character, a bridge name ip(8) would not take, a rule
 * whose port would be cut to an int, or whose address is not one. */
START_TEST(test_server_create_strings_and_rules)
{
    static const struct {
        const char *extra; /* added to a valid create */
        const char *message;
    } cases[] = {
        {"\"name\": \"vm\\nforged line\"", "invalid server name"},
        {"\"name\": \"vm\\u007f\"", "invalid server name"},
        {"\"networks\": [{\"bridge\": \"br0 up\"}]", "invalid network 0"},
        {"\"networks\": [{\"bridge\": \"br/0\"}]", "invalid network 0"},
        {"\"volumes\": [{\"volume_id\": \"v\\t1\", \"path\": \"/v\"}]", "invalid volume 0"},
        {"\"security_group_rules\": [{\"direction\": \"ingress\", \"protocol\": \"tcp\", "
         "\"port_min\": 4294967318, \"port_max\": 4294967318}]",
         "invalid security-group rule 0: bad port range 4294967318-4294967318"},
        {"\"security_group_rules\": [{\"direction\": \"ingress\", \"protocol\": \"tcp\", "
         "\"port_min\": 80, \"port_max\": 22}]",
         "bad port range 80-22"},
        {"\"security_group_rules\": [{\"direction\": \"ingress\", \"protocol\": \"icmp\", "
         "\"port_min\": 8}]",
         "ports need protocol tcp or udp"},
        {"\"security_group_rules\": [{\"direction\": \"sideways\", \"protocol\": \"tcp\"}]",
         "direction \"sideways\""},
        {"\"security_group_rules\": [{\"direction\": \"ingress\", \"protocol\": \"any\", "
         "\"remote_cidr\": \"10.0.0.0/33\"}]",
         "remote_cidr \"10.0.0.0/33\""},
        {"\"security_group_rules\": [{\"direction\": \"ingress\", \"protocol\": \"any\", "
         "\"remote_cidr\": \"10.0.0.0; rm\"}]",
         "remote_cidr"},
        {"\"security_group_rules\": [{\"direction\": \"ingress\", \"protocol\": \"any\", "
         "\"colour\": 1}]",
         "invalid security-group rule 0"},
    };
    conductor_server_request_t r;
    json_t *args;

    args =
        load("{\"name\": \"vm1\", \"image\": \"img\", \"memory_mb\": 256, \"vcpus\": 1, "
             "\"disk_gb\": 1, \"networks\": [{\"bridge\": \"tern-vbr0\"}], "
             "\"security_group_rules\": [{\"direction\": \"ingress\", \"protocol\": \"tcp\", "
             "\"port_min\": 22, \"port_max\": 22, \"remote_cidr\": \"198.18.0.0/24\"}, "
             "{\"direction\": \"egress\", \"protocol\": \"any\", \"remote_cidr\": \"::1/128\"}]}");
    CK_OK(conductor_validate_server_create(args, &r));
    json_decref(args);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = NULL;

        ck_assert_int_gt(asprintf(&text,
                                  "{\"name\": \"vm1\", \"image\": \"img\", \"memory_mb\": 256, "
                                  "\"vcpus\": 1, \"disk_gb\": 1, %s}",
                                  cases[i].extra),
                         0);
        {
            json_error_t jerr;
            json_t *base = json_loads(text, 0, &jerr);

            ck_assert_msg(base != NULL, "case %zu: %s", i, jerr.text);
            /* a later "name" wins over the first: jansson keeps the last */
            CK_FAILS_WITH(conductor_validate_server_create(base, &r), TERN_ERR_INVALID,
                          cases[i].message);
            json_decref(base);
        }
        free(text);
    }
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
    tcase_add_test(tc, test_server_create_strings_and_rules);
    return tc;
}
