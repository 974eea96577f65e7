/*
 * conductor/migrations.c: migrations after the hand-off - the operator's list/show/abort/
 * force-complete, and the source compute's reports (status, progress, switch-over, failure).
 *
 * The source compute drives a migration once the conductor has handed it over; it reports every
 * step here so that the database always says where the migration stands. The switch-over record
 * (live_migration_completed) moves the instance to its destination and completes the migration
 * in one transaction (db_migration_switch_over). Each status change is told to the migration's
 * listeners once its handler's database work is done (conductor_notify_migration), and the
 * report's steps are events of the migration's action (conductor_report_events), as are the
 * operator's abort and force-complete requests. Owns nothing across calls.
 */
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/checks.h"
#include "conductor/conductor.h"
#include "conductor/views.h"

#define ACTION_LIVE_MIGRATION "live-migration"

/* find_migration: by uuid or numeric id. */
static int
find_migration(db_conn_t *db, json_t *ref, db_migration_t *ret)
{
    const char *s = json_string_value(ref);
    int64_t id;

    if (json_is_integer(ref))
        return db_migration_get_by_id(db, json_integer_value(ref), ret);
    if (!s)
        return tern_error_set(TERN_ERR_INVALID, "\"migration\" must be a uuid or an id");
    if (tern_uuid_valid(s))
        return db_migration_get(db, s, ret);
    if (tern_parse_int64(s, "migration id", &id) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid migration \"%s\": not a uuid or an id", s);
    return db_migration_get_by_id(db, id, ret);
}

int
conductor_migration_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host = NULL, *status = NULL, *instance = NULL;
    db_migration_filter_t filter = {.status = -1};
    db_instance_t inst = {0};
    db_migration_t *list = NULL;
    size_t n = 0;
    json_error_t jerr;
    db_conn_t *db;
    json_t *arr;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s?s, s?s, s?s}", "host", &host, "status",
                       &status, "instance", &instance) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to migration_list: %s",
                              jerr.text);
    if (status && (filter.status = db_migration_status_from_name(status)) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid migration status \"%s\"", status);
    if (!(db = conductor_db(cond)))
        return -1;
    if (instance) {
        if (conductor_find_instance(db, instance, &inst) < 0)
            return -1;
        filter.instance_uuid = inst.uuid;
    }
    filter.host = host;
    if (db_migration_list(db, &filter, &list, &n) < 0) {
        db_instance_clear(&inst);
        return -1;
    }
    arr = json_array();
    for (size_t i = n; i-- > 0;) /* newest first */
        json_array_append_new(arr, conductor_view_migration(&list[i]));
    db_migration_list_free(list, n);
    db_instance_clear(&inst);
    *ret_result = tern_json_pack("{s:o}", "migrations", arr);
    return 0;
}

int
conductor_migration_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    json_t *ref = NULL;
    db_migration_t mig = {0};
    json_error_t jerr;
    db_conn_t *db;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:o}", "migration", &ref) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to migration_get: %s",
                              jerr.text);
    if (!(db = conductor_db(cond)) || find_migration(db, ref, &mig) < 0)
        return -1;
    *ret_result = tern_json_pack("{s:o}", "migration", conductor_view_migration(&mig));
    db_migration_clear(&mig);
    return 0;
}

/* migration_of_instance: the migration named in args, which must belong to the instance. */
static int
migration_of_instance(conductor_t *cond, const rpc_request_t *req, const char *method,
                      db_conn_t **ret_db, db_migration_t *ret_mig)
{
    const char *instance;
    json_t *ref;
    db_instance_t inst = {0};
    json_error_t jerr;
    int rc = 0;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s:o}", "instance", &instance,
                       "migration", &ref) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to %s: %s", method, jerr.text);
    if (!(*ret_db = conductor_db(cond)) || conductor_find_instance(*ret_db, instance, &inst) < 0 ||
        find_migration(*ret_db, ref, ret_mig) < 0) {
        db_instance_clear(&inst);
        return -1;
    }
    if (strcmp(ret_mig->instance_uuid, inst.uuid) != 0) {
        rc = tern_error_set(TERN_ERR_INVALID, "migration \"%s\" is not of instance \"%s\"",
                            ret_mig->uuid, inst.uuid);
        db_migration_clear(ret_mig);
    }
    db_instance_clear(&inst);
    return rc;
}

/* record_request: an operator's request on a migration (abort, force-complete) as an event of
 * the migration's action: who asked, and what the source compute answered (rc). */
static void
record_request(db_conn_t *db, const rpc_request_t *req, const db_migration_t *mig,
               const char *event, int rc)
{
    TERN_AUTOFREE char *msg = NULL;

    if (rc == 0)
        msg = tern_asprintf("requested by \"%s\"", req->amqp_user_id);
    else
        msg = tern_asprintf("requested by \"%s\": %s", req->amqp_user_id, tern_error_message());
    conductor_event_record(db, mig->action_id, event, mig->source_compute, rc == 0, msg);
}

