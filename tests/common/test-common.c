/*
 * tests/common/test-common.c: unit suite of common/ (error slot, util helpers, log sink and URL
 * masking, the command runner).
 *
 * Everything here is real: files go to a fresh directory under /tmp, commands are real programs
 * (sh, printf, sleep) started through tern_command_run().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/command.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "tests/support/tern-check.h"

static char *
write_file(const char *name, const char *text)
{
    char *path = tern_asprintf("%s/%s", tern_check_tmpdir, name);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* ---- error ---- */

START_TEST(test_error_set_records_code_message_and_place)
{
    int line = __LINE__ + 1;
    int rc = tern_error_set(TERN_ERR_NOT_FOUND, "instance \"%s\" not found", "i-1");

    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_NOT_FOUND);
    ck_assert_str_eq(tern_error_message(), "instance \"i-1\" not found");
    ck_assert_int_eq(tern_error_last()->line, line);
    /* Check's START_TEST names the function NAME_fn. */
    ck_assert_str_eq(tern_error_last()->func, "test_error_set_records_code_message_and_place_fn");
    ck_assert_ptr_nonnull(strstr(tern_error_last()->file, "test-common.c"));
    tern_error_reset();
    ck_assert_int_eq(tern_error_code(), TERN_ERR_NONE);
    ck_assert_str_eq(tern_error_message(), "unknown error");
}
END_TEST

START_TEST(test_error_prefix_keeps_code)
{
    tern_error_set(TERN_ERR_TIMEOUT, "no answer in 60 s");
    ck_assert_int_eq(tern_error_prefix("could not call \"%s\"", "ping"), -1);
    ck_assert_str_eq(tern_error_message(), "could not call \"ping\": no answer in 60 s");
    ck_assert_int_eq(tern_error_code(), TERN_ERR_TIMEOUT);
    /* With nothing recorded, the prefix still yields a readable message and an error code. */
    tern_error_reset();
    tern_error_prefix("could not start");
    ck_assert_str_eq(tern_error_message(), "could not start: unknown error");
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INTERNAL);
}
END_TEST

START_TEST(test_error_remote_mark_kept_by_prefix_and_copy_cleared_by_set)
{
    tern_error_t saved;

    tern_error_reset();
    tern_error_mark_remote(); /* nothing recorded: nothing to mark */
    ck_assert(!tern_error_is_remote());
    tern_error_set(TERN_ERR_NOT_FOUND, "instance \"x\" does not exist");
    ck_assert(!tern_error_is_remote());
    tern_error_mark_remote();
    ck_assert(tern_error_is_remote());
    tern_error_prefix("host \"h1\"");
    ck_assert(tern_error_is_remote());
    tern_error_copy(&saved);
    tern_error_set(TERN_ERR_TIMEOUT, "no reply");
    ck_assert(!tern_error_is_remote());
    tern_error_restore(&saved);
    ck_assert(tern_error_is_remote());
    ck_assert_str_eq(tern_error_message(), "host \"h1\": instance \"x\" does not exist");
    tern_error_reset();
    ck_assert(!tern_error_is_remote());
}
END_TEST

START_TEST(test_error_errno_appends_strerror)
{
    ck_assert_int_eq(tern_error_set_errno(ENOENT, "could not open file \"%s\"", "/x"), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_SYSTEM);
    ck_assert_str_eq(tern_error_message(), "could not open file \"/x\": No such file or directory");
}
END_TEST

START_TEST(test_error_code_names_round_trip)
{
    for (int i = 0; i < TERN_ERR__COUNT; i++) {
        const char *name = tern_error_code_name((tern_error_code_t)i);

        ck_assert_ptr_nonnull(name);
        ck_assert_int_eq(tern_error_code_from_name(name), i);
    }
    ck_assert_str_eq(tern_error_code_name(TERN_ERR_NOT_FOUND), "not_found");
    ck_assert_str_eq(tern_error_code_name(TERN_ERR_CHECK_FAILED), "check_failed");
    ck_assert_str_eq(tern_error_code_name((tern_error_code_t)999), "internal");
    ck_assert_int_eq(tern_error_code_from_name("no-such-code"), TERN_ERR_INTERNAL);
    ck_assert_int_eq(tern_error_code_from_name(NULL), TERN_ERR_INTERNAL);
}
END_TEST

