/*
 * db/capacity.h: how much of a compute node a request may take - tern's one capacity rule.
 *
 * For each resource (memory in MiB, vCPUs, disk in GiB) of a node's last report:
 *
 *   usable = floor((total - reserved) x allocation_ratio)      (nova's, placement's capacity)
 *   a request fits when  used + claimed + request <= usable   (a resource asked 0 always fits)
 *
 * "claimed" is what the in-flight migrations' claims hold on the node (db/claims.h). Claims
 * (db_claim_take) decide with this rule under the node's row lock; the conductor's checks and
 * the scheduler preview the same decision (db_claim_preview) without taking anything.
 * Pure functions: no database access. Inputs are borrowed.
 */
#ifndef TERN_DB_CAPACITY_H
#define TERN_DB_CAPACITY_H

#include <stdint.h>

typedef struct db_resources {
    int64_t memory_mb;
    int64_t vcpus;
    int64_t disk_gb;
} db_resources_t;

/* After the type: db/db.h includes this header and db/claims.h, which uses the type. */
#include "db/compute_nodes.h"

/* 0 when request fits on node with claimed already held there; else CHECK_FAILED naming the
 * host, the node, for_what ("instance \"U\"", "migration \"M\"") and the first resource that
 * does not fit with every figure of the rule, e.g.
 *   host "h2" node "h2" cannot take instance "U": 1100 MiB of memory needed, 1024 MiB free
 *   (0 used and 0 claimed of 1024 MiB usable: (1536 - 512 reserved) x 1) */
int db_capacity_fits(const db_compute_node_t *node, const db_resources_t *claimed,
                     const db_resources_t *request, const char *for_what);

/* What is left of each resource on node with claimed held (may be negative when overcommitted
 * by a report that came after the claims). */
void db_capacity_free(const db_compute_node_t *node, const db_resources_t *claimed,
                      db_resources_t *ret_free);

#endif /* TERN_DB_CAPACITY_H */
