/*
 * tests/cli/test-cli-conductor.c: the tern program against a real tern-conductor, on private
 * PostgreSQL and RabbitMQ (tests/harness), without computes.
 *
 * Its own services, not the shared ones: another suite's conductor on the shared broker would
 * consume from the same "conductor" queue. The parent starts them, syncs a fresh database with
 * tern-manage and starts tern-conductor (test_cli_conductor_prepare, called by the runner
 * tests/cli/test-cli.c when one of these cases runs), then Check runs them (each runs the built
 * tern):
 *
 * calls:  lists (table and JSON) of services, servers, migrations and hypervisors;
 *         service-disable/-enable round trip on the conductor's own service record
 * remote_errors: remote errors (unknown server, unknown migration, a reader calling an admin method)
 *         exit 1 with the conductor's message; usage errors exit 2 and print nothing on stdout;
 *         an unreachable broker or a bad configuration file exit 1, no password shown
 * and the cases of the other files of the suite (test-cli-conductor.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/command.h"
#include "common/error.h"
#include "common/util.h"
#include "tests/cli/test-cli-conductor.h"

#define TERN TERN_BUILDDIR "/tools/cli/tern"
#define CONDUCTOR TERN_BUILDDIR "/conductor/tern-conductor"
#define MANAGE TERN_BUILDDIR "/tools/manage/tern-manage"
#define COMPUTE_USER "tern-compute.ev-src" /* the source of the fixtures' migrations */
#define COMPUTE_PASSWORD "compute-test-pw"
#define LIMITED_USER "tern-limited" /* admin for the policy; may declare reply queues only */
#define LIMITED_PASSWORD "limited-test-pw"

harness_services_t *svc;
char work_dir[] = "/tmp/tern-cli-test.XXXXXX";
char *db_url;
char *limited_url;
static char *conf_path;
static pid_t conductor_pid = -1;

void
run_clear(run_t *r)
{
    free(r->out);
    free(r->err);
}

/* tern_argv: tern --config-file CONF, then first and the rest of ap up to a NULL (at most 28). */
static void
tern_argv(const char *argv[32], const char *first, va_list ap)
{
    size_t n = 3;
    const char *a;

    argv[0] = TERN;
    argv[1] = "--config-file";
    argv[2] = conf_path;
    if (first)
        argv[n++] = first;
    while (first && (a = va_arg(ap, const char *)) && n < 31)
        argv[n++] = a;
    argv[n] = NULL;
}

pid_t
tern_spawn(const char *out_path, const char *err_path, const char *first, ...)
{
    const char *argv[32];
    va_list ap;
    pid_t pid;

    va_start(ap, first);
    tern_argv(argv, first, ap);
    va_end(ap);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        /* a test that fails before waiting for it leaves no tern behind */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || out < 0 || err < 0 || dup2(out, 1) < 0 ||
            dup2(err, 2) < 0)
            _exit(126);
        execv(TERN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

run_t
tern(const char *first, ...)
{
    const char *argv[32];
    tern_command_result_t res = {0};
    va_list ap;
    run_t r;

    va_start(ap, first);
    tern_argv(argv, first, ap);
    va_end(ap);
    if (tern_command_run(argv, 120000, &res) < 0 && !res.out && !res.err)
        ck_abort_msg("could not run tern: %s", tern_error_message());
    r.status = res.exit_status;
    r.out = res.out ? res.out : tern_strdup("");
    r.err = res.err ? res.err : tern_strdup("");
    res.out = res.err = NULL;
    tern_command_result_clear(&res);
    return r;
}

static json_t *
parse_json(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    ck_assert_msg(v, "not JSON (%s): %s", jerr.text, text);
    return v;
}

void
test_migration_begin(db_conn_t *db, json_t *context, const char *name, const char *uuid,
                     const char *conductor_host, db_instance_t *ret_inst)
{
    db_migration_t req = {0};

    test_instance_create(db, name, "ev-src", ret_inst);
    tern_strlcpy(req.uuid, uuid, sizeof(req.uuid));
    tern_strlcpy(req.instance_uuid, ret_inst->uuid, sizeof(req.instance_uuid));
    req.source_compute = "ev-src";
    CK_OK(db_migration_begin(db, &req, conductor_host,
                             json_string_value(json_object_get(context, "request_id")),
                             "live-migration", NULL, NULL));
    CK_OK(db_migration_set_destination(db, uuid, "ev-dst", "ev-dst"));
}

char *
test_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = tern_calloc(1, 1 << 20);

    if (f) {
        text[fread(text, 1, (1 << 20) - 1, f)] = '\0';
        fclose(f);
    }
    return text;
}

