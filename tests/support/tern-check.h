/*
 * tests/support/tern-check.h: what every Check suite of tern shares - assertions on tern's
 * error slot and the one runner main() calls.
 *
 *   CK_OK(expr)                   expr returns 0; else the failure names expr and tern's error
 *   CK_FAILS(expr, code)          expr fails (< 0 / -1) with that tern_error_code_t
 *   CK_FAILS_WITH(expr, code, s)  ... and its message contains s
 *   CK_MSG_HAS(s)                 the current error message contains s
 *   tern_check_run(name, cases)   run the area's suite as `make check` does; the exit status
 *   tern_check_run_suite(s, ...)  the same for a suite built by hand
 *   tern_check_tmpdir_setup/_teardown  a checked fixture: a fresh directory per test,
 *                                 tern_check_tmpdir (Check forks each test: no races)
 *   tern_check_case_runs(name)    whether this run includes case name (CK_RUN_CASE), so that a
 *                                 runner starts the services of a case only when it runs
 *
 * One runner per area (tests/<area>/test-<area>): each case file exports `TCase *
 * <area>_<case>_tcase(void)`, the runner adds them to one suite named after the area.
 * Check's own variables select what runs: CK_RUN_CASE=name, CK_VERBOSITY=verbose, CK_FORK=no
 * (under a debugger).
 */
#ifndef TERN_TESTS_SUPPORT_CHECK_H
#define TERN_TESTS_SUPPORT_CHECK_H

#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "common/error.h"

#define CK_OK(expr) ck_assert_msg((expr) == 0, "%s failed: %s", #expr, tern_error_message())

#define CK_FAILS(expr, code)                                                                       \
    do {                                                                                           \
        tern_error_reset();                                                                        \
        ck_assert_msg((expr) < 0, "%s succeeded, expected %s", #expr, tern_error_code_name(code)); \
        ck_assert_msg(tern_error_code() == (code), "%s: expected %s, got %s: %s", #expr,           \
                      tern_error_code_name(code), tern_error_code_name(tern_error_code()),         \
                      tern_error_message());                                                       \
    } while (0)

#define CK_MSG_HAS(needle)                                        \
    ck_assert_msg(strstr(tern_error_message(), (needle)) != NULL, \
                  "error message \"%s\" does not contain \"%s\"", tern_error_message(), (needle))

#define CK_FAILS_WITH(expr, code, needle) \
    do {                                  \
        CK_FAILS(expr, code);             \
        CK_MSG_HAS(needle);               \
    } while (0)

/* The cases of one area, in the order they run. */
typedef TCase *(*tern_check_case_fn)(void);

/* Run the suite named name made of the cases (n of them), as `make check` wants it: every
 * test's result printed (CK_NORMAL unless CK_VERBOSITY says otherwise); EXIT_SUCCESS when all
 * passed, EXIT_FAILURE otherwise. prepare (may be NULL) runs first, in the parent, before any
 * test forks (services shared by the forks); a prepare that fails fails the run, never skips it.
 * release (may be NULL) runs last. */
int tern_check_run(const char *name, const tern_check_case_fn *cases, size_t n,
                   int (*prepare)(void), void (*release)(void));

/* The same for a suite already built (its cases added by the caller). */
int tern_check_run_suite(Suite *s, int (*prepare)(void), void (*release)(void));

/* A checked fixture (tcase_add_checked_fixture): a new directory under /tmp for each test, its
 * path in tern_check_tmpdir; removed with all it holds after the test. */
extern char tern_check_tmpdir[64];
void tern_check_tmpdir_setup(void);
void tern_check_tmpdir_teardown(void);

/* Whether this run includes the case named name (CK_RUN_CASE unset, or name). */
bool tern_check_case_runs(const char *name);

#endif /* TERN_TESTS_SUPPORT_CHECK_H */
