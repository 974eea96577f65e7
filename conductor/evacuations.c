/*
 * conductor/evacuations.c: the operator's side of host drains (conductor/API.md, "Drains").
 *
 *   host_evacuate_live      a drain: the host disabled with a reason, every instance queued in
 *                           priority order (those that must not move reported as blocked)
 *   host_maintenance_enter  the same, and the host stays in maintenance until...
 *   host_maintenance_exit   ...this: enabled again (refused while a drain runs)
 *   host_evacuate_abort     queued instances cancelled, running migrations aborted
 *   evacuation_get          a drain with each instance's outcome and the progress
 *
 * The drain itself runs on the drain thread (conductor/drain.c); these handlers only record
 * what was asked and wake it. Owns nothing across calls.
 */
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/conductor.h"
#include "conductor/validate.h"
#include "conductor/views.h"

/* The drain's answer: its row, its instances and its progress. */
static int
drain_result(db_conn_t *db, const db_drain_t *d, json_t **ret_result)
{
    db_drain_item_t *items = NULL;
    size_t n = 0;

    if (db_drain_items(db, d->id, &items, &n) < 0)
        return -1;
    *ret_result =
        tern_json_pack("{s:o}", "drain", conductor_view_drain(d, items, n, tern_now_realtime_ms()));
    db_drain_item_list_free(items, n);
    return 0;
}

/* check_drain_target: a named destination must be another known compute host. */
static int
check_drain_target(db_conn_t *db, const char *host, const char *target)
{
    db_compute_node_t node = {0};

    if (!target)
        return 0;
    if (tern_streq(host, target))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid target_host \"%s\": it is the host being drained", target);
    if (db_compute_node_get(db, target, NULL, &node) < 0)
        return tern_error_prefix("invalid target_host \"%s\"", target);
    db_compute_node_clear(&node);
    return 0;
}

/* begin_drain: validate, record the drain (host disabled, instances queued), wake the runner. */
static int
begin_drain(conductor_t *cond, const rpc_request_t *req, bool maintenance, json_t **ret_result)
{
    db_drain_t ask = {0}, made = {0};
    db_compute_node_t node = {0};
    TERN_AUTOFREE char *reason = NULL;
    db_conn_t *db;
    int rc = -1;

    if (conductor_validate_drain(req, &ask) < 0 || !(db = conductor_db(cond)) ||
        check_drain_target(db, ask.host, ask.target_host) < 0)
        return -1;
    if (db_compute_node_get(db, ask.host, NULL, &node) < 0)
        return tern_error_prefix("cannot drain host \"%s\"", ask.host);
    if (!ask.max_concurrent)
        ask.max_concurrent = node.max_live_migrations > 0 ? node.max_live_migrations : 1;
    db_compute_node_clear(&node);
    ask.maintenance = maintenance;
    ask.user_id = (char *)req->amqp_user_id;
    ask.project_id = (char *)json_string_value(json_object_get(req->context, "project_id"));
    ask.request_id = (char *)req->request_id;
    if (!ask.reason)
        ask.reason = reason = tern_asprintf("%s by %s", maintenance ? "maintenance" : "drained",
                                            req->amqp_user_id[0] ? req->amqp_user_id : "-");
    if (db_drain_create(db, &ask, &made) == 0) {
        TERN_INFO("drain %lld of %s asked by %s (maintenance %s, at most %d at once)",
                  (long long)made.id, made.host, req->amqp_user_id, maintenance ? "yes" : "no",
                  made.max_concurrent);
        conductor_drain_wake(cond);
        rc = drain_result(db, &made, ret_result);
    }
    db_drain_clear(&made);
    return rc;
}

int
conductor_host_evacuate_live(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    return begin_drain(cond, req, false, ret_result);
}

int
conductor_host_maintenance_enter(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    return begin_drain(cond, req, true, ret_result);
}

/* host_arg: the one "host" argument of a method. */
static int
host_arg(const rpc_request_t *req, const char **ret_host, json_int_t *ret_drain)
{
    json_error_t jerr;

    *ret_drain = 0;
    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s?I}", "host", ret_host, "drain",
                       ret_drain) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to %s: %s", req->method,
                              jerr.text);
    if (*ret_drain < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid drain %lld", (long long)*ret_drain);
    return 0;
}

int
conductor_host_maintenance_exit(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host;
    json_int_t unused;
    db_service_t svc = {0};
    db_drain_t d = {0};
    db_conn_t *db;
    int rc;

    if (host_arg(req, &host, &unused) < 0 || !(db = conductor_db(cond)) ||
        db_service_get(db, host, COMPUTE_BINARY, cond->cfg.service_down_time_s, &svc) < 0)
        return -1;
    rc = -1;
    if (!svc.maintenance)
        tern_error_set(TERN_ERR_CONFLICT, "host \"%s\" is not in maintenance", host);
    else if (db_drain_get(db, 0, host, &d) == 0 && !db_drain_status_is_final(d.status))
        tern_error_set(TERN_ERR_CONFLICT,
                       "host \"%s\" is still being drained (drain %lld, %s): abort it first "
                       "with host-evacuate-abort",
                       host, (long long)d.id, db_drain_status_name(d.status));
    else if (db_service_set_maintenance(db, host, false, NULL) == 0) {
        db_service_clear(&svc);
        if ((rc = db_service_get(db, host, COMPUTE_BINARY, cond->cfg.service_down_time_s, &svc)) ==
            0) {
            TERN_INFO("host %s out of maintenance (asked by %s)", host, req->amqp_user_id);
            *ret_result = tern_json_pack("{s:o}", "service", conductor_view_service(&svc));
        }
    }
    db_drain_clear(&d);
    db_service_clear(&svc);
    return rc;
}

int
conductor_host_evacuate_abort(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host;
    json_int_t id;
    db_drain_t d = {0};
    db_conn_t *db;
    int rc = -1;

    if (host_arg(req, &host, &id) < 0 || !(db = conductor_db(cond)) ||
        db_drain_get(db, id, host, &d) < 0)
        return -1;
    if (d.status != DB_DRAIN_RUNNING)
        tern_error_set(TERN_ERR_CONFLICT, "drain %lld of host \"%s\" is %s: nothing to abort",
                       (long long)d.id, host, db_drain_status_name(d.status));
    else if (db_drain_abort(db, d.id) == 0) {
        TERN_INFO("drain %lld of %s aborted by %s", (long long)d.id, host, req->amqp_user_id);
        conductor_drain_wake(cond);
        db_drain_clear(&d);
        if (db_drain_get(db, id, host, &d) == 0)
            rc = drain_result(db, &d, ret_result);
    }
    db_drain_clear(&d);
    return rc;
}

int
conductor_evacuation_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *host;
    json_int_t id;
    db_drain_t d = {0};
    db_conn_t *db;
    int rc;

    if (host_arg(req, &host, &id) < 0 || !(db = conductor_db(cond)) ||
        db_drain_get(db, id, host, &d) < 0)
        return -1;
    rc = drain_result(db, &d, ret_result);
    db_drain_clear(&d);
    return rc;
}
