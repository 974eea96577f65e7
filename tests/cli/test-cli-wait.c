/*
 * tests/cli/test-cli-wait.c: `tern migration-show --wait` (the wait loop of live-migration
 * --wait) against the real tern-conductor of the cli-conductor suite.
 *
 * A migration is made with db/ as live_migrate makes it, and moved through its statuses with
 * the service API as a compute identity, as the source compute reports it; tern follows it.
 * Nothing is timed: an hour-long refresh (TERN_WAIT_REFRESH_MS) leaves the conductor's events
 * the only way for tern to learn of a change, so a tern that is not told never ends (the case
 * fails on its hang guard). The whole path with real computes and libvirt is the integration
 * tests' (tests/integration/run-live-migration).
 *
 * told:    tern listens, follows the changes it is told of, and at the completion prints the
 *          end figures, the labelled record and the summary, exit 0, nothing on stderr
 * polling: an identity that may not declare the listener's queue still follows the migration
 *          to its end (every 0.5 s), and says so on stderr
 * ctrl-c:  SIGINT stops the waiting (exit 1, how to abort), not the migration; the listener's
 *          queue is gone with tern
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/cli/test-cli-conductor.h"

#define HANG_GUARD_MS 60000 /* not a measure: a tern still waiting this long was never told */
#define AN_HOUR "3600000"

static db_conn_t *db;
static rpc_client_t *compute; /* as "tern-compute.ev-src", the source compute */
static json_t *context;

static void
setup(void)
{
    test_compute_fixture_open(&db, &compute, &context);
}

static void
teardown(void)
{
    unsetenv("TERN_WAIT_REFRESH_MS");
    test_compute_fixture_close(db, compute, context);
}

static int
listener_queues(const char *uuid)
{
    TERN_AUTOFREE char *prefix = tern_asprintf("migration_events.%s_listener_", uuid);
    long ready, unacked;
    int queues;

    CK_OK(harness_rabbitmq_queue_counts(svc, prefix, &queues, &ready, &unacked));
    return queues;
}

/* wait_listening: until tern's listener of migration uuid is there (rabbitmqctl: ~1 s a look),
 * then a moment for its first read, so that what follows can only reach it as events. */
static void
wait_listening(const char *uuid)
{
    int queues = 0;

    for (int i = 0; i < 20 && (queues = listener_queues(uuid)) == 0; i++)
        tern_sleep_ms(200);
    ck_assert_int_eq(queues, 1);
    tern_sleep_ms(1000);
}

/* report: what the source compute reports of migration uuid, to its end. */
static void
report_to_the_end(const char *uuid, const char *instance)
{
    test_compute_call(compute, context, "migration_update",
                      json_pack("{s:s, s:s}", "migration", uuid, "status", "preparing"));
    test_compute_call(compute, context, "migration_update",
                      json_pack("{s:s, s:s}", "migration", uuid, "status", "running"));
    test_compute_call(compute, context, "migration_update",
                      json_pack("{s:s, s:s, s:{s:i, s:i, s:i}}", "migration", uuid, "status",
                                "running", "progress", "memory_total", 268435456,
                                "memory_processed", 134217728, "memory_remaining", 134217728));
    test_compute_call(
        compute, context, "live_migration_completed",
        json_pack("{s:s, s:s, s:s, s:{s:i, s:i}, s:i, s:i, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
                  "s:i, s:i}}",
                  "migration", uuid, "instance", instance, "dest", "ev-dst", "stats", "downtime_ms",
                  12, "total_time_ms", 800, "preparation_ms", 5, "migration_ms", 800, "final",
                  "memory_total", 268435456, "memory_processed", 104857600, "memory_remaining", 0,
                  "disk_total", 65536, "disk_processed", 65536, "disk_remaining", 0, "iterations",
                  3, "job_ms", 700, "downtime_ms", 12));
}

/* wait_exit: tern's exit status, or a failure when it is still waiting after the guard. */
static int
wait_exit(pid_t pid, const char *what)
{
    int64_t deadline = tern_now_monotonic_ms() + HANG_GUARD_MS;
    int status = 0;
    pid_t got;

    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && tern_now_monotonic_ms() < deadline)
        tern_sleep_ms(50);
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("tern was still waiting %d s after %s: it was not told", HANG_GUARD_MS / 1000,
                     what);
    }
    ck_assert_int_eq(got, pid);
    return status;
}

/* follow: spawn tern migration-show --wait uuid (with transport URL url, NULL: the suite's). */
static pid_t
follow(const char *uuid, const char *url, char **ret_out_path, char **ret_err_path)
{
    *ret_out_path = tern_asprintf("%s/wait-%s.out", work_dir, uuid);
    *ret_err_path = tern_asprintf("%s/wait-%s.err", work_dir, uuid);
    if (url)
        return tern_spawn(*ret_out_path, *ret_err_path, "--transport-url", url, "migration-show",
                          "--wait", uuid, NULL);
    return tern_spawn(*ret_out_path, *ret_err_path, "migration-show", "--wait", uuid, NULL);
}

