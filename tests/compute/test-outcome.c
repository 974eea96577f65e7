/*
 * tests/compute/test-outcome.c: the verdict on a migration's guest from both hosts' facts
 * (compute/outcome.h), cell by cell: the facts are fed in, so no host is needed.
 */
#include "compute/outcome.h"
#include "tests/compute/compute_tests.h"

/* Facts by name. */
static const compute_host_facts_t UNKNOWN = {.known = false};
static const compute_host_facts_t ABSENT = {.known = true};
static const compute_host_facts_t RUNNING = {
    .known = true, .exists = true, .state = VIRT_STATE_RUNNING};
static const compute_host_facts_t PAUSED = {
    .known = true, .exists = true, .state = VIRT_STATE_PAUSED, .pause_reason = "migration"};
static const compute_host_facts_t STOPPED = {
    .known = true, .exists = true, .state = VIRT_STATE_SHUTOFF};
static const compute_host_facts_t MIGRATING = {
    .known = true, .exists = true, .state = VIRT_STATE_RUNNING, .job_active = true};
static const compute_host_facts_t RECEIVING = {.known = true,
                                               .exists = true,
                                               .state = VIRT_STATE_PAUSED,
                                               .pause_reason = "migration",
                                               .job_active = true};
/* What libvirt 11.3 reported on the testbed in post-copy: the source paused with its job, the
 * destination running; after the stream broke, both "post-copy failed" (the destination still
 * running, its vCPUs stalled on missing pages), the source's job possibly still there. */
static const compute_host_facts_t PC_SOURCE = {.known = true,
                                               .exists = true,
                                               .state = VIRT_STATE_PAUSED,
                                               .pause_reason = "postcopy",
                                               .job_active = true,
                                               .postcopy = VIRT_POSTCOPY_ACTIVE};
static const compute_host_facts_t PC_DEST = {.known = true,
                                             .exists = true,
                                             .state = VIRT_STATE_RUNNING,
                                             .job_active = true,
                                             .postcopy = VIRT_POSTCOPY_ACTIVE};
static const compute_host_facts_t PC_SOURCE_FAILED = {.known = true,
                                                      .exists = true,
                                                      .state = VIRT_STATE_PAUSED,
                                                      .pause_reason = "postcopy-failed",
                                                      .job_active = true,
                                                      .postcopy = VIRT_POSTCOPY_FAILED};
static const compute_host_facts_t PC_SOURCE_FAILED_NO_JOB = {.known = true,
                                                             .exists = true,
                                                             .state = VIRT_STATE_PAUSED,
                                                             .pause_reason = "postcopy-failed",
                                                             .postcopy = VIRT_POSTCOPY_FAILED};
static const compute_host_facts_t PC_DEST_FAILED = {
    .known = true, .exists = true, .state = VIRT_STATE_RUNNING, .postcopy = VIRT_POSTCOPY_FAILED};

typedef struct cell {
    const char *name;
    const compute_host_facts_t *here, *there;
    bool post_copy;
    compute_outcome_t want;
    bool resumes;
} cell_t;

