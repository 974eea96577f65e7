/*
 * compute/checks.c: the host-side live-migration checks.
 *
 * get_guest_cpu runs on the source: the CPU of the running guest, from its live XML (as libvirt
 * expanded it when the guest started). check_can_live_migrate_destination runs on the
 * destination: can this host run that CPU, how much disk it has, and it leaves a probe file in its instances path so that the source can
 * tell whether the two share that path. check_can_live_migrate_source runs on the source: it looks
 * for the probe, decides block migration ("auto" = block unless shared), and applies the storage
 * precautions: shared and read-only disks are never copied, a raw host block device cannot be
 * block-migrated, an instance directory shared with the destination is never block-copied onto
 * itself, and the destination must have room for what is copied.
 *
 * Owns nothing across calls.
 */
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/util.h"
#include "compute/compute.h"

/* migration_uris: this host's libvirt URI for peers and its migration address. */
static void
migration_uris(const compute_manager_t *mgr, char **ret_uri, char **ret_addr)
{
    const char *scheme =
        tern_str_empty(mgr->cfg.migration_scheme) ? "tcp" : mgr->cfg.migration_scheme;
    const char *addr = tern_str_empty(mgr->cfg.migration_inbound_addr)
                           ? mgr->cfg.host
                           : mgr->cfg.migration_inbound_addr;

    *ret_uri = tern_asprintf("qemu+%s://%s/system", scheme, addr);
    *ret_addr = tern_strdup(addr);
}

int
compute_get_guest_cpu(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    const char *uuid = NULL;
    virt_guest_cpu_t cpu = {0};
    json_error_t jerr;
    int rc;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s}", "uuid", &uuid) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to get_guest_cpu: %s",
                              jerr.text);
    if (!tern_uuid_valid(uuid))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to get_guest_cpu: \"%s\" is "
                              "not a uuid",
                              uuid);
    pthread_mutex_lock(&mgr->virt_lock);
    rc = virt_get_guest_cpu(mgr->virt, uuid, &cpu);
    pthread_mutex_unlock(&mgr->virt_lock);
    if (rc < 0)
        return tern_error_prefix("on host \"%s\"", mgr->cfg.host);
    *ret_result = json_pack("{s:o}", "guest_cpu", virt_guest_cpu_to_json(&cpu));
    virt_guest_cpu_clear(&cpu);
    return 0;
}

/* check_guest_cpu: can this host run the guest's CPU as the source read it? Judged the way
 * libvirt will when the migration starts (virt_check_guest_cpu); the source host's own CPU
 * matters only for a host-passthrough guest. */
static int
check_guest_cpu(compute_manager_t *mgr, const char *uuid, const char *source_host,
                const virt_guest_cpu_t *cpu)
{
    virt_cpu_compare_t cmp = {0};

    if (virt_check_guest_cpu(mgr->virt, cpu, &cmp) < 0)
        return tern_error_prefix("could not check the CPU of instance \"%s\" on host \"%s\"", uuid,
                                 mgr->cfg.host);
    if (!cmp.compatible)
        return tern_error_set(TERN_ERR_CHECK_FAILED,
                              "destination host \"%s\" cannot run the %sCPU of instance \"%s\" "
                              "from host \"%s\": %s",
                              mgr->cfg.host,
                              tern_streq(cpu->mode, "host-passthrough") ? "host-passthrough " : "",
                              uuid, source_host, cmp.reason);
    return 0;
}

