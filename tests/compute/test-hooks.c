/*
 * tests/compute/test-hooks.c: the host's migration hooks (compute/hooks.h), with real shell
 * scripts the tests write under a fresh directory (tern_check_tmpdir): the order they run in,
 * what they read on stdin and in their environment, which files are skipped, a failing hook's
 * veto and its message, a hook that outlives its time (killed with what it started), one that
 * never reads its stdin, and [compute] hooks_dir checked when tern-compute starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "compute/hooks.h"
#include "tests/compute/compute_tests.h"

#define EVENT COMPUTE_HOOK_BEFORE_MIGRATION_SOURCE
#define INSTANCE_UUID "0f3c6a2e-6d1b-4b9e-9f0a-5c1e2d3b4a59"
#define MIGRATION_UUID "7a1d9c4e-2b3f-4e6a-8c5d-1f0e9b8a7c6d"
#define TIMEOUT_MS 10000

/* hooks_dir: the test's hooks directory (new path). */
static char *
hooks_dir(void)
{
    return tern_asprintf("%s/hooks", tern_check_tmpdir);
}

/* write_file: path under the test's directory with text and mode. */
static void
write_file(const char *rel, const char *text, mode_t mode)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/%s", tern_check_tmpdir, rel);
    TERN_AUTOFREE char *dir = tern_strdup(path);
    FILE *f;

    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(tern_mkdir_p(dir, 0755), 0);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

/* write_hook: hooks/<EVENT>.d/name, a shell script of body (its $OUT: the test's directory). */
static void
write_hook(const char *name, const char *body)
{
    TERN_AUTOFREE char *rel = tern_asprintf("hooks/%s.d/%s", EVENT, name);
    TERN_AUTOFREE char *text = tern_asprintf("#!/bin/sh\nOUT='%s'\n%s\n", tern_check_tmpdir, body);

    write_file(rel, text, 0755);
}

/* read_text: the content of a file under the test's directory (new), NULL when missing. */
static char *
read_text(const char *rel)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/%s", tern_check_tmpdir, rel);
    char *buf = tern_calloc(1, 65536);
    FILE *f = fopen(path, "r");

    if (!f) {
        free(buf);
        return NULL;
    }
    if (fread(buf, 1, 65535, f) == 0 && ferror(f))
        ck_abort_msg("could not read %s", path);
    fclose(f);
    return buf;
}

/* payload: what a source's hooks of EVENT read (new). */
static json_t *
payload(void)
{
    json_t *instance =
        tern_json_pack("{s:s, s:s, s:i}", "uuid", INSTANCE_UUID, "name", "web-1", "memory_mb", 512);
    compute_hook_migration_t m = {
        .uuid = MIGRATION_UUID, .source_host = "h1", .dest_host = "h2", .block_migration = true};
    json_t *p = compute_hooks_payload_new(EVENT, "h1", instance, &m);

    json_decref(instance);
    return p;
}

/* run: the hooks of EVENT under the test's hooks directory. */
static int
run(int timeout_ms)
{
    TERN_AUTOFREE char *dir = hooks_dir();
    json_t *p = payload();
    int rc = compute_hooks_run(dir, EVENT, p, timeout_ms);

    json_decref(p);
    return rc;
}

START_TEST(hooks_run_in_name_order_and_skip_what_is_not_a_hook)
{
    TERN_AUTOFREE char *order = NULL;

    write_hook("20-b", "echo 20-b >> \"$OUT/order\"");
    write_hook("10-a", "echo 10-a >> \"$OUT/order\"");
    write_hook("9-z", "echo 9-z >> \"$OUT/order\""); /* strcmp: "9" after "3" */
    write_hook("30-c", "echo 30-c >> \"$OUT/order\"");
    write_hook(".40-hidden", "echo hidden >> \"$OUT/order\"");
    write_hook("50-backup~", "echo backup >> \"$OUT/order\"");
    write_file("hooks/" EVENT ".d/15-not-executable", "#!/bin/sh\necho nx >> order\nexit 1\n",
               0644);
    write_file("hooks/" EVENT ".d/17-directory/x", "", 0755);
    CK_OK(run(TIMEOUT_MS));
    order = read_text("order");
    ck_assert_str_eq(order, "10-a\n20-b\n30-c\n9-z\n");
}
END_TEST

