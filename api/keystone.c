/*
 * api/keystone.c: Keystone token validation and its cache (see keystone.h).
 *
 * Owns: the service token and its expiry, the cache of validated tokens (a hash table of
 * KEYSTONE_BUCKETS chains, at most KEYSTONE_MAX_CACHED entries: when full, the expired ones go,
 * then all of them), a counter of validations asked. All guarded by ks->lock.
 */
#include "api/keystone.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/util.h"

#define KEYSTONE_BUCKETS 1024
#define KEYSTONE_MAX_CACHED 8192
#define KEYSTONE_MAX_ANSWER (1024 * 1024)      /* a token validation without catalog is ~2 KiB */
#define KEYSTONE_MAX_TOKEN 8192                /* fernet tokens are ~200 bytes */
#define KEYSTONE_SERVICE_TOKEN_MARGIN_MS 60000 /* renewed this long before it expires */

typedef struct cached {
    struct cached *next;
    char *token;
    api_identity_t identity;
    int64_t until_ms; /* believed until then (realtime) */
} cached_t;

struct api_keystone {
    char *auth_url; /* without a trailing "/" nor "/v3" */
    char *username, *password, *project_name, *user_domain_name, *project_domain_name;
    int cache_time_s, connect_timeout_s, timeout_s;
    pthread_mutex_t lock;
    char *service_token;                 /* guarded by lock; NULL: none yet */
    int64_t service_token_until_ms;      /* guarded by lock */
    cached_t *buckets[KEYSTONE_BUCKETS]; /* guarded by lock */
    size_t n_cached;                     /* guarded by lock */
    uint64_t validations;                /* guarded by lock */
};

void
api_identity_clear(api_identity_t *id)
{
    if (!id)
        return;
    free(id->user_id);
    free(id->user_name);
    free(id->project_id);
    free(id->project_name);
    json_decref(id->roles);
    memset(id, 0, sizeof(*id));
}

static void
identity_copy(const api_identity_t *in, api_identity_t *out)
{
    out->user_id = tern_strdup(in->user_id);
    out->user_name = tern_strdup(in->user_name);
    out->project_id = tern_strdup(in->project_id);
    out->project_name = tern_strdup(in->project_name);
    out->roles = json_deep_copy(in->roles);
    out->expires_ms = in->expires_ms;
}

api_keystone_t *
api_keystone_new(const api_keystone_config_t *cfg)
{
    api_keystone_t *ks;
    size_t n;

    if (tern_str_empty(cfg->auth_url)) {
        tern_error_set(TERN_ERR_CONFIG, "[keystone_authtoken] auth_url is not set");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        tern_error_set(TERN_ERR_INTERNAL, "could not initialise libcurl");
        return NULL;
    }
    ks = tern_calloc(1, sizeof(*ks));
    ks->auth_url = tern_strdup(cfg->auth_url);
    n = strlen(ks->auth_url);
    while (n > 0 && ks->auth_url[n - 1] == '/')
        ks->auth_url[--n] = '\0';
    if (n >= 3 && strcmp(ks->auth_url + n - 3, "/v3") == 0)
        ks->auth_url[n - 3] = '\0';
    ks->username = tern_strdup(cfg->username ? cfg->username : "");
    ks->password = tern_strdup(cfg->password ? cfg->password : "");
    ks->project_name = tern_strdup(cfg->project_name ? cfg->project_name : "");
    ks->user_domain_name = tern_strdup(cfg->user_domain_name ? cfg->user_domain_name : "Default");
    ks->project_domain_name =
        tern_strdup(cfg->project_domain_name ? cfg->project_domain_name : "Default");
    ks->cache_time_s = cfg->cache_time_s;
    ks->connect_timeout_s = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 5;
    ks->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 30;
    pthread_mutex_init(&ks->lock, NULL);
    return ks;
}

