/*
 * conductor/recovery.c: migrations whose daemons died or went silent, driven to an end from
 * facts (the policy is compute/outcome.h's; this is the part a conductor can do).
 *
 *   conductor_migration_recover     RPC from a restarted source compute: its unfinished
 *                                   migrations, with what it needs to judge and end each
 *   conductor_migration_leftovers   RPC from a compute: the migrations whose leftovers are on it
 *                                   (cleanup_host), with where the database says the instance is
 *   conductor_migration_cleaned     RPC: the compute removed them; the mark is cleared
 *   conductor_sweep_orphans         periodic: migrations a conductor never handed over, or a
 *                                   source compute never took
 *   conductor_watch_silent_sources  periodic: migrations whose source compute went silent, ended
 *                                   by what the destination's hypervisor says: it runs the guest
 *                                   (switch-over; the source cleans up when it is back), or it
 *                                   does not hold it (failed; the guest stays on its source)
 *   conductor_recovery_start        the thread that runs the two periodic ones
 *
 * Owns nothing across calls.
 */
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/conductor.h"
#include "conductor/views.h"

/* Each look at a destination is short, and a round looks at a few migrations only (the rest wait
 * for the next round). */
#define PROBE_TIMEOUT_MS 5000
#define SILENT_PER_ROUND 8

/* An entry of a host's list: NULL to skip the migration (new reference otherwise). data and
 * view are taken over. */
typedef json_t *(*entry_fn)(const db_migration_t *m, const char *host, json_t *data,
                            const db_instance_t *inst, json_t *view);

static json_t *
recover_entry(const db_migration_t *m, const char *host, json_t *data, const db_instance_t *inst,
              json_t *view)
{
    (void)inst;
    /* the source drives a migration (the destination has nothing to resume); one never handed
     * to the source (no migrate data) never ran there */
    if (!tern_streq(m->source_compute, host) || json_is_null(data)) {
        json_decref(data);
        json_decref(view);
        return NULL;
    }
    return tern_json_pack("{s:s, s:s, s:s, s:o, s:o}", "migration", m->uuid, "status",
                          db_migration_status_name(m->status), "dest",
                          m->dest_compute ? m->dest_compute : "", "instance", view, "migrate_data",
                          data);
}

static json_t *
leftover_entry(const db_migration_t *m, const char *host, json_t *data, const db_instance_t *inst,
               json_t *view)
{
    /* A newer migration of the instance is in flight: what is on the host may be its own. */
    if (inst->task_state) {
        json_decref(data);
        json_decref(view);
        return NULL;
    }
    return tern_json_pack("{s:s, s:s, s:o, s:o, s:s*, s:b}", "migration", m->uuid, "role",
                          tern_streq(m->source_compute, host) ? "source" : "destination",
                          "instance", view, "migrate_data", data, "instance_host",
                          inst->deleted_ms ? NULL : inst->host, "deleted", inst->deleted_ms != 0);
}

/* host_list: answer method {"host": H} with {key: [entry of each migration filter lists]},
 * filter's host or cleanup_host set to H (leftovers). */
static int
host_list(conductor_t *cond, const rpc_request_t *req, const char *method, bool leftovers,
          const char *key, entry_fn entry, json_t **ret_result)
{
    const char *host;
    db_migration_filter_t filter = {.status = -1, .unfinished_only = !leftovers};
    db_migration_t *list = NULL;
    size_t n = 0;
    json_error_t jerr;
    db_conn_t *db;
    json_t *arr;
    int rc = 0;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s}", "host", &host) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to %s: %s", method, jerr.text);
    if (leftovers)
        filter.cleanup_host = host;
    else
        filter.host = host;
    if (!(db = conductor_db(cond)) || db_migration_list(db, &filter, &list, &n) < 0)
        return -1;
    arr = json_array();
    for (size_t i = 0; i < n && rc == 0; i++) {
        db_instance_t inst = {0};
        json_t *data = NULL, *view = NULL, *e;

        if (db_migration_get_migrate_data(db, list[i].uuid, &data) < 0 ||
            db_instance_get(db, list[i].instance_uuid, &inst) < 0 ||
            !(view = conductor_view_instance(db, &inst))) {
            json_decref(data);
            rc = -1;
        } else if ((e = entry(&list[i], host, data, &inst, view))) {
            json_array_append_new(arr, e);
        }
        db_instance_clear(&inst);
    }
    db_migration_list_free(list, n);
    if (rc < 0) {
        json_decref(arr);
        return -1;
    }
    *ret_result = tern_json_pack("{s:o}", key, arr);
    return 0;
}