START_TEST(a_hook_reads_the_instance_and_migration_as_json_on_stdin)
{
    TERN_AUTOFREE char *text = NULL;
    json_error_t jerr;
    json_t *got, *want = payload();
    const char *event, *host, *uuid, *name, *muuid, *src, *dst;
    int block, mem;

    write_hook("10-copy", "cat > \"$OUT/stdin.json\"");
    CK_OK(run(TIMEOUT_MS));
    ck_assert_ptr_nonnull(text = read_text("stdin.json"));
    ck_assert_msg((got = json_loads(text, 0, &jerr)) != NULL, "not JSON: %s", jerr.text);
    ck_assert_msg(json_unpack_ex(got, &jerr, JSON_STRICT,
                                 "{s:s, s:s, s:{s:s, s:s, s:i}, s:{s:s, s:s, s:s, s:b}}", "event",
                                 &event, "host", &host, "instance", "uuid", &uuid, "name", &name,
                                 "memory_mb", &mem, "migration", "uuid", &muuid, "source_host",
                                 &src, "dest_host", &dst, "block_migration", &block) == 0,
                  "unexpected payload %s: %s", text, jerr.text);
    ck_assert_str_eq(event, EVENT);
    ck_assert_str_eq(host, "h1");
    ck_assert_str_eq(uuid, INSTANCE_UUID);
    ck_assert_str_eq(name, "web-1");
    ck_assert_int_eq(mem, 512);
    ck_assert_str_eq(muuid, MIGRATION_UUID);
    ck_assert_str_eq(src, "h1");
    ck_assert_str_eq(dst, "h2");
    ck_assert(block);
    ck_assert(json_equal(got, want));
    json_decref(got);
    json_decref(want);
}
END_TEST

START_TEST(a_hook_gets_the_event_and_uuids_in_its_environment_and_nothing_else)
{
    TERN_AUTOFREE char *env = NULL, *all = NULL;

    setenv("TERN_TEST_NOT_FOR_HOOKS", "leaked", 1);
    write_hook("10-env", "printf '%s\\n%s\\n%s\\n' \"$TERN_HOOK_EVENT\" \"$TERN_INSTANCE_UUID\" "
                         "\"$TERN_MIGRATION_UUID\" > \"$OUT/env\"\n"
                         "env > \"$OUT/all\"; pwd >> \"$OUT/all\"");
    CK_OK(run(TIMEOUT_MS));
    env = read_text("env");
    ck_assert_str_eq(env, EVENT "\n" INSTANCE_UUID "\n" MIGRATION_UUID "\n");
    all = read_text("all");
    ck_assert_ptr_null(strstr(all, "TERN_TEST_NOT_FOR_HOOKS"));
    ck_assert_ptr_nonnull(strstr(all, "PATH=/usr/local/sbin:"));
    ck_assert_ptr_nonnull(strstr(all, "\n/\n")); /* its working directory */
}
END_TEST

START_TEST(a_failing_hook_refuses_with_the_first_line_of_its_stderr_and_stops_the_rest)
{
    TERN_AUTOFREE char *ran = NULL;

    write_hook("10-ok", "echo 10-ok >> \"$OUT/ran\"");
    write_hook("20-refuse", "echo 'some output' ; printf '\\n  outside the maintenance window  "
                            "\\nsecond line\\n' >&2; exit 3");
    write_hook("30-never", "echo 30-never >> \"$OUT/ran\"");
    CK_FAILS_WITH(run(TIMEOUT_MS), TERN_ERR_CHECK_FAILED,
                  "hook \"" EVENT ".d/20-refuse\" refused: outside the maintenance window");
    ck_assert_ptr_null(strstr(tern_error_message(), "second line"));
    ran = read_text("ran");
    ck_assert_str_eq(ran, "10-ok\n");
}
END_TEST

START_TEST(a_silent_failing_hook_refuses_with_its_exit_status_or_signal)
{
    write_hook("10-exit", "exit 4");
    CK_FAILS_WITH(run(TIMEOUT_MS), TERN_ERR_CHECK_FAILED,
                  "hook \"" EVENT ".d/10-exit\" refused: exit status 4");
    write_hook("10-exit", "kill -KILL $$");
    CK_FAILS_WITH(run(TIMEOUT_MS), TERN_ERR_CHECK_FAILED,
                  "hook \"" EVENT ".d/10-exit\" refused: killed by signal 9");
}
END_TEST

