/*
 * compute/virt/libvirt/libvirt_driver.h: private to the libvirt driver (compute/virt/libvirt/).
 *
 * The driver's files share this header: the connection state kept in drv->priv, the helper that
 * turns libvirt's last error into a tern error, and the pure XML builders the unit tests call.
 * Nothing outside compute/virt/ and tests/virt/ may include it (it exposes libvirt types); virt.c
 * only calls virt_libvirt_init().
 *
 * Threads: the driver is used from several threads at once. libvirt's connections and domains
 * are thread-safe; what the driver shares is guarded: the connection's reopening (priv->lock;
 * each user holds a reference of its own) and the host's bridges (priv->net_lock). A migration
 * takes its own references (virConnectRef/virDomainRef) so it outlives a reconnect.
 */
#ifndef TERN_COMPUTE_VIRT_LIBVIRT_DRIVER_H
#define TERN_COMPUTE_VIRT_LIBVIRT_DRIVER_H

#include <pthread.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/command.h"
#include "compute/virt/virt.h"

typedef struct virt_libvirt_priv {
    pthread_mutex_t lock;     /* guards conn: its reopening after a libvirtd restart */
    virConnectPtr conn;       /* NULL when closed; reopened by virt_libvirt_conn() */
    pthread_mutex_t net_lock; /* the host's bridges: made, or removed when unused, one at a time
                               * (a bridge may be shared by several instances) */
} virt_libvirt_priv_t;

/* Fill drv's table with the libvirt driver and connect to drv->opts.uri. 0 or -1. */
int virt_libvirt_init(virt_driver_t *drv);

/* The live connection, reopened first if libvirtd went away: a NEW reference (virConnectClose,
 * or declare it VIRT_AUTO_CONN), so that another thread's reopening cannot pull it away; NULL
 * with an error. */
virConnectPtr virt_libvirt_conn(virt_driver_t *drv);
void virt_libvirt_conn_closep(virConnectPtr *conn);
#define VIRT_AUTO_CONN __attribute__((cleanup(virt_libvirt_conn_closep))) virConnectPtr

/* Install the silent error handler (process-wide, once) and on conn when not NULL. */
void virt_libvirt_silence_errors(virConnectPtr conn);

/* Set a TERN_ERR_VIRT error "<fmt...>: <libvirt's last error message>". Returns -1. */
int virt_libvirt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* libvirt's last error code in this thread (VIR_ERR_OK when none). */
int virt_libvirt_last_code(void);

/* The domain with uuid (new reference; virDomainFree), or NULL: TERN_ERR_NOT_FOUND when there is
 * none (then *ret_missing is true when given), TERN_ERR_VIRT on another failure. */
virDomainPtr virt_libvirt_lookup(virt_driver_t *drv, const char *uuid, bool *ret_missing);

/* A path under opts.instances_path as this process sees it (new string; unchanged when it lies
 * elsewhere). */
char *virt_libvirt_local_path(const virt_driver_t *drv, const char *path);

/* Run an external program with the driver's timeout; out/err collected when ret is given. */
int virt_libvirt_run(const virt_driver_t *drv, const char *const argv[],
                     tern_command_result_t *ret);

/* ---- pure builders (domain_xml.c), unit-tested ---- */

/* XML-escape s (text or attribute) into a new string. */
char *virt_xml_escape(const char *s);
/* The guest <cpu> element of opts' cpu_mode and extra flags (new string; the model of custom
 * mode is model), or NULL for cpu_mode "none" (the hypervisor's default model). */
char *virt_cpu_xml_build(const virt_options_t *opts, const char *model);
/* Domain XML for inst under opts (new string); cpu_model: custom mode's chosen model. */
char *virt_domain_xml_build(const virt_options_t *opts, const virt_instance_t *inst,
                            const char *cpu_model);
/* nwfilter XML "tern-instance-<uuid>" for rules (new string). */
char *virt_filter_xml_build(const char *uuid, const virt_secgroup_rule_t *rules, size_t n_rules);
/* Copy of xml with every quoted path starting with old_prefix + "/" rewritten to new_prefix
 * (attribute values 'P' and "P", element text >P<). New string. */
