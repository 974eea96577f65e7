/*
 * tests/conductor/test-policy.c: the conductor's policy file (conductor/policy.c).
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "conductor/conductor.h"
#include "conductor/policy.h"
#include "tests/conductor/conductor_tests.h"

static const char *const sample =
    "{\"users\": {\"tern\": [\"admin\"], \"demo\": [\"reader\"], \"nova\": [\"service\"]},"
    " \"rules\": {\"live_migrate\": \"admin\", \"migration_list\": \"reader\","
    " \"service_report\": \"service\"}}";

START_TEST(test_policy_admin_may_live_migrate)
{
    conductor_policy_t *p = conductor_policy_parse("sample", sample);

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(conductor_policy_check(p, "tern", "live_migrate"), 0);
    conductor_policy_free(p);
}
END_TEST

START_TEST(test_policy_reader_refused_live_migrate_with_reason)
{
    conductor_policy_t *p = conductor_policy_parse("sample", sample);

    ck_assert_int_eq(conductor_policy_check(p, "demo", "live_migrate"), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_PERMISSION);
    ck_assert_str_eq(tern_error_message(),
                     "user \"demo\" may not call \"live_migrate\": role \"admin\" required");
    conductor_policy_free(p);
}
END_TEST

START_TEST(test_policy_admin_implies_reader_not_service)
{
    conductor_policy_t *p = conductor_policy_parse("sample", sample);

    ck_assert_int_eq(conductor_policy_check(p, "tern", "migration_list"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "demo", "migration_list"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "tern", "service_report"), -1);
    ck_assert_int_eq(conductor_policy_check(p, "nova", "service_report"), 0);
    conductor_policy_free(p);
}
END_TEST

START_TEST(test_policy_unknown_method_needs_admin_unknown_user_nothing)
{
    conductor_policy_t *p = conductor_policy_parse("sample", sample);

    ck_assert_int_eq(conductor_policy_check(p, "tern", "no_such_method"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "demo", "no_such_method"), -1);
    ck_assert_int_eq(conductor_policy_check(p, "mallory", "migration_list"), -1);
    ck_assert_int_eq(conductor_policy_check(p, NULL, "migration_list"), -1);
    ck_assert_str_eq(tern_error_message(),
                     "user \"\" may not call \"migration_list\": role \"reader\" required");
    conductor_policy_free(p);
}
END_TEST

START_TEST(test_policy_bad_files_named_errors)
{
    static const struct {
        const char *data;
        const char *message;
    } cases[] = {
        {"{", "invalid policy file \"p\": line 1: string or '}' expected near end of file"},
        {"{\"users\": []}",
         "invalid policy file \"p\": expected an object with \"users\", \"rules\" and "
         "\"context_roles\" objects"},
        {"{\"rules\": {\"live_migrat\": \"admin\"}}",
         "invalid policy file \"p\": unknown rule \"live_migrat\" (no such conductor method)"},
        {"{\"rules\": {\"live_migrate\": \"root\"}}",
         "invalid policy file \"p\": rule \"live_migrate\" needs an unknown role \"root\" (known: "
         "admin, reader, service, api)"},
        {"{\"users\": {\"eve\": [\"superuser\"]}}",
         "invalid policy file \"p\": user \"eve\" has an unknown role \"superuser\" (known: admin, "
         "reader, service, api)"},
        {"{\"users\": {\"a\": \"admin\"}, \"rules\": {}}",
         "invalid policy file \"p\": roles of user \"a\" are not a list"},
        {"{\"users\": {\"a\": [1]}, \"rules\": {}}",
         "invalid policy file \"p\": role 0 of user \"a\" is not a string"},
        {"{\"users\": {}, \"rules\": {\"x\": 3}}",
         "invalid policy file \"p\": rule for \"x\" is not a role name"},
        {"{\"users\": {}, \"rules\": {}, \"extra\": 1}",
         "invalid policy file \"p\": expected an object with \"users\", \"rules\" and "
         "\"context_roles\" objects: 1 object item(s) left unpacked: extra"},
        {"{\"context_roles\": {\"member\": [\"service\"]}}",
         "invalid policy file \"p\": context role \"member\" may give only admin or reader, not "
         "\"service\""},
        {"{\"context_roles\": {\"member\": \"reader\"}}",
         "invalid policy file \"p\": roles of context role \"member\" are not a list"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_ptr_null(conductor_policy_parse("p", cases[i].data));
        ck_assert_int_eq(tern_error_code(), TERN_ERR_CONFIG);
        ck_assert_str_eq(tern_error_message(), cases[i].message);
    }
}
END_TEST

START_TEST(test_policy_shipped_file_loads)
{
    bool from_file = false;
    conductor_policy_t *p = conductor_policy_load(TERN_SRCDIR "/etc/policy.json", &from_file);

    ck_assert_msg(p != NULL, "%s", tern_error_message());
    ck_assert(from_file);
    ck_assert_int_eq(conductor_policy_check(p, "tern", "live_migrate"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "demo", "live_migrate"), -1);
    ck_assert_int_eq(conductor_policy_check(p, "demo", "migration_list"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "tern-compute.host1", "migration_update"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "tern-compute", "migration_update"), -1);
    conductor_policy_free(p);
    ck_assert_ptr_null(conductor_policy_load(TERN_SRCDIR "/etc", NULL)); /* unreadable: refused */
    ck_assert_msg(strncmp(tern_error_message(), "could not load policy: ", 23) == 0, "%s",
                  tern_error_message());
}
END_TEST

