/*
 * tools/cli/commands.c: the one table of tern's commands, and the help printed from it.
 *
 * Each entry names the command, the conductor method it calls (conductor/API.md), its usage, its
 * positional arguments and options with their help, the build function that validates them into
 * the method's arguments, and the render function that prints the answer. `tern help`,
 * `tern help COMMAND` and `tern COMMAND --help` are all printed from this table.
 * Owns nothing: everything here is static.
 */
#include <string.h>

#include "tools/cli/cli.h"

#define FORMAT_HELP "output format: table (default) or json"

const cli_option_t cli_global_options[] = {
    {"config-file", 0, "FILE", CLI_OPT_VALUE | CLI_OPT_REPEAT,
     "configuration file; repeatable, later files override earlier ones"},
    {"config-dir", 0, "DIR", CLI_OPT_VALUE, "read every *.conf of DIR after the files"},
    {"transport-url", 0, "URL", CLI_OPT_VALUE, "broker URL; overrides [DEFAULT] transport_url"},
    {"format", 'f', "table|json", CLI_OPT_VALUE, FORMAT_HELP},
    {"help", 'h', NULL, 0, "show this help (or the command's) and exit"},
    {NULL, 0, NULL, 0, NULL},
};

/* ---- migrations ---- */

static const cli_option_t live_migration_options[] = {
    {"block-migrate", 0, NULL, 0, "copy the disks to the destination (block migration)"},
    {"no-block-migrate", 0, NULL, 0, "do not copy the disks (they must be on shared storage)"},
    {"wait", 0, NULL, 0, "follow the migration until it ends; exit 0 only if it completed"},
    {NULL, 0, NULL, 0, NULL},
};

static const cli_option_t migration_show_options[] = {
    {"wait", 0, NULL, 0, "follow the migration until it ends; exit 0 only if it completed"},
    {NULL, 0, NULL, 0, NULL},
};

static const cli_arg_t server_host_args[] = {
    {"SERVER", "name or uuid of the server"},
    {"HOST", "destination host (default: the scheduler picks one)"},
};

static const cli_option_t migration_list_options[] = {
    {"host", 0, "HOST", CLI_OPT_VALUE, "only migrations from or to HOST"},
    {"status", 0, "STATUS", CLI_OPT_VALUE,
     "only migrations in STATUS (queued, preparing, running, postcopy-active, "
     "postcopy-paused, needs-operator, completed, failed, cancelled, error)"},
    {"instance", 0, "SERVER", CLI_OPT_VALUE, "only migrations of SERVER (name or uuid)"},
    {NULL, 0, NULL, 0, NULL},
};

static const cli_arg_t migration_args[] = {
    {"MIGRATION", "migration id or uuid"},
};

static const cli_arg_t server_migration_args[] = {
    {"SERVER", "name or uuid of the server being migrated"},
    {"MIGRATION", "migration id or uuid"},
};

/* ---- servers ---- */

static const cli_option_t server_list_options[] = {
    {"host", 0, "HOST", CLI_OPT_VALUE, "only servers on HOST"},
    {NULL, 0, NULL, 0, NULL},
};

static const cli_arg_t server_args[] = {
    {"SERVER", "name or uuid of the server"},
};

static const cli_arg_t server_request_args[] = {
    {"SERVER", "name or uuid of the server"},
    {"REQUEST_ID", "request id of the action (see server-event-list)"},
};