int
conductor_live_migration_abort(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    db_migration_t mig = {0};
    db_conn_t *db;
    json_t *args;
    int rc;

    if (migration_of_instance(cond, req, "live_migration_abort", &db, &mig) < 0)
        return -1;
    if (mig.status != DB_MIGRATION_QUEUED && mig.status != DB_MIGRATION_PREPARING &&
        mig.status != DB_MIGRATION_RUNNING) {
        rc = tern_error_set(TERN_ERR_CONFLICT,
                            "cannot abort migration \"%s\": its status is "
                            "\"%s\"",
                            mig.uuid, db_migration_status_name(mig.status));
        db_migration_clear(&mig);
        return rc;
    }
    args = tern_json_pack("{s:s}", "migration", mig.uuid);
    rc = conductor_call_compute(cond, req, mig.source_compute, "live_migration_abort", args, NULL);
    json_decref(args);
    record_request(db, req, &mig, CONDUCTOR_EVENT_ABORT, rc);
    db_migration_clear(&mig);
    if (rc == 0)
        *ret_result = json_object();
    return rc;
}

int
conductor_live_migration_force_complete(conductor_t *cond, const rpc_request_t *req,
                                        json_t **ret_result)
{
    db_migration_t mig = {0};
    db_conn_t *db;
    json_t *args;
    int rc;

    if (migration_of_instance(cond, req, "live_migration_force_complete", &db, &mig) < 0)
        return -1;
    if (mig.status != DB_MIGRATION_RUNNING) {
        rc = tern_error_set(TERN_ERR_CONFLICT,
                            "cannot force migration \"%s\" to complete: its "
                            "status is \"%s\", not \"running\"",
                            mig.uuid, db_migration_status_name(mig.status));
        db_migration_clear(&mig);
        return rc;
    }
    args = tern_json_pack("{s:s}", "migration", mig.uuid);
    rc = conductor_call_compute(cond, req, mig.source_compute, "live_migration_force_complete",
                                args, ret_result);
    json_decref(args);
    record_request(db, req, &mig, CONDUCTOR_EVENT_FORCE_COMPLETE, rc);
    db_migration_clear(&mig);
    return rc;
}

/* ---- the source compute's reports ---- */

void
conductor_finish_action(db_conn_t *db, const char *request_id, const char *instance_uuid,
                        bool success, const char *message)
{
    db_action_t *list = NULL;
    size_t n = 0;

    if (db_action_list(db, instance_uuid, &list, &n) < 0)
        return;
    for (size_t i = n; i-- > 0;) {
        if (!list[i].result && tern_streq(list[i].action, ACTION_LIVE_MIGRATION) &&
            (!request_id || tern_streq(list[i].request_id, request_id))) {
            db_action_finish(db, list[i].id, success, message);
            break;
        }
    }
    db_action_list_free(list, n);
}

/* finish_action: the open live-migration action of the request's instance (NULL id: any). */
static void
finish_action(db_conn_t *db, const rpc_request_t *req, const char *instance_uuid, bool success,
              const char *message)
{
    conductor_finish_action(db, req->request_id, instance_uuid, success, message);
}

/* record_progress: a progress sample of a running migration. */
static int
record_progress(db_conn_t *db, const char *uuid, json_t *progress)
{
    db_migration_progress_t p = {
        .memory_total = json_integer_value(json_object_get(progress, "memory_total")),
        .memory_processed = json_integer_value(json_object_get(progress, "memory_processed")),
        .memory_remaining = json_integer_value(json_object_get(progress, "memory_remaining")),
        .disk_total = json_integer_value(json_object_get(progress, "disk_total")),
        .disk_processed = json_integer_value(json_object_get(progress, "disk_processed")),
        .disk_remaining = json_integer_value(json_object_get(progress, "disk_remaining")),
        .dirty_rate = json_integer_value(json_object_get(progress, "dirty_rate")),
    };

    return db_migration_update_progress(db, uuid, &p);
}

/* read_before: the migration as it is before a report changes it, for the report's events
 * (conductor_report_events); left empty (no action: no events) when it cannot be read - the
 * report's own statements then say what is wrong. */
static void
read_before(db_conn_t *db, const char *uuid, db_migration_t *ret_before)
{
    tern_error_t pending;

    tern_error_copy(&pending);
    if (db_migration_get(db, uuid, ret_before) < 0)
        memset(ret_before, 0, sizeof(*ret_before));
    tern_error_restore(&pending);
}

