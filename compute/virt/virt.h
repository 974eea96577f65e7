/*
 * compute/virt/virt.h: the hypervisor driver layer of tern-compute.
 *
 * tern-compute talks to its hypervisor only through this header. A driver is a table of function
 * pointers (struct virt_driver) filled with designated initializers by one implementation; the
 * real one is the libvirt driver in compute/virt/libvirt/ ("libvirt"). virt_driver_open() returns
 * an open driver handle; the virt_*() functions below dispatch through its table, one function
 * per step of the compute's flow (virt_spawn, virt_pre_create_disks, virt_migrate, ...).
 *
 * Nothing of libvirt leaves this module: every type here is plain C, and every libvirt failure is
 * translated where it happens into a tern error with code TERN_ERR_VIRT whose message names the
 * step, the instance and the host, e.g.
 *   could not migrate instance "0f3c..." to host "198.18.0.12": unable to connect to server ...
 *
 * Paths: virt_options_t.instances_path is the instances directory as libvirtd and QEMU see it (the
 * paths written into domain XML and qcow2 headers). When this process sees that directory under
 * another name (a test in the root mount namespace looking into a host's private mount), set
 * local_instances_path; the driver translates the prefix for its own file operations.
 *
 * Ownership: structures filled by the driver (ret_*) are owned by the caller and released with the
 * matching clear or free function; inputs are borrowed. All free functions accept NULL.
 *
 * Threads: a virt_driver_t may be used by several threads at once (the compute's RPC workers and
 * migration threads); the driver guards what they share (the connection's reopening, the host's
 * bridges). Operations on one instance are not serialised here: the conductor's task_state does
 * that. A virt_migration_t started from it may be polled, aborted and waited for from any
 * thread; the migration holds its own references to the libvirt connection and domain.
 */
#ifndef TERN_COMPUTE_VIRT_H
#define TERN_COMPUTE_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define VIRT_UUID_LEN 36
#define VIRT_NAME_MAX 64   /* domain names: [A-Za-z0-9_.-], at most this many bytes */
#define VIRT_BRIDGE_MAX 15 /* Linux interface names (IFNAMSIZ - 1) */
#define VIRT_DISKS_MAX 16
#define VIRT_INTERFACES_MAX 8
#define VIRT_RULES_MAX 256

/* ---- options (from the compute's configuration) ---- */

typedef struct virt_options {
    const char *uri;                  /* libvirt URI, e.g. "qemu+tcp://198.18.0.11/system" */
    const char *virt_type;            /* domain type: "qemu" (TCG) or "kvm"; NULL = "qemu" */
    const char *instances_path;       /* instances dir as libvirtd sees it (required) */
    const char *local_instances_path; /* same dir as this process sees it; NULL = instances_path */
    const char *netns;                /* network namespace for bridges ("ip -n"); NULL = ours */
    const char *qemu_img;             /* qemu-img program; NULL = "qemu-img" from PATH */
    const char *ip;                   /* ip program; NULL = "ip" from PATH */
    const char *cpu_mode;             /* guest CPU ([libvirt] cpu_mode): "none", "host-model",
                                       * "host-passthrough", "custom"; NULL or "" = host-model
                                       * with kvm, none with qemu */
    const char *const *cpu_models;    /* custom: candidate models in order, the first this
                                       * hypervisor can run wins (NULL-terminated; copied) */
    const char *const *cpu_extra_flags; /* "+flag"/"flag" required, "-flag" disabled
                                         * (NULL-terminated; copied) */
    const char *disk_cache;             /* cache mode of local disks; NULL = "writeback" (shared
                                       * disks always use "none", safe to migrate) */
    const char *const *allowed_bridges; /* bridges tern did not make that guests may use
                                         * ([compute] allowed_bridges; NULL-terminated, copied;
                                         * NULL or empty: none) */
    bool preserve_on_crash;             /* <on_crash>preserve (guest panic stays visible) */
    int command_timeout_ms;             /* limit for qemu-img/ip; <= 0 = 60000 */
} virt_options_t;

