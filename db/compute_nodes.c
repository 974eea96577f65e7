/*
 * db/compute_nodes.c: the compute_nodes table (db/compute_nodes.h).
 */
#include "db/db-private.h"

#include <stdlib.h>
#include <string.h>

#define NODE_COLS DB_COMPUTE_NODE_COLS

void
db_compute_node_from_row(const PGresult *res, int row, db_compute_node_t *n)
{
    memset(n, 0, sizeof(*n));
    n->id = db_get_int(res, row, 0);
    n->host = db_get_str(res, row, 1);
    n->hypervisor_hostname = db_get_str(res, row, 2);
    n->hypervisor_type = db_get_str(res, row, 3);
    n->hypervisor_version = db_get_int(res, row, 4);
    n->host_ip = db_get_str(res, row, 5);
    n->cpu_info = db_get_json(res, row, 6);
    n->vcpus = (int)db_get_int(res, row, 7);
    n->vcpus_used = (int)db_get_int(res, row, 8);
    n->memory_mb = db_get_int(res, row, 9);
    n->memory_mb_used = db_get_int(res, row, 10);
    n->free_ram_mb = db_get_int(res, row, 11);
    n->local_gb = db_get_int(res, row, 12);
    n->local_gb_used = db_get_int(res, row, 13);
    n->free_disk_gb = db_get_int(res, row, 14);
    n->cpu_allocation_ratio = db_get_double(res, row, 15);
    n->ram_allocation_ratio = db_get_double(res, row, 16);
    n->disk_allocation_ratio = db_get_double(res, row, 17);
    n->reserved_host_memory_mb = db_get_int(res, row, 18);
    n->reserved_host_disk_gb = db_get_int(res, row, 19);
    n->reserved_host_cpus = (int)db_get_int(res, row, 20);
    n->running_vms = (int)db_get_int(res, row, 21);
    n->created_ms = db_get_int(res, row, 22);
    n->updated_ms = db_get_int(res, row, 23);
    n->max_live_migrations = (int)db_get_int(res, row, 24);
}

void
db_compute_node_clear(db_compute_node_t *node)
{
    if (!node)
        return;
    free(node->host);
    free(node->hypervisor_hostname);
    free(node->hypervisor_type);
    free(node->host_ip);
    json_decref(node->cpu_info);
    memset(node, 0, sizeof(*node));
}

void
db_compute_node_list_free(db_compute_node_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_compute_node_clear(&list[i]);
    free(list);
}

