/*
 * compute/compute.h: tern-compute, the daemon on every hypervisor host.
 *
 * The compute manager owns this host's hypervisor driver (compute/virt/), its RPC server
 * (topic "compute", server = host) and a client to the conductor. It never touches the database:
 * everything it learns or changes about instances and migrations goes through conductor RPC.
 *
 * Files, one per part of the flow (see README.md's diagram):
 *   compute/instance.c        the conductor's INSTANCE JSON -> virt_instance_t (paths, image cache)
 *   compute/checks.c          check_can_live_migrate_destination / _source
 *   compute/destination.c     pre_live_migration, post_live_migration_at_destination, rollback
 *   compute/hooks.c           the host's migration hooks (before_/after_migration_*)
 *   compute/live_migration.c  the source's job: prepare, migrate, monitor, post-process, roll back
 *   compute/monitor.c         convergence policy over job statistics (downtime steps, stalls)
 *   compute/manager.c         RPC endpoint table, argument validation, heartbeat and resources
 *   compute/main.c            start-up: configuration, logging, signals
 *
 * Threads: RPC handlers run on the server's workers; each outgoing migration runs on a thread of
 * the migration queue. They all use the virt driver at once: it is thread-safe (libvirt's
 * connections are; the driver locks only what it shares - reconnecting, the host's bridges), so
 * a check or a state query never waits behind another migration's disk copy or directory
 * removal. The table of migrations in flight is guarded by migrations_lock.
 */
#ifndef TERN_COMPUTE_H
#define TERN_COMPUTE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "compute/migrate_data.h"
#include "compute/migration_queue.h"
#include "compute/virt/virt.h"
#include "rpc/rpc.h"

#define COMPUTE_RPC_VERSION "1.0"
#define CONDUCTOR_RPC_VERSION "1.0"

/* What the compute needs from its configuration; filled by main.c from conf_t (strings owned). */
typedef struct compute_config {
    char *host;                   /* [DEFAULT] host: this compute's name */
    char *instances_path;         /* as libvirtd sees it */
    char *image_store_path;       /* where base images come from */
    char *libvirt_uri;            /* [libvirt] connection_uri */
    char *virt_type;              /* [libvirt] virt_type */
    char *cpu_mode;               /* [libvirt] cpu_mode ("" = host-model on kvm, none on qemu) */
    char **cpu_models;            /* [libvirt] cpu_models (NULL-terminated, owned) */
    char **cpu_extra_flags;       /* [libvirt] cpu_model_extra_flags (NULL-terminated, owned) */
    char *migration_scheme;       /* [libvirt] live_migration_scheme ("" = tcp) */
    char *migration_inbound_addr; /* [libvirt] live_migration_inbound_addr ("" = host) */
    int max_concurrent_live_migrations;
    uint64_t bandwidth_mibps;           /* live_migration_bandwidth */
    int downtime_ms;                    /* live_migration_downtime */
    int downtime_steps;                 /* live_migration_downtime_steps */
    int downtime_delay_s;               /* live_migration_downtime_delay */
    int completion_timeout_s;           /* live_migration_completion_timeout (per GiB) */
    bool timeout_action_force_complete; /* live_migration_timeout_action == force_complete */
    bool permit_post_copy;
    bool permit_auto_converge;
    bool native_tls;
    int parallel_connections;
    int report_interval_s; /* heartbeat and resource report period */
    int rpc_timeout_ms;
    char *trusted_users;    /* comma-separated AMQP users whose calls are served */
    char *hooks_dir;        /* [compute] hooks_dir: migration hooks (compute/hooks.h), "" = none */
    int hook_timeout_s;     /* [compute] hook_timeout: seconds each hook may run */
    char *volume_roots;     /* [compute] volume_roots: "" = no volume may be attached */
    char **allowed_bridges; /* [compute] allowed_bridges (NULL-terminated, owned) */
} compute_config_t;

void compute_config_clear(compute_config_t *cfg);

/* A migration in flight on this (source) host, reachable by abort and force-complete. */
typedef struct compute_migration compute_migration_t;

typedef struct compute_manager {
    compute_config_t cfg;    /* owned */
    virt_driver_t *virt;     /* owned; used by every thread at once (virt.h: thread-safe) */
    rpc_client_t *rpc;       /* owned; thread-safe */
    rpc_config_t rpc_cfg;    /* strings borrowed from the daemon's conf */
    rpc_server_t *server;    /* owned */
    rpc_endpoint_t endpoint; /* what the server dispatches to (compute_dispatch, this manager) */
    compute_migration_queue_t *queue; /* owned */
    pthread_mutex_t migrations_lock;
    compute_migration_t *migrations; /* list of migrations in flight; guarded */
    pthread_t reporter;              /* heartbeat/resource thread */
    bool reporter_started;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping; /* guarded by stop_lock */
} compute_manager_t;

