/*
 * tests/cli/test-cli-wait.c: `tern live-migration --wait` against the real tern-conductor of
 * the cli-conductor suite, the test playing the two computes over RPC: an RPC server per host on
 * topic "compute" answers the conductor's checks, and on the hand-off (the live_migration cast)
 * reports the migration through the service API as "tern-compute" - preparing, running, a
 * progress sample, then after COMPLETE_AFTER_MS the switch-over - as tern-compute does, without
 * a hypervisor (libvirt's part is the integration tests').
 *
 * told:    tern exits within TOLD_MS of the switch-over being recorded, three migrations in a
 *          row: the conductor's event wakes it (polling every 0.5 s it would be about 250 ms
 *          late: the switch-over comes 0.25 s after a poll), with its usual output
 * polling: an identity that may not declare the listener's queue still follows the migration
 *          to its end, every 0.5 s, and says so on stderr
 * ctrl-c:  SIGINT stops the waiting (exit 1, how to abort), not the migration; the listener's
 *          queue is gone with tern
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/cli/test-cli-conductor.h"

#define SERVER "wvm"
#define COMPLETE_AFTER_MS 750 /* after the last report: 0.25 s after an old 0.5 s poll */
#define TOLD_MS 150           /* from the switch-over's record to tern's exit, at most */

static const char *const hosts[] = {"wait-host1", "wait-host2"};

/* ---- the computes ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool hold;               /* guarded by lock: after running, wait for release, cancel */
static bool released;           /* guarded by lock */
static bool running;            /* guarded by lock: the migration was reported running */
static bool ended;              /* guarded by lock: the compute's part is over */
static int64_t completed_ms;    /* guarded by lock: when the switch-over call returned */
static char migration_uuid[37]; /* guarded by lock */
static char failure[512];       /* guarded by lock: the first report that failed */

static rpc_client_t *reporter; /* as tern-compute */
static rpc_server_t *computes[2];

/* report: call a service-API method with the hand-off's context (args stolen); a failure is
 * kept for the test thread to assert. */
static void
report(json_t *context, const char *method, json_t *args)
{
    rpc_target_t conductor = {.topic = "conductor", .version = "1.0"};
    json_t *result = NULL;

    if (rpc_call(reporter, &conductor, context, method, args, 0, &result) < 0) {
        pthread_mutex_lock(&lock);
        if (!failure[0])
            snprintf(failure, sizeof(failure), "%s: %s", method, tern_error_message());
        pthread_mutex_unlock(&lock);
    }
    json_decref(result);
    json_decref(args);
}

static void
set_flag(bool *flag)
{
    pthread_mutex_lock(&lock);
    *flag = true;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static int
h_check_destination(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    *ret_result = json_pack("{s:s}", "probe", (const char *)opaque);
    return 0;
}

static int
h_get_guest_cpu(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    *ret_result = json_pack("{s:{s:s}}", "guest_cpu", "model", "test-cpu");
    return 0;
}

static int
h_check_source(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    *ret_result = json_pack("{s:b}", "block_migration", true);
    return 0;
}

static int
h_cleanup(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    return 0;
}

/* h_live_migration: the hand-off; the source reports the migration to its end. */
static int
h_live_migration(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    const char *uuid = json_string_value(json_object_get(req->args, "migration"));
    const char *dest = json_string_value(json_object_get(req->args, "dest"));
    const char *instance =
        json_string_value(json_object_get(json_object_get(req->args, "instance"), "uuid"));
    bool cancel;

    pthread_mutex_lock(&lock);
    tern_strlcpy(migration_uuid, uuid ? uuid : "", sizeof(migration_uuid));
    pthread_mutex_unlock(&lock);
    report(req->context, "migration_update",
           json_pack("{s:s, s:s}", "migration", uuid, "status", "preparing"));
    report(req->context, "migration_update",
           json_pack("{s:s, s:s}", "migration", uuid, "status", "running"));
    report(req->context, "migration_update",
           json_pack("{s:s, s:s, s:{s:i, s:i, s:i}}", "migration", uuid, "status", "running",
                     "progress", "memory_total", 268435456, "memory_processed", 134217728,
                     "memory_remaining", 134217728));
    set_flag(&running);
    pthread_mutex_lock(&lock);
    while (hold && !released)
        pthread_cond_wait(&cond, &lock);
    cancel = hold;
    pthread_mutex_unlock(&lock);
    if (cancel) {
        report(req->context, "live_migration_failed",
               json_pack("{s:s, s:s, s:s}", "migration", uuid, "status", "cancelled",
                         "error_message", "cancelled by the test"));
    } else {
        tern_sleep_ms(COMPLETE_AFTER_MS);
        report(req->context, "live_migration_completed",
               json_pack("{s:s, s:s, s:s, s:{s:i, s:i}, s:i, s:i}", "migration", uuid, "instance",
                         instance, "dest", dest, "stats", "downtime_ms", 12, "total_time_ms", 800,
                         "preparation_ms", 5, "migration_ms", 800));
        pthread_mutex_lock(&lock);
        completed_ms = tern_now_monotonic_ms();
        pthread_mutex_unlock(&lock);
        report(req->context, "migration_update",
               json_pack("{s:s, s:s, s:i}", "migration", uuid, "status", "completed",
                         "post_processing_ms", 10));
    }
    set_flag(&ended);
    return 0;
}

static const rpc_method_t compute_methods[] = {
    {"get_guest_cpu", h_get_guest_cpu},
    {"check_can_live_migrate_destination", h_check_destination},
    {"check_can_live_migrate_source", h_check_source},
    {"cleanup_live_migration_destination_check", h_cleanup},
    {"live_migration", h_live_migration},
};
static rpc_endpoint_t compute_endpoints[2];

/* ---- fixture ---- */

static db_conn_t *db;

static void
service_report(json_t *context, const char *host)
{
    test_compute_call(
        reporter, context, "service_report",
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i}}",
                  "host", host, "binary", "tern-compute", "topic", "compute", "version", "test",
                  "node", "hypervisor_type", "QEMU", "hypervisor_version", 8002000,
                  "hypervisor_hostname", host, "cpu_info", "<cpu/>", "vcpus", 4, "memory_mb", 8192,
                  "free_ram_mb", 8192, "local_gb", 100, "free_disk_gb", 100, "running_vms", 0));
}

