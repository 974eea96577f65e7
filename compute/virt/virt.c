/*
 * compute/virt/virt.c: opening a driver by name and dispatching the virt_*() steps through its
 * table (see compute/virt/virt.h).
 *
 * Owns the virt_driver_t handle and its copy of the options; the implementation owns drv->priv
 * and releases it in its close hook.
 */
#include "compute/virt/virt.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "compute/virt/libvirt/libvirt_driver.h"

/* The table of known drivers: name -> function that fills the table and connects. */
static const struct {
    const char *name;
    int (*init)(virt_driver_t *drv);
} virt_drivers[] = {
    {"libvirt", virt_libvirt_init},
};

static void
strv_free(char **strv)
{
    for (size_t i = 0; strv && strv[i]; i++)
        free(strv[i]);
    free(strv);
}

/* strv_copy: a NULL-terminated copy of strv (an empty one for NULL). */
static char **
strv_copy(const char *const *strv)
{
    size_t n = 0;
    char **ret;

    while (strv && strv[n])
        n++;
    ret = tern_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        ret[i] = tern_strdup(strv[i]);
    return ret;
}

/* cpu_names_valid: every name of strv is [A-Za-z0-9_.-]+ (after a +/- sign when signs). */
static bool
cpu_names_valid(const char *const *strv, bool signs)
{
    for (size_t i = 0; strv && strv[i]; i++) {
        const char *p = strv[i] + (signs && (strv[i][0] == '+' || strv[i][0] == '-'));

        if (!*p ||
            p[strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")])
            return false;
    }
    return true;
}

/* options_copy_cpu: the guest CPU options, "" resolved (host-model with kvm, else none). */
static int
options_copy_cpu(const virt_options_t *opts, const char *virt_type, virt_options_t *ret)
{
    static const char *const modes[] = {"none", "host-model", "host-passthrough", "custom"};
    const char *mode = opts->cpu_mode;
    bool known = false;

    if (tern_str_empty(mode))
        mode = tern_streq(virt_type, "kvm") ? "host-model" : "none";
    for (size_t i = 0; i < TERN_N_ELEMENTS(modes); i++)
        known = known || tern_streq(mode, modes[i]);
    if (!known)
        return tern_error_set(TERN_ERR_INVALID, "invalid virt options: unknown CPU mode \"%s\"",
                              mode);
    if (tern_streq(mode, "custom") != (opts->cpu_models && opts->cpu_models[0]))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid virt options: CPU models are needed with CPU mode "
                              "\"custom\" and only then (CPU mode \"%s\")",
                              mode);
    if (tern_streq(mode, "none") && opts->cpu_extra_flags && opts->cpu_extra_flags[0])
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid virt options: extra CPU flags need CPU mode host-model, "
                              "host-passthrough or custom");
    if (!cpu_names_valid(opts->cpu_models, false) || !cpu_names_valid(opts->cpu_extra_flags, true))
        return tern_error_set(TERN_ERR_INVALID, "invalid virt options: bad CPU model or flag name");
    ret->cpu_mode = tern_strdup(mode);
    ret->cpu_models = (const char *const *)strv_copy(opts->cpu_models);
    ret->cpu_extra_flags = (const char *const *)strv_copy(opts->cpu_extra_flags);
    return 0;
}

static void
options_free(virt_options_t *o)
{
    free((char *)o->uri);
    free((char *)o->virt_type);
    free((char *)o->instances_path);
    free((char *)o->local_instances_path);
    free((char *)o->netns);
    free((char *)o->qemu_img);
    free((char *)o->ip);
    free((char *)o->cpu_mode);
    strv_free((char **)o->cpu_models);
    strv_free((char **)o->cpu_extra_flags);
    free((char *)o->disk_cache);
    strv_free((char **)o->allowed_bridges);
    memset(o, 0, sizeof(*o));
}

