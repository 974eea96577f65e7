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
    "m.status NOT IN ('completed', 'failed', 'cancelled', 'error')"

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

/* get_node: the compute node of host (node NULL: its only one), FOR UPDATE when lock, into
 * *ret (db_compute_node_clear). NOT_FOUND / CONFLICT as db_claim_take says. */
static int
get_node(db_conn_t *conn, const char *host, const char *node, bool lock, const char *for_what,
         db_compute_node_t *ret)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, host);
    db_params_text(&p, node);
    res = db_exec(conn, lock ? DB_RETRY_NEVER : DB_RETRY_SAFE,
                  lock ? "SELECT " DB_COMPUTE_NODE_COLS " FROM compute_nodes WHERE host = $1"
                         " AND ($2::text IS NULL OR hypervisor_hostname = $2)"
                         " ORDER BY hypervisor_hostname LIMIT 2 FOR UPDATE"
                       : "SELECT " DB_COMPUTE_NODE_COLS " FROM compute_nodes WHERE host = $1"
                         " AND ($2::text IS NULL OR hypervisor_hostname = $2)"
                         " ORDER BY hypervisor_hostname LIMIT 2",
                  &p, "read compute node of host \"%s\"", host);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND,
                              "cannot claim resources on host \"%s\" node \"%s\" for %s: no such "
                              "compute node",
                              host, node ? node : "(any)", for_what);
    if (PQntuples(res) > 1)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "cannot claim resources on host \"%s\" for %s: the host has several "
                              "compute nodes, name one",
                              host, for_what);
    db_compute_node_from_row(res, 0, ret);
    return 0;
}

/* node_usage: in one statement (one snapshot), what the node's instances use - into node's
 * *_used, replacing what the read of the row saw - and what its claims that still count hold
 * (migration not final), but those of migration exclude (NULL: none). A switch-over moves an
 * instance's figures from its claim to the instances table in one transaction, so a single
 * snapshot counts them exactly once; taken after the row lock, it sees every claim committed
 * before. */
static int
node_usage(db_conn_t *conn, db_compute_node_t *node, const char *exclude, db_resources_t *ret)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *sum = NULL;

    db_params_int(&p, node->id);
    db_params_text(&p, exclude);
    sum = db_exec(
        conn, DB_RETRY_SAFE,
        "SELECT " DB_NODE_USED("i.vcpus") ", " DB_NODE_USED("i.memory_mb") ", " DB_NODE_USED(
            "i.root_gb + i.ephemeral_gb") ","
                                          " (SELECT coalesce(sum(c.memory_mb), 0) FROM "
                                          "resource_claims c JOIN migrations m"
                                          "  ON m.uuid = c.migration_uuid WHERE c.compute_node_id "
                                          "= compute_nodes.id"
                                          "  AND ($2::uuid IS NULL OR c.migration_uuid <> $2::uuid)"
                                          "  AND m.status NOT IN ('completed', 'failed', "
                                          "'cancelled', 'error')),"
                                          " (SELECT coalesce(sum(c.vcpus), 0) FROM resource_claims "
                                          "c JOIN migrations m"
                                          "  ON m.uuid = c.migration_uuid WHERE c.compute_node_id "
                                          "= compute_nodes.id"
                                          "  AND ($2::uuid IS NULL OR c.migration_uuid <> $2::uuid)"
                                          "  AND m.status NOT IN ('completed', 'failed', "
                                          "'cancelled', 'error')),"
                                          " (SELECT coalesce(sum(c.disk_gb), 0) FROM "
                                          "resource_claims c JOIN migrations m"
                                          "  ON m.uuid = c.migration_uuid WHERE c.compute_node_id "
                                          "= compute_nodes.id"
                                          "  AND ($2::uuid IS NULL OR c.migration_uuid <> $2::uuid)"
                                          "  AND m.status NOT IN ('completed', 'failed', "
                                          "'cancelled', 'error'))"
                                          " FROM compute_nodes WHERE id = $1",
        &p, "sum what is used and claimed on host \"%s\" node \"%s\"", node->host,
        node->hypervisor_hostname);
    if (!sum)
        return -1;
    if (PQntuples(sum) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "compute node \"%s\" of host \"%s\" is gone",
                              node->hypervisor_hostname, node->host);
    node->vcpus_used = (int)db_get_int(sum, 0, 0);
    node->memory_mb_used = db_get_int(sum, 0, 1);
    node->local_gb_used = db_get_int(sum, 0, 2);
    ret->memory_mb = db_get_int(sum, 0, 3);
    ret->vcpus = db_get_int(sum, 0, 4);
    ret->disk_gb = db_get_int(sum, 0, 5);
    return 0;
}

