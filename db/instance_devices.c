/*
 * db/instance_devices.c: volume_attachments, virtual_interfaces and security_group_rules
 * (db/instance_devices.h).
 */
#include "db/db-private.h"

#include <stdlib.h>
#include <string.h>

/* A DELETE/UPDATE that must have touched a row: NOT_FOUND "<kind> "<key>" of instance ..." */
static int
expect_one_row(PGresult *res, const char *kind, const char *key, const char *instance_uuid)
{
    if (strcmp(PQcmdTuples(res), "0") != 0)
        return 0;
    return tern_error_set(TERN_ERR_NOT_FOUND, "%s \"%s\" of instance \"%s\" does not exist", kind,
                          key, instance_uuid);
}

/* ---- volume attachments ---- */

#define ATT_COLS                                                                        \
    "id, instance_uuid, volume_id, device_name, connection_info, tern_ms(created_at), " \
    "tern_ms(updated_at)"

static void
att_from_row(const PGresult *res, int row, db_volume_attachment_t *a)
{
    memset(a, 0, sizeof(*a));
    a->id = db_get_int(res, row, 0);
    db_get_uuid(res, row, 1, a->instance_uuid);
    a->volume_id = db_get_str(res, row, 2);
    a->device_name = db_get_str(res, row, 3);
    a->connection_info = db_get_json(res, row, 4);
    a->created_ms = db_get_int(res, row, 5);
    a->updated_ms = db_get_int(res, row, 6);
}

void
db_volume_attachment_clear(db_volume_attachment_t *a)
{
    if (!a)
        return;
    free(a->volume_id);
    free(a->device_name);
    json_decref(a->connection_info);
    memset(a, 0, sizeof(*a));
}

void
db_volume_attachment_list_free(db_volume_attachment_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_volume_attachment_clear(&list[i]);
    free(list);
}

static int
check_connection_info(const json_t *ci, const char *volume_id)
{
    if (ci && !json_is_object(ci))
        return tern_error_set(TERN_ERR_INVALID,
                              "cannot store volume \"%s\": connection_info is not a JSON object",
                              volume_id);
    return 0;
}

int
db_volume_attachment_add(db_conn_t *conn, const db_volume_attachment_t *a,
                         db_volume_attachment_t *ret_attachment)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(a->instance_uuid, "instance") < 0 ||
        db_check_str(a->volume_id, "volume_id", "attach volume") < 0 ||
        db_check_str(a->device_name, "device_name", "attach volume") < 0 ||
        check_connection_info(a->connection_info, a->volume_id) < 0)
        return -1;
    db_params_text(&p, a->instance_uuid);
    db_params_text(&p, a->volume_id);
    db_params_text(&p, a->device_name);
    db_params_json(&p, a->connection_info);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "INSERT INTO volume_attachments (instance_uuid, volume_id, device_name,"
                  " connection_info) VALUES ($1, $2, $3, coalesce($4::jsonb, '{}'::jsonb))"
                  " RETURNING " ATT_COLS,
                  &p, "attach volume \"%s\" to instance \"%s\"", a->volume_id, a->instance_uuid);
    if (!res)
        return -1;
    if (ret_attachment)
        att_from_row(res, 0, ret_attachment);
    return 0;
}

int
db_volume_attachment_list(db_conn_t *conn, const char *instance_uuid,
                          db_volume_attachment_t **ret_list, size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_volume_attachment_t *list;
    int n;

    if (db_check_uuid(instance_uuid, "instance") < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " ATT_COLS " FROM volume_attachments WHERE instance_uuid = $1"
                  " ORDER BY id",
                  &p, "list volumes of instance \"%s\"", instance_uuid);
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        att_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

int
db_volume_attachment_set_connection_info(db_conn_t *conn, const char *instance_uuid,
                                         const char *volume_id, const json_t *connection_info)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(instance_uuid, "instance") < 0 ||
        check_connection_info(connection_info, volume_id) < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    db_params_text(&p, volume_id);
    db_params_json(&p, connection_info);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "UPDATE volume_attachments SET"
                  " connection_info = coalesce($3::jsonb, '{}'::jsonb), updated_at = now()"
                  " WHERE instance_uuid = $1 AND volume_id = $2",
                  &p, "update volume \"%s\" of instance \"%s\"", volume_id, instance_uuid);
    if (!res)
        return -1;
    return expect_one_row(res, "volume attachment", volume_id, instance_uuid);
}

