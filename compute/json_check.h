/*
 * compute/json_check.h: naming the key of a strict json_unpack_ex() that failed.
 *
 * jansson names a missing key ("Object item not found: uuid") and an unknown one ("1 object
 * item(s) left unpacked: colour") but not a key of the wrong type ("Expected integer, got
 * string"). Given the object's keys and their types, compute_json_unpack_error() finds that key
 * and says so. Every handler of the compute parses its arguments with json_unpack_ex(...,
 * JSON_STRICT, ...) and checks its result through it. Inputs are borrowed.
 */
#ifndef TERN_COMPUTE_JSON_CHECK_H
#define TERN_COMPUTE_JSON_CHECK_H

#include <jansson.h>
#include <stddef.h>

typedef struct compute_json_field {
    const char *key;
    json_type type; /* JSON_TRUE stands for either boolean; JSON_NULL: a string or null */
} compute_json_field_t;

/* -1 with an INVALID error "invalid <what>: field "<key>": expected <type>" for the first key
 * of fields present in obj with another type (obj not an object: "expected an object"); else,
 * when jerr is given (the unpack failed), -1 with "invalid <what>: <jansson's text>"; else 0.
 * Called when a strict unpack failed (jerr), and after one that succeeded for the keys it took
 * with "o" (jerr NULL). */
int compute_json_check(const json_t *obj, const char *what, const compute_json_field_t *fields,
                       size_t n_fields, const json_error_t *jerr);

#define COMPUTE_JSON_FIELDS(table) (table), (sizeof(table) / sizeof((table)[0]))

#endif /* TERN_COMPUTE_JSON_CHECK_H */
