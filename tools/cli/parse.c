/*
 * tools/cli/parse.c: the command line of tern, up to a validated request.
 *
 *   tern [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]
 *   tern help [COMMAND]          tern COMMAND --help
 *
 * Global options may come before the command or among its options. Each command's options come
 * from its entry in the command table; getopt_long does the scanning (with its own messages
 * turned off so that every error is ours and names the option), the command's build function
 * checks the values and builds the conductor method's arguments. Nothing here connects anywhere.
 *
 * Owns: the cli_request_t it fills (see cli.h), and the cli_parsed_t value arrays while parsing.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tools/cli/cli.h"

/* getopt_long values: command options are OPT_BASE + index, global ones OPT_GLOBAL + index. */
#define OPT_BASE 0x100
#define OPT_GLOBAL 0x200

enum {
    GLOBAL_CONFIG_FILE = 0,
    GLOBAL_CONFIG_DIR,
    GLOBAL_TRANSPORT_URL,
    GLOBAL_FORMAT,
    GLOBAL_HELP
};

/* State shared by the two scans (before and after the command name). */
typedef struct global_state {
    size_t n_format, n_config_dir, n_transport_url; /* times given, for "given more than once" */
    bool help;
} global_state_t;

static size_t
count_options(const cli_option_t *opts)
{
    size_t n = 0;

    while (opts && opts[n].name)
        n++;
    return n;
}

/* Fill longopts (n_cmd command options then the global ones, then a zero entry) and shortopts. */
static void
make_getopt_tables(const cli_option_t *cmd_opts, struct option *longopts, char *shortopts,
                   size_t shortopts_size)
{
    size_t n_cmd = count_options(cmd_opts), n_glob = count_options(cli_global_options), k = 0;
    size_t s = 0;

    shortopts[s++] = ':'; /* report a missing value as ':' and print nothing */
    for (size_t i = 0; i < n_cmd; i++, k++) {
        longopts[k] = (struct option){
            cmd_opts[i].name, cmd_opts[i].flags & CLI_OPT_VALUE ? required_argument : no_argument,
            NULL, OPT_BASE + (int)i};
    }
    for (size_t i = 0; i < n_glob; i++, k++) {
        const cli_option_t *o = &cli_global_options[i];

        longopts[k] =
            (struct option){o->name, o->flags & CLI_OPT_VALUE ? required_argument : no_argument,
                            NULL, OPT_GLOBAL + (int)i};
        if (o->short_name && s + 3 < shortopts_size) {
            shortopts[s++] = (char)o->short_name;
            if (o->flags & CLI_OPT_VALUE)
                shortopts[s++] = ':';
        }
    }
    longopts[k] = (struct option){0};
    shortopts[s] = '\0';
}

/* The option a getopt value stands for. */
static const cli_option_t *
option_of(const cli_option_t *cmd_opts, int val)
{
    if (val >= OPT_GLOBAL)
        return &cli_global_options[val - OPT_GLOBAL];
    if (val >= OPT_BASE)
        return &cmd_opts[val - OPT_BASE];
    for (size_t i = 0; cli_global_options[i].name; i++) {
        if (cli_global_options[i].short_name == val)
            return &cli_global_options[i];
    }
    return NULL;
}

/* The error for getopt's '?' or ':' answer (rc) at argv[optind - 1]. */
static int
getopt_error(int rc, char **argv, const cli_option_t *cmd_opts)
{
    const char *text = argv[optind - 1];
    const cli_option_t *o = optopt ? option_of(cmd_opts, optopt) : NULL;

    if (rc == ':') {
        if (o && optopt >= OPT_BASE)
            return tern_error_set(TERN_ERR_INVALID, "missing value for --%s", o->name);
        return tern_error_set(TERN_ERR_INVALID, "missing value for -%c", optopt);
    }
    if (o && optopt >= OPT_BASE) /* a flag given a value: --wait=yes */
        return tern_error_set(TERN_ERR_INVALID, "--%s takes no value", o->name);
    if (optopt)
        return tern_error_set(TERN_ERR_INVALID, "unknown option \"-%c\"", optopt);
    return tern_error_set(TERN_ERR_INVALID, "unknown option \"%s\"", text);
}

