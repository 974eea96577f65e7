/*
 * conductor/live_migrate.c: the live-migration task, from the request to the hand-off.
 *
 *   conductor_live_migrate
 *     conductor_check_parameters, conductor_find_instance
 *     conductor_check_instance_running, conductor_check_source_up       (change nothing)
 *     conductor_check_destination_* / conductor_select_destinations     (change nothing)
 *     begin_task: one transaction: task_state := migrating, action log, migration row (queued, with
 *                 this conductor as its owner until the hand-off: conductor_sweep_orphans)
 *     for each candidate destination, best first:
 *       claim_destination               memory/vCPUs/disk claimed atomically
 *       check_on_hosts                  the guest's CPU from the source (once), then the
 *                                       destination's and the source's compute checks over RPC
 *     cast live_migration to the source compute: it takes over from here
 *     each step is an event of the request's action (conductor/action_events.c): conductor_check
 *     once the checks passed, one conductor_try_destination per candidate (its host, why it
 *     refused), conductor_hand_off; a request refused before begin_task (refuse) still gets
 *     its action, ended "error", with a conductor_check event saying why
 *     on any failure after begin_task: end_task (db_migration_abandon: migration "error" with
 *     the reason, claim released, task_state cleared if the migration still owns it - unless
 *     the source has taken it, when the request has succeeded after all; action "error"; the
 *     migration's listeners told)
 *
 * Owns nothing across calls; the migration row is the durable record of where things stand.
 */
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/hold.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/checks.h"
#include "conductor/scheduler.h"
#include "conductor/views.h"

#define ACTION_LIVE_MIGRATION "live-migration"
#define ABANDON_RETRY_MS (30 * 1000)

/* The state of one request while the conductor handles it. */
typedef struct lm_task {
    conductor_t *cond;
    const rpc_request_t *req;
    db_conn_t *db;
    conductor_live_migrate_args_t args;
    db_instance_t inst;
    db_compute_node_t source; /* source node row */
    json_t *instance_json;    /* INSTANCE for the computes (owned) */
    db_migration_t mig;       /* the migration row once created */
    int64_t action_id;        /* 0 until the action is logged */
    bool task_begun;          /* task_state is ours */
    char *dest;               /* chosen destination (owned) */
    json_t *migrate_data;     /* from the host checks (owned) */
    json_t *guest_cpu;        /* the guest's CPU as the source read it, once (owned) */
    bool never_pause;         /* a drain's never-pause policy (the instance's is in inst) */
} lm_task_t;

static const char *
context_str(const rpc_request_t *req, const char *key)
{
    return json_string_value(json_object_get(req->context, key));
}

/* with_disk: whether the claim includes the root disk: block migration asked, or "auto" (which
 * copies unless the storage is shared, known only after the hosts' checks). */
static bool
with_disk(const lm_task_t *t)
{
    return t->args.block_migration != 0;
}

/* check_destination: the conductor-side checks of a named destination. */
static int
check_destination(lm_task_t *t, const char *host)
{
    db_compute_node_t dest = {0};
    int rc;

    if (conductor_check_hosts_differ(&t->inst, host) < 0 ||
        conductor_check_destination_exists(t->db, host) < 0 ||
        conductor_check_destination_up(t->cond, t->db, host) < 0 ||
        db_compute_node_get(t->db, host, NULL, &dest) < 0)
        return -1;
    rc = conductor_check_destination_resources(t->db, &t->inst, &dest, with_disk(t), NULL);
    if (rc == 0)
        rc = conductor_check_hypervisor_compatible(&t->inst, &t->source, &dest);
    db_compute_node_clear(&dest);
    return rc;
}

/* begin_task: the atomic start (one transaction: task_state, action, migration owned by this
 * conductor); from here on end_task must run on failure. */
static int
begin_task(lm_task_t *t)
{
    db_migration_t req = {0};

    tern_strlcpy(req.instance_uuid, t->inst.uuid, sizeof(req.instance_uuid));
    req.source_compute = t->inst.host;
    req.source_node = t->inst.node;
    req.block_migration = t->args.block_migration == 1;
    req.user_id = (char *)t->req->amqp_user_id;
    req.project_id = (char *)context_str(t->req, "project_id");
    if (db_migration_begin(t->db, &req, t->cond->cfg.host, t->req->request_id,
                           ACTION_LIVE_MIGRATION, &t->action_id, &t->mig) < 0)
        return -1;
    t->task_begun = true;
    conductor_event_record(t->db, t->action_id, CONDUCTOR_EVENT_CHECK, t->cond->cfg.host, true,
                           NULL);
    tern_hold("checks", t->mig.uuid); /* tests/faults: nothing in a production build */
    return 0;
}

