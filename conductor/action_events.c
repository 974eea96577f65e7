/*
 * conductor/action_events.c: the steps of an instance action recorded as its events
 * (db/actions.h; `tern server-event-list`), best effort.
 *
 * live_migrate.c records the conductor's steps (conductor_check, one conductor_try_destination
 * per candidate, conductor_hand_off); migrations.c the source compute's reports, mapped to events
 * here (conductor_report_events) from the migration as it was before the report, so that a
 * report repeated after a lost answer records nothing twice. An event that cannot be written is
 * a warning, never the failure of the request or of the migration, and the thread's error state
 * (the handler's error in flight) is left as it was. Owns nothing.
 */
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/conductor.h"

/* warn_event: the warning of an event that could not be written; then the error state as it
 * was. */
static void
warn_event(const tern_error_t *pending, const char *what, const char *event, int64_t id)
{
    TERN_WARN("could not %s event \"%s\" of action %lld: %s", what, event, (long long)id,
              tern_error_message());
    tern_error_restore(pending);
}

int64_t
conductor_event_start(db_conn_t *db, int64_t action_id, const char *event, const char *host)
{
    tern_error_t pending;
    int64_t id = 0;

    if (!action_id)
        return 0;
    tern_error_copy(&pending);
    if (db_action_event_start(db, action_id, event, host, &id) < 0) {
        warn_event(&pending, "record", event, action_id);
        return 0;
    }
    tern_error_restore(&pending);
    return id;
}

void
conductor_event_finish(db_conn_t *db, int64_t event_id, bool success, const char *message)
{
    tern_error_t pending;

    if (!event_id)
        return;
    tern_error_copy(&pending);
    if (db_action_event_finish(db, event_id, success, message) < 0)
        TERN_WARN("could not finish event %lld: %s", (long long)event_id, tern_error_message());
    tern_error_restore(&pending);
}

void
conductor_event_record(db_conn_t *db, int64_t action_id, const char *event, const char *host,
                       bool success, const char *message)
{
    tern_error_t pending;

    if (!action_id)
        return;
    tern_error_copy(&pending);
    if (db_action_event_record(db, action_id, event, host, success, message) < 0)
        warn_event(&pending, "record", event, action_id);
    tern_error_restore(&pending);
}

void
conductor_events_finish_open(db_conn_t *db, int64_t action_id, const char *event, bool success,
                             const char *message)
{
    tern_error_t pending;

    if (!action_id)
        return;
    tern_error_copy(&pending);
    if (db_action_event_finish_open(db, action_id, event, success, message, NULL) < 0)
        warn_event(&pending, "finish", event ? event : "(open)", action_id);
    tern_error_restore(&pending);
}

/* status_event: "migration_" and the status with '_' for '-' (migration_postcopy_paused). */
static void
status_event(db_migration_status_t status, char *buf, size_t size)
{
    snprintf(buf, size, "migration_%s", db_migration_status_name(status));
    for (char *c = buf; *c; c++) {
        if (*c == '-')
            *c = '_';
    }
}

/* update_events: a status reported by migration_update that the migration did not have yet. */
static void
update_events(db_conn_t *db, const db_migration_t *before, db_migration_status_t status,
              const char *message)
{
    const char *src = before->source_compute;
    int64_t action = before->action_id;
    char name[64];

    if (status == DB_MIGRATION_PREPARING) {
        conductor_event_start(db, action, CONDUCTOR_EVENT_PRE_LIVE_MIGRATION, src);
        return;
    }
    if (status == DB_MIGRATION_RUNNING) {
        conductor_events_finish_open(db, action, CONDUCTOR_EVENT_PRE_LIVE_MIGRATION, true, NULL);
        conductor_event_start(db, action, CONDUCTOR_EVENT_LIVE_MIGRATION, src);
        return;
    }
    status_event(status, name, sizeof(name));
    if (status == DB_MIGRATION_POSTCOPY_ACTIVE) {
        conductor_event_record(db, action, name, src, true, "switched to post-copy");
        return;
    }
    /* postcopy-paused, needs-operator, or an end: what was running did not finish well */
    conductor_events_finish_open(db, action, NULL, false, message);
    conductor_event_record(db, action, name, src, false, message);
}

void
conductor_report_events(db_conn_t *db, const db_migration_t *before, const char *report,
                        db_migration_status_t status, const char *message)
{
    int64_t action = before->action_id;
    char name[64];

    if (!action)
        return;
    if (strcmp(report, "migration_update") == 0 && status == DB_MIGRATION_COMPLETED) {
        /* post-processing at the source ended; a warning says what it left behind */
        conductor_events_finish_open(db, action, CONDUCTOR_EVENT_POST_LIVE_MIGRATION, !message,
                                     message);
    } else if (strcmp(report, "migration_update") == 0) {
        if (before->status != status && !db_migration_status_is_final(before->status))
            update_events(db, before, status, message);
    } else if (strcmp(report, "live_migration_completed") == 0) {
        TERN_AUTOFREE char *msg = NULL;

        if (before->status == DB_MIGRATION_COMPLETED)
            return; /* a repeated report */
        msg = tern_asprintf("instance now runs on \"%s\"",
                            before->dest_compute ? before->dest_compute : "?");
        conductor_events_finish_open(db, action, NULL, true, NULL);
        conductor_event_record(db, action, CONDUCTOR_EVENT_SWITCH_OVER, before->dest_compute, true,
                               msg);
        conductor_event_start(db, action, CONDUCTOR_EVENT_POST_LIVE_MIGRATION,
                              before->source_compute);
    } else if (!db_migration_status_is_final(before->status)) { /* live_migration_failed */
        status_event(status, name, sizeof(name));
        conductor_events_finish_open(db, action, NULL, false, message);
        conductor_event_record(db, action, name, before->source_compute, false, message);
    }
}
