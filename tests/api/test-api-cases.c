/*
 * tests/api/test-api-cases.c: cases http, auth and servers of the api suite (what each pins:
 * test-api-service.c's header), against the services test-api-service.c started.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc.h"
#include "tests/api/test-api.h"

static const char *
s_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    ck_assert_msg(s != NULL, "no string \"%s\" in %s", key, json_dumps(o, JSON_COMPACT));
    return s;
}

/* assert_fault: a in nova's shape {"<name>": {"code": status, "message": msg}}. */
static void
assert_fault(const http_answer_t *a, long status, const char *name, const char *msg)
{
    json_t *body = http_json(a), *fault = json_object_get(body, name);

    ck_assert_msg(a->status == status, "status %ld, not %ld: %s", a->status, status, a->body);
    ck_assert_msg(fault != NULL, "no \"%s\" in %s", name, a->body);
    ck_assert_int_eq(json_integer_value(json_object_get(fault, "code")), status);
    if (msg)
        ck_assert_str_eq(s_of(fault, "message"), msg);
    json_decref(body);
}

/* assert_request_id: the answer carries an x-openstack-request-id req-<uuid>. */
static void
assert_request_id(const http_answer_t *a)
{
    TERN_AUTOFREE char *id = http_header(a, "x-openstack-request-id");

    ck_assert_msg(id && strncmp(id, "req-", 4) == 0 && tern_uuid_valid(id + 4),
                  "request id \"%s\" in %s", id ? id : "(none)", a->headers);
}

/* get: GET path of tern-api with token (NULL: none) and one more header line (or NULL). */
static http_answer_t
get(const char *path, const char *token, const char *extra)
{
    TERN_AUTOFREE char *auth = token ? tern_asprintf("X-Auth-Token: %s", token) : NULL;
    const char *headers[3] = {NULL, NULL, NULL};
    size_t n = 0;

    if (auth)
        headers[n++] = auth;
    if (extra)
        headers[n++] = extra;
    return http_request(test_api_port, "GET", path, NULL, headers);
}

static char *
admin_token(void)
{
    return keystone_token("admin", "admin");
}

/* ---- http ---- */

START_TEST(test_http_version_discovery_without_a_token)
{
    http_answer_t root = get("/", NULL, NULL), v21 = get("/v2.1", NULL, NULL);
    http_answer_t slash = get("/v2.1/", NULL, NULL);
    TERN_AUTOFREE char *self = tern_asprintf("http://127.0.0.1:%d/v2.1/", test_api_port);
    json_t *list = http_json(&root), *show = http_json(&v21), *v;

    ck_assert_int_eq(root.status, 200);
    assert_request_id(&root);
    v = json_array_get(json_object_get(list, "versions"), 0);
    ck_assert_str_eq(s_of(v, "id"), "v2.1");
    ck_assert_str_eq(s_of(v, "status"), "CURRENT");
    ck_assert_str_eq(s_of(v, "version"), "2.80");
    ck_assert_int_eq(v21.status, 200);
    v = json_object_get(show, "version");
    ck_assert_str_eq(s_of(v, "id"), "v2.1");
    ck_assert_str_eq(s_of(v, "version"), "2.80");
    ck_assert_str_eq(s_of(v, "min_version"), "2.1");
    ck_assert_str_eq(s_of(json_array_get(json_object_get(v, "links"), 0), "href"), self);
    ck_assert_int_eq(slash.status, 200);
    json_decref(list);
    json_decref(show);
    http_answer_clear(&root);
    http_answer_clear(&v21);
    http_answer_clear(&slash);
}
END_TEST

