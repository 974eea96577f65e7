/*
 * tests/conductor/test-conductor.c: the runner of the conductor suite (conductor/): the policy
 * (unit), the checks and the scheduler against a real PostgreSQL (tests/harness), started or
 * attached to in this, the parent, process only when those cases run.
 */
#include <stdlib.h>

#include "common/util.h"
#include "tests/conductor/conductor_tests.h"
#include "tests/harness/harness.h"

static int
prepare(void)
{
    if (tern_check_case_runs("checks") || tern_check_case_runs("refusals"))
        harness_services_get(); /* aborts, naming the service, when one cannot start */
    return 0;
}

int
main(void)
{
    static const tern_check_case_fn cases[] = {conductor_policy_tcase, conductor_ratelimit_tcase,
                                               conductor_validate_tcase, conductor_checks_tcase,
                                               conductor_refusals_tcase};

    return tern_check_run("conductor", cases, TERN_N_ELEMENTS(cases), prepare, NULL);
}
