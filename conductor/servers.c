/*
 * conductor/servers.c: servers (instances) - create, delete, list, show.
 *
 * Enough of nova's server API to set up real instances for live migration: image, memory,
 * vCPUs, disk, shared volumes (files on shared storage), networks (a bridge each), security-group
 * rules, a target host, and the test guest's workload parameters.
 * server_create records the instance, picks the host (the named one, or the up and enabled
 * compute with the most free memory), asks that compute to spawn it and marks it active; on
 * failure the instance is marked "error" and its host keeps nothing.
 * Owns nothing across calls.
 */
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/checks.h"
#include "conductor/conductor.h"
#include "conductor/validate.h"
#include "conductor/views.h"

#define SPAWN_TIMEOUT_MS (5 * 60 * 1000)

int
conductor_server_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host = NULL;
    db_instance_filter_t filter = {0};
    db_instance_t *list = NULL;
    size_t n = 0;
    json_error_t jerr;
    db_conn_t *db;
    json_t *arr;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s?s}", "host", &host) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to server_list: %s", jerr.text);
    filter.host = host;
    if (!(db = conductor_db(cond)) || db_instance_list(db, &filter, &list, &n) < 0)
        return -1;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *view = conductor_view_instance(db, &list[i]);

        if (!view) {
            json_decref(arr);
            db_instance_list_free(list, n);
            return -1;
        }
        json_array_append_new(arr, view);
    }
    db_instance_list_free(list, n);
    *ret_result = tern_json_pack("{s:o}", "servers", arr);
    return 0;
}

int
conductor_server_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *ref;
    db_instance_t inst = {0};
    json_error_t jerr;
    db_conn_t *db;
    json_t *view;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s}", "server", &ref) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to server_get: %s", jerr.text);
    if (!(db = conductor_db(cond)) || conductor_find_instance(db, ref, &inst) < 0)
        return -1;
    view = conductor_view_instance(db, &inst);
    db_instance_clear(&inst);
    if (!view)
        return -1;
    *ret_result = tern_json_pack("{s:o}", "server", view);
    return 0;
}

/* ---- create ---- */

/* pick_host: the named host when it is up and has room, else the up host with the most memory
 * left by the capacity rule (db/capacity.h, claims of migrations in flight counted); a refusal
 * gives each host's reason. Between this preview and the instance's row another create can take
 * the same room: creates are not claims (only migrations claim). */