/* No file: the defaults in code, with which a conductor started by hand simply works. */
START_TEST(test_policy_defaults_without_a_file)
{
    bool from_file = true;
    conductor_policy_t *p = conductor_policy_load("/nonexistent/policy.json", &from_file);

    ck_assert_msg(p != NULL, "%s", tern_error_message());
    ck_assert(!from_file);
    ck_assert_int_eq(conductor_policy_check(p, "tern", "host_evacuate_live"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "tern", "evacuation_get"), 0);
    /* each compute's own identity has "service" by convention; the old shared one nothing */
    ck_assert_int_eq(conductor_policy_check(p, "tern-compute.h1", "service_report"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "tern-compute.h1", "live_migrate"), -1);
    ck_assert_int_eq(conductor_policy_check(p, "tern-compute", "service_report"), -1);
    ck_assert_str_eq(tern_error_message(), "user \"tern-compute\" may not call \"service_report\": "
                                           "role \"service\" required");
    ck_assert_int_eq(conductor_policy_check(p, "tern-compute.", "service_report"), -1);
    ck_assert_int_eq(conductor_policy_check(p, "tern-compute.a/b", "service_report"), -1);
    ck_assert_int_eq(conductor_policy_check(p, "xtern-compute.h1", "service_report"), -1);
    ck_assert_int_eq(conductor_policy_check(p, "tern", "service_report"), -1);
    ck_assert_int_eq(conductor_policy_check(p, "demo", "migration_list"), -1);
    conductor_policy_free(p);
    p = conductor_policy_load(NULL, NULL);
    ck_assert_ptr_nonnull(p);
    conductor_policy_free(p);
}
END_TEST

/* A file overrides only what it names; the sample is the defaults and reads back as a file;
 * every method the conductor serves has a rule in the code. */
START_TEST(test_policy_file_overrides_and_sample)
{
    conductor_policy_t *p = conductor_policy_parse(
        "o", "{\"users\": {\"demo\": [\"reader\"]}, \"rules\": {\"server_list\": \"admin\"}}");
    char *sample_text = conductor_policy_sample();
    const char *m;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(conductor_policy_check(p, "demo", "server_list"), -1); /* overridden */
    ck_assert_int_eq(conductor_policy_check(p, "demo", "migration_list"), 0);
    ck_assert_int_eq(conductor_policy_check(p, "tern", "live_migrate"), 0); /* default user */
    conductor_policy_free(p);
    p = conductor_policy_parse("sample", sample_text);
    ck_assert_msg(p != NULL, "%s", tern_error_message());
    ck_assert_int_eq(conductor_policy_check(p, "tern", "live_migrate"), 0);
    conductor_policy_free(p);
    ck_assert_ptr_nonnull(strstr(sample_text, "\"host_evacuate_live\": \"admin\""));
    free(sample_text);
    for (size_t i = 0; (m = conductor_method_name(i)); i++)
        ck_assert_msg(conductor_policy_knows(m), "no default rule for method \"%s\"", m);
}
END_TEST

