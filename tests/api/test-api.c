/*
 * tests/api/test-api.c: the api suite's runner, and its unit cases.
 *
 * version: microversion negotiation as nova's (headers, precedence, latest, the 400 and 406
 *          messages) and the version documents novaclient reads;
 * views:   a conductor SERVER shown as nova shows it, by microversion (flavor before and from
 *          2.47, fields added at 2.3, 2.9, 2.19, 2.26, 2.73), status from vm and task state.
 * The service cases (test-api-service.c, test-api-clients.c) start their services only when
 * one of them runs.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/error.h"
#include "common/json.h"
#include "common/util.h"
#include "tests/api/test-api.h"

static void
assert_version(const char *openstack, const char *nova, int minor)
{
    api_version_t v = {0};

    ck_assert_msg(api_version_negotiate(openstack, nova, &v) == 0, "%s / %s: %s",
                  openstack ? openstack : "-", nova ? nova : "-", tern_error_message());
    ck_assert_int_eq(v.major, 2);
    ck_assert_int_eq(v.minor, minor);
}

static void
assert_refused(const char *openstack, const char *nova, tern_error_code_t code, const char *msg)
{
    api_version_t v = {7, 7};

    ck_assert_int_eq(api_version_negotiate(openstack, nova, &v), -1);
    ck_assert_int_eq(tern_error_code(), code);
    ck_assert_str_eq(tern_error_message(), msg);
    ck_assert_int_eq(v.major, 7); /* untouched */
}

START_TEST(test_version_negotiation_as_nova)
{
    char buf[16];

    assert_version(NULL, NULL, 1);
    assert_version(NULL, "2.60", 60);
    assert_version("compute 2.30", "2.5", 30); /* the new header wins */
    assert_version("image 2.1, compute 2.42", NULL, 42);
    assert_version("image 2.1", "2.7", 7); /* no compute in it: the legacy header */
    assert_version("compute latest", NULL, 80);
    assert_version(NULL, "latest", 80);
    assert_version(NULL, " 2.80 ", 80);
    assert_refused(NULL, "2.81", TERN_ERR_CONFLICT,
                   "Version 2.81 is not supported by the API. Minimum is 2.1 and maximum is 2.80.");
    assert_refused("compute 3.0", NULL, TERN_ERR_CONFLICT,
                   "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.80.");
    assert_refused(NULL, "2.0", TERN_ERR_CONFLICT,
                   "Version 2.0 is not supported by the API. Minimum is 2.1 and maximum is 2.80.");
    assert_refused(NULL, "2.x", TERN_ERR_INVALID,
                   "API Version String 2.x is of invalid format. Must be of format "
                   "MajorNum.MinorNum.");
    assert_refused("compute 02.1", NULL, TERN_ERR_INVALID,
                   "API Version String 02.1 is of invalid format. Must be of format "
                   "MajorNum.MinorNum.");
    assert_refused(NULL, "2.01", TERN_ERR_INVALID,
                   "API Version String 2.01 is of invalid format. Must be of format "
                   "MajorNum.MinorNum.");
    api_version_format((api_version_t){2, 47}, buf);
    ck_assert_str_eq(buf, "2.47");
}
END_TEST

START_TEST(test_version_documents_as_novaclient_reads_them)
{
    json_t *show = api_version_show("http://h:8774");
    json_t *list = api_version_list("http://h:8774");
    json_t *v = json_object_get(show, "version"), *l;

    ck_assert_str_eq(json_string_value(json_object_get(v, "id")), "v2.1");
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "CURRENT");
    ck_assert_str_eq(json_string_value(json_object_get(v, "version")), "2.80");
    ck_assert_str_eq(json_string_value(json_object_get(v, "min_version")), "2.1");
    l = json_array_get(json_object_get(v, "links"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(l, "rel")), "self");
    ck_assert_str_eq(json_string_value(json_object_get(l, "href")), "http://h:8774/v2.1/");
    ck_assert_uint_eq(json_array_size(json_object_get(list, "versions")), 1);
    v = json_array_get(json_object_get(list, "versions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "version")), "2.80");
    ck_assert_uint_eq(json_array_size(json_object_get(v, "links")), 1);
    json_decref(show);
    json_decref(list);
}
END_TEST

TCase *
test_api_version_case(void)
{
    TCase *tc = tcase_create("version");

    tcase_add_test(tc, test_version_negotiation_as_nova);
    tcase_add_test(tc, test_version_documents_as_novaclient_reads_them);
    return tc;
}

static json_t *
server_fixture(const char *vm_state, const char *task_state)
{
    return tern_json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s?, s:i, s:i, s:i, s:i, s:s, s:s, s:s, s:[{s:s, s:s}], "
        "s:[], s:[], s:s, s:s}",
        "uuid", "0f3c2a1e-0000-4000-8000-000000000001", "name", "vm1", "host", "h1", "node", "h1",
        "vm_state", vm_state, "task_state", task_state, "power_state", 1, "memory_mb", 256, "vcpus",
        2, "disk_gb", 3, "image", "tern-guest", "project_id", "p1", "user_id", "u1", "volumes",
        "volume_id", "vol1", "path", "/s/vol1.img", "networks", "security_group_rules",
        "created_at", "2026-01-02T03:04:05.678Z", "updated_at", "2026-01-02T03:04:06.000Z");
}

