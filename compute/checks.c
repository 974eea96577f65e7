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

#include "common/json.h"
#include "common/error.h"
#include "common/identity.h"
#include "common/util.h"
#include "compute/compute.h"
#include "compute/json_check.h"

/* The handlers' arguments and their types (compute/API.md), to name a key of the wrong type. */
static const compute_json_field_t uuid_args[] = {{"uuid", JSON_STRING}};
static const compute_json_field_t dest_check_args[] = {
    {"instance", JSON_OBJECT}, {"source_host", JSON_STRING}, {"guest_cpu", JSON_OBJECT}};
static const compute_json_field_t cleanup_args[] = {{"dest_check_data", JSON_OBJECT}};
static const compute_json_field_t source_check_args[] = {{"instance", JSON_OBJECT},
                                                         {"dest_check_data", JSON_OBJECT}};

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
        return compute_json_check(req->args, "arguments to get_guest_cpu",
                                  COMPUTE_JSON_FIELDS(uuid_args), &jerr);
    if (!tern_uuid_valid(uuid))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to get_guest_cpu: \"%s\" is "
                              "not a uuid",
                              uuid);
    rc = virt_get_guest_cpu(mgr->virt, uuid, &cpu);
    if (rc < 0)
        return -1; /* names the instance; the caller names this host */
    *ret_result = tern_json_pack("{s:o}", "guest_cpu", virt_guest_cpu_to_json(&cpu));
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
        return tern_error_prefix("could not check the CPU of instance \"%s\"", uuid);
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
    virt_instance_t *inst;
    char uuid[VIRT_UUID_LEN + 1];
    json_error_t jerr;
    int rc = -1;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o, s:o, s:s, s:o}", "instance", &instance,
                       "block_migration", &block, "source_host", &source_host, "guest_cpu",
                       &cpu_json) < 0 ||
        compute_json_check(req->args, "arguments to check_can_live_migrate_destination",
                           COMPUTE_JSON_FIELDS(dest_check_args), NULL) < 0)
        return compute_json_check(req->args, "arguments to check_can_live_migrate_destination",
                                  COMPUTE_JSON_FIELDS(dest_check_args), &jerr);
    if (!json_is_boolean(block) && !json_is_null(block))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to check_can_live_migrate_destination: "
                              "\"block_migration\" must be true, false or null");
    if (!tern_host_name_ok(source_host))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to check_can_live_migrate_destination: "
                              "\"source_host\" is not a host name");
    if (!(inst = compute_instance_from_json(mgr, instance)))
        return -1;
    memcpy(uuid, inst->uuid, sizeof(uuid));
    virt_instance_free(inst);
    if (virt_guest_cpu_from_json(cpu_json, &cpu) < 0)
        return tern_error_prefix("invalid arguments to check_can_live_migrate_destination");

    if (virt_get_host_info(mgr->virt, &info) < 0 ||
        check_guest_cpu(mgr, uuid, source_host, &cpu) < 0 ||
        virt_shared_probe_create(mgr->virt, &probe) < 0)
        goto cleanup;
    migration_uris(mgr, &uri, &addr);
    {
        const compute_dest_check_data_t found = {
            .host = mgr->cfg.host,
            .libvirt_uri = uri,
            .migration_address = addr,
            .disk_available_bytes = (int64_t)info.disk_free_bytes,
            .shared_probe = probe,
            .hypervisor_type = info.hypervisor_type,
            .hypervisor_version = (int64_t)info.hypervisor_version,
            .instances_path = mgr->cfg.instances_path,
        }; /* borrowed strings: only serialised */

        *ret_result = compute_dest_check_data_to_json(&found);
    }
    rc = 0;

cleanup:
    virt_host_info_clear(&info);
    virt_guest_cpu_clear(&cpu);
    return rc;
}

int
compute_cleanup_live_migration_destination_check(void *opaque, const rpc_request_t *req,
                                                 json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    compute_dest_check_data_t data;
    json_t *json = NULL;
    json_error_t jerr;
    int rc;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o}", "dest_check_data", &json) < 0 ||
        compute_json_check(req->args, "arguments to cleanup_live_migration_destination_check",
                           COMPUTE_JSON_FIELDS(cleanup_args), NULL) < 0)
        return compute_json_check(req->args,
                                  "arguments to cleanup_live_migration_destination_check",
                                  COMPUTE_JSON_FIELDS(cleanup_args), &jerr);
    if (compute_dest_check_data_from_json(json,
                                          "\"dest_check_data\" of "
                                          "cleanup_live_migration_destination_check",
                                          &data) < 0)
        return -1;
    rc = virt_shared_probe_remove(mgr->virt, data.shared_probe);
    compute_dest_check_data_clear(&data);
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

