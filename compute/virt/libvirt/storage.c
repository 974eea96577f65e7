/*
 * compute/virt/libvirt/storage.c: instance directories and disks on the host's instances path.
 *
 * Disks are files under <instances_path>/<uuid>/, usually qcow2 overlays on a base image in the
 * shared <instances_path>/_base/ (so an incremental block migration, NON_SHARED_INC, copies only
 * the overlay). They are made with qemu-img from an argv array; the backing path written into the
 * overlay is the one libvirtd sees, while this process checks files through its own view
 * (virt_libvirt_local_path).
 *
 * Shared storage is detected as nova does: the destination creates a uniquely named probe file in
 * its instances path and the source looks for it in its own.
 *
 * Ownership: returned strings are new; nothing is kept between calls.
 */
#include "compute/virt/libvirt/libvirt_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

#define PROBE_PREFIX "tern-shared-probe-"

typedef struct {
    char format[16];
    uint64_t virtual_size;
} image_info_t;

/* image_info: format and virtual size of the image at local_path (qemu-img info). */
static int
image_info(const virt_driver_t *drv, const char *local_path, image_info_t *ret)
{
    const char *argv[] = {drv->opts.qemu_img, "info", "-U", "--output=json", local_path, NULL};
    tern_command_result_t res = {0};
    json_error_t jerr;
    json_t *json;
    const char *format = NULL;
    json_int_t size = 0;
    int rc;

    if (virt_libvirt_run(drv, argv, &res) < 0) {
        tern_command_result_clear(&res);
        return tern_error_prefix("could not inspect image \"%s\"", local_path);
    }
    json = json_loads(res.out, 0, &jerr);
    tern_command_result_clear(&res);
    if (!json)
        return tern_error_set(TERN_ERR_VIRT, "could not inspect image \"%s\": bad qemu-img output",
                              local_path);
    rc = json_unpack_ex(json, &jerr, 0, "{s:s, s:I}", "format", &format, "virtual-size", &size);
    if (rc == 0)
        tern_strlcpy(ret->format, format, sizeof(ret->format));
    ret->virtual_size = (uint64_t)size;
    json_decref(json);
    if (rc < 0)
        return tern_error_set(TERN_ERR_VIRT, "could not inspect image \"%s\": %s", local_path,
                              jerr.text);
    return 0;
}

static bool
file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* create_disk: make one missing local disk. */
static int
create_disk(virt_driver_t *drv, const virt_instance_t *inst, const virt_disk_t *d,
            const char *local)
{
    char size[32];
    TERN_AUTOFREE char *dir = tern_strdup(local);
    uint64_t vsize = d->virtual_size_bytes;

    *strrchr(dir, '/') = '\0';
    if (*dir && tern_mkdir_p(dir, 0755) < 0)
        return -1;
    if (d->backing_file) {
        TERN_AUTOFREE char *local_backing = virt_libvirt_local_path(drv, d->backing_file);
        image_info_t binfo;

        if (!file_exists(local_backing))
            return tern_error_set(TERN_ERR_NOT_FOUND,
                                  "backing file \"%s\" of disk \"%s\" does not exist",
                                  d->backing_file, d->target);
        if (image_info(drv, local_backing, &binfo) < 0)
            return -1;
        if (vsize == 0)
            vsize = binfo.virtual_size;
        snprintf(size, sizeof(size), "%llu", (unsigned long long)vsize);
        {
            const char *argv[] = {
                drv->opts.qemu_img, "create", "-q",  "-f", "qcow2", "-F", binfo.format, "-b",
                d->backing_file,    "-u",     local, size, NULL};

            if (virt_libvirt_run(drv, argv, NULL) < 0)
                return tern_error_prefix("could not create disk \"%s\"", d->target);
        }
        return 0;
    }
    snprintf(size, sizeof(size), "%llu", (unsigned long long)vsize);
    {
        const char *argv[] = {drv->opts.qemu_img, "create", "-q", "-f",
                              d->format,          local,    size, NULL};

        if (virt_libvirt_run(drv, argv, NULL) < 0)
            return tern_error_prefix("could not create disk \"%s\"", d->target);
    }
    return 0;
}

/* check_existing: a disk already present for an incoming migration must match. */
static int
check_existing(virt_driver_t *drv, const virt_instance_t *inst, const virt_disk_t *d,
               const char *local)
{
    image_info_t info;

    if (image_info(drv, local, &info) < 0)
        return -1;
    if (!tern_streq(info.format, d->format) ||
        (d->virtual_size_bytes && info.virtual_size != d->virtual_size_bytes))
        return tern_error_set(TERN_ERR_CONFLICT,
                              "disk \"%s\" already exists at \"%s\" as %s of %llu bytes, not %s "
                              "of %llu bytes",
                              d->target, d->path, info.format,
                              (unsigned long long)info.virtual_size, d->format,
                              (unsigned long long)d->virtual_size_bytes);
    return 0;
}

