/*
 * conductor/checks.h: the live-migration checks, one function per check.
 *
 * Each check either returns 0 or fails with TERN_ERR_CHECK_FAILED (or NOT_FOUND / INVALID for
 * what does not exist or is malformed) and a message naming the check's subject, e.g.
 *   host "host2" cannot take instance "0f3c...": 512 MiB of memory free, 1024 MiB needed
 * Checks change nothing; the claim and the task_state transition that follow them are atomic.
 */
#ifndef TERN_CONDUCTOR_CHECKS_H
#define TERN_CONDUCTOR_CHECKS_H

#include <jansson.h>

#include "conductor/conductor.h"
#include "conductor/validate.h" /* conductor_check_parameters: the first check */

/* Look the instance up by uuid or, failing that, by unique name. */
int conductor_find_instance(db_conn_t *db, const char *ref, db_instance_t *ret_instance);

int conductor_check_instance_running(const db_instance_t *inst);
int conductor_check_source_up(conductor_t *cond, db_conn_t *db, const db_instance_t *inst);
int conductor_check_destination_exists(db_conn_t *db, const char *host);
int conductor_check_destination_up(conductor_t *cond, db_conn_t *db, const char *host);
int conductor_check_hosts_differ(const db_instance_t *inst, const char *host);
/* The claim this migration would take on dest - the instance's memory and vCPUs, and its
 * disk when with_disk (a block migration, or one that may become one) - previewed with the
 * claim's own rule (db_claim_preview, db/capacity.h). *ret_free (may be NULL): what dest has
 * left before it, for the scheduler's weighing. */
int conductor_check_destination_resources(db_conn_t *db, const db_instance_t *inst,
                                          const db_compute_node_t *dest, bool with_disk,
                                          db_resources_t *ret_free);
/* The resources a migration of inst claims on its destination (with_disk: its root disk too). */
void conductor_migration_needs(const db_instance_t *inst, bool with_disk, db_resources_t *ret);
int conductor_check_hypervisor_compatible(const db_instance_t *inst,
                                          const db_compute_node_t *source,
                                          const db_compute_node_t *dest);

#endif /* TERN_CONDUCTOR_CHECKS_H */