int
db_compute_node_upsert(db_conn_t *conn, const db_compute_node_t *r, db_compute_node_t *ret_node)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    json_t *empty = NULL;

    if (db_check_str(r->host, "host", "store compute node") < 0 ||
        db_check_str(r->hypervisor_hostname, "hypervisor_hostname", "store compute node") < 0 ||
        db_check_str(r->hypervisor_type, "hypervisor_type", "store compute node") < 0)
        return -1;
    if (r->cpu_info && !json_is_object(r->cpu_info))
        return tern_error_set(TERN_ERR_INVALID,
                              "cannot store compute node \"%s\" of host \"%s\": cpu_info is not "
                              "a JSON object",
                              r->hypervisor_hostname, r->host);
    if (!r->cpu_info)
        empty = json_object();
    db_params_text(&p, r->host); /* $1 */
    db_params_text(&p, r->hypervisor_hostname);
    db_params_text(&p, r->hypervisor_type);
    db_params_int(&p, r->hypervisor_version);
    db_params_text(&p, r->host_ip); /* $5 */
    db_params_json(&p, r->cpu_info ? r->cpu_info : empty);
    json_decref(empty);
    db_params_int(&p, r->vcpus);
    db_params_int(&p, r->memory_mb);
    db_params_int(&p, r->free_ram_mb);
    db_params_int(&p, r->local_gb);
    db_params_int(&p, r->free_disk_gb);
    db_params_double(&p, r->cpu_allocation_ratio > 0 ? r->cpu_allocation_ratio : 16.0); /* $12 */
    db_params_double(&p, r->ram_allocation_ratio > 0 ? r->ram_allocation_ratio : 1.0);
    db_params_double(&p, r->disk_allocation_ratio > 0 ? r->disk_allocation_ratio : 1.0);
    db_params_int(&p, r->reserved_host_memory_mb);
    db_params_int(&p, r->reserved_host_disk_gb);
    db_params_int(&p, r->reserved_host_cpus);
    db_params_int(&p, r->running_vms);
    db_params_int(&p, r->max_live_migrations);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "INSERT INTO compute_nodes (host, hypervisor_hostname, hypervisor_type,"
                  " hypervisor_version, host_ip, cpu_info, vcpus, memory_mb, free_ram_mb,"
                  " local_gb, free_disk_gb, cpu_allocation_ratio, ram_allocation_ratio,"
                  " disk_allocation_ratio, reserved_host_memory_mb, reserved_host_disk_gb,"
                  " reserved_host_cpus, running_vms, max_live_migrations) VALUES ($1, $2, $3, $4,"
                  " $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
                  " ON CONFLICT (host, hypervisor_hostname) DO UPDATE SET"
                  " hypervisor_type = EXCLUDED.hypervisor_type,"
                  " hypervisor_version = EXCLUDED.hypervisor_version,"
                  " host_ip = EXCLUDED.host_ip, cpu_info = EXCLUDED.cpu_info,"
                  " vcpus = EXCLUDED.vcpus, memory_mb = EXCLUDED.memory_mb,"
                  " free_ram_mb = EXCLUDED.free_ram_mb, local_gb = EXCLUDED.local_gb,"
                  " free_disk_gb = EXCLUDED.free_disk_gb,"
                  " cpu_allocation_ratio = EXCLUDED.cpu_allocation_ratio,"
                  " ram_allocation_ratio = EXCLUDED.ram_allocation_ratio,"
                  " disk_allocation_ratio = EXCLUDED.disk_allocation_ratio,"
                  " reserved_host_memory_mb = EXCLUDED.reserved_host_memory_mb,"
                  " reserved_host_disk_gb = EXCLUDED.reserved_host_disk_gb,"
                  " reserved_host_cpus = EXCLUDED.reserved_host_cpus,"
                  " running_vms = EXCLUDED.running_vms,"
                  " max_live_migrations = EXCLUDED.max_live_migrations, updated_at = now()"
                  " RETURNING " NODE_COLS,
                  &p, "store compute node \"%s\" of host \"%s\"", r->hypervisor_hostname, r->host);
    if (!res)
        return -1;
    if (ret_node)
        db_compute_node_from_row(res, 0, ret_node);
    return 0;
}

int
db_compute_node_get(db_conn_t *conn, const char *host, const char *node,
                    db_compute_node_t *ret_node)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, host);
    db_params_text(&p, node);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " NODE_COLS " FROM compute_nodes WHERE host = $1"
                  " AND ($2::text IS NULL OR hypervisor_hostname = $2)"
                  " ORDER BY hypervisor_hostname LIMIT 2",
                  &p, "read compute node of host \"%s\"", host);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        if (node)
            return tern_error_set(TERN_ERR_NOT_FOUND,
                                  "compute node \"%s\" of host \"%s\" does not exist", node, host);
        return tern_error_set(TERN_ERR_NOT_FOUND, "host \"%s\" has no compute node", host);
    }
    if (PQntuples(res) > 1)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "cannot choose a compute node of host \"%s\": it has several, "
                              "name one",
                              host);
    db_compute_node_from_row(res, 0, ret_node);
    return 0;
}

int
db_compute_node_list(db_conn_t *conn, const char *host, db_compute_node_t **ret_list,
                     size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_compute_node_t *list;
    int n;

    db_params_text(&p, host);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " NODE_COLS " FROM compute_nodes WHERE $1::text IS NULL OR host = $1"
                  " ORDER BY host, hypervisor_hostname",
                  &p, "list compute nodes");
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        db_compute_node_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

int
db_compute_node_delete(db_conn_t *conn, const char *host, const char *node)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, host);
    db_params_text(&p, node);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "DELETE FROM compute_nodes WHERE host = $1 AND hypervisor_hostname = $2", &p,
                  "delete compute node \"%s\" of host \"%s\"", node, host);
    if (!res)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND,
                              "compute node \"%s\" of host \"%s\" does not exist", node, host);
    return 0;
}
