/*
 * compute/migrate_data.h: the live migration's contract between the hosts, as types.
 *
 * The destination's check answers with a compute_dest_check_data_t; the source's check adds
 * what it decided and makes the compute_migrate_data_t that then travels with the migration:
 * conductor -> source (live_migration, and again after a restart: migration_recover) -> the
 * destination (pre_live_migration, rollback_live_migration_at_destination). On the wire both are
 * flat JSON objects (the migrate data holds every key of the check data), stored as such by the
 * conductor at hand-off (schema 002), so their keys are part of the contract:
 *
 *   check data:   host, libvirt_uri, migration_address, disk_available_bytes, shared_probe,
 *                 hypervisor_type, hypervisor_version, instances_path
 *   migrate data: those, and source_host, is_shared_instance_path, block_migration,
 *                 disks [{target, path, format, backing_file?, virtual_size}],
 *                 skipped_disks [{target, path, reason}], bytes_to_copy, and
 *                 never_pause (optional, the conductor's: the instance's or drain's policy)
 *
 * Parsing is strict (json_unpack_ex with JSON_STRICT: a missing, misspelt or unknown key, or a
 * value of the wrong type, is an error naming it) and checks each value: names without markup,
 * absolute paths, a libvirt URI, no negative sizes, and no block migration onto a shared
 * instance path. A missing "is_shared_instance_path" can no longer mean "not shared" (and a
 * rollback then delete the running guest's disk on shared storage).
 *
 * Ownership: the *_from_json functions fill a caller's struct with new strings (clear it with
 * the matching *_clear, which accepts a zeroed struct); JSON inputs are borrowed; *_to_json
 * return a new reference.
 */
#ifndef TERN_COMPUTE_MIGRATE_DATA_H
#define TERN_COMPUTE_MIGRATE_DATA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the destination's check found (check_can_live_migrate_destination). */
typedef struct compute_dest_check_data {
    char *host;                   /* the destination host */
    char *libvirt_uri;            /* its libvirt, as the source's libvirtd reaches it */
    char *migration_address;      /* where the migration stream goes */
    int64_t disk_available_bytes; /* free in its instances path */
    char *shared_probe;           /* the probe file's name in its instances path */
    char *hypervisor_type;        /* "QEMU" */
    int64_t hypervisor_version;   /* 10000002 */
    char *instances_path;         /* its instances path */
} compute_dest_check_data_t;

/* A disk the block migration copies. */
typedef struct compute_migrate_disk {
    char *target;         /* "vda" */
    char *path;           /* the image, as libvirtd sees it */
    char *format;         /* "qcow2" or "raw" */
    char *backing_file;   /* NULL when none */
    int64_t virtual_size; /* bytes, 0 = the backing file's */
} compute_migrate_disk_t;

/* A disk it does not copy, and why (shared, read-only, a volume, a shared instance path). */
typedef struct compute_skipped_disk {
    char *target;
    char *path;
    char *reason;
} compute_skipped_disk_t;

typedef struct compute_migrate_data {
    compute_dest_check_data_t dest;
    char *source_host;
    bool is_shared_instance_path;  /* the two hosts see the same instances path */
    bool block_migration;          /* the disks are copied */
    compute_migrate_disk_t *disks; /* owned array */
    size_t n_disks;
    compute_skipped_disk_t *skipped_disks; /* owned array */
    size_t n_skipped_disks;
    int64_t bytes_to_copy;
    bool never_pause; /* the convergence ladder must not pause the guest ("never_pause", set by
                       * the conductor at hand-off from the instance's or drain's policy; absent
                       * or zero: the shipped ladder, which may pause) */
} compute_migrate_data_t;

void compute_dest_check_data_clear(compute_dest_check_data_t *data);
void compute_migrate_data_clear(compute_migrate_data_t *data);

/* Strict parses (see above). what names the argument in errors, e.g.
 *   invalid "migrate_data" of pre_live_migration: field "is_shared_instance_path": missing
 * 0 with *ret filled, or -1 with an INVALID error (*ret left zeroed). */
int compute_dest_check_data_from_json(const json_t *json, const char *what,
                                      compute_dest_check_data_t *ret);
int compute_migrate_data_from_json(const json_t *json, const char *what,
                                   compute_migrate_data_t *ret);

json_t *compute_dest_check_data_to_json(const compute_dest_check_data_t *data);
json_t *compute_migrate_data_to_json(const compute_migrate_data_t *data);

/* A deep copy (never fails; allocation failure aborts as tern_malloc does). */
void compute_migrate_data_copy(const compute_migrate_data_t *src, compute_migrate_data_t *ret);

#endif /* TERN_COMPUTE_MIGRATE_DATA_H */