int
conductor_migration_update(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *uuid, *status, *error = NULL, *warning = NULL;
    json_t *progress = NULL;
    json_int_t post_ms = -1;
    db_migration_t before = {0};
    bool status_changed;
    int st;
    json_error_t jerr;
    db_conn_t *db;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s:s, s?o, s?s, s?s, s?I}", "migration",
                       &uuid, "status", &status, "progress", &progress, "error_message", &error,
                       "warning", &warning, "post_processing_ms", &post_ms) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to migration_update: %s",
                              jerr.text);
    if ((st = db_migration_status_from_name(status)) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid migration status \"%s\"", status);
    if (!(db = conductor_db(cond)))
        return -1;
    /* Progress samples and the end of post-processing (the status is completed since the
     * switch-over) change no status: no event for them. */
    status_changed = !(st == DB_MIGRATION_RUNNING && progress) && st != DB_MIGRATION_COMPLETED;
    if (status_changed || st == DB_MIGRATION_COMPLETED)
        read_before(db, uuid, &before);
    if (st == DB_MIGRATION_PREPARING) {
        if (db_migration_set_status(db, uuid, DB_MIGRATION_PREPARING, NULL) < 0 ||
            db_migration_phase_begin(db, uuid, DB_MIGRATION_PHASE_PREPARATION) < 0)
            goto error;
    } else if (st == DB_MIGRATION_RUNNING) {
        if (progress) {
            if (record_progress(db, uuid, progress) < 0)
                return -1;
        } else if (db_migration_phase_end(db, uuid, DB_MIGRATION_PHASE_PREPARATION) < 0 ||
                   db_migration_set_status(db, uuid, DB_MIGRATION_RUNNING, NULL) < 0 ||
                   db_migration_phase_begin(db, uuid, DB_MIGRATION_PHASE_MIGRATION) < 0) {
            goto error;
        }
    } else if (st == DB_MIGRATION_COMPLETED) {
        /* Post-processing at the source has ended (the switch-over was recorded before). */
        /* Its leftovers stay marked when something was left behind: the source retries. */
        if (db_migration_phase_end(db, uuid, DB_MIGRATION_PHASE_POST) < 0 ||
            (warning && db_migration_set_error(db, uuid, warning) < 0) ||
            (!warning && db_migration_set_cleanup_host(db, uuid, NULL) < 0))
            goto error;
    } else if (db_migration_set_status(db, uuid, (db_migration_status_t)st, error) < 0) {
        goto error;
    }
    if (before.action_id)
        conductor_report_events(db, &before, "migration_update", (db_migration_status_t)st,
                                st == DB_MIGRATION_COMPLETED ? warning : error);
    db_migration_clear(&before);
    if (status_changed)
        conductor_notify_migration(cond, req, uuid, (db_migration_status_t)st);
    (void)post_ms;
    *ret_result = json_object();
    return 0;

error:
    db_migration_clear(&before);
    return -1;
}

/* The figures a migration ends with (live_migration_completed): progress, libvirt's job time
 * and the downtime. */
typedef struct end_figures {
    db_migration_progress_t progress;
    bool have_progress;  /* false: keep the disk figures of the last progress sample */
    int64_t job_ms;      /* libvirt's own job time, -1 unknown */
    int64_t downtime_ms; /* -1 unknown */
} end_figures_t;

/* parse_end_figures: from the source's report of the job's end ("final", libvirt's JOB_COMPLETED
 * event: memory and disk, nothing remaining) when it came, else from the destination's completed
 * statistics ("stats": memory only). Strict: a bad report changes nothing. */
static int
parse_end_figures(json_t *stats, json_t *final, end_figures_t *ret)
{
    json_int_t v[9];
    json_error_t jerr;

    memset(ret, 0, sizeof(*ret));
    if (!final) {
        ret->progress.memory_total = json_integer_value(json_object_get(stats, "memory_total"));
        ret->progress.memory_processed =
            json_integer_value(json_object_get(stats, "memory_processed"));
        ret->progress.iterations = json_integer_value(json_object_get(stats, "memory_iterations"));
        ret->job_ms = json_integer_value(json_object_get(stats, "total_time_ms"));
        ret->downtime_ms = json_integer_value(json_object_get(stats, "downtime_ms"));
        return 0;
    }
    if (json_unpack_ex(final, &jerr, JSON_STRICT, "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                       "memory_total", &v[0], "memory_processed", &v[1], "memory_remaining", &v[2],
                       "disk_total", &v[3], "disk_processed", &v[4], "disk_remaining", &v[5],
                       "iterations", &v[6], "job_ms", &v[7], "downtime_ms", &v[8]) < 0)
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid arguments to live_migration_completed: \"final\": %s",
                              jerr.text);
    for (size_t i = 0; i < TERN_N_ELEMENTS(v); i++) {
        if (v[i] < 0)
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid arguments to live_migration_completed: \"final\" "
                                  "holds a negative figure");
    }
    ret->progress = (db_migration_progress_t){
        .memory_total = v[0],
        .memory_processed = v[1],
        .memory_remaining = v[2],
        .disk_total = v[3],
        .disk_processed = v[4],
        .disk_remaining = v[5],
        .iterations = v[6],
    };
    ret->have_progress = true;
    ret->job_ms = v[7];
    ret->downtime_ms = v[8];
    return 0;
}

