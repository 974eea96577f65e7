/*
 * tests/conductor/conductor_tests.h: the cases of the conductor suite (tests/conductor/
 * test-conductor).
 */
#ifndef TERN_TESTS_CONDUCTOR_TESTS_H
#define TERN_TESTS_CONDUCTOR_TESTS_H

#include "tests/support/tern-check.h"

TCase *conductor_policy_tcase(void);    /* test-policy.c: the policy file (unit) */
TCase *conductor_checks_tcase(void);    /* test-checks.c: checks and scheduler that pass (service:
                                        * PostgreSQL) */
TCase *conductor_refusals_tcase(void);  /* test-checks.c: each check's refusal (service) */
TCase *conductor_ratelimit_tcase(void); /* test-ratelimit.c: per-identity buckets (unit) */
TCase *conductor_validate_tcase(void);  /* test-validate.c: arguments checked without a database
                                        * (unit) */

#endif /* TERN_TESTS_CONDUCTOR_TESTS_H */
