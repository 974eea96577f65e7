/*
 * tests/compute/test-compute.c: the runner of the compute suite (compute/, unit cases): the
 * migration queue, the typed migrate data, the outcome table and the migration hooks. The
 * handlers end to end:
 * tests/integration/run-compute-contract.
 */
#include <stdlib.h>

#include "common/util.h"
#include "tests/compute/compute_tests.h"

int
main(void)
{
    static const tern_check_case_fn cases[] = {compute_queue_tcase, compute_migrate_data_tcase,
                                               compute_outcome_tcase, compute_hooks_tcase,
                                               compute_volumes_tcase};

    return tern_check_run("compute", cases, TERN_N_ELEMENTS(cases), NULL, NULL);
}