/* ---- instance description (travels over RPC as JSON, see virt_instance_from_json) ---- */

typedef struct virt_disk {
    char *target;                /* guest device, "vda" ... (owned) */
    char *path;                  /* image path as libvirtd sees it (owned) */
    char *format;                /* "qcow2" or "raw" (owned) */
    char *backing_file;          /* qcow2 backing image (shared _base), NULL if none (owned) */
    uint64_t virtual_size_bytes; /* guest-visible size; 0 = the backing file's size */
    bool shared;                 /* on storage both hosts see: never copied */
    bool readonly;               /* attached read-only: never copied */
    bool is_volume;              /* a block-storage volume (serial = volume_id): never copied */
    char *volume_id;             /* volume id when is_volume, else NULL (owned) */
} virt_disk_t;

typedef struct virt_interface {
    char *mac;         /* "52:54:00:xx:xx:xx" (owned) */
    char *bridge;      /* Linux bridge on the host (owned) */
    char *filter_name; /* nwfilter referenced by <filterref>, NULL for none (owned) */
} virt_interface_t;

typedef struct virt_instance {
    char uuid[VIRT_UUID_LEN + 1];
    char *name; /* libvirt domain name (owned) */
    uint32_t memory_mb;
    uint32_t vcpus;
    char *kernel;       /* direct kernel boot: kernel image, NULL to boot from disk (owned) */
    char *initrd;       /* initramfs or NULL (owned) */
    char *cmdline;      /* kernel command line or NULL (owned) */
    char *serial_log;   /* serial console written to this file (owned; NULL = no serial file) */
    virt_disk_t *disks; /* owned array */
    size_t n_disks;
    virt_interface_t *interfaces; /* owned array */
    size_t n_interfaces;
} virt_instance_t;

/* Parse and validate an instance from JSON (strict: unknown keys, wrong types, bad UUIDs, MACs,
 * relative paths, characters unsafe in XML are errors naming the field, e.g.
 *   invalid instance: field "disks[1].format": expected "qcow2" or "raw", got "vmdk").
 * The JSON value is borrowed. Returns a new instance (virt_instance_free) or NULL. */
virt_instance_t *virt_instance_from_json(const json_t *json);
/* Same from text. */
virt_instance_t *virt_instance_from_json_text(const char *text);
/* New JSON object (caller decrefs) describing inst; never NULL. */
json_t *virt_instance_to_json(const virt_instance_t *inst);
/* Deep copy; never NULL. */
virt_instance_t *virt_instance_copy(const virt_instance_t *inst);
void virt_instance_free(virt_instance_t *inst);

/* ---- security-group rules for the instance's nwfilter ---- */

typedef enum { VIRT_RULE_INGRESS, VIRT_RULE_EGRESS } virt_rule_direction_t;
typedef enum { VIRT_PROTO_ANY, VIRT_PROTO_TCP, VIRT_PROTO_UDP, VIRT_PROTO_ICMP } virt_protocol_t;

typedef struct virt_secgroup_rule {
    virt_rule_direction_t direction;
    virt_protocol_t protocol;
    int port_min; /* tcp/udp only; 0 with port_max 0 = all ports */
    int port_max;
    char remote_cidr[32]; /* "a.b.c.d/n"; "" = anywhere */
} virt_secgroup_rule_t;

/* Parse a JSON array of rules ({"direction", "protocol", "port_min", "port_max", "remote_cidr"},
 * strictly). Returns 0 and a new array (free()) in *ret_rules, or -1. */
int virt_secgroup_rules_from_json(const json_t *json, virt_secgroup_rule_t **ret_rules,
                                  size_t *ret_n);

/* ---- host ---- */