void
api_keystone_free(api_keystone_t *ks)
{
    if (!ks)
        return;
    for (size_t b = 0; b < KEYSTONE_BUCKETS; b++) {
        cached_t *c = ks->buckets[b], *next;

        for (; c; c = next) {
            next = c->next;
            free(c->token);
            api_identity_clear(&c->identity);
            free(c);
        }
    }
    free(ks->service_token);
    free(ks->auth_url);
    free(ks->username);
    free(ks->password);
    free(ks->project_name);
    free(ks->user_domain_name);
    free(ks->project_domain_name);
    pthread_mutex_destroy(&ks->lock);
    free(ks);
    curl_global_cleanup();
}

uint64_t
api_keystone_validations(api_keystone_t *ks)
{
    uint64_t n;

    pthread_mutex_lock(&ks->lock);
    n = ks->validations;
    pthread_mutex_unlock(&ks->lock);
    return n;
}

/* ---- HTTP ---- */

/* What one request to Keystone brought back. */
typedef struct answer {
    long status;
    char *body; /* NUL-terminated; NULL when empty */
    size_t len;
    bool too_big;
    char *subject_token; /* the X-Subject-Token header, or NULL */
} answer_t;

static void
answer_clear(answer_t *a)
{
    free(a->body);
    free(a->subject_token);
    memset(a, 0, sizeof(*a));
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
    answer_t *a = opaque;
    size_t n = size * nmemb;

    if (a->len + n > KEYSTONE_MAX_ANSWER) {
        a->too_big = true;
        return 0; /* curl stops: CURLE_WRITE_ERROR */
    }
    a->body = tern_realloc(a->body, a->len + n + 1);
    memcpy(a->body + a->len, data, n);
    a->len += n;
    a->body[a->len] = '\0';
    return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *opaque)
{
    static const char name[] = "x-subject-token:";
    answer_t *a = opaque;
    size_t n = size * nmemb, skip = sizeof(name) - 1;

    if (n > skip && strncasecmp(data, name, skip) == 0 && !a->subject_token) {
        while (skip < n && (data[skip] == ' ' || data[skip] == '\t'))
            skip++;
        while (n > skip && (data[n - 1] == '\r' || data[n - 1] == '\n' || data[n - 1] == ' '))
            n--;
        a->subject_token = tern_strndup(data + skip, n - skip);
    }
    return size * nmemb;
}

/* keystone_request: method (GET or POST with body) AUTH_URL/v3/auth/tokens[?nocatalog] with the
 * headers given (NULL-terminated, "Name: value"). 0 with *ret (any status), or -1 with
 * UNAVAILABLE when no answer came. */
static int
keystone_request(api_keystone_t *ks, const char *body, const char *const *headers, answer_t *ret)
{
    TERN_AUTOFREE char *url =
        tern_asprintf("%s/v3/auth/tokens%s", ks->auth_url, body ? "" : "?nocatalog");
    struct curl_slist *list = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *curl = curl_easy_init();
    CURLcode rc;

    memset(ret, 0, sizeof(*ret));
    if (!curl)
        return tern_error_set(TERN_ERR_INTERNAL, "could not make a libcurl handle");
    for (size_t i = 0; headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    list = curl_slist_append(list, "Accept: application/json");
    if (body)
        list = curl_slist_append(list, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for name look-ups */
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)ks->connect_timeout_s);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)ks->timeout_s);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, ret);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, ret);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ret->status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        bool too_big = ret->too_big;

        answer_clear(ret);
        return tern_error_set(TERN_ERR_UNAVAILABLE, "could not reach keystone at \"%s\": %s", url,
                              too_big     ? "answer over 1 MiB"
                              : errbuf[0] ? errbuf
                                          : curl_easy_strerror(rc));
    }
    return 0;
}

/* parse_time: Keystone's "2024-05-01T12:00:00.000000Z" as realtime ms, or -1. */
static int64_t
parse_time(const char *s)
{
    struct tm tm = {0};
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

    if (!rest)
        return -1;
    return (int64_t)timegm(&tm) * 1000;
}

/* parse_token: the "token" of a Keystone answer into *ret. -1 with UNAVAILABLE when it is not
 * one. */