db_conn_t *
test_db(void)
{
    db_conn_t *db = db_open(db_url);

    ck_assert_msg(db != NULL, "%s", tern_error_message());
    return db;
}

void
test_compute_fixture_open(db_conn_t **ret_db, rpc_client_t **ret_client, json_t **ret_context)
{
    rpc_config_t cfg;

    *ret_db = test_db();
    test_compute_rpc_config(&cfg);
    *ret_client = rpc_client_new(&cfg);
    ck_assert_msg(*ret_client != NULL, "%s", tern_error_message());
    *ret_context = rpc_context_new(NULL, NULL, NULL, NULL);
}

void
test_compute_fixture_close(db_conn_t *db, rpc_client_t *client, json_t *context)
{
    json_decref(context);
    rpc_client_free(client);
    db_close(db);
}

void
test_compute_rpc_config(rpc_config_t *ret)
{
    static char *url;

    if (!url)
        url = tern_asprintf("rabbit://%s:%s@127.0.0.1:%d/", COMPUTE_USER, COMPUTE_PASSWORD,
                            svc->rabbitmq_port);
    rpc_config_init(ret);
    ret->transport_url = url;
    ret->response_timeout_ms = 20000;
}

void
test_compute_rpc_config_as(const char *user, rpc_config_t *ret)
{
    rpc_config_init(ret);
    ret->transport_url =
        tern_asprintf("rabbit://%s:%s@127.0.0.1:%d/", user, COMPUTE_PASSWORD, svc->rabbitmq_port);
    ret->response_timeout_ms = 20000;
}

void
test_compute_call(rpc_client_t *client, json_t *context, const char *method, json_t *args)
{
    rpc_target_t conductor = {.topic = "conductor", .version = "1.0"};
    json_t *result = NULL;
    int rc = rpc_call(client, &conductor, context, method, args, 0, &result);

    ck_assert_msg(rc == 0, "%s %s: %s", method, json_dumps(args, JSON_COMPACT),
                  tern_error_message());
    json_decref(result);
    json_decref(args);
}

void
test_instance_create(db_conn_t *db, const char *name, const char *host, db_instance_t *ret)
{
    db_instance_t req = {.name = (char *)name, .memory_mb = 256, .vcpus = 1, .root_gb = 1};
    db_instance_t made = {0};

    req.image_ref = "tern-guest";
    req.project_id = "p1";
    req.user_id = "u1";
    CK_OK(db_instance_create(db, &req, &made));
    CK_OK(db_instance_set_location(db, made.uuid, host, host));
    CK_OK(db_instance_set_vm_state(db, made.uuid, DB_VM_STATE_ACTIVE));
    CK_OK(db_instance_set_power_state(db, made.uuid, DB_POWER_RUNNING));
    CK_OK(db_instance_get(db, made.uuid, ret));
    db_instance_clear(&made);
}

START_TEST(test_calls_service_list)
{
    run_t table = tern("service-list", NULL);
    run_t json = tern("service-list", "--binary", "tern-conductor", "-f", "json", NULL);
    json_t *list, *svc_row;

    ck_assert_msg(table.status == 0, "exit %d: %s", table.status, table.err);
    ck_assert_ptr_nonnull(
        strstr(table.out, "| Binary         | Host          | Status  | State |"));
    ck_assert_ptr_nonnull(strstr(table.out, "| tern-conductor | " HOST " | enabled | up    |"));
    ck_assert_str_eq(table.err, "");
    ck_assert_int_eq(json.status, 0);
    list = parse_json(json.out);
    ck_assert(json_is_array(list));
    ck_assert_uint_eq(json_array_size(list), 1);
    svc_row = json_array_get(list, 0);
    ck_assert_str_eq(json_string_value(json_object_get(svc_row, "host")), HOST);
    ck_assert_str_eq(json_string_value(json_object_get(svc_row, "state")), "up");
    json_decref(list);
    run_clear(&table);
    run_clear(&json);
}
END_TEST