/* refuse: a request refused before the atomic start (a check failed, or the instance is busy)
 * is recorded all the same, as nova does: its action, ended "error", with the conductor_check
 * event saying why. Best effort; the error in flight is kept for the caller. */
static void
refuse(lm_task_t *t)
{
    tern_error_t err;
    int64_t id = 0;

    tern_error_copy(&err);
    if (db_action_start(t->db, t->req->request_id ? t->req->request_id : "", t->inst.uuid,
                        ACTION_LIVE_MIGRATION, t->req->amqp_user_id,
                        context_str(t->req, "project_id"), &id) < 0)
        TERN_WARN("could not record the refused live migration of instance %s: %s", t->inst.uuid,
                  tern_error_message());
    conductor_event_record(t->db, id, CONDUCTOR_EVENT_CHECK, t->cond->cfg.host, false, err.message);
    if (id && db_action_finish(t->db, id, false, err.message) < 0)
        TERN_WARN("could not finish action %lld: %s", (long long)id, tern_error_message());
    tern_error_restore(&err);
}

/* abandon: db_migration_abandon, tried again for a while when the database is away (it may
 * well be why the request failed): else the migration would wait for the sweep's age limit. */
static int
abandon(lm_task_t *t, const char *message, bool *ret_ended)
{
    int64_t deadline = tern_now_monotonic_ms() + ABANDON_RETRY_MS;
    int rc;

    while ((rc = db_migration_abandon(t->db, t->mig.uuid, message, ret_ended)) < 0 &&
           (tern_error_code() == TERN_ERR_DB || tern_error_code() == TERN_ERR_UNAVAILABLE) &&
           tern_now_monotonic_ms() < deadline)
        tern_sleep_ms(1000);
    return rc;
}

/* end_task: undo begin_task after a failure; the error in flight is kept for the caller.
 * Returns 1 instead when the source compute has taken the migration all the same (a hand-off
 * cast that looked failed but arrived): it goes on, and the request has succeeded. */
static int
end_task(lm_task_t *t)
{
    tern_error_t err;
    bool ended = false;

    if (!t->task_begun)
        return 0;
    tern_error_copy(&err);
    /* Only while still queued (db_migration_abandon), and the task only while the migration
     * owns it: a sweep may have ended it and a newer migration begun. */
    if (abandon(t, err.message, &ended) < 0) {
        if (tern_error_code() == TERN_ERR_CONFLICT) {
            TERN_WARN("live migration %s: %s; the source took it anyway: %s", t->mig.uuid,
                      err.message, tern_error_message());
            return 1;
        }
        TERN_WARN("migration %s: could not record its end: %s", t->mig.uuid, tern_error_message());
    } else if (ended) {
        conductor_notify_migration(t->cond, t->req, t->mig.uuid, DB_MIGRATION_ERROR);
    }
    if (t->action_id)
        db_action_finish(t->db, t->action_id, false, err.message);
    tern_error_restore(&err);
    return 0;
}

static int
claim_destination(lm_task_t *t, const char *host)
{
    db_resources_t need;
    db_claim_request_t claim = {.migration_uuid = t->mig.uuid, .host = host};

    conductor_migration_needs(&t->inst, with_disk(t), &need);
    claim.memory_mb = need.memory_mb;
    claim.vcpus = (int)need.vcpus;
    claim.disk_gb = need.disk_gb;

    if (db_migration_set_destination(t->db, t->mig.uuid, host, host) < 0)
        return -1;
    return db_claim_take(t->db, &claim, NULL);
}

/* fetch_guest_cpu: the running guest's CPU from the source compute (its live definition), which
 * every candidate destination judges; asked once per request. */
static int
fetch_guest_cpu(lm_task_t *t)
{
    json_t *args, *res = NULL;
    int rc;

    if (t->guest_cpu)
        return 0;
    args = tern_json_pack("{s:s}", "uuid", t->inst.uuid);
    rc = conductor_call_compute(t->cond, t->req, t->inst.host, "get_guest_cpu", args, &res);
    json_decref(args);
    if (rc < 0)
        return -1;
    if (!json_is_object(json_object_get(res, "guest_cpu"))) {
        json_decref(res);
        return tern_error_set(TERN_ERR_RPC,
                              "host \"%s\" answered get_guest_cpu without "
                              "\"guest_cpu\"",
                              t->inst.host);
    }
    t->guest_cpu = json_incref(json_object_get(res, "guest_cpu"));
    json_decref(res);
    return 0;
}