char *virt_xml_rewrite_prefix(const char *xml, const char *old_prefix, const char *new_prefix);
/* The first <tag ...>...</tag> element inside the first <within> element of xml (new string), or
 * NULL when absent. Enough for libvirt's own well-formed output (capabilities, domain XML). */
char *virt_xml_extract(const char *xml, const char *within, const char *tag);

/* ---- shared between domain.c, storage.c and migration.c ---- */

/* Create the instance dir and any missing local disk of inst (storage.c). for_migration: the
 * destination of a block migration (backing files must exist; shared disks and volumes are left
 * alone; existing disks must match). */
int virt_libvirt_create_disks(virt_driver_t *drv, const virt_instance_t *inst, bool for_migration);

/* Read job statistics of dom with flags into *ret (migration.c). */
int virt_libvirt_job_stats(virDomainPtr dom, unsigned int flags, virt_job_stats_t *ret);

/* ---- the table's entries, one file per concern (contracts in compute/virt/virt.h) ---- */

/* domain.c */
int virt_libvirt_spawn(virt_driver_t *drv, const virt_instance_t *inst);
int virt_libvirt_destroy(virt_driver_t *drv, const virt_instance_t *inst, bool delete_files);
int virt_libvirt_get_domain_info(virt_driver_t *drv, const char *uuid, virt_domain_info_t *ret);
int virt_libvirt_get_domain_xml(virt_driver_t *drv, const char *uuid, char **ret_xml);
int virt_libvirt_list_instances(virt_driver_t *drv, char ***ret_uuids, size_t *ret_n);
int virt_libvirt_resume(virt_driver_t *drv, const char *uuid);
/* cpu.c */
int virt_libvirt_get_guest_cpu(virt_driver_t *drv, const char *uuid, virt_guest_cpu_t *ret);
int virt_libvirt_compare_hypervisor_cpu(virt_driver_t *drv, const virt_guest_cpu_t *cpu,
                                        virt_cpu_compare_t *ret);
int virt_libvirt_compare_host_cpu(virt_driver_t *drv, const char *host_cpu_xml,
                                  virt_cpu_compare_t *ret);
/* Custom mode: the first of opts.cpu_models (with the extra flags) this host's hypervisor can
 * run, as a new string in *ret_model; -1 naming every model and why not. */
int virt_libvirt_choose_cpu_model(virt_driver_t *drv, char **ret_model);
/* Pure: is the host CPU here_xml the same as source_xml (capabilities <cpu> elements): same
 * arch, vendor and model, and every feature of the source's? Extra features here are fine.
 * 0 with *ret (the reason lists each difference), -1 when either cannot be parsed. */
int virt_libvirt_compare_host_cpus(const char *source_xml, const char *here_xml,
                                   virt_cpu_compare_t *ret);
/* storage.c */
int virt_libvirt_create_instance_dir(virt_driver_t *drv, const char *uuid);
int virt_libvirt_pre_create_disks(virt_driver_t *drv, const virt_instance_t *inst);
int virt_libvirt_delete_instance_files(virt_driver_t *drv, const char *uuid);
int virt_libvirt_shared_probe_create(virt_driver_t *drv, char **ret_name);
int virt_libvirt_check_shared_path(virt_driver_t *drv, const char *name, bool *ret_shared);
int virt_libvirt_shared_probe_remove(virt_driver_t *drv, const char *name);
/* network.c */
int virt_libvirt_ensure_bridge(virt_driver_t *drv, const char *bridge);
int virt_libvirt_remove_bridge_if_unused(virt_driver_t *drv, const char *bridge, bool *ret_removed);
/* firewall.c */
int virt_libvirt_define_instance_filter(virt_driver_t *drv, const char *uuid,
                                        const virt_secgroup_rule_t *rules, size_t n_rules,
                                        char **ret_name);
int virt_libvirt_undefine_instance_filter(virt_driver_t *drv, const char *uuid);
int virt_libvirt_filter_exists(virt_driver_t *drv, const char *name, bool *ret_exists);
/* migration.c */
int virt_libvirt_migrate(virt_driver_t *drv, const virt_instance_t *inst,
                         const virt_migrate_params_t *params, virt_migration_t **ret);
int virt_libvirt_get_completed_migration_stats(virt_driver_t *drv, const char *uuid,
                                               virt_job_stats_t *ret);

#endif /* TERN_COMPUTE_VIRT_LIBVIRT_DRIVER_H */
