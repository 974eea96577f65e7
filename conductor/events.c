/*
 * conductor/events.c: migration events - a cast "migration_changed" to topic
 * "migration_events", key the migration's uuid, after each committed change of a migration's
 * status, for the listeners of that migration (`tern live-migration --wait`, rpc/rpc.h's
 * rpc_listener_new). See conductor/API.md, "Events".
 *
 * Best effort: the database is the truth and listeners read it (migration_get) when told and
 * every while anyway. So a cast nobody listens to is dropped by the broker (unrouted_ok), and a
 * cast that fails is a warning, never the failure of the handler that changed the status.
 * Owns nothing.
 */
#include "common/json.h"
#include "common/error.h"
#include "common/log.h"
#include "conductor/conductor.h"

void
conductor_notify_migration(conductor_t *cond, const rpc_request_t *req, const char *uuid,
                           db_migration_status_t status)
{
    rpc_target_t target = {
        .topic = CONDUCTOR_MIGRATION_EVENTS_TOPIC,
        .server = uuid,
        .version = CONDUCTOR_EVENTS_VERSION,
        .unrouted_ok = true,
    };
    const char *name = db_migration_status_name(status);
    json_t *context =
        req && req->context ? json_incref(req->context) : rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *args = tern_json_pack("{s:s, s:s}", "migration", uuid, "status", name);
    tern_error_t pending;

    tern_error_copy(&pending); /* the handler's error in flight, if any, is kept */
    if (rpc_cast(cond->rpc, &target, context, "migration_changed", args) < 0)
        TERN_WARN("could not tell the listeners of migration %s that it is %s: %s", uuid, name,
                  tern_error_message());
    tern_error_restore(&pending);
    json_decref(args);
    json_decref(context);
    if (db_migration_status_is_final(status))
        conductor_drain_wake(cond); /* a drain may have room for its next instance */
}