START_TEST(test_calls_empty_lists)
{
    static const char *const commands[] = {"server-list", "migration-list", "hypervisor-list"};

    for (size_t i = 0; i < TERN_N_ELEMENTS(commands); i++) {
        run_t json = tern(commands[i], "-f", "json", NULL);
        run_t table = tern(commands[i], NULL);

        ck_assert_msg(json.status == 0, "%s: exit %d: %s", commands[i], json.status, json.err);
        ck_assert_str_eq(json.out, "[]\n");
        ck_assert_int_eq(table.status, 0);
        /* Header only: border, header, border. */
        ck_assert_int_eq(table.out[0], '+');
        ck_assert_ptr_nonnull(strstr(table.out, "|\n+"));
        ck_assert_ptr_null(strchr(strstr(table.out, "|\n+") + 3, '|'));
        run_clear(&json);
        run_clear(&table);
    }
    {
        run_t r = tern("migration-list", "--status", "running", "--host", HOST, NULL);

        ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
        run_clear(&r);
    }
}
END_TEST

START_TEST(test_calls_service_disable_enable)
{
    run_t off = tern("service-disable", "--reason", "cli test", HOST, "tern-conductor", NULL);
    run_t list = tern("service-list", "-f", "json", NULL);
    run_t on = tern("service-enable", HOST, "tern-conductor", "-f", "json", NULL);
    json_t *l, *o;

    ck_assert_msg(off.status == 0, "exit %d: %s", off.status, off.err);
    ck_assert_ptr_nonnull(strstr(off.out, "| status          | disabled"));
    ck_assert_ptr_nonnull(strstr(off.out, "| disabled_reason | cli test"));
    l = parse_json(list.out);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 0), "status")),
                     "disabled");
    ck_assert_int_eq(on.status, 0);
    o = parse_json(on.out);
    ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "enabled");
    json_decref(l);
    json_decref(o);
    run_clear(&off);
    run_clear(&list);
    run_clear(&on);
}
END_TEST

/* A remote error: exit 1, the conductor's message on stderr, nothing on stdout. */
static void
assert_remote_error(run_t *r, const char *message)
{
    TERN_AUTOFREE char *want = tern_asprintf("tern: %s\n", message);

    ck_assert_msg(r->status == 1, "exit %d, stdout %s, stderr %s", r->status, r->out, r->err);
    ck_assert_str_eq(r->err, want);
    ck_assert_str_eq(r->out, "");
    run_clear(r);
}

START_TEST(test_errors_remote)
{
    run_t r;

    r = tern("server-show", "nosuch", NULL);
    assert_remote_error(&r, "no instance with uuid or name \"nosuch\"");
    r = tern("live-migration", "nosuch", "h2", NULL);
    assert_remote_error(&r, "no instance with uuid or name \"nosuch\"");
    r = tern("live-migration-abort", "nosuch", "7", NULL);
    assert_remote_error(&r, "no instance with uuid or name \"nosuch\"");
    r = tern("migration-list", "--instance", "nosuch", NULL);
    assert_remote_error(&r, "no instance with uuid or name \"nosuch\"");
    r = tern("migration-show", "424242", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strncmp(r.err, "tern: ", 6) == 0 && strstr(r.err, "424242"), "stderr: %s", r.err);
    run_clear(&r);
}
END_TEST