/* migration_exists: NOT_FOUND naming the claim unless migration uuid exists. */
static int
migration_exists(db_conn_t *conn, const char *host, const char *uuid)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    db_params_text(&p, uuid);
    res = db_exec(conn, DB_RETRY_SAFE, "SELECT 1 FROM migrations WHERE uuid = $1::uuid", &p,
                  "look for migration \"%s\"", uuid);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND,
                              "cannot claim resources on host \"%s\" for migration \"%s\": the "
                              "migration does not exist",
                              host, uuid);
    return 0;
}

/* insert_claim: store req's claim on node (in the caller's transaction) into *ret_claim. */
static int
insert_claim(db_conn_t *conn, const db_claim_request_t *req, const db_compute_node_t *node,
             db_claim_t *ret_claim)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *ins = NULL;

    db_params_text(&p, req->migration_uuid);
    db_params_int(&p, node->id);
    db_params_int(&p, req->memory_mb);
    db_params_int(&p, req->vcpus);
    db_params_int(&p, req->disk_gb);
    ins = db_exec(conn, DB_RETRY_NEVER,
                  "WITH c AS (INSERT INTO resource_claims (migration_uuid, instance_uuid,"
                  "  compute_node_id, memory_mb, vcpus, disk_gb)"
                  "  SELECT m.uuid, m.instance_uuid, $2, $3, $4, $5 FROM migrations m"
                  "  WHERE m.uuid = $1 RETURNING *)"
                  " SELECT " CLAIM_COLS " FROM c JOIN compute_nodes n ON n.id = c.compute_node_id"
                  " JOIN migrations m ON m.uuid = c.migration_uuid",
                  &p, "store claim of migration \"%s\" on host \"%s\" node \"%s\"",
                  req->migration_uuid, req->host, node->hypervisor_hostname);
    if (!ins)
        return -1;
    if (PQntuples(ins) == 0)
        return tern_error_set(TERN_ERR_NOT_FOUND,
                              "cannot claim resources on host \"%s\" for migration \"%s\": the "
                              "migration does not exist",
                              req->host, req->migration_uuid);
    if (ret_claim)
        claim_from_row(ins, 0, ret_claim);
    return 0;
}

int
db_claim_take(db_conn_t *conn, const db_claim_request_t *req, db_claim_t *ret_claim)
{
    db_resources_t want = {req->memory_mb, req->vcpus, req->disk_gb}, claimed;
    db_compute_node_t node = {0};
    TERN_AUTOFREE char *what = NULL;
    db_claim_t claim = {0};

    if (db_check_uuid(req->migration_uuid, "migration") < 0 ||
        db_check_str(req->host, "host", "take a claim") < 0)
        return -1;
    if (req->memory_mb < 0 || req->vcpus < 0 || req->disk_gb < 0)
        return tern_error_set(TERN_ERR_INVALID,
                              "cannot claim resources on host \"%s\" for migration \"%s\": "
                              "negative amount requested",
                              req->host, req->migration_uuid);
    what = tern_asprintf("migration \"%s\"", req->migration_uuid);
    if (db_txn_begin(conn, "begin claim") < 0)
        return tern_error_prefix("could not claim resources on host \"%s\"", req->host);
    if (get_node(conn, req->host, req->node, true, what, &node) < 0 ||
        migration_exists(conn, req->host, req->migration_uuid) < 0 ||
        node_usage(conn, &node, req->migration_uuid, &claimed) < 0 ||
        db_capacity_fits(&node, &claimed, &want, what) < 0 ||
        insert_claim(conn, req, &node, ret_claim ? &claim : NULL) < 0) {
        db_txn_rollback(conn);
        db_compute_node_clear(&node);
        return -1;
    }
    db_compute_node_clear(&node);
    if (db_txn_commit(conn, "commit claim") < 0) {
        db_claim_clear(&claim);
        return tern_error_prefix("could not claim resources on host \"%s\"", req->host);
    }
    if (ret_claim)
        *ret_claim = claim;
    return 0;
}

int
db_claim_preview(db_conn_t *conn, const char *host, const char *node, const db_resources_t *request,
                 const char *for_what, db_resources_t *ret_free)
{
    db_compute_node_t n = {0};
    db_resources_t claimed;
    int rc;

    if (db_check_str(host, "host", "preview a claim") < 0)
        return -1;
    if (get_node(conn, host, node, false, for_what, &n) < 0 ||
        node_usage(conn, &n, NULL, &claimed) < 0) {
        db_compute_node_clear(&n);
        return -1;
    }
    if (ret_free)
        db_capacity_free(&n, &claimed, ret_free);
    rc = db_capacity_fits(&n, &claimed, request, for_what);
    db_compute_node_clear(&n);
    return rc;
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
