/*
 * conf/doc.c: everything written from the options table: the sample file, --help, and the
 * effective configuration with its secrets masked.
 *
 * The sample's text is pinned by tests/conf (it must equal etc/tern.conf.sample byte for byte),
 * so any change here or in a help text means `make update-sample`.
 */
#include "conf/conf.h"

#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "conf/options.h"

#define DOC_WIDTH 79

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
    case CONF_PATH:
        return "path value";
    case CONF_URL:
        return "URL value";
    case CONF_LIST:
        return "list value";
    }
    return "value";
}

/* write_line_wrapped: one line of text wrapped at DOC_WIDTH; continuation lines get indent. */
static void
write_line_wrapped(FILE *out, const char *prefix, const char *text, size_t len, size_t indent)
{
    size_t plen = strlen(prefix), col;
    const char *p = text, *end = text + len;

    fputs(prefix, out);
    col = plen;
    while (p < end) {
        size_t wlen = strcspn(p, " ");

        if (p + wlen > end)
            wlen = (size_t)(end - p);
        if (col > plen && col + 1 + wlen > DOC_WIDTH) {
            fprintf(out, "\n%s%*s", prefix, (int)indent, "");
            col = plen + indent;
        } else if (col > plen) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, wlen, out);
        col += wlen;
        p += wlen;
        while (p < end && *p == ' ')
            p++;
    }
    fputc('\n', out);
}

/* write_wrapped: text of several lines ("\n\n" between paragraphs, "* " list items), each
 * output line starting with prefix; an empty line becomes the prefix without trailing space. */
static void
write_wrapped(FILE *out, const char *prefix, const char *text)
{
    const char *p = text;

    for (;;) {
        size_t len = strcspn(p, "\n");

        if (len == 0) {
            size_t plen = strlen(prefix);

            while (plen > 0 && prefix[plen - 1] == ' ')
                plen--;
            fprintf(out, "%.*s\n", (int)plen, prefix);
        } else {
            write_line_wrapped(out, prefix, p, len, strncmp(p, "* ", 2) == 0 ? 2 : 0);
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
}

static void
write_limits(FILE *out, const char *prefix, const conf_option_t *o)
{
    if (o->has_min)
        fprintf(out, "%sMinimum value: %g\n", prefix, o->min);
    if (o->has_max)
        fprintf(out, "%sMaximum value: %g\n", prefix, o->max);
    if (o->type == CONF_ENUM) {
        fprintf(out, "%sPossible values:", prefix);
        for (size_t k = 0; o->choices[k]; k++)
            fprintf(out, "%s \"%s\"", k ? "," : "", o->choices[k]);
        fputc('\n', out);
    }
}

static const char *
default_text(const conf_option_t *o)
{
    if (o->default_doc)
        return o->default_doc;
    return o->default_value ? o->default_value : "";
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
            const char *def = default_text(o);

            if (strcmp(o->section, conf_sections[s]) != 0)
                continue;
            fputs("\n", out);
            write_wrapped(out, "# ", o->help);
            fprintf(out, "#\n# Type: %s%s\n", type_name(o), o->secret ? " (secret)" : "");
            write_limits(out, "# ", o);
            fprintf(out, "#%s =%s%s\n", o->name, def[0] ? " " : "", def);
        }
    }
}

void
conf_write_help(FILE *out)
{
    for (size_t i = 0; i < conf_n_options; i++) {
        const conf_option_t *o = &conf_options[i];

        fprintf(out, "  [%s] %s (%s%s, default \"%s\")\n", o->section, o->name, type_name(o),
                o->secret ? ", secret" : "", default_text(o));
        write_limits(out, "      ", o);
        write_wrapped(out, "      ", o->help);
        fputc('\n', out);
    }
}

void
conf_write_usage(FILE *out, const char *program, const char *extra_usage)
{
    fprintf(out,
            "usage: %s [--config-file FILE]... [--config-dir DIR]%s%s\n\n"
            "  --config-file FILE  read FILE (repeatable; later files override earlier)\n"
            "  --config-dir DIR    then read DIR/*.conf in name order\n"
            "  --help              show this help and exit\n"
            "  --version           show the version and exit\n\n"
            "Without --config-file and --config-dir, " CONF_DEFAULT_FILE
            " is read when it exists.\n\nOptions of the configuration files:\n\n",
            program, extra_usage ? " " : "", extra_usage ? extra_usage : "");
    conf_write_help(out);
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
        case CONF_ENUM:
        case CONF_PATH:
        case CONF_URL:
        case CONF_LIST: {
            const char *v = *(char *const *)f;
            TERN_AUTOFREE char *shown = NULL;

            if (o->secret && !tern_str_empty(v))
                shown = o->type == CONF_URL ? tern_log_mask_url(v) : tern_strdup("***");
            else
                shown = tern_strdup(v ? v : "");
            fprintf(out, "%s =%s%s\n", o->name, shown[0] ? " " : "", shown);
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