static int
set_global(global_state_t *g, const cli_option_t *o, const char *value, cli_request_t *req)
{
    size_t i = (size_t)(o - cli_global_options);

    switch (i) {
    case GLOBAL_CONFIG_FILE:
        if (tern_str_empty(value))
            return tern_error_set(TERN_ERR_INVALID, "invalid value \"\" for --config-file: empty");
        if (req->n_config_files >= CLI_MAX_REPEAT)
            return tern_error_set(TERN_ERR_INVALID, "too many --config-file options (at most %d)",
                                  CLI_MAX_REPEAT);
        req->config_files =
            tern_realloc(req->config_files, (req->n_config_files + 1) * sizeof(*req->config_files));
        req->config_files[req->n_config_files++] = value;
        return 0;
    case GLOBAL_CONFIG_DIR:
        if (g->n_config_dir++)
            return tern_error_set(TERN_ERR_INVALID, "--config-dir given more than once");
        if (tern_str_empty(value))
            return tern_error_set(TERN_ERR_INVALID, "invalid value \"\" for --config-dir: empty");
        req->config_dir = value;
        return 0;
    case GLOBAL_TRANSPORT_URL:
        if (g->n_transport_url++)
            return tern_error_set(TERN_ERR_INVALID, "--transport-url given more than once");
        if (!strstr(value, "://"))
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid value for --transport-url: not a URL such as "
                                  "rabbit://USER:PASSWORD@HOST:PORT/");
        req->transport_url = value;
        return 0;
    case GLOBAL_FORMAT:
        if (g->n_format++)
            return tern_error_set(TERN_ERR_INVALID, "-f given more than once");
        if (strcmp(value, "table") == 0)
            req->format = CLI_FORMAT_TABLE;
        else if (strcmp(value, "json") == 0)
            req->format = CLI_FORMAT_JSON;
        else
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid value \"%s\" for -f: must be \"table\" or \"json\"",
                                  value);
        return 0;
    case GLOBAL_HELP:
        g->help = true;
        return 0;
    default:
        return tern_error_set(TERN_ERR_INTERNAL, "unhandled global option \"--%s\"", o->name);
    }
}

/* Scan the global options before the command; on return optind is the command's index. */
static int
parse_globals(int argc, char **argv, global_state_t *g, cli_request_t *req)
{
    struct option longopts[CLI_MAX_OPTIONS + 1];
    char shortopts[32];
    char plus_shortopts[34];
    int rc;

    make_getopt_tables(NULL, longopts, shortopts, sizeof(shortopts));
    snprintf(plus_shortopts, sizeof(plus_shortopts), "+%s", shortopts); /* stop at the command */
    optind = 0;
    opterr = 0;
    while ((rc = getopt_long(argc, argv, plus_shortopts, longopts, NULL)) != -1) {
        const cli_option_t *o;

        if (rc == '?' || rc == ':')
            return getopt_error(rc, argv, NULL);
        if (!(o = option_of(NULL, rc)) || set_global(g, o, optarg, req) < 0)
            return -1;
    }
    return 0;
}

