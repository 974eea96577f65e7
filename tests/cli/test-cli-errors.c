/*
 * tests/cli/test-cli-errors.c: the errors case - every bad command line is refused by the parser
 * with a message naming the bad argument, and leaves no request behind: cli_parse() builds the
 * request before any connection is made, so a refused command line never reaches the broker
 * (this program does not even link rpc/).
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/cli/test-cli.h"

typedef struct bad_case {
    const char *args[16]; /* after "tern", NULL-terminated */
    const char *message;  /* the exact error message */
} bad_case_t;

#define SC "server-create", "--image", "img", "--vcpus", "1", "--disk", "1"
#define SCM SC, "--memory", "64"

static const bad_case_t bad_cases[] = {
    /* commands */
    {{NULL}, "missing command"},
    {{"frobnicate"}, "unknown command \"frobnicate\""},
    {{"help", "nope"}, "unknown command \"nope\""},
    {{"help", "server-list", "extra"}, "unexpected argument \"extra\""},
    /* options in general */
    {{"--bogus", "server-list"}, "unknown option \"--bogus\""},
    {{"server-list", "--bogus"}, "unknown option \"--bogus\""},
    {{"server-list", "-x"}, "unknown option \"-x\""},
    {{"--wait", "live-migration", "vm1"}, "unknown option \"--wait\""},
    {{"server-list", "extra"}, "unexpected argument \"extra\""},
    {{"server-list", "--host"}, "missing value for --host"},
    {{"server-list", "-f"}, "missing value for -f"},
    {{"server-list", "--format"}, "missing value for --format"},
    {{"server-list", "-f", "xml"}, "invalid value \"xml\" for -f: must be \"table\" or \"json\""},
    {{"-f", "json", "server-list", "-f", "table"}, "-f given more than once"},
    {{"server-list", "--host", "a", "--host", "b"}, "--host given more than once"},
    {{"--config-dir", "/a", "server-list", "--config-dir", "/b"},
     "--config-dir given more than once"},
    {{"--config-file", "", "server-list"}, "invalid value \"\" for --config-file: empty"},
    {{"server-list", "--transport-url", "localhost"},
     "invalid value for --transport-url: not a URL such as rabbit://USER:PASSWORD@HOST:PORT/"},
    {{"--transport-url", "rabbit://a@127.0.0.1/", "server-list", "--transport-url",
      "rabbit://b@127.0.0.1/"},
     "--transport-url given more than once"},
    {{"server-list", "--help=yes"}, "--help takes no value"},
    /* live-migration */
    {{"live-migration"}, "missing argument SERVER"},
    {{"live-migration", "vm1", "h2", "h3"}, "unexpected argument \"h3\""},
    {{"live-migration", "--block-migrate", "--no-block-migrate", "vm1"},
     "--block-migrate and --no-block-migrate cannot be used together"},
    {{"live-migration", "--wait=yes", "vm1"}, "--wait takes no value"},
    {{"live-migration", "--wait", "--wait", "vm1"}, "--wait given more than once"},
    {{"live-migration", ""}, "invalid value \"\" for SERVER: empty"},
    {{"live-migration", "vm1", ""}, "invalid value \"\" for HOST: empty"},
    {{"live-migration", "vm\001"}, "invalid value for SERVER: contains a control character"},
    {{"live-migration", "vm1", "--host", "h2"}, "unknown option \"--host\""},
    /* migrations */
    {{"migration-show"}, "missing argument MIGRATION"},
    {{"server-event-list"}, "missing argument SERVER"},
    /* drains */
    {{"host-evacuate-live"}, "missing argument HOST"},
    {{"host-evacuate-live", "h1", "h2"}, "unexpected argument \"h2\""},
    {{"host-evacuate-live", "--max-concurrent", "0", "h1"},
     "invalid value \"0\" for --max-concurrent: must be between 1 and 64"},
    {{"host-evacuate-live", "--max-concurrent", "65", "h1"},
     "invalid value \"65\" for --max-concurrent: must be between 1 and 64"},
    {{"host-evacuate-live", "--target-host", "h1", "h1"},
     "invalid --target-host \"h1\": it is the host being drained"},
    {{"host-maintenance-enter", "--block-migrate", "--no-block-migrate", "h1"},
     "--block-migrate and --no-block-migrate cannot be used together"},
    {{"host-maintenance-enter", "--reason", "", "h1"}, "invalid value \"\" for --reason: empty"},
    {{"evacuation-show", "--drain", "x", "h1"}, "invalid value \"x\" for --drain: not an integer"},
    {{"host-evacuate-abort", "--wait", "h1"}, "unknown option \"--wait\""},
    {{"host-maintenance-exit"}, "missing argument HOST"},
    {{"server-create", "--image", "i", "--memory", "64", "--vcpus", "1", "--disk", "0",
      "--migration-support", "never", "vm"},
     "invalid value \"never\" for --migration-support: must be one of migratable, manual, pinned"},
    {{"server-create", "--image", "i", "--memory", "64", "--vcpus", "1", "--disk", "0",
      "--priority", "1001", "vm"},
     "invalid value \"1001\" for --priority: must be between -1000 and 1000"},
    {{"server-event-list", "vm1", "req-1"}, "unexpected argument \"req-1\""},
    {{"server-event-list", ""}, "invalid value \"\" for SERVER: empty"},
    {{"server-event-show", "vm1"}, "missing argument REQUEST_ID"},
    {{"server-event-show"}, "missing argument SERVER"},
    {{"server-event-show", "vm1", ""}, "invalid value \"\" for REQUEST_ID: empty"},
    {{"migration-show", "abc"},
     "invalid value \"abc\" for MIGRATION: not a migration id (a positive integer) or uuid"},
    {{"migration-show", "0"},
     "invalid value \"0\" for MIGRATION: must be between 1 and 9223372036854775807"},
    {{"migration-show", "12x"},
     "invalid value \"12x\" for MIGRATION: not a migration id (a positive integer) or uuid"},
    {{"migration-show", "5e1a0c52-3b7d-4c1e-9f00-123456789ab"},
     "invalid value \"5e1a0c52-3b7d-4c1e-9f00-123456789ab\" for MIGRATION: not a migration id "
     "(a positive integer) or uuid"},
    {{"migration-show", "-3"}, "unknown option \"-3\""},
    {{"migration-list", "--status", "done"},
     "invalid value \"done\" for --status: must be one of queued, preparing, running, "
     "postcopy-active, postcopy-paused, needs-operator, completed, failed, cancelled, error"},
    {{"migration-list", "--instance", ""}, "invalid value \"\" for --instance: empty"},
    {{"live-migration-abort", "vm1"}, "missing argument MIGRATION"},
    {{"live-migration-abort", "vm1", "x"},
     "invalid value \"x\" for MIGRATION: not a migration id (a positive integer) or uuid"},
    {{"live-migration-force-complete", "", "7"}, "invalid value \"\" for SERVER: empty"},
    /* server-create: required options and sizes */
    {{"server-create", "--memory", "64", "--vcpus", "1", "--disk", "1", "vm1"},
     "missing required option --image"},
    {{SC, "vm1"}, "missing required option --memory"},
    {{SCM}, "missing argument NAME"},
    {{SCM, "vm1", "vm2"}, "unexpected argument \"vm2\""},
    {{SC, "--memory", "abc", "vm1"}, "invalid value \"abc\" for --memory: not an integer"},
    {{SC, "--memory", "", "vm1"}, "invalid value \"\" for --memory: not an integer"},
    {{SC, "--memory", "12abc", "vm1"}, "invalid value \"12abc\" for --memory: not an integer"},
    {{SC, "--memory", " 64", "vm1"}, "invalid value \" 64\" for --memory: not an integer"},
    {{SC, "--memory", "+64", "vm1"}, "invalid value \"+64\" for --memory: not an integer"},
    {{SC, "--memory", "1.5", "vm1"}, "invalid value \"1.5\" for --memory: not an integer"},
    {{SC, "--memory", "8", "vm1"},
     "invalid value \"8\" for --memory: must be between 16 and "
     "1048576"},
    {{SC, "--memory", "99999999999999999999", "vm1"},
     "invalid value \"99999999999999999999\" for --memory: must be between 16 and 1048576"},
    {{"server-create", "--image", "img", "--memory", "64", "--disk", "1", "--vcpus", "0", "vm1"},
     "invalid value \"0\" for --vcpus: must be between 1 and 256"},
    {{"server-create", "--image", "img", "--memory", "64", "--vcpus", "1", "--disk", "-1", "vm1"},
     "invalid value \"-1\" for --disk: must be between 0 and 65536"},
    {{SCM, "--image", "other", "vm1"}, "--image given more than once"},
    {{"server-create", "--image", "", "--memory", "64", "--vcpus", "1", "--disk", "1", "vm1"},
     "invalid value \"\" for --image: empty"},
    {{SCM, "", NULL}, "invalid value \"\" for NAME: empty"},
    {{SCM, "--host", "", "vm1"}, "invalid value \"\" for --host: empty"},
    /* server-create: volumes, networks, rules, workload */
    {{SCM, "--volume", "", "vm1"}, "invalid value \"\" for --volume: empty ID"},
    {{SCM, "--volume", ":/srv/v.img", "vm1"},
     "invalid value \":/srv/v.img\" for --volume: empty ID"},
    {{SCM, "--volume", "v1:srv/v.img", "vm1"},
     "invalid value \"v1:srv/v.img\" for --volume: PATH \"srv/v.img\" is not an absolute path"},
    {{SCM, "--volume", "v1:", "vm1"},
     "invalid value \"v1:\" for --volume: PATH \"\" is not an absolute path"},
    {{SCM, "--network", "", "vm1"},
     "invalid value \"\" for --network: a bridge name has 1 to 15 characters, none of them "
     "\"/\", \":\" or a space"},
    {{SCM, "--network", "br-with-16-chars", "vm1"},
     "invalid value \"br-with-16-chars\" for --network: a bridge name has 1 to 15 characters, "
     "none of them \"/\", \":\" or a space"},
    {{SCM, "--network", "br/0", "vm1"},
     "invalid value \"br/0\" for --network: a bridge name has 1 to 15 characters, none of them "
     "\"/\", \":\" or a space"},
    {{SCM, "--network", "br 0", "vm1"},
     "invalid value \"br 0\" for --network: a bridge name has 1 to 15 characters, none of them "
     "\"/\", \":\" or a space"},
    {{SCM, "--rule", "ingress:tcp:22", "vm1"},
     "invalid value \"ingress:tcp:22\" for --rule: expected DIR:PROTO:PORTS:CIDR"},
    {{SCM, "--rule", "in:tcp:22:0.0.0.0/0", "vm1"},
     "invalid value \"in:tcp:22:0.0.0.0/0\" for --rule: direction \"in\" is not ingress or "
     "egress"},
    {{SCM, "--rule", "ingress:sctp:22:0.0.0.0/0", "vm1"},
     "invalid value \"ingress:sctp:22:0.0.0.0/0\" for --rule: protocol \"sctp\" is not tcp, "
     "udp, icmp or any"},
    {{SCM, "--rule", "ingress:tcp:0:0.0.0.0/0", "vm1"},
     "invalid value \"ingress:tcp:0:0.0.0.0/0\" for --rule: ports \"0\" are not N or N-M with "
     "1 <= N <= M <= 65535"},
    {{SCM, "--rule", "ingress:tcp:22-21:0.0.0.0/0", "vm1"},
     "invalid value \"ingress:tcp:22-21:0.0.0.0/0\" for --rule: ports \"22-21\" are not N or "
     "N-M with 1 <= N <= M <= 65535"},
    {{SCM, "--rule", "ingress:tcp:70000:0.0.0.0/0", "vm1"},
     "invalid value \"ingress:tcp:70000:0.0.0.0/0\" for --rule: ports \"70000\" are not N or "
     "N-M with 1 <= N <= M <= 65535"},
    {{SCM, "--rule", "ingress:tcp:22-:0.0.0.0/0", "vm1"},
     "invalid value \"ingress:tcp:22-:0.0.0.0/0\" for --rule: ports \"22-\" are not N or N-M "
     "with 1 <= N <= M <= 65535"},
    {{SCM, "--rule", "ingress:tcp:-22:0.0.0.0/0", "vm1"},
     "invalid value \"ingress:tcp:-22:0.0.0.0/0\" for --rule: ports \"-22\" are not N or N-M "
     "with 1 <= N <= M <= 65535"},
    {{SCM, "--rule", "ingress:tcp:a-b:0.0.0.0/0", "vm1"},
     "invalid value \"ingress:tcp:a-b:0.0.0.0/0\" for --rule: ports \"a-b\" are not N or N-M "
     "with 1 <= N <= M <= 65535"},
    {{SCM, "--rule", "ingress:tcp:22:10.0.0.0", "vm1"},
     "invalid value \"ingress:tcp:22:10.0.0.0\" for --rule: \"10.0.0.0\" is not a CIDR such as "
     "10.0.0.0/24"},
    {{SCM, "--rule", "ingress:tcp:22:10.0.0.0/33", "vm1"},
     "invalid value \"ingress:tcp:22:10.0.0.0/33\" for --rule: \"10.0.0.0/33\" is not a CIDR "
     "such as 10.0.0.0/24"},
    {{SCM, "--rule", "ingress:tcp:22:300.0.0.0/8", "vm1"},
     "invalid value \"ingress:tcp:22:300.0.0.0/8\" for --rule: \"300.0.0.0/8\" is not a CIDR "
     "such as 10.0.0.0/24"},
    {{SCM, "--rule", "ingress:tcp:22:2001:db8::/129", "vm1"},
     "invalid value \"ingress:tcp:22:2001:db8::/129\" for --rule: \"2001:db8::/129\" is not a "
     "CIDR such as 10.0.0.0/24"},
    {{SCM, "--rule", "ingress:tcp:22:10.0.0.0/8x", "vm1"},
     "invalid value \"ingress:tcp:22:10.0.0.0/8x\" for --rule: \"10.0.0.0/8x\" is not a CIDR "
     "such as 10.0.0.0/24"},
    {{SCM, "--rule", "ingress:tcp:22:", "vm1"},
     "invalid value \"ingress:tcp:22:\" for --rule: \"\" is not a CIDR such as 10.0.0.0/24"},
    {{SCM, "--dirty-mb", "-1", "vm1"},
     "invalid value \"-1\" for --dirty-mb: must be between 0 and 1048576"},
    {{SCM, "--dirty-rate", "fast", "vm1"},
     "invalid value \"fast\" for --dirty-rate: not an integer"},
    {{SCM, "--dirty-rate", "1", "--dirty-rate", "2", "vm1"}, "--dirty-rate given more than once"},
    /* servers, services, hypervisors */
    {{"server-show"}, "missing argument SERVER"},
    {{"server-delete", "vm1", "vm2"}, "unexpected argument \"vm2\""},
    {{"server-list", "--host", ""}, "invalid value \"\" for --host: empty"},
    {{"service-disable", "h1"}, "missing argument BINARY"},
    {{"service-disable", "--reason", "", "h1", "tern-compute"},
     "invalid value \"\" for --reason: empty"},
    {{"service-enable", "--reason", "x", "h1", "tern-compute"}, "unknown option \"--reason\""},
    {{"service-enable", "", "tern-compute"}, "invalid value \"\" for HOST: empty"},
    {{"service-list", "--binary", ""}, "invalid value \"\" for --binary: empty"},
    {{"hypervisor-list", "h1"}, "unexpected argument \"h1\""},
    {{"hypervisor-show"}, "missing argument HOST"},
    /* text that is not UTF-8 never reaches json_pack (which aborted on it: found by
     * tests/fuzz/fuzz-cli) nor vanishes from the request (json_string gives NULL) */
    {{"server-show", "vm\xff"}, "invalid value for SERVER: not valid UTF-8"},
    {{"service-enable", "h1", "\xf7"}, "invalid value for BINARY: not valid UTF-8"},
    {{"server-list", "--host", "h\xc3"}, "invalid value for --host: not valid UTF-8"},
    {{"live-migration", "vm1", "h\xed\xa0\x80"}, "invalid value for HOST: not valid UTF-8"},
    {{SCM, "--volume", "v1:/srv/\xfe", "vm1"},
     "invalid value for --volume: PATH is not valid UTF-8"},
    {{SCM, "--network", "br\x80", "vm1"}, "invalid value for --network: not valid UTF-8"},
};

