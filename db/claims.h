/*
 * db/claims.h: resource claims held on a destination node by in-flight migrations.
 *
 * Before preparing the destination, the conductor claims the instance's memory (and vcpus, and
 * disk for a block migration) on the destination node. db_claim_take() runs in one transaction
 * that locks the node's compute_nodes row (SELECT ... FOR UPDATE), so concurrent claims on the
 * same node serialise and each sees the others. A claim is refused when it does not fit by the
 * one rule of db/capacity.h (for any resource the request asks for, > 0):
 *
 *   used + other claims + request > floor((total - reserved) * allocation_ratio)
 *
 * with total/ratio/reserved from the node's last report (db/compute_nodes.h) and used summed
 * from the instances table, in the same statement (one snapshot) as the other claims, after the
 * row lock. "Other claims" are the node's claims whose migration is not final. A completed
 * migration's claim stops counting at the switch-over, the transaction that moves the instance
 * (and so its figures) to the node; claims of failed/cancelled/error migrations no longer count
 * either; db_claim_release() deletes a migration's claims (clean-up).
 *
 * Ownership: db_claim_t owns its strings (db_claim_clear()); lists are new arrays
 * (db_claim_list_free()). Inputs are borrowed.
 */
#ifndef TERN_DB_CLAIMS_H
#define TERN_DB_CLAIMS_H

#include "db/capacity.h"
#include "db/db.h"

typedef struct db_claim_request {
    const char *migration_uuid; /* the migration holding the claim (must exist) */
    const char *host;           /* destination host */
    const char *node;           /* destination node; NULL: the host's only node */
    int64_t memory_mb;
    int vcpus;
    int64_t disk_gb;
} db_claim_request_t;

typedef struct db_claim {
    int64_t id;
    char migration_uuid[DB_UUID_LEN];
    char instance_uuid[DB_UUID_LEN];
    char *host;
    char *node;
    int64_t memory_mb;
    int vcpus;
    int64_t disk_gb;
    int64_t created_ms;
    bool counts; /* still counted by db_claim_take() (migration not final); false: left over,
                  * awaiting db_claim_release() */
} db_claim_t;

void db_claim_clear(db_claim_t *claim);
void db_claim_list_free(db_claim_t *list, size_t count);

/* Take a claim (see above). CHECK_FAILED naming host, node and the numbers when it would
 * overcommit; NOT_FOUND when the node or migration does not exist; CONFLICT when the migration
 * already holds a claim on that node. ret_claim may be NULL. Not retried (a transaction). */
int db_claim_take(db_conn_t *conn, const db_claim_request_t *req, db_claim_t *ret_claim);

/* What db_claim_take would decide for request on host's node (NULL: its only node), without
 * locking or claiming anything: the conductor's checks and the scheduler preview a claim with
 * it (the decision is db/capacity.h's rule in both). 0 when it fits, CHECK_FAILED with
 * db_capacity_fits' message (naming for_what) when not, NOT_FOUND / CONFLICT for the node as
 * db_claim_take. ret_free (may be NULL) receives what is left before the request. Read,
 * retried. */
int db_claim_preview(db_conn_t *conn, const char *host, const char *node,
                     const db_resources_t *request, const char *for_what, db_resources_t *ret_free);

/* Delete every claim of a migration; *ret_released (may be NULL) = how many. Releasing a
 * migration without claims succeeds. Idempotent, retried. */
int db_claim_release(db_conn_t *conn, const char *migration_uuid, int *ret_released);

/* Claims on a host's nodes (node NULL: all nodes; host NULL: everywhere), ordered by id, both
 * those that still count and left-overs (see db_claim_t.counts). Read, retried. */
int db_claim_list(db_conn_t *conn, const char *host, const char *node, db_claim_t **ret_list,
                  size_t *ret_count);

#endif /* TERN_DB_CLAIMS_H */
