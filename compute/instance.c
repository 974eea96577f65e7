/*
 * compute/instance.c: turning the conductor's INSTANCE JSON into this host's virt_instance_t.
 *
 * The conductor describes an instance abstractly (image, sizes, volumes, networks); each compute
 * derives the host paths from its own configuration, as nova does:
 *
 *   <instances_path>/<uuid>/disk          qcow2 overlay, backing file below
 *   <instances_path>/<uuid>/console.log   serial console
 *   <instances_path>/_base/<image>/       image cache: vmlinuz, initrd.img, disk.qcow2, cmdline
 *
 * Base images come from <image_store_path>/<image>/ (the same four files) and are copied into the
 * cache the first time a host needs them. Volumes are files on shared storage
 * (connection_info.path) and are attached as shared disks, never copied.
 *
 * Owns nothing beyond each call: results are new virt_instance_t's owned by the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/command.h"
#include "common/error.h"
#include "common/util.h"
#include "compute/compute.h"
#include "compute/json_check.h"

#define GIB (1024ULL * 1024 * 1024)
#define IMAGE_FILES_MAX_BYTES 4096

static const char *const image_files[] = {"vmlinuz", "initrd.img", "disk.qcow2"};

/* image_name_valid: a plain file-name component, so it cannot escape the store. */
static bool
image_name_valid(const char *image)
{
    if (tern_str_empty(image) || strlen(image) > 64 || image[0] == '.')
        return false;
    for (const char *p = image; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    }
    return true;
}

static char *
base_dir(const compute_manager_t *mgr, const char *image)
{
    return tern_asprintf("%s/_base/%s", mgr->cfg.instances_path, image);
}

/* read_cmdline: the image's base kernel command line (file "cmdline"), "" when absent. */
static char *
read_cmdline(const char *dir)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/cmdline", dir);
    char *data = NULL;

    if (access(path, R_OK) < 0 || tern_file_read_all(path, IMAGE_FILES_MAX_BYTES, &data, NULL) < 0)
        return tern_strdup("");
    data[strcspn(data, "\n")] = '\0';
    return data;
}

int
compute_ensure_base_image(compute_manager_t *mgr, const json_t *instance)
{
    const char *image = json_string_value(json_object_get(instance, "image"));
    TERN_AUTOFREE char *dir = NULL;
    TERN_AUTOFREE char *tmp_dir = NULL;

    if (!image_name_valid(image))
        return tern_error_set(TERN_ERR_INVALID, "invalid image name \"%s\"", image ? image : "");
    dir = base_dir(mgr, image);
    if (access(dir, F_OK) == 0)
        return 0;
    /* Copy into a temporary directory and rename it into place, so a half-copied image is never
     * taken for a complete one (after a crash, or by a concurrent request). */
    tmp_dir = tern_asprintf("%s.tmp-%ld", dir, (long)getpid());
    if (tern_mkdir_p(tmp_dir, 0755) < 0)
        goto fail;
    for (size_t i = 0; i < TERN_N_ELEMENTS(image_files) + 1; i++) {
        const char *name = i < TERN_N_ELEMENTS(image_files) ? image_files[i] : "cmdline";
        TERN_AUTOFREE char *src = tern_asprintf("%s/%s/%s", mgr->cfg.image_store_path, image, name);
        TERN_AUTOFREE char *dst = tern_asprintf("%s/%s", tmp_dir, name);
        const char *argv[] = {"cp", "--sparse=always", src, dst, NULL};

        if (i == TERN_N_ELEMENTS(image_files) && access(src, F_OK) < 0)
            continue; /* cmdline is optional */
        if (tern_command_run(argv, 600000, NULL) < 0)
            goto fail;
    }
    if (rename(tmp_dir, dir) < 0 && errno != ENOTEMPTY && errno != EEXIST) {
        tern_error_set_errno(errno, "could not move image cache \"%s\" into place", dir);
        goto fail;
    }
    return 0;

fail:
    if (tmp_dir) {
        tern_error_t err;

        tern_error_copy(&err); /* the failure that matters is the copy's */
        tern_remove_tree(tmp_dir);
        tern_error_restore(&err);
    }
    return tern_error_prefix("could not cache image \"%s\" on host \"%s\"", image, mgr->cfg.host);
}