/* plan_disks: which disks are copied and which are not (and why) into data's disks and
 * skipped disks; refuse raw host devices. data->bytes_to_copy: what the copy moves. */
static int
plan_disks(const virt_instance_t *inst, compute_migrate_data_t *data)
{
    data->disks = tern_calloc(inst->n_disks + 1, sizeof(*data->disks));
    data->skipped_disks = tern_calloc(inst->n_disks + 1, sizeof(*data->skipped_disks));
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
        else if (!data->block_migration)
            reason = "instance directory shared with the destination";
        if (reason) {
            data->skipped_disks[data->n_skipped_disks++] = (compute_skipped_disk_t){
                tern_strdup(d->target), tern_strdup(d->path), tern_strdup(reason)};
            continue;
        }
        if (strncmp(d->path, "/dev/", 5) == 0 || (stat(d->path, &st) == 0 && S_ISBLK(st.st_mode)))
            return tern_error_set(TERN_ERR_CHECK_FAILED,
                                  "cannot block-migrate instance \"%s\": disk \"%s\" is the raw "
                                  "host block device \"%s\"",
                                  inst->uuid, d->target, d->path);
        if (stat(d->path, &st) == 0)
            data->bytes_to_copy += (int64_t)st.st_blocks * 512;
        data->disks[data->n_disks++] = (compute_migrate_disk_t){
            tern_strdup(d->target), tern_strdup(d->path), tern_strdup(d->format),
            tern_strdup(d->backing_file), (int64_t)d->virtual_size_bytes};
    }
    return 0;
}

int
compute_check_can_live_migrate_source(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    compute_manager_t *mgr = opaque;
    json_t *instance = NULL, *dest_json = NULL, *requested = NULL;
    virt_instance_t *inst = NULL;
    compute_migrate_data_t data = {0};
    bool shared = false, block = false;
    json_error_t jerr;
    int rc = -1;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o, s:o, s:o}", "instance", &instance,
                       "dest_check_data", &dest_json, "block_migration", &requested) < 0 ||
        compute_json_check(req->args, "arguments to check_can_live_migrate_source",
                           COMPUTE_JSON_FIELDS(source_check_args), NULL) < 0)
        return compute_json_check(req->args, "arguments to check_can_live_migrate_source",
                                  COMPUTE_JSON_FIELDS(source_check_args), &jerr);
    if (!json_is_boolean(requested) && !json_is_null(requested))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to check_can_live_migrate_source: "
                              "\"block_migration\" must be true, false or null");
    if (compute_dest_check_data_from_json(
            dest_json, "\"dest_check_data\" of check_can_live_migrate_source", &data.dest) < 0 ||
        !(inst = compute_instance_from_json(mgr, instance)))
        goto cleanup;

    rc = virt_check_shared_path(mgr->virt, data.dest.shared_probe, &shared);
    if (rc < 0)
        goto cleanup;
    rc = -1;
    if (decide_block_migration(inst->uuid, data.dest.host, requested, shared, &block) < 0)
        goto cleanup;
    data.source_host = tern_strdup(mgr->cfg.host);
    data.is_shared_instance_path = shared;
    data.block_migration = block;
    if (plan_disks(inst, &data) < 0)
        goto cleanup;
    if (block && data.bytes_to_copy > data.dest.disk_available_bytes) {
        tern_error_set(TERN_ERR_CHECK_FAILED,
                       "not enough disk on host \"%s\" for instance \"%s\": %lld MiB to copy, "
                       "%lld MiB free",
                       data.dest.host, inst->uuid, (long long)(data.bytes_to_copy >> 20),
                       (long long)(data.dest.disk_available_bytes >> 20));
        goto cleanup;
    }
    *ret_result = compute_migrate_data_to_json(&data);
    rc = 0;

cleanup:
    virt_instance_free(inst);
    compute_migrate_data_clear(&data);
    return rc;
}
