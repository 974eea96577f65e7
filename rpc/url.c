/*
 * rpc/url.c: transport URLs, oslo.messaging style.
 *
 *   rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost   (amqp:// the same)
 *   amqps://user:pass@host:5671/                               (TLS)
 *
 * Percent-escapes in user, password and vhost are decoded; an empty path or "/" is vhost "/".
 * Owns the strings of rpc_url_t (rpc_url_clear).
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

static int
hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* unescape: percent-decode s[0..n) into a new string; NULL on a bad escape. */
static char *
unescape(const char *s, size_t n)
{
    char *out = tern_malloc(n + 1);
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[j++] = s[i];
            continue;
        }
        if (i + 2 >= n || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
            free(out);
            return NULL;
        }
        out[j++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
        i += 2;
    }
    out[j] = '\0';
    return out;
}

static int
parse_host(const char *s, size_t n, bool tls, rpc_url_host_t *h)
{
    const char *at = memrchr(s, '@', n);
    const char *hp = at ? at + 1 : s;
    size_t hn = n - (size_t)(hp - s);
    const char *colon = memrchr(hp, ':', hn);
    int64_t port = tls ? 5671 : 5672;

    if (at) {
        const char *c = memchr(s, ':', (size_t)(at - s));

        h->user = unescape(s, c ? (size_t)(c - s) : (size_t)(at - s));
        h->password = c ? unescape(c + 1, (size_t)(at - c - 1)) : tern_strdup("");
        if (!h->user || !h->password)
            return tern_error_set(TERN_ERR_INVALID, "invalid transport URL: bad %% escape in "
                                                    "the credentials");
    } else {
        h->user = tern_strdup("guest");
        h->password = tern_strdup("guest");
    }
    if (colon) {
        TERN_AUTOFREE char *p = tern_strndup(colon + 1, hn - (size_t)(colon - hp) - 1);

        if (tern_parse_int64(p, "port", &port) < 0 || port < 1 || port > 65535)
            return tern_error_set(TERN_ERR_INVALID, "invalid transport URL: bad port \"%s\"", p);
        hn = (size_t)(colon - hp);
    }
    if (hn == 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid transport URL: a host name is missing");
    h->host = tern_strndup(hp, hn);
    h->port = (int)port;
    return 0;
}

int
rpc_url_parse(const char *text, rpc_url_t *ret)
{
    const char *p, *end, *slash;

    memset(ret, 0, sizeof(*ret));
    if (!text)
        return tern_error_set(TERN_ERR_INVALID, "invalid transport URL: none given");
    if (strncmp(text, "rabbit://", 9) == 0 || strncmp(text, "amqp://", 7) == 0) {
        p = strstr(text, "://") + 3;
    } else if (strncmp(text, "amqps://", 8) == 0) {
        ret->tls = true;
        p = text + 8;
    } else {
        return tern_error_set(TERN_ERR_INVALID, "invalid transport URL: expected rabbit://, "
                                                "amqp:// or amqps://");
    }
    slash = strchr(p, '/');
    end = slash ? slash : p + strlen(p);
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *seg_end = comma ? comma : end;

        if (ret->n_hosts == RPC_MAX_HOSTS) {
            rpc_url_clear(ret);
            return tern_error_set(TERN_ERR_INVALID, "invalid transport URL: more than %d hosts",
                                  RPC_MAX_HOSTS);
        }
        if (parse_host(p, (size_t)(seg_end - p), ret->tls, &ret->hosts[ret->n_hosts++]) < 0) {
            rpc_url_clear(ret);
            return -1;
        }
        p = comma ? comma + 1 : end;
    }
    if (ret->n_hosts == 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid transport URL: no host");
    if (!slash || slash[1] == '\0' || strchr(slash + 1, '?') == slash + 1) {
        ret->vhost = tern_strdup("/");
    } else {
        size_t n = strcspn(slash + 1, "?");

        if (!(ret->vhost = unescape(slash + 1, n))) {
            rpc_url_clear(ret);
            return tern_error_set(TERN_ERR_INVALID, "invalid transport URL: bad %% escape in the "
                                                    "virtual host");
        }
    }
    return 0;
}

void
rpc_url_clear(rpc_url_t *url)
{
    if (!url)
        return;
    for (size_t i = 0; i < url->n_hosts; i++) {
        free(url->hosts[i].user);
        free(url->hosts[i].password);
        free(url->hosts[i].host);
    }
    free(url->vhost);
    memset(url, 0, sizeof(*url));
}