/* instance_cmdline: the image's command line plus the workload parameters, if any. */
static char *
instance_cmdline(const char *dir, const json_t *workload)
{
    char *cmdline = read_cmdline(dir);
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)workload, key, value)
    {
        char *next;

        if (!json_is_integer(value) || strspn(key, "abcdefghijklmnopqrstuvwxyz_") != strlen(key))
            continue; /* the conductor validated the names; never pass odd text to a kernel */
        next = tern_asprintf("%s%stern.%s=%lld", cmdline, cmdline[0] ? " " : "", key,
                             (long long)json_integer_value(value));
        free(cmdline);
        cmdline = next;
    }
    return cmdline;
}

static int
add_root_disk(const compute_manager_t *mgr, virt_instance_t *inst, const char *image,
              json_int_t disk_gb)
{
    virt_disk_t *d = &inst->disks[inst->n_disks++];
    TERN_AUTOFREE char *dir = base_dir(mgr, image);

    d->target = tern_strdup("vda");
    d->path = tern_asprintf("%s/%s/disk", mgr->cfg.instances_path, inst->uuid);
    d->format = tern_strdup("qcow2");
    d->backing_file = tern_asprintf("%s/disk.qcow2", dir);
    d->virtual_size_bytes = (uint64_t)disk_gb * GIB;
    return 0;
}

static int
add_volumes(virt_instance_t *inst, const json_t *volumes)
{
    size_t i;
    json_t *vol;

    json_array_foreach(volumes, i, vol)
    {
        const char *id = NULL, *device = NULL, *path = NULL, *type = NULL;
        json_error_t jerr;
        virt_disk_t *d;

        if (json_unpack_ex(vol, &jerr, JSON_STRICT, "{s:s, s:s, s:{s:s, s:s}}", "volume_id", &id,
                           "device", &device, "connection_info", "path", &path,
                           "driver_volume_type", &type) < 0)
            return tern_error_set(TERN_ERR_INVALID, "invalid instance \"%s\": volume %zu: %s",
                                  inst->uuid, i, jerr.text);
        if (path[0] != '/' || strcmp(type, "file") != 0)
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid instance \"%s\": volume %zu needs an absolute "
                                  "\"connection_info.path\" of type \"file\"",
                                  inst->uuid, i);
        if (inst->n_disks >= VIRT_DISKS_MAX)
            return tern_error_set(TERN_ERR_INVALID, "invalid instance \"%s\": too many volumes",
                                  inst->uuid);
        d = &inst->disks[inst->n_disks++];
        d->target = tern_strdup(device);
        d->path = tern_strdup(path);
        d->format = tern_strdup("raw");
        d->shared = true;
        d->is_volume = true;
        d->volume_id = tern_strdup(id);
    }
    return 0;
}

/* under_root: whether the resolved path lies under one of the comma-separated roots (each
 * resolved; a root that does not exist holds nothing). */
