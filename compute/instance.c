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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/command.h"
#include "common/error.h"
#include "common/util.h"
#include "compute/compute.h"

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
        const char *argv[] = {"rm", "-rf", tmp_dir, NULL};

        tern_command_run(argv, 60000, NULL);
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
        const char *id = json_string_value(json_object_get(vol, "volume_id"));
        const char *device = json_string_value(json_object_get(vol, "device"));
        json_t *conn = json_object_get(vol, "connection_info");
        const char *path = json_string_value(json_object_get(conn, "path"));
        virt_disk_t *d;

        if (!id || !device || !path || path[0] != '/')
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid instance \"%s\": volume %zu needs \"volume_id\", "
                                  "\"device\" and an absolute \"connection_info.path\"",
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
        const char *mac = json_string_value(json_object_get(net, "mac"));
        const char *bridge = json_string_value(json_object_get(net, "bridge"));
        virt_interface_t *itf = &inst->interfaces[inst->n_interfaces++];

        if (!mac || !bridge)
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid instance \"%s\": network %zu needs \"mac\" and "
                                  "\"bridge\"",
                                  inst->uuid, i);
        itf->mac = tern_strdup(mac);
        itf->bridge = tern_strdup(bridge);
        itf->filter_name = virt_instance_filter_name(inst->uuid);
    }
    return 0;
}

virt_instance_t *
compute_instance_from_json(const compute_manager_t *mgr, const json_t *instance)
{
    const char *uuid = json_string_value(json_object_get(instance, "uuid"));
    const char *name = json_string_value(json_object_get(instance, "name"));
    const char *image = json_string_value(json_object_get(instance, "image"));
    json_t *memory = json_object_get(instance, "memory_mb");
    json_t *vcpus = json_object_get(instance, "vcpus");
    json_int_t disk_gb = json_integer_value(json_object_get(instance, "disk_gb"));
    virt_instance_t *inst;
    TERN_AUTOFREE char *dir = NULL;

    if (!json_is_object(instance) || !tern_uuid_valid(uuid)) {
        tern_error_set(TERN_ERR_INVALID, "invalid instance: field \"uuid\" is not a UUID");
        return NULL;
    }
    if (!image_name_valid(image) || !json_is_integer(memory) || !json_is_integer(vcpus) ||
        json_integer_value(memory) <= 0 || json_integer_value(vcpus) <= 0 || disk_gb < 0) {
        tern_error_set(TERN_ERR_INVALID,
                       "invalid instance \"%s\": needs a valid \"image\", positive \"memory_mb\" "
                       "and \"vcpus\", and \"disk_gb\" >= 0",
                       uuid);
        return NULL;
    }
    inst = tern_calloc(1, sizeof(*inst));
    tern_strlcpy(inst->uuid, uuid, sizeof(inst->uuid));
    inst->name = tern_asprintf("instance-%s", uuid);
    (void)name; /* the domain is named after the uuid: user names may clash across projects */
    inst->memory_mb = (uint32_t)json_integer_value(memory);
    inst->vcpus = (uint32_t)json_integer_value(vcpus);
    dir = base_dir(mgr, image);
    inst->kernel = tern_asprintf("%s/vmlinuz", dir);
    inst->initrd = tern_asprintf("%s/initrd.img", dir);
    inst->cmdline = instance_cmdline(dir, json_object_get(instance, "workload"));
    inst->serial_log = tern_asprintf("%s/%s/console.log", mgr->cfg.instances_path, uuid);
    inst->disks = tern_calloc(VIRT_DISKS_MAX, sizeof(virt_disk_t));
    if (add_root_disk(mgr, inst, image, disk_gb) < 0 ||
        add_volumes(inst, json_object_get(instance, "volumes")) < 0 ||
        add_interfaces(inst, json_object_get(instance, "networks")) < 0) {
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
    free(cfg->cpu_mode);
    for (size_t i = 0; cfg->cpu_models && cfg->cpu_models[i]; i++)
        free(cfg->cpu_models[i]);
    free(cfg->cpu_models);
    for (size_t i = 0; cfg->cpu_extra_flags && cfg->cpu_extra_flags[i]; i++)
        free(cfg->cpu_extra_flags[i]);
    free(cfg->cpu_extra_flags);
    memset(cfg, 0, sizeof(*cfg));
}
