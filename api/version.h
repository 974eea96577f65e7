/*
 * api/version.h: the Compute API's versions - microversion negotiation as nova does it
 * (nova/api/openstack/api_version_request.py) and the version documents of GET / and GET /v2.1.
 *
 * Pure functions, no state: unit-tested without a server.
 */
#ifndef TERN_API_VERSION_H
#define TERN_API_VERSION_H

#include <jansson.h>

#define API_MIN_VERSION "2.1"
#define API_MAX_VERSION "2.80"
#define API_MAX_MINOR 80

/* A microversion 2.minor (tern serves major 2 only). */
typedef struct api_version {
    int major, minor;
} api_version_t;

/* The version a request asks for, from its headers (either may be NULL): "OpenStack-API-Version"
 * ("compute 2.60", possibly in a comma-separated list of services) wins over
 * "X-OpenStack-Nova-API-Version" ("2.60"); neither: 2.1; "latest": 2.80. 0 and *ret; -1 with
 * INVALID ("API Version String x is of invalid format. Must be of format MajorNum.MinorNum.",
 * nova's 400) or with CONFLICT for a well-formed version out of 2.1..2.80 ("Version 3.0 is not
 * supported by the API. Minimum is 2.1 and maximum is 2.80.", nova's 406). */
int api_version_negotiate(const char *openstack_api_version, const char *nova_api_version,
                          api_version_t *ret);

/* The version as text, "2.60", into buf. */
void api_version_format(api_version_t v, char buf[16]);

/* Whether v is at least 2.minor. */
int api_version_ge(api_version_t v, int minor);

/* The version documents, links under base ("http://host:port", no trailing slash); new
 * references. GET / : {"versions": [...]}; GET /v2.1 : {"version": {...}}. */
json_t *api_version_list(const char *base);
json_t *api_version_show(const char *base);

#endif /* TERN_API_VERSION_H */