int
virt_libvirt_create_disks(virt_driver_t *drv, const virt_instance_t *inst, bool for_migration)
{
    if (virt_libvirt_create_instance_dir(drv, inst->uuid) < 0)
        return -1;
    if (inst->serial_log) {
        TERN_AUTOFREE char *log = virt_libvirt_local_path(drv, inst->serial_log);

        *strrchr(log, '/') = '\0';
        if (*log && tern_mkdir_p(log, 0755) < 0)
            return -1;
    }
    for (size_t i = 0; i < inst->n_disks; i++) {
        const virt_disk_t *d = &inst->disks[i];
        TERN_AUTOFREE char *local = virt_libvirt_local_path(drv, d->path);
        bool exists = file_exists(local);

        if (d->is_volume)
            continue; /* attached by the block-storage service, never created here */
        if (for_migration && d->shared)
            continue; /* the source's file is this one */
        if (d->readonly) {
            if (!exists)
                return tern_error_set(TERN_ERR_NOT_FOUND,
                                      "read-only disk \"%s\" is missing at \"%s\" and cannot be "
                                      "created",
                                      d->target, d->path);
            continue;
        }
        if (exists) {
            if (for_migration && check_existing(drv, inst, d, local) < 0)
                return -1;
            continue;
        }
        if (create_disk(drv, inst, d, local) < 0)
            return -1;
    }
    return 0;
}

int
virt_libvirt_create_instance_dir(virt_driver_t *drv, const char *uuid)
{
    TERN_AUTOFREE char *dir = NULL;
    TERN_AUTOFREE char *local = NULL;

    if (!tern_uuid_valid(uuid))
        return tern_error_set(TERN_ERR_INVALID, "invalid instance uuid \"%s\"", uuid ? uuid : "");
    dir = virt_instance_dir(drv, uuid);
    local = virt_libvirt_local_path(drv, dir);
    return tern_mkdir_p(local, 0755);
}

int
virt_libvirt_pre_create_disks(virt_driver_t *drv, const virt_instance_t *inst)
{
    if (virt_libvirt_create_disks(drv, inst, true) < 0)
        return tern_error_prefix("could not pre-create the disks of instance \"%s\"", inst->uuid);
    return 0;
}

int
virt_libvirt_delete_instance_files(virt_driver_t *drv, const char *uuid)
{
    TERN_AUTOFREE char *dir = NULL;
    TERN_AUTOFREE char *local = NULL;

    if (!tern_uuid_valid(uuid))
        return tern_error_set(TERN_ERR_INVALID, "invalid instance uuid \"%s\"", uuid ? uuid : "");
    dir = virt_instance_dir(drv, uuid);
    local = virt_libvirt_local_path(drv, dir);
    if (tern_remove_tree(local) < 0)
        return tern_error_prefix("could not delete the files of instance \"%s\"", uuid);
    return 0;
}

/* probe_path: the local path of probe `name`, or NULL (error set) when the name is not ours. */
static char *
probe_path(virt_driver_t *drv, const char *name)
{
    if (!name || strncmp(name, PROBE_PREFIX, strlen(PROBE_PREFIX)) != 0 ||
        !tern_uuid_valid(name + strlen(PROBE_PREFIX))) {
        tern_error_set(TERN_ERR_INVALID, "invalid shared-storage probe name \"%s\"",
                       name ? name : "");
        return NULL;
    }
    return tern_asprintf("%s/%s", drv->opts.local_instances_path, name);
}

int
virt_libvirt_shared_probe_create(virt_driver_t *drv, char **ret_name)
{
    char uuid[37];
    TERN_AUTOFREE char *name = NULL;
    TERN_AUTOFREE char *path = NULL;
    int fd;

    tern_uuid_generate(uuid);
    name = tern_asprintf(PROBE_PREFIX "%s", uuid);
    path = probe_path(drv, name);
    if (tern_mkdir_p(drv->opts.local_instances_path, 0755) < 0)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return tern_error_set_errno(errno, "could not create shared-storage probe \"%s\"", path);
    close(fd);
    *ret_name = tern_steal_pointer(&name);
    return 0;
}

int
virt_libvirt_check_shared_path(virt_driver_t *drv, const char *name, bool *ret_shared)
{
    TERN_AUTOFREE char *path = probe_path(drv, name);

    if (!path)
        return -1;
    if (access(path, F_OK) == 0) {
        *ret_shared = true;
        return 0;
    }
    if (errno != ENOENT)
        return tern_error_set_errno(errno, "could not look for shared-storage probe \"%s\"", path);
    *ret_shared = false;
    return 0;
}

int
virt_libvirt_shared_probe_remove(virt_driver_t *drv, const char *name)
{
    TERN_AUTOFREE char *path = probe_path(drv, name);

    if (!path)
        return -1;
    if (unlink(path) < 0 && errno != ENOENT)
        return tern_error_set_errno(errno, "could not remove shared-storage probe \"%s\"", path);
    return 0;
}
