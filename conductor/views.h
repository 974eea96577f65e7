/*
 * conductor/views.h: database rows as the API's JSON objects (conductor/API.md).
 *
 * Every function returns a NEW json_t reference built from borrowed rows; nothing is kept.
 */
#ifndef TERN_CONDUCTOR_VIEWS_H
#define TERN_CONDUCTOR_VIEWS_H

#include <jansson.h>

#include "db/db.h"

/* ISO 8601 UTC text for ms since the epoch, or JSON null for 0. */
json_t *conductor_view_time(int64_t ms);

json_t *conductor_view_service(const db_service_t *svc);
/* svc may be NULL (no service row: state "unknown"). */
json_t *conductor_view_hypervisor(const db_compute_node_t *node, const db_service_t *svc);
json_t *conductor_view_migration(const db_migration_t *mig);
/* A drain with its instances (items, n of them) and its progress as of now_ms (ms since the
 * epoch). */
json_t *conductor_view_drain(const db_drain_t *drain, const db_drain_item_t *items, size_t n,
                             int64_t now_ms);

/* An instance action (nova's os-instance-actions shape); events (stolen, may be NULL: none in
 * the object) an array of conductor_view_action_event() objects. */
json_t *conductor_view_action(const db_action_t *action, json_t *events);
json_t *conductor_view_action_event(const db_action_event_t *event);

/* The full INSTANCE: the row plus its volumes, networks and security-group rules, read from
 * db. NULL with an error when a read fails. */
json_t *conductor_view_instance(db_conn_t *db, const db_instance_t *inst);

#endif /* TERN_CONDUCTOR_VIEWS_H */