int
db_volume_attachment_delete(db_conn_t *conn, const char *instance_uuid, const char *volume_id)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(instance_uuid, "instance") < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    db_params_text(&p, volume_id);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "DELETE FROM volume_attachments WHERE instance_uuid = $1 AND volume_id = $2", &p,
                  "detach volume \"%s\" from instance \"%s\"", volume_id, instance_uuid);
    if (!res)
        return -1;
    return expect_one_row(res, "volume attachment", volume_id, instance_uuid);
}

/* ---- virtual interfaces ---- */

#define VIF_COLS                                                                           \
    "id, instance_uuid, address, network_name, bridge, vif_model, devname, ip_addresses, " \
    "tern_ms(created_at)"

static void
vif_from_row(const PGresult *res, int row, db_vif_t *v)
{
    json_t *ips;

    memset(v, 0, sizeof(*v));
    v->id = db_get_int(res, row, 0);
    db_get_uuid(res, row, 1, v->instance_uuid);
    v->address = db_get_str(res, row, 2);
    v->network_name = db_get_str(res, row, 3);
    v->bridge = db_get_str(res, row, 4);
    v->vif_model = db_get_str(res, row, 5);
    v->devname = db_get_str(res, row, 6);
    ips = db_get_json(res, row, 7);
    if (json_is_array(ips) && json_array_size(ips) > 0) {
        v->ip_addresses = tern_calloc(json_array_size(ips), sizeof(char *));
        for (size_t i = 0; i < json_array_size(ips); i++) {
            const char *s = json_string_value(json_array_get(ips, i));
            if (s)
                v->ip_addresses[v->n_ip_addresses++] = tern_strdup(s);
        }
    }
    json_decref(ips);
    v->created_ms = db_get_int(res, row, 8);
}

void
db_vif_clear(db_vif_t *v)
{
    if (!v)
        return;
    free(v->address);
    free(v->network_name);
    free(v->bridge);
    free(v->vif_model);
    free(v->devname);
    for (size_t i = 0; i < v->n_ip_addresses; i++)
        free(v->ip_addresses[i]);
    free(v->ip_addresses);
    memset(v, 0, sizeof(*v));
}

void
db_vif_list_free(db_vif_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_vif_clear(&list[i]);
    free(list);
}

int
db_vif_add(db_conn_t *conn, const db_vif_t *v, db_vif_t *ret_vif)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    json_t *ips;

    if (db_check_uuid(v->instance_uuid, "instance") < 0 ||
        db_check_str(v->address, "address", "add virtual interface") < 0)
        return -1;
    ips = json_array();
    for (size_t i = 0; i < v->n_ip_addresses; i++)
        json_array_append_new(ips, json_string(v->ip_addresses[i] ? v->ip_addresses[i] : ""));
    db_params_text(&p, v->instance_uuid);
    db_params_text(&p, v->address);
    db_params_text(&p, v->network_name);
    db_params_text(&p, v->bridge);
    db_params_text(&p, v->vif_model);
    db_params_text(&p, v->devname);
    db_params_json(&p, ips);
    json_decref(ips);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "INSERT INTO virtual_interfaces (instance_uuid, address, network_name, bridge,"
                  " vif_model, devname, ip_addresses) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"
                  " RETURNING " VIF_COLS,
                  &p, "add virtual interface \"%s\" to instance \"%s\"", v->address,
                  v->instance_uuid);
    if (!res)
        return -1;
    if (ret_vif)
        vif_from_row(res, 0, ret_vif);
    return 0;
}

int
db_vif_list(db_conn_t *conn, const char *instance_uuid, db_vif_t **ret_list, size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_vif_t *list;
    int n;

    if (db_check_uuid(instance_uuid, "instance") < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " VIF_COLS " FROM virtual_interfaces WHERE instance_uuid = $1"
                  " ORDER BY id",
                  &p, "list virtual interfaces of instance \"%s\"", instance_uuid);
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        vif_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

int
db_vif_delete(db_conn_t *conn, const char *instance_uuid, const char *address)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(instance_uuid, "instance") < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    db_params_text(&p, address);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "DELETE FROM virtual_interfaces WHERE instance_uuid = $1 AND address = $2", &p,
                  "delete virtual interface \"%s\" of instance \"%s\"", address, instance_uuid);
    if (!res)
        return -1;
    return expect_one_row(res, "virtual interface", address, instance_uuid);
}

/* ---- security group rules ---- */

