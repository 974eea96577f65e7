/*
 * conductor/drain.c: the drain runner - the thread that moves every instance off a host.
 *
 * A drain is a row in PostgreSQL (db/drains.h); this thread runs the drains its conductor owns,
 * taking over those whose conductor stopped (db_drain_take: one conditional UPDATE, so two
 * conductors never run one drain). Each round, for each drain:
 *
 *   drain_step
 *     reconcile_item        each unfinished instance against the facts: off the host -> completed;
 *                           its migration ended badly -> queued again (up to DRAIN_MAX_ATTEMPTS),
 *                           or failed with the reason; busy with a migration nobody recorded
 *                           (a conductor died between starting it and noting it) -> adopted
 *     abort_items           aborting: queued ones cancelled, running ones aborted on the source
 *     admit_items           running: queued ones in priority order, while the limits allow:
 *                           the drain's max_concurrent, the host's own limit out of it, each
 *                           destination's limit into it (compute_nodes.max_live_migrations),
 *                           and [conductor] max_concurrent_migrations across the cloud
 *       admit_item          the scheduler's hosts (the one capacity rule, claims counted) minus
 *                           those at their incoming limit, handed to the live-migration task
 *                           (conductor_live_migrate_among: checks, claim, host checks on each
 *                           candidate in turn, hand-off), as the user who asked for the drain
 *     finish_drain          every instance final -> completed, failed or aborted, with a message
 *
 * The round runs every DRAIN_INTERVAL_MS, and at once when a migration of this conductor changes
 * status or a drain is asked for (conductor_drain_wake). Everything it decides is recorded
 * before the next step relies on it, so a conductor killed at any point leaves a drain that the
 * next round - here or on another conductor - carries on from the database.
 *
 * Owns: the drain thread (conductor_drain_start, stopped by conductor_free) and, within a round,
 * the rows it read.
 */
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/conductor.h"
#include "conductor/scheduler.h"

#define DRAIN_INTERVAL_MS 1000
#define DRAIN_MAX_ATTEMPTS 3

/* One drain during one round. */
typedef struct drain_run {
    conductor_t *cond;
    db_conn_t *db;
    db_drain_t *d;          /* borrowed from the round's list */
    db_drain_item_t *items; /* owned */
    size_t n_items;
    db_compute_node_t source; /* the drained host's node */
    db_flight_t flight;       /* migrations in flight, updated as this round admits */
    rpc_request_t req;        /* the drain's requester, for the migrations it starts */
    json_t *context;          /* owned: req.context */
} drain_run_t;

/* item_set: a compare-and-set of the item from its status; the in-memory copy follows. */
static int
item_set(drain_run_t *r, db_drain_item_t *it, db_drain_item_status_t to, const char *migration,
         const char *dest, const char *message, bool attempt)
{
    if (db_drain_item_update(r->db, it->id, it->status, to, migration, dest, message, attempt) <
        0) {
        TERN_WARN("drain %lld of %s: instance %s: %s", (long long)r->d->id, r->d->host,
                  it->instance_uuid, tern_error_message());
        return -1;
    }
    if (db_drain_item_status_is_final(to) || to != it->status)
        TERN_INFO("drain %lld of %s: instance %s %s -> %s%s%s", (long long)r->d->id, r->d->host,
                  it->instance_uuid, db_drain_item_status_name(it->status),
                  db_drain_item_status_name(to), message ? ": " : "", message ? message : "");
    it->status = to;
    if (attempt)
        it->attempts++;
    if (migration)
        tern_strlcpy(it->migration_uuid, migration, sizeof(it->migration_uuid));
    return 0;
}

/* attempt_failed: the instance's latest attempt did not move it: queued for another try, or
 * failed for good after DRAIN_MAX_ATTEMPTS (or when no host can take it at all). */
static void
attempt_failed(drain_run_t *r, db_drain_item_t *it, const char *why, bool final)
{
    TERN_AUTOFREE char *msg = NULL;

    if (r->d->status == DB_DRAIN_ABORTING) {
        msg = tern_asprintf("the drain was aborted: %s", why);
        item_set(r, it, DB_DRAIN_ITEM_CANCELLED, NULL, NULL, msg, false);
    } else if (final || it->attempts >= DRAIN_MAX_ATTEMPTS) {
        msg = tern_asprintf("attempt %d of %d: %s", it->attempts, DRAIN_MAX_ATTEMPTS, why);
        item_set(r, it, DB_DRAIN_ITEM_FAILED, NULL, NULL, msg, false);
    } else {
        msg = tern_asprintf("attempt %d of %d failed, to be tried again: %s", it->attempts,
                            DRAIN_MAX_ATTEMPTS, why);
        item_set(r, it, DB_DRAIN_ITEM_QUEUED, NULL, NULL, msg, false);
    }
}

