/*
 * tools/cli/cmd-migrations.c: live-migration, migration-list, migration-show,
 * live-migration-abort and live-migration-force-complete - their arguments and their output.
 *
 * Build functions turn the parsed command line into the conductor method's arguments
 * (conductor/API.md), refusing any bad value; render functions print the answer. Following a
 * migration with --wait lives in wait.c; the progress line it prints in progress.c.
 * Owns nothing across calls.
 */
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "tools/cli/cli.h"

/* The statuses of a migration (db/migrations.c), for --status. */
static const char *const migration_statuses[] = {
    "queued",          "preparing",      "running",   "postcopy-active",
    "postcopy-paused", "needs-operator", "completed", "failed",
    "cancelled",       "error",          NULL,
};

int
cli_build_live_migration(const cli_parsed_t *p, cli_request_t *req)
{
    const char *server = p->args[0], *host = p->n_args > 1 ? p->args[1] : NULL;
    bool block = cli_parsed_flag(p, "block-migrate"),
         no_block = cli_parsed_flag(p, "no-block-migrate");

    if (cli_check_name(server, "SERVER") < 0 || (host && cli_check_name(host, "HOST") < 0))
        return -1;
    if (block && no_block)
        return tern_error_set(TERN_ERR_INVALID,
                              "--block-migrate and --no-block-migrate cannot be used together");
    req->wait = cli_parsed_flag(p, "wait");
    req->args = tern_json_pack("{s:s, s:o, s:o}", "instance", server, "host",
                               host ? json_string(host) : json_null(), "block_migration",
                               block      ? json_true()
                               : no_block ? json_false()
                                          : json_null());
    return 0;
}

int
cli_build_migration_list(const cli_parsed_t *p, cli_request_t *req)
{
    const char *host = cli_parsed_get(p, "host"), *status = cli_parsed_get(p, "status");
    const char *instance = cli_parsed_get(p, "instance");

    if ((host && cli_check_name(host, "--host") < 0) ||
        (status && cli_check_choice(status, "--status", migration_statuses) < 0) ||
        (instance && cli_check_name(instance, "--instance") < 0))
        return -1;
    req->args = json_object();
    if (host)
        json_object_set_new(req->args, "host", json_string(host));
    if (status)
        json_object_set_new(req->args, "status", json_string(status));
    if (instance)
        json_object_set_new(req->args, "instance", json_string(instance));
    return 0;
}

int
cli_build_migration_show(const cli_parsed_t *p, cli_request_t *req)
{
    json_t *ref;

    if (cli_parse_migration_ref(p->args[0], "MIGRATION", &ref) < 0)
        return -1;
    req->wait = cli_parsed_flag(p, "wait");
    req->args = tern_json_pack("{s:o}", "migration", ref);
    return 0;
}

int
cli_build_migration_action(const cli_parsed_t *p, cli_request_t *req)
{
    json_t *ref;

    if (cli_check_name(p->args[0], "SERVER") < 0 ||
        cli_parse_migration_ref(p->args[1], "MIGRATION", &ref) < 0)
        return -1;
    req->args = tern_json_pack("{s:s, s:o}", "instance", p->args[0], "migration", ref);
    return 0;
}

static const cli_column_t migration_columns[] = {
    {"Id", "id", NULL},
    {"UUID", "uuid", NULL},
    {"Instance UUID", "instance_uuid", NULL},
    {"Source Compute", "source_compute", NULL},
    {"Dest Compute", "dest_compute", NULL},
    {"Status", "status", NULL},
    {"Phase", "phase", NULL},
    {"Block Migration", "block_migration", NULL},
    {"Created At", "created_at", NULL},
    {"Updated At", "updated_at", NULL},
};

int
cli_render_migration_list(const cli_request_t *req, json_t *result, FILE *out)
{
    return cli_render_member_list(req, result, "migrations", migration_columns,
                                  TERN_N_ELEMENTS(migration_columns), out);
}

int
cli_render_migration_show(const cli_request_t *req, json_t *result, FILE *out)
{
    json_t *obj = NULL, *labelled;

    if (req->format == CLI_FORMAT_JSON)
        return cli_render_member_object(req, result, "migration", out);
    if (cli_result_member(result, "migration", JSON_OBJECT, &obj) < 0)
        return -1;
    labelled = cli_migration_labelled(obj);
    cli_print_object(out, labelled);
    json_decref(labelled);
    return 0;
}

int
cli_render_live_migration(const cli_request_t *req, json_t *result, FILE *out)
{
    return cli_render_member_object(req, result, "migration", out);
}

int
cli_render_migration_action(const cli_request_t *req, json_t *result, FILE *out)
{
    TERN_AUTOFREE char *migration = cli_value_text(json_object_get(req->args, "migration"));
    const char *server = json_string_value(json_object_get(req->args, "instance"));
    bool abort = strcmp(req->command->method, "live_migration_abort") == 0;

    if (!json_is_object(result))
        return tern_error_set(TERN_ERR_RPC, "unexpected answer from the conductor: not an object");
    if (req->format == CLI_FORMAT_JSON) {
        cli_print_json(out, result);
        return 0;
    }
    fprintf(out, "Request to %s migration %s of server %s has been accepted.\n",
            abort ? "abort" : "force the completion of", migration, server);
    return 0;
}
