/*
 * common/json.h: jansson the way tern uses it.
 *
 * tern's out-of-memory policy is to abort (tern_malloc): tern_json_init() makes jansson
 * allocate the same way, so that no JSON call fails for want of memory. What can still make
 * json_pack fail is a bug of its caller - a format that does not match the arguments, a NULL
 * string where the format wants one - and tern_json_pack() aborts on it, naming the format and
 * jansson's reason, instead of handing a NULL on to code that would crash later or send less.
 */
#ifndef TERN_COMMON_JSON_H
#define TERN_COMMON_JSON_H

#include <jansson.h>

/* Make jansson allocate with tern_malloc (abort on out of memory). Call first in main(). */
void tern_json_init(void);

/* json_pack(fmt, ...): a new reference, never NULL (a failure aborts, see above). */
json_t *tern_json_pack(const char *fmt, ...);

#endif /* TERN_COMMON_JSON_H */
