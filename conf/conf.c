/*
 * conf/conf.c: loading, validating, documenting and printing the options of conf/options.c.
 *
 * Owns the conf_t it returns (strings included). Parsing goes through libinih; each value is
 * checked against its table row as it is read, so an error names the file it came from.
 */
#include "conf/conf.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/options.h"

#define CONF_DEFAULT_FILE "/etc/tern/tern.conf"
#define CONF_MAX_FILE_BYTES (1024 * 1024)

typedef struct load_ctx {
    conf_t *cfg;
    const char *file; /* name for messages */
    bool failed;      /* an error is recorded */
} load_ctx_t;

static void *
field(conf_t *cfg, const conf_option_t *o)
{
    return (char *)cfg + o->offset;
}

static const conf_option_t *
find_option(const char *section, const char *name)
{
    for (size_t i = 0; i < conf_n_options; i++) {
        if (strcmp(conf_options[i].section, section) == 0 &&
            strcmp(conf_options[i].name, name) == 0)
            return &conf_options[i];
    }
    return NULL;
}

static bool
section_known(const char *section)
{
    for (size_t i = 0; conf_sections[i]; i++) {
        if (strcmp(conf_sections[i], section) == 0)
            return true;
    }
    return false;
}

static int
parse_bool(const char *v, bool *ret)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < TERN_N_ELEMENTS(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -1;
}

/* set_value: check value against o and store it; the reason of a refusal in ret_why. */
static int
set_value(conf_t *cfg, const conf_option_t *o, const char *value, char *why, size_t why_size)
{
    void *f = field(cfg, o);
    int64_t i;
    double d;
    bool b;

    switch (o->type) {
    case CONF_STR:
        free(*(char **)f);
        *(char **)f = tern_strdup(value);
        return 0;
    case CONF_ENUM:
        for (size_t k = 0; o->choices[k]; k++) {
            if (strcmp(o->choices[k], value) == 0) {
                free(*(char **)f);
                *(char **)f = tern_strdup(value);
                return 0;
            }
        }
        snprintf(why, why_size, "not one of");
        for (size_t k = 0; o->choices[k]; k++)
            snprintf(why + strlen(why), why_size - strlen(why), "%s \"%s\"", k ? "," : "",
                     o->choices[k]);
        return -1;
    case CONF_INT:
        if (tern_parse_int64(value, o->name, &i) < 0) {
            tern_error_reset();
            snprintf(why, why_size, "not an integer");
            return -1;
        }
        if ((double)i < o->min || (double)i > o->max) {
            snprintf(why, why_size, "out of range [%.0f, %.0f]", o->min, o->max);
            return -1;
        }
        *(int *)f = (int)i;
        return 0;
    case CONF_FLOAT:
        if (tern_parse_double(value, o->name, &d) < 0) {
            tern_error_reset();
            snprintf(why, why_size, "not a number");
            return -1;
        }
        if (d < o->min || d > o->max) {
            snprintf(why, why_size, "out of range [%g, %g]", o->min, o->max);
            return -1;
        }
        *(double *)f = d;
        return 0;
    case CONF_BOOL:
        if (parse_bool(value, &b) < 0) {
            snprintf(why, why_size, "not a boolean (true/false, yes/no, on/off, 1/0)");
            return -1;
        }
        *(bool *)f = b;
        return 0;
    }
    snprintf(why, why_size, "unknown type");
    return -1;
}