typedef struct virt_host_info {
    char *hypervisor_type;            /* "QEMU" (owned) */
    unsigned long hypervisor_version; /* 10000002 for 10.0.2 */
    char hypervisor_version_str[32];  /* "10.0.2" */
    unsigned long libvirt_version;    /* 11003000 */
    char libvirt_version_str[32];     /* "11.3.0" */
    char *hostname;                   /* owned */
    char *cpu_model_xml;              /* the host's <cpu> element from the capabilities (owned) */
    unsigned int vcpus;
    uint64_t memory_total_bytes;
    uint64_t memory_free_bytes;
    uint64_t disk_total_bytes; /* file system of the instances path */
    uint64_t disk_free_bytes;  /* available to us (f_bavail) */
    int running_domains;
} virt_host_info_t;

void virt_host_info_clear(virt_host_info_t *info);

typedef struct virt_cpu_compare {
    bool compatible;
    char reason[512]; /* why not, from the hypervisor; "" when compatible */
} virt_cpu_compare_t;

/* ---- the CPU of a guest, as a destination judges it ---- */

#define VIRT_CPU_XML_MAX (64 * 1024)

/* The CPU a running guest was given, as libvirt expanded it when the guest started (its live
 * definition: a host-model CPU appears as the custom model and features it became), with what
 * a destination needs to judge it the way libvirt will at migration time. Travels from the
 * source to the destination over RPC (virt_guest_cpu_to_json / virt_guest_cpu_from_json). */
typedef struct virt_guest_cpu {
    char *mode;      /* the live <cpu> mode: "custom", "host-passthrough", "host-model",
                      * "maximum"; "" when the domain has no <cpu> (owned) */
    char *xml;       /* the live <cpu> element, "" when none (owned) */
    char *virt_type; /* the domain type: "qemu" (TCG) or "kvm" (owned) */
    char *arch;      /* guest architecture, "x86_64" (owned) */
    char *machine;   /* the expanded machine type, "pc-i440fx-10.0" (owned) */
    char *host_cpu;  /* host-passthrough: the source host's <cpu> from its capabilities, which
                      * the guest sees as it is; NULL for other modes (owned) */
} virt_guest_cpu_t;

void virt_guest_cpu_clear(virt_guest_cpu_t *cpu);
/* New JSON object {"mode", "xml", "virt_type", "arch", "machine"[, "host_cpu"]}; never NULL. */
json_t *virt_guest_cpu_to_json(const virt_guest_cpu_t *cpu);
/* Parse and validate strictly (unknown or missing keys, wrong types, an unknown mode, XML that
 * is not a <cpu> element or is over VIRT_CPU_XML_MAX, host_cpu missing for host-passthrough or
 * present for another mode are errors naming the field, e.g.
 *   invalid guest CPU: field "virt_type": expected "qemu" or "kvm", got "xen").
 * The JSON value is borrowed. 0 with *ret filled (virt_guest_cpu_clear), or -1. */
int virt_guest_cpu_from_json(const json_t *json, virt_guest_cpu_t *ret);

/* ---- domain state ---- */

typedef enum {
    VIRT_STATE_NONE = 0, /* no such domain */
    VIRT_STATE_RUNNING,
    VIRT_STATE_PAUSED,
    VIRT_STATE_SHUTOFF,
    VIRT_STATE_CRASHED,
    VIRT_STATE_OTHER, /* blocked, shutting down, pmsuspended */
} virt_state_t;

/* Where a domain stands in a post-copy migration, from its state's reason: libvirt says so of
 * a paused source (paused: post-copy, post-copy failed) and of a running destination (running:
 * post-copy, post-copy failed). FAILED: the stream broke after the switch - the guest's memory
 * is split between the two hosts and neither copy is whole. */
typedef enum {
    VIRT_POSTCOPY_NONE = 0,
    VIRT_POSTCOPY_ACTIVE,
    VIRT_POSTCOPY_FAILED,
} virt_postcopy_t;

typedef struct virt_domain_info {
    bool exists;
    virt_state_t state;
    bool persistent;
    const char *pause_reason; /* when paused: "user", "migration", "postcopy",
                               * "postcopy-failed", "io-error", ... (static); else NULL */
    bool job_active;          /* libvirt runs a job on the domain (an outgoing or incoming
                               * migration) */
    virt_postcopy_t postcopy;
} virt_domain_info_t;