/* The parser refused the command line with message, and left nothing to send. */
static void
assert_refused(const cli_request_t *req, int rc, const char *message)
{
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(tern_error_message(), message);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_ptr_null(req->args);
    ck_assert_ptr_null(req->command);
    ck_assert_ptr_null(req->config_files);
    ck_assert_ptr_null(req->transport_url);
}

START_TEST(test_errors_bad_command_line)
{
    const bad_case_t *c = &bad_cases[_i];
    cli_request_t req;
    int rc = test_cli_parse_argv(&req, c->args);

    assert_refused(&req, rc, c->message);
}
END_TEST

START_TEST(test_errors_name_too_long)
{
    char name[CLI_NAME_MAX + 2];
    cli_request_t req;

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_refused(&req, test_cli_parse(&req, "server-show", name, NULL),
                   "invalid value for SERVER: longer than 255 characters");
    name[sizeof(name) - 2] = '\0'; /* 255 characters: fine */
    ck_assert_int_eq(test_cli_parse(&req, "server-show", name, NULL), 0);
    cli_request_clear(&req);
}
END_TEST

START_TEST(test_errors_too_many_repeats)
{
    const char *args[2 * CLI_MAX_REPEAT + 16] = {SCM, "vm1"};
    size_t n = 0;
    cli_request_t req;

    while (args[n])
        n++;
    for (int i = 0; i <= CLI_MAX_REPEAT; i++) {
        args[n++] = "--network";
        args[n++] = "br0";
    }
    args[n] = NULL;
    assert_refused(&req, test_cli_parse_argv(&req, args),
                   "too many --network options (at most 64)");
    /* One less is accepted. */
    args[n - 2] = NULL;
    ck_assert_int_eq(test_cli_parse_argv(&req, args), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(req.args, "networks")), CLI_MAX_REPEAT);
    cli_request_clear(&req);
}
END_TEST

