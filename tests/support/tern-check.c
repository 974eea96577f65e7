/*
 * tests/support/tern-check.c: the runner every suite's main() calls (tern-check.h).
 */
#include "tests/support/tern-check.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

/* LeakSanitizer's suppressions for every suite (read only by a --enable-sanitizers build): what
 * libtirpc's xdr_string allocates while libvirt decodes an RPC message, which libvirt keeps or
 * loses, not tern (5 bytes, once, in tests/virt's test_driver_used_by_threads_at_once, with no
 * tern frame on the stack). Every other leak still fails the suite. */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
    return "leak:xdr_string\n";
}

int
tern_check_run(const char *name, const tern_check_case_fn *cases, size_t n, int (*prepare)(void),
               void (*release)(void))
{
    Suite *s = suite_create(name);

    for (size_t i = 0; i < n; i++)
        suite_add_tcase(s, cases[i]());
    return tern_check_run_suite(s, prepare, release);
}

int
tern_check_run_suite(Suite *s, int (*prepare)(void), void (*release)(void))
{
    SRunner *sr = srunner_create(s);
    int failed;

    if (prepare && prepare() < 0) {
        fprintf(stderr, "could not prepare the suite: %s\n", tern_error_message());
        srunner_free(sr);
        return EXIT_FAILURE;
    }
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (release)
        release();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

bool
tern_check_case_runs(const char *name)
{
    const char *only = getenv("CK_RUN_CASE");

    return !only || !*only || strcmp(only, name) == 0;
}

char tern_check_tmpdir[64];

void
tern_check_tmpdir_setup(void)
{
    tern_strlcpy(tern_check_tmpdir, "/tmp/tern-test-XXXXXX", sizeof(tern_check_tmpdir));
    ck_assert_msg(mkdtemp(tern_check_tmpdir) != NULL, "could not create a directory in /tmp");
}

void
tern_check_tmpdir_teardown(void)
{
    ck_assert_msg(tern_remove_tree(tern_check_tmpdir) == 0, "could not remove \"%s\": %s",
                  tern_check_tmpdir, tern_error_message());
}
