/*
 * tests/cli/test-cli.c: the tern client's suite (no broker needed) - runner and the parse case.
 *
 * parse: each command's command line becomes the conductor method and the exact JSON arguments
 *        of conductor/API.md; global options before the command and among its options; help.
 * The errors, output and progress cases live in the other files of this directory.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/cli/test-cli-conductor.h"
#include "tests/cli/test-cli.h"

int
test_cli_parse_argv(cli_request_t *req, const char *const *args)
{
    static char *argv[200];
    static char storage[200][512];
    int argc = 0;

    tern_error_reset();
    tern_strlcpy(storage[argc], "tern", sizeof(storage[0]));
    argv[argc] = storage[argc];
    argc++;
    for (size_t i = 0; args[i]; i++) {
        ck_assert_int_lt(argc, 199);
        ck_assert_int_lt(strlen(args[i]), sizeof(storage[0]));
        tern_strlcpy(storage[argc], args[i], sizeof(storage[0]));
        argv[argc] = storage[argc];
        argc++;
    }
    argv[argc] = NULL;
    return cli_parse(argc, argv, req);
}

int
test_cli_parse(cli_request_t *req, ...)
{
    const char *args[200];
    size_t n = 0;
    va_list ap;

    va_start(ap, req);
    while ((args[n] = va_arg(ap, const char *)) && n < 198)
        n++;
    va_end(ap);
    args[n] = NULL;
    return test_cli_parse_argv(req, args);
}

/* req's arguments equal the JSON text expected. */
static void
assert_args(const cli_request_t *req, const char *expected)
{
    json_error_t jerr;
    json_t *want = json_loads(expected, 0, &jerr);
    TERN_AUTOFREE char *got = json_dumps(req->args, JSON_SORT_KEYS | JSON_COMPACT);

    ck_assert_msg(want, "bad expected JSON %s: %s", expected, jerr.text);
    ck_assert_msg(json_equal(req->args, want), "arguments %s, expected %s", got, expected);
    json_decref(want);
}

static void
assert_parses(cli_request_t *req, const char *command, const char *method)
{
    ck_assert_msg(req->command != NULL, "no command parsed: %s", tern_error_message());
    ck_assert_str_eq(req->command->name, command);
    ck_assert_str_eq(req->command->method, method);
    ck_assert_int_eq(req->action, CLI_ACTION_RUN);
}

START_TEST(test_parse_live_migration_defaults)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "live-migration", "vm1", NULL), 0);
    assert_parses(&req, "live-migration", "live_migrate");
    assert_args(&req, "{\"instance\": \"vm1\", \"host\": null, \"block_migration\": null}");
    ck_assert(!req.wait);
    ck_assert_int_eq(req.format, CLI_FORMAT_TABLE);
    ck_assert_uint_eq(req.n_config_files, 0);
    ck_assert_ptr_null(req.transport_url);
    cli_request_clear(&req);
    ck_assert_ptr_null(req.args);
}
END_TEST

START_TEST(test_parse_live_migration_options)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "live-migration", "--block-migrate", "--wait", "vm1",
                                    "h2", "-f", "json", NULL),
                     0);
    assert_parses(&req, "live-migration", "live_migrate");
    assert_args(&req, "{\"instance\": \"vm1\", \"host\": \"h2\", \"block_migration\": true}");
    ck_assert(req.wait);
    ck_assert_int_eq(req.format, CLI_FORMAT_JSON);
    cli_request_clear(&req);

    /* Options after the arguments, and --format=... */
    ck_assert_int_eq(test_cli_parse(&req, "live-migration", "0f3c2a1e-0000-4000-8000-000000000001",
                                    "h2", "--no-block-migrate", "--format=table", NULL),
                     0);
    assert_args(&req, "{\"instance\": \"0f3c2a1e-0000-4000-8000-000000000001\", \"host\": \"h2\", "
                      "\"block_migration\": false}");
    ck_assert(!req.wait);
    ck_assert_int_eq(req.format, CLI_FORMAT_TABLE);
    cli_request_clear(&req);

    /* "--" ends the options: a server whose name starts with a dash. */
    ck_assert_int_eq(test_cli_parse(&req, "live-migration", "--", "-odd", NULL), 0);
    assert_args(&req, "{\"instance\": \"-odd\", \"host\": null, \"block_migration\": null}");
    cli_request_clear(&req);
}
END_TEST