static void
setup(void)
{
    json_t *context = rpc_context_new(NULL, NULL, NULL, NULL);
    db_instance_t *list = NULL, inst = {0};
    size_t n = 0;
    bool found = false;
    rpc_config_t cfg;

    hold = released = running = ended = false;
    completed_ms = 0;
    migration_uuid[0] = failure[0] = '\0';
    db = test_db();
    test_compute_rpc_config(&cfg);
    reporter = rpc_client_new(&cfg);
    ck_assert_msg(reporter != NULL, "%s", tern_error_message());
    for (size_t i = 0; i < 2; i++) {
        compute_endpoints[i] = (rpc_endpoint_t){.version = "1.0",
                                                .methods = compute_methods,
                                                .n_methods = TERN_N_ELEMENTS(compute_methods),
                                                .opaque = (void *)hosts[i]};
        computes[i] = rpc_server_new(&cfg, "compute", hosts[i], &compute_endpoints[i], 1, 2);
        ck_assert_msg(computes[i] != NULL, "%s", tern_error_message());
        CK_OK(rpc_server_start(computes[i]));
        service_report(context, hosts[i]); /* heartbeat and resources */
    }
    CK_OK(db_instance_list(db, NULL, &list, &n));
    for (size_t i = 0; i < n; i++)
        found = found || tern_streq(list[i].name, SERVER);
    db_instance_list_free(list, n);
    if (!found) {
        test_instance_create(db, SERVER, hosts[0], &inst);
        db_instance_clear(&inst);
    }
    json_decref(context);
}

static void
teardown(void)
{
    for (size_t i = 0; i < 2; i++)
        rpc_server_free(computes[i]);
    rpc_client_free(reporter);
    db_close(db);
}

/* server_host: where the database says the server runs now (new string). */
static char *
server_host(void)
{
    db_instance_t *list = NULL;
    size_t n = 0;
    char *host = NULL;

    CK_OK(db_instance_list(db, NULL, &list, &n));
    for (size_t i = 0; i < n; i++) {
        if (tern_streq(list[i].name, SERVER))
            host = tern_strdup(list[i].host);
    }
    db_instance_list_free(list, n);
    ck_assert_ptr_nonnull(host);
    return host;
}

static const char *
other_host(const char *host)
{
    return tern_streq(host, hosts[0]) ? hosts[1] : hosts[0];
}

/* wait_flag: wait up to ms for *flag. */
static bool
wait_flag(bool *flag, int ms)
{
    int64_t deadline = tern_now_realtime_ms() + ms;
    struct timespec ts = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000};
    bool v;

    pthread_mutex_lock(&lock);
    while (!*flag && pthread_cond_timedwait(&cond, &lock, &ts) == 0)
        ;
    v = *flag;
    pthread_mutex_unlock(&lock);
    return v;
}

static void
assert_no_failure(void)
{
    pthread_mutex_lock(&lock);
    ck_assert_msg(failure[0] == '\0', "the compute's report failed: %s", failure);
    pthread_mutex_unlock(&lock);
}

/* assert_completed_run: tern's output of a completed migration from source to dest. */
static void
assert_completed_run(const run_t *r, const char *source, const char *dest)
{
    TERN_AUTOFREE char *accepted = tern_asprintf(
        " of server " SERVER " from %s to %s accepted; Ctrl-C stops waiting.\n", source, dest);

    ck_assert_msg(r->status == 0, "exit %d\nstdout: %s\nstderr: %s", r->status, r->out, r->err);
    ck_assert_msg(strncmp(r->out, "Migration ", 10) == 0 && strstr(r->out, accepted), "stdout: %s",
                  r->out);
    ck_assert_msg(strstr(r->out, "| status ") && strstr(r->out, "| completed"), "stdout: %s",
                  r->out);
    ck_assert_msg(strstr(r->out, " after the request (transfer ") &&
                      strstr(r->out, ", downtime 12 ms).\n"),
                  "stdout: %s", r->out);
}

