/*
 * conf/conf.c: loading and validating the options of conf/options.c.
 *
 * A load starts from the table's defaults and applies each file on top (later wins). Each
 * name = value line is checked against its table row as it is read, so an error names the file
 * it came from. Once every file is read, finish() expands $references in path options (oslo's
 * "$state_path/instances"), checks that paths are absolute and fills computed defaults (host).
 *
 * Owns the conf_t it returns (strings included), freed with conf_free(). Parsing goes through
 * libinih, whose process-wide parse settings this file sets once (see conf_inih_setup()).
 */
#include "conf/conf.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/options.h"

#define CONF_MAX_FILE_BYTES (1024 * 1024)
#define CONF_MAX_EXPAND_DEPTH 8

typedef struct conf_loader {
    conf_t *cfg;      /* being filled (owned until handed out) */
    char **sources;   /* per option: the file that set it last (owned), NULL for the default */
    const char *file; /* the file being parsed, for messages (borrowed) */
    bool failed;      /* an error is recorded: ignore the rest of the file */
} conf_loader_t;

/* conf_inih_setup: libinih's process-wide settings, once. Lines as long as a whole file (long
 * transport URLs), no inline comments and no continuation lines (oslo.config has neither
 * ";" comments after a value nor indented continuations; a value keeps every character). */
static void
conf_inih_setup(void)
{
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = CONF_MAX_FILE_BYTES + 3;
    ini_allow_inline_comments = false;
    ini_allow_multiline = false;
    ini_stop_on_first_error = true;
}

static pthread_once_t inih_once = PTHREAD_ONCE_INIT;

static void *
field(conf_t *cfg, const conf_option_t *o)
{
    return (char *)cfg + o->offset;
}

