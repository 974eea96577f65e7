/*
 * conductor/actions.c: the instance action log through the API - instance_action_list and
 * instance_action_get (conductor/API.md), nova's os-instance-actions: who asked what of an
 * instance, when, how it ended, and each step of it (its events, conductor/action_events.c).
 * Owns nothing across calls.
 */
#include "common/json.h"
#include "common/error.h"
#include "conductor/checks.h"
#include "conductor/conductor.h"
#include "conductor/views.h"

/* view_events: the events of action id as a new array; NULL with an error when unread. */
static json_t *
view_events(db_conn_t *db, int64_t id)
{
    db_action_event_t *list = NULL;
    size_t n = 0;
    json_t *arr;

    if (db_action_event_list(db, id, &list, &n) < 0)
        return NULL;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, conductor_view_action_event(&list[i]));
    db_action_event_list_free(list, n);
    return arr;
}

/* view_actions: the actions of the list, newest first, with their events when asked. */
static json_t *
view_actions(db_conn_t *db, const db_action_t *list, size_t n, bool with_events)
{
    json_t *arr = json_array();

    for (size_t i = n; i-- > 0;) {
        json_t *events = NULL;

        if (with_events && !(events = view_events(db, list[i].id))) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, conductor_view_action(&list[i], events));
    }
    return arr;
}

int
conductor_instance_action_list(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *instance;
    int with_events = 0;
    db_instance_t inst = {0};
    db_action_t *list = NULL;
    size_t n = 0;
    json_error_t jerr;
    db_conn_t *db;
    json_t *arr;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s?b}", "instance", &instance, "events",
                       &with_events) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to instance_action_list: %s",
                              jerr.text);
    if (!(db = conductor_db(cond)) || conductor_find_instance(db, instance, &inst) < 0)
        return -1;
    if (db_action_list(db, inst.uuid, &list, &n) < 0) {
        db_instance_clear(&inst);
        return -1;
    }
    arr = view_actions(db, list, n, with_events);
    db_action_list_free(list, n);
    db_instance_clear(&inst);
    if (!arr)
        return -1;
    *ret_result = tern_json_pack("{s:o}", "actions", arr);
    return 0;
}

int
conductor_instance_action_get(conductor_t *cond, const rpc_request_t *req, json_t **ret_result)
{
    const char *instance, *request_id;
    db_instance_t inst = {0};
    db_action_t action = {0};
    json_error_t jerr;
    db_conn_t *db;
    json_t *events;
    int rc = -1;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s:s}", "instance", &instance,
                       "request_id", &request_id) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to instance_action_get: %s",
                              jerr.text);
    if (!(db = conductor_db(cond)) || conductor_find_instance(db, instance, &inst) < 0)
        return -1;
    if (db_action_get(db, inst.uuid, request_id, &action) == 0 &&
        (events = view_events(db, action.id))) {
        *ret_result = tern_json_pack("{s:o}", "action", conductor_view_action(&action, events));
        rc = 0;
    }
    db_action_clear(&action);
    db_instance_clear(&inst);
    return rc;
}