int
compute_check_can_live_migrate_destination(void *opaque, const rpc_request_t *req,
                                           json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance = NULL, *block = NULL, *cpu_json = NULL;
    const char *source_host = NULL;
    virt_host_info_t info = {0};
    virt_guest_cpu_t cpu = {0};
    TERN_AUTOFREE char *probe = NULL;
    TERN_AUTOFREE char *uri = NULL;
    TERN_AUTOFREE char *addr = NULL;
    json_error_t jerr;
    const char *uuid;
    int rc = -1;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o, s:o, s:s, s:o}", "instance", &instance,
                       "block_migration", &block, "source_host", &source_host, "guest_cpu",
                       &cpu_json) < 0)
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to check_can_live_migrate_destination: %s",
                              jerr.text);
    uuid = json_string_value(json_object_get(instance, "uuid"));
    if (!uuid)
        return tern_error_set(TERN_ERR_INVALID, "invalid instance: field \"uuid\" missing");
    if (virt_guest_cpu_from_json(cpu_json, &cpu) < 0)
        return tern_error_prefix("invalid arguments to check_can_live_migrate_destination");

    pthread_mutex_lock(&mgr->virt_lock);
    if (virt_get_host_info(mgr->virt, &info) < 0 ||
        check_guest_cpu(mgr, uuid, source_host, &cpu) < 0 ||
        virt_shared_probe_create(mgr->virt, &probe) < 0)
        goto cleanup;
    migration_uris(mgr, &uri, &addr);
    *ret_result = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:s}", "host", mgr->cfg.host, "libvirt_uri", uri,
        "migration_address", addr, "disk_available_bytes", (json_int_t)info.disk_free_bytes,
        "shared_probe", probe, "hypervisor_type", info.hypervisor_type, "hypervisor_version",
        (json_int_t)info.hypervisor_version, "instances_path", mgr->cfg.instances_path);
    rc = 0;

cleanup:
    pthread_mutex_unlock(&mgr->virt_lock);
    virt_host_info_clear(&info);
    virt_guest_cpu_clear(&cpu);
    return rc;
}

int
compute_cleanup_live_migration_destination_check(void *opaque, const rpc_request_t *req,
                                                 json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    const char *probe = json_string_value(
        json_object_get(json_object_get(req->args, "dest_check_data"), "shared_probe"));
    int rc;

    if (!probe)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to "
                                                "cleanup_live_migration_destination_check: "
                                                "\"dest_check_data.shared_probe\" missing");
    pthread_mutex_lock(&mgr->virt_lock);
    rc = virt_shared_probe_remove(mgr->virt, probe);
    pthread_mutex_unlock(&mgr->virt_lock);
    if (rc == 0)
        *ret_result = json_object();
    return rc;
}

/* decide_block_migration: apply "auto" and refuse the contradictory requests. */
static int
decide_block_migration(const char *uuid, const char *dest, const json_t *requested, bool shared,
                       bool *ret_block)
{
    if (json_is_null(requested)) {
        *ret_block = !shared;
        return 0;
    }
    if (json_is_true(requested) && shared)
        return tern_error_set(TERN_ERR_CHECK_FAILED,
                              "cannot block-migrate instance \"%s\" to host \"%s\": its instance "
                              "directory is on storage shared with that host (the source and "
                              "destination images would be the same file)",
                              uuid, dest);
    if (json_is_false(requested) && !shared)
        return tern_error_set(TERN_ERR_CHECK_FAILED,
                              "cannot live-migrate instance \"%s\" to host \"%s\" without block "
                              "migration: its disks are not on storage shared with that host",
                              uuid, dest);
    *ret_block = json_is_true(requested);
    return 0;
}

/* plan_disks: which disks are copied and which are not (and why); refuse raw host devices.
 * Returns the bytes to copy in *ret_bytes. */
