/*
 * api/main.c: tern-api start-up - configuration ([api], [keystone_authtoken], the transport),
 * logging, signals, the conductor's RPC client, the Keystone validator, the HTTP server; then
 * every report_interval the RPC counters that rose.
 *
 * Usage: tern-api [--config-file FILE]... [--config-dir DIR]
 * Runs in the foreground until SIGTERM or SIGINT. Refuses to start when [keystone_authtoken]
 * auth_url is unset, or when its broker identity is not "tern-api": the conductor trusts the
 * identities tern-api asserts only from that user (conductor/policy.h), and under any other
 * user every Keystone user would act as that user. Exit status: 0 after a clean stop, 1 when
 * it could not start.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/error.h"
#include "common/identity.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/conf.h"
#include "conf/daemon.h"

/* transport_user: the user of a transport URL's first host ("guest" when it names none), new. */
static char *
transport_user(const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL, *at, *end;

    if (!p)
        return tern_strdup("guest");
    p += 3;
    end = p + strcspn(p, "/,");
    at = memchr(p, '@', (size_t)(end - p));
    if (!at)
        return tern_strdup("guest");
    return tern_strndup(p, strcspn(p, ":@"));
}

/* check_identity: -1 with a CONFIG error when tern-api would speak to the conductor as another
 * user than TERN_API_USER. */
static int
check_identity(const conf_t *cfg)
{
    TERN_AUTOFREE char *user = transport_user(cfg->transport_url);

    if (tern_streq(user, TERN_API_USER))
        return 0;
    return tern_error_set(
        TERN_ERR_CONFIG,
        "transport_url's user is \"%s\", not \"" TERN_API_USER
        "\": the conductor takes the users tern-api asserts only from \"" TERN_API_USER
        "\", and would take every request as \"%s\"'s own",
        user, user);
}

static void
api_config_from_conf(const conf_t *cfg, api_config_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->listen = cfg->api.listen;
    ret->port = cfg->api.port;
    ret->workers = cfg->api.workers;
    ret->max_connections = cfg->api.max_connections;
    ret->max_body_bytes = (size_t)cfg->api.max_body_bytes;
    ret->max_header_bytes = (size_t)cfg->api.max_header_bytes;
    ret->request_timeout_s = cfg->api.request_timeout;
    ret->www_authenticate_uri = tern_str_empty(cfg->keystone_authtoken.www_authenticate_uri)
                                    ? cfg->keystone_authtoken.auth_url
                                    : cfg->keystone_authtoken.www_authenticate_uri;
}

static void
keystone_config_from_conf(const conf_t *cfg, api_keystone_config_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->auth_url = cfg->keystone_authtoken.auth_url;
    ret->username = cfg->keystone_authtoken.username;
    ret->password = cfg->keystone_authtoken.password;
    ret->project_name = cfg->keystone_authtoken.project_name;
    ret->user_domain_name = cfg->keystone_authtoken.user_domain_name;
    ret->project_domain_name = cfg->keystone_authtoken.project_domain_name;
    ret->cache_time_s = cfg->keystone_authtoken.token_cache_time;
    ret->connect_timeout_s = cfg->keystone_authtoken.http_connect_timeout;
    ret->timeout_s = cfg->api.request_timeout;
}

int
main(int argc, char **argv)
{
    conf_daemon_t d;
    api_config_t acfg;
    api_keystone_config_t kcfg;
    api_keystone_t *ks = NULL;
    rpc_client_t *rpc = NULL;
    rpc_stats_t last = {0}, now;
    api_t *api = NULL;
    int sig, rc;

    if (!conf_daemon_init(&d, API_BINARY, argc, argv, &rc))
        return rc;
    api_config_from_conf(d.cfg, &acfg);
    keystone_config_from_conf(d.cfg, &kcfg);
    d.rpc_cfg.response_timeout_ms = acfg.request_timeout_s * 1000;
    if (check_identity(d.cfg) < 0 || !(ks = api_keystone_new(&kcfg)) ||
        !(rpc = rpc_client_new(&d.rpc_cfg)) || !(api = api_start(&acfg, rpc, ks))) {
        TERN_ERROR("could not start: %s", tern_error_message());
        rpc_client_free(rpc);
        api_keystone_free(ks);
        conf_daemon_fini(&d);
        return EXIT_FAILURE;
    }
    TERN_INFO(API_BINARY " %s ready on %s port %d, tokens checked by %s", PACKAGE_VERSION,
              acfg.listen, api_port(api), kcfg.auth_url);
    while ((sig = conf_daemon_wait(&d, d.cfg->report_interval * 1000)) == 0) {
        rpc_client_stats(rpc, &now);
        conf_daemon_log_counters("rpc client", conf_rpc_counters, conf_n_rpc_counters, &now, &last,
                                 sizeof(now));
    }
    TERN_INFO("stopping on signal %d", sig);
    api_stop(api);
    rpc_client_free(rpc);
    api_keystone_free(ks);
    TERN_INFO("stopped");
    conf_daemon_fini(&d);
    return EXIT_SUCCESS;
}