static const cli_option_t server_create_options[] = {
    {"image", 0, "IMG", CLI_OPT_VALUE | CLI_OPT_REQUIRED, "image to boot from"},
    {"memory", 0, "MB", CLI_OPT_VALUE | CLI_OPT_REQUIRED, "memory in MiB (16..1048576)"},
    {"vcpus", 0, "N", CLI_OPT_VALUE | CLI_OPT_REQUIRED, "virtual CPUs (1..256)"},
    {"disk", 0, "GB", CLI_OPT_VALUE | CLI_OPT_REQUIRED, "root disk in GiB (0..65536)"},
    {"host", 0, "HOST", CLI_OPT_VALUE, "start it on HOST (default: the host with most free RAM)"},
    {"volume", 0, "ID[:PATH]", CLI_OPT_VALUE | CLI_OPT_REPEAT,
     "attach volume ID, a file at the absolute PATH on shared storage; repeatable"},
    {"network", 0, "BRIDGE", CLI_OPT_VALUE | CLI_OPT_REPEAT,
     "plug an interface into BRIDGE; repeatable"},
    {"rule", 0, "DIR:PROTO:PORTS:CIDR", CLI_OPT_VALUE | CLI_OPT_REPEAT,
     "security-group rule, e.g. ingress:tcp:22:0.0.0.0/0 or egress:udp:1000-2000:10.0.0.0/8 "
     "(DIR ingress|egress, PROTO tcp|udp|icmp|any, PORTS N, N-M or empty); repeatable"},
    {"priority", 0, "N", CLI_OPT_VALUE,
     "-1000..1000 (default 0): a host drain moves higher priorities first"},
    {"migration-support", 0, "MODE", CLI_OPT_VALUE,
     "migratable (default), manual (an operator may move it, a drain may not) or pinned "
     "(never moves; a drain reports it as blocking unless --force)"},
    {"never-pause", 0, NULL, 0,
     "its live migrations abort rather than pause it to complete (the shipped ladder's last "
     "rung)"},
    {"dirty-mb", 0, "N", CLI_OPT_VALUE, "test guest: MiB of memory its workload keeps dirtying"},
    {"dirty-rate", 0, "MBPS", CLI_OPT_VALUE, "test guest: MiB/s its workload dirties"},
    {NULL, 0, NULL, 0, NULL},
};

static const cli_arg_t server_create_args[] = {
    {"NAME", "name of the new server"},
};

/* ---- services and hypervisors ---- */

static const cli_option_t service_list_options[] = {
    {"host", 0, "HOST", CLI_OPT_VALUE, "only services of HOST"},
    {"binary", 0, "BINARY", CLI_OPT_VALUE, "only services of BINARY (e.g. tern-compute)"},
    {NULL, 0, NULL, 0, NULL},
};

static const cli_option_t service_disable_options[] = {
    {"reason", 0, "REASON", CLI_OPT_VALUE, "why it is disabled (shown by service-list)"},
    {NULL, 0, NULL, 0, NULL},
};

static const cli_arg_t host_binary_args[] = {
    {"HOST", "host of the service"},
    {"BINARY", "binary of the service, e.g. tern-compute"},
};

static const cli_arg_t host_args[] = {
    {"HOST", "host of the hypervisor"},
};

/* ---- drains ---- */

static const cli_option_t drain_options[] = {
    {"target-host", 0, "HOST", CLI_OPT_VALUE,
     "move every server to HOST (default: the scheduler picks one for each)"},
    {"block-migrate", 0, NULL, 0, "copy the disks (block migration)"},
    {"no-block-migrate", 0, NULL, 0, "do not copy the disks (shared storage)"},
    {"max-concurrent", 0, "N", CLI_OPT_VALUE,
     "migrations of this drain at once, 1..64 (default: the host's "
     "max_concurrent_live_migrations)"},
    {"force", 0, NULL, 0, "move servers marked manual-only or pinned to the host too"},
    {"never-pause", 0, NULL, 0, "abort a migration rather than pause its server to complete it"},
    {"reason", 0, "REASON", CLI_OPT_VALUE, "why the host is disabled (shown by service-list)"},
    {"wait", 0, NULL, 0, "follow the drain until it ends; exit 0 only if every server moved"},
    {NULL, 0, NULL, 0, NULL},
};

static const cli_option_t evacuation_show_options[] = {
    {"drain", 0, "ID", CLI_OPT_VALUE, "show drain ID of the host (default: its latest)"},
    {"wait", 0, NULL, 0, "follow the drain until it ends; exit 0 only if every server moved"},
    {NULL, 0, NULL, 0, NULL},
};

#define DRAIN_USAGE                                                                     \
    "[--target-host HOST] [--block-migrate | --no-block-migrate] [--max-concurrent N] " \
    "[--force] [--never-pause] [--reason REASON] [--wait] HOST"