/* assert_completed_output: what tern printed for the completed migration of instance. */
static void
assert_completed_output(const char *out, const char *instance)
{
    TERN_AUTOFREE char *following =
        tern_asprintf(" of server %s from ev-src to ev-dst; Ctrl-C stops waiting.\n", instance);

    ck_assert_msg(strncmp(out, "Following migration ", 20) == 0 && strstr(out, following),
                  "stdout: %s", out);
    /* the last progress line is the end: the final figures, nothing remaining */
    ck_assert_msg(strstr(out, "\n100% ") && strstr(out, "/completed  memory 100.0 MiB/256.0 MiB  "
                                                        "disk 64.0 KiB/64.0 KiB  remaining 0 B"),
                  "stdout: %s", out);
    ck_assert_msg(strstr(out, "| downtime_ms        | 12 ms - guest paused for the switch-over"),
                  "stdout: %s", out);
    ck_assert_msg(strstr(out, "| libvirt_job_ms     | 700 ms - libvirt's own job time"),
                  "stdout: %s", out);
    ck_assert_msg(strstr(out, " completed ") && strstr(out, " after the request (transfer ") &&
                      strstr(out, ", downtime 12 ms).\n"),
                  "stdout: %s", out);
}

START_TEST(test_wait_told_of_the_changes)
{
    char uuid[37];
    db_instance_t inst = {0}, moved = {0};
    TERN_AUTOFREE char *out_path = NULL;
    TERN_AUTOFREE char *err_path = NULL;
    TERN_AUTOFREE char *out = NULL;
    TERN_AUTOFREE char *err = NULL;
    int status;
    pid_t pid;

    tern_uuid_generate(uuid);
    test_migration_begin(db, context, "wt1", uuid, HOST, &inst);
    setenv("TERN_WAIT_REFRESH_MS", AN_HOUR, 1); /* only an event can make it read again */
    pid = follow(uuid, NULL, &out_path, &err_path);
    wait_listening(uuid);
    report_to_the_end(uuid, inst.uuid);
    status = wait_exit(pid, "the switch-over");
    out = test_read_file(out_path);
    err = test_read_file(err_path);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "status %d\nstdout: %s\nstderr: %s", status, out, err);
    assert_completed_output(out, inst.uuid);
    ck_assert_msg(err[0] == '\0', "stderr: %s", err); /* it listened: no warning */
    ck_assert_int_eq(listener_queues(uuid), 0);       /* and its queue went with it */
    CK_OK(db_instance_get(db, inst.uuid, &moved));
    ck_assert_str_eq(moved.host, "ev-dst");
    db_instance_clear(&moved);
    db_instance_clear(&inst);
}
END_TEST

START_TEST(test_wait_polls_when_it_cannot_listen)
{
    static const char WARNING[] = "tern: warning: could not listen on \"migration_events.";
    char uuid[37];
    db_instance_t inst = {0};
    TERN_AUTOFREE char *out_path = NULL;
    TERN_AUTOFREE char *err_path = NULL;
    TERN_AUTOFREE char *out = NULL;
    TERN_AUTOFREE char *err = NULL;
    int status;
    pid_t pid;

    tern_uuid_generate(uuid);
    test_migration_begin(db, context, "wt2", uuid, HOST, &inst);
    pid = follow(uuid, limited_url, &out_path, &err_path); /* may declare no listener's queue */
    tern_sleep_ms(1000);
    report_to_the_end(uuid, inst.uuid);
    status = wait_exit(pid, "the switch-over");
    out = test_read_file(out_path);
    err = test_read_file(err_path);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "status %d\nstdout: %s\nstderr: %s", status, out, err);
    assert_completed_output(out, inst.uuid);
    ck_assert_msg(strncmp(err, WARNING, strlen(WARNING)) == 0 && strstr(err, "ACCESS_REFUSED") &&
                      strstr(err, " every 0.5 s\n"),
                  "stderr: %s", err);
    db_instance_clear(&inst);
}
END_TEST

START_TEST(test_wait_ctrl_c_stops_waiting_not_the_migration)
{
    char uuid[37];
    db_instance_t inst = {0};
    db_migration_t mig = {0};
    TERN_AUTOFREE char *out_path = NULL;
    TERN_AUTOFREE char *err_path = NULL;
    TERN_AUTOFREE char *err = NULL;
    int status;
    pid_t pid;

    tern_uuid_generate(uuid);
    test_migration_begin(db, context, "wt3", uuid, HOST, &inst);
    test_compute_call(compute, context, "migration_update",
                      json_pack("{s:s, s:s}", "migration", uuid, "status", "preparing"));
    test_compute_call(compute, context, "migration_update",
                      json_pack("{s:s, s:s}", "migration", uuid, "status", "running"));
    pid = follow(uuid, NULL, &out_path, &err_path);
    wait_listening(uuid);
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    status = wait_exit(pid, "SIGINT");
    err = test_read_file(err_path);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d, stderr: %s", status,
                  err);
    ck_assert_msg(strstr(err, "tern: stopped waiting; migration ") && strstr(err, " goes on") &&
                      strstr(err, "to abort it: tern live-migration-abort "),
                  "stderr: %s", err);
    ck_assert_int_eq(listener_queues(uuid), 0); /* gone with tern */
    CK_OK(db_migration_get(db, uuid, &mig));
    ck_assert_str_eq(db_migration_status_name(mig.status), "running"); /* it goes on */
    test_compute_call(compute, context, "live_migration_failed",
                      json_pack("{s:s, s:s, s:s}", "migration", uuid, "status", "cancelled",
                                "error_message", "ended by the test"));
    db_migration_clear(&mig);
    db_instance_clear(&inst);
}
END_TEST

TCase *
test_cli_wait_case(void)
{
    TCase *tc = tcase_create("wait");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_wait_told_of_the_changes);
    tcase_add_test(tc, test_wait_polls_when_it_cannot_listen);
    tcase_add_test(tc, test_wait_ctrl_c_stops_waiting_not_the_migration);
    return tc;
}