const char *virt_state_name(virt_state_t state);          /* "running", ... (static) */
const char *virt_postcopy_name(virt_postcopy_t postcopy); /* "none", "active", "failed" */
/* -1 (no error set) for an unknown name. */
int virt_postcopy_from_name(const char *name);

/* ---- migration ---- */

typedef struct virt_migrate_params {
    const char *dest_uri;            /* destination libvirt URI (qemu+tcp://198.18.0.12/system) */
    const char *dest_host;           /* destination name for messages; NULL = host of dest_uri */
    const char *migration_addr;      /* destination migration address -> tcp://ADDR; NULL = libvirt
                                      * picks (qemu.conf migration_host) */
    const char *dest_instances_path; /* NULL = same as ours; else disk paths are rewritten in
                                      * VIR_MIGRATE_PARAM_DEST_XML */
    bool block_migration;            /* copy local disks (NON_SHARED_DISK / _INC) */
    bool incremental;                /* NON_SHARED_INC: copy only the top qcow2 layer */
    uint64_t bandwidth_mibps;        /* 0 = unlimited */
    bool auto_converge;
    bool post_copy; /* enable post-copy (switch by force-complete) */
    bool tls;
    int parallel_connections; /* > 0: PARALLEL with that many connections */
} virt_migrate_params_t;

typedef enum {
    VIRT_JOB_NONE = 0,
    VIRT_JOB_BOUNDED,
    VIRT_JOB_UNBOUNDED,
    VIRT_JOB_COMPLETED,
    VIRT_JOB_FAILED,
    VIRT_JOB_CANCELLED,
} virt_job_type_t;

/* One sample of a migration job's statistics (all sizes in bytes, times in ms). */
typedef struct virt_job_stats {
    virt_job_type_t type;
    uint64_t time_elapsed_ms;
    uint64_t data_total, data_processed, data_remaining;
    uint64_t memory_total, memory_processed, memory_remaining;
    uint64_t memory_dirty_rate; /* pages per second */
    uint64_t memory_page_size;
    uint64_t memory_iteration;
    uint64_t memory_bps;
    uint64_t disk_total, disk_processed, disk_remaining;
    uint64_t downtime_ms; /* actual (completed job) or expected */
    uint64_t setup_time_ms;
    int auto_converge_throttle; /* percent, when auto-converge runs */
    bool post_copy;             /* the job has switched to post-copy */
} virt_job_stats_t;

const char *virt_job_type_name(virt_job_type_t type);

typedef enum {
    VIRT_MIGRATION_RUNNING = 0,
    VIRT_MIGRATION_SUCCEEDED,
    VIRT_MIGRATION_FAILED,
    VIRT_MIGRATION_CANCELLED,
} virt_migration_result_t;

const char *virt_migration_result_name(virt_migration_result_t result);

typedef struct virt_migration virt_migration_t;

/* For driver implementations: a migration handle starts with this table; the virt_migration_*()
 * functions below dispatch through it. */
typedef struct virt_migration_ops {
    int (*get_stats)(virt_migration_t *mig, virt_job_stats_t *ret);
    int (*set_max_downtime)(virt_migration_t *mig, uint64_t downtime_ms);
    int (*set_speed)(virt_migration_t *mig, uint64_t bandwidth_mibps);
    int (*abort)(virt_migration_t *mig);
    int (*force_complete)(virt_migration_t *mig, bool *ret_post_copy);
    virt_migration_result_t (*wait)(virt_migration_t *mig, int timeout_ms);
    void (*restore_error)(const virt_migration_t *mig);
    int (*get_final_stats)(virt_migration_t *mig, virt_job_stats_t *ret);
    void (*free)(virt_migration_t *mig);
} virt_migration_ops_t;

struct virt_migration {
    const virt_migration_ops_t *ops;
};

/* ---- the driver table ---- */