/* record_end_figures: the migration's last progress line is its end, not its last sample. */
static int
record_end_figures(db_conn_t *db, const char *uuid, const end_figures_t *f)
{
    db_migration_progress_t p = f->progress;

    if (!f->have_progress) { /* memory from the destination; disk as last sampled */
        db_migration_t cur = {0};

        if (db_migration_get(db, uuid, &cur) < 0)
            return -1;
        p.disk_total = cur.disk_total;
        p.disk_processed = cur.disk_processed;
        p.disk_remaining = cur.disk_remaining;
        if (!p.memory_total)
            p.memory_total = cur.memory_total;
        db_migration_clear(&cur);
    }
    return db_migration_update_progress(db, uuid, &p) < 0 ||
                   db_migration_set_times(db, uuid, f->downtime_ms, f->job_ms) < 0
               ? -1
               : 0;
}

int
conductor_live_migration_completed(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *uuid, *instance, *dest;
    json_t *stats, *final = NULL;
    json_int_t prep_ms, mig_ms;
    db_instance_t moved = {0};
    db_migration_t before = {0};
    end_figures_t figures;
    json_error_t jerr;
    db_conn_t *db;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:o, s:I, s:I, s?o}",
                       "migration", &uuid, "instance", &instance, "dest", &dest, "stats", &stats,
                       "preparation_ms", &prep_ms, "migration_ms", &mig_ms, "final", &final) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to live_migration_completed: %s",
                              jerr.text);
    if (parse_end_figures(stats, final, &figures) < 0 || !(db = conductor_db(cond)))
        return -1;
    read_before(db, uuid, &before);
    if (db_migration_phase_end(db, uuid, DB_MIGRATION_PHASE_MIGRATION) < 0 ||
        record_end_figures(db, uuid, &figures) < 0 ||
        db_migration_switch_over(db, uuid, &moved) < 0) {
        db_migration_clear(&before);
        return tern_error_prefix("could not record the switch-over of migration \"%s\"", uuid);
    }
    db_migration_phase_begin(db, uuid, DB_MIGRATION_PHASE_POST);
    conductor_report_events(db, &before, "live_migration_completed", DB_MIGRATION_COMPLETED, NULL);
    db_migration_clear(&before);
    finish_action(db, req, moved.uuid, true, NULL);
    TERN_INFO("migration %s: instance %s now runs on %s", uuid, moved.uuid, moved.host);
    db_instance_clear(&moved);
    conductor_notify_migration(cond, req, uuid, DB_MIGRATION_COMPLETED);
    (void)instance;
    (void)dest;
    *ret_result = json_object();
    return 0;
}

int
conductor_live_migration_failed(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *uuid, *status, *error, *rollback_error = NULL;
    db_migration_t mig = {0};
    int st;
    json_error_t jerr;
    db_conn_t *db;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s?s}", "migration", &uuid,
                       "status", &status, "error_message", &error, "rollback_error",
                       &rollback_error) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to live_migration_failed: %s",
                              jerr.text);
    st = db_migration_status_from_name(status);
    if (st != DB_MIGRATION_FAILED && st != DB_MIGRATION_CANCELLED && st != DB_MIGRATION_ERROR)
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid final status \"%s\" for a failed "
                              "migration",
                              status);
    if (!(db = conductor_db(cond)) || db_migration_get(db, uuid, &mig) < 0)
        return -1;
    if (db_migration_end(db, uuid, (db_migration_status_t)st, error,
                         rollback_error ? mig.dest_compute : NULL, NULL) < 0) {
        db_migration_clear(&mig);
        return -1;
    }
    if (rollback_error)
        TERN_ERROR("migration %s: the destination %s could not be cleaned: %s", uuid,
                   mig.dest_compute, rollback_error);
    conductor_report_events(db, &mig, "live_migration_failed", (db_migration_status_t)st, error);
    finish_action(db, req, mig.instance_uuid, false, error);
    TERN_INFO("migration %s of instance %s %s: %s", uuid, mig.instance_uuid, status, error);
    db_migration_clear(&mig);
    conductor_notify_migration(cond, req, uuid, (db_migration_status_t)st);
    *ret_result = json_object();
    return 0;
}
