/*
 * tools/cli/cli.h: what the files of the `tern` command-line client share.
 *
 * The client runs in two stages, kept apart so that tests can check the first without a broker:
 *
 *   1. cli_parse() turns argv into a cli_request_t: the command, the conductor method and its
 *      JSON arguments, the output format and the global options. Every argument is validated
 *      here; on any bad one it fails with a TERN_ERR_INVALID error naming it, and nothing has
 *      been sent anywhere. No file of this stage links rpc/ or conf/.
 *   2. main.c loads the configuration, connects and runs the request (exec.c), and renders the
 *      conductor's answer with the command's render function (output.c, progress.c).
 *
 * One table (commands.c) lists every command: its name, conductor method, usage, help, options,
 * the build function that validates the parsed options into the method's arguments, and the
 * render function that prints the result.
 *
 * Ownership: a cli_request_t owns its args and its config_files array (the strings in it are
 * borrowed from argv); clear it with cli_request_clear(). Commands and options are static.
 */
#ifndef TERN_TOOLS_CLI_H
#define TERN_TOOLS_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of tern. */
#define CLI_EXIT_OK 0     /* the operation succeeded */
#define CLI_EXIT_FAILED 1 /* the operation failed (remote error, connection, configuration) */
#define CLI_EXIT_USAGE 2  /* bad command line; nothing was sent */

#define CLI_MAX_OPTIONS 20 /* options of one command, global ones included */
#define CLI_MAX_ARGS 4     /* positional arguments of one command */
#define CLI_MAX_REPEAT 64  /* values of one repeatable option */
#define CLI_NAME_MAX 255   /* longest server, host, binary or image name accepted */

typedef enum {
    CLI_FORMAT_TABLE = 0,
    CLI_FORMAT_JSON,
} cli_format_t;

/* Flags of an option. */
#define CLI_OPT_VALUE 0x1    /* takes a value (METAVAR) */
#define CLI_OPT_REPEAT 0x2   /* may be given several times */
#define CLI_OPT_REQUIRED 0x4 /* must be given */

typedef struct cli_option {
    const char *name;    /* long name without "--", e.g. "memory" */
    int short_name;      /* e.g. 'f', or 0 */
    const char *metavar; /* e.g. "MB"; NULL for a flag */
    unsigned flags;      /* CLI_OPT_* */
    const char *help;    /* one line */
} cli_option_t;

/* The options and arguments of one command line, as given (strings borrowed from argv). */
typedef struct cli_parsed {
    const struct cli_command *command;
    const char **values[CLI_MAX_OPTIONS]; /* owned arrays: values of each command option */
    size_t n_values[CLI_MAX_OPTIONS];     /* times each option was given */
    const char *args[CLI_MAX_ARGS];       /* positional arguments */
    size_t n_args;
} cli_parsed_t;

typedef struct cli_request cli_request_t;

/* Validate p into req->args (and command-specific fields such as wait); -1 with an INVALID
 * error naming the bad argument. */
typedef int (*cli_build_fn)(const cli_parsed_t *p, cli_request_t *req);

/* Print the conductor's result (borrowed) for req to out; -1 with an error when the result does
 * not have the expected shape. */
typedef int (*cli_render_fn)(const cli_request_t *req, json_t *result, FILE *out);

/* A positional argument of a command. */
typedef struct cli_arg {
    const char *name; /* e.g. "SERVER" */
    const char *help; /* one line */
} cli_arg_t;

typedef struct cli_command {
    const char *name;            /* e.g. "live-migration" */
    const char *method;          /* conductor method, e.g. "live_migrate" */
    const char *usage;           /* after the name, e.g. "[--wait] SERVER [HOST]" */
    const cli_arg_t *args;       /* the positional arguments, in order (max_args of them) */
    size_t min_args, max_args;   /* how many positional arguments it takes */
    const char *summary;         /* one line for `tern help` */
    const char *help;            /* the paragraph(s) of `tern help COMMAND` */
    const cli_option_t *options; /* its own options, NULL-name terminated */
    cli_build_fn build;          /* parsed options -> request */
    cli_render_fn render;        /* result -> output */
    int min_timeout_ms;          /* the call may take at least this long (0: configured) */
} cli_command_t;

typedef enum {
    CLI_ACTION_RUN = 0, /* call the conductor */
    CLI_ACTION_HELP,    /* print help (of command, or the general help when NULL); exit 0 */
} cli_action_t;