/* check_on_hosts: the destination's then the source's own checks; leaves migrate_data. */
static int
check_on_hosts(lm_task_t *t, const char *host)
{
    json_t *block =
        t->args.block_migration < 0 ? json_null() : json_boolean(t->args.block_migration);
    json_t *args, *dest_data = NULL, *data = NULL, *cleanup;
    int rc;

    if (fetch_guest_cpu(t) < 0) {
        json_decref(block);
        return -1;
    }
    args = tern_json_pack("{s:O, s:O, s:s, s:O}", "instance", t->instance_json, "block_migration",
                          block, "source_host", t->inst.host, "guest_cpu", t->guest_cpu);
    rc = conductor_call_compute(t->cond, t->req, host, "check_can_live_migrate_destination", args,
                                &dest_data);
    json_decref(args);
    if (rc < 0) {
        json_decref(block);
        return -1;
    }
    args = tern_json_pack("{s:O, s:O, s:o}", "instance", t->instance_json, "dest_check_data",
                          dest_data, "block_migration", block);
    rc = conductor_call_compute(t->cond, t->req, t->inst.host, "check_can_live_migrate_source",
                                args, &data);
    json_decref(args);
    /* The probe is removed whatever the source said. */
    cleanup = tern_json_pack("{s:O}", "dest_check_data", dest_data);
    if (conductor_call_compute(t->cond, t->req, host, "cleanup_live_migration_destination_check",
                               cleanup, NULL) < 0 &&
        rc == 0)
        TERN_WARN("could not remove the shared-storage probe on host %s: %s", host,
                  tern_error_message());
    json_decref(cleanup);
    json_decref(dest_data);
    if (rc < 0)
        return -1;
    t->migrate_data = data;
    return 0;
}

/* try_destinations: claim and host-check candidates in order until one passes. */
static int
try_destinations(lm_task_t *t, char **hosts, size_t n)
{
    char reasons[TERN_ERROR_MSG_MAX / 2] = "";
    size_t used = 0;

    for (size_t i = 0; i < n; i++) {
        int64_t ev =
            conductor_event_start(t->db, t->action_id, CONDUCTOR_EVENT_TRY_DESTINATION, hosts[i]);

        if (claim_destination(t, hosts[i]) == 0 && check_on_hosts(t, hosts[i]) == 0) {
            conductor_event_finish(t->db, ev, true, NULL);
            t->dest = tern_strdup(hosts[i]);
            return 0;
        }
        conductor_event_finish(t->db, ev, false, tern_error_message());
        if (n == 1)
            return -1; /* a named host: its own error says it all */
        TERN_INFO("live migration of %s: host %s refused: %s", t->inst.uuid, hosts[i],
                  tern_error_message());
        if (used < sizeof(reasons))
            used += (size_t)snprintf(reasons + used, sizeof(reasons) - used, "%s%s",
                                     used ? "; " : "", tern_error_message());
        db_claim_release(t->db, t->mig.uuid, NULL);
    }
    return tern_error_set(TERN_ERR_CHECK_FAILED, "no host could take instance \"%s\": %s",
                          t->inst.uuid, reasons);
}

/* hand_off: the source compute takes over; the conductor's part ends here. */
static int
hand_off(lm_task_t *t)
{
    int64_t ev = conductor_event_start(t->db, t->action_id, CONDUCTOR_EVENT_HAND_OFF, t->inst.host);
    json_t *args;
    int rc = -1;

    /* The convergence policy travels with the migrate data (compute/migrate_data.h). */
    if (t->never_pause || t->inst.never_pause)
        json_object_set_new(t->migrate_data, "never_pause", json_true());
    /* Kept before the hand-off: a compute restarted mid-migration finishes or rolls back
     * from it (compute/recovery.c). */
    if (db_migration_phase_end(t->db, t->mig.uuid, DB_MIGRATION_PHASE_CHECKS) == 0 &&
        db_migration_set_migrate_data(t->db, t->mig.uuid, t->migrate_data) == 0) {
        args = tern_json_pack("{s:O, s:s, s:s, s:O}", "instance", t->instance_json, "migration",
                              t->mig.uuid, "dest", t->dest, "migrate_data", t->migrate_data);
        rc = conductor_cast_compute(t->cond, t->req, t->inst.host, "live_migration", args);
        json_decref(args);
    }
    conductor_event_finish(t->db, ev, rc == 0, rc == 0 ? NULL : tern_error_message());
    return rc;
}

