/*
 * api/keystone.h: Keystone token validation for tern-api, as keystonemiddleware's auth_token
 * does it.
 *
 * A user's token is checked with GET AUTH_URL/v3/auth/tokens?nocatalog, X-Auth-Token the
 * service token (obtained with the service user's password, POST AUTH_URL/v3/auth/tokens, kept
 * until shortly before its expires_at and obtained again when Keystone refuses it) and
 * X-Subject-Token the user's. What Keystone answers - user, project, roles, expires_at - is kept
 * for min(expires_at, token_cache_time) and believed meanwhile without asking again, so a
 * revoked token may pass for up to token_cache_time. HTTP through libcurl, one easy handle per
 * request.
 *
 * Threads: an api_keystone_t is used by every request thread at once; one mutex guards the
 * service token and the cache, never held across a request to Keystone.
 * Ownership: api_keystone_new copies the configuration; identities are the caller's
 * (api_identity_clear).
 */
#ifndef TERN_API_KEYSTONE_H
#define TERN_API_KEYSTONE_H

#include <jansson.h>
#include <stdint.h>

typedef struct api_keystone_config {
    const char *auth_url;            /* http://host:5000/v3 (or without the /v3) */
    const char *username;            /* the service user */
    const char *password;            /* secret */
    const char *project_name;        /* the service token's project */
    const char *user_domain_name;    /* "Default" */
    const char *project_domain_name; /* "Default" */
    int cache_time_s;                /* token_cache_time; 0: ask every time */
    int connect_timeout_s;           /* connection to Keystone */
    int timeout_s;                   /* one request to Keystone, whole */
} api_keystone_config_t;

/* Who a valid token speaks for. Strings and roles owned. */
typedef struct api_identity {
    char *user_id;
    char *user_name;
    char *project_id; /* NULL: not project-scoped */
    char *project_name;
    json_t *roles;      /* array of role names (strings) */
    int64_t expires_ms; /* the token's expires_at, realtime ms */
} api_identity_t;

typedef struct api_keystone api_keystone_t;

/* A validator for cfg (strings copied). Calls curl_global_init: before any thread starts. */
api_keystone_t *api_keystone_new(const api_keystone_config_t *cfg);
void api_keystone_free(api_keystone_t *ks);

/* Validate token: 0 and *ret_identity (clear it) when Keystone says it is valid, from the cache
 * or freshly; -1 with PERMISSION when it is not (missing, malformed, unknown, revoked,
 * expired), or with UNAVAILABLE when Keystone could not be asked (unreachable, the service
 * user refused, an answer that makes no sense) - *ret_identity untouched on failure. */
int api_keystone_validate(api_keystone_t *ks, const char *token, api_identity_t *ret_identity);

/* How many times Keystone was asked to validate a user's token (tests: the cache works). */
uint64_t api_keystone_validations(api_keystone_t *ks);

void api_identity_clear(api_identity_t *id);

#endif /* TERN_API_KEYSTONE_H */
