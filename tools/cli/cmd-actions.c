/*
 * tools/cli/cmd-actions.c: server-event-list and server-event-show - what was asked of a server
 * and each step of it (the conductor's instance_action_list and instance_action_get, nova's
 * os-instance-actions).
 *
 * The table of server-event-list has one row per event, under the request id and action it
 * belongs to (an action with no event yet has one row of its own); -f json prints the actions
 * with their events nested, as the conductor sent them. Owns nothing across calls.
 */
#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "tools/cli/cli.h"

static const cli_column_t event_columns[] = {
    {"Request ID", "request_id", NULL}, {"Action", "action", NULL},
    {"Event", "event", NULL},           {"Host", "host", NULL},
    {"Start", "start_time", NULL},      {"Finish", "finish_time", NULL},
    {"Result", "result", NULL},         {"Message", "message", NULL},
};

int
cli_build_server_events(const cli_parsed_t *p, cli_request_t *req)
{
    if (cli_check_name(p->args[0], "SERVER") < 0)
        return -1;
    req->args = tern_json_pack("{s:s, s:b}", "instance", p->args[0], "events", 1);
    return 0;
}

int
cli_build_server_event_show(const cli_parsed_t *p, cli_request_t *req)
{
    if (cli_check_name(p->args[0], "SERVER") < 0 || cli_check_name(p->args[1], "REQUEST_ID") < 0)
        return -1;
    req->args = tern_json_pack("{s:s, s:s}", "instance", p->args[0], "request_id", p->args[1]);
    return 0;
}

/* event_row: one row of the table: the action's request id and name with one of its events
 * (NULL: the action itself, when it has no event). New object. */
static json_t *
event_row(const json_t *action, const json_t *event)
{
    json_t *row = json_object();

    json_object_set(row, "request_id", json_object_get(action, "request_id"));
    json_object_set(row, "action", json_object_get(action, "action"));
    if (!event) {
        json_object_set_new(row, "event", json_string("-"));
        event = action;
    } else {
        json_object_set(row, "event", json_object_get(event, "event"));
        json_object_set(row, "host", json_object_get(event, "host"));
    }
    json_object_set(row, "start_time", json_object_get(event, "start_time"));
    json_object_set(row, "finish_time", json_object_get(event, "finish_time"));
    json_object_set(row, "result", json_object_get(event, "result"));
    json_object_set(row, "message", json_object_get(event, "message"));
    return row;
}

/* add_rows: the rows of one action; -1 with an RPC error when it is not an action. */
static int
add_rows(json_t *rows, const json_t *action)
{
    json_t *events = json_object_get(action, "events"), *ev;
    size_t i;

    if (!json_is_object(action) || (events && !json_is_array(events)))
        return tern_error_set(TERN_ERR_RPC, "unexpected answer from the conductor: an action "
                                            "is not an object with a list of events");
    if (!events || json_array_size(events) == 0)
        return json_array_append_new(rows, event_row(action, NULL));
    json_array_foreach(events, i, ev)
    {
        if (!json_is_object(ev))
            return tern_error_set(TERN_ERR_RPC,
                                  "unexpected answer from the conductor: an event is not an "
                                  "object");
        json_array_append_new(rows, event_row(action, ev));
    }
    return 0;
}

/* print_events: the table of the actions (an array), one row per event. */
static int
print_events(const json_t *actions, FILE *out)
{
    json_t *rows = json_array(), *action;
    size_t i;

    json_array_foreach(actions, i, action)
    {
        if (add_rows(rows, action) < 0) {
            json_decref(rows);
            return -1;
        }
    }
    cli_print_table(out, event_columns, TERN_N_ELEMENTS(event_columns), rows);
    json_decref(rows);
    return 0;
}

int
cli_render_server_events(const cli_request_t *req, json_t *result, FILE *out)
{
    json_t *actions = NULL;

    if (cli_result_member(result, "actions", JSON_ARRAY, &actions) < 0)
        return -1;
    if (req->format == CLI_FORMAT_JSON) {
        cli_print_json(out, actions);
        return 0;
    }
    return print_events(actions, out);
}

int
cli_render_server_event_show(const cli_request_t *req, json_t *result, FILE *out)
{
    json_t *action = NULL, *fields, *one;
    int rc;

    if (req->format == CLI_FORMAT_JSON)
        return cli_render_member_object(req, result, "action", out);
    if (cli_result_member(result, "action", JSON_OBJECT, &action) < 0)
        return -1;
    fields = json_deep_copy(action);
    json_object_del(fields, "events");
    cli_print_object(out, fields);
    json_decref(fields);
    one = json_pack("[O]", action);
    fputc('\n', out);
    rc = print_events(one, out);
    json_decref(one);
    return rc;
}