START_TEST(test_parse_global_options)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "--config-file", "/etc/a.conf", "--config-file",
                                    "/etc/b.conf", "--config-dir", "/etc/tern.d", "--transport-url",
                                    "rabbit://u:p@127.0.0.1:5672/", "-f", "json", "server-list",
                                    "--config-file", "/etc/c.conf", NULL),
                     0);
    assert_parses(&req, "server-list", "server_list");
    assert_args(&req, "{}");
    ck_assert_uint_eq(req.n_config_files, 3);
    ck_assert_str_eq(req.config_files[0], "/etc/a.conf");
    ck_assert_str_eq(req.config_files[1], "/etc/b.conf");
    ck_assert_str_eq(req.config_files[2], "/etc/c.conf");
    ck_assert_str_eq(req.config_dir, "/etc/tern.d");
    ck_assert_str_eq(req.transport_url, "rabbit://u:p@127.0.0.1:5672/");
    ck_assert_int_eq(req.format, CLI_FORMAT_JSON);
    cli_request_clear(&req);

    /* Global options among the command's. */
    ck_assert_int_eq(test_cli_parse(&req, "server-list", "--host", "h1", "--transport-url",
                                    "amqps://u:p@127.0.0.1:5671/", "--config-dir", "/d", NULL),
                     0);
    assert_args(&req, "{\"host\": \"h1\"}");
    ck_assert_str_eq(req.transport_url, "amqps://u:p@127.0.0.1:5671/");
    ck_assert_str_eq(req.config_dir, "/d");
    cli_request_clear(&req);
}
END_TEST

START_TEST(test_parse_migrations)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "migration-list", NULL), 0);
    assert_parses(&req, "migration-list", "migration_list");
    assert_args(&req, "{}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "migration-list", "--host", "h1", "--status", "running",
                                    "--instance", "vm1", NULL),
                     0);
    assert_args(&req, "{\"host\": \"h1\", \"status\": \"running\", \"instance\": \"vm1\"}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "migration-show", "7", NULL), 0);
    assert_parses(&req, "migration-show", "migration_get");
    assert_args(&req, "{\"migration\": 7}");
    cli_request_clear(&req);

    ck_assert_int_eq(
        test_cli_parse(&req, "migration-show", "5e1a0c52-3b7d-4c1e-9f00-123456789abc", NULL), 0);
    assert_args(&req, "{\"migration\": \"5e1a0c52-3b7d-4c1e-9f00-123456789abc\"}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "live-migration-abort", "vm1", "7", NULL), 0);
    assert_parses(&req, "live-migration-abort", "live_migration_abort");
    assert_args(&req, "{\"instance\": \"vm1\", \"migration\": 7}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "live-migration-force-complete", "vm1",
                                    "5e1a0c52-3b7d-4c1e-9f00-123456789abc", NULL),
                     0);
    assert_parses(&req, "live-migration-force-complete", "live_migration_force_complete");
    assert_args(&req, "{\"instance\": \"vm1\", "
                      "\"migration\": \"5e1a0c52-3b7d-4c1e-9f00-123456789abc\"}");
    cli_request_clear(&req);
}
END_TEST

START_TEST(test_parse_drains)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "host-evacuate-live", "h1", NULL), 0);
    assert_parses(&req, "host-evacuate-live", "host_evacuate_live");
    assert_args(&req, "{\"host\": \"h1\", \"block_migration\": null, \"force\": false}");
    ck_assert(!req.wait);
    cli_request_clear(&req);
    ck_assert_int_eq(test_cli_parse(&req, "host-maintenance-enter", "--target-host", "h2",
                                    "--block-migrate", "--max-concurrent", "3", "--force",
                                    "--reason", "bios", "--never-pause", "--wait", "h1", NULL),
                     0);
    assert_parses(&req, "host-maintenance-enter", "host_maintenance_enter");
    assert_args(&req, "{\"host\": \"h1\", \"block_migration\": true, \"force\": true,"
                      " \"target_host\": \"h2\", \"max_concurrent\": 3, \"reason\": \"bios\","
                      " \"never_pause\": true}");
    ck_assert(req.wait && req.wait_drain);
    cli_request_clear(&req);
    ck_assert_int_eq(test_cli_parse(&req, "evacuation-show", "--drain", "7", "--wait", "h1", NULL),
                     0);
    assert_parses(&req, "evacuation-show", "evacuation_get");
    assert_args(&req, "{\"host\": \"h1\", \"drain\": 7}");
    ck_assert(req.wait && req.wait_drain);
    cli_request_clear(&req);
    ck_assert_int_eq(test_cli_parse(&req, "host-evacuate-abort", "h1", NULL), 0);
    assert_parses(&req, "host-evacuate-abort", "host_evacuate_abort");
    assert_args(&req, "{\"host\": \"h1\"}");
    ck_assert(!req.wait);
    cli_request_clear(&req);
    ck_assert_int_eq(test_cli_parse(&req, "host-maintenance-exit", "h1", NULL), 0);
    assert_parses(&req, "host-maintenance-exit", "host_maintenance_exit");
    cli_request_clear(&req);
    ck_assert_int_eq(test_cli_parse(&req, "server-create", "--image", "img", "--memory", "64",
                                    "--vcpus", "1", "--disk", "0", "--priority", "-7",
                                    "--migration-support", "pinned", "--never-pause", "vm", NULL),
                     0);
    assert_args(&req, "{\"name\": \"vm\", \"image\": \"img\", \"memory_mb\": 64, \"vcpus\": 1,"
                      " \"disk_gb\": 0, \"priority\": -7, \"migration_support\": \"pinned\","
                      " \"never_pause\": true}");
    cli_request_clear(&req);
}
END_TEST