START_TEST(a_hook_that_cannot_be_executed_fails)
{
    write_file("hooks/" EVENT ".d/10-no-interpreter", "echo no shebang\n", 0755);
    CK_FAILS_WITH(run(TIMEOUT_MS), TERN_ERR_SYSTEM,
                  "could not execute hook \"" EVENT ".d/10-no-interpreter\": Exec format error");
    write_file("hooks/" EVENT ".d/10-no-interpreter", "#!/nonexistent/sh\n", 0755);
    CK_FAILS_WITH(run(TIMEOUT_MS), TERN_ERR_SYSTEM, "No such file or directory");
}
END_TEST

/* process_gone: pid has exited (gone, or a zombie nobody reaped yet). */
static bool
process_gone(pid_t pid)
{
    TERN_AUTOFREE char *path = tern_asprintf("/proc/%d/stat", (int)pid);
    char buf[512] = "";
    FILE *f = fopen(path, "r");
    char *end;

    if (!f)
        return true;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    end = strrchr(buf, ')');
    return !end || end[1] == '\0' || end[2] == 'Z' || end[2] == 'X';
}

START_TEST(a_hook_that_outlives_its_time_is_killed_with_its_children_and_fails)
{
    TERN_AUTOFREE char *pid_text = NULL;
    int64_t t0, elapsed;
    pid_t child;

    write_hook("10-slow", "sleep 60 & echo $! > \"$OUT/child\"; sleep 60");
    t0 = tern_now_monotonic_ms();
    CK_FAILS_WITH(run(1000), TERN_ERR_TIMEOUT, "hook \"" EVENT ".d/10-slow\" timed out after 1 s");
    elapsed = tern_now_monotonic_ms() - t0;
    ck_assert_msg(elapsed >= 1000 && elapsed < 2500, "took %lld ms", (long long)elapsed);
    ck_assert_ptr_nonnull(pid_text = read_text("child"));
    child = (pid_t)atoi(pid_text);
    ck_assert_int_gt(child, 0);
    for (int i = 0; i < 50 && !process_gone(child); i++)
        tern_sleep_ms(20);
    ck_assert_msg(process_gone(child), "the hook's child %d survived", (int)child);
}
END_TEST

START_TEST(a_hook_that_closes_its_output_and_stays_is_still_timed)
{
    int64_t t0 = tern_now_monotonic_ms();

    write_hook("10-quiet", "exec >/dev/null 2>&1 </dev/null; sleep 60");
    CK_FAILS_WITH(run(500), TERN_ERR_TIMEOUT, "timed out after 0.5 s");
    ck_assert_int_lt(tern_now_monotonic_ms() - t0, 2000);
}
END_TEST

START_TEST(a_hook_that_never_reads_a_large_payload_does_not_hang)
{
    TERN_AUTOFREE char *dir = hooks_dir(), *big = tern_malloc(4 << 20);
    json_t *p = payload();
    int64_t t0;

    memset(big, 'x', (4 << 20) - 1);
    big[(4 << 20) - 1] = '\0';
    json_object_set_new(json_object_get(p, "instance"), "big", json_string(big));
    write_hook("10-exits", "exit 0");
    write_hook("20-sleeps", "sleep 0.3");
    write_hook("30-reads-a-little", "head -c 10 > /dev/null; sleep 0.2");
    write_hook("40-spews", "head -c 2000000 /dev/zero; head -c 200000 /dev/zero >&2");
    t0 = tern_now_monotonic_ms();
    CK_OK(compute_hooks_run(dir, EVENT, p, 5000));
    ck_assert_int_lt(tern_now_monotonic_ms() - t0, 4000);
    json_decref(p);
}
END_TEST

START_TEST(no_hooks_dir_or_no_event_directory_means_no_hooks)
{
    TERN_AUTOFREE char *missing = tern_asprintf("%s/missing", tern_check_tmpdir);
    json_t *p = payload();

    CK_OK(compute_hooks_run(NULL, EVENT, p, TIMEOUT_MS));
    CK_OK(compute_hooks_run("", EVENT, p, TIMEOUT_MS));
    CK_OK(compute_hooks_run(missing, EVENT, p, TIMEOUT_MS));
    write_file("hooks/" COMPUTE_HOOK_AFTER_MIGRATION_SOURCE ".d/10-other-event", "#!/bin/sh\n",
               0755);
    CK_OK(run(TIMEOUT_MS)); /* hooks/ exists, hooks/EVENT.d does not */
    write_file("hooks/" EVENT ".d/.keep", "", 0644);
    CK_OK(run(TIMEOUT_MS)); /* EVENT.d holds no hook */
    json_decref(p);
}
END_TEST