static const cell_t cells[] = {
    {"source migrating, destination absent", &MIGRATING, &ABSENT, false, COMPUTE_OUTCOME_WAIT,
     false},
    {"source migrating, destination receiving", &MIGRATING, &RECEIVING, false, COMPUTE_OUTCOME_WAIT,
     false},
    {"source migrating, destination unknown", &MIGRATING, &UNKNOWN, false, COMPUTE_OUTCOME_WAIT,
     false},
    {"source unknown", &UNKNOWN, &RUNNING, false, COMPUTE_OUTCOME_WAIT, false},
    {"source running, destination absent", &RUNNING, &ABSENT, false, COMPUTE_OUTCOME_ROLLBACK,
     false},
    {"source running, destination paused", &RUNNING, &PAUSED, false, COMPUTE_OUTCOME_ROLLBACK,
     false},
    {"source running, destination running", &RUNNING, &RUNNING, false, COMPUTE_OUTCOME_OPERATOR,
     false},
    {"source running, destination unknown", &RUNNING, &UNKNOWN, false, COMPUTE_OUTCOME_ROLLBACK,
     false},
    {"source paused, destination absent", &PAUSED, &ABSENT, false, COMPUTE_OUTCOME_ROLLBACK, true},
    {"source paused, destination paused", &PAUSED, &PAUSED, false, COMPUTE_OUTCOME_OPERATOR, false},
    {"source paused, destination receiving", &PAUSED, &RECEIVING, false, COMPUTE_OUTCOME_WAIT,
     false},
    {"source paused, destination running", &PAUSED, &RUNNING, false, COMPUTE_OUTCOME_FINISH, false},
    {"source paused, destination unknown", &PAUSED, &UNKNOWN, false, COMPUTE_OUTCOME_WAIT, false},
    {"source paused in post-copy, destination paused", &PAUSED, &PAUSED, true,
     COMPUTE_OUTCOME_OPERATOR, false},
    {"source stopped, destination absent", &STOPPED, &ABSENT, false, COMPUTE_OUTCOME_ROLLBACK,
     false},
    {"source stopped, destination paused", &STOPPED, &PAUSED, false, COMPUTE_OUTCOME_OPERATOR,
     false},
    {"source stopped, destination running", &STOPPED, &RUNNING, false, COMPUTE_OUTCOME_FINISH,
     false},
    {"source stopped, destination unknown", &STOPPED, &UNKNOWN, false, COMPUTE_OUTCOME_WAIT, false},
    {"source absent, destination absent", &ABSENT, &ABSENT, false, COMPUTE_OUTCOME_LOST, false},
    {"source absent, destination paused", &ABSENT, &PAUSED, false, COMPUTE_OUTCOME_WAIT, false},
    {"source absent, destination receiving", &ABSENT, &RECEIVING, false, COMPUTE_OUTCOME_WAIT,
     false},
    {"source absent, destination paused after post-copy", &ABSENT, &PAUSED, true,
     COMPUTE_OUTCOME_OPERATOR, false},
    {"source absent, destination running", &ABSENT, &RUNNING, false, COMPUTE_OUTCOME_FINISH, false},
    {"source absent, destination unknown", &ABSENT, &UNKNOWN, false, COMPUTE_OUTCOME_WAIT, false},
    /* post-copy: a running job waits; a broken stream on either host leaves both untouched -
     * the destination "runs" the guest, yet finishing would destroy the memory only the source
     * holds */
    {"post-copy under way", &PC_SOURCE, &PC_DEST, true, COMPUTE_OUTCOME_WAIT, false},
    {"post-copy under way, destination unknown", &PC_SOURCE, &UNKNOWN, true, COMPUTE_OUTCOME_WAIT,
     false},
    {"post-copy broke on the source, destination still streaming", &PC_SOURCE_FAILED, &PC_DEST,
     true, COMPUTE_OUTCOME_POSTCOPY_BROKEN, false},
    {"post-copy broke on both hosts", &PC_SOURCE_FAILED, &PC_DEST_FAILED, true,
     COMPUTE_OUTCOME_POSTCOPY_BROKEN, false},
    {"post-copy broke, source job gone, destination running", &PC_SOURCE_FAILED_NO_JOB,
     &PC_DEST_FAILED, true, COMPUTE_OUTCOME_POSTCOPY_BROKEN, false},
    {"post-copy broke, the source's hypervisor unknown", &UNKNOWN, &PC_DEST_FAILED, true,
     COMPUTE_OUTCOME_POSTCOPY_BROKEN, false},
    {"post-copy broke, destination unknown", &PC_SOURCE_FAILED_NO_JOB, &UNKNOWN, true,
     COMPUTE_OUTCOME_POSTCOPY_BROKEN, false},
    {"post-copy broke, record not yet saying post-copy", &PC_SOURCE_FAILED_NO_JOB, &PC_DEST_FAILED,
     false, COMPUTE_OUTCOME_POSTCOPY_BROKEN, false},
};

START_TEST(test_outcome_cell)
{
    const cell_t *c = &cells[_i];
    const char *why = NULL;
    compute_outcome_t got = compute_judge_outcome(c->here, c->there, c->post_copy, &why);

    ck_assert_msg(got == c->want, "%s: got \"%s\" (%s), want \"%s\"", c->name,
                  compute_outcome_name(got), why, compute_outcome_name(c->want));
    ck_assert_msg(why && *why, "%s: no reason given", c->name);
    ck_assert_msg(compute_outcome_resumes_source(got, c->here) == c->resumes,
                  "%s: resumes the source: %d, want %d", c->name,
                  compute_outcome_resumes_source(got, c->here), c->resumes);
}
END_TEST

/* Never resume what libvirt may have paused on purpose: of every cell, only a rollback with the
 * destination known not to hold the guest resumes the source. */
START_TEST(test_outcome_resumes_only_when_destination_known_empty)
{
    for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
        compute_outcome_t got =
            compute_judge_outcome(cells[i].here, cells[i].there, cells[i].post_copy, NULL);

        if (compute_outcome_resumes_source(got, cells[i].here))
            ck_assert_msg(cells[i].there->known && !cells[i].there->exists,
                          "%s: resumes the source without knowing the destination", cells[i].name);
    }
}
END_TEST

TCase *
compute_outcome_tcase(void)
{
    TCase *tc = tcase_create("outcome");

    tcase_add_loop_test(tc, test_outcome_cell, 0, (int)(sizeof(cells) / sizeof(cells[0])));
    tcase_add_test(tc, test_outcome_resumes_only_when_destination_known_empty);
    return tc;
}
