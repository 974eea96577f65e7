/*
 * db/instance_devices.h: what an instance is plugged into, which the destination of a live
 * migration must reproduce: volume attachments, virtual interfaces and security group rules.
 *
 * Each family has add / list (per instance, ordered by id) / delete. Adding refers to a live or
 * deleted instance row (NOT_FOUND when the instance does not exist).
 *
 * Ownership: result structs own their strings and JSON references (db_*_clear()); lists are new
 * arrays (db_*_list_free()). Inputs, including json_t, are borrowed.
 */
#ifndef TERN_DB_INSTANCE_DEVICES_H
#define TERN_DB_INSTANCE_DEVICES_H

#include <jansson.h>

#include "db/db.h"

/* ---- volume attachments ---- */

typedef struct db_volume_attachment {
    int64_t id;
    char instance_uuid[DB_UUID_LEN];
    char *volume_id;         /* the volume's id in the block storage service */
    char *device_name;       /* guest device, e.g. "vdb" */
    json_t *connection_info; /* how the host reaches the volume (driver_volume_type, data) */
    int64_t created_ms;
    int64_t updated_ms;
} db_volume_attachment_t;

void db_volume_attachment_clear(db_volume_attachment_t *att);
void db_volume_attachment_list_free(db_volume_attachment_t *list, size_t count);

/* Attach: CONFLICT when the volume is already attached to the instance. connection_info must be
 * a JSON object (NULL stored as {}). ret may be NULL. Not retried. */
int db_volume_attachment_add(db_conn_t *conn, const db_volume_attachment_t *att,
                             db_volume_attachment_t *ret_attachment);
int db_volume_attachment_list(db_conn_t *conn, const char *instance_uuid,
                              db_volume_attachment_t **ret_list, size_t *ret_count);
/* Replace connection_info (e.g. the destination's after a migration). NOT_FOUND. Retried. */
int db_volume_attachment_set_connection_info(db_conn_t *conn, const char *instance_uuid,
                                             const char *volume_id, const json_t *connection_info);
/* Detach. NOT_FOUND when not attached. Retried. */
int db_volume_attachment_delete(db_conn_t *conn, const char *instance_uuid, const char *volume_id);

/* ---- virtual interfaces ---- */

typedef struct db_vif {
    int64_t id;
    char instance_uuid[DB_UUID_LEN];
    char *address;       /* MAC address, unique across all instances */
    char *network_name;  /* may be NULL */
    char *bridge;        /* host bridge it plugs into, may be NULL */
    char *vif_model;     /* "virtio", may be NULL */
    char *devname;       /* tap device name, may be NULL */
    char **ip_addresses; /* n_ip_addresses strings (owned) */
    size_t n_ip_addresses;
    int64_t created_ms;
} db_vif_t;

void db_vif_clear(db_vif_t *vif);
void db_vif_list_free(db_vif_t *list, size_t count);

/* Add: CONFLICT when the MAC address is taken. ret may be NULL. Not retried. */
int db_vif_add(db_conn_t *conn, const db_vif_t *vif, db_vif_t *ret_vif);
int db_vif_list(db_conn_t *conn, const char *instance_uuid, db_vif_t **ret_list, size_t *ret_count);
/* Delete the interface with this MAC address from the instance. NOT_FOUND. Retried. */
int db_vif_delete(db_conn_t *conn, const char *instance_uuid, const char *address);

/* ---- security group rules ---- */

typedef struct db_secgroup_rule {
    int64_t id;
    char instance_uuid[DB_UUID_LEN];
    char *group_name;       /* security group the rule comes from */
    char *direction;        /* "ingress" or "egress" */
    char *ethertype;        /* "IPv4" (NULL in an add: IPv4) or "IPv6" */
    char *protocol;         /* "tcp", "udp", "icmp", or NULL for any */
    int port_range_min;     /* -1: none */
    int port_range_max;     /* -1: none */
    char *remote_ip_prefix; /* CIDR, or NULL for any */
    int64_t created_ms;
} db_secgroup_rule_t;

void db_secgroup_rule_clear(db_secgroup_rule_t *rule);
void db_secgroup_rule_list_free(db_secgroup_rule_t *list, size_t count);

/* Add a rule; INVALID for a direction/ethertype/protocol/port the schema refuses. ret (may be
 * NULL) receives the stored rule with its id. Not retried. */
int db_secgroup_rule_add(db_conn_t *conn, const db_secgroup_rule_t *rule,
                         db_secgroup_rule_t *ret_rule);
int db_secgroup_rule_list(db_conn_t *conn, const char *instance_uuid, db_secgroup_rule_t **ret_list,
                          size_t *ret_count);
/* Delete one rule by id (NOT_FOUND), or all of an instance's rules with id < 0. Retried. */
int db_secgroup_rule_delete(db_conn_t *conn, const char *instance_uuid, int64_t id);

#endif /* TERN_DB_INSTANCE_DEVICES_H */