/* Create the manager: open the virt driver and the RPC client. cfg is stolen (cleared in the
 * caller). NULL with an error. */
compute_manager_t *compute_manager_new(compute_config_t *cfg, const rpc_config_t *rpc_cfg);

/* Report to the conductor, serve RPC, start the heartbeat thread. 0 or -1. */
int compute_manager_start(compute_manager_t *mgr, int n_workers);

/* Stop serving, wait for migrations in flight, free everything. NULL accepted. */
void compute_manager_free(compute_manager_t *mgr);

/* ---- pieces shared between the compute's files ---- */

/* The conductor's INSTANCE JSON (borrowed) as this host's virt_instance_t (new; with paths under
 * this host's instances path and image cache). NULL with an INVALID error naming the field. */
virt_instance_t *compute_instance_from_json(const compute_manager_t *mgr, const json_t *instance);

/* Every volume of inst is a regular file under one of [compute] volume_roots once resolved
 * (realpath: no "..", no symbolic link out of them). 0, or -1 with an INVALID error naming the
 * volume and its path (NOT_FOUND when the file is missing). Called before a guest is started
 * with its volumes here: spawn, and a destination's pre_live_migration. */
int compute_check_volume_paths(const compute_manager_t *mgr, const virt_instance_t *inst);

/* Make sure the instance's base image is in this host's image cache (_base), copying it from the
 * image store when missing. 0 or -1 naming image and host. */
int compute_ensure_base_image(compute_manager_t *mgr, const json_t *instance);

/* Sleep up to ms, or less when the manager starts stopping: true when it is stopping. */
bool compute_stop_wait(compute_manager_t *mgr, int64_t ms);

/* Call / cast the conductor (target topic "conductor"). context may be NULL (a fresh one). */
int compute_call_conductor(compute_manager_t *mgr, json_t *context, const char *method,
                           json_t *args, json_t **ret_result);
int compute_cast_conductor(compute_manager_t *mgr, json_t *context, const char *method,
                           json_t *args);
/* Call another compute (topic "compute", server host). */
int compute_call_compute(compute_manager_t *mgr, json_t *context, const char *host,
                         const char *method, json_t *args, int timeout_ms, json_t **ret_result);

/* RPC handlers, one per method of compute/API.md. */
int compute_check_can_live_migrate_destination(void *opaque, const rpc_request_t *req,
                                               json_t **ret_result);
int compute_cleanup_live_migration_destination_check(void *opaque, const rpc_request_t *req,
                                                     json_t **ret_result);
int compute_check_can_live_migrate_source(void *opaque, const rpc_request_t *req,
                                          json_t **ret_result);
int compute_pre_live_migration(void *opaque, const rpc_request_t *req, json_t **ret_result);
int compute_post_live_migration_at_destination(void *opaque, const rpc_request_t *req,
                                               json_t **ret_result);
int compute_rollback_live_migration_at_destination(void *opaque, const rpc_request_t *req,
                                                   json_t **ret_result);
int compute_live_migration(void *opaque, const rpc_request_t *req, json_t **ret_result);
int compute_live_migration_abort(void *opaque, const rpc_request_t *req, json_t **ret_result);
int compute_live_migration_force_complete(void *opaque, const rpc_request_t *req,
                                          json_t **ret_result);
int compute_spawn(void *opaque, const rpc_request_t *req, json_t **ret_result);
int compute_destroy(void *opaque, const rpc_request_t *req, json_t **ret_result);

int compute_get_instance_state(void *opaque, const rpc_request_t *req, json_t **ret_result);
int compute_get_guest_cpu(void *opaque, const rpc_request_t *req, json_t **ret_result);

/* After a restart: ask the conductor for the migrations this host was the source of and had not
 * finished, and finish (the instance runs on the destination) or roll back (it still runs here)
 * each of them on the migration queue. 0, or -1 when the conductor cannot be asked. */
int compute_live_migration_recover(compute_manager_t *mgr);

/* Remove what migrations left on this host (the conductor's migration_leftovers: a source copy
 * after a switch-over whose clean-up did not run, a destination's after a rollback it missed),
 * never where the database says the instance is nor a running domain; each removal is reported
 * (migration_cleaned). 0, or -1 when the conductor cannot be asked. */
int compute_remove_leftovers(compute_manager_t *mgr);

/* Wait for migrations in flight to end (at shutdown). */
void compute_live_migration_shutdown(compute_manager_t *mgr);

#endif /* TERN_COMPUTE_H */