START_TEST(test_errors_permission)
{
    TERN_AUTOFREE char *url = tern_asprintf("rabbit://demo:demo@127.0.0.1:%d/", svc->rabbitmq_port);
    run_t r = tern("--transport-url", url, "service-enable", HOST, "tern-conductor", NULL);
    run_t ok = tern("--transport-url", url, "migration-list", NULL);

    assert_remote_error(&r, "user \"demo\" may not call \"service_update\": role \"admin\" "
                            "required");
    ck_assert_msg(ok.status == 0, "reader could not list: %s", ok.err);
    run_clear(&ok);
}
END_TEST

START_TEST(test_errors_usage_sends_nothing)
{
    run_t r = tern("server-create", "--image", "img", "--memory", "abc", "--vcpus", "1", "--disk",
                   "1", "vm1", NULL);
    run_t list = tern("server-list", "-f", "json", NULL);

    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.out, "");
    ck_assert_str_eq(r.err, "tern: invalid value \"abc\" for --memory: not an integer\n"
                            "Try \"tern help server-create\" for more information.\n");
    ck_assert_str_eq(list.out, "[]\n"); /* and indeed no server was created */
    run_clear(&r);
    run_clear(&list);
    r = tern("frobnicate", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.err, "tern: unknown command \"frobnicate\"\n"
                            "Try \"tern help\" for more information.\n");
    run_clear(&r);
    r = tern("help", "live-migration", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: tern live-migration "));
    run_clear(&r);
}
END_TEST

START_TEST(test_errors_unreachable_and_bad_config)
{
    run_t r = tern("--transport-url", "rabbit://tern:sekrit@127.0.0.1:1/", "server-list", NULL);
    const char *bad_argv[] = {TERN, "--config-file", "/nonexistent/tern.conf", "server-list", NULL};
    tern_command_result_t res = {0};

    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strncmp(r.err, "tern: could not reach any broker", 32) == 0, "stderr: %s", r.err);
    ck_assert_ptr_null(strstr(r.err, "sekrit"));
    ck_assert_str_eq(r.out, "");
    run_clear(&r);
    ck_assert_int_eq(tern_command_run(bad_argv, 30000, &res), -1);
    ck_assert_int_eq(res.exit_status, 1);
    ck_assert_msg(strncmp(res.err, "tern: ", 6) == 0 && strstr(res.err, "/nonexistent/tern.conf"),
                  "stderr: %s", res.err);
    tern_command_result_clear(&res);
}
END_TEST

TCase *
test_cli_calls_case(void)
{
    TCase *tc = tcase_create("calls");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_calls_service_list);
    tcase_add_test(tc, test_calls_empty_lists);
    tcase_add_test(tc, test_calls_service_disable_enable);
    return tc;
}

TCase *
test_cli_remote_errors_case(void)
{
    TCase *tc = tcase_create("remote_errors");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_errors_remote);
    tcase_add_test(tc, test_errors_permission);
    tcase_add_test(tc, test_errors_usage_sends_nothing);
    tcase_add_test(tc, test_errors_unreachable_and_bad_config);
    return tc;
}

/* ---- set-up in the parent: services, database, conductor ---- */

static void
die(const char *what)
{
    fprintf(stderr, "test-cli-conductor: %s: %s\n", what, tern_error_message());
    if (conductor_pid > 0)
        kill(conductor_pid, SIGKILL);
    harness_services_destroy(svc);
    exit(EXIT_FAILURE);
}

/* write_policy: etc/policy.json with LIMITED_USER an admin too, into path. */
static void
write_policy(const char *path)
{
    json_error_t jerr;
    json_t *policy = json_load_file(TERN_SRCDIR "/etc/policy.json", 0, &jerr);

    if (!policy ||
        json_object_set_new(json_object_get(policy, "users"), LIMITED_USER,
                            json_pack("[s]", "admin")) < 0 ||
        json_dump_file(policy, path, JSON_INDENT(4)) < 0) {
        tern_error_set(TERN_ERR_INTERNAL, "could not write \"%s\": %s", path, jerr.text);
        die("policy");
    }
    json_decref(policy);
}