START_TEST(hooks_that_succeed_succeed)
{
    write_hook("10-a", "cat >/dev/null; echo fine");
    write_hook("20-b", "echo a warning on stderr is no failure >&2; exit 0");
    CK_OK(run(TIMEOUT_MS));
}
END_TEST

START_TEST(the_payload_has_null_for_what_the_host_does_not_know)
{
    json_t *instance = tern_json_pack("{s:s}", "uuid", INSTANCE_UUID);
    compute_hook_migration_t m = {.dest_host = "h2"};
    json_t *p =
        compute_hooks_payload_new(COMPUTE_HOOK_AFTER_MIGRATION_DESTINATION, "h2", instance, &m);
    json_t *mig = json_object_get(p, "migration");

    ck_assert(json_is_null(json_object_get(mig, "uuid")));
    ck_assert(json_is_null(json_object_get(mig, "source_host")));
    ck_assert_str_eq(json_string_value(json_object_get(mig, "dest_host")), "h2");
    ck_assert(json_is_false(json_object_get(mig, "block_migration")));
    json_decref(p);
    json_decref(instance);
}
END_TEST

START_TEST(hooks_dir_must_be_a_directory)
{
    TERN_AUTOFREE char *dir = hooks_dir();
    TERN_AUTOFREE char *file = tern_asprintf("%s/plain", tern_check_tmpdir);
    TERN_AUTOFREE char *missing = tern_asprintf("%s/missing", tern_check_tmpdir);

    CK_OK(compute_hooks_check_dir(NULL));
    CK_OK(compute_hooks_check_dir(""));
    ck_assert_int_eq(tern_mkdir_p(dir, 0755), 0);
    CK_OK(compute_hooks_check_dir(dir));
    write_file("plain", "", 0644);
    CK_FAILS_WITH(compute_hooks_check_dir(file), TERN_ERR_CONFIG, "not a directory");
    CK_MSG_HAS("[compute] hooks_dir");
    CK_FAILS_WITH(compute_hooks_check_dir(missing), TERN_ERR_CONFIG, "No such file or directory");
}
END_TEST

START_TEST(tern_compute_does_not_start_with_a_hooks_dir_that_is_not_a_directory)
{
    compute_config_t cfg = {0};
    rpc_config_t rpc_cfg = {0};

    write_file("plain", "", 0644);
    cfg.host = tern_strdup("h1");
    cfg.hooks_dir = tern_asprintf("%s/plain", tern_check_tmpdir);
    cfg.hook_timeout_s = 30;
    tern_error_reset();
    ck_assert_ptr_null(compute_manager_new(&cfg, &rpc_cfg));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_CONFIG);
    CK_MSG_HAS("invalid [compute] hooks_dir");
    CK_MSG_HAS("not a directory");
    ck_assert_ptr_null(cfg.hooks_dir); /* stolen, and freed with the manager */
}
END_TEST

TCase *
compute_hooks_tcase(void)
{
    TCase *tc = tcase_create("hooks");

    tcase_add_checked_fixture(tc, tern_check_tmpdir_setup, tern_check_tmpdir_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, hooks_run_in_name_order_and_skip_what_is_not_a_hook);
    tcase_add_test(tc, a_hook_reads_the_instance_and_migration_as_json_on_stdin);
    tcase_add_test(tc, a_hook_gets_the_event_and_uuids_in_its_environment_and_nothing_else);
    tcase_add_test(tc, a_failing_hook_refuses_with_the_first_line_of_its_stderr_and_stops_the_rest);
    tcase_add_test(tc, a_silent_failing_hook_refuses_with_its_exit_status_or_signal);
    tcase_add_test(tc, a_hook_that_cannot_be_executed_fails);
    tcase_add_test(tc, a_hook_that_outlives_its_time_is_killed_with_its_children_and_fails);
    tcase_add_test(tc, a_hook_that_closes_its_output_and_stays_is_still_timed);
    tcase_add_test(tc, a_hook_that_never_reads_a_large_payload_does_not_hang);
    tcase_add_test(tc, no_hooks_dir_or_no_event_directory_means_no_hooks);
    tcase_add_test(tc, hooks_that_succeed_succeed);
    tcase_add_test(tc, the_payload_has_null_for_what_the_host_does_not_know);
    tcase_add_test(tc, hooks_dir_must_be_a_directory);
    tcase_add_test(tc, tern_compute_does_not_start_with_a_hooks_dir_that_is_not_a_directory);
    return tc;
}