START_TEST(test_http_microversion_negotiated_or_refused_as_nova)
{
    TERN_AUTOFREE char *token = admin_token();
    http_answer_t too_new = get("/v2.1/servers", token, "X-OpenStack-Nova-API-Version: 2.81");
    http_answer_t major = get("/v2.1/servers", token, "OpenStack-API-Version: compute 3.0");
    http_answer_t bad = get("/v2.1/servers", token, "X-OpenStack-Nova-API-Version: 2.x");
    http_answer_t latest = get("/v2.1/servers", token, "OpenStack-API-Version: compute latest");
    http_answer_t none = get("/v2.1/servers", token, NULL);
    TERN_AUTOFREE char *os = http_header(&latest, "OpenStack-API-Version");
    TERN_AUTOFREE char *nova = http_header(&latest, "X-OpenStack-Nova-API-Version");
    TERN_AUTOFREE char *vary = http_header(&latest, "Vary");
    TERN_AUTOFREE char *dflt = http_header(&none, "X-OpenStack-Nova-API-Version");

    assert_fault(&too_new, 406, "computeFault",
                 "Version 2.81 is not supported by the API. Minimum is 2.1 and maximum is 2.80.");
    assert_request_id(&too_new);
    assert_fault(&major, 406, "computeFault",
                 "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.80.");
    assert_fault(&bad, 400, "badRequest",
                 "API Version String 2.x is of invalid format. Must be of format "
                 "MajorNum.MinorNum.");
    ck_assert_int_eq(latest.status, 200);
    ck_assert_str_eq(os, "compute 2.80");
    ck_assert_str_eq(nova, "2.80");
    ck_assert_str_eq(vary, "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    ck_assert_str_eq(dflt, "2.1");
    http_answer_clear(&too_new);
    http_answer_clear(&major);
    http_answer_clear(&bad);
    http_answer_clear(&latest);
    http_answer_clear(&none);
}
END_TEST

START_TEST(test_http_unknown_paths_methods_and_limits)
{
    TERN_AUTOFREE char *token = admin_token();
    TERN_AUTOFREE char *auth = tern_asprintf("X-Auth-Token: %s", token);
    TERN_AUTOFREE char *big = tern_calloc(1, 4097);
    TERN_AUTOFREE char *huge_header = tern_calloc(1, 16384);
    const char *headers[] = {auth, NULL};
    const char *huge[] = {auth, huge_header, NULL};
    http_answer_t unknown = get("/v2.1/no-such-thing", token, NULL);
    http_answer_t outside = get("/v3/servers", token, NULL);
    http_answer_t del = http_request(test_api_port, "DELETE", "/v2.1/servers", NULL, headers);
    http_answer_t body, header;

    assert_fault(&unknown, 404, "itemNotFound", "The resource could not be found.");
    assert_fault(&outside, 404, "itemNotFound", NULL);
    assert_fault(&del, 405, "badMethod", NULL);
    memset(big, 'x', 4096);
    body = http_request(test_api_port, "POST", "/v2.1/servers", big,
                        headers); /* max_body_bytes 1024 */
    assert_fault(&body, 413, "overLimit", "Request is too large. (limit 1024 bytes)");
    memcpy(huge_header, "X-Padding: ", 11);
    memset(huge_header + 11, 'p', 16000); /* max_header_bytes 8192 */
    header = http_request(test_api_port, "GET", "/v2.1/servers", NULL, huge);
    ck_assert_msg(header.status == 431 || header.status == 413, "status %ld: %s", header.status,
                  header.body);
    http_answer_clear(&unknown);
    http_answer_clear(&outside);
    http_answer_clear(&del);
    http_answer_clear(&body);
    http_answer_clear(&header);
}
END_TEST

TCase *
test_api_http_case(void)
{
    TCase *tc = tcase_create("http");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_http_version_discovery_without_a_token);
    tcase_add_test(tc, test_http_microversion_negotiated_or_refused_as_nova);
    tcase_add_test(tc, test_http_unknown_paths_methods_and_limits);
    return tc;
}

/* ---- auth ---- */

/* assert_unauthorized: keystonemiddleware's 401 and where to get a token. */
static void
assert_unauthorized(const http_answer_t *a)
{
    TERN_AUTOFREE char *www = http_header(a, "WWW-Authenticate");
    TERN_AUTOFREE char *want =
        tern_asprintf("Keystone uri=\"http://127.0.0.1:%d/v3\"", keystone_port);
    json_t *body = http_json(a);

    ck_assert_msg(a->status == 401, "status %ld: %s", a->status, a->body);
    ck_assert_str_eq(www ? www : "(none)", want);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(body, "error"), "code")),
                     401);
    assert_request_id(a);
    json_decref(body);
}

START_TEST(test_auth_missing_or_bad_token_401)
{
    TERN_AUTOFREE char *token = admin_token();
    TERN_AUTOFREE char *forged = tern_strdup(token);
    http_answer_t none = get("/v2.1/servers", NULL, NULL);
    http_answer_t bad = get("/v2.1/servers/detail", "gAAAAABnot-a-real-token", NULL);
    http_answer_t tampered;

    forged[strlen(forged) / 2] = forged[strlen(forged) / 2] == 'A' ? 'B' : 'A';
    tampered = get("/v2.1/servers", forged, NULL);
    assert_unauthorized(&none);
    assert_unauthorized(&bad);
    assert_unauthorized(&tampered);
    http_answer_clear(&none);
    http_answer_clear(&bad);
    http_answer_clear(&tampered);
}
END_TEST