typedef struct virt_driver virt_driver_t;

struct virt_driver {
    const char *name;    /* "libvirt" */
    virt_options_t opts; /* copy of the options; strings owned by the handle */
    void *priv;          /* the implementation's state (owned by it, freed by close) */
    void (*close)(virt_driver_t *drv);
    /* connection and host */
    int (*connect_ensure)(virt_driver_t *drv);
    int (*get_host_info)(virt_driver_t *drv, virt_host_info_t *ret_info);
    int (*get_guest_cpu)(virt_driver_t *drv, const char *uuid, virt_guest_cpu_t *ret);
    int (*compare_hypervisor_cpu)(virt_driver_t *drv, const virt_guest_cpu_t *cpu,
                                  virt_cpu_compare_t *ret);
    int (*compare_host_cpu)(virt_driver_t *drv, const char *host_cpu_xml, virt_cpu_compare_t *ret);
    /* domains */
    int (*spawn)(virt_driver_t *drv, const virt_instance_t *inst);
    int (*destroy)(virt_driver_t *drv, const virt_instance_t *inst, bool delete_files);
    int (*get_domain_info)(virt_driver_t *drv, const char *uuid, virt_domain_info_t *ret);
    int (*get_domain_xml)(virt_driver_t *drv, const char *uuid, char **ret_xml);
    int (*list_instances)(virt_driver_t *drv, char ***ret_uuids, size_t *ret_n);
    int (*resume)(virt_driver_t *drv, const char *uuid);
    /* storage */
    int (*create_instance_dir)(virt_driver_t *drv, const char *uuid);
    int (*pre_create_disks)(virt_driver_t *drv, const virt_instance_t *inst);
    int (*delete_instance_files)(virt_driver_t *drv, const char *uuid);
    int (*shared_probe_create)(virt_driver_t *drv, char **ret_name);
    int (*check_shared_path)(virt_driver_t *drv, const char *name, bool *ret_shared);
    int (*shared_probe_remove)(virt_driver_t *drv, const char *name);
    /* network */
    int (*ensure_bridge)(virt_driver_t *drv, const char *bridge);
    int (*remove_bridge_if_unused)(virt_driver_t *drv, const char *bridge, bool *ret_removed);
    /* firewall */
    int (*define_instance_filter)(virt_driver_t *drv, const char *uuid,
                                  const virt_secgroup_rule_t *rules, size_t n_rules,
                                  char **ret_name);
    int (*undefine_instance_filter)(virt_driver_t *drv, const char *uuid);
    int (*filter_exists)(virt_driver_t *drv, const char *name, bool *ret_exists);
    /* migration */
    int (*migrate)(virt_driver_t *drv, const virt_instance_t *inst,
                   const virt_migrate_params_t *params, virt_migration_t **ret);
    int (*get_completed_migration_stats)(virt_driver_t *drv, const char *uuid,
                                         virt_job_stats_t *ret);
};

/* Open the named driver ("libvirt") with opts (copied) and connect. Returns a new handle
 * (virt_driver_close) or NULL with an error (TERN_ERR_VIRT for a failed connection,
 * TERN_ERR_INVALID for an unknown driver or bad options). */
virt_driver_t *virt_driver_open(const char *name, const virt_options_t *opts);
void virt_driver_close(virt_driver_t *drv);

/* Make sure the connection works; reopen it when the daemon restarted. 0 or -1. */
int virt_connect_ensure(virt_driver_t *drv);

/* Host facts for the conductor's checks and the resource tracker. Fills *ret_info (clear it with
 * virt_host_info_clear) and returns 0, or -1. */
int virt_get_host_info(virt_driver_t *drv, virt_host_info_t *ret_info);

/* Source side: the CPU of the running domain with uuid, from its live XML, plus this host's CPU
 * when the guest is host-passthrough. 0 with *ret filled (virt_guest_cpu_clear), or -1
 * (TERN_ERR_NOT_FOUND when there is no such domain). */