/* reconcile_migration: a migrating item whose migration has ended (or is stuck). */
static void
reconcile_migration(drain_run_t *r, db_drain_item_t *it)
{
    db_migration_t mig = {0};
    TERN_AUTOFREE char *why = NULL;

    if (db_migration_get(r->db, it->migration_uuid, &mig) < 0) {
        TERN_WARN("drain %lld: migration %s of instance %s: %s", (long long)r->d->id,
                  it->migration_uuid, it->instance_uuid, tern_error_message());
        return;
    }
    if (mig.status == DB_MIGRATION_NEEDS_OPERATOR || mig.status == DB_MIGRATION_POSTCOPY_PAUSED) {
        why = tern_asprintf("migration %lld is %s: %s", (long long)mig.id,
                            db_migration_status_name(mig.status),
                            mig.error_message ? mig.error_message : "an operator must decide");
        item_set(r, it, DB_DRAIN_ITEM_FAILED, NULL, NULL, why, false);
    } else if (db_migration_status_is_final(mig.status) && mig.status != DB_MIGRATION_COMPLETED) {
        why = tern_asprintf("migration %lld to %s %s: %s", (long long)mig.id,
                            mig.dest_compute ? mig.dest_compute : "-",
                            db_migration_status_name(mig.status),
                            mig.error_message ? mig.error_message : "no reason recorded");
        attempt_failed(r, it, why, false);
    }
    db_migration_clear(&mig);
}

/* adopt_migration: the instance is busy with a migration from this host that the item does not
 * know (its conductor died between the start and recording it): follow that one. */