static bool
under_root(const char *resolved, const char *roots)
{
    TERN_AUTOFREE char *list = tern_strdup(roots ? roots : "");
    char *save = NULL;

    for (char *r = strtok_r(list, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
        TERN_AUTOFREE char *root = NULL;
        size_t n;

        while (*r == ' ')
            r++;
        if (!*r || !(root = realpath(r, NULL)))
            continue;
        n = strlen(root);
        if (strncmp(resolved, root, n) == 0 && (resolved[n] == '/' || (n == 1 && root[0] == '/')))
            return true;
    }
    return false;
}

int
compute_check_volume_paths(const compute_manager_t *mgr, const virt_instance_t *inst)
{
    for (size_t i = 0; i < inst->n_disks; i++) {
        const virt_disk_t *d = &inst->disks[i];
        TERN_AUTOFREE char *resolved = NULL;
        struct stat st;

        if (!d->is_volume)
            continue;
        if (!(resolved = realpath(d->path, NULL)))
            return tern_error_set(errno == ENOENT ? TERN_ERR_NOT_FOUND : TERN_ERR_INVALID,
                                  "volume \"%s\" of instance \"%s\": cannot resolve \"%s\": %s",
                                  d->volume_id, inst->uuid, d->path, strerror(errno));
        if (!under_root(resolved, mgr->cfg.volume_roots))
            return tern_error_set(TERN_ERR_INVALID,
                                  "volume \"%s\" of instance \"%s\": \"%s\" (%s) is not under "
                                  "[compute] volume_roots of host \"%s\" (%s)",
                                  d->volume_id, inst->uuid, d->path, resolved, mgr->cfg.host,
                                  mgr->cfg.volume_roots && mgr->cfg.volume_roots[0]
                                      ? mgr->cfg.volume_roots
                                      : "none: no volume may be attached");
        if (stat(resolved, &st) < 0 || !S_ISREG(st.st_mode))
            return tern_error_set(TERN_ERR_INVALID,
                                  "volume \"%s\" of instance \"%s\": \"%s\" is not a regular "
                                  "file",
                                  d->volume_id, inst->uuid, d->path);
    }
    return 0;
}

static int
add_interfaces(virt_instance_t *inst, const json_t *networks)
{
    size_t i;
    json_t *net;

    if (json_array_size(networks) > VIRT_INTERFACES_MAX)
        return tern_error_set(TERN_ERR_INVALID, "invalid instance \"%s\": too many networks",
                              inst->uuid);
    inst->interfaces = tern_calloc(json_array_size(networks) + 1, sizeof(virt_interface_t));
    json_array_foreach(networks, i, net)
    {
        const char *mac = NULL, *bridge = NULL;
        virt_interface_t *itf;
        json_error_t jerr;

        if (json_unpack_ex(net, &jerr, JSON_STRICT, "{s:s, s:s}", "mac", &mac, "bridge", &bridge) <
            0)
            return tern_error_set(TERN_ERR_INVALID, "invalid instance \"%s\": network %zu: %s",
                                  inst->uuid, i, jerr.text);
        itf = &inst->interfaces[inst->n_interfaces++];
        itf->mac = tern_strdup(mac);
        itf->bridge = tern_strdup(bridge);
        itf->filter_name = virt_instance_filter_name(inst->uuid);
    }
    return 0;
}

/* The INSTANCE view's limits (the conductor's server_create refuses more). */
#define INSTANCE_MEMORY_MB_MAX 1048576
#define INSTANCE_VCPUS_MAX 256
#define INSTANCE_DISK_GB_MAX 65536

/* instance_fields: the conductor's INSTANCE view (conductor/API.md), strictly: every key known,
 * each of its type; the strings borrowed, the arrays and objects borrowed. */
typedef struct instance_fields {
    const char *uuid, *name, *image;
    json_int_t power_state, memory_mb, vcpus, disk_gb;
    json_t *volumes, *networks, *rules, *workload;
    json_t *nullable[8]; /* host, node, vm_state, task_state, project_id, user_id, created_at,
                          * updated_at: a string or null (the compute reads none of them) */
} instance_fields_t;

static const char *const nullable_names[] = {"host",       "node",    "vm_state",   "task_state",
                                             "project_id", "user_id", "created_at", "updated_at"};

/* The INSTANCE view's keys and types, to name a key of the wrong type. */
static const compute_json_field_t instance_types[] = {
    {"uuid", JSON_STRING},         {"name", JSON_STRING},
    {"host", JSON_NULL},           {"node", JSON_NULL},
    {"vm_state", JSON_NULL},       {"task_state", JSON_NULL},
    {"power_state", JSON_INTEGER}, {"memory_mb", JSON_INTEGER},
    {"vcpus", JSON_INTEGER},       {"disk_gb", JSON_INTEGER},
    {"image", JSON_STRING},        {"project_id", JSON_NULL},
    {"user_id", JSON_NULL},        {"volumes", JSON_ARRAY},
    {"networks", JSON_ARRAY},      {"security_group_rules", JSON_ARRAY},
    {"workload", JSON_OBJECT},     {"created_at", JSON_NULL},
    {"updated_at", JSON_NULL},
};

static int
instance_unpack(const json_t *instance, instance_fields_t *f)
{
    json_error_t jerr;
    json_t **n = f->nullable;

    memset(f, 0, sizeof(*f));
    if (json_unpack_ex((json_t *)instance, &jerr, JSON_STRICT,
                       "{s:s, s:s, s?o, s?o, s?o, s?o, s?I, s:I, s:I, s:I, s:s, s?o, s?o, s?o, "
                       "s?o, s?o, s?o, s?o, s?o}",
                       "uuid", &f->uuid, "name", &f->name, "host", &n[0], "node", &n[1], "vm_state",
                       &n[2], "task_state", &n[3], "power_state", &f->power_state, "memory_mb",
                       &f->memory_mb, "vcpus", &f->vcpus, "disk_gb", &f->disk_gb, "image",
                       &f->image, "project_id", &n[4], "user_id", &n[5], "volumes", &f->volumes,
                       "networks", &f->networks, "security_group_rules", &f->rules, "workload",
                       &f->workload, "created_at", &n[6], "updated_at", &n[7]) < 0)
        return compute_json_check(instance, "instance", instance_types,
                                  TERN_N_ELEMENTS(instance_types), &jerr);
    for (size_t i = 0; i < TERN_N_ELEMENTS(f->nullable); i++) {
        if (n[i] && !json_is_string(n[i]) && !json_is_null(n[i]))
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid instance: field \"%s\": expected a string or null",
                                  nullable_names[i]);
    }
    if (!tern_uuid_valid(f->uuid))
        return tern_error_set(TERN_ERR_INVALID, "invalid instance: field \"uuid\" is not a UUID");
    /* no silent truncation: out of range is an error, not a smaller guest */
    if (f->memory_mb < 1 || f->memory_mb > INSTANCE_MEMORY_MB_MAX || f->vcpus < 1 ||
        f->vcpus > INSTANCE_VCPUS_MAX || f->disk_gb < 0 || f->disk_gb > INSTANCE_DISK_GB_MAX)
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid instance \"%s\": memory_mb %lld (1..%d), vcpus %lld (1..%d) "
                              "or disk_gb %lld (0..%d) out of range",
                              f->uuid, (long long)f->memory_mb, INSTANCE_MEMORY_MB_MAX,
                              (long long)f->vcpus, INSTANCE_VCPUS_MAX, (long long)f->disk_gb,
                              INSTANCE_DISK_GB_MAX);
    if (!image_name_valid(f->image))
        return tern_error_set(TERN_ERR_INVALID, "invalid instance \"%s\": bad image name", f->uuid);
    if ((f->volumes && !json_is_array(f->volumes)) ||
        (f->networks && !json_is_array(f->networks)) || (f->rules && !json_is_array(f->rules)) ||
        (f->workload && !json_is_object(f->workload)))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid instance \"%s\": \"volumes\", \"networks\" and "
                              "\"security_group_rules\" must be arrays, \"workload\" an object",
                              f->uuid);
    return 0;
}