START_TEST(test_auth_member_refused_403_by_the_conductor)
{
    TERN_AUTOFREE char *token = keystone_token("alice", "demo");
    TERN_AUTOFREE char *msg = tern_asprintf("user \"%s\" (through \"tern-api\") may not call "
                                            "\"server_list\": role \"reader\" required",
                                            alice_id);
    http_answer_t list = get("/v2.1/servers", token, NULL);
    http_answer_t show = get("/v2.1/servers/detail?host=api-h1", token, NULL);

    assert_fault(&list, 403, "forbidden", msg);
    assert_request_id(&list);
    assert_fault(&show, 403, "forbidden", NULL);
    http_answer_clear(&list);
    http_answer_clear(&show);
}
END_TEST

/* keystone_validations: how many token validations Keystone served (its request log). */
static int
keystone_validations(void)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/keystone.log", api_work_dir);
    TERN_AUTOFREE char *text = NULL;
    int n = 0;

    if (tern_file_read_all(path, 64 << 20, &text, NULL) < 0)
        ck_abort_msg("%s", tern_error_message());
    for (const char *p = text; (p = strstr(p, "GET /v3/auth/tokens?nocatalog")); p++)
        n++;
    return n;
}

START_TEST(test_auth_token_validated_once_then_cached)
{
    TERN_AUTOFREE char *token = admin_token();
    int before = keystone_validations(), after;

    for (int i = 0; i < 5; i++) {
        http_answer_t a = get("/v2.1/servers", token, NULL);

        ck_assert_msg(a.status == 200, "status %ld: %s", a.status, a.body);
        http_answer_clear(&a);
    }
    after = keystone_validations();
    ck_assert_msg(after == before + 1, "keystone asked %d times for 5 requests", after - before);
}
END_TEST

/* Only tern-api's broker identity may assert an identity: "demo" (no role of its own) claiming
 * Keystone's admin in its context is refused as "demo". */
START_TEST(test_auth_context_believed_only_from_tern_api)
{
    const char *const roles[] = {"admin", NULL};
    TERN_AUTOFREE char *url = NULL;
    rpc_target_t conductor = {.topic = "conductor", .version = "1.0"};
    json_t *context = rpc_context_new("u-admin", "p1", roles, NULL), *result = NULL;
    rpc_config_t cfg;
    rpc_client_t *client;

    rpc_config_init(&cfg);
    url = tern_asprintf("rabbit://demo:demo-pw@127.0.0.1:%d/", rabbitmq_port);
    cfg.transport_url = url;
    cfg.response_timeout_ms = 20000;
    client = rpc_client_new(&cfg);
    ck_assert_msg(client != NULL, "%s", tern_error_message());
    ck_assert_int_eq(rpc_call(client, &conductor, context, "server_list", NULL, 0, &result), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_PERMISSION);
    ck_assert_str_eq(tern_error_message(),
                     "user \"demo\" may not call \"server_list\": role \"reader\" required");
    rpc_client_free(client);
    json_decref(context);
}
END_TEST

TCase *
test_api_auth_case(void)
{
    TCase *tc = tcase_create("auth");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_auth_missing_or_bad_token_401);
    tcase_add_test(tc, test_auth_member_refused_403_by_the_conductor);
    tcase_add_test(tc, test_auth_token_validated_once_then_cached);
    tcase_add_test(tc, test_auth_context_believed_only_from_tern_api);
    return tc;
}

/* ---- servers ---- */

/* find: the server of uuid in list, or NULL. */
static json_t *
find(json_t *list, const char *uuid)
{
    json_t *s;
    size_t i;

    json_array_foreach(list, i, s)
    {
        if (tern_streq(json_string_value(json_object_get(s, "id")), uuid))
            return s;
    }
    return NULL;
}