static int
parse_token(const char *body, api_identity_t *ret)
{
    json_error_t jerr;
    json_t *root = json_loads(body ? body : "", 0, &jerr), *roles = NULL, *r;
    const char *user_id = NULL, *user_name = NULL, *project_id = NULL, *project_name = NULL;
    const char *expires = NULL;
    size_t i;

    if (!root ||
        json_unpack_ex(root, &jerr, 0, "{s:{s:{s:s, s?s}, s?{s?s, s?s}, s?o, s:s}}", "token",
                       "user", "id", &user_id, "name", &user_name, "project", "id", &project_id,
                       "name", &project_name, "roles", &roles, "expires_at", &expires) < 0) {
        json_decref(root);
        return tern_error_set(TERN_ERR_UNAVAILABLE, "keystone's token is not one: %s", jerr.text);
    }
    memset(ret, 0, sizeof(*ret));
    ret->roles = json_array();
    json_array_foreach(roles, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));

        if (name)
            json_array_append_new(ret->roles, json_string(name));
    }
    ret->user_id = tern_strdup(user_id);
    ret->user_name = tern_strdup(user_name);
    ret->project_id = tern_strdup(project_id);
    ret->project_name = tern_strdup(project_name);
    ret->expires_ms = parse_time(expires);
    json_decref(root);
    if (ret->expires_ms < 0) {
        api_identity_clear(ret);
        return tern_error_set(TERN_ERR_UNAVAILABLE,
                              "keystone's token expires at \"%s\": not a "
                              "time",
                              expires);
    }
    return 0;
}

/* service_token: a new copy of the service token, obtained when there is none valid (fresh:
 * obtain one whatever is kept, after Keystone refused it). NULL with UNAVAILABLE. */
static char *
service_token(api_keystone_t *ks, bool fresh)
{
    const char *const headers[] = {NULL};
    api_identity_t id = {0};
    answer_t a;
    json_t *req;
    char *body, *token;

    pthread_mutex_lock(&ks->lock);
    if (!fresh && ks->service_token && tern_now_realtime_ms() < ks->service_token_until_ms) {
        token = tern_strdup(ks->service_token);
        pthread_mutex_unlock(&ks->lock);
        return token;
    }
    pthread_mutex_unlock(&ks->lock);
    req = json_pack("{s:{s:{s:[s], s:{s:{s:s, s:{s:s}, s:s}}}, s:{s:{s:s, s:{s:s}}}}}", "auth",
                    "identity", "methods", "password", "password", "user", "name", ks->username,
                    "domain", "name", ks->user_domain_name, "password", ks->password, "scope",
                    "project", "name", ks->project_name, "domain", "name", ks->project_domain_name);
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (keystone_request(ks, body, headers, &a) < 0) {
        free(body);
        return NULL;
    }
    free(body);
    if (a.status != 201 || !a.subject_token || parse_token(a.body, &id) < 0) {
        tern_error_set(TERN_ERR_UNAVAILABLE,
                       "could not obtain tern-api's service token for user \"%s\" of project "
                       "\"%s\" from keystone at \"%s\": HTTP %ld",
                       ks->username, ks->project_name, ks->auth_url, a.status);
        answer_clear(&a);
        return NULL;
    }
    token = tern_strdup(a.subject_token);
    pthread_mutex_lock(&ks->lock);
    free(ks->service_token);
    ks->service_token = tern_strdup(token);
    ks->service_token_until_ms = id.expires_ms - KEYSTONE_SERVICE_TOKEN_MARGIN_MS;
    pthread_mutex_unlock(&ks->lock);
    api_identity_clear(&id);
    answer_clear(&a);
    return token;
}

/* ---- the cache ---- */

static size_t
bucket_of(const char *token)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)token; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h % KEYSTONE_BUCKETS);
}

/* cache_find: copy the identity cached for token, if still believed (ks->lock held). */
static bool
cache_find(api_keystone_t *ks, const char *token, int64_t now_ms, api_identity_t *ret)
{
    for (cached_t *c = ks->buckets[bucket_of(token)]; c; c = c->next) {
        if (strcmp(c->token, token) == 0 && now_ms < c->until_ms) {
            identity_copy(&c->identity, ret);
            return true;
        }
    }
    return false;
}