#define DRAIN_HELP_COMMON                                                                     \
    "The conductor moves every server off HOST by live migration, highest priority first,\n"  \
    "choosing each destination with the scheduler (capacity claimed, so that concurrent\n"    \
    "choices never overcommit a host). It keeps to --max-concurrent, to each host's\n"        \
    "max_concurrent_live_migrations out of and into it, and to [conductor]\n"                 \
    "max_concurrent_migrations. A migration refused by one host is tried on the next; a\n"    \
    "failed one is tried again (3 attempts). A server marked manual-only or pinned, or not\n" \
    "running, is reported as blocking (--force moves the marked ones). The drain is a\n"      \
    "record in the database: a restarted conductor carries it on, evacuation-show shows\n"    \
    "it from any terminal, host-evacuate-abort stops it. The command returns once the\n"      \
    "drain is recorded; --wait follows it with a progress bar and an ETA."

const cli_command_t cli_commands[] = {
    {
        .name = "live-migration",
        .method = "live_migrate",
        .usage = "[--block-migrate | --no-block-migrate] [--wait] SERVER [HOST]",
        .args = server_host_args,
        .min_args = 1,
        .max_args = 2,
        .summary = "Live-migrate a server to another host",
        .help = "Move a running server to another host without stopping it. Without HOST the\n"
                "scheduler picks a destination. Block migration defaults to auto: the disks\n"
                "are copied unless the server's storage is shared by both hosts.\n"
                "The command returns once the pre-checks passed and the migration is queued;\n"
                "with --wait it follows the migration (status, memory and disk transferred,\n"
                "remaining, rate, elapsed time) and prints the final record. Ctrl-C stops\n"
                "waiting but does not abort the migration (see live-migration-abort).",
        .options = live_migration_options,
        .build = cli_build_live_migration,
        .render = cli_render_live_migration,
        .min_timeout_ms = 180000,
    },
    {
        .name = "migration-list",
        .method = "migration_list",
        .usage = "[--host HOST] [--status STATUS] [--instance SERVER]",
        .summary = "List migrations, newest first",
        .help = "List the migrations the conductor knows, newest first, optionally filtered.",
        .options = migration_list_options,
        .build = cli_build_migration_list,
        .render = cli_render_migration_list,
    },
    {
        .name = "migration-show",
        .method = "migration_get",
        .usage = "[--wait] MIGRATION",
        .args = migration_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Show a migration",
        .help = "Show every field of a migration: hosts, status, phase, bytes transferred,\n"
                "downtime and the duration of each phase, each labelled with what it measures.\n"
                "With --wait it follows a migration started elsewhere (another terminal, a\n"
                "script) as live-migration --wait does, until it ends.",
        .options = migration_show_options,
        .build = cli_build_migration_show,
        .render = cli_render_migration_show,
    },
    {
        .name = "live-migration-abort",
        .method = "live_migration_abort",
        .usage = "SERVER MIGRATION",
        .args = server_migration_args,
        .min_args = 2,
        .max_args = 2,
        .summary = "Abort a live migration in progress",
        .help = "Abort a migration that is queued, preparing or running. The server stays\n"
                "on its source host.",
        .build = cli_build_migration_action,
        .render = cli_render_migration_action,
    },
    {
        .name = "live-migration-force-complete",
        .method = "live_migration_force_complete",
        .usage = "SERVER MIGRATION",
        .args = server_migration_args,
        .min_args = 2,
        .max_args = 2,
        .summary = "Force a running live migration to complete",
        .help = "Make a running migration that does not converge finish now, by pausing the\n"
                "server for the rest of the copy (or switching to post-copy when allowed; a\n"
                "block migration is never switched to post-copy). After the switch the server\n"
                "runs on the destination and the migration can no longer be aborted; if the\n"
                "stream then breaks, it ends postcopy-paused, with the server split between\n"
                "both hosts until an operator decides (tern does not resume post-copy).",
        .build = cli_build_migration_action,
        .render = cli_render_migration_action,
    },
    {
        .name = "host-evacuate-live",
        .method = "host_evacuate_live",
        .usage = DRAIN_USAGE,
        .args = host_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Live-migrate every server off a host (a drain run by the conductor)",
        .help =
            "Disable HOST (with --reason, shown by service-list) and drain it.\n" DRAIN_HELP_COMMON
            "\nThe host stays disabled afterwards (service-enable).",
        .options = drain_options,
        .build = cli_build_drain,
        .render = cli_render_drain,
    },
    {
        .name = "host-maintenance-enter",
        .method = "host_maintenance_enter",
        .usage = DRAIN_USAGE,
        .args = host_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Put a host into maintenance: drain it, keep it disabled until exit",
        .help =
            "Put HOST into maintenance (service-list shows it) and drain it.\n" DRAIN_HELP_COMMON
            "\nThe host stays in maintenance, disabled, until "
            "host-maintenance-exit.",
        .options = drain_options,
        .build = cli_build_drain,
        .render = cli_render_drain,
    },
    {
        .name = "host-maintenance-exit",
        .method = "host_maintenance_exit",
        .usage = "HOST",
        .args = host_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Take a host out of maintenance (enable it again)",
        .help = "Enable HOST again and clear its maintenance state. Refused while a drain of\n"
                "the host is in progress (abort it first with host-evacuate-abort).",
        .build = cli_build_drain_host,
        .render = cli_render_service_show,
    },
    {
        .name = "host-evacuate-abort",
        .method = "host_evacuate_abort",
        .usage = "HOST",
        .args = host_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Abort the drain of a host",
        .help = "Cancel the servers of HOST's drain that wait and abort the migrations that\n"
                "run (each server stays where it is when its migration ends: on HOST if it\n"
                "was aborted, on its destination if it completed first). The host stays\n"
                "disabled.",
        .build = cli_build_drain_host,
        .render = cli_render_drain,
    },
    {
        .name = "evacuation-show",
        .method = "evacuation_get",
        .usage = "[--drain ID] [--wait] HOST",
        .args = host_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Show the drain of a host: each server's outcome and the progress",
        .help = "Show HOST's latest drain (or drain ID): who asked and when, its status, each\n"
                "server in priority order with its destination, migration, attempts, downtime\n"
                "and outcome, and the progress with an ETA. With --wait it follows the drain\n"
                "until it ends, from any terminal.",
        .options = evacuation_show_options,
        .build = cli_build_drain_host,
        .render = cli_render_drain,
    },
    {
        .name = "server-list",
        .method = "server_list",
        .usage = "[--host HOST]",
        .summary = "List servers",
        .help = "List the servers, optionally only those on one host.",
        .options = server_list_options,
        .build = cli_build_server_list,
        .render = cli_render_server_list,
    },
    {
        .name = "server-show",
        .method = "server_get",
        .usage = "SERVER",
        .args = server_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Show a server",
        .help = "Show every field of a server, with its volumes, networks and rules.",
        .build = cli_build_server_ref,
        .render = cli_render_server_show,
    },
    {
        .name = "server-event-list",
        .method = "instance_action_list",
        .usage = "SERVER",
        .args = server_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "List what was asked of a server, step by step",
        .help = "List the actions asked of a server (live migrations...), newest first: who\n"
                "asked (Request ID; -f json adds user and project), when, and each step with\n"
                "the host it ran on, its start and finish, its result and why it failed - the\n"
                "conductor's checks, each destination tried, the hand-off to the source, then\n"
                "each step the source compute reported (pre_live_migration, the migration,\n"
                "switch-over, post-processing), and abort or force-complete requests.\n"
                "One row per event; -f json nests the events in their action.",
        .build = cli_build_server_events,
        .render = cli_render_server_events,
    },
    {
        .name = "server-event-show",
        .method = "instance_action_get",
        .usage = "SERVER REQUEST_ID",
        .args = server_request_args,
        .min_args = 2,
        .max_args = 2,
        .summary = "Show one action of a server with its events",
        .help = "Show the action of a server started by REQUEST_ID (user, project, start,\n"
                "finish, result, message), then its events as server-event-list shows them.",
        .build = cli_build_server_event_show,
        .render = cli_render_server_event_show,
    },
    {
        .name = "server-create",
        .method = "server_create",
        .usage = "--image IMG --memory MB --vcpus N --disk GB [--host HOST]\n"
                 "        [--volume ID[:PATH]]... [--network BRIDGE]...\n"
                 "        [--rule DIR:PROTO:PORTS:CIDR]... [--dirty-mb N] [--dirty-rate MBPS]\n"
                 "        NAME",
        .args = server_create_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Create and start a server",
        .help = "Create a server and start it; the command returns when it runs.",
        .options = server_create_options,
        .build = cli_build_server_create,
        .render = cli_render_server_show,
        .min_timeout_ms = 360000,
    },
    {
        .name = "server-delete",
        .method = "server_delete",
        .usage = "SERVER",
        .args = server_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Delete a server",
        .help = "Stop a server, remove it from its host and delete its record.",
        .build = cli_build_server_ref,
        .render = cli_render_server_delete,
        .min_timeout_ms = 120000,
    },
    {
        .name = "service-list",
        .method = "service_list",
        .usage = "[--host HOST] [--binary BINARY]",
        .summary = "List services",
        .help = "List the services (conductors and computes) with their status and state.",
        .options = service_list_options,
        .build = cli_build_service_list,
        .render = cli_render_service_list,
    },
    {
        .name = "service-disable",
        .method = "service_update",
        .usage = "[--reason REASON] HOST BINARY",
        .args = host_binary_args,
        .min_args = 2,
        .max_args = 2,
        .summary = "Disable a service",
        .help = "Disable a service: a disabled compute takes no new servers or migrations.",
        .options = service_disable_options,
        .build = cli_build_service_update,
        .render = cli_render_service_show,
    },
    {
        .name = "service-enable",
        .method = "service_update",
        .usage = "HOST BINARY",
        .args = host_binary_args,
        .min_args = 2,
        .max_args = 2,
        .summary = "Enable a service",
        .help = "Enable a service again.",
        .build = cli_build_service_update,
        .render = cli_render_service_show,
    },
    {
        .name = "hypervisor-list",
        .method = "hypervisor_list",
        .usage = "",
        .summary = "List hypervisors",
        .help = "List the compute hosts' hypervisors with their capacity and usage.",
        .build = cli_build_hypervisor_list,
        .render = cli_render_hypervisor_list,
    },
    {
        .name = "hypervisor-show",
        .method = "hypervisor_get",
        .usage = "HOST",
        .args = host_args,
        .min_args = 1,
        .max_args = 1,
        .summary = "Show a hypervisor",
        .help = "Show every field of a compute host's hypervisor.",
        .build = cli_build_hypervisor_show,
        .render = cli_render_hypervisor_show,
    },
};

