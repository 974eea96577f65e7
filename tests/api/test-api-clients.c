/*
 * tests/api/test-api-clients.c: case clients - Debian's unmodified python3-openstackclient and
 * python3-novaclient against tern-api, with a token from the private Keystone whose catalog
 * names tern-api as the compute endpoint.
 *
 * `openstack server show` (by uuid, and by name: the client's GET /servers/NAME 404, then
 * GET /servers?name=NAME), `openstack server list`, and `nova list` / `nova show`.
 * openstackclient makes an image client before it shows or lists servers: the catalog names
 * tern-api's image stub (api/server.c, image_stub), where every image lookup fails and the
 * client shows the image's id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/command.h"
#include "common/error.h"
#include "common/util.h"
#include "tests/api/test-api.h"

/* client: run argv (a client's command, after env and the OS_* variables of admin). */
static tern_command_result_t
client(const char *const *args)
{
    TERN_AUTOFREE char *auth_url =
        tern_asprintf("OS_AUTH_URL=http://127.0.0.1:%d/v3", keystone_port);
    const char *argv[32] = {"env",
                            "-i",
                            "PATH=/usr/bin:/bin",
                            "HOME=/tmp",
                            auth_url,
                            "OS_USERNAME=admin",
                            "OS_PASSWORD=admin-pw",
                            "OS_PROJECT_NAME=admin",
                            "OS_USER_DOMAIN_ID=default",
                            "OS_PROJECT_DOMAIN_ID=default",
                            "OS_IDENTITY_API_VERSION=3",
                            "OS_REGION_NAME=RegionOne"};
    tern_command_result_t res = {0};
    size_t n = 12;

    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (tern_command_run(argv, 120000, &res) < 0 && !res.out)
        ck_abort_msg("could not run %s: %s", args[0], tern_error_message());
    ck_assert_msg(res.exit_status == 0, "%s %s: exit %d\nstdout: %s\nstderr: %s", args[0], args[1],
                  res.exit_status, res.out ? res.out : "", res.err ? res.err : "");
    return res;
}

START_TEST(test_clients_openstack_server_show)
{
    const char *by_uuid[] = {"openstack", "server", "show", "-f", "json", vm_b_uuid, NULL};
    const char *by_name[] = {"openstack", "server", "show", "-f", "json", "api-vm-a", NULL};
    tern_command_result_t a = client(by_uuid), b = client(by_name);
    json_error_t jerr;
    json_t *ja = json_loads(a.out, 0, &jerr), *jb;

    ck_assert_msg(ja != NULL, "not JSON: %s", a.out);
    jb = json_loads(b.out, 0, &jerr);
    ck_assert_msg(jb != NULL, "not JSON: %s", b.out);
    ck_assert_str_eq(json_string_value(json_object_get(ja, "id")), vm_b_uuid);
    ck_assert_str_eq(json_string_value(json_object_get(ja, "name")), "api-vm-b");
    ck_assert_str_eq(json_string_value(json_object_get(ja, "status")), "MIGRATING");
    ck_assert_str_eq(json_string_value(json_object_get(ja, "OS-EXT-SRV-ATTR:host")), "api-h2");
    ck_assert_str_eq(json_string_value(json_object_get(jb, "id")), vm_a_uuid);
    ck_assert_str_eq(json_string_value(json_object_get(jb, "status")), "ACTIVE");
    json_decref(ja);
    json_decref(jb);
    tern_command_result_clear(&a);
    tern_command_result_clear(&b);
}
END_TEST

START_TEST(test_clients_openstack_server_list)
{
    const char *list[] = {"openstack", "server", "list", "-f", "json", NULL};
    tern_command_result_t l = client(list);

    ck_assert_msg(strstr(l.out, vm_a_uuid) && strstr(l.out, vm_b_uuid), "%s", l.out);
    tern_command_result_clear(&l);
}
END_TEST

START_TEST(test_clients_nova_list_and_show)
{
    const char *list[] = {"nova", "list", NULL};
    const char *show[] = {"nova", "show", vm_a_uuid, NULL};
    tern_command_result_t l = client(list), s = client(show);

    ck_assert_msg(strstr(l.out, vm_a_uuid) && strstr(l.out, "api-vm-a") &&
                      strstr(l.out, vm_b_uuid) && strstr(l.out, "MIGRATING"),
                  "nova list: %s", l.out);
    ck_assert_msg(strstr(s.out, "api-vm-a") && strstr(s.out, "api-h1"), "nova show: %s", s.out);
    tern_command_result_clear(&l);
    tern_command_result_clear(&s);
}
END_TEST

TCase *
test_api_clients_case(void)
{
    TCase *tc = tcase_create("clients");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_clients_openstack_server_show);
    tcase_add_test(tc, test_clients_openstack_server_list);
    tcase_add_test(tc, test_clients_nova_list_and_show);
    return tc;
}