int virt_get_guest_cpu(virt_driver_t *drv, const char *uuid, virt_guest_cpu_t *ret);

/* Destination side: can a guest with cpu (from the source's virt_get_guest_cpu) run here?
 *  - host-passthrough: the guest sees the source host's CPU as it is, so this host's CPU must
 *    be the same: same architecture, vendor and model, and every feature of the source's
 *    (virt_compare_host_cpu);
 *  - otherwise: this host's hypervisor, for the guest's virt type, architecture and machine
 *    type and this host's own emulator, must provide the guest's CPU
 *    (virt_compare_hypervisor_cpu), as libvirt itself checks when the migration starts;
 *  - a guest without <cpu> runs the hypervisor's default model: nothing to compare.
 * The source host's own CPU does not matter unless the guest passes it through. 0 with *ret
 * filled (its reason names what is missing), or -1 when the question itself failed. */
int virt_check_guest_cpu(virt_driver_t *drv, const virt_guest_cpu_t *cpu, virt_cpu_compare_t *ret);
int virt_compare_hypervisor_cpu(virt_driver_t *drv, const virt_guest_cpu_t *cpu,
                                virt_cpu_compare_t *ret);
/* Is this host's CPU the one described by host_cpu_xml (a capabilities <cpu> of another host)? */
int virt_compare_host_cpu(virt_driver_t *drv, const char *host_cpu_xml, virt_cpu_compare_t *ret);

/* Create the instance dir and its disks (qcow2 overlays on their backing files), define the
 * domain persistently and start it. Disks that already exist are kept. 0 or -1. */
int virt_spawn(virt_driver_t *drv, const virt_instance_t *inst);

/* Stop the domain if running, undefine it, and with delete_files remove its instance dir.
 * A missing domain is not an error. 0 or -1. */
int virt_destroy(virt_driver_t *drv, const virt_instance_t *inst, bool delete_files);

/* Whether the domain exists, its state and persistence (exists false when it does not). */
int virt_get_domain_info(virt_driver_t *drv, const char *uuid, virt_domain_info_t *ret);
/* The live domain XML (new string); -1 with TERN_ERR_NOT_FOUND if no such domain. */
int virt_get_domain_xml(virt_driver_t *drv, const char *uuid, char **ret_xml);
/* UUIDs of every defined domain (new array of new strings; free with virt_strv_free). */
int virt_list_instances(virt_driver_t *drv, char ***ret_uuids, size_t *ret_n);
void virt_strv_free(char **strv, size_t n);
/* Resume a paused domain (the recovery after a failed force-complete by pause). */
int virt_resume(virt_driver_t *drv, const char *uuid);

/* Storage. */
int virt_create_instance_dir(virt_driver_t *drv, const char *uuid);
/* Destination side of a block migration: create every local, writable, non-shared disk of inst
 * with the same format, virtual size and path; a backing file must already exist here. A disk
 * already present with the same format and size is kept. 0 or -1 naming the disk. */
int virt_pre_create_disks(virt_driver_t *drv, const virt_instance_t *inst);
int virt_delete_instance_files(virt_driver_t *drv, const char *uuid);
/* Shared-storage probe (nova's design): the destination creates a uniquely named file in its
 * instances path (virt_shared_probe_create, name returned new), the source looks for that name
 * in its own instances path (virt_check_shared_path: *ret_shared true when it sees it), then the
 * destination removes it (virt_shared_probe_remove; a missing probe is not an error). */
int virt_shared_probe_create(virt_driver_t *drv, char **ret_name);
int virt_check_shared_path(virt_driver_t *drv, const char *name, bool *ret_shared);
int virt_shared_probe_remove(virt_driver_t *drv, const char *name);

/* Network: create the Linux bridge (and set it up) unless it exists. 0 or -1. */
int virt_ensure_bridge(virt_driver_t *drv, const char *bridge);
/* Delete the bridge when no defined domain references it. *ret_removed (may be NULL). */
int virt_remove_bridge_if_unused(virt_driver_t *drv, const char *bridge, bool *ret_removed);

