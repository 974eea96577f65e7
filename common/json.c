/*
 * common/json.c: jansson with tern's out-of-memory policy (common/json.h).
 */
#include "common/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

static void *
json_alloc(size_t size)
{
    return tern_malloc(size ? size : 1);
}

void
tern_json_init(void)
{
    json_set_alloc_funcs(json_alloc, free);
}

json_t *
tern_json_pack(const char *fmt, ...)
{
    json_error_t jerr;
    json_t *value;
    va_list ap;

    va_start(ap, fmt);
    value = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    if (!value) {
        fprintf(stderr, "tern: json_pack(\"%s\") failed: %s (a bug: the arguments do not match)\n",
                fmt, jerr.text);
        abort();
    }
    return value;
}