/* conf_ini_handler: one name = value line of a file. Returns 0 to stop inih at the first error. */
static int
conf_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    load_ctx_t *ctx = user;
    const conf_option_t *o;
    char why[256] = "";

    if (!name) /* a section header alone */
        return section_known(section)
                   ? 1
                   : (ctx->failed = true,
                      tern_error_set(TERN_ERR_CONFIG, "unknown section [%s] in \"%s\"", section,
                                     ctx->file),
                      0);
    if (section[0] == '\0') {
        ctx->failed = true;
        tern_error_set(TERN_ERR_CONFIG, "option \"%s\" in \"%s\" is outside any section", name,
                       ctx->file);
        return 0;
    }
    if (!section_known(section)) {
        ctx->failed = true;
        tern_error_set(TERN_ERR_CONFIG, "unknown section [%s] in \"%s\"", section, ctx->file);
        return 0;
    }
    if (!(o = find_option(section, name))) {
        ctx->failed = true;
        tern_error_set(TERN_ERR_CONFIG, "unknown option \"%s\" in section [%s] of \"%s\"", name,
                       section, ctx->file);
        return 0;
    }
    if (set_value(ctx->cfg, o, value, why, sizeof(why)) < 0) {
        ctx->failed = true;
        tern_error_set(TERN_ERR_CONFIG,
                       "invalid value \"%s\" for option \"%s\" in section [%s] of \"%s\": %s",
                       o->secret ? "***" : value, o->name, o->section, ctx->file, why);
        return 0;
    }
    return 1;
}

/* parse_text: apply one file's text on top of cfg. */
static int
parse_text(conf_t *cfg, const char *name, const char *data)
{
    load_ctx_t ctx = {.cfg = cfg, .file = name};
    int rc = ini_parse_string(data, conf_ini_handler, &ctx);

    if (ctx.failed)
        return -1;
    if (rc > 0)
        return tern_error_set(TERN_ERR_CONFIG, "could not parse \"%s\": syntax error at line %d",
                              name, rc);
    if (rc < 0)
        return tern_error_set(TERN_ERR_CONFIG, "could not parse \"%s\"", name);
    return 0;
}

static conf_t *
conf_new_defaults(void)
{
    conf_t *cfg = tern_calloc(1, sizeof(*cfg));
    char why[256];

    for (size_t i = 0; i < conf_n_options; i++) {
        if (conf_options[i].default_value &&
            set_value(cfg, &conf_options[i], conf_options[i].default_value, why, sizeof(why)) < 0)
            abort(); /* a bad default is a bug in options.c, caught by the unit tests */
    }
    return cfg;
}

/* substitute_state_path: "$state_path/x" -> "<state_path>/x" in path options. */
static void
substitute_state_path(conf_t *cfg, char **value)
{
    static const char prefix[] = "$state_path";
    char *v = *value;

    if (v && strncmp(v, prefix, sizeof(prefix) - 1) == 0) {
        *value = tern_asprintf("%s%s", cfg->state_path, v + sizeof(prefix) - 1);
        free(v);
    }
}

/* finish: derived defaults, once every file is read. */
static conf_t *
finish(conf_t *cfg)
{
    char hostname[256];

    if (tern_str_empty(cfg->host)) {
        if (gethostname(hostname, sizeof(hostname)) < 0)
            tern_strlcpy(hostname, "localhost", sizeof(hostname));
        hostname[sizeof(hostname) - 1] = '\0';
        free(cfg->host);
        cfg->host = tern_strdup(hostname);
    }
    substitute_state_path(cfg, &cfg->instances_path);
    substitute_state_path(cfg, &cfg->image_store_path);
    return cfg;
}

conf_t *
conf_load_data(const char *name, const char *data)
{
    conf_t *cfg = conf_new_defaults();

    if (parse_text(cfg, name, data) < 0) {
        conf_free(cfg);
        return NULL;
    }
    return finish(cfg);
}

static int
parse_file(conf_t *cfg, const char *path)
{
    TERN_AUTOFREE char *data = NULL;

    if (tern_file_read_all(path, CONF_MAX_FILE_BYTES, &data, NULL) < 0) {
        char reason[TERN_ERROR_MSG_MAX];

        tern_strlcpy(reason, tern_error_message(), sizeof(reason));
        return tern_error_set(TERN_ERR_CONFIG, "%s", reason);
    }
    return parse_text(cfg, path, data);
}

static int
conf_file_filter(const struct dirent *d)
{
    size_t len = strlen(d->d_name);

    return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".conf") == 0;
}