/* cache_evict: drop the entries no longer believed, or all when none is (ks->lock held). */
static void
cache_evict(api_keystone_t *ks, int64_t now_ms, bool all)
{
    for (size_t b = 0; b < KEYSTONE_BUCKETS; b++) {
        cached_t **pp = &ks->buckets[b];

        while (*pp) {
            cached_t *c = *pp;

            if (all || now_ms >= c->until_ms) {
                *pp = c->next;
                free(c->token);
                api_identity_clear(&c->identity);
                free(c);
                ks->n_cached--;
            } else {
                pp = &c->next;
            }
        }
    }
}

static void
cache_put(api_keystone_t *ks, const char *token, const api_identity_t *id, int64_t now_ms)
{
    int64_t until = now_ms + (int64_t)ks->cache_time_s * 1000;
    cached_t *c;
    size_t b = bucket_of(token);

    if (ks->cache_time_s <= 0)
        return;
    if (id->expires_ms < until)
        until = id->expires_ms;
    pthread_mutex_lock(&ks->lock);
    if (ks->n_cached >= KEYSTONE_MAX_CACHED)
        cache_evict(ks, now_ms, false);
    if (ks->n_cached >= KEYSTONE_MAX_CACHED)
        cache_evict(ks, now_ms, true);
    for (c = ks->buckets[b]; c; c = c->next)
        if (strcmp(c->token, token) == 0)
            break;
    if (!c) {
        c = tern_calloc(1, sizeof(*c));
        c->token = tern_strdup(token);
        c->next = ks->buckets[b];
        ks->buckets[b] = c;
        ks->n_cached++;
    } else {
        api_identity_clear(&c->identity);
    }
    identity_copy(id, &c->identity);
    c->until_ms = until;
    pthread_mutex_unlock(&ks->lock);
}

/* ---- validation ---- */

/* token_ok: a token as a header value may carry it - 1..8192 visible ASCII characters. */
static bool
token_ok(const char *token)
{
    size_t n = token ? strlen(token) : 0;

    if (n == 0 || n > KEYSTONE_MAX_TOKEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (token[i] <= ' ' || token[i] > '~')
            return false;
    return true;
}

int
api_keystone_validate(api_keystone_t *ks, const char *token, api_identity_t *ret_identity)
{
    int64_t now = tern_now_realtime_ms();
    api_identity_t id = {0};
    answer_t a = {0};
    bool found;

    if (!token_ok(token))
        return tern_error_set(TERN_ERR_PERMISSION, "%s", token ? "malformed token" : "no token");
    pthread_mutex_lock(&ks->lock);
    found = cache_find(ks, token, now, ret_identity);
    pthread_mutex_unlock(&ks->lock);
    if (found)
        return 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        TERN_AUTOFREE char *service = service_token(ks, attempt > 0);
        TERN_AUTOFREE char *auth = NULL, *subject = NULL;
        const char *headers[3];

        if (!service)
            return -1;
        auth = tern_asprintf("X-Auth-Token: %s", service);
        subject = tern_asprintf("X-Subject-Token: %s", token);
        headers[0] = auth;
        headers[1] = subject;
        headers[2] = NULL;
        pthread_mutex_lock(&ks->lock);
        ks->validations++;
        pthread_mutex_unlock(&ks->lock);
        if (keystone_request(ks, NULL, headers, &a) < 0)
            return -1;
        if (a.status != 401)
            break;
        answer_clear(&a); /* the service token was refused: once more with a new one */
    }
    if (a.status == 404 || a.status == 401) {
        answer_clear(&a);
        return tern_error_set(TERN_ERR_PERMISSION, "token not valid");
    }
    if (a.status != 200 || parse_token(a.body, &id) < 0) {
        tern_error_set(TERN_ERR_UNAVAILABLE,
                       "could not validate a token with keystone at \"%s\": "
                       "HTTP %ld",
                       ks->auth_url, a.status);
        answer_clear(&a);
        return -1;
    }
    answer_clear(&a);
    if (id.expires_ms <= now) {
        api_identity_clear(&id);
        return tern_error_set(TERN_ERR_PERMISSION, "token expired");
    }
    cache_put(ks, token, &id, now);
    *ret_identity = id;
    return 0;
}