struct cli_request {
    cli_action_t action;
    const cli_command_t *command; /* NULL only for the general help */
    json_t *args;                 /* owned: the method's arguments */
    cli_format_t format;
    bool wait;       /* live-migration --wait, migration-show --wait, the drains' --wait */
    bool wait_drain; /* what --wait follows is a drain */
    /* Global options (strings borrowed from argv). */
    const char **config_files; /* owned array */
    size_t n_config_files;
    const char *config_dir;
    const char *transport_url;
};

/* ---- parse.c ---- */

/* Parse argv (argc entries, argv[0] the program) into *ret_req. 0 on success: ret_req->action
 * says whether to run a command or print help. -1 with an INVALID error (the usage message) and
 * *ret_req cleared otherwise. argv may be permuted (getopt) but is not otherwise changed. */
int cli_parse(int argc, char **argv, cli_request_t *ret_req);

/* Free what req owns and zero it. NULL-safe. */
void cli_request_clear(cli_request_t *req);

/* Values of the command option `name` as parsed: count, n-th value, last value (NULL when not
 * given), whether a flag was given. */
size_t cli_parsed_count(const cli_parsed_t *p, const char *name);
const char *cli_parsed_nth(const cli_parsed_t *p, const char *name, size_t i);
const char *cli_parsed_get(const cli_parsed_t *p, const char *name);
bool cli_parsed_flag(const cli_parsed_t *p, const char *name);

/* Validators for build functions: each sets an INVALID error naming `what` (an option such as
 * "--memory" or an argument such as "SERVER") and returns -1 when value is bad. */
int cli_parse_int(const char *value, const char *what, int64_t min, int64_t max,
                  int64_t *ret_value);
/* A name: 1 to CLI_NAME_MAX bytes of valid UTF-8 without a control character. */
int cli_check_name(const char *value, const char *what);
int cli_check_choice(const char *value, const char *what, const char *const *choices);
/* Whether s is an IPv4 or IPv6 network in CIDR notation (ADDRESS/PREFIX). */
bool cli_cidr_valid(const char *s);
/* A migration reference: a positive integer id (new json integer) or a uuid (new json string). */
int cli_parse_migration_ref(const char *value, const char *what, json_t **ret_ref);

/* ---- commands.c ---- */

/* The command table, in `tern help` order, and its length. */
extern const cli_command_t cli_commands[];
extern const size_t cli_n_commands;

/* The command called name, or NULL. */
const cli_command_t *cli_command_find(const char *name);

/* Print the general help (command NULL) or one command's help to out. */
void cli_print_help(const cli_command_t *command, FILE *out);

/* The global options (--config-file, --config-dir, --transport-url, -f, --help). */
extern const cli_option_t cli_global_options[];

/* ---- cmd-*.c: build and render functions of the table ---- */