const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);

const cli_command_t *
cli_command_find(const char *name)
{
    for (size_t i = 0; i < cli_n_commands; i++) {
        if (strcmp(cli_commands[i].name, name) == 0)
            return &cli_commands[i];
    }
    return NULL;
}

/* "  --memory MB" padded to a column, then the help. */
static void
print_option(FILE *out, const cli_option_t *o)
{
    char left[64];

    if (o->short_name)
        snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
    else
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
    if (strlen(left) > 26)
        fprintf(out, "  %s\n  %-26s  %s\n", left, "", o->help);
    else
        fprintf(out, "  %-26s  %s\n", left, o->help);
}

static void
print_global_options(FILE *out)
{
    fprintf(out, "Global options (before the command or among its options):\n");
    for (size_t i = 0; cli_global_options[i].name; i++)
        print_option(out, &cli_global_options[i]);
}

void
cli_print_help(const cli_command_t *cmd, FILE *out)
{
    if (!cmd) {
        fprintf(out,
                "usage: tern [--config-file FILE]... [--config-dir DIR] [--transport-url URL]\n"
                "            [-f table|json] COMMAND [OPTIONS] [ARGUMENTS]\n"
                "       tern help [COMMAND]\n\n"
                "The tern client: live migration, servers, services and hypervisors,\n"
                "through the conductor.\n\nCommands:\n");
        for (size_t i = 0; i < cli_n_commands; i++)
            fprintf(out, "  %-30s  %s\n", cli_commands[i].name, cli_commands[i].summary);
        fprintf(out, "  %-30s  %s\n\n", "help", "Show the help of tern or of a command");
        print_global_options(out);
        fprintf(out, "\nExit status: 0 success, 1 the operation failed, 2 usage error.\n"
                     "See \"tern help COMMAND\" for the options of a command.\n");
        return;
    }
    fprintf(out, "usage: tern %s%s%s [-f table|json]\n\n%s\n", cmd->name, cmd->usage[0] ? " " : "",
            cmd->usage, cmd->help);
    if (cmd->max_args) {
        fprintf(out, "\nArguments:\n");
        for (size_t i = 0; i < cmd->max_args; i++)
            fprintf(out, "  %-26s  %s\n", cmd->args[i].name, cmd->args[i].help);
    }
    if (cmd->options && cmd->options[0].name) {
        fprintf(out, "\nOptions:\n");
        for (size_t i = 0; cmd->options[i].name; i++)
            print_option(out, &cmd->options[i]);
    }
    fprintf(out, "\n");
    print_global_options(out);
}