static int
parse_dir(conf_t *cfg, const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, conf_file_filter, alphasort);
    int rc = 0;

    if (n < 0)
        return tern_error_set(TERN_ERR_CONFIG, "could not read configuration directory \"%s\": %s",
                              dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        TERN_AUTOFREE char *path = tern_asprintf("%s/%s", dir, names[i]->d_name);

        if (rc == 0)
            rc = parse_file(cfg, path);
        free(names[i]);
    }
    free(names);
    return rc;
}

conf_t *
conf_load_files(const char *const *files, size_t n_files, const char *config_dir)
{
    conf_t *cfg = conf_new_defaults();

    for (size_t i = 0; i < n_files; i++) {
        if (parse_file(cfg, files[i]) < 0)
            goto fail;
    }
    if (config_dir && parse_dir(cfg, config_dir) < 0)
        goto fail;
    return finish(cfg);

fail:
    conf_free(cfg);
    return NULL;
}

void
conf_free(conf_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < conf_n_options; i++) {
        if (conf_options[i].type == CONF_STR || conf_options[i].type == CONF_ENUM)
            free(*(char **)field(cfg, &conf_options[i]));
    }
    free(cfg);
}

/* ---- command line ---- */

int
conf_parse_args_full(int argc, char **argv, const char *program, const char *extra_usage,
                     bool allow_rest, conf_args_t *ret_args)
{
    static const struct option longopts[] = {
        {"config-file", required_argument, NULL, 'c'},
        {"config-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    memset(ret_args, 0, sizeof(*ret_args));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            ret_args->config_files = tern_realloc(ret_args->config_files,
                                                  (ret_args->n_config_files + 1) * sizeof(char *));
            ret_args->config_files[ret_args->n_config_files++] = optarg;
            break;
        case 'd':
            ret_args->config_dir = optarg;
            break;
        case 'h':
            printf("usage: %s [--config-file FILE]... [--config-dir DIR]%s%s\n\n"
                   "  --config-file FILE  read FILE (repeatable; later files override earlier)\n"
                   "  --config-dir DIR    then read DIR/*.conf in name order\n"
                   "  --help, --version\n\n"
                   "Without --config-file and --config-dir, " CONF_DEFAULT_FILE
                   " is read when it exists.\n\nOptions of the configuration files:\n\n",
                   program, extra_usage ? " " : "", extra_usage ? extra_usage : "");
            conf_write_help(stdout);
            conf_args_clear(ret_args);
            return 1;
        case 'V':
            printf("%s %s\n", program, PACKAGE_VERSION);
            conf_args_clear(ret_args);
            return 1;
        default:
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", program,
                    argv[optind - 1]);
            conf_args_clear(ret_args);
            return -1;
        }
    }
    if (!allow_rest && optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", program, argv[optind]);
        conf_args_clear(ret_args);
        return -1;
    }
    ret_args->rest = argv + optind;
    ret_args->n_rest = argc - optind;
    return 0;
}

int
conf_parse_args(int argc, char **argv, const char *program, conf_args_t *ret_args)
{
    return conf_parse_args_full(argc, argv, program, NULL, false, ret_args);
}

void
conf_args_clear(conf_args_t *args)
{
    if (!args)
        return;
    free(args->config_files);
    memset(args, 0, sizeof(*args));
}

conf_t *
conf_load_args(const conf_args_t *args)
{
    const char *deflt = CONF_DEFAULT_FILE;

    if (args->n_config_files == 0 && !args->config_dir)
        return conf_load_files(&deflt, access(deflt, F_OK) == 0 ? 1 : 0, NULL);
    return conf_load_files((const char *const *)args->config_files, args->n_config_files,
                           args->config_dir);
}

int
conf_log_setup(const conf_t *cfg, const char *program)
{
    return tern_log_open(program, cfg->debug ? TERN_LOG_DEBUG : TERN_LOG_INFO, cfg->log_file,
                         cfg->use_syslog);
}

/* ---- documentation ---- */