int cli_build_live_migration(const cli_parsed_t *p, cli_request_t *req);
int cli_build_migration_list(const cli_parsed_t *p, cli_request_t *req);
int cli_build_migration_show(const cli_parsed_t *p, cli_request_t *req);
int cli_build_migration_action(const cli_parsed_t *p, cli_request_t *req);
int cli_render_live_migration(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_migration_list(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_migration_show(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_migration_action(const cli_request_t *req, json_t *result, FILE *out);

int cli_build_server_list(const cli_parsed_t *p, cli_request_t *req);
int cli_build_server_ref(const cli_parsed_t *p, cli_request_t *req);
int cli_build_server_create(const cli_parsed_t *p, cli_request_t *req);
int cli_render_server_list(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_server_show(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_server_delete(const cli_request_t *req, json_t *result, FILE *out);

int cli_build_server_events(const cli_parsed_t *p, cli_request_t *req);
int cli_build_server_event_show(const cli_parsed_t *p, cli_request_t *req);
int cli_render_server_events(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_server_event_show(const cli_request_t *req, json_t *result, FILE *out);

int cli_build_service_list(const cli_parsed_t *p, cli_request_t *req);
int cli_build_service_update(const cli_parsed_t *p, cli_request_t *req);
int cli_build_hypervisor_list(const cli_parsed_t *p, cli_request_t *req);
int cli_build_hypervisor_show(const cli_parsed_t *p, cli_request_t *req);
int cli_render_service_list(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_service_show(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_hypervisor_list(const cli_request_t *req, json_t *result, FILE *out);
int cli_render_hypervisor_show(const cli_request_t *req, json_t *result, FILE *out);
int cli_build_drain(const cli_parsed_t *p, cli_request_t *req);
int cli_build_drain_host(const cli_parsed_t *p, cli_request_t *req);
int cli_render_drain(const cli_request_t *req, json_t *result, FILE *out);
/* The drain --wait progress line (no newline) of drain (borrowed): percentage (held: never
 * lower than *percent_held, which it raises), a bar when bar, servers moved/total, running,
 * failed or blocked, ETA, elapsed. Returns buf. */
char *cli_drain_progress_line(const json_t *drain, int *percent_held, bool bar, char *buf,
                              size_t size);

/* ---- output.c ---- */

/* A column of a list table: header, the object's key, and how to show its value (NULL: the
 * generic cli_value_text()). */
typedef char *(*cli_cell_fn)(const json_t *object, const char *key);

typedef struct cli_column {
    const char *header;
    const char *key;
    cli_cell_fn cell; /* returns a new string */
} cli_column_t;

/* The text of a JSON value in a table: strings as they are, null as "-", true/false as
 * "True"/"False", numbers in decimal, arrays one element per line (objects as compact JSON).
 * New string. */
char *cli_value_text(const json_t *value);

/* A table of rows (an array of objects) with one column per entry of columns, drawn with
 * +---+ borders, cells padded to the widest; a cell with newlines spans several lines. */
void cli_print_table(FILE *out, const cli_column_t *columns, size_t n_columns, const json_t *rows);

/* A "Field | Value" table of one object, fields in name order. */
void cli_print_object(FILE *out, const json_t *object);

/* JSON pretty-printed (4-space indent, key order kept) and a newline. */
void cli_print_json(FILE *out, const json_t *value);

/* The member key of result, which must be of type type (JSON_OBJECT or JSON_ARRAY); -1 with an
 * RPC error "unexpected answer from the conductor" otherwise. Borrowed. */
int cli_result_member(const json_t *result, const char *key, json_type type, json_t **ret_value);

/* Print result's member key (an object) as a "Field | Value" table or as JSON. */
int cli_render_member_object(const cli_request_t *req, const json_t *result, const char *key,
                             FILE *out);
/* Print result's member key (an array) as a table of columns or as JSON. */
int cli_render_member_list(const cli_request_t *req, const json_t *result, const char *key,
                           const cli_column_t *columns, size_t n_columns, FILE *out);

/* ---- progress.c: the live-migration --wait display (pure functions) ---- */

/* What the waiting loop remembers between two samples of a migration. */
typedef struct cli_progress {
    int64_t start_ms;   /* when the wait began (monotonic) */
    int64_t last_ms;    /* when the processed byte count last changed (0: no sample yet) */
    int64_t last_bytes; /* memory + disk processed at last_ms */
    double rate_mib_s;  /* transfer rate over the last change; < 0 when not known yet */
    int percent_held;   /* the highest percentage seen: the display never goes backwards */
} cli_progress_t;

void cli_progress_init(cli_progress_t *prog, int64_t now_ms);

/* Take a sample of the migration object (borrowed) received at now_ms: updates the rate. */
void cli_progress_sample(cli_progress_t *prog, const json_t *migration, int64_t now_ms);

/* Human size of bytes: "512 B", "1.5 KiB", "12.0 MiB", "2.00 GiB" into buf. Returns buf. */
char *cli_format_bytes(int64_t bytes, char *buf, size_t size);

/* Duration in ms as "45 ms" under 1 s, "12.3 s" under a minute, "2:03" or "1:02:03" above. */
char *cli_format_duration(int64_t ms, char *buf, size_t size);

/* The progress line for the migration at now_ms (no newline): percentage (of the data known so
 * far, the highest seen held: a later pass re-sending dirtied memory never moves it back),
 * phase/status, memory and disk processed/total (disk only when there is some), remaining, rate,
 * the ETA at that rate (when it moves), elapsed; with bar, a [####----] bar after the
 * percentage. Returns buf. */
char *cli_progress_line(const cli_progress_t *prog, const json_t *migration, int64_t now_ms,
                        bool bar, char *buf, size_t size);

/* Whether waiting for a migration ends at this status: completed, failed, cancelled, error,
 * needs-operator or postcopy-paused (not final, but nothing moves them until an operator acts). */
bool cli_migration_status_final(const char *status);

/* The closing summary of a finished migration, with what the user lived through: waited_ms is
 * the time from the request to the end as the CLI saw it (< 0: the record's total_ms is used):
 *   "migration 7 completed 3.1 s after the request (transfer 2.8 s, downtime 45 ms)"
 *   "migration 7 failed 3.1 s after the request: <error_message>", "migration 7 was cancelled ...".
 * Returns buf. */
char *cli_migration_summary(const json_t *migration, int64_t waited_ms, char *buf, size_t size);

/* A copy of a migration object (new reference) for the table view: each duration labelled
 * with what it measures ("2.8 s - transfer: libvirt's live migration, start to switch-over"). */
json_t *cli_migration_labelled(const json_t *migration);

#endif /* TERN_TOOLS_CLI_H */
