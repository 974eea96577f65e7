/*
 * conf/options.h: the table of options (private to conf/).
 *
 * One row per option; conf.c parses, validates, documents and prints through it alone.
 */
#ifndef TERN_CONF_OPTIONS_H
#define TERN_CONF_OPTIONS_H

#include <stddef.h>

typedef enum {
    CONF_STR,   /* free text */
    CONF_INT,   /* integer in [min, max] */
    CONF_FLOAT, /* number in [min, max] */
    CONF_BOOL,  /* true/false, yes/no, on/off, 1/0 */
    CONF_ENUM,  /* one of choices */
} conf_type_t;

typedef struct conf_option {
    const char *section; /* "DEFAULT", "database", ... */
    const char *name;
    conf_type_t type;
    size_t offset;              /* where the value lives in conf_t */
    const char *default_value;  /* as text; NULL: unset (empty) */
    double min, max;            /* CONF_INT / CONF_FLOAT limits */
    const char *const *choices; /* CONF_ENUM: NULL-terminated */
    int secret;                 /* never shown: masked in messages and dumps */
    const char *help;
} conf_option_t;

extern const conf_option_t conf_options[];
extern const size_t conf_n_options;

/* The sections in the order the sample lists them. */
extern const char *const conf_sections[];

#endif /* TERN_CONF_OPTIONS_H */
