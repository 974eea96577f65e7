/*
 * conductor/scheduler.h: choosing a destination when the operator names none.
 *
 * conductor_select_destinations() runs every conductor-side check as a filter over the compute
 * nodes and weighs the survivors by the memory they have left once claims are counted
 * (db_claim_preview: the claim's own rule; most free first). The live-migration task then
 * tries them in that order, moving to the next when a host-side check or the claim fails.
 */
#ifndef TERN_CONDUCTOR_SCHEDULER_H
#define TERN_CONDUCTOR_SCHEDULER_H

#include <stddef.h>

#include "conductor/conductor.h"

/* Candidate hosts for inst (coming from source), best first: a new array of new strings
 * (conductor_hosts_free). with_disk: the claim will include the root disk (block migration).
 * NOT_FOUND-free: when no host passes, -1 with CHECK_FAILED listing each host and why it was
 * filtered out. */
int conductor_select_destinations(conductor_t *cond, db_conn_t *db, const db_instance_t *inst,
                                  const db_compute_node_t *source, bool with_disk,
                                  char ***ret_hosts, size_t *ret_n);

void conductor_hosts_free(char **hosts, size_t n);

#endif /* TERN_CONDUCTOR_SCHEDULER_H */