virt_instance_t *
compute_instance_from_json(const compute_manager_t *mgr, const json_t *instance)
{
    instance_fields_t f;
    virt_instance_t *inst;
    TERN_AUTOFREE char *dir = NULL;

    if (instance_unpack(instance, &f) < 0)
        return NULL;
    inst = tern_calloc(1, sizeof(*inst));
    tern_strlcpy(inst->uuid, f.uuid, sizeof(inst->uuid));
    /* the domain is named after the uuid: user names may clash across projects */
    inst->name = tern_asprintf("instance-%s", f.uuid);
    inst->memory_mb = (uint32_t)f.memory_mb;
    inst->vcpus = (uint32_t)f.vcpus;
    dir = base_dir(mgr, f.image);
    inst->kernel = tern_asprintf("%s/vmlinuz", dir);
    inst->initrd = tern_asprintf("%s/initrd.img", dir);
    inst->cmdline = instance_cmdline(dir, f.workload);
    inst->serial_log = tern_asprintf("%s/%s/console.log", mgr->cfg.instances_path, f.uuid);
    inst->disks = tern_calloc(VIRT_DISKS_MAX, sizeof(virt_disk_t));
    if (add_root_disk(mgr, inst, f.image, f.disk_gb) < 0 || add_volumes(inst, f.volumes) < 0 ||
        add_interfaces(inst, f.networks) < 0) {
        virt_instance_free(inst);
        return NULL;
    }
    return inst;
}

void
compute_config_clear(compute_config_t *cfg)
{
    free(cfg->host);
    free(cfg->instances_path);
    free(cfg->image_store_path);
    free(cfg->libvirt_uri);
    free(cfg->virt_type);
    free(cfg->migration_scheme);
    free(cfg->migration_inbound_addr);
    free(cfg->trusted_users);
    free(cfg->hooks_dir);
    free(cfg->volume_roots);
    free(cfg->cpu_mode);
    for (size_t i = 0; cfg->cpu_models && cfg->cpu_models[i]; i++)
        free(cfg->cpu_models[i]);
    free(cfg->cpu_models);
    for (size_t i = 0; cfg->cpu_extra_flags && cfg->cpu_extra_flags[i]; i++)
        free(cfg->cpu_extra_flags[i]);
    free(cfg->cpu_extra_flags);
    for (size_t i = 0; cfg->allowed_bridges && cfg->allowed_bridges[i]; i++)
        free(cfg->allowed_bridges[i]);
    free(cfg->allowed_bridges);
    memset(cfg, 0, sizeof(*cfg));
}