/* A context's user and roles count only from an identity with the role "api" (tern-api's);
 * from anyone else the AMQP user's own roles decide, whatever the context claims. */
START_TEST(test_policy_context_trusted_only_from_the_api_identity)
{
    conductor_policy_t *p = conductor_policy_load(NULL, NULL);
    json_t *admin = json_pack("{s:s, s:s, s:[s,s]}", "user_id", "u-admin", "project_id", "p1",
                              "roles", "admin", "member");
    json_t *member =
        json_pack("{s:s, s:[s,s]}", "user_id", "u-member", "roles", "member", "reader");
    json_t *as_compute = json_pack("{s:s, s:[s]}", "user_id", "tern-compute.h1", "roles", "admin");
    json_t *as_tern = json_pack("{s:s, s:[s]}", "user_id", "tern", "roles", "admin");
    json_t *bad_roles = json_pack("{s:s, s:s}", "user_id", "u1", "roles", "admin");
    json_t *no_user = json_pack("{s:[s]}", "roles", "admin");
    const char *user = NULL;

    ck_assert_ptr_nonnull(p);
    /* through tern-api: the context's user, its Keystone admin role mapped to tern's admin */
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", admin, "live_migrate", &user),
                     0);
    ck_assert_str_eq(user, "u-admin");
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", admin, "server_list", &user), 0);
    /* a project's member or reader is no tern reader by default */
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", member, "server_list", &user),
                     -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_PERMISSION);
    ck_assert_str_eq(tern_error_message(), "user \"u-member\" (through \"tern-api\") may not "
                                           "call \"server_list\": role \"reader\" required");
    /* the API identity itself has no role but "api": without a context user nothing */
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", no_user, "server_list", &user),
                     -1);
    ck_assert_int_eq(
        conductor_policy_check_request(p, "tern-api", as_compute, "service_report", &user), -1);
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", as_tern, "server_list", &user),
                     -1);
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", bad_roles, "server_list", &user),
                     -1);
    /* a context role never gives "service": tern-api cannot act as a compute */
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", admin, "service_report", &user),
                     -1);
    /* anyone else: the broker's user and its own roles, the context ignored */
    ck_assert_int_eq(conductor_policy_check_request(p, "demo", admin, "server_list", &user), -1);
    ck_assert_int_eq(conductor_policy_check_request(p, "mallory", admin, "live_migrate", &user),
                     -1);
    ck_assert_str_eq(tern_error_message(),
                     "user \"mallory\" may not call \"live_migrate\": role \"admin\" required");
    ck_assert_int_eq(conductor_policy_check_request(p, "tern", member, "live_migrate", &user), 0);
    ck_assert_str_eq(user, "tern");
    conductor_policy_free(p);
    /* a file may map another Keystone role to tern's reader */
    p = conductor_policy_parse("f", "{\"context_roles\": {\"reader\": [\"reader\"]}}");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", member, "server_list", &user),
                     0);
    ck_assert_str_eq(user, "u-member");
    ck_assert_int_eq(conductor_policy_check_request(p, "tern-api", member, "live_migrate", &user),
                     -1);
    conductor_policy_free(p);
    json_decref(admin);
    json_decref(member);
    json_decref(as_compute);
    json_decref(as_tern);
    json_decref(bad_roles);
    json_decref(no_user);
}
END_TEST

TCase *
conductor_policy_tcase(void)
{
    TCase *tc = tcase_create("policy");

    tcase_add_test(tc, test_policy_admin_may_live_migrate);
    tcase_add_test(tc, test_policy_admin_implies_reader_not_service);
    tcase_add_test(tc, test_policy_shipped_file_loads);
    tcase_add_test(tc, test_policy_defaults_without_a_file);
    tcase_add_test(tc, test_policy_file_overrides_and_sample);
    tcase_add_test(tc, test_policy_reader_refused_live_migrate_with_reason);
    tcase_add_test(tc, test_policy_unknown_method_needs_admin_unknown_user_nothing);
    tcase_add_test(tc, test_policy_bad_files_named_errors);
    tcase_add_test(tc, test_policy_context_trusted_only_from_the_api_identity);
    return tc;
}
