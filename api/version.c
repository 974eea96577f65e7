/*
 * api/version.c: microversion negotiation and the version documents (see version.h).
 */
#include "api/version.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

/* parse_version: "M.N" of decimal digits without a leading zero (but "0" for N), as nova's
 * ^([1-9]\d*)\.([1-9]\d*|0)$; "latest" is 2.80. -1 with INVALID, nova's message. */
static int
parse_version(const char *s, size_t n, api_version_t *ret)
{
    char text[64];
    const char *p;
    long major, minor;
    char *end;

    if (n >= sizeof(text))
        n = sizeof(text) - 1;
    memcpy(text, s, n);
    text[n] = '\0';
    if (strcasecmp(text, "latest") == 0) {
        ret->major = 2;
        ret->minor = API_MAX_MINOR;
        return 0;
    }
    p = text;
    if (!isdigit((unsigned char)p[0]) || p[0] == '0')
        goto invalid;
    major = strtol(p, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]) || (end[1] == '0' && end[2] != '\0'))
        goto invalid;
    p = end + 1;
    minor = strtol(p, &end, 10);
    if (*end != '\0' || major > 1000000 || minor > 1000000)
        goto invalid;
    ret->major = (int)major;
    ret->minor = (int)minor;
    return 0;

invalid:
    return tern_error_set(TERN_ERR_INVALID,
                          "API Version String %s is of invalid format. Must be of format "
                          "MajorNum.MinorNum.",
                          text);
}

/* trimmed: s[0..n) without blanks around it. */
static void
trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* compute_part: the version of "compute" in an OpenStack-API-Version value ("compute 2.60,
 * image 2.1"), or NULL when it names no compute version. */
static const char *
compute_part(const char *header, size_t *ret_n)
{
    const char *item = header;

    while (item && *item) {
        const char *comma = strchr(item, ',');
        size_t n = comma ? (size_t)(comma - item) : strlen(item);
        const char *s = item;

        trim(&s, &n);
        if (n > 8 && strncasecmp(s, "compute", 7) == 0 && isspace((unsigned char)s[7])) {
            s += 8;
            n -= 8;
            trim(&s, &n);
            *ret_n = n;
            return s;
        }
        item = comma ? comma + 1 : NULL;
    }
    return NULL;
}

int
api_version_negotiate(const char *openstack_api_version, const char *nova_api_version,
                      api_version_t *ret)
{
    api_version_t v = {2, 1};
    const char *s = NULL;
    size_t n = 0;

    if (openstack_api_version)
        s = compute_part(openstack_api_version, &n);
    if (!s && nova_api_version) {
        s = nova_api_version;
        n = strlen(s);
        trim(&s, &n);
    }
    if (s && parse_version(s, n, &v) < 0)
        return -1;
    if (v.major != 2 || v.minor < 1 || v.minor > API_MAX_MINOR) {
        char buf[16];

        api_version_format(v, buf);
        return tern_error_set(TERN_ERR_CONFLICT,
                              "Version %s is not supported by the API. Minimum is " API_MIN_VERSION
                              " and maximum is " API_MAX_VERSION ".",
                              buf);
    }
    *ret = v;
    return 0;
}

void
api_version_format(api_version_t v, char buf[16])
{
    snprintf(buf, 16, "%d.%d", v.major, v.minor);
}

int
api_version_ge(api_version_t v, int minor)
{
    return v.major > 2 || (v.major == 2 && v.minor >= minor);
}

/* version_v21: the v2.1 document (links under base). */
static json_t *
version_v21(const char *base)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s+}, {s:s, s:s, s:s}], "
                     "s:[{s:s, s:s}]}",
                     "id", "v2.1", "status", "CURRENT", "version", API_MAX_VERSION, "min_version",
                     API_MIN_VERSION, "updated", "2013-07-23T11:33:21Z", "links", "rel", "self",
                     "href", base, "/v2.1/", "rel", "describedby", "type", "text/html", "href",
                     "http://docs.openstack.org/", "media-types", "base", "application/json",
                     "type", "application/vnd.openstack.compute+json;version=2.1");
}

json_t *
api_version_list(const char *base)
{
    json_t *v = version_v21(base);

    /* GET / lists only the self link of each version, as nova */
    json_array_remove(json_object_get(v, "links"), 1);
    json_object_del(v, "media-types");
    return json_pack("{s:[o]}", "versions", v);
}

json_t *
api_version_show(const char *base)
{
    return json_pack("{s:o}", "version", version_v21(base));
}
