/*
 * conductor/services.c: services and hypervisors - the operator's views and the computes'
 * heartbeat/resource reports.
 *
 * service_report is how a compute says it is alive and what it has: the conductor upserts its
 * service row (heartbeat) and its compute node (resources, with this conductor's allocation
 * ratios and reservations). "Used" figures are computed here from the instances the database
 * places on that host, not taken from the compute, so they always agree with the records.
 * Owns nothing across calls.
 */
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "conductor/conductor.h"
#include "conductor/views.h"

int
conductor_service_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host = NULL, *binary = NULL;
    db_service_t *list = NULL;
    size_t n = 0;
    json_error_t jerr;
    db_conn_t *db;
    json_t *arr;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s?s, s?s}", "host", &host, "binary",
                       &binary) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to service_list: %s", jerr.text);
    if (!(db = conductor_db(cond)) ||
        db_service_list(db, binary, cond->cfg.service_down_time_s, &list, &n) < 0)
        return -1;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!host || tern_streq(host, list[i].host))
            json_array_append_new(arr, conductor_view_service(&list[i]));
    }
    db_service_list_free(list, n);
    *ret_result = tern_json_pack("{s:o}", "services", arr);
    return 0;
}

int
conductor_service_update(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host, *binary, *reason = NULL;
    int disabled;
    db_service_t svc = {0};
    json_error_t jerr;
    db_conn_t *db;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s:s, s:b, s?s}", "host", &host,
                       "binary", &binary, "disabled", &disabled, "reason", &reason) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to service_update: %s",
                              jerr.text);
    if (!(db = conductor_db(cond)) ||
        db_service_set_disabled(db, host, binary, disabled, reason) < 0 ||
        db_service_get(db, host, binary, cond->cfg.service_down_time_s, &svc) < 0)
        return -1;
    *ret_result = tern_json_pack("{s:o}", "service", conductor_view_service(&svc));
    db_service_clear(&svc);
    return 0;
}

int
conductor_hypervisor_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    db_compute_node_t *nodes = NULL;
    db_service_t *svcs = NULL;
    size_t n_nodes = 0, n_svcs = 0;
    db_conn_t *db;
    json_t *arr;

    if (json_object_size(req->args) != 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to hypervisor_list: it takes "
                                                "none");
    if (!(db = conductor_db(cond)) || db_compute_node_list(db, NULL, &nodes, &n_nodes) < 0)
        return -1;
    if (db_service_list(db, COMPUTE_BINARY, cond->cfg.service_down_time_s, &svcs, &n_svcs) < 0) {
        db_compute_node_list_free(nodes, n_nodes);
        return -1;
    }
    arr = json_array();
    for (size_t i = 0; i < n_nodes; i++) {
        const db_service_t *svc = NULL;

        for (size_t j = 0; j < n_svcs; j++) {
            if (tern_streq(svcs[j].host, nodes[i].host))
                svc = &svcs[j];
        }
        json_array_append_new(arr, conductor_view_hypervisor(&nodes[i], svc));
    }
    db_compute_node_list_free(nodes, n_nodes);
    db_service_list_free(svcs, n_svcs);
    *ret_result = tern_json_pack("{s:o}", "hypervisors", arr);
    return 0;
}

int
conductor_hypervisor_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host;
    db_compute_node_t node = {0};
    db_service_t svc = {0};
    json_error_t jerr;
    db_conn_t *db;
    bool have_svc;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s}", "host", &host) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to hypervisor_get: %s",
                              jerr.text);
    if (!(db = conductor_db(cond)) || db_compute_node_get(db, host, NULL, &node) < 0)
        return -1;
    have_svc = db_service_get(db, host, COMPUTE_BINARY, cond->cfg.service_down_time_s, &svc) == 0;
    *ret_result = tern_json_pack("{s:o}", "hypervisor",
                                 conductor_view_hypervisor(&node, have_svc ? &svc : NULL));
    db_compute_node_clear(&node);
    db_service_clear(&svc);
    return 0;
}

int
conductor_service_report(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host, *binary, *topic, *version, *node_name, *hv_type, *cpu_xml;
    json_int_t hv_version, memory_mb, free_ram_mb, local_gb, free_disk_gb;
    int vcpus, running, max_live = 1;
    db_compute_node_t report = {0};
    json_error_t jerr;
    db_conn_t *db;
    int rc;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT,
                       "{s:s, s:s, s:s, s:s, s:{s:s, s:I, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:i},"
                       " s?i}",
                       "host", &host, "binary", &binary, "topic", &topic, "version", &version,
                       "node", "hypervisor_type", &hv_type, "hypervisor_version", &hv_version,
                       "hypervisor_hostname", &node_name, "cpu_info", &cpu_xml, "vcpus", &vcpus,
                       "memory_mb", &memory_mb, "free_ram_mb", &free_ram_mb, "local_gb", &local_gb,
                       "free_disk_gb", &free_disk_gb, "running_vms", &running,
                       "max_concurrent_live_migrations", &max_live) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to service_report: %s",
                              jerr.text);
    if (max_live < 0)
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to service_report: "
                              "max_concurrent_live_migrations %d is negative",
                              max_live);
    if (!(db = conductor_db(cond)) || db_service_upsert(db, host, binary, topic, 1, NULL) < 0)
        return -1;
    report.host = (char *)host;
    report.hypervisor_hostname = (char *)host; /* one node per host, named after it */
    report.hypervisor_type = (char *)hv_type;
    report.hypervisor_version = hv_version;
    report.cpu_info = tern_json_pack("{s:s}", "xml", cpu_xml);
    report.vcpus = vcpus;
    report.memory_mb = memory_mb;
    report.free_ram_mb = free_ram_mb;
    report.local_gb = local_gb;
    report.free_disk_gb = free_disk_gb;
    report.running_vms = running;
    report.max_live_migrations = max_live;
    report.cpu_allocation_ratio = cond->cfg.cpu_allocation_ratio;
    report.ram_allocation_ratio = cond->cfg.ram_allocation_ratio;
    report.disk_allocation_ratio = cond->cfg.disk_allocation_ratio;
    report.reserved_host_memory_mb = cond->cfg.reserved_host_memory_mb;
    report.reserved_host_disk_gb = cond->cfg.reserved_host_disk_mb / 1024;
    rc = db_compute_node_upsert(db, &report, NULL);
    json_decref(report.cpu_info);
    (void)version;
    if (rc == 0)
        *ret_result = json_object();
    return rc;
}
