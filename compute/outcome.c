/*
 * compute/outcome.c: the verdict on a migration's guest from both hosts' facts (the table in
 * compute/outcome.h).
 */
#include "compute/outcome.h"

static const char *const outcome_names[] = {
    [COMPUTE_OUTCOME_WAIT] = "wait",     [COMPUTE_OUTCOME_ROLLBACK] = "roll back",
    [COMPUTE_OUTCOME_FINISH] = "finish", [COMPUTE_OUTCOME_OPERATOR] = "needs an operator",
    [COMPUTE_OUTCOME_LOST] = "lost",     [COMPUTE_OUTCOME_POSTCOPY_BROKEN] = "post-copy broke",
};

const char *
compute_outcome_name(compute_outcome_t outcome)
{
    if ((int)outcome < 0 || outcome > COMPUTE_OUTCOME_POSTCOPY_BROKEN)
        return "unknown";
    return outcome_names[outcome];
}

/* judge_running_source: the source runs the guest: libvirt never handed it over. */
static compute_outcome_t
judge_running_source(const compute_host_facts_t *there, const char **why)
{
    if (there->known && there->exists && there->state == VIRT_STATE_RUNNING) {
        *why = "the guest runs on both hosts";
        return COMPUTE_OUTCOME_OPERATOR;
    }
    *why = "the guest runs on the source only";
    return COMPUTE_OUTCOME_ROLLBACK;
}

/* judge_paused_source: paused (or stopped) here - libvirt's "outcome unknown" - so only the
 * destination's answer decides. */
static compute_outcome_t
judge_paused_source(const compute_host_facts_t *there, const char **why)
{
    if (!there->known) {
        *why = "the source is paused and the destination cannot be asked";
        return COMPUTE_OUTCOME_WAIT;
    }
    if (!there->exists) {
        *why = "the source is paused and the destination does not hold the guest";
        return COMPUTE_OUTCOME_ROLLBACK;
    }
    if (there->state == VIRT_STATE_RUNNING) {
        *why = "the destination runs the guest; the copy on the source is stale";
        return COMPUTE_OUTCOME_FINISH;
    }
    if (there->job_active) {
        *why = "the destination is still receiving the guest";
        return COMPUTE_OUTCOME_WAIT;
    }
    *why = "the guest is paused on both hosts";
    return COMPUTE_OUTCOME_OPERATOR;
}

/* judge_absent_source: the domain left the source: libvirt confirmed the hand-over, or the
 * guest died here. */
static compute_outcome_t
judge_absent_source(const compute_host_facts_t *there, bool post_copy, const char **why)
{
    if (!there->known) {
        *why = "the guest left the source and the destination cannot be asked";
        return COMPUTE_OUTCOME_WAIT;
    }
    if (!there->exists) {
        *why = "the guest is on neither host";
        return COMPUTE_OUTCOME_LOST;
    }
    if (there->state == VIRT_STATE_RUNNING) {
        *why = "the destination runs the guest";
        return COMPUTE_OUTCOME_FINISH;
    }
    if (post_copy || there->job_active) {
        *why = post_copy ? "post-copy stopped with the guest paused on the destination"
                         : "the destination is still receiving the guest";
        return post_copy ? COMPUTE_OUTCOME_OPERATOR : COMPUTE_OUTCOME_WAIT;
    }
    *why = "the guest left the source and is not running on the destination";
    return COMPUTE_OUTCOME_WAIT;
}

compute_outcome_t
compute_judge_outcome(const compute_host_facts_t *here, const compute_host_facts_t *there,
                      bool post_copy, const char **ret_why)
{
    const char *why = "";
    compute_outcome_t outcome;

    if ((here->known && here->postcopy == VIRT_POSTCOPY_FAILED) ||
        (there->known && there->postcopy == VIRT_POSTCOPY_FAILED)) {
        why = "the post-copy stream broke: the destination runs the guest, the source holds the "
              "part of its memory not yet sent";
        outcome = COMPUTE_OUTCOME_POSTCOPY_BROKEN;
    } else if (!here->known) {
        why = "the source's hypervisor cannot be asked";
        outcome = COMPUTE_OUTCOME_WAIT;
    } else if (here->exists && here->job_active) {
        why = "libvirt is still migrating the guest";
        outcome = COMPUTE_OUTCOME_WAIT;
    } else if (!here->exists) {
        outcome = judge_absent_source(there, post_copy, &why);
    } else if (here->state == VIRT_STATE_RUNNING) {
        outcome = judge_running_source(there, &why);
    } else if (!there->known || !there->exists || there->state == VIRT_STATE_RUNNING) {
        outcome = judge_paused_source(there, &why); /* paused, stopped, crashed */
    } else if (here->state != VIRT_STATE_PAUSED) {
        why = "the guest is stopped on the source and paused on the destination";
        outcome = COMPUTE_OUTCOME_OPERATOR;
    } else {
        outcome = judge_paused_source(there, &why);
    }
    if (ret_why)
        *ret_why = why;
    return outcome;
}

bool
compute_outcome_resumes_source(compute_outcome_t outcome, const compute_host_facts_t *here)
{
    return outcome == COMPUTE_OUTCOME_ROLLBACK && here->exists && here->state == VIRT_STATE_PAUSED;
}