/* Scan the command's options and arguments (argv[0] is the command name). */
static int
parse_command(int argc, char **argv, global_state_t *g, cli_parsed_t *p, cli_request_t *req)
{
    const cli_command_t *cmd = p->command;
    struct option longopts[CLI_MAX_OPTIONS + 1];
    char shortopts[32];
    int rc;

    make_getopt_tables(cmd->options, longopts, shortopts, sizeof(shortopts));
    optind = 0;
    opterr = 0;
    while ((rc = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const cli_option_t *o;
        size_t i;

        if (rc == '?' || rc == ':')
            return getopt_error(rc, argv, cmd->options);
        if (!(o = option_of(cmd->options, rc)))
            return tern_error_set(TERN_ERR_INTERNAL, "unhandled option %d", rc);
        if (rc < OPT_BASE || rc >= OPT_GLOBAL) {
            if (set_global(g, o, optarg, req) < 0)
                return -1;
            continue;
        }
        i = (size_t)(rc - OPT_BASE);
        if (p->n_values[i] && !(o->flags & CLI_OPT_REPEAT))
            return tern_error_set(TERN_ERR_INVALID, "--%s given more than once", o->name);
        if (p->n_values[i] >= CLI_MAX_REPEAT)
            return tern_error_set(TERN_ERR_INVALID, "too many --%s options (at most %d)", o->name,
                                  CLI_MAX_REPEAT);
        p->values[i] = tern_realloc(p->values[i], (p->n_values[i] + 1) * sizeof(char *));
        p->values[i][p->n_values[i]++] = o->flags & CLI_OPT_VALUE ? optarg : "";
    }
    if (g->help)
        return 0;
    for (; optind < argc; optind++) {
        if (p->n_args >= cmd->max_args || p->n_args >= CLI_MAX_ARGS)
            return tern_error_set(TERN_ERR_INVALID, "unexpected argument \"%s\"", argv[optind]);
        p->args[p->n_args++] = argv[optind];
    }
    if (p->n_args < cmd->min_args)
        return tern_error_set(TERN_ERR_INVALID, "missing argument %s", cmd->args[p->n_args].name);
    for (size_t i = 0; cmd->options && cmd->options[i].name; i++) {
        if ((cmd->options[i].flags & CLI_OPT_REQUIRED) && !p->n_values[i])
            return tern_error_set(TERN_ERR_INVALID, "missing required option --%s",
                                  cmd->options[i].name);
    }
    return 0;
}

static void
parsed_clear(cli_parsed_t *p)
{
    for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
        free(p->values[i]);
    memset(p, 0, sizeof(*p));
}

/* `tern help [COMMAND]` */
static int
parse_help_command(int argc, char **argv, int index, cli_request_t *req)
{
    req->action = CLI_ACTION_HELP;
    if (index + 1 >= argc)
        return 0;
    if (index + 2 < argc)
        return tern_error_set(TERN_ERR_INVALID, "unexpected argument \"%s\"", argv[index + 2]);
    if (!(req->command = cli_command_find(argv[index + 1])))
        return tern_error_set(TERN_ERR_INVALID, "unknown command \"%s\"", argv[index + 1]);
    return 0;
}

static int
parse_all(int argc, char **argv, cli_request_t *req)
{
    global_state_t g = {0};
    cli_parsed_t p = {0};
    int index, rc;

    if (parse_globals(argc, argv, &g, req) < 0)
        return -1;
    index = optind;
    if (index >= argc) {
        if (g.help) {
            req->action = CLI_ACTION_HELP;
            return 0;
        }
        return tern_error_set(TERN_ERR_INVALID, "missing command");
    }
    if (strcmp(argv[index], "help") == 0)
        return parse_help_command(argc, argv, index, req);
    if (!(req->command = cli_command_find(argv[index])))
        return tern_error_set(TERN_ERR_INVALID, "unknown command \"%s\"", argv[index]);
    if (count_options(req->command->options) + count_options(cli_global_options) > CLI_MAX_OPTIONS)
        return tern_error_set(TERN_ERR_INTERNAL, "command \"%s\" has too many options",
                              req->command->name);
    p.command = req->command;
    rc = parse_command(argc - index, argv + index, &g, &p, req);
    if (rc == 0 && g.help)
        req->action = CLI_ACTION_HELP;
    else if (rc == 0)
        rc = req->command->build(&p, req);
    parsed_clear(&p);
    return rc;
}

int
cli_parse(int argc, char **argv, cli_request_t *ret_req)
{
    memset(ret_req, 0, sizeof(*ret_req));
    if (parse_all(argc, argv, ret_req) < 0) {
        cli_request_clear(ret_req);
        return -1;
    }
    if (ret_req->action == CLI_ACTION_HELP) {
        json_decref(ret_req->args);
        ret_req->args = NULL;
    } else if (!ret_req->args) {
        ret_req->args = json_object();
    }
    return 0;
}

void
cli_request_clear(cli_request_t *req)
{
    if (!req)
        return;
    json_decref(req->args);
    free(req->config_files);
    memset(req, 0, sizeof(*req));
}

/* ---- access to the parsed options ---- */

static ssize_t
option_index(const cli_parsed_t *p, const char *name)
{
    for (size_t i = 0; p->command->options && p->command->options[i].name; i++) {
        if (strcmp(p->command->options[i].name, name) == 0)
            return (ssize_t)i;
    }
    return -1;
}

size_t
cli_parsed_count(const cli_parsed_t *p, const char *name)
{
    ssize_t i = option_index(p, name);

    return i < 0 ? 0 : p->n_values[i];
}

const char *
cli_parsed_nth(const cli_parsed_t *p, const char *name, size_t n)
{
    ssize_t i = option_index(p, name);

    if (i < 0 || n >= p->n_values[i])
        return NULL;
    return p->values[i][n];
}

const char *
cli_parsed_get(const cli_parsed_t *p, const char *name)
{
    size_t n = cli_parsed_count(p, name);

    return n ? cli_parsed_nth(p, name, n - 1) : NULL;
}

bool
cli_parsed_flag(const cli_parsed_t *p, const char *name)
{
    return cli_parsed_count(p, name) > 0;
}

/* ---- validators ---- */

int
cli_parse_int(const char *value, const char *what, int64_t min, int64_t max, int64_t *ret_value)
{
    const char *s = value;
    char *end = NULL;
    long long v;

    if (*s == '-')
        s++;
    if (!isdigit((unsigned char)*s))
        return tern_error_set(TERN_ERR_INVALID, "invalid value \"%s\" for %s: not an integer",
                              value, what);
    errno = 0;
    v = strtoll(value, &end, 10);
    if (*end != '\0')
        return tern_error_set(TERN_ERR_INVALID, "invalid value \"%s\" for %s: not an integer",
                              value, what);
    if (errno == ERANGE || v < min || v > max)
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid value \"%s\" for %s: must be between %lld and %lld", value,
                              what, (long long)min, (long long)max);
    *ret_value = v;
    return 0;
}