static void
write_conf(void)
{
    TERN_AUTOFREE char *policy = tern_asprintf("%s/policy.json", work_dir);
    FILE *f;

    write_policy(policy);
    conf_path = tern_asprintf("%s/tern.conf", work_dir);
    if (!(f = fopen(conf_path, "w"))) {
        tern_error_set_errno(errno, "could not create \"%s\"", conf_path);
        die("configuration");
    }
    fprintf(f,
            "[DEFAULT]\nhost = %s\ntransport_url = %s\nstate_path = %s\npolicy_file = %s\n"
            "report_interval = 2\n\n[database]\nconnection = %s\n\n"
            "[conductor]\n# case identities exhausts demo's burst; the others stay well within it\n"
            "rate_limit_per_minute = 6\nrate_limit_burst = 400\n",
            HOST, svc->rabbitmq_url, work_dir, policy, db_url);
    fclose(f);
}

static void
start_conductor(void)
{
    TERN_AUTOFREE char *log = tern_asprintf("%s/conductor.log", work_dir);
    int64_t deadline = tern_now_monotonic_ms() + 60000;

    conductor_pid = fork();
    if (conductor_pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        dup2(fd, 1);
        dup2(fd, 2);
        execl(CONDUCTOR, CONDUCTOR, "--config-file", conf_path, (char *)NULL);
        _exit(127);
    }
    while (tern_now_monotonic_ms() < deadline) {
        const char *argv[] = {TERN, "--config-file", conf_path, "service-list", NULL};
        tern_command_result_t res = {0};
        int rc = tern_command_run(argv, 30000, &res);
        bool up = rc == 0 && strstr(res.out, "| up ");

        tern_command_result_clear(&res);
        if (up)
            return;
        if (waitpid(conductor_pid, NULL, WNOHANG) == conductor_pid) {
            conductor_pid = -1;
            tern_error_set(TERN_ERR_UNAVAILABLE, "tern-conductor exited; see %s", log);
            die("conductor");
        }
        tern_sleep_ms(500);
    }
    tern_error_set(TERN_ERR_TIMEOUT, "tern-conductor not up after 60 s; see %s", log);
    die("conductor");
}

int
test_cli_conductor_prepare(void)
{
    const char *sync_argv[] = {MANAGE, "--config-file", NULL, "db", "sync", NULL};

    if (!mkdtemp(work_dir)) {
        tern_error_set_errno(errno, "could not create a directory");
        die("set-up");
    }
    if (harness_services_start_private(&svc) < 0)
        die("services");
    db_url = harness_postgres_create_database(svc, "tern_cli");
    write_conf();
    sync_argv[2] = conf_path;
    if (tern_command_run(sync_argv, 60000, NULL) < 0)
        die("db sync");
    if (harness_rabbitmq_add_user(svc, "demo", "demo", false) < 0)
        die("user demo");
    if (harness_rabbitmq_add_user(svc, COMPUTE_USER, COMPUTE_PASSWORD, false) < 0 ||
        harness_rabbitmq_add_user(svc, "tern-compute.ev-dst", COMPUTE_PASSWORD, false) < 0 ||
        harness_rabbitmq_add_user(svc, "tern-compute.other", COMPUTE_PASSWORD, false) < 0)
        die("compute users");
    /* it may declare its reply queue and the control exchange, no other queue: a listener's */
    if (harness_rabbitmq_add_user(svc, LIMITED_USER, LIMITED_PASSWORD, false) < 0 ||
        harness_rabbitmq_set_permissions(svc, LIMITED_USER, "^(reply_.*|tern)$", ".*", ".*") < 0)
        die("user " LIMITED_USER);
    limited_url = tern_asprintf("rabbit://%s:%s@127.0.0.1:%d/", LIMITED_USER, LIMITED_PASSWORD,
                                svc->rabbitmq_port);
    start_conductor();
    return 0;
}

void
test_cli_conductor_release(void)
{
    kill(conductor_pid, SIGTERM);
    waitpid(conductor_pid, NULL, 0);
    harness_services_destroy(svc);
    tern_remove_tree(work_dir);
    free(conf_path);
    free(db_url);
    free(limited_url);
}