int
conductor_migration_recover(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    return host_list(cond, req, "migration_recover", false, "migrations", recover_entry,
                     ret_result);
}

int
conductor_migration_leftovers(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    return host_list(cond, req, "migration_leftovers", true, "leftovers", leftover_entry,
                     ret_result);
}

int
conductor_sweep_orphans(conductor_t *cond, bool at_start)
{
    /* Before its hand-off a conductor makes at most three compute calls, each bounded by the
     * RPC timeout: a migration still queued well after that has lost its conductor. */
    int max_age_s = 3 * (cond->cfg.rpc_timeout_ms / 1000) + 60;
    TERN_AUTOFREE char *message = tern_asprintf(
        "the conductor handling it stopped before handing it to the source compute; ended by "
        "conductor %s (the instance kept running on its source)",
        cond->cfg.host);
    db_migration_t *list = NULL;
    size_t n = 0;
    db_conn_t *db;

    if (!(db = conductor_db(cond)) ||
        db_migration_take_orphans(db, at_start ? cond->cfg.host : NULL,
                                  cond->cfg.service_down_time_s, max_age_s, message, &list, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const db_migration_t *m = &list[i];

        if (db_migration_end(db, m->uuid, DB_MIGRATION_ERROR, message, NULL, NULL) < 0)
            TERN_WARN("orphaned migration %s: %s", m->uuid, tern_error_message());
        conductor_finish_action(db, NULL, m->instance_uuid, false, message);
        TERN_WARN("migration %s of instance %s from %s: %s", m->uuid, m->instance_uuid,
                  m->source_compute, message);
        conductor_notify_migration(cond, NULL, m->uuid, DB_MIGRATION_ERROR);
    }
    db_migration_list_free(list, n);
    return (int)n;
}

int
conductor_migration_cleaned(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *uuid, *host;
    json_error_t jerr;
    db_conn_t *db;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s:s}", "migration", &uuid, "host",
                       &host) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to migration_cleaned: %s",
                              jerr.text);
    if (!(db = conductor_db(cond)) || db_migration_leftovers_removed(db, uuid, host) < 0)
        return -1;
    TERN_INFO("migration %s: host %s removed its leftovers", uuid, host);
    *ret_result = json_object();
    return 0;
}

/* dest_holds: what the destination's hypervisor says of the instance: 1 runs it (no job, not
 * in post-copy), 0 does not hold it, 2 holds it otherwise (incoming, paused, post-copy); -1 when
 * it cannot be asked. */
static int
dest_holds(conductor_t *cond, const db_migration_t *m)
{
    json_t *args = tern_json_pack("{s:s}", "uuid", m->instance_uuid), *res = NULL;
    int exists = 0, persistent = 0, active = 0, rc;
    const char *state = NULL, *reason = NULL, *postcopy = NULL;
    json_error_t jerr;

    rc = conductor_call_compute_within(cond, NULL, m->dest_compute, "get_instance_state", args,
                                       PROBE_TIMEOUT_MS, &res);
    json_decref(args);
    if (rc < 0)
        return -1;
    if (json_unpack_ex(res, &jerr, JSON_STRICT, "{s:b, s:s, s:b, s?s, s:b, s:s}", "exists", &exists,
                       "state", &state, "persistent", &persistent, "pause_reason", &reason,
                       "job_active", &active, "postcopy", &postcopy) < 0)
        rc = tern_error_set(TERN_ERR_RPC, "invalid answer of host \"%s\" to get_instance_state: %s",
                            m->dest_compute, jerr.text);
    else if (!exists)
        rc = 0;
    else /* a destination in post-copy holds only part of the guest: never "runs it" */
        rc = tern_streq(state, "running") && !active && tern_streq(postcopy, "none") ? 1 : 2;
    json_decref(res);
    return rc;
}