#define RULE_COLS                                                                    \
    "id, instance_uuid, group_name, direction, ethertype, protocol, "                \
    "coalesce(port_range_min, -1), coalesce(port_range_max, -1), remote_ip_prefix, " \
    "tern_ms(created_at)"

static void
rule_from_row(const PGresult *res, int row, db_secgroup_rule_t *r)
{
    memset(r, 0, sizeof(*r));
    r->id = db_get_int(res, row, 0);
    db_get_uuid(res, row, 1, r->instance_uuid);
    r->group_name = db_get_str(res, row, 2);
    r->direction = db_get_str(res, row, 3);
    r->ethertype = db_get_str(res, row, 4);
    r->protocol = db_get_str(res, row, 5);
    r->port_range_min = (int)db_get_int(res, row, 6);
    r->port_range_max = (int)db_get_int(res, row, 7);
    r->remote_ip_prefix = db_get_str(res, row, 8);
    r->created_ms = db_get_int(res, row, 9);
}

void
db_secgroup_rule_clear(db_secgroup_rule_t *r)
{
    if (!r)
        return;
    free(r->group_name);
    free(r->direction);
    free(r->ethertype);
    free(r->protocol);
    free(r->remote_ip_prefix);
    memset(r, 0, sizeof(*r));
}

void
db_secgroup_rule_list_free(db_secgroup_rule_t *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        db_secgroup_rule_clear(&list[i]);
    free(list);
}

int
db_secgroup_rule_add(db_conn_t *conn, const db_secgroup_rule_t *r, db_secgroup_rule_t *ret_rule)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;

    if (db_check_uuid(r->instance_uuid, "instance") < 0 ||
        db_check_str(r->group_name, "group_name", "add security group rule") < 0 ||
        db_check_str(r->direction, "direction", "add security group rule") < 0)
        return -1;
    db_params_text(&p, r->instance_uuid);
    db_params_text(&p, r->group_name);
    db_params_text(&p, r->direction);
    db_params_text(&p, r->ethertype ? r->ethertype : "IPv4");
    db_params_text(&p, r->protocol);
    db_params_int(&p, r->port_range_min);
    db_params_int(&p, r->port_range_max);
    db_params_text(&p, r->remote_ip_prefix);
    res = db_exec(conn, DB_RETRY_NEVER,
                  "INSERT INTO security_group_rules (instance_uuid, group_name, direction,"
                  " ethertype, protocol, port_range_min, port_range_max, remote_ip_prefix)"
                  " VALUES ($1, $2, $3, $4, $5, nullif($6::integer, -1), nullif($7::integer, -1),"
                  " $8) RETURNING " RULE_COLS,
                  &p, "add rule of security group \"%s\" to instance \"%s\"", r->group_name,
                  r->instance_uuid);
    if (!res)
        return -1;
    if (ret_rule)
        rule_from_row(res, 0, ret_rule);
    return 0;
}

int
db_secgroup_rule_list(db_conn_t *conn, const char *instance_uuid, db_secgroup_rule_t **ret_list,
                      size_t *ret_count)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    db_secgroup_rule_t *list;
    int n;

    if (db_check_uuid(instance_uuid, "instance") < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "SELECT " RULE_COLS " FROM security_group_rules WHERE instance_uuid = $1"
                  " ORDER BY id",
                  &p, "list security group rules of instance \"%s\"", instance_uuid);
    if (!res)
        return -1;
    n = PQntuples(res);
    list = tern_calloc((size_t)n + 1, sizeof(*list));
    for (int i = 0; i < n; i++)
        rule_from_row(res, i, &list[i]);
    *ret_list = list;
    *ret_count = (size_t)n;
    return 0;
}

int
db_secgroup_rule_delete(db_conn_t *conn, const char *instance_uuid, int64_t id)
{
    DB_AUTOPARAMS p = DB_PARAMS_INIT;
    DB_AUTORESULT *res = NULL;
    TERN_AUTOFREE char *idstr = tern_asprintf("%lld", (long long)id);

    if (db_check_uuid(instance_uuid, "instance") < 0)
        return -1;
    db_params_text(&p, instance_uuid);
    db_params_int(&p, id);
    res = db_exec(conn, DB_RETRY_SAFE,
                  "DELETE FROM security_group_rules WHERE instance_uuid = $1"
                  " AND ($2::bigint < 0 OR id = $2)",
                  &p, "delete security group rules of instance \"%s\"", instance_uuid);
    if (!res)
        return -1;
    if (id < 0)
        return 0;
    return expect_one_row(res, "security group rule", idstr, instance_uuid);
}