/* options_copy: duplicate opts with defaults filled in; -1 on an invalid option. */
static int
options_copy(const virt_options_t *opts, virt_options_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (tern_str_empty(opts->uri))
        return tern_error_set(TERN_ERR_INVALID, "invalid virt options: the libvirt URI is empty");
    if (tern_str_empty(opts->instances_path) || opts->instances_path[0] != '/')
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid virt options: instances path \"%s\" is not absolute",
                              opts->instances_path ? opts->instances_path : "");
    if (opts->local_instances_path && opts->local_instances_path[0] != '/')
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid virt options: local instances path \"%s\" is not absolute",
                              opts->local_instances_path);
    if (opts->virt_type && !tern_streq(opts->virt_type, "qemu") &&
        !tern_streq(opts->virt_type, "kvm"))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid virt options: virt type \"%s\" is not \"qemu\" or \"kvm\"",
                              opts->virt_type);
    if (opts->disk_cache && strpbrk(opts->disk_cache, "'\"<>&"))
        return tern_error_set(TERN_ERR_INVALID, "invalid virt options: bad disk cache mode");

    ret->uri = tern_strdup(opts->uri);
    ret->virt_type = tern_strdup(opts->virt_type ? opts->virt_type : "qemu");
    ret->instances_path = tern_strdup(opts->instances_path);
    ret->local_instances_path =
        tern_strdup(opts->local_instances_path ? opts->local_instances_path : opts->instances_path);
    ret->netns = tern_strdup(tern_str_empty(opts->netns) ? NULL : opts->netns);
    ret->qemu_img = tern_strdup(opts->qemu_img ? opts->qemu_img : "qemu-img");
    ret->ip = tern_strdup(opts->ip ? opts->ip : "ip");
    if (options_copy_cpu(opts, ret->virt_type, ret) < 0)
        return -1;
    ret->disk_cache = tern_strdup(opts->disk_cache ? opts->disk_cache : "writeback");
    ret->allowed_bridges = (const char *const *)strv_copy(opts->allowed_bridges);
    ret->preserve_on_crash = opts->preserve_on_crash;
    ret->command_timeout_ms = opts->command_timeout_ms > 0 ? opts->command_timeout_ms : 60000;
    return 0;
}

virt_driver_t *
virt_driver_open(const char *name, const virt_options_t *opts)
{
    virt_driver_t *drv;

    for (size_t i = 0; i < TERN_N_ELEMENTS(virt_drivers); i++) {
        if (!tern_streq(name, virt_drivers[i].name))
            continue;
        drv = tern_calloc(1, sizeof(*drv));
        if (options_copy(opts, &drv->opts) < 0 || virt_drivers[i].init(drv) < 0) {
            options_free(&drv->opts);
            free(drv);
            return NULL;
        }
        return drv;
    }
    tern_error_set(TERN_ERR_INVALID, "unknown virt driver \"%s\"", name ? name : "");
    return NULL;
}

void
virt_driver_close(virt_driver_t *drv)
{
    if (!drv)
        return;
    if (drv->close)
        drv->close(drv);
    options_free(&drv->opts);
    free(drv);
}

