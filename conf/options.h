/*
 * conf/options.h: the table of options (private to conf/).
 *
 * One row per option; conf.c parses and validates, doc.c documents and prints, through it alone.
 * Rows live in conf/options.c; each names the conf_t field its value fills (offsetof), so adding
 * an option is one row there plus one field in conf/conf.h.
 */
#ifndef TERN_CONF_OPTIONS_H
#define TERN_CONF_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CONF_STR,   /* free text (char *) */
    CONF_INT,   /* integer (int), optionally bounded by min/max */
    CONF_FLOAT, /* number (double), optionally bounded by min/max */
    CONF_BOOL,  /* true/false, yes/no, on/off, 1/0 (bool) */
    CONF_ENUM,  /* one of choices (char *, the chosen string) */
    CONF_PATH,  /* absolute path or empty (char *); $state_path-style references expanded */
    CONF_URL,   /* scheme://... or empty (char *); with secret, masked by tern_log_mask_url */
    CONF_LIST,  /* comma-separated items (char *, stored as "a,b,c": blanks around items
                 * removed, an empty item refused); split with conf_list_split() */
} conf_type_t;

typedef struct conf_option {
    const char *section; /* "DEFAULT", "database", ... (one of conf_sections) */
    const char *name;    /* the key in that section */
    conf_type_t type;
    size_t offset;              /* where the value lives in conf_t */
    const char *default_value;  /* as text, parsed like a file's; NULL: unset (empty string) */
    const char *default_doc;    /* shown instead of default_value when computed at load time */
    double min, max;            /* CONF_INT / CONF_FLOAT limits, when has_min / has_max */
    bool has_min, has_max;      /* the limits that apply */
    const char *const *choices; /* CONF_ENUM: NULL-terminated */
    bool secret;                /* value never shown: masked in messages and dumps */
    const char *help;           /* paragraphs separated by "\n\n"; "\n* " starts a list item */
} conf_option_t;

extern const conf_option_t conf_options[];
extern const size_t conf_n_options;

/* The sections in the order the sample lists them, NULL-terminated. */
extern const char *const conf_sections[];

#endif /* TERN_CONF_OPTIONS_H */