START_TEST(test_servers_list_detail_and_host_filter)
{
    TERN_AUTOFREE char *token = admin_token();
    http_answer_t brief = get("/v2.1/servers", token, NULL);
    http_answer_t detail = get("/v2.1/servers/detail", token, NULL);
    http_answer_t h1 = get("/v2.1/servers/detail?host=api-h1", token, NULL);
    http_answer_t named = get("/v2.1/servers?name=api-vm-b", token, NULL);
    json_t *b = http_json(&brief), *d = http_json(&detail), *f = http_json(&h1);
    json_t *n = http_json(&named), *s;

    ck_assert_int_eq(brief.status, 200);
    s = find(json_object_get(b, "servers"), vm_a_uuid);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s_of(s, "name"), "api-vm-a");
    ck_assert_uint_eq(json_object_size(s), 3);
    ck_assert_int_eq(detail.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(d, "servers")), 2);
    s = find(json_object_get(d, "servers"), vm_b_uuid);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s_of(s, "status"), "MIGRATING");
    ck_assert_str_eq(s_of(s, "OS-EXT-STS:task_state"), "migrating");
    ck_assert_str_eq(s_of(s, "OS-EXT-SRV-ATTR:host"), "api-h2");
    ck_assert_int_eq(h1.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(f, "servers")), 1);
    s = json_array_get(json_object_get(f, "servers"), 0);
    ck_assert_str_eq(s_of(s, "id"), vm_a_uuid);
    ck_assert_str_eq(s_of(s, "status"), "ACTIVE");
    ck_assert_uint_eq(json_array_size(json_object_get(n, "servers")), 1);
    ck_assert_str_eq(s_of(json_array_get(json_object_get(n, "servers"), 0), "id"), vm_b_uuid);
    json_decref(b);
    json_decref(d);
    json_decref(f);
    json_decref(n);
    http_answer_clear(&brief);
    http_answer_clear(&detail);
    http_answer_clear(&h1);
    http_answer_clear(&named);
}
END_TEST

START_TEST(test_servers_show_by_microversion)
{
    TERN_AUTOFREE char *token = admin_token();
    TERN_AUTOFREE char *path = tern_asprintf("/v2.1/servers/%s", vm_a_uuid);
    http_answer_t v21 = get(path, token, NULL);
    http_answer_t v280 = get(path, token, "X-OpenStack-Nova-API-Version: 2.80");
    json_t *a = http_json(&v21), *b = http_json(&v280), *s;

    ck_assert_msg(v21.status == 200, "%ld: %s", v21.status, v21.body);
    s = json_object_get(a, "server");
    ck_assert_str_eq(s_of(s, "id"), vm_a_uuid);
    ck_assert_str_eq(s_of(s, "name"), "api-vm-a");
    ck_assert_str_eq(s_of(s, "status"), "ACTIVE");
    ck_assert_str_eq(s_of(s, "OS-EXT-SRV-ATTR:host"), "api-h1");
    ck_assert(json_is_null(json_object_get(s, "OS-EXT-STS:task_state")));
    ck_assert_str_eq(s_of(s, "tenant_id"), "p1");
    ck_assert_str_eq(s_of(json_object_get(s, "flavor"), "id"), "tern-256mb-1vcpu-1gb");
    ck_assert_str_eq(s_of(json_object_get(s, "image"), "id"), "tern-guest");
    s = json_object_get(b, "server");
    ck_assert_str_eq(s_of(json_object_get(s, "flavor"), "original_name"), "tern-256mb-1vcpu-1gb");
    ck_assert(json_is_false(json_object_get(s, "locked")));
    json_decref(a);
    json_decref(b);
    http_answer_clear(&v21);
    http_answer_clear(&v280);
}
END_TEST

START_TEST(test_servers_unknown_404_in_nova_shape)
{
    TERN_AUTOFREE char *token = admin_token();
    http_answer_t uuid = get("/v2.1/servers/6b1a4a53-0e0e-4c1e-9f00-123456789abc", token, NULL);
    http_answer_t name = get("/v2.1/servers/api-vm-a", token, NULL);

    assert_fault(&uuid, 404, "itemNotFound",
                 "Instance 6b1a4a53-0e0e-4c1e-9f00-123456789abc could not be found.");
    assert_request_id(&uuid);
    assert_fault(&name, 404, "itemNotFound", "Instance api-vm-a could not be found.");
    http_answer_clear(&uuid);
    http_answer_clear(&name);
}
END_TEST

TCase *
test_api_servers_case(void)
{
    TCase *tc = tcase_create("servers");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_servers_list_detail_and_host_filter);
    tcase_add_test(tc, test_servers_show_by_microversion);
    tcase_add_test(tc, test_servers_unknown_404_in_nova_shape);
    return tc;
}