static const char *
s_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    ck_assert_msg(s != NULL, "no string \"%s\" in %s", key, json_dumps(o, JSON_COMPACT));
    return s;
}

START_TEST(test_views_server_by_microversion)
{
    api_request_t req = {.base = "http://api:8774", .version = {2, 1}};
    json_t *server = server_fixture("active", NULL);
    json_t *v = api_view_server(&req, server, true), *brief, *flavor;

    ck_assert_str_eq(s_of(v, "id"), "0f3c2a1e-0000-4000-8000-000000000001");
    ck_assert_str_eq(s_of(v, "status"), "ACTIVE");
    ck_assert_str_eq(s_of(v, "tenant_id"), "p1");
    ck_assert_str_eq(s_of(v, "OS-EXT-SRV-ATTR:host"), "h1");
    ck_assert(json_is_null(json_object_get(v, "OS-EXT-STS:task_state")));
    ck_assert_str_eq(s_of(v, "created"), "2026-01-02T03:04:05Z");
    ck_assert_str_eq(s_of(v, "OS-SRV-USG:launched_at"), "2026-01-02T03:04:05.000000");
    flavor = json_object_get(v, "flavor");
    ck_assert_str_eq(s_of(flavor, "id"), "tern-256mb-2vcpu-3gb");
    ck_assert_str_eq(s_of(json_array_get(json_object_get(v, "links"), 0), "href"),
                     "http://api:8774/v2.1/servers/0f3c2a1e-0000-4000-8000-000000000001");
    ck_assert_str_eq(
        s_of(json_array_get(json_object_get(v, "os-extended-volumes:volumes_attached"), 0), "id"),
        "vol1");
    ck_assert_ptr_null(json_object_get(v, "locked"));
    ck_assert_ptr_null(json_object_get(v, "OS-EXT-SRV-ATTR:hostname"));
    json_decref(v);
    req.version.minor = 80;
    v = api_view_server(&req, server, true);
    flavor = json_object_get(v, "flavor");
    ck_assert_ptr_null(json_object_get(flavor, "id"));
    ck_assert_str_eq(s_of(flavor, "original_name"), "tern-256mb-2vcpu-3gb");
    ck_assert_int_eq(json_integer_value(json_object_get(flavor, "ram")), 256);
    ck_assert_int_eq(json_integer_value(json_object_get(flavor, "vcpus")), 2);
    ck_assert_str_eq(s_of(v, "OS-EXT-SRV-ATTR:hostname"), "vm1");
    ck_assert(json_is_false(json_object_get(v, "locked")));
    ck_assert(json_is_array(json_object_get(v, "tags")));
    ck_assert(json_is_null(json_object_get(v, "description")));
    ck_assert(json_is_null(json_object_get(v, "locked_reason")));
    brief = api_view_server(&req, server, false);
    ck_assert_uint_eq(json_object_size(brief), 3); /* id, name, links */
    json_decref(brief);
    json_decref(v);
    json_decref(server);
}
END_TEST

START_TEST(test_views_status_from_vm_and_task_state)
{
    static const struct {
        const char *vm_state, *task_state, *status;
    } cases[] = {
        {"active", NULL, "ACTIVE"},   {"active", "migrating", "MIGRATING"},
        {"building", NULL, "BUILD"},  {"stopped", NULL, "SHUTOFF"},
        {"paused", NULL, "PAUSED"},   {"error", NULL, "ERROR"},
        {"deleted", NULL, "DELETED"}, {"weird", NULL, "UNKNOWN"},
    };
    api_request_t req = {.base = "http://api:8774", .version = {2, 1}};

    for (size_t i = 0; i < TERN_N_ELEMENTS(cases); i++) {
        json_t *server = server_fixture(cases[i].vm_state, cases[i].task_state);
        json_t *v = api_view_server(&req, server, true);

        ck_assert_str_eq(s_of(v, "status"), cases[i].status);
        ck_assert_str_eq(s_of(v, "OS-EXT-STS:vm_state"), cases[i].vm_state);
        json_decref(v);
        json_decref(server);
    }
}
END_TEST

TCase *
test_api_views_case(void)
{
    TCase *tc = tcase_create("views");

    tcase_add_test(tc, test_views_server_by_microversion);
    tcase_add_test(tc, test_views_status_from_vm_and_task_state);
    return tc;
}

static bool service_prepared;

/* prepare: the service cases need Keystone, the conductor and tern-api; started only when one
 * of them runs. */
static int
prepare(void)
{
    static const char *const needs_service[] = {"http", "auth", "servers", "clients"};

    for (size_t i = 0; i < TERN_N_ELEMENTS(needs_service); i++) {
        if (tern_check_case_runs(needs_service[i])) {
            service_prepared = true;
            return test_api_service_prepare();
        }
    }
    return 0;
}

static void
release(void)
{
    if (service_prepared)
        test_api_service_release();
}

int
main(void)
{
    static const tern_check_case_fn cases[] = {
        test_api_version_case, test_api_views_case,   test_api_http_case,
        test_api_auth_case,    test_api_servers_case, test_api_clients_case,
    };

    tern_json_init();
    return tern_check_run("api", cases, TERN_N_ELEMENTS(cases), prepare, release);
}