/* ---- cases ---- */

START_TEST(test_wait_told_of_the_end_within_ms)
{
    for (int i = 0; i < 3; i++) {
        TERN_AUTOFREE char *source = server_host();
        const char *dest = other_host(source);
        int64_t exited, late;
        run_t r;

        pthread_mutex_lock(&lock);
        ended = false;
        completed_ms = 0;
        pthread_mutex_unlock(&lock);
        r = tern("live-migration", "--block-migrate", "--wait", SERVER, dest, NULL);
        exited = tern_now_monotonic_ms();
        ck_assert(wait_flag(&ended, 5000));
        assert_no_failure();
        assert_completed_run(&r, source, dest);
        ck_assert_msg(r.err[0] == '\0', "stderr: %s", r.err); /* it listened: no warning */
        pthread_mutex_lock(&lock);
        late = exited - completed_ms;
        pthread_mutex_unlock(&lock);
        fprintf(stderr, "test-cli-wait: migration %d: tern exited %lld ms after the switch-over\n",
                i, (long long)late);
        ck_assert_msg(late < TOLD_MS, "tern exited %lld ms after the switch-over was recorded",
                      (long long)late);
        {
            TERN_AUTOFREE char *now_on = server_host();

            ck_assert_str_eq(now_on, dest);
        }
        run_clear(&r);
    }
}
END_TEST

START_TEST(test_wait_polls_when_it_cannot_listen)
{
    static const char WARNING[] = "tern: warning: could not listen on \"migration_events.";
    TERN_AUTOFREE char *source = server_host();
    const char *dest = other_host(source);
    run_t r = tern("--transport-url", limited_url, "live-migration", "--block-migrate", "--wait",
                   SERVER, dest, NULL);

    ck_assert(wait_flag(&ended, 5000));
    assert_no_failure();
    assert_completed_run(&r, source, dest);
    ck_assert_msg(strncmp(r.err, WARNING, strlen(WARNING)) == 0 &&
                      strstr(r.err, "ACCESS_REFUSED") && strstr(r.err, " every 0.5 s\n"),
                  "stderr: %s", r.err);
    run_clear(&r);
}
END_TEST

static int
listener_queues(const char *uuid)
{
    TERN_AUTOFREE char *prefix = tern_asprintf("migration_events.%s_listener_", uuid);
    long ready, unacked;
    int queues;

    CK_OK(harness_rabbitmq_queue_counts(svc, prefix, &queues, &ready, &unacked));
    return queues;
}

START_TEST(test_wait_ctrl_c_stops_waiting_not_the_migration)
{
    TERN_AUTOFREE char *source = server_host();
    TERN_AUTOFREE char *out_path = tern_asprintf("%s/wait-ctrl-c.out", work_dir);
    TERN_AUTOFREE char *err_path = tern_asprintf("%s/wait-ctrl-c.err", work_dir);
    TERN_AUTOFREE char *err = NULL;
    const char *dest = other_host(source);
    char uuid[37];
    db_migration_t mig = {0};
    int status = 0, queues = 0;
    pid_t pid;

    pthread_mutex_lock(&lock);
    hold = true;
    pthread_mutex_unlock(&lock);
    pid = tern_spawn(out_path, err_path, "live-migration", "--block-migrate", "--wait", SERVER,
                     dest, NULL);
    ck_assert_msg(wait_flag(&running, 30000), "the migration was never reported running");
    pthread_mutex_lock(&lock);
    memcpy(uuid, migration_uuid, sizeof(uuid));
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 10 && (queues = listener_queues(uuid)) == 0; i++)
        tern_sleep_ms(200);
    ck_assert_int_eq(queues, 1); /* tern listens */
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    err = test_read_file(err_path);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d, stderr: %s", status,
                  err);
    ck_assert_msg(strstr(err, "tern: stopped waiting; migration ") &&
                      strstr(err, " of server " SERVER " goes on") &&
                      strstr(err, "to abort it: tern live-migration-abort " SERVER " "),
                  "stderr: %s", err);
    ck_assert_int_eq(listener_queues(uuid), 0); /* gone with tern */
    CK_OK(db_migration_get(db, uuid, &mig));
    ck_assert_str_eq(db_migration_status_name(mig.status), "running"); /* it goes on */
    set_flag(&released); /* the compute ends it (cancelled): the server is free again */
    ck_assert(wait_flag(&ended, 10000));
    assert_no_failure();
    db_migration_clear(&mig);
}
END_TEST

TCase *
test_cli_wait_case(void)
{
    TCase *tc = tcase_create("wait");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_wait_told_of_the_end_within_ms);
    tcase_add_test(tc, test_wait_polls_when_it_cannot_listen);
    tcase_add_test(tc, test_wait_ctrl_c_stops_waiting_not_the_migration);
    return tc;
}