START_TEST(test_parse_server_events)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "server-event-list", "vm1", NULL), 0);
    assert_parses(&req, "server-event-list", "instance_action_list");
    assert_args(&req, "{\"instance\": \"vm1\", \"events\": true}");
    cli_request_clear(&req);
    ck_assert_int_eq(test_cli_parse(&req, "-f", "json", "server-event-show", "vm1", "req-7", NULL),
                     0);
    assert_parses(&req, "server-event-show", "instance_action_get");
    assert_args(&req, "{\"instance\": \"vm1\", \"request_id\": \"req-7\"}");
    ck_assert_int_eq(req.format, CLI_FORMAT_JSON);
    cli_request_clear(&req);
}
END_TEST

START_TEST(test_parse_servers)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "server-create", "--image", "cirros", "--memory", "512",
                                    "--vcpus", "2", "--disk", "1", "vm1", NULL),
                     0);
    assert_parses(&req, "server-create", "server_create");
    assert_args(&req, "{\"name\": \"vm1\", \"image\": \"cirros\", \"memory_mb\": 512, "
                      "\"vcpus\": 2, \"disk_gb\": 1}");
    ck_assert_int_ge(req.command->min_timeout_ms, 300000);
    cli_request_clear(&req);

    ck_assert_int_eq(
        test_cli_parse(&req, "server-create", "vm2", "--image", "tern-guest", "--memory", "16",
                       "--vcpus", "256", "--disk", "0", "--host", "h1", "--volume", "vol-a",
                       "--volume", "vol-b:/srv/shared/vol-b.img", "--network", "br-tern",
                       "--network", "virbr0", "--rule", "ingress:tcp:22:0.0.0.0/0", "--rule",
                       "egress:udp:1000-2000:10.0.0.0/8", "--rule", "ingress:icmp::2001:db8::/32",
                       "--dirty-mb", "64", "--dirty-rate", "0", NULL),
        0);
    assert_args(&req,
                "{\"name\": \"vm2\", \"image\": \"tern-guest\", \"memory_mb\": 16, \"vcpus\": 256,"
                " \"disk_gb\": 0, \"host\": \"h1\","
                " \"volumes\": [{\"volume_id\": \"vol-a\"},"
                "   {\"volume_id\": \"vol-b\", \"path\": \"/srv/shared/vol-b.img\"}],"
                " \"networks\": [{\"bridge\": \"br-tern\"}, {\"bridge\": \"virbr0\"}],"
                " \"security_group_rules\": ["
                "   {\"direction\": \"ingress\", \"protocol\": \"tcp\", \"port_min\": 22,"
                "    \"port_max\": 22, \"remote_cidr\": \"0.0.0.0/0\"},"
                "   {\"direction\": \"egress\", \"protocol\": \"udp\", \"port_min\": 1000,"
                "    \"port_max\": 2000, \"remote_cidr\": \"10.0.0.0/8\"},"
                "   {\"direction\": \"ingress\", \"protocol\": \"icmp\", \"port_min\": 0,"
                "    \"port_max\": 0, \"remote_cidr\": \"2001:db8::/32\"}],"
                " \"workload\": {\"dirty_mb\": 64, \"dirty_rate_mbps\": 0}}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "server-list", "--host", "h1", NULL), 0);
    assert_parses(&req, "server-list", "server_list");
    assert_args(&req, "{\"host\": \"h1\"}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "server-show", "vm1", NULL), 0);
    assert_parses(&req, "server-show", "server_get");
    assert_args(&req, "{\"server\": \"vm1\"}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "server-delete", "vm1", NULL), 0);
    assert_parses(&req, "server-delete", "server_delete");
    assert_args(&req, "{\"server\": \"vm1\"}");
    cli_request_clear(&req);
}
END_TEST

START_TEST(test_parse_services)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "service-list", "--binary", "tern-compute", NULL), 0);
    assert_parses(&req, "service-list", "service_list");
    assert_args(&req, "{\"binary\": \"tern-compute\"}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "service-disable", "--reason", "disk swap", "h1",
                                    "tern-compute", NULL),
                     0);
    assert_parses(&req, "service-disable", "service_update");
    assert_args(&req, "{\"host\": \"h1\", \"binary\": \"tern-compute\", \"disabled\": true, "
                      "\"reason\": \"disk swap\"}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "service-enable", "h1", "tern-compute", NULL), 0);
    assert_parses(&req, "service-enable", "service_update");
    assert_args(&req, "{\"host\": \"h1\", \"binary\": \"tern-compute\", \"disabled\": false}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "hypervisor-list", NULL), 0);
    assert_parses(&req, "hypervisor-list", "hypervisor_list");
    assert_args(&req, "{}");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "hypervisor-show", "h1", NULL), 0);
    assert_parses(&req, "hypervisor-show", "hypervisor_get");
    assert_args(&req, "{\"host\": \"h1\"}");
    cli_request_clear(&req);
}
END_TEST

