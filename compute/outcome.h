/*
 * compute/outcome.h: where a migration that did not end cleanly left its guest, judged from facts
 * - what libvirt reports on the source and on the destination - never from what tern last
 * believed. The source's job calls it after a failed libvirt job, recovery after a restart, and
 * both act only on its verdict:
 *
 *   source \ destination | absent        paused           running        cannot be asked
 *   ---------------------+------------------------------------------------------------------
 *   migrating (job)      | wait          wait             wait           wait
 *   running              | roll back     roll back        OPERATOR       roll back
 *   paused               | roll back (1) OPERATOR (2)     finish (3)     wait
 *   stopped              | roll back     OPERATOR         finish (3)     wait
 *   absent               | LOST          wait (2)         finish         wait
 *
 *   Before the table: either host saying "post-copy failed" is POSTCOPY BROKEN, whatever the
 *   other says or whether a job still runs. The stream broke after the switch: the destination
 *   runs the guest's CPUs, the source holds the memory not yet sent, and neither copy is whole.
 *   Only VIR_MIGRATE_POSTCOPY_RESUME could join them; with libvirt 11.3 that call crashes the
 *   destination's libvirtd (a NULL fd pointer in the resume's Prepare, qemuProcessIncomingDefNew)
 *   and the guest is lost, so tern never makes it: both hosts are left as they are.
 *
 *   (1) the only case where the source is resumed: the destination is known not to hold it
 *   (2) after post-copy began, or once waiting has lasted too long: OPERATOR
 *   (3) the destination runs it; the copy here is stale and is destroyed, never resumed
 *
 * A running source means libvirt never handed the guest over (it resumes the source only when
 * the destination failed to take it), so the destination's copy - incoming and paused - is a
 * leftover the rollback removes, reachable or not (then it is marked for later). A paused source
 * is what libvirt leaves when it cannot confirm the outcome: it is judged only with the
 * destination's answer. OPERATOR: both hosts hold the guest and neither may be touched.
 *
 * Pure functions, no state.
 */
#ifndef TERN_COMPUTE_OUTCOME_H
#define TERN_COMPUTE_OUTCOME_H

#include <stdbool.h>

#include "compute/virt/virt.h"

/* What one host says about the instance's domain. */
typedef struct compute_host_facts {
    bool known;  /* false: the host could not be asked */
    bool exists; /* a domain of the instance is defined or running there */
    virt_state_t state;
    const char *pause_reason; /* when paused: "user", "migration", "postcopy", ... (static) */
    bool job_active;          /* libvirt runs a job (a migration) on it */
    virt_postcopy_t postcopy; /* where it stands in a post-copy migration */
} compute_host_facts_t;

typedef enum {
    COMPUTE_OUTCOME_WAIT = 0, /* libvirt is still at it, or a host cannot be asked: look again */
    COMPUTE_OUTCOME_ROLLBACK, /* the guest runs (or stays) on the source only */
    COMPUTE_OUTCOME_FINISH,   /* the guest runs on the destination: switch over, clean up */
    COMPUTE_OUTCOME_OPERATOR, /* on both hosts: leave both untouched, report it */
    COMPUTE_OUTCOME_LOST,     /* on neither host */
    COMPUTE_OUTCOME_POSTCOPY_BROKEN, /* post-copy's stream broke: the guest is split between
                                      * the hosts; leave both untouched, report postcopy-paused */
} compute_outcome_t;

/* The verdict for source facts `here` and destination facts `there`; post_copy: the migration
 * switched to post-copy (the destination's paused guest is then the only complete one).
 * *ret_why is a static text saying what was seen. */
compute_outcome_t compute_judge_outcome(const compute_host_facts_t *here,
                                        const compute_host_facts_t *there, bool post_copy,
                                        const char **ret_why);

const char *compute_outcome_name(compute_outcome_t outcome); /* "wait", "roll back", ... */

/* Whether the source may be resumed under this verdict: a rollback with the source paused. */
bool compute_outcome_resumes_source(compute_outcome_t outcome, const compute_host_facts_t *here);

#endif /* TERN_COMPUTE_OUTCOME_H */