/* A name in UTF-8 other than ASCII is a name: it goes into the request as given. */
START_TEST(test_errors_utf8_name_accepted)
{
    cli_request_t req;

    ck_assert_int_eq(test_cli_parse(&req, "server-show", "vm-\xc3\xa9t\xc3\xa9", NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(req.args, "server")),
                     "vm-\xc3\xa9t\xc3\xa9");
    cli_request_clear(&req);
}
END_TEST

/* A bad value among good ones leaves nothing half-built. */
START_TEST(test_errors_late_bad_value)
{
    cli_request_t req;

    assert_refused(&req,
                   test_cli_parse(&req, "--config-file", "/etc/a.conf", "-f", "json", SCM,
                                  "--volume", "v1", "--network", "br0", "--rule",
                                  "ingress:tcp:22:0.0.0.0/0", "--rule", "egress:tcp:22:nowhere",
                                  "vm1", NULL),
                   "invalid value \"egress:tcp:22:nowhere\" for --rule: \"nowhere\" is not a "
                   "CIDR such as 10.0.0.0/24");
}
END_TEST

TCase *
test_cli_errors_case(void)
{
    TCase *tc = tcase_create("errors");

    tcase_add_loop_test(tc, test_errors_bad_command_line, 0, (int)TERN_N_ELEMENTS(bad_cases));
    tcase_add_test(tc, test_errors_name_too_long);
    tcase_add_test(tc, test_errors_too_many_repeats);
    tcase_add_test(tc, test_errors_late_bad_value);
    tcase_add_test(tc, test_errors_utf8_name_accepted);
    return tc;
}