/* Help needs no connection and wins over missing arguments. */
START_TEST(test_parse_help)
{
    cli_request_t req;
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    ck_assert_int_eq(test_cli_parse(&req, "help", NULL), 0);
    ck_assert_int_eq(req.action, CLI_ACTION_HELP);
    ck_assert_ptr_null(req.command);
    ck_assert_ptr_null(req.args);
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "--help", NULL), 0);
    ck_assert_int_eq(req.action, CLI_ACTION_HELP);
    ck_assert_ptr_null(req.command);
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "help", "live-migration", NULL), 0);
    ck_assert_int_eq(req.action, CLI_ACTION_HELP);
    ck_assert_str_eq(req.command->name, "live-migration");
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "server-create", "--help", NULL), 0);
    ck_assert_int_eq(req.action, CLI_ACTION_HELP);
    ck_assert_str_eq(req.command->name, "server-create");
    ck_assert_ptr_null(req.args);
    cli_request_clear(&req);

    ck_assert_int_eq(test_cli_parse(&req, "-h", "migration-show", NULL), 0);
    ck_assert_int_eq(req.action, CLI_ACTION_HELP);
    ck_assert_str_eq(req.command->name, "migration-show");
    cli_request_clear(&req);

    /* Every command has its help, usage, and appears in the general help. */
    out = open_memstream(&text, &len);
    cli_print_help(NULL, out);
    fclose(out);
    for (size_t i = 0; i < cli_n_commands; i++)
        ck_assert_msg(strstr(text, cli_commands[i].name), "%s not in help", cli_commands[i].name);
    ck_assert_ptr_nonnull(strstr(text, "--transport-url URL"));
    free(text);
    text = NULL;
    out = open_memstream(&text, &len);
    cli_print_help(cli_command_find("live-migration"), out);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "usage: tern live-migration [--block-migrate | "
                                       "--no-block-migrate] [--wait] SERVER [HOST] "
                                       "[-f table|json]\n"));
    ck_assert_ptr_nonnull(strstr(text, "  --wait "));
    ck_assert_ptr_nonnull(strstr(text, "  SERVER "));
    ck_assert_ptr_nonnull(strstr(text, "  -f, --format table|json "));
    free(text);
}
END_TEST

TCase *
test_cli_parse_case(void)
{
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_parse_live_migration_defaults);
    tcase_add_test(tc, test_parse_drains);
    tcase_add_test(tc, test_parse_live_migration_options);
    tcase_add_test(tc, test_parse_global_options);
    tcase_add_test(tc, test_parse_migrations);
    tcase_add_test(tc, test_parse_servers);
    tcase_add_test(tc, test_parse_server_events);
    tcase_add_test(tc, test_parse_services);
    tcase_add_test(tc, test_parse_help);
    return tc;
}

static bool conductor_prepared;

/* prepare: the conductor's cases need services and a running tern-conductor; started only when
 * one of them runs. */
static int
prepare(void)
{
    static const char *const needs_conductor[] = {"calls", "remote_errors", "events",
                                                  "wait",  "actions",       "identities"};

    for (size_t i = 0; i < TERN_N_ELEMENTS(needs_conductor); i++) {
        if (tern_check_case_runs(needs_conductor[i])) {
            conductor_prepared = true;
            return test_cli_conductor_prepare();
        }
    }
    return 0;
}

static void
release(void)
{
    if (conductor_prepared)
        test_cli_conductor_release();
}

int
main(void)
{
    static const tern_check_case_fn cases[] = {
        test_cli_parse_case,      test_cli_errors_case, test_cli_output_case,
        test_cli_progress_case,   test_cli_calls_case,  test_cli_remote_errors_case,
        test_cli_events_case,     test_cli_wait_case,   test_cli_actions_case,
        test_cli_identities_case,
    };

    return tern_check_run("cli", cases, TERN_N_ELEMENTS(cases), prepare, release);
}
