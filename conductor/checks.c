/*
 * conductor/checks.c: the conductor's live-migration checks (see conductor/checks.h).
 *
 * Owns nothing; every check reads borrowed rows and reports the first thing wrong.
 */
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "conductor/checks.h"

int
conductor_find_instance(db_conn_t *db, const char *ref, db_instance_t *ret_instance)
{
    db_instance_t *list = NULL;
    size_t n = 0, found = 0, at = 0;

    if (tern_uuid_valid(ref)) {
        if (db_instance_get(db, ref, ret_instance) < 0)
            return -1;
        if (ret_instance->deleted_ms != 0) {
            db_instance_clear(ret_instance);
            return tern_error_set(TERN_ERR_NOT_FOUND, "instance \"%s\" was deleted", ref);
        }
        return 0;
    }
    if (db_instance_list(db, NULL, &list, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (tern_streq(list[i].name, ref)) {
            found++;
            at = i;
        }
    }
    if (found == 1) {
        *ret_instance = list[at];
        memset(&list[at], 0, sizeof(list[at]));
    }
    db_instance_list_free(list, n);
    if (found == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "no instance with uuid or name \"%s\"", ref);
    if (found > 1)
        return tern_error_set(TERN_ERR_CONFLICT, "%zu instances are named \"%s\": give the uuid",
                              found, ref);
    return 0;
}

int
conductor_check_instance_running(const db_instance_t *inst)
{
    if (!tern_streq(inst->vm_state, DB_VM_STATE_ACTIVE) || inst->power_state != DB_POWER_RUNNING)
        return tern_error_set(TERN_ERR_CHECK_FAILED,
                              "instance \"%s\" is not running: vm_state \"%s\", power state %d",
                              inst->uuid, inst->vm_state ? inst->vm_state : "", inst->power_state);
    if (tern_str_empty(inst->host))
        return tern_error_set(TERN_ERR_CHECK_FAILED, "instance \"%s\" has no host", inst->uuid);
    if (inst->task_state)
        return tern_error_set(TERN_ERR_CONFLICT, "instance \"%s\" is busy: task_state is \"%s\"",
                              inst->uuid, inst->task_state);
    if (inst->locked)
        return tern_error_set(TERN_ERR_CHECK_FAILED, "instance \"%s\" is locked", inst->uuid);
    return 0;
}

int
conductor_check_source_up(conductor_t *cond, db_conn_t *db, const db_instance_t *inst)
{
    db_service_t svc = {0};
    int rc = 0;

    if (db_service_get(db, inst->host, COMPUTE_BINARY, cond->cfg.service_down_time_s, &svc) < 0)
        return tern_error_prefix("source host \"%s\" of instance \"%s\"", inst->host, inst->uuid);
    /* A disabled source is fine: disabling a host and draining it is maintenance mode. */
    if (!svc.is_up)
        rc = tern_error_set(TERN_ERR_CHECK_FAILED,
                            "compute service of source host \"%s\" is down (no heartbeat for "
                            "more than %d s)",
                            inst->host, cond->cfg.service_down_time_s);
    db_service_clear(&svc);
    return rc;
}

int
conductor_check_destination_exists(db_conn_t *db, const char *host)
{
    db_compute_node_t node = {0};

    if (db_compute_node_get(db, host, NULL, &node) < 0) {
        if (tern_error_code() == TERN_ERR_NOT_FOUND)
            return tern_error_set(TERN_ERR_NOT_FOUND, "destination host \"%s\" does not exist",
                                  host);
        return -1;
    }
    db_compute_node_clear(&node);
    return 0;
}

int
conductor_check_destination_up(conductor_t *cond, db_conn_t *db, const char *host)
{
    db_service_t svc = {0};
    int rc = 0;

    if (db_service_get(db, host, COMPUTE_BINARY, cond->cfg.service_down_time_s, &svc) < 0) {
        if (tern_error_code() == TERN_ERR_NOT_FOUND)
            return tern_error_set(TERN_ERR_NOT_FOUND,
                                  "destination host \"%s\" runs no compute service", host);
        return -1;
    }
    if (!svc.is_up)
        rc = tern_error_set(TERN_ERR_CHECK_FAILED,
                            "compute service of destination host \"%s\" is down (no heartbeat "
                            "for more than %d s)",
                            host, cond->cfg.service_down_time_s);
    else if (svc.disabled)
        rc = tern_error_set(
            TERN_ERR_CHECK_FAILED, "compute service of destination host \"%s\" is disabled%s%s",
            host, svc.disabled_reason ? ": " : "", svc.disabled_reason ? svc.disabled_reason : "");
    db_service_clear(&svc);
    return rc;
}

int
conductor_check_hosts_differ(const db_instance_t *inst, const char *host)
{
    if (tern_streq(inst->host, host))
        return tern_error_set(TERN_ERR_CHECK_FAILED,
                              "instance \"%s\" already runs on host \"%s\": source and "
                              "destination must differ",
                              inst->uuid, host);
    return 0;
}

void
conductor_migration_needs(const db_instance_t *inst, bool with_disk, db_resources_t *ret)
{
    ret->memory_mb = inst->memory_mb;
    ret->vcpus = inst->vcpus;
    ret->disk_gb = with_disk ? inst->root_gb : 0;
}

int
conductor_check_destination_resources(db_conn_t *db, const db_instance_t *inst,
                                      const db_compute_node_t *dest, bool with_disk,
                                      db_resources_t *ret_free)
{
    TERN_AUTOFREE char *what = tern_asprintf("instance \"%s\"", inst->uuid);
    db_resources_t need;

    conductor_migration_needs(inst, with_disk, &need);
    return db_claim_preview(db, dest->host, dest->hypervisor_hostname, &need, what, ret_free);
}

int
conductor_check_hypervisor_compatible(const db_instance_t *inst, const db_compute_node_t *source,
                                      const db_compute_node_t *dest)
{
    if (!tern_streq(source->hypervisor_type, dest->hypervisor_type))
        return tern_error_set(TERN_ERR_CHECK_FAILED,
                              "cannot move instance \"%s\" from a %s host to host \"%s\" running "
                              "%s",
                              inst->uuid, source->hypervisor_type, dest->host,
                              dest->hypervisor_type);
    if (dest->hypervisor_version < source->hypervisor_version)
        return tern_error_set(TERN_ERR_CHECK_FAILED,
                              "cannot move instance \"%s\" to host \"%s\": its hypervisor version "
                              "%lld is older than the source's %lld",
                              inst->uuid, dest->host, (long long)dest->hypervisor_version,
                              (long long)source->hypervisor_version);
    return 0;
}