/* Dispatch: fail plainly when the driver lacks the operation. */
#define VIRT_DISPATCH(drv, op, ...)                                                          \
    ((drv)->op ? (drv)->op((drv), __VA_ARGS__)                                               \
               : tern_error_set(TERN_ERR_INTERNAL, "virt driver \"%s\" does not support %s", \
                                (drv)->name, #op))

int
virt_connect_ensure(virt_driver_t *drv)
{
    if (!drv->connect_ensure)
        return 0;
    return drv->connect_ensure(drv);
}

int
virt_get_host_info(virt_driver_t *drv, virt_host_info_t *ret_info)
{
    return VIRT_DISPATCH(drv, get_host_info, ret_info);
}

int
virt_get_guest_cpu(virt_driver_t *drv, const char *uuid, virt_guest_cpu_t *ret)
{
    return VIRT_DISPATCH(drv, get_guest_cpu, uuid, ret);
}

int
virt_compare_hypervisor_cpu(virt_driver_t *drv, const virt_guest_cpu_t *cpu,
                            virt_cpu_compare_t *ret)
{
    return VIRT_DISPATCH(drv, compare_hypervisor_cpu, cpu, ret);
}

int
virt_compare_host_cpu(virt_driver_t *drv, const char *host_cpu_xml, virt_cpu_compare_t *ret)
{
    return VIRT_DISPATCH(drv, compare_host_cpu, host_cpu_xml, ret);
}

int
virt_check_guest_cpu(virt_driver_t *drv, const virt_guest_cpu_t *cpu, virt_cpu_compare_t *ret)
{
    if (tern_streq(cpu->mode, "host-passthrough")) {
        if (tern_str_empty(cpu->host_cpu))
            return tern_error_set(TERN_ERR_INVALID,
                                  "cannot judge a host-passthrough CPU without the source host's "
                                  "CPU");
        return virt_compare_host_cpu(drv, cpu->host_cpu, ret);
    }
    if (tern_str_empty(cpu->xml)) {
        memset(ret, 0, sizeof(*ret));
        ret->compatible = true; /* the hypervisor's default model, wherever it runs */
        return 0;
    }
    return virt_compare_hypervisor_cpu(drv, cpu, ret);
}

int
virt_spawn(virt_driver_t *drv, const virt_instance_t *inst)
{
    return VIRT_DISPATCH(drv, spawn, inst);
}

int
virt_destroy(virt_driver_t *drv, const virt_instance_t *inst, bool delete_files)
{
    return VIRT_DISPATCH(drv, destroy, inst, delete_files);
}

int
virt_get_domain_info(virt_driver_t *drv, const char *uuid, virt_domain_info_t *ret)
{
    return VIRT_DISPATCH(drv, get_domain_info, uuid, ret);
}

int
virt_get_domain_xml(virt_driver_t *drv, const char *uuid, char **ret_xml)
{
    return VIRT_DISPATCH(drv, get_domain_xml, uuid, ret_xml);
}

int
virt_list_instances(virt_driver_t *drv, char ***ret_uuids, size_t *ret_n)
{
    return VIRT_DISPATCH(drv, list_instances, ret_uuids, ret_n);
}

int
virt_resume(virt_driver_t *drv, const char *uuid)
{
    return VIRT_DISPATCH(drv, resume, uuid);
}

int
virt_create_instance_dir(virt_driver_t *drv, const char *uuid)
{
    return VIRT_DISPATCH(drv, create_instance_dir, uuid);
}

int
virt_pre_create_disks(virt_driver_t *drv, const virt_instance_t *inst)
{
    return VIRT_DISPATCH(drv, pre_create_disks, inst);
}

int
virt_delete_instance_files(virt_driver_t *drv, const char *uuid)
{
    return VIRT_DISPATCH(drv, delete_instance_files, uuid);
}

int
virt_shared_probe_create(virt_driver_t *drv, char **ret_name)
{
    return VIRT_DISPATCH(drv, shared_probe_create, ret_name);
}

int
virt_check_shared_path(virt_driver_t *drv, const char *name, bool *ret_shared)
{
    return VIRT_DISPATCH(drv, check_shared_path, name, ret_shared);
}

int
virt_shared_probe_remove(virt_driver_t *drv, const char *name)
{
    return VIRT_DISPATCH(drv, shared_probe_remove, name);
}

int
virt_ensure_bridge(virt_driver_t *drv, const char *bridge)
{
    return VIRT_DISPATCH(drv, ensure_bridge, bridge);
}

int
virt_remove_bridge_if_unused(virt_driver_t *drv, const char *bridge, bool *ret_removed)
{
    return VIRT_DISPATCH(drv, remove_bridge_if_unused, bridge, ret_removed);
}

int
virt_define_instance_filter(virt_driver_t *drv, const char *uuid, const virt_secgroup_rule_t *rules,
                            size_t n_rules, char **ret_name)
{
    return VIRT_DISPATCH(drv, define_instance_filter, uuid, rules, n_rules, ret_name);
}

int
virt_undefine_instance_filter(virt_driver_t *drv, const char *uuid)
{
    return VIRT_DISPATCH(drv, undefine_instance_filter, uuid);
}

int
virt_filter_exists(virt_driver_t *drv, const char *name, bool *ret_exists)
{
    return VIRT_DISPATCH(drv, filter_exists, name, ret_exists);
}

int
virt_migrate(virt_driver_t *drv, const virt_instance_t *inst, const virt_migrate_params_t *params,
             virt_migration_t **ret)
{
    return VIRT_DISPATCH(drv, migrate, inst, params, ret);
}

int
virt_get_completed_migration_stats(virt_driver_t *drv, const char *uuid, virt_job_stats_t *ret)
{
    return VIRT_DISPATCH(drv, get_completed_migration_stats, uuid, ret);
}

/* ---- migration handle dispatch ---- */

int
virt_migration_get_stats(virt_migration_t *mig, virt_job_stats_t *ret)
{
    return mig->ops->get_stats(mig, ret);
}

int
virt_migration_set_max_downtime(virt_migration_t *mig, uint64_t downtime_ms)
{
    return mig->ops->set_max_downtime(mig, downtime_ms);
}

int
virt_migration_set_speed(virt_migration_t *mig, uint64_t bandwidth_mibps)
{
    return mig->ops->set_speed(mig, bandwidth_mibps);
}

int
virt_migration_abort(virt_migration_t *mig)
{
    return mig->ops->abort(mig);
}

int
virt_migration_force_complete(virt_migration_t *mig, bool *ret_post_copy)
{
    return mig->ops->force_complete(mig, ret_post_copy);
}

virt_migration_result_t
virt_migration_wait(virt_migration_t *mig, int timeout_ms)
{
    return mig->ops->wait(mig, timeout_ms);
}

void
virt_migration_restore_error(const virt_migration_t *mig)
{
    mig->ops->restore_error(mig);
}

int
virt_migration_get_final_stats(virt_migration_t *mig, virt_job_stats_t *ret)
{
    if (!mig->ops->get_final_stats)
        return tern_error_set(TERN_ERR_NOT_FOUND, "the driver reports no final statistics");
    return mig->ops->get_final_stats(mig, ret);
}

void
virt_migration_free(virt_migration_t *mig)
{
    if (mig)
        mig->ops->free(mig);
}

/* ---- small helpers ---- */

void
virt_host_info_clear(virt_host_info_t *info)
{
    if (!info)
        return;
    free(info->hypervisor_type);
    free(info->hostname);
    free(info->cpu_model_xml);
    memset(info, 0, sizeof(*info));
}

void
virt_strv_free(char **strv, size_t n)
{
    if (!strv)
        return;
    for (size_t i = 0; i < n; i++)
        free(strv[i]);
    free(strv);
}

char *
virt_instance_filter_name(const char *uuid)
{
    return tern_asprintf("tern-instance-%s", uuid);
}

char *
virt_instance_dir(const virt_driver_t *drv, const char *uuid)
{
    return tern_asprintf("%s/%s", drv->opts.instances_path, uuid);
}

char *
virt_uri_host(const char *uri)
{
    const char *p = uri ? strstr(uri, "://") : NULL;
    size_t len;

    if (!p)
        return tern_strdup("localhost");
    p += 3;
    if (strchr(p, '@') && strchr(p, '@') < p + strcspn(p, "/?"))
        p = strchr(p, '@') + 1;
    if (*p == '[') { /* [IPv6]:port */
        len = strcspn(p + 1, "]");
        return len ? tern_strndup(p + 1, len) : tern_strdup("localhost");
    }
    len = strcspn(p, ":/?");
    return len ? tern_strndup(p, len) : tern_strdup("localhost");
}

const char *
virt_state_name(virt_state_t state)
{
    static const char *const names[] = {"none", "running", "paused", "shutoff", "crashed", "other"};

    return (unsigned)state < TERN_N_ELEMENTS(names) ? names[state] : "unknown";
}

static const char *const postcopy_names[] = {"none", "active", "failed"};

const char *
virt_postcopy_name(virt_postcopy_t postcopy)
{
    return (unsigned)postcopy < TERN_N_ELEMENTS(postcopy_names) ? postcopy_names[postcopy]
                                                                : "unknown";
}

int
virt_postcopy_from_name(const char *name)
{
    for (size_t i = 0; name && i < TERN_N_ELEMENTS(postcopy_names); i++) {
        if (strcmp(name, postcopy_names[i]) == 0)
            return (int)i;
    }
    return -1;
}

const char *
virt_job_type_name(virt_job_type_t type)
{
    static const char *const names[] = {"none",      "bounded", "unbounded",
                                        "completed", "failed",  "cancelled"};

    return (unsigned)type < TERN_N_ELEMENTS(names) ? names[type] : "unknown";
}

const char *
virt_migration_result_name(virt_migration_result_t result)
{
    static const char *const names[] = {"running", "succeeded", "failed", "cancelled"};

    return (unsigned)result < TERN_N_ELEMENTS(names) ? names[result] : "unknown";
}