static int
plan_disks(const virt_instance_t *inst, bool block, json_t *copy, json_t *skipped,
           uint64_t *ret_bytes)
{
    uint64_t bytes = 0;

    for (size_t i = 0; i < inst->n_disks; i++) {
        const virt_disk_t *d = &inst->disks[i];
        const char *reason = NULL;
        struct stat st;

        if (d->is_volume)
            reason = "volume on shared storage";
        else if (d->shared)
            reason = "shared disk";
        else if (d->readonly)
            reason = "read-only disk";
        else if (!block)
            reason = "instance directory shared with the destination";
        if (reason) {
            json_array_append_new(skipped, json_pack("{s:s, s:s, s:s}", "target", d->target, "path",
                                                     d->path, "reason", reason));
            continue;
        }
        if (strncmp(d->path, "/dev/", 5) == 0 || (stat(d->path, &st) == 0 && S_ISBLK(st.st_mode)))
            return tern_error_set(TERN_ERR_CHECK_FAILED,
                                  "cannot block-migrate instance \"%s\": disk \"%s\" is the raw "
                                  "host block device \"%s\"",
                                  inst->uuid, d->target, d->path);
        if (stat(d->path, &st) == 0)
            bytes += (uint64_t)st.st_blocks * 512;
        json_array_append_new(copy, json_pack("{s:s, s:s, s:s, s:s?, s:I}", "target", d->target,
                                              "path", d->path, "format", d->format, "backing_file",
                                              d->backing_file, "virtual_size",
                                              (json_int_t)d->virtual_size_bytes));
    }
    *ret_bytes = bytes;
    return 0;
}

int
compute_check_can_live_migrate_source(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance = NULL, *dest_data = NULL, *requested = NULL;
    virt_instance_t *inst = NULL;
    json_t *copy = json_array(), *skipped = json_array();
    const char *probe, *dest;
    json_int_t dest_free;
    uint64_t bytes = 0;
    bool shared = false, block = false;
    json_error_t jerr;
    int rc = -1;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o, s:o, s:o}", "instance", &instance,
                       "dest_check_data", &dest_data, "block_migration", &requested) < 0) {
        tern_error_set(TERN_ERR_INVALID, "invalid arguments to check_can_live_migrate_source: %s",
                       jerr.text);
        goto cleanup;
    }
    probe = json_string_value(json_object_get(dest_data, "shared_probe"));
    dest = json_string_value(json_object_get(dest_data, "host"));
    dest_free = json_integer_value(json_object_get(dest_data, "disk_available_bytes"));
    if (!probe || !dest) {
        tern_error_set(TERN_ERR_INVALID, "invalid arguments to check_can_live_migrate_source: "
                                         "\"dest_check_data\" lacks \"shared_probe\" or \"host\"");
        goto cleanup;
    }
    if (!(inst = compute_instance_from_json(mgr, instance)))
        goto cleanup;

    pthread_mutex_lock(&mgr->virt_lock);
    rc = virt_check_shared_path(mgr->virt, probe, &shared);
    pthread_mutex_unlock(&mgr->virt_lock);
    if (rc < 0)
        goto cleanup;
    rc = -1;
    if (decide_block_migration(inst->uuid, dest, requested, shared, &block) < 0 ||
        plan_disks(inst, block, copy, skipped, &bytes) < 0)
        goto cleanup;
    if (block && (json_int_t)bytes > dest_free) {
        tern_error_set(TERN_ERR_CHECK_FAILED,
                       "not enough disk on host \"%s\" for instance \"%s\": %llu MiB to copy, "
                       "%lld MiB free",
                       dest, inst->uuid, (unsigned long long)(bytes >> 20),
                       (long long)(dest_free >> 20));
        goto cleanup;
    }
    *ret_result = json_deep_copy(dest_data);
    json_object_set_new(*ret_result, "source_host", json_string(mgr->cfg.host));
    json_object_set_new(*ret_result, "is_shared_instance_path", json_boolean(shared));
    json_object_set_new(*ret_result, "block_migration", json_boolean(block));
    json_object_set_new(*ret_result, "disks", json_incref(copy));
    json_object_set_new(*ret_result, "skipped_disks", json_incref(skipped));
    json_object_set_new(*ret_result, "bytes_to_copy", json_integer((json_int_t)bytes));
    rc = 0;

cleanup:
    virt_instance_free(inst);
    json_decref(copy);
    json_decref(skipped);
    return rc;
}