static const char *
type_name(const conf_option_t *o)
{
    switch (o->type) {
    case CONF_STR:
        return "string value";
    case CONF_INT:
        return "integer value";
    case CONF_FLOAT:
        return "floating point value";
    case CONF_BOOL:
        return "boolean value";
    case CONF_ENUM:
        return "string value";
    }
    return "value";
}

/* write_wrapped: text wrapped at 79 columns, each line starting with prefix. */
static void
write_wrapped(FILE *out, const char *prefix, const char *text)
{
    size_t col = 0, plen = strlen(prefix);
    const char *p = text;

    fputs(prefix, out);
    col = plen;
    while (*p) {
        size_t wlen = strcspn(p, " ");

        if (col > plen && col + 1 + wlen > 79) {
            fputc('\n', out);
            fputs(prefix, out);
            col = plen;
        } else if (col > plen) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, wlen, out);
        col += wlen;
        p += wlen;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

static void
write_limits(FILE *out, const char *prefix, const conf_option_t *o)
{
    if (o->type == CONF_INT)
        fprintf(out, "%sMinimum value: %.0f, maximum value: %.0f\n", prefix, o->min, o->max);
    else if (o->type == CONF_FLOAT)
        fprintf(out, "%sMinimum value: %g, maximum value: %g\n", prefix, o->min, o->max);
    else if (o->type == CONF_ENUM) {
        fprintf(out, "%sAllowed values:", prefix);
        for (size_t k = 0; o->choices[k]; k++)
            fprintf(out, " \"%s\"", o->choices[k]);
        fputc('\n', out);
    }
}

void
conf_write_sample(FILE *out)
{
    fprintf(out, "# etc/tern.conf.sample: every option of tern with its default, commented out.\n"
                 "# Generated from conf/options.c by `tern-config sample` (make update-sample):\n"
                 "# do not edit by hand.\n");
    for (size_t s = 0; conf_sections[s]; s++) {
        fprintf(out, "\n[%s]\n", conf_sections[s]);
        for (size_t i = 0; i < conf_n_options; i++) {
            const conf_option_t *o = &conf_options[i];
            char head[1024];

            if (strcmp(o->section, conf_sections[s]) != 0)
                continue;
            snprintf(head, sizeof(head), "%s (%s%s)", o->help, type_name(o),
                     o->secret ? ", secret" : "");
            fputc('\n', out);
            write_wrapped(out, "# ", head);
            write_limits(out, "# ", o);
            fprintf(out, "#%s = %s\n", o->name,
                    o->default_value               ? o->default_value
                    : strcmp(o->name, "host") == 0 ? "<the system host name>"
                                                   : "");
        }
    }
}

void
conf_write_help(FILE *out)
{
    for (size_t i = 0; i < conf_n_options; i++) {
        const conf_option_t *o = &conf_options[i];

        fprintf(out, "  [%s] %s (%s, default \"%s\")\n", o->section, o->name, type_name(o),
                o->default_value ? o->default_value : "");
        write_wrapped(out, "      ", o->help);
    }
}

void
conf_write_effective(const conf_t *cfg, FILE *out)
{
    const char *section = "";

    for (size_t i = 0; i < conf_n_options; i++) {
        const conf_option_t *o = &conf_options[i];
        const void *f = (const char *)cfg + o->offset;

        if (strcmp(section, o->section) != 0) {
            fprintf(out, "%s[%s]\n", i ? "\n" : "", o->section);
            section = o->section;
        }
        switch (o->type) {
        case CONF_STR:
        case CONF_ENUM: {
            const char *v = *(char *const *)f;
            TERN_AUTOFREE char *masked = o->secret ? tern_log_mask_url(v) : NULL;

            fprintf(out, "%s = %s\n", o->name, masked ? masked : v ? v : "");
            break;
        }
        case CONF_INT:
            fprintf(out, "%s = %d\n", o->name, *(const int *)f);
            break;
        case CONF_FLOAT:
            fprintf(out, "%s = %g\n", o->name, *(const double *)f);
            break;
        case CONF_BOOL:
            fprintf(out, "%s = %s\n", o->name, *(const bool *)f ? "true" : "false");
            break;
        }
    }
}