START_TEST(test_error_copy_and_restore)
{
    tern_error_t saved;

    tern_error_set(TERN_ERR_CONFLICT, "migration \"m1\" is running");
    tern_error_copy(&saved);
    tern_error_reset();
    tern_error_restore(&saved);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_CONFLICT);
    ck_assert_str_eq(tern_error_message(), "migration \"m1\" is running");
}
END_TEST

static void *
other_thread_error(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)tern_error_code();
}

START_TEST(test_error_slot_is_per_thread)
{
    pthread_t t;
    void *code;

    tern_error_set(TERN_ERR_DB, "connection lost");
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread_error, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &code), 0);
    ck_assert_int_eq((int)(intptr_t)code, TERN_ERR_NONE);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_DB);
}
END_TEST

START_TEST(test_error_long_message_truncated_not_overflowed)
{
    char big[3 * TERN_ERROR_MSG_MAX];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tern_error_set(TERN_ERR_INVALID, "%s", big);
    ck_assert_uint_eq(strlen(tern_error_message()), TERN_ERROR_MSG_MAX - 1);
    tern_error_prefix("%s", big);
    ck_assert_uint_eq(strlen(tern_error_message()), TERN_ERROR_MSG_MAX - 1);
}
END_TEST

/* ---- util ---- */

