/*
 * compute/json_check.c: naming the key of a failed strict unpack (compute/json_check.h).
 */
#include "compute/json_check.h"

#include <stdbool.h>

#include "common/error.h"

static const char *
type_name(json_type t)
{
    switch (t) {
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true or false";
    case JSON_ARRAY:
        return "an array";
    case JSON_OBJECT:
        return "an object";
    case JSON_NULL:
        return "a string or null";
    default:
        return "another type";
    }
}

/* matches: whether v is of the field's type. */
static bool
matches(const json_t *v, json_type want)
{
    switch (want) {
    case JSON_TRUE:
        return json_is_boolean(v);
    case JSON_NULL:
        return json_is_string(v) || json_is_null(v);
    default:
        return json_typeof(v) == want;
    }
}

int
compute_json_check(const json_t *obj, const char *what, const compute_json_field_t *fields,
                   size_t n_fields, const json_error_t *jerr)
{
    if (!json_is_object(obj))
        return tern_error_set(TERN_ERR_INVALID, "invalid %s: expected an object", what);
    for (size_t i = 0; i < n_fields; i++) {
        const json_t *v = json_object_get(obj, fields[i].key);

        if (v && !matches(v, fields[i].type))
            return tern_error_set(TERN_ERR_INVALID, "invalid %s: field \"%s\": expected %s", what,
                                  fields[i].key, type_name(fields[i].type));
    }
    if (jerr)
        return tern_error_set(TERN_ERR_INVALID, "invalid %s: %s", what, jerr->text);
    return 0;
}