/* choose_candidates: the named host after its checks, or the scheduler's list. */
static int
choose_candidates(lm_task_t *t, char ***ret_hosts, size_t *ret_n)
{
    if (t->args.host) {
        if (check_destination(t, t->args.host) < 0)
            return -1;
        *ret_hosts = tern_calloc(1, sizeof(char *));
        (*ret_hosts)[0] = tern_strdup(t->args.host);
        *ret_n = 1;
        return 0;
    }
    return conductor_select_destinations(t->cond, t->db, &t->inst, &t->source, with_disk(t),
                                         ret_hosts, ret_n);
}

/* run_task: from the instance found to the hand-off; candidates NULL: the named host's or the
 * scheduler's. On success *ret_migration (may be NULL) is the migration as handed off. */
static int
run_task(lm_task_t *t, char **candidates, size_t n_candidates, db_migration_t *ret_migration)
{
    char **hosts = NULL;
    size_t n_hosts = 0;
    char uuid[DB_UUID_LEN];
    int rc = -1;

    if (conductor_check_instance_running(&t->inst) < 0 ||
        conductor_check_source_up(t->cond, t->db, &t->inst) < 0 ||
        db_compute_node_get(t->db, t->inst.host, NULL, &t->source) < 0 ||
        (!candidates && choose_candidates(t, &hosts, &n_hosts) < 0) ||
        !(t->instance_json = conductor_view_instance(t->db, &t->inst)) || begin_task(t) < 0) {
        refuse(t);
        goto cleanup;
    }
    if (candidates) {
        hosts = candidates;
        n_hosts = n_candidates;
    }
    if ((try_destinations(t, hosts, n_hosts) < 0 || hand_off(t) < 0) && end_task(t) == 0)
        goto cleanup;
    memcpy(uuid, t->mig.uuid, sizeof(uuid));
    db_migration_clear(&t->mig);
    if (db_migration_get(t->db, uuid, &t->mig) < 0)
        goto cleanup;
    TERN_INFO("live migration %s of instance %s from %s to %s handed to the source", t->mig.uuid,
              t->inst.uuid, t->inst.host, t->dest);
    if (ret_migration) {
        *ret_migration = t->mig;
        memset(&t->mig, 0, sizeof(t->mig));
    }
    rc = 0;

cleanup:
    if (hosts != candidates)
        conductor_hosts_free(hosts, n_hosts);
    return rc;
}

static void
task_clear(lm_task_t *t)
{
    json_decref(t->instance_json);
    json_decref(t->migrate_data);
    json_decref(t->guest_cpu);
    free(t->dest);
    db_migration_clear(&t->mig);
    db_compute_node_clear(&t->source);
    db_instance_clear(&t->inst);
}

int
conductor_live_migrate(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    lm_task_t t = {.cond = cond, .req = req};
    db_migration_t mig = {0};
    int rc = -1;

    if (conductor_check_parameters(req->args, &t.args) < 0 || !(t.db = conductor_db(cond)) ||
        conductor_find_instance(t.db, t.args.instance, &t.inst) < 0)
        return -1;
    if (run_task(&t, NULL, 0, &mig) == 0) {
        *ret_result = tern_json_pack("{s:o}", "migration", conductor_view_migration(&mig));
        rc = 0;
    }
    db_migration_clear(&mig);
    task_clear(&t);
    return rc;
}

int
conductor_live_migrate_among(conductor_t *cond, const rpc_request_t *req, const db_instance_t *inst,
                             int block_migration, bool never_pause, char **hosts, size_t n_hosts,
                             db_migration_t *ret_migration)
{
    lm_task_t t = {.cond = cond, .req = req, .never_pause = never_pause};
    int rc = -1;

    t.args.instance = inst->uuid;
    t.args.block_migration = block_migration;
    if (n_hosts == 1)
        t.args.host = hosts[0];
    if ((t.db = conductor_db(cond)) && conductor_find_instance(t.db, inst->uuid, &t.inst) == 0)
        rc = run_task(&t, hosts, n_hosts, ret_migration);
    task_clear(&t);
    return rc;
}