int
cli_check_name(const char *value, const char *what)
{
    size_t len = strlen(value);

    if (len == 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid value \"\" for %s: empty", what);
    if (len > CLI_NAME_MAX)
        return tern_error_set(TERN_ERR_INVALID, "invalid value for %s: longer than %d characters",
                              what, CLI_NAME_MAX);
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c < 0x20 || *c == 0x7f)
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid value for %s: contains a control character", what);
    }
    if (!tern_utf8_valid(value)) /* the request is JSON, which holds UTF-8 text only */
        return tern_error_set(TERN_ERR_INVALID, "invalid value for %s: not valid UTF-8", what);
    return 0;
}

int
cli_check_choice(const char *value, const char *what, const char *const *choices)
{
    char list[512] = "";

    for (size_t i = 0; choices[i]; i++) {
        if (strcmp(value, choices[i]) == 0)
            return 0;
    }
    for (size_t i = 0; choices[i]; i++) {
        if (i)
            strncat(list, ", ", sizeof(list) - strlen(list) - 1);
        strncat(list, choices[i], sizeof(list) - strlen(list) - 1);
    }
    return tern_error_set(TERN_ERR_INVALID, "invalid value \"%s\" for %s: must be one of %s", value,
                          what, list);
}

bool
cli_cidr_valid(const char *s)
{
    const char *slash = strchr(s, '/');
    unsigned char addr[16];
    char host[INET6_ADDRSTRLEN];
    int64_t prefix;
    int family;
    size_t len;

    if (!slash || (len = (size_t)(slash - s)) == 0 || len >= sizeof(host))
        return false;
    memcpy(host, s, len);
    host[len] = '\0';
    if (inet_pton(AF_INET, host, addr) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, host, addr) == 1)
        family = AF_INET6;
    else
        return false;
    if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
        return false;
    prefix = strtol(slash + 1, (char **)&s, 10);
    if (*s != '\0')
        return false;
    return prefix <= (family == AF_INET ? 32 : 128);
}

int
cli_parse_migration_ref(const char *value, const char *what, json_t **ret_ref)
{
    int64_t id;

    if (isdigit((unsigned char)value[0]) && strlen(value) < 19 &&
        strspn(value, "0123456789") == strlen(value)) {
        if (cli_parse_int(value, what, 1, INT64_MAX, &id) < 0)
            return -1;
        *ret_ref = json_integer(id);
        return 0;
    }
    if (tern_uuid_valid(value)) {
        *ret_ref = json_string(value);
        return 0;
    }
    return tern_error_set(TERN_ERR_INVALID,
                          "invalid value \"%s\" for %s: not a migration id (a positive integer) "
                          "or uuid",
                          value, what);
}