/* Firewall: define (or redefine) the nwfilter "tern-instance-<uuid>" from rules; it references
 * libvirt's clean-traffic filter and drops what the rules do not accept. *ret_name (may be NULL)
 * receives the filter name (new). Undefine is idempotent. */
int virt_define_instance_filter(virt_driver_t *drv, const char *uuid,
                                const virt_secgroup_rule_t *rules, size_t n_rules, char **ret_name);
int virt_undefine_instance_filter(virt_driver_t *drv, const char *uuid);
int virt_filter_exists(virt_driver_t *drv, const char *name, bool *ret_exists);
/* "tern-instance-<uuid>" (new string). */
char *virt_instance_filter_name(const char *uuid);

/* Migration: start a live migration of inst to params->dest_uri in a thread of its own and return
 * at once with *ret (virt_migration_free). Flags: LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE,
 * NON_SHARED_DISK or NON_SHARED_INC with MIGRATE_DISKS = local writable non-shared disks, and
 * AUTO_CONVERGE, POSTCOPY, TLS, PARALLEL as params say. */
int virt_migrate(virt_driver_t *drv, const virt_instance_t *inst,
                 const virt_migrate_params_t *params, virt_migration_t **ret);

/* The statistics of the migration job as it runs (type NONE once it has ended). */
int virt_migration_get_stats(virt_migration_t *mig, virt_job_stats_t *ret);
int virt_migration_set_max_downtime(virt_migration_t *mig, uint64_t downtime_ms);
/* The memory transfer's bandwidth, before and after a switch to post-copy alike (the start
 * bandwidth applies to pre-copy only; post-copy is unlimited unless set here).
 * Note: libvirt applies the start bandwidth to the storage copy (NBD mirror) of a block migration
 * too, and a later set_speed does not change that copy's speed, only the memory transfer's. */
int virt_migration_set_speed(virt_migration_t *mig, uint64_t bandwidth_mibps);
/* Cancel the job; the result becomes VIRT_MIGRATION_CANCELLED. */
int virt_migration_abort(virt_migration_t *mig);
/* Switch to post-copy when params->post_copy permitted it, else pause the guest so the last
 * iteration completes (resumed again if the migration then fails). *ret_post_copy (may be NULL)
 * tells which was done. */
int virt_migration_force_complete(virt_migration_t *mig, bool *ret_post_copy);
/* Wait up to timeout_ms (< 0: forever) for the end. Returns the result (RUNNING on timeout). */
virt_migration_result_t virt_migration_wait(virt_migration_t *mig, int timeout_ms);
/* After a FAILED or CANCELLED result: make that error this thread's last error. */
void virt_migration_restore_error(const virt_migration_t *mig);
/* After SUCCEEDED: the statistics of the whole job as the source's hypervisor reported them when
 * it ended (memory and disk transferred with nothing remaining, the job's time, the downtime),
 * waiting a moment for the report. -1 with TERN_ERR_NOT_FOUND when it never came: the last
 * sample is then all there is. */
int virt_migration_get_final_stats(virt_migration_t *mig, virt_job_stats_t *ret);
/* Wait for the end (forever), then release everything. Accepts NULL. */
void virt_migration_free(virt_migration_t *mig);

/* Destination side, after success: the completed job's statistics (downtime, total time, memory
 * transferred) of the domain with uuid. */
int virt_get_completed_migration_stats(virt_driver_t *drv, const char *uuid, virt_job_stats_t *ret);

/* Helpers shared with the daemon. */
/* The instance dir as libvirtd sees it: "<instances_path>/<uuid>" (new string). */
char *virt_instance_dir(const virt_driver_t *drv, const char *uuid);
/* The host part of a libvirt URI ("qemu+tcp://198.18.0.12/system" -> "198.18.0.12"), new
 * string; "localhost" when the URI has none. */
char *virt_uri_host(const char *uri);

#endif /* TERN_COMPUTE_VIRT_H */
