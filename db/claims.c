/*
 * db/claims.c: resource claims on destination nodes (db/claims.h).
 */
#include "db/db-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_COLS                                                                          \
    "c.id, c.migration_uuid, c.instance_uuid, n.host, n.hypervisor_hostname, c.memory_mb, " \
    "c.vcpus, c.disk_gb, tern_ms(c.created_at), "                                           \
    "(m.status NOT IN ('completed', 'failed', 'cancelled', 'error') "                       \
    " OR (m.status = 'completed' AND m.finished_at > n.updated_at))"

static void
claim_from_row(const PGresult *res, int row, db_claim_t *c)
{
    memset(c, 0, sizeof(*c));
    c->id = db_get_int(res, row, 0);
    db_get_uuid(res, row, 1, c->migration_uuid);
    db_get_uuid(res, row, 2, c->instance_uuid);
    c->host = db_get_str(res, row, 3);
    c->node = db_get_str(res, row, 4);
    c->memory_mb = db_get_int(res, row, 5);
    c->vcpus = (int)db_get_int(res, row, 6);
    c->disk_gb = db_get_int(res, row, 7);
    c->created_ms = db_get_int(res, row, 8);
    c->counts = db_get_bool(res, row, 9);
}

void
db_claim_clear(db_claim_t *claim)
{
    if (!claim)
        return;
    free(claim->host);
    free(claim->node);
    memset(claim, 0, sizeof(*claim));
}

void
db_claim_list_free(db_claim_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_claim_clear(&list[i]);
    free(list);
}

/* One resource of the check: refuse (CHECK_FAILED) when the request does not fit. */
static int
claim_check_one(const db_claim_request_t *req, const char *node, const char *resource,
                const char *unit, int64_t request, int64_t total, double ratio, int64_t reserved,
                int64_t used, int64_t claimed)
{
    int64_t usable = (int64_t)floor((double)total * ratio) - reserved;

    if (request <= 0 || used + claimed + request <= usable)
        return 0;
    return tern_error_set(TERN_ERR_CHECK_FAILED,
                          "cannot claim %lld %s of %s on host \"%s\" node \"%s\" for migration "
                          "\"%s\": %lld %s used and %lld %s claimed of %lld %s usable (%lld %s x "
                          "%g - %lld %s reserved), %lld %s free",
                          (long long)request, unit, resource, req->host, node, req->migration_uuid,
                          (long long)used, unit, (long long)claimed, unit, (long long)usable, unit,
                          (long long)total, unit, ratio, (long long)reserved, unit,
                          (long long)(usable - used - claimed), unit);
}