static bool
is_string_type(conf_type_t type)
{
    return type == CONF_STR || type == CONF_ENUM || type == CONF_PATH || type == CONF_URL ||
           type == CONF_LIST;
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

/* looks_like_url: "scheme://..." with an RFC 3986 scheme. */
static bool
looks_like_url(const char *v)
{
    const char *p = v;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while (*p && (strchr("+-.", *p) || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9')))
        p++;
    return strncmp(p, "://", 3) == 0;
}

/* check_range: why the number v is outside o's limits, or 0 when inside. */
static int
check_range(const conf_option_t *o, double v, char *why, size_t why_size)
{
    if (o->has_min && v < o->min) {
        snprintf(why, why_size, "must be at least %g", o->min);
        return -1;
    }
    if (o->has_max && v > o->max) {
        snprintf(why, why_size, "must be at most %g", o->max);
        return -1;
    }
    return 0;
}

/* normalize_list: "a, b ,c" as "a,b,c" (new string); NULL with the reason in why when an item
 * is empty ("a,,b", a trailing comma). An empty or blank value is the empty list "". */
static char *
normalize_list(const char *value, char *why, size_t why_size)
{
    char *out = tern_malloc(strlen(value) + 1);
    size_t n = 0, item = 1;
    const char *p = value;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0') {
        out[0] = '\0';
        return out;
    }
    for (;;) {
        size_t len = strcspn(p, ",");

        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            snprintf(why, why_size, "item %zu of the list is empty", item);
            free(out);
            return NULL;
        }
        if (n)
            out[n++] = ',';
        memcpy(out + n, p, len);
        n += len;
        p += strcspn(p, ",");
        if (*p == '\0')
            break;
        p++;
        item++;
    }
    out[n] = '\0';
    return out;
}

static void
set_string(void *f, const char *value)
{
    free(*(char **)f);
    *(char **)f = tern_strdup(value);
}

/* set_value: check value against o and store it in cfg; the reason of a refusal goes to why.
 * Paths are stored as written: finish() expands and checks them once every file is read. */
static int
set_value(conf_t *cfg, const conf_option_t *o, const char *value, char *why, size_t why_size)
{
    void *f = field(cfg, o);
    int64_t i;
    double d;
    bool b;

    switch (o->type) {
    case CONF_STR:
    case CONF_PATH:
        set_string(f, value);
        return 0;
    case CONF_URL:
        if (value[0] && !looks_like_url(value)) {
            snprintf(why, why_size, "not a URL (scheme://...)");
            return -1;
        }
        set_string(f, value);
        return 0;
    case CONF_LIST: {
        TERN_AUTOFREE char *list = NULL;

        if (!(list = normalize_list(value, why, why_size)))
            return -1;
        set_string(f, list);
        return 0;
    }
    case CONF_ENUM:
        for (size_t k = 0; o->choices[k]; k++) {
            if (strcmp(o->choices[k], value) == 0) {
                set_string(f, value);
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
        if (check_range(o, (double)i, why, why_size) < 0)
            return -1;
        if (i < INT_MIN || i > INT_MAX) {
            snprintf(why, why_size, "out of range");
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
        if (check_range(o, d, why, why_size) < 0)
            return -1;
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

/* shown_value: what an error message may show of o's value (new string). A secret never
 * appears: a URL keeps all but its passwords, anything else becomes "***". */
static char *
shown_value(const conf_option_t *o, const char *value)
{
    if (!o->secret)
        return tern_strdup(value);
    if (o->type == CONF_URL && looks_like_url(value))
        return tern_log_mask_url(value);
    return tern_strdup("***");
}

/* set_invalid: record "invalid value ... of FILE: WHY"; source NULL means the defaults. */
static int
set_invalid(const conf_option_t *o, const char *value, const char *source, const char *why)
{
    TERN_AUTOFREE char *shown = shown_value(o, value);
    TERN_AUTOFREE char *where =
        source ? tern_asprintf("\"%s\"", source) : tern_strdup("the built-in defaults");

    return tern_error_set(TERN_ERR_CONFIG,
                          "invalid value \"%s\" for option \"%s\" in section [%s] of %s: %s", shown,
                          o->name, o->section, where, why);
}

/* conf_ini_handler: one name = value line. Returns 0 (libinih stops) at the first error. */
static int
conf_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    conf_loader_t *ld = user;
    const conf_option_t *o;
    char why[256] = "";
    size_t idx;

    if (ld->failed)
        return 0;
    if (!name) /* a section header alone (only when libinih reports them) */
        return 1;
    ld->failed = true;
    if (section[0] == '\0')
        return tern_error_set(TERN_ERR_CONFIG, "option \"%s\" in \"%s\" is outside any section",
                              name, ld->file),
               0;
    if (!section_known(section))
        return tern_error_set(TERN_ERR_CONFIG, "unknown section [%s] in \"%s\"", section, ld->file),
               0;
    if (!(o = find_option(section, name)))
        return tern_error_set(TERN_ERR_CONFIG, "unknown option \"%s\" in section [%s] of \"%s\"",
                              name, section, ld->file),
               0;
    if (set_value(ld->cfg, o, value, why, sizeof(why)) < 0)
        return set_invalid(o, value, ld->file, why), 0;
    idx = (size_t)(o - conf_options);
    free(ld->sources[idx]);
    ld->sources[idx] = tern_strdup(ld->file);
    ld->failed = false;
    return 1;
}

/* parse_text: apply one file's text on top of the loader's conf_t. */
static int
parse_text(conf_loader_t *ld, const char *name, const char *data)
{
    int rc;

    pthread_once(&inih_once, conf_inih_setup);
    ld->file = name;
    ld->failed = false;
    rc = ini_parse_string(data, conf_ini_handler, ld);
    if (ld->failed)
        return -1;
    if (rc > 0)
        return tern_error_set(TERN_ERR_CONFIG, "could not parse \"%s\": syntax error at line %d",
                              name, rc);
    if (rc < 0)
        return tern_error_set(TERN_ERR_CONFIG, "could not parse \"%s\": out of memory", name);
    return 0;
}

static int
parse_file(conf_loader_t *ld, const char *path)
{
    TERN_AUTOFREE char *data = NULL;

    if (tern_file_read_all(path, CONF_MAX_FILE_BYTES, &data, NULL) < 0) {
        char reason[TERN_ERROR_MSG_MAX];

        tern_strlcpy(reason, tern_error_message(), sizeof(reason));
        return tern_error_set(TERN_ERR_CONFIG, "%s", reason);
    }
    return parse_text(ld, path, data);
}

static int
conf_file_filter(const struct dirent *d)
{
    size_t len = strlen(d->d_name);

    return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".conf") == 0;
}

/* parse_dir: every *.conf of dir, in byte order of their names (oslo sorts them too). */
static int
parse_dir(conf_loader_t *ld, const char *dir)
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
            rc = parse_file(ld, path);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* expand: raw with each $name / ${name} replaced by the [DEFAULT] option of that name (itself
 * expanded when a path) and $$ by $. New string, or NULL with the reason in why. */
static char *
expand(conf_loader_t *ld, const char *raw, int depth, char *why, size_t why_size)
{
    size_t cap = strlen(raw) + 1, n = 0;
    char *out = tern_malloc(cap);

    for (const char *p = raw; *p;) {
        TERN_AUTOFREE char *name = NULL;
        TERN_AUTOFREE char *sub = NULL;
        const conf_option_t *ref;
        const char *val;
        size_t len;

        if (*p != '$' || p[1] == '$') {
            len = *p == '$' ? 1 : strcspn(p, "$");
            sub = tern_strndup(p, len);
            p += *p == '$' ? 2 : len;
        } else {
            bool braced = p[1] == '{';
            const char *start = p + 1 + braced;

            len = strspn(start, "abcdefghijklmnopqrstuvwxyz0123456789_");
            if (len == 0 || (braced && start[len] != '}')) {
                snprintf(why, why_size, "bad variable reference at \"%.20s\"", p);
                goto fail;
            }
            name = tern_strndup(start, len);
            p = start + len + braced;
            ref = find_option("DEFAULT", name);
            if (!ref || !is_string_type(ref->type)) {
                snprintf(why, why_size, "unknown variable \"$%s\"", name);
                goto fail;
            }
            if (depth >= CONF_MAX_EXPAND_DEPTH) {
                snprintf(why, why_size, "variables nested too deeply (a loop through \"$%s\"?)",
                         name);
                goto fail;
            }
            val = *(char **)field(ld->cfg, ref);
            sub = ref->type == CONF_PATH ? expand(ld, val ? val : "", depth + 1, why, why_size)
                                         : tern_strdup(val ? val : "");
            if (!sub)
                goto fail;
        }
        len = strlen(sub);
        if (n + len + 1 > cap) {
            cap = (n + len + 1) * 2;
            out = tern_realloc(out, cap);
        }
        memcpy(out + n, sub, len);
        n += len;
    }
    out[n] = '\0';
    return out;

fail:
    free(out);
    return NULL;
}

/* option_source: where the option section/name got its value, for messages (static text or a
 * string of ld's). */
static const char *
option_source(const conf_loader_t *ld, const char *section, const char *name, char *buf,
              size_t size)
{
    const conf_option_t *o = find_option(section, name);
    const char *src = o ? ld->sources[o - conf_options] : NULL;

    if (!src)
        return "the built-in defaults";
    snprintf(buf, size, "\"%s\"", src);
    return buf;
}

/* list_items_valid: every item of list is made of [A-Za-z0-9_.-] after an optional sign ("+" or
 * "-", when signs); the first bad item goes to why. */
static bool
list_items_valid(const char *list, bool signs, char *why, size_t why_size)
{
    char **items = conf_list_split(list, NULL);
    bool valid = true;

    for (size_t i = 0; valid && items[i]; i++) {
        const char *p = items[i] + (signs && (items[i][0] == '+' || items[i][0] == '-'));

        if (*p == '\0' || p[strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789_.-")] != '\0') {
            snprintf(why, why_size, "\"%s\" is not a %s", items[i],
                     signs ? "CPU flag ([+|-]name)" : "CPU model name");
            valid = false;
        }
    }
    conf_list_free(items);
    return valid;
}

/* check_cpu_options: [libvirt] cpu_mode, cpu_models and cpu_model_extra_flags agree, as nova
 * requires: custom needs models and only custom takes them; extra flags need a CPU element. */
static int
check_cpu_options(const conf_loader_t *ld)
{
    const conf_t *cfg = ld->cfg;
    const char *mode = cfg->libvirt.cpu_mode ? cfg->libvirt.cpu_mode : "";
    const char *models = cfg->libvirt.cpu_models ? cfg->libvirt.cpu_models : "";
    const char *flags =
        cfg->libvirt.cpu_model_extra_flags ? cfg->libvirt.cpu_model_extra_flags : "";
    const char *effective = mode[0]                                     ? mode
                            : tern_streq(cfg->libvirt.virt_type, "kvm") ? "host-model"
                                                                        : "none";
    char src[PATH_MAX + 8], why[256];

    if (!list_items_valid(models, false, why, sizeof(why)))
        return tern_error_set(TERN_ERR_CONFIG,
                              "invalid value for option \"cpu_models\" in section [libvirt] of "
                              "%s: %s",
                              option_source(ld, "libvirt", "cpu_models", src, sizeof(src)), why);
    if (!list_items_valid(flags, true, why, sizeof(why)))
        return tern_error_set(
            TERN_ERR_CONFIG,
            "invalid value for option \"cpu_model_extra_flags\" in section "
            "[libvirt] of %s: %s",
            option_source(ld, "libvirt", "cpu_model_extra_flags", src, sizeof(src)), why);
    if (tern_streq(mode, "custom") && !models[0])
        return tern_error_set(TERN_ERR_CONFIG,
                              "option \"cpu_mode\" in section [libvirt] of %s is \"custom\" but "
                              "cpu_models is empty: name the CPU models guests may get",
                              option_source(ld, "libvirt", "cpu_mode", src, sizeof(src)));
    if (!tern_streq(mode, "custom") && models[0])
        return tern_error_set(TERN_ERR_CONFIG,
                              "option \"cpu_models\" in section [libvirt] of %s needs cpu_mode "
                              "= custom (cpu_mode is \"%s\")",
                              option_source(ld, "libvirt", "cpu_models", src, sizeof(src)), mode);
    if (flags[0] && tern_streq(effective, "none"))
        return tern_error_set(
            TERN_ERR_CONFIG,
            "option \"cpu_model_extra_flags\" in section [libvirt] of %s needs "
            "cpu_mode host-model, host-passthrough or custom (the cpu_mode in "
            "effect is \"none\")",
            option_source(ld, "libvirt", "cpu_model_extra_flags", src, sizeof(src)));
    return 0;
}

/* finish: expand and check paths, fill computed defaults, once every file is read. The paths
 * are expanded from the raw values of all, then stored, so "$$" never gets expanded twice. */
static conf_t *
finish(conf_loader_t *ld)
{
    char **expanded = tern_calloc(conf_n_options, sizeof(char *));
    char hostname[256];
    char why[256];
    conf_t *cfg = ld->cfg;
    int rc = 0;

    for (size_t i = 0; i < conf_n_options && rc == 0; i++) {
        const conf_option_t *o = &conf_options[i];
        const char *raw;

        if (o->type != CONF_PATH || !(raw = *(char **)field(cfg, o)))
            continue;
        if (!(expanded[i] = expand(ld, raw, 0, why, sizeof(why))))
            rc = set_invalid(o, raw, ld->sources[i], why);
        else if (expanded[i][0] && expanded[i][0] != '/')
            rc = set_invalid(o, raw, ld->sources[i], "not an absolute path");
    }
    for (size_t i = 0; i < conf_n_options; i++) {
        if (expanded[i] && rc == 0) {
            free(*(char **)field(cfg, &conf_options[i]));
            *(char **)field(cfg, &conf_options[i]) = expanded[i];
        } else {
            free(expanded[i]);
        }
    }
    free(expanded);
    if (rc < 0)
        return NULL;

    if (check_cpu_options(ld) < 0)
        return NULL;
    if (tern_str_empty(cfg->host)) {
        if (gethostname(hostname, sizeof(hostname)) < 0)
            tern_strlcpy(hostname, "localhost", sizeof(hostname));
        hostname[sizeof(hostname) - 1] = '\0';
        set_string(&cfg->host, hostname);
    }
    ld->cfg = NULL;
    return cfg;
}

static void
loader_init(conf_loader_t *ld)
{
    char why[256];

    memset(ld, 0, sizeof(*ld));
    ld->cfg = tern_calloc(1, sizeof(*ld->cfg));
    ld->sources = tern_calloc(conf_n_options, sizeof(char *));
    for (size_t i = 0; i < conf_n_options; i++) {
        const conf_option_t *o = &conf_options[i];

        if (o->default_value && set_value(ld->cfg, o, o->default_value, why, sizeof(why)) < 0)
            abort(); /* a bad default is a bug in options.c, caught by the unit tests */
    }
}

static void
loader_clear(conf_loader_t *ld)
{
    conf_free(ld->cfg);
    for (size_t i = 0; i < conf_n_options; i++)
        free(ld->sources[i]);
    free(ld->sources);
    memset(ld, 0, sizeof(*ld));
}

conf_t *
conf_load_data(const char *name, const char *data)
{
    conf_loader_t ld;
    conf_t *cfg = NULL;

    loader_init(&ld);
    if (parse_text(&ld, name, data) == 0)
        cfg = finish(&ld);
    loader_clear(&ld);
    return cfg;
}

conf_t *
conf_load_files(const char *const *files, size_t n_files, const char *config_dir)
{
    conf_loader_t ld;
    conf_t *cfg = NULL;
    int rc = 0;

    loader_init(&ld);
    for (size_t i = 0; i < n_files && rc == 0; i++)
        rc = parse_file(&ld, files[i]);
    if (rc == 0 && config_dir)
        rc = parse_dir(&ld, config_dir);
    if (rc == 0)
        cfg = finish(&ld);
    loader_clear(&ld);
    return cfg;
}

void
conf_free(conf_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < conf_n_options; i++) {
        if (is_string_type(conf_options[i].type))
            free(*(char **)field(cfg, &conf_options[i]));
    }
    free(cfg);
}

char **
conf_list_split(const char *list, size_t *ret_n)
{
    size_t n = 0, cap = 1;
    char **items;

    for (const char *p = list; p && *p; p++)
        cap += *p == ',';
    items = tern_calloc(cap + 1, sizeof(char *));
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");

        items[n++] = tern_strndup(p, len);
        p += len + (p[len] == ',');
    }
    if (ret_n)
        *ret_n = n;
    return items;
}

void
conf_list_free(char **items)
{
    for (size_t i = 0; items && items[i]; i++)
        free(items[i]);
    free(items);
}