static void
adopt_migration(drain_run_t *r, db_drain_item_t *it)
{
    db_migration_filter_t filter = {.instance_uuid = it->instance_uuid};
    db_migration_t *list = NULL;
    size_t n = 0;

    if (db_migration_list(r->db, &filter, &list, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (db_migration_status_is_final(list[i].status) ||
            !tern_streq(list[i].source_compute, r->d->host))
            continue;
        item_set(r, it, DB_DRAIN_ITEM_MIGRATING, list[i].uuid, list[i].dest_compute,
                 "adopted the migration in flight", true);
        break;
    }
    db_migration_list_free(list, n);
}

/* reconcile_item: an unfinished item against what the database says of its instance. */
static void
reconcile_item(drain_run_t *r, db_drain_item_t *it)
{
    db_instance_t inst = {0};
    TERN_AUTOFREE char *why = NULL;

    if (db_drain_item_status_is_final(it->status))
        return;
    if (db_instance_get(r->db, it->instance_uuid, &inst) < 0 || inst.deleted_ms) {
        if (inst.deleted_ms || tern_error_code() == TERN_ERR_NOT_FOUND)
            item_set(r, it, DB_DRAIN_ITEM_CANCELLED, NULL, NULL, "the instance was deleted", false);
        db_instance_clear(&inst);
        return;
    }
    if (!tern_streq(inst.host, r->d->host)) {
        why = tern_asprintf("now on %s", inst.host ? inst.host : "no host");
        item_set(r, it, DB_DRAIN_ITEM_COMPLETED, NULL, inst.host, why, false);
    } else if (it->status == DB_DRAIN_ITEM_MIGRATING) {
        reconcile_migration(r, it);
    } else if (inst.task_state) {
        adopt_migration(r, it);
    }
    db_instance_clear(&inst);
}

/* abort_items: an aborting drain cancels what waits and aborts what runs. */
static void
abort_items(drain_run_t *r)
{
    for (size_t i = 0; i < r->n_items; i++) {
        db_drain_item_t *it = &r->items[i];
        json_t *args;

        if (it->status == DB_DRAIN_ITEM_QUEUED) {
            item_set(r, it, DB_DRAIN_ITEM_CANCELLED, NULL, NULL, "the drain was aborted", false);
            continue;
        }
        if (it->status != DB_DRAIN_ITEM_MIGRATING || it->abort_sent)
            continue;
        args = tern_json_pack("{s:s}", "migration", it->migration_uuid);
        if (conductor_call_compute(r->cond, &r->req, r->d->host, "live_migration_abort", args,
                                   NULL) == 0 ||
            (tern_error_code() != TERN_ERR_TIMEOUT && tern_error_code() != TERN_ERR_UNAVAILABLE))
            db_drain_item_abort_sent(r->db, it->id);
        else
            TERN_WARN("drain %lld: could not abort migration %s (tried again next round): %s",
                      (long long)r->d->id, it->migration_uuid, tern_error_message());
        json_decref(args);
    }
}

/* within_incoming_limit: hosts (the scheduler's, best first) that can take one more migration
 * in; the others are freed and dropped. Returns how many are left. */
static size_t
within_incoming_limit(drain_run_t *r, char **hosts, size_t n)
{
    size_t kept = 0;

    for (size_t i = 0; i < n; i++) {
        db_compute_node_t node = {0};
        bool room = db_compute_node_get(r->db, hosts[i], NULL, &node) == 0 &&
                    (node.max_live_migrations == 0 ||
                     db_flight_incoming(&r->flight, hosts[i]) < node.max_live_migrations) &&
                    (!r->d->target_host || tern_streq(hosts[i], r->d->target_host));

        db_compute_node_clear(&node);
        if (room)
            hosts[kept++] = hosts[i];
        else
            free(hosts[i]);
    }
    return kept;
}

/* admit_item: start the item's migration. 1: started; 0: not now (every candidate is at its
 * incoming limit, or the instance is busy); -1: this attempt failed (recorded). */
static int
admit_item(drain_run_t *r, db_drain_item_t *it)
{
    db_instance_t inst = {0};
    db_migration_t mig = {0};
    char **hosts = NULL;
    size_t n = 0, total;
    int rc = 0;

    if (db_instance_get(r->db, it->instance_uuid, &inst) < 0 || inst.task_state)
        goto out;
    if (conductor_select_destinations(r->cond, r->db, &inst, &r->source, r->d->block_migration != 0,
                                      &hosts, &n) < 0) {
        item_set(r, it, DB_DRAIN_ITEM_QUEUED, NULL, NULL, NULL, true);
        attempt_failed(r, it, tern_error_message(), true); /* no host can take it */
        rc = -1;
        goto out;
    }
    total = n;
    if ((n = within_incoming_limit(r, hosts, n)) == 0) {
        if (r->d->target_host && total > 0)
            TERN_DEBUG("drain %lld: %s waits for room on %s", (long long)r->d->id, inst.uuid,
                       r->d->target_host);
        goto out;
    }
    if (conductor_live_migrate_among(r->cond, &r->req, &inst, r->d->block_migration,
                                     r->d->never_pause, hosts, n, &mig) < 0) {
        TERN_AUTOFREE char *why = tern_strdup(tern_error_message());

        item_set(r, it, DB_DRAIN_ITEM_QUEUED, NULL, NULL, NULL, true);
        attempt_failed(r, it, why, false);
        rc = -1;
        goto out;
    }
    item_set(r, it, DB_DRAIN_ITEM_MIGRATING, mig.uuid, mig.dest_compute, NULL, true);
    db_flight_add(&r->flight, r->d->host, mig.dest_compute);
    rc = 1;
out:
    conductor_hosts_free(hosts, n);
    db_migration_clear(&mig);
    db_instance_clear(&inst);
    return rc;
}

/* admit_items: queued items in priority order while every limit has room. */
static void
admit_items(drain_run_t *r)
{
    int source_limit = r->source.max_live_migrations, global = r->cond->cfg.max_migrations;
    int limit = r->d->max_concurrent, running = 0;

    if (source_limit > 0 && source_limit < limit)
        limit = source_limit;
    for (size_t i = 0; i < r->n_items; i++)
        running += r->items[i].status == DB_DRAIN_ITEM_MIGRATING;
    for (size_t i = 0; i < r->n_items; i++) {
        db_drain_item_t *it = &r->items[i];
        int rc;

        if (it->status != DB_DRAIN_ITEM_QUEUED)
            continue;
        if (running >= limit ||
            (source_limit > 0 && db_flight_outgoing(&r->flight, r->d->host) >= source_limit) ||
            (global > 0 && r->flight.total >= global))
            break;
        if ((rc = admit_item(r, it)) == 0)
            break; /* higher priorities first: the next waits for this one */
        running += rc > 0;
    }
}

/* finish_drain: every item final: the drain ends, saying how. */
static void
finish_drain(drain_run_t *r)
{
    size_t count[DB_DRAIN_ITEM_CANCELLED + 1] = {0};
    db_drain_status_t status;
    TERN_AUTOFREE char *msg = NULL;

    for (size_t i = 0; i < r->n_items; i++) {
        if (!db_drain_item_status_is_final(r->items[i].status))
            return;
        count[r->items[i].status]++;
    }
    if (r->d->status == DB_DRAIN_ABORTING)
        status = DB_DRAIN_ABORTED;
    else if (count[DB_DRAIN_ITEM_FAILED] || count[DB_DRAIN_ITEM_BLOCKED])
        status = DB_DRAIN_FAILED;
    else
        status = DB_DRAIN_COMPLETED;
    msg = tern_asprintf("%zu of %zu instances moved off %s; %zu failed, %zu blocked, %zu "
                        "cancelled",
                        count[DB_DRAIN_ITEM_COMPLETED], r->n_items, r->d->host,
                        count[DB_DRAIN_ITEM_FAILED], count[DB_DRAIN_ITEM_BLOCKED],
                        count[DB_DRAIN_ITEM_CANCELLED]);
    if (db_drain_finish(r->db, r->d->id, status, msg) < 0) {
        TERN_WARN("drain %lld of %s: could not record its end: %s", (long long)r->d->id, r->d->host,
                  tern_error_message());
        return;
    }
    TERN_INFO("drain %lld of %s %s: %s", (long long)r->d->id, r->d->host,
              db_drain_status_name(status), msg);
}

/* run_init: the drain's requester as the identity of the migrations it starts. */
static void
run_init(drain_run_t *r, conductor_t *cond, db_conn_t *db, db_drain_t *d)
{
    memset(r, 0, sizeof(*r));
    r->cond = cond;
    r->db = db;
    r->d = d;
    r->context = tern_json_pack("{s:s?, s:s?, s:s?}", "request_id", d->request_id, "user_id",
                                d->user_id, "project_id", d->project_id);
    r->req.method = "live_migrate";
    r->req.args = r->context; /* unused by the task */
    r->req.context = r->context;
    r->req.request_id = d->request_id;
    r->req.amqp_user_id = d->user_id ? d->user_id : "";
    r->req.version = CONDUCTOR_RPC_VERSION;
}

static void
drain_step(conductor_t *cond, db_conn_t *db, db_drain_t *d)
{
    drain_run_t r;

    run_init(&r, cond, db, d);
    if (db_drain_items(db, d->id, &r.items, &r.n_items) < 0 ||
        db_compute_node_get(db, d->host, NULL, &r.source) < 0 ||
        db_migrations_in_flight(db, &r.flight) < 0) {
        TERN_WARN("drain %lld of %s: %s", (long long)d->id, d->host, tern_error_message());
        goto out;
    }
    for (size_t i = 0; i < r.n_items; i++)
        reconcile_item(&r, &r.items[i]);
    if (d->status == DB_DRAIN_ABORTING)
        abort_items(&r);
    else
        admit_items(&r);
    finish_drain(&r);
out:
    db_drain_item_list_free(r.items, r.n_items);
    db_compute_node_clear(&r.source);
    db_flight_clear(&r.flight);
    json_decref(r.context);
}

int
conductor_drain_round(conductor_t *cond)
{
    db_drain_t *drains = NULL;
    size_t n = 0;
    db_conn_t *db = conductor_db(cond);

    if (!db || db_drain_take(db, cond->cfg.host, cond->cfg.service_down_time_s, &drains, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        drain_step(cond, db, &drains[i]);
    db_drain_list_free(drains, n);
    return (int)n;
}

/* ---- the thread ---- */

void
conductor_drain_wake(conductor_t *cond)
{
    pthread_mutex_lock(&cond->drain_lock);
    cond->drain_woken = true;
    pthread_cond_broadcast(&cond->drain_cond);
    pthread_mutex_unlock(&cond->drain_lock);
}

/* drain_wait: until woken, DRAIN_INTERVAL_MS or stopping; true when stopping. */
static bool
drain_wait(conductor_t *cond)
{
    struct timespec ts;
    bool stopping;

    tern_timespec_after(CLOCK_REALTIME, DRAIN_INTERVAL_MS, &ts);
    pthread_mutex_lock(&cond->drain_lock);
    if (!cond->drain_stopping && !cond->drain_woken)
        pthread_cond_timedwait(&cond->drain_cond, &cond->drain_lock, &ts);
    cond->drain_woken = false;
    stopping = cond->drain_stopping;
    pthread_mutex_unlock(&cond->drain_lock);
    return stopping;
}

static void *
drain_thread(void *arg)
{
    conductor_t *cond = arg;

    do {
        if (conductor_drain_round(cond) < 0)
            TERN_WARN("could not run the host drains: %s", tern_error_message());
    } while (!drain_wait(cond));
    return NULL;
}

int
conductor_drain_start(conductor_t *cond)
{
    if (pthread_create(&cond->drain, NULL, drain_thread, cond) != 0)
        return tern_error_set(TERN_ERR_SYSTEM, "could not start the drain thread");
    cond->drain_started = true;
    return 0;
}

void
conductor_drain_stop(conductor_t *cond)
{
    if (!cond->drain_started)
        return;
    pthread_mutex_lock(&cond->drain_lock);
    cond->drain_stopping = true;
    pthread_cond_broadcast(&cond->drain_cond);
    pthread_mutex_unlock(&cond->drain_lock);
    pthread_join(cond->drain, NULL);
    cond->drain_started = false;
}