int
db_claim_take(db_conn_t *conn, const db_claim_request_t *req, db_claim_t *ret_claim)
{
    DB_AUTOPARAMS np = DB_PARAMS_INIT;
    DB_AUTOPARAMS sp = DB_PARAMS_INIT;
    DB_AUTOPARAMS ip = DB_PARAMS_INIT;
    DB_AUTORESULT *node = NULL;
    DB_AUTORESULT *sum = NULL;
    DB_AUTORESULT *ins = NULL;
    TERN_AUTOFREE char *node_name = NULL;
    int64_t node_id;

    if (db_check_uuid(req->migration_uuid, "migration") < 0 ||
        db_check_str(req->host, "host", "take a claim") < 0)
        return -1;
    if (req->memory_mb < 0 || req->vcpus < 0 || req->disk_gb < 0)
        return tern_error_set(TERN_ERR_INVALID,
                              "cannot claim resources on host \"%s\" for migration \"%s\": "
                              "negative amount requested",
                              req->host, req->migration_uuid);
    if (db_txn_begin(conn, "begin claim") < 0)
        return tern_error_prefix("could not claim resources on host \"%s\"", req->host);

    db_params_text(&np, req->host);
    db_params_text(&np, req->node);
    node = db_exec(conn, DB_RETRY_NEVER,
                   "SELECT id, hypervisor_hostname, memory_mb, memory_mb_used,"
                   " ram_allocation_ratio, reserved_host_memory_mb, vcpus, vcpus_used,"
                   " cpu_allocation_ratio, reserved_host_cpus, local_gb, local_gb_used,"
                   " disk_allocation_ratio, reserved_host_disk_gb"
                   " FROM compute_nodes WHERE host = $1"
                   " AND ($2::text IS NULL OR hypervisor_hostname = $2)"
                   " ORDER BY hypervisor_hostname LIMIT 2 FOR UPDATE",
                   &np, "lock compute node of host \"%s\"", req->host);
    if (!node)
        goto error;
    if (PQntuples(node) == 0) {
        tern_error_set(TERN_ERR_NOT_FOUND,
                       "cannot claim resources on host \"%s\" node \"%s\" for migration \"%s\": "
                       "no such compute node",
                       req->host, req->node ? req->node : "(any)", req->migration_uuid);
        goto error;
    }
    if (PQntuples(node) > 1) {
        tern_error_set(TERN_ERR_CONFLICT,
                       "cannot claim resources on host \"%s\" for migration \"%s\": the host has "
                       "several compute nodes, name one",
                       req->host, req->migration_uuid);
        goto error;
    }
    node_id = db_get_int(node, 0, 0);
    node_name = db_get_str(node, 0, 1);

    /* Claims that still count: migration not final, or completed after the node's report. */
    db_params_int(&sp, node_id);
    db_params_text(&sp, req->migration_uuid);
    sum = db_exec(conn, DB_RETRY_NEVER,
                  "SELECT coalesce(sum(c.memory_mb), 0), coalesce(sum(c.vcpus), 0),"
                  " coalesce(sum(c.disk_gb), 0),"
                  " EXISTS (SELECT 1 FROM migrations WHERE uuid = $2::uuid)"
                  " FROM resource_claims c JOIN migrations m ON m.uuid = c.migration_uuid"
                  " JOIN compute_nodes n ON n.id = c.compute_node_id"
                  " WHERE c.compute_node_id = $1 AND c.migration_uuid <> $2::uuid"
                  " AND (m.status NOT IN ('completed', 'failed', 'cancelled', 'error')"
                  "      OR (m.status = 'completed' AND m.finished_at > n.updated_at))",
                  &sp, "sum claims on host \"%s\" node \"%s\"", req->host, node_name);
    if (!sum)
        goto error;
    if (!db_get_bool(sum, 0, 3)) {
        tern_error_set(TERN_ERR_NOT_FOUND,
                       "cannot claim resources on host \"%s\" for migration \"%s\": the "
                       "migration does not exist",
                       req->host, req->migration_uuid);
        goto error;
    }

    if (claim_check_one(req, node_name, "memory", "MB", req->memory_mb, db_get_int(node, 0, 2),
                        db_get_double(node, 0, 4), db_get_int(node, 0, 5), db_get_int(node, 0, 3),
                        db_get_int(sum, 0, 0)) < 0 ||
        claim_check_one(req, node_name, "vcpus", "vcpus", req->vcpus, db_get_int(node, 0, 6),
                        db_get_double(node, 0, 8), db_get_int(node, 0, 9), db_get_int(node, 0, 7),
                        db_get_int(sum, 0, 1)) < 0 ||
        claim_check_one(req, node_name, "disk", "GB", req->disk_gb, db_get_int(node, 0, 10),
                        db_get_double(node, 0, 12), db_get_int(node, 0, 13),
                        db_get_int(node, 0, 11), db_get_int(sum, 0, 2)) < 0)
        goto error;

    db_params_text(&ip, req->migration_uuid);
    db_params_int(&ip, node_id);
    db_params_int(&ip, req->memory_mb);
    db_params_int(&ip, req->vcpus);
    db_params_int(&ip, req->disk_gb);
    ins = db_exec(conn, DB_RETRY_NEVER,
                  "WITH c AS (INSERT INTO resource_claims (migration_uuid, instance_uuid,"
                  "  compute_node_id, memory_mb, vcpus, disk_gb)"
                  "  SELECT m.uuid, m.instance_uuid, $2, $3, $4, $5 FROM migrations m"
                  "  WHERE m.uuid = $1 RETURNING *)"
                  " SELECT " CLAIM_COLS " FROM c JOIN compute_nodes n ON n.id = c.compute_node_id"
                  " JOIN migrations m ON m.uuid = c.migration_uuid",
                  &ip, "store claim of migration \"%s\" on host \"%s\" node \"%s\"",
                  req->migration_uuid, req->host, node_name);
    if (!ins)
        goto error;
    if (PQntuples(ins) == 0) {
        tern_error_set(TERN_ERR_NOT_FOUND,
                       "cannot claim resources on host \"%s\" for migration \"%s\": the "
                       "migration does not exist",
                       req->host, req->migration_uuid);
        goto error;
    }
    if (db_txn_commit(conn, "commit claim") < 0)
        return tern_error_prefix("could not claim resources on host \"%s\"", req->host);
    if (ret_claim)
        claim_from_row(ins, 0, ret_claim);
    return 0;

error:
    db_txn_rollback(conn);
    return -1;
}

int
db_claim_release(db_conn_t *conn, const char *migration_uuid, int *ret_released)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(migration_uuid, "migration") < 0)
        return -1;
    db_params_text(&p, migration_uuid);
    res = db_exec(conn, DB_RETRY_SAFE, "DELETE FROM resource_claims WHERE migration_uuid = $1", &p,
                  "release claims of migration \"%s\"", migration_uuid);
    if (!res)
        return -1;
    if (ret_released)
        *ret_released = atoi(PQcmdTuples(res));
    return 0;
}

int
db_claim_list(db_conn_t *conn, const char *host, const char *node, db_claim_t **ret_list,
              size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_claim_t *list;
    int n;

    db_params_text(&p, host);
    db_params_text(&p, node);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " CLAIM_COLS " FROM resource_claims c"
                  " JOIN compute_nodes n ON n.id = c.compute_node_id"
                  " JOIN migrations m ON m.uuid = c.migration_uuid"
                  " WHERE ($1::text IS NULL OR n.host = $1)"
                  " AND ($2::text IS NULL OR n.hypervisor_hostname = $2) ORDER BY c.id",
                  &p, "list claims");
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        claim_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}