START_TEST(test_util_parse_int64)
{
    int64_t v = 7;

    ck_assert_int_eq(tern_parse_int64("42", "port", &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(tern_parse_int64("-9223372036854775808", "n", &v), 0);
    ck_assert(v == INT64_MIN);

    v = 7;
    ck_assert_int_eq(tern_parse_int64("12x", "port", &v), -1);
    ck_assert_str_eq(tern_error_message(), "invalid port \"12x\": not an integer");
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_int_eq(v, 7); /* untouched on failure */
    ck_assert_int_eq(tern_parse_int64("", "port", &v), -1);
    ck_assert_str_eq(tern_error_message(), "invalid port \"\": not an integer");
    ck_assert_int_eq(tern_parse_int64(NULL, "port", &v), -1);
    ck_assert_int_eq(tern_parse_int64("1.5", "count", &v), -1);
    ck_assert_str_eq(tern_error_message(), "invalid count \"1.5\": not an integer");
    ck_assert_int_eq(tern_parse_int64("99999999999999999999", "count", &v), -1);
    ck_assert_str_eq(tern_error_message(), "invalid count \"99999999999999999999\": out of range");
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_util_parse_double)
{
    double d = 0;

    ck_assert_int_eq(tern_parse_double("1.5", "ratio", &d), 0);
    ck_assert(d == 1.5);
    ck_assert_int_eq(tern_parse_double("2e3", "ratio", &d), 0);
    ck_assert(d == 2000.0);
    ck_assert_int_eq(tern_parse_double("lots", "ratio", &d), -1);
    ck_assert_str_eq(tern_error_message(), "invalid ratio \"lots\": not a number");
    ck_assert_int_eq(tern_parse_double("1.5x", "ratio", &d), -1);
    ck_assert_str_eq(tern_error_message(), "invalid ratio \"1.5x\": not a number");
    ck_assert_int_eq(tern_parse_double("", "ratio", &d), -1);
    ck_assert_str_eq(tern_error_message(), "invalid ratio \"\": not a number");
    ck_assert_int_eq(tern_parse_double("1e999", "ratio", &d), -1);
    ck_assert_str_eq(tern_error_message(), "invalid ratio \"1e999\": out of range");
    ck_assert_int_eq(tern_parse_double("nan", "ratio", &d), -1);
    ck_assert(d == 2000.0);
}
END_TEST

START_TEST(test_util_uuid)
{
    char a[37], b[37];

    tern_uuid_generate(a);
    tern_uuid_generate(b);
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert(tern_uuid_valid(a));
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(a[14], '4'); /* version 4 */
    for (const char *p = a; *p; p++)
        ck_assert(*p == '-' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
    ck_assert(tern_uuid_valid("0f3c8a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
    ck_assert(!tern_uuid_valid("0f3c8a52-1c2d-4e5f-8a9b-0c1d2e3f4a5"));   /* 35 characters */
    ck_assert(!tern_uuid_valid("0f3c8a52-1c2d-4e5f-8a9b-0c1d2e3f4a5bb")); /* 37 characters */
    ck_assert(!tern_uuid_valid("0f3c8a52x1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
    ck_assert(!tern_uuid_valid("zf3c8a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
    ck_assert(!tern_uuid_valid(""));
    ck_assert(!tern_uuid_valid(NULL));
}
END_TEST

START_TEST(test_util_mkdir_p)
{
    TERN_AUTOFREE char *deep = tern_asprintf("%s/a/b/c", tern_check_tmpdir);
    TERN_AUTOFREE char *file = write_file("plain", "x");
    TERN_AUTOFREE char *under_file = tern_asprintf("%s/plain/sub", tern_check_tmpdir);
    TERN_AUTOFREE char *expected = NULL;
    struct stat st;

    ck_assert_int_eq(tern_mkdir_p(deep, 0755), 0);
    ck_assert_int_eq(stat(deep, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(tern_mkdir_p(deep, 0755), 0); /* existing: fine */
    ck_assert_int_eq(tern_mkdir_p(under_file, 0755), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_SYSTEM);
    expected = tern_asprintf("could not create directory \"%s\": Not a directory", under_file);
    ck_assert_str_eq(tern_error_message(), expected);
}
END_TEST

/* tern_remove_tree: everything under the path goes, deepest first; a symbolic link is removed,
 * not followed; a missing path is fine. */
START_TEST(test_util_remove_tree)
{
    TERN_AUTOFREE char *top = tern_asprintf("%s/tree", tern_check_tmpdir);
    TERN_AUTOFREE char *deep = tern_asprintf("%s/tree/a/b", tern_check_tmpdir);
    TERN_AUTOFREE char *f1 = tern_asprintf("%s/tree/disk", tern_check_tmpdir);
    TERN_AUTOFREE char *f2 = tern_asprintf("%s/tree/a/b/console.log", tern_check_tmpdir);
    TERN_AUTOFREE char *outside = write_file("outside", "keep me");
    TERN_AUTOFREE char *link = tern_asprintf("%s/tree/a/link", tern_check_tmpdir);
    TERN_AUTOFREE char *link_dir = tern_asprintf("%s/tree/a/dirlink", tern_check_tmpdir);
    struct stat st;
    FILE *f;

    ck_assert_int_eq(tern_mkdir_p(deep, 0755), 0);
    ck_assert_ptr_nonnull((f = fopen(f1, "w")));
    fclose(f);
    ck_assert_ptr_nonnull((f = fopen(f2, "w")));
    fclose(f);
    ck_assert_int_eq(symlink(outside, link), 0);
    ck_assert_int_eq(symlink(tern_check_tmpdir, link_dir), 0);
    ck_assert_msg(tern_remove_tree(top) == 0, "%s", tern_error_message());
    ck_assert_int_eq(lstat(top, &st), -1);
    ck_assert_int_eq(stat(outside, &st), 0); /* what a link pointed at stays */
    ck_assert_int_eq(stat(tern_check_tmpdir, &st), 0);
    ck_assert_int_eq(tern_remove_tree(top), 0);     /* gone already: fine */
    ck_assert_int_eq(tern_remove_tree(outside), 0); /* a plain file too */
    ck_assert_int_eq(stat(outside, &st), -1);
}
END_TEST

/* in_mount_namespace: run fn in a child of its own mount namespace (root, or an unprivileged
 * user namespace); its exit status. */
static int
in_mount_namespace(void (*fn)(void))
{
    pid_t pid = fork();
    int status = -1;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
            _exit(77);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            _exit(78);
        fn();
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static void
remove_across_mount(void)
{
    TERN_AUTOFREE char *top = tern_asprintf("%s/mtree", tern_check_tmpdir);
    TERN_AUTOFREE char *mnt = tern_asprintf("%s/mtree/mnt", tern_check_tmpdir);
    TERN_AUTOFREE char *theirs = tern_asprintf("%s/mtree/mnt/theirs", tern_check_tmpdir);
    struct stat st;
    FILE *f;

    if (tern_mkdir_p(mnt, 0755) < 0 || mount("tern-test", mnt, "tmpfs", 0, NULL) < 0)
        _exit(79);
    if (!(f = fopen(theirs, "w")))
        _exit(80);
    fclose(f);
    /* the tree's own entries go; the mount is not descended into, so its files stay and the
     * removal fails at its mount point */
    if (tern_remove_tree(top) != -1 || tern_error_code() != TERN_ERR_SYSTEM)
        _exit(81);
    if (stat(theirs, &st) < 0)
        _exit(82);
    umount(mnt);
    if (tern_remove_tree(top) != 0 || stat(top, &st) == 0)
        _exit(83);
}

START_TEST(test_util_remove_tree_stays_on_its_file_system)
{
    int status = in_mount_namespace(remove_across_mount);

    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "status %d (77/78: no mount namespace could be had; 79+: see "
                  "remove_across_mount)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
END_TEST

/* Messages carry other programs' output into JSON and logs: valid UTF-8, one line. */
START_TEST(test_util_utf8_sanitize)
{
    char mixed[] = "caf\xc3\xa9 \xff\xfe ok\nnext\tline \xe2\x82\xac \xe2\x82";
    char overlong[] = "\xc0\xaf\xed\xa0\x80";
    char cut[64];

    ck_assert_str_eq(tern_utf8_sanitize(mixed), "caf\xc3\xa9 ?? ok next line \xe2\x82\xac ??");
    ck_assert_str_eq(tern_utf8_sanitize(overlong), "?????");
    /* an error message cut in the middle of a character, and one that carried a newline */
    tern_error_set(TERN_ERR_VIRT, "qemu-img said: \xe2\x82\xac%s", "\nline 2\xff");
    ck_assert_str_eq(tern_error_message(), "qemu-img said: \xe2\x82\xac line 2?");
    memset(cut, 'a', sizeof(cut));
    memcpy(cut + sizeof(cut) - 3, "\xe2\x82", 2);
    cut[sizeof(cut) - 1] = '\0';
    ck_assert_ptr_null(strchr(tern_utf8_sanitize(cut), '\x82'));
    {
        json_t *j = json_string(tern_error_message()); /* jansson takes it: valid UTF-8 */

        ck_assert_ptr_nonnull(j);
        json_decref(j);
    }
}
END_TEST

START_TEST(test_util_file_read_all_and_limit)
{
    TERN_AUTOFREE char *path = write_file("data", "hello\nworld\n");
    TERN_AUTOFREE char *missing = tern_asprintf("%s/missing", tern_check_tmpdir);
    TERN_AUTOFREE char *expected = NULL;
    TERN_AUTOFREE char *data = NULL;
    char *untouched = (char *)"untouched";
    size_t len = 0;

    ck_assert_int_eq(tern_file_read_all(path, 1024, &data, &len), 0);
    ck_assert_str_eq(data, "hello\nworld\n");
    ck_assert_uint_eq(len, 12);
    free(data);
    data = NULL;
    ck_assert_int_eq(tern_file_read_all(path, 12, &data, NULL), 0); /* exactly at the limit */
    free(data);
    data = NULL;

    ck_assert_int_eq(tern_file_read_all(path, 11, &untouched, &len), -1);
    ck_assert_str_eq(untouched, "untouched");
    expected = tern_asprintf("file \"%s\" is larger than 11 bytes", path);
    ck_assert_str_eq(tern_error_message(), expected);
    free(expected);

    ck_assert_int_eq(tern_file_read_all(missing, 1024, &untouched, NULL), -1);
    expected = tern_asprintf("could not open file \"%s\": No such file or directory", missing);
    ck_assert_str_eq(tern_error_message(), expected);
}
END_TEST

START_TEST(test_util_strings)
{
    char buf[4];

    ck_assert_int_eq(tern_strlcpy(buf, "abc", sizeof(buf)), 0);
    ck_assert_str_eq(buf, "abc");
    ck_assert_int_eq(tern_strlcpy(buf, "abcdef", sizeof(buf)), -1);
    ck_assert_str_eq(buf, "abc");
    ck_assert(tern_streq(NULL, NULL));
    ck_assert(!tern_streq("a", NULL));
    ck_assert(tern_streq("a", "a"));
    ck_assert(tern_str_empty(NULL));
    ck_assert(tern_str_empty(""));
    ck_assert(!tern_str_empty(" "));
    ck_assert_ptr_null(tern_strdup(NULL));
}
END_TEST

/* ---- log ---- */

static void
check_mask(const char *url, const char *expected)
{
    TERN_AUTOFREE char *masked = tern_log_mask_url(url);

    ck_assert_msg(tern_streq(masked, expected), "mask(\"%s\") = \"%s\", expected \"%s\"", url,
                  masked ? masked : "(null)", expected);
}

START_TEST(test_log_mask_url)
{
    check_mask("rabbit://guest:secret@localhost:5672/", "rabbit://guest:***@localhost:5672/");
    check_mask("rabbit://a:p1@h1:5672,b:p2@h2:5673,c:p3@h3/vhost",
               "rabbit://a:***@h1:5672,b:***@h2:5673,c:***@h3/vhost");
    check_mask("postgresql://tern:pw@127.0.0.1:5432/tern?sslmode=require",
               "postgresql://tern:***@127.0.0.1:5432/tern?sslmode=require");
    check_mask("rabbit://guest@localhost/", "rabbit://guest@localhost/"); /* no password */
    check_mask("qemu+tcp://198.18.0.11/system", "qemu+tcp://198.18.0.11/system");
    check_mask("", "");
    ck_assert_ptr_null(tern_log_mask_url(NULL));
}
END_TEST

START_TEST(test_log_lines_carry_level_program_and_request_id)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/tern.log", tern_check_tmpdir);
    TERN_AUTOFREE char *data = NULL;

    ck_assert_int_eq(tern_log_open("test-common", TERN_LOG_INFO, path, false), 0);
    ck_assert(!tern_log_enabled(TERN_LOG_DEBUG));
    TERN_DEBUG("not written %d", 1);
    tern_log_set_request_id("req-0f3c");
    ck_assert_str_eq(tern_log_request_id(), "req-0f3c");
    TERN_INFO("migration %s started", "m1");
    tern_log_set_request_id(NULL);
    ck_assert_ptr_null(tern_log_request_id());
    TERN_WARN("no request");
    tern_log_close();

    ck_assert_int_eq(tern_file_read_all(path, 1 << 20, &data, NULL), 0);
    ck_assert_ptr_null(strstr(data, "not written"));
    ck_assert_msg(strstr(data, " INFO test-common [req-0f3c] migration m1 started\n") != NULL,
                  "log file holds: %s", data);
    ck_assert_msg(strstr(data, " WARNING test-common no request\n") != NULL, "log file holds: %s",
                  data);
    /* Each line starts with a "YYYY-MM-DD HH:MM:SS.mmm" time stamp. */
    ck_assert_int_eq(data[4], '-');
    ck_assert_int_eq(data[10], ' ');
    ck_assert_int_eq(data[19], '.');
}
END_TEST

START_TEST(test_log_open_missing_directory_fails)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/no/such/dir/tern.log", tern_check_tmpdir);
    TERN_AUTOFREE char *expected =
        tern_asprintf("could not open log file \"%s\": No such file or directory", path);

    ck_assert_int_eq(tern_log_open("test-common", TERN_LOG_INFO, path, false), -1);
    ck_assert_str_eq(tern_error_message(), expected);
}
END_TEST

/* ---- command ---- */

START_TEST(test_command_exit_zero_captures_output)
{
    const char *const argv[] = {"sh", "-c", "echo out; echo err >&2", NULL};
    tern_command_result_t res = {0};

    ck_assert_int_eq(tern_command_run(argv, 10000, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_str_eq(res.out, "out\n");
    ck_assert_str_eq(res.err, "err\n");
    tern_command_result_clear(&res);
    tern_command_result_clear(NULL);
}
END_TEST

START_TEST(test_command_failure_carries_stderr)
{
    const char *const argv[] = {"sh", "-c", "echo partial; echo 'disk full' >&2; exit 3", NULL};
    tern_command_result_t res = {0};

    ck_assert_int_eq(tern_command_run(argv, 10000, &res), -1);
    ck_assert_str_eq(tern_error_message(), "command \"sh\" failed with status 3: disk full");
    ck_assert_int_eq(res.exit_status, 3);
    ck_assert_str_eq(res.out, "partial\n");
    tern_command_result_clear(&res);
}
END_TEST

START_TEST(test_command_missing_program)
{
    const char *const argv[] = {"/nonexistent/tern-no-such-program", NULL};

    ck_assert_int_eq(tern_command_run(argv, 10000, NULL), -1);
    ck_assert_str_eq(tern_error_message(),
                     "command \"/nonexistent/tern-no-such-program\" failed with status 127: could "
                     "not execute \"/nonexistent/tern-no-such-program\": No such file or "
                     "directory");
}
END_TEST

/* A deadline ms from now: nanoseconds carried into seconds, never 1e9 or more. */
START_TEST(test_util_timespec_after)
{
    struct timespec now, later;

    for (int64_t ms = 0; ms < 2000; ms += 7) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        tern_timespec_after(CLOCK_MONOTONIC, ms, &later);
        ck_assert_int_lt(later.tv_nsec, 1000000000L);
        ck_assert_int_ge(later.tv_nsec, 0);
        /* later - now is ms, give or take the few microseconds between the two reads */
        int64_t diff_us =
            (int64_t)(later.tv_sec - now.tv_sec) * 1000000 + (later.tv_nsec - now.tv_nsec) / 1000;
        ck_assert_int_ge(diff_us, ms * 1000);
        ck_assert_int_lt(diff_us, ms * 1000 + 50000);
    }
}
END_TEST

START_TEST(test_command_timeout_kills)
{
    const char *const argv[] = {"sleep", "30", NULL};
    tern_command_result_t res = {0};
    int64_t start = tern_now_monotonic_ms();

    ck_assert_int_eq(tern_command_run(argv, 200, &res), -1);
    ck_assert_int_lt(tern_now_monotonic_ms() - start, 5000);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_TIMEOUT);
    ck_assert_str_eq(tern_error_message(), "command \"sleep\" did not finish within 200 ms");
    ck_assert_int_eq(res.exit_status, 128 + 9); /* SIGKILL */
    tern_command_result_clear(&res);
}
END_TEST

START_TEST(test_command_argv_passed_verbatim)
{
    /* No shell between us and the program: spaces, quotes, $ and globs arrive as given. */
    const char *const argv[] = {"printf", "[%s]\n", "a b", "it's", "\"q\"", "$HOME", "*", "", NULL};
    tern_command_result_t res = {0};

    ck_assert_int_eq(tern_command_run(argv, 10000, &res), 0);
    ck_assert_str_eq(res.out, "[a b]\n[it's]\n[\"q\"]\n[$HOME]\n[*]\n[]\n");
    tern_command_result_clear(&res);
}
END_TEST

static Suite *
common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *error = tcase_create("error");
    TCase *util = tcase_create("util");
    TCase *log = tcase_create("log");
    TCase *command = tcase_create("command");

    tcase_add_test(error, test_error_set_records_code_message_and_place);
    tcase_add_test(error, test_error_prefix_keeps_code);
    tcase_add_test(error, test_error_remote_mark_kept_by_prefix_and_copy_cleared_by_set);
    tcase_add_test(error, test_error_errno_appends_strerror);
    tcase_add_test(error, test_error_code_names_round_trip);
    tcase_add_test(error, test_error_copy_and_restore);
    tcase_add_test(error, test_error_slot_is_per_thread);
    tcase_add_test(error, test_error_long_message_truncated_not_overflowed);

    tcase_add_checked_fixture(util, tern_check_tmpdir_setup, tern_check_tmpdir_teardown);
    tcase_add_test(util, test_util_parse_int64);
    tcase_add_test(util, test_util_parse_double);
    tcase_add_test(util, test_util_uuid);
    tcase_add_test(util, test_util_mkdir_p);
    tcase_add_test(util, test_util_remove_tree);
    tcase_add_test(util, test_util_utf8_sanitize);
    tcase_add_test(util, test_util_remove_tree_stays_on_its_file_system);
    tcase_add_test(util, test_util_file_read_all_and_limit);
    tcase_add_test(util, test_util_strings);
    tcase_add_test(util, test_util_timespec_after);

    tcase_add_checked_fixture(log, tern_check_tmpdir_setup, tern_check_tmpdir_teardown);
    tcase_add_test(log, test_log_mask_url);
    tcase_add_test(log, test_log_lines_carry_level_program_and_request_id);
    tcase_add_test(log, test_log_open_missing_directory_fails);

    tcase_add_test(command, test_command_exit_zero_captures_output);
    tcase_add_test(command, test_command_failure_carries_stderr);
    tcase_add_test(command, test_command_missing_program);
    tcase_add_test(command, test_command_timeout_kills);
    tcase_add_test(command, test_command_argv_passed_verbatim);

    suite_add_tcase(s, error);
    suite_add_tcase(s, util);
    suite_add_tcase(s, log);
    suite_add_tcase(s, command);
    return s;
}

int
main(void)
{
    return tern_check_run_suite(common_suite(), NULL, NULL);
}