static int
pick_host(conductor_t *cond, db_conn_t *db, const conductor_server_request_t *r, char **ret_host)
{
    db_resources_t want = {.memory_mb = r->memory_mb, .vcpus = r->vcpus, .disk_gb = r->disk_gb};
    db_resources_t left;
    db_compute_node_t *nodes = NULL;
    size_t n = 0, used = 0;
    int64_t best = -1;
    const char *chosen = NULL;
    char reasons[TERN_ERROR_MSG_MAX / 2] = "";
    TERN_AUTOFREE char *what = tern_asprintf("server \"%s\"", r->name);

    if (r->host) {
        if (conductor_check_destination_exists(db, r->host) < 0 ||
            conductor_check_destination_up(cond, db, r->host) < 0 ||
            db_claim_preview(db, r->host, NULL, &want, what, &left) < 0)
            return -1;
        *ret_host = tern_strdup(r->host);
        return 0;
    }
    if (db_compute_node_list(db, NULL, &nodes, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (conductor_check_destination_up(cond, db, nodes[i].host) < 0 ||
            db_claim_preview(db, nodes[i].host, nodes[i].hypervisor_hostname, &want, what, &left) <
                0) {
            if (used < sizeof(reasons))
                used += (size_t)snprintf(reasons + used, sizeof(reasons) - used, "%s%s",
                                         used ? "; " : "", tern_error_message());
            continue;
        }
        if (left.memory_mb > best) {
            best = left.memory_mb;
            chosen = nodes[i].host;
        }
    }
    *ret_host = tern_strdup(chosen);
    db_compute_node_list_free(nodes, n);
    if (!*ret_host)
        return tern_error_set(TERN_ERR_CHECK_FAILED, "no compute host can take %s: %s", what,
                              used ? reasons : "there is no compute host");
    return 0;
}

/* record_devices: volumes, interfaces and rules of the new instance. */
static int
record_devices(db_conn_t *db, const char *uuid, const conductor_server_request_t *r)
{
    size_t i;
    json_t *v;

    json_array_foreach(r->volumes, i, v)
    {
        char device[8];
        db_volume_attachment_t att = {0};
        int rc;

        snprintf(device, sizeof(device), "vd%c", (char)('b' + i));
        tern_strlcpy(att.instance_uuid, uuid, sizeof(att.instance_uuid));
        att.volume_id = (char *)json_string_value(json_object_get(v, "volume_id"));
        att.device_name = device;
        att.connection_info = tern_json_pack("{s:s, s:O}", "driver_volume_type", "file", "path",
                                             json_object_get(v, "path"));
        rc = db_volume_attachment_add(db, &att, NULL);
        json_decref(att.connection_info);
        if (rc < 0)
            return -1;
    }
    json_array_foreach(r->networks, i, v)
    {
        db_vif_t vif = {0};
        char mac[18];
        unsigned char rnd[3];
        char uuidbuf[37];

        tern_uuid_generate(uuidbuf); /* random bytes for the MAC's lower half */
        sscanf(uuidbuf, "%2hhx%2hhx%2hhx", &rnd[0], &rnd[1], &rnd[2]);
        snprintf(mac, sizeof(mac), "52:54:00:%02x:%02x:%02x", rnd[0], rnd[1], rnd[2]);
        tern_strlcpy(vif.instance_uuid, uuid, sizeof(vif.instance_uuid));
        vif.address = mac;
        vif.bridge = (char *)json_string_value(json_object_get(v, "bridge"));
        vif.vif_model = "virtio";
        if (db_vif_add(db, &vif, NULL) < 0)
            return -1;
    }
    json_array_foreach(r->rules, i, v)
    {
        const char *dir = NULL, *proto = NULL, *cidr = NULL;
        json_int_t pmin = 0, pmax = 0; /* 0..65535: conductor_validate_server_create */
        json_error_t jerr;
        db_secgroup_rule_t rule = {0};

        if (json_unpack_ex(v, &jerr, JSON_STRICT, "{s:s, s:s, s?I, s?I, s?s}", "direction", &dir,
                           "protocol", &proto, "port_min", &pmin, "port_max", &pmax, "remote_cidr",
                           &cidr) < 0)
            return tern_error_set(TERN_ERR_INVALID, "invalid security-group rule %zu: %s", i,
                                  jerr.text);
        tern_strlcpy(rule.instance_uuid, uuid, sizeof(rule.instance_uuid));
        rule.group_name = "default";
        rule.direction = (char *)dir;
        rule.protocol = strcmp(proto, "any") == 0 ? NULL : (char *)proto;
        rule.port_range_min = pmin ? (int)pmin : -1;
        rule.port_range_max = pmax ? (int)pmax : -1;
        rule.remote_ip_prefix = tern_str_empty(cidr) ? NULL : (char *)cidr;
        if (db_secgroup_rule_add(db, &rule, NULL) < 0)
            return tern_error_prefix("invalid security-group rule %zu", i);
    }
    return 0;
}

int
conductor_server_create(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    conductor_server_request_t r;
    db_instance_t row = {0}, inst = {0};
    TERN_AUTOFREE char *host = NULL;
    json_t *view = NULL, *args;
    db_conn_t *db;
    int rc;

    if (conductor_validate_server_create(req->args, &r) < 0 || !(db = conductor_db(cond)) ||
        pick_host(cond, db, &r, &host) < 0)
        return -1;
    row.name = (char *)r.name;
    row.memory_mb = r.memory_mb;
    row.vcpus = r.vcpus;
    row.root_gb = r.disk_gb;
    row.image_ref = (char *)r.image;
    row.priority = r.priority;
    row.migration_support = (char *)r.migration_support;
    row.never_pause = r.never_pause;
    row.project_id =
        (char *)(json_string_value(json_object_get(req->context, "project_id")) ?: "default");
    row.user_id = (char *)(req->amqp_user_id[0] ? req->amqp_user_id : "unknown");
    if (db_instance_create(db, &row, &inst) < 0)
        return -1;
    if (record_devices(db, inst.uuid, &r) < 0 ||
        db_instance_set_location(db, inst.uuid, host, host) < 0 ||
        !(view = conductor_view_instance(db, &inst)))
        goto fail;
    if (r.workload)
        json_object_set(view, "workload", r.workload);
    json_object_set_new(view, "host", json_string(host));
    args = tern_json_pack("{s:O}", "instance", view);
    rc = conductor_call_compute(cond, req, host, "spawn", args, NULL);
    json_decref(args);
    if (rc < 0 &&
        (tern_error_code() == TERN_ERR_INVALID || tern_error_code() == TERN_ERR_NOT_FOUND ||
         tern_error_code() == TERN_ERR_PERMISSION))
        goto refused;
    if (rc < 0)
        goto fail;
    if (db_instance_set_vm_state(db, inst.uuid, DB_VM_STATE_ACTIVE) < 0 ||
        db_instance_set_power_state(db, inst.uuid, DB_POWER_RUNNING) < 0)
        goto fail;
    json_decref(view);
    {
        char uuid[DB_UUID_LEN];

        memcpy(uuid, inst.uuid, sizeof(uuid));
        db_instance_clear(&inst);
        if (db_instance_get(db, uuid, &inst) < 0 || !(view = conductor_view_instance(db, &inst))) {
            db_instance_clear(&inst);
            return -1;
        }
    }
    TERN_INFO("server %s (%s) is running on %s", inst.uuid, inst.name, host);
    db_instance_clear(&inst);
    *ret_result = tern_json_pack("{s:o}", "server", view);
    return 0;

refused : {
    /* The host refused what it was asked (a volume outside its roots...) before making anything:
     * the request changes nothing, as a refused request must. */
    tern_error_t err;

    tern_error_copy(&err);
    if (db_instance_soft_delete(db, inst.uuid) < 0)
        db_instance_set_vm_state(db, inst.uuid, DB_VM_STATE_ERROR);
    tern_error_restore(&err);
    json_decref(view);
    db_instance_clear(&inst);
    return -1;
}
fail : {
    tern_error_t err;

    tern_error_copy(&err);
    db_instance_set_vm_state(db, inst.uuid, DB_VM_STATE_ERROR);
    tern_error_restore(&err);
    json_decref(view);
    db_instance_clear(&inst);
    return -1;
}
}

int
conductor_server_delete(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *ref;
    db_instance_t inst = {0};
    db_vif_t *vifs = NULL;
    size_t n_vifs = 0;
    json_error_t jerr;
    json_t *view = NULL, *args;
    db_conn_t *db;
    int rc = -1;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s}", "server", &ref) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to server_delete: %s",
                              jerr.text);
    if (!(db = conductor_db(cond)) || conductor_find_instance(db, ref, &inst) < 0)
        return -1;
    /* Taking task_state refuses the delete while a migration runs, and keeps others out. */
    if (db_instance_task_state_begin(db, inst.uuid, NULL, DB_TASK_STATE_DELETING, NULL) < 0)
        goto out;
    if (!(view = conductor_view_instance(db, &inst)))
        goto undo;
    if (inst.host) {
        args = tern_json_pack("{s:O}", "instance", view);
        rc = conductor_call_compute(cond, req, inst.host, "destroy", args, NULL);
        json_decref(args);
        if (rc < 0)
            goto undo;
    }
    rc = -1;
    if (db_vif_list(db, inst.uuid, &vifs, &n_vifs) < 0)
        goto undo;
    for (size_t i = 0; i < n_vifs; i++) {
        if (db_vif_delete(db, inst.uuid, vifs[i].address) < 0)
            goto undo;
    }
    if (db_instance_soft_delete(db, inst.uuid) < 0)
        goto undo;
    TERN_INFO("server %s deleted", inst.uuid);
    *ret_result = json_object();
    rc = 0;
    goto out;

undo : {
    tern_error_t err;

    tern_error_copy(&err);
    db_instance_task_state_end(db, inst.uuid, DB_TASK_STATE_DELETING);
    tern_error_restore(&err);
}
out:
    db_vif_list_free(vifs, n_vifs);
    json_decref(view);
    db_instance_clear(&inst);
    return rc;
}
