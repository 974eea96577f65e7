/*
 * db/compute_nodes.h: the compute_nodes table, the resource report of each hypervisor node.
 *
 * tern-compute reports its node periodically (through the conductor, which owns the database
 * connection); (host, hypervisor_hostname) identify a node. The claim check (db/claims.h) reads
 * the totals, ratios, reservations and "used" figures from here: usable memory is
 * (memory_mb - reserved_host_memory_mb) * ram_allocation_ratio (db/capacity.h), and
 * memory_mb_used counts what the node's instances use (excluding the reservation); likewise for
 * vcpus and local_gb. The *_used figures are not stored: every read sums them from the instances
 * table (live instances whose host is the node's), so they are never staler than the database;
 * an upsert ignores them.
 *
 * Ownership: db_compute_node_t owns its strings and one reference to cpu_info
 * (db_compute_node_clear()); db_compute_node_list() returns a new array
 * (db_compute_node_list_free()). The report given to db_compute_node_upsert() is borrowed.
 */
#ifndef TERN_DB_COMPUTE_NODES_H
#define TERN_DB_COMPUTE_NODES_H

#include <jansson.h>

#include "db/db.h"

typedef struct db_compute_node {
    int64_t id;                 /* set by the database (ignored by upsert) */
    char *host;                 /* service host name */
    char *hypervisor_hostname;  /* node name, as libvirt reports the hostname */
    char *hypervisor_type;      /* "QEMU" */
    int64_t hypervisor_version; /* e.g. 10000002 for 10.0.2 */
    char *host_ip;              /* address migrations target, or NULL */
    json_t *cpu_info;           /* CPU description object (arch, model, vendor, topology,
                                     * features); NULL is stored as {} */
    int vcpus;                  /* physical CPUs */
    int vcpus_used;             /* vCPUs given to instances (read only, as below) */
    int64_t memory_mb;          /* physical memory */
    int64_t memory_mb_used;     /* memory given to instances (summed on read) */
    int64_t free_ram_mb;        /* memory the host reports free */
    int64_t local_gb;           /* instances' disk capacity */
    int64_t local_gb_used;      /* root + ephemeral disk of instances (summed on read) */
    int64_t free_disk_gb;
    double cpu_allocation_ratio;  /* 0 in an upsert means the default 16.0 */
    double ram_allocation_ratio;  /* 0 means 1.0 */
    double disk_allocation_ratio; /* 0 means 1.0 */
    int64_t reserved_host_memory_mb;
    int64_t reserved_host_disk_gb;
    int reserved_host_cpus;
    int running_vms;
    int max_live_migrations; /* the host's max_concurrent_live_migrations (0: no limit) */
    int64_t created_ms;
    int64_t updated_ms; /* time of the last report */
} db_compute_node_t;

void db_compute_node_clear(db_compute_node_t *node);
void db_compute_node_list_free(db_compute_node_t *list, size_t count);

/* Insert or replace the full report of (report->host, report->hypervisor_hostname); updated_at
 * becomes now(). ret_node (may be NULL) receives the stored row. Idempotent, retried once. */
int db_compute_node_upsert(db_conn_t *conn, const db_compute_node_t *report,
                           db_compute_node_t *ret_node);

/* Read a node. node NULL: the host's only node (CONFLICT when it has several). NOT_FOUND when
 * there is none. Read, retried. */
int db_compute_node_get(db_conn_t *conn, const char *host, const char *node,
                        db_compute_node_t *ret_node);

/* List nodes ordered by host, hypervisor_hostname; host NULL for all. Read, retried. */
int db_compute_node_list(db_conn_t *conn, const char *host, db_compute_node_t **ret_list,
                         size_t *ret_count);

/* Delete a node's row (and the claims held on it). NOT_FOUND when absent. Retried. */
int db_compute_node_delete(db_conn_t *conn, const char *host, const char *node);

#endif /* TERN_DB_COMPUTE_NODES_H */
