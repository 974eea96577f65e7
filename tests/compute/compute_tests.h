/*
 * tests/compute/compute_tests.h: the cases of the compute suite (tests/compute/test-compute).
 */
#ifndef TERN_TESTS_COMPUTE_TESTS_H
#define TERN_TESTS_COMPUTE_TESTS_H

#include "tests/support/tern-check.h"

TCase *compute_queue_tcase(void);        /* test-migration-queue.c: bounded concurrency */
TCase *compute_migrate_data_tcase(void); /* test-migrate-data.c: the contract between hosts */
TCase *compute_outcome_tcase(void);      /* test-outcome.c: the verdict from both hosts' facts */
TCase *compute_hooks_tcase(void);        /* test-hooks.c: migration hooks, with real scripts */
TCase *compute_volumes_tcase(void);      /* test-volumes.c: volumes only from the roots */

#endif /* TERN_TESTS_COMPUTE_TESTS_H */
