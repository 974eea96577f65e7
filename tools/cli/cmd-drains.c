/*
 * tools/cli/cmd-drains.c: host-evacuate-live, host-maintenance-enter/-exit, host-evacuate-abort
 * and evacuation-show - their arguments, their output and the drain's progress line.
 * Owns nothing across calls.
 */
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "common/util.h"
#include "tools/cli/cli.h"

#define DRAIN_MAX_CONCURRENT 64

/* host-evacuate-live and host-maintenance-enter. */
int
cli_build_drain(const cli_parsed_t *p, cli_request_t *req)
{
    const char *target = cli_parsed_get(p, "target-host"),
               *max = cli_parsed_get(p, "max-concurrent");
    const char *reason = cli_parsed_get(p, "reason");
    bool block = cli_parsed_flag(p, "block-migrate"),
         no_block = cli_parsed_flag(p, "no-block-migrate");
    int64_t n = 0;

    if (cli_check_name(p->args[0], "HOST") < 0 ||
        (target && cli_check_name(target, "--target-host") < 0) ||
        (max && cli_parse_int(max, "--max-concurrent", 1, DRAIN_MAX_CONCURRENT, &n) < 0) ||
        (reason && cli_check_name(reason, "--reason") < 0))
        return -1;
    if (block && no_block)
        return tern_error_set(TERN_ERR_INVALID,
                              "--block-migrate and --no-block-migrate cannot be used together");
    if (target && strcmp(target, p->args[0]) == 0)
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid --target-host \"%s\": it is the host being drained", target);
    req->wait = req->wait_drain = cli_parsed_flag(p, "wait");
    req->args = tern_json_pack("{s:s, s:o, s:b}", "host", p->args[0], "block_migration",
                               block      ? json_true()
                               : no_block ? json_false()
                                          : json_null(),
                               "force", cli_parsed_flag(p, "force"));
    if (target)
        json_object_set_new(req->args, "target_host", json_string(target));
    if (max)
        json_object_set_new(req->args, "max_concurrent", json_integer(n));
    if (reason)
        json_object_set_new(req->args, "reason", json_string(reason));
    if (cli_parsed_flag(p, "never-pause"))
        json_object_set_new(req->args, "never_pause", json_true());
    return 0;
}

/* host-maintenance-exit, host-evacuate-abort, evacuation-show: HOST (and --drain, --wait). */
int
cli_build_drain_host(const cli_parsed_t *p, cli_request_t *req)
{
    const char *drain = NULL;
    int64_t id = 0;

    if (cli_check_name(p->args[0], "HOST") < 0)
        return -1;
    if (p->command->options && (drain = cli_parsed_get(p, "drain")) &&
        cli_parse_int(drain, "--drain", 1, INT64_MAX, &id) < 0)
        return -1;
    req->wait = req->wait_drain = p->command->options && cli_parsed_flag(p, "wait");
    req->args = tern_json_pack("{s:s}", "host", p->args[0]);
    if (drain)
        json_object_set_new(req->args, "drain", json_integer(id));
    return 0;
}

static char *
moved_of_cell(const json_t *row, const char *key)
{
    const json_t *prog = json_object_get(row, "progress");
    const json_t *by = json_object_get(prog, "instances");

    (void)key;
    return tern_asprintf("%lld of %lld (%lld%%)",
                         (long long)json_integer_value(json_object_get(by, "completed")),
                         (long long)json_integer_value(json_object_get(prog, "total")),
                         (long long)json_integer_value(json_object_get(prog, "percent")));
}

static char *
downtime_cell(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);

    return json_is_integer(v) ? tern_asprintf("%lld ms", (long long)json_integer_value(v))
                              : tern_strdup("-");
}

static const cli_column_t drain_columns[] = {
    {"Drain", "id", NULL},
    {"Host", "host", NULL},
    {"Status", "status", NULL},
    {"Moved", "progress", moved_of_cell},
    {"Asked By", "user_id", NULL},
    {"Created", "created_at", NULL},
    {"Finished", "finished_at", NULL},
    {"Message", "message", NULL},
};

static const cli_column_t item_columns[] = {
    {"Server", "name", NULL},
    {"Priority", "priority", NULL},
    {"Status", "status", NULL},
    {"Destination", "dest_host", NULL},
    {"Migration", "migration_id", NULL},
    {"Attempts", "attempts", NULL},
    {"Started", "migration_started_at", NULL},
    {"Finished", "migration_finished_at", NULL},
    {"Downtime", "downtime_ms", downtime_cell},
    {"Message", "message", NULL},
};

int
cli_render_drain(const cli_request_t *req, json_t *result, FILE *out)
{
    json_t *drain, *rows;

    if (cli_result_member(result, "drain", JSON_OBJECT, &drain) < 0)
        return -1;
    if (req->format == CLI_FORMAT_JSON) {
        cli_print_json(out, drain);
        return 0;
    }
    rows = json_pack("[O]", drain);
    cli_print_table(out, drain_columns, TERN_N_ELEMENTS(drain_columns), rows);
    json_decref(rows);
    if (json_is_array(json_object_get(drain, "instances")))
        cli_print_table(out, item_columns, TERN_N_ELEMENTS(item_columns),
                        json_object_get(drain, "instances"));
    return 0;
}

char *
cli_drain_progress_line(const json_t *drain, int *percent_held, bool bar, char *buf, size_t size)
{
    const json_t *prog = json_object_get(drain, "progress");
    const json_t *by = json_object_get(prog, "instances");
    int percent = (int)json_integer_value(json_object_get(prog, "percent"));
    const json_t *eta = json_object_get(prog, "eta_ms");
    const char *host = json_string_value(json_object_get(drain, "host"));
    const char *status = json_string_value(json_object_get(drain, "status"));
    char bars[24] = "", eta_s[32] = "-", elapsed_s[32];
    size_t used;

    if (percent < *percent_held)
        percent = *percent_held;
    *percent_held = percent;
    if (bar) {
        int filled = percent / 5;

        bars[0] = '[';
        for (int i = 0; i < 20; i++)
            bars[1 + i] = i < filled ? '#' : '-';
        bars[21] = ']';
        bars[22] = ' ';
        bars[23] = '\0';
    }
    if (json_is_integer(eta))
        cli_format_duration(json_integer_value(eta), eta_s, sizeof(eta_s));
    cli_format_duration(json_integer_value(json_object_get(prog, "elapsed_ms")), elapsed_s,
                        sizeof(elapsed_s));
    used = (size_t)snprintf(
        buf, size, "%3d%% %sdrain %lld of %s %s: %lld/%lld moved, %lld migrating, %lld queued",
        percent, bars, (long long)json_integer_value(json_object_get(drain, "id")),
        host ? host : "?", status ? status : "?",
        (long long)json_integer_value(json_object_get(by, "completed")),
        (long long)json_integer_value(json_object_get(prog, "total")),
        (long long)json_integer_value(json_object_get(by, "migrating")),
        (long long)json_integer_value(json_object_get(by, "queued")));
    if (used < size)
        snprintf(buf + used, size - used, ", %lld failed, %lld blocked; ETA %s, elapsed %s",
                 (long long)json_integer_value(json_object_get(by, "failed")),
                 (long long)json_integer_value(json_object_get(by, "blocked")), eta_s, elapsed_s);
    return buf;
}