/* end_silent: one migration whose source went silent, by what its destination holds. */
static void
end_silent(conductor_t *cond, db_conn_t *db, const db_migration_t *m)
{
    db_instance_t moved = {0};
    bool ended = false;
    int holds = m->dest_compute ? dest_holds(cond, m) : 0;

    if (holds == 1 && db_migration_switch_over(db, m->uuid, &moved) == 0) {
        conductor_finish_action(db, NULL, m->instance_uuid, true, NULL);
        TERN_WARN("migration %s: source compute %s went silent; host %s runs instance %s: "
                  "recorded there (the source removes its copy when it is back)",
                  m->uuid, m->source_compute, m->dest_compute, m->instance_uuid);
        db_instance_clear(&moved);
        conductor_notify_migration(cond, NULL, m->uuid, DB_MIGRATION_COMPLETED);
        return;
    }
    /* the destination may have prepared disks, a bridge, a filter: its compute removes them */
    if (holds == 0 &&
        db_migration_end(db, m->uuid, DB_MIGRATION_FAILED,
                         "the source compute went silent and the destination does not hold the "
                         "guest: it stays on its source",
                         m->dest_compute, &ended) == 0) {
        conductor_finish_action(db, NULL, m->instance_uuid, false, "source compute went silent");
        TERN_WARN("migration %s: source compute %s went silent; host %s does not hold instance "
                  "%s: ended, the instance stays on %s",
                  m->uuid, m->source_compute, m->dest_compute ? m->dest_compute : "(none)",
                  m->instance_uuid, m->source_compute);
        if (ended)
            conductor_notify_migration(cond, NULL, m->uuid, DB_MIGRATION_FAILED);
        return;
    }
    if (holds != 2)
        TERN_WARN("migration %s: source compute %s went silent; waiting: %s", m->uuid,
                  m->source_compute, tern_error_message());
}

int
conductor_watch_silent_sources(conductor_t *cond)
{
    db_migration_filter_t filter = {.status = -1,
                                    .unfinished_only = true,
                                    .source_silent_s = 2 * cond->cfg.service_down_time_s};
    db_migration_t *list = NULL;
    size_t n = 0, looked = 0;
    db_conn_t *db;

    if (!(db = conductor_db(cond)) || db_migration_list(db, &filter, &list, &n) < 0)
        return -1;
    for (size_t i = 0; i < n && looked < SILENT_PER_ROUND; i++) {
        /* queued ones are the sweep's; needs-operator and postcopy-paused wait for an operator */
        if (list[i].status == DB_MIGRATION_QUEUED ||
            list[i].status == DB_MIGRATION_NEEDS_OPERATOR ||
            list[i].status == DB_MIGRATION_POSTCOPY_PAUSED)
            continue;
        end_silent(cond, db, &list[i]);
        looked++;
    }
    db_migration_list_free(list, n);
    return (int)looked;
}

/* recovery_wait: sleep ms, or less when stopping; true when stopping. */
static bool
recovery_wait(conductor_t *cond, int ms)
{
    struct timespec ts;
    bool stopping;

    tern_timespec_after(CLOCK_REALTIME, ms, &ts);
    pthread_mutex_lock(&cond->recovery_lock);
    if (!cond->recovery_stopping)
        pthread_cond_timedwait(&cond->recovery_cond, &cond->recovery_lock, &ts);
    stopping = cond->recovery_stopping;
    pthread_mutex_unlock(&cond->recovery_lock);
    return stopping;
}

static void *
recovery_thread(void *arg)
{
    conductor_t *cond = arg;

    while (!recovery_wait(cond, cond->recovery_interval_ms)) {
        if (conductor_sweep_orphans(cond, false) < 0)
            TERN_WARN("could not look for orphaned migrations: %s", tern_error_message());
        if (conductor_watch_silent_sources(cond) < 0)
            TERN_WARN("could not look for migrations whose source went silent: %s",
                      tern_error_message());
    }
    return NULL;
}

int
conductor_recovery_start(conductor_t *cond, int interval_ms)
{
    cond->recovery_interval_ms = interval_ms;
    if (pthread_create(&cond->recovery, NULL, recovery_thread, cond) != 0)
        return tern_error_set(TERN_ERR_SYSTEM, "could not start the recovery thread");
    cond->recovery_started = true;
    return 0;
}
