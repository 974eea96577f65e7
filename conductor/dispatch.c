/*
 * conductor/dispatch.c: the conductor's RPC endpoint - method table, policy, database handles.
 *
 * Every method goes through conductor_dispatch(): it finds the handler, checks the caller's
 * broker-validated identity against the policy and, for a compute's methods, that the compute
 * acts for its own host (conductor_check_caller), sets up nothing else, and calls the handler.
 * Owns: the endpoint and its method table (in conductor_t), and the thread-local database
 * connections of each conductor (its own key: closed at thread exit, or by conductor_free).
 */
#include <pthread.h>
#include <string.h>

#include "common/error.h"
#include "common/identity.h"
#include "common/log.h"
#include "common/util.h"
#include "conductor/conductor.h"

typedef struct conductor_method {
    const char *name;
    conductor_handler_fn handler;
} conductor_method_t;

static const conductor_method_t conductor_methods[] = {
    {"live_migrate", conductor_live_migrate},
    {"migration_list", conductor_migration_list},
    {"migration_get", conductor_migration_get},
    {"live_migration_abort", conductor_live_migration_abort},
    {"live_migration_force_complete", conductor_live_migration_force_complete},
    {"instance_action_list", conductor_instance_action_list},
    {"instance_action_get", conductor_instance_action_get},
    {"server_list", conductor_server_list},
    {"server_get", conductor_server_get},
    {"server_create", conductor_server_create},
    {"server_delete", conductor_server_delete},
    {"service_list", conductor_service_list},
    {"service_update", conductor_service_update},
    {"hypervisor_list", conductor_hypervisor_list},
    {"hypervisor_get", conductor_hypervisor_get},
    {"service_report", conductor_service_report},
    {"migration_update", conductor_migration_update},
    {"live_migration_completed", conductor_live_migration_completed},
    {"live_migration_failed", conductor_live_migration_failed},
    {"migration_recover", conductor_migration_recover},
    {"migration_leftovers", conductor_migration_leftovers},
    {"migration_cleaned", conductor_migration_cleaned},
    {"host_evacuate_live", conductor_host_evacuate_live},
    {"host_maintenance_enter", conductor_host_maintenance_enter},
    {"host_maintenance_exit", conductor_host_maintenance_exit},
    {"host_evacuate_abort", conductor_host_evacuate_abort},
    {"evacuation_get", conductor_evacuation_get},
};

const char *
conductor_method_name(size_t i)
{
    return i < TERN_N_ELEMENTS(conductor_methods) ? conductor_methods[i].name : NULL;
}

/* ---- per-thread database connections ---- */

static void
db_key_destroy(void *conn)
{
    db_close(conn);
}

db_conn_t *
conductor_db(conductor_t *cond)
{
    db_conn_t *conn = pthread_getspecific(cond->db_key);

    if (conn)
        return conn;
    if (!(conn = db_open(cond->cfg.db_connection)))
        return NULL;
    db_count_into(conn, &cond->db_stats);
    pthread_setspecific(cond->db_key, conn);
    return conn;
}

/* ---- dispatch ---- */

/* The compute's methods and what binds each to a host: its "host" argument, or the hosts of
 * its "migration" argument (source or destination) as the database records them. */
static const struct {
    const char *method;
    bool by_migration;
} bound_methods[] = {
    {"service_report", false},       {"migration_recover", false},
    {"migration_leftovers", false},  {"migration_cleaned", false},
    {"migration_update", true},      {"live_migration_completed", true},
    {"live_migration_failed", true},
};

/* The methods that start work or read whole tables: rate-limited per identity. */
static const char *const limited_methods[] = {
    "live_migrate",           "server_create",  "server_delete", "host_evacuate_live",
    "host_maintenance_enter", "migration_list", "server_list",   "instance_action_list",
};

/* rate_limited: -1 with a RATE_LIMITED error when req's caller is over its limit for a limited
 * method (conductor/ratelimit.h). */
static int
rate_limited(conductor_t *cond, const rpc_request_t *req)
{
    for (size_t i = 0; i < TERN_N_ELEMENTS(limited_methods); i++)
        if (tern_streq(limited_methods[i], req->method))
            return conductor_ratelimit_take(cond->ratelimit, req->amqp_user_id, req->method,
                                            tern_now_monotonic_ms());
    return 0;
}

/* refuse_caller: the PERMISSION error of a compute acting beyond its host, and its audit line. */
static int
refuse_caller(const rpc_request_t *req, const char *user, const char *what)
{
    tern_error_set(TERN_ERR_PERMISSION, "user \"%s\" may not call \"%s\" %s", user, req->method,
                   what);
    TERN_WARN("audit: refused: %s", tern_error_message());
    return -1;
}

/* caller_in_migration: whether host is the source or the destination of migration uuid. */
static int
caller_in_migration(conductor_t *cond, const char *uuid, const char *host, bool *ret_in)
{
    db_migration_t mig = {0};
    db_conn_t *db = conductor_db(cond);

    if (!db || db_migration_get(db, uuid, &mig) < 0)
        return -1;
    *ret_in = tern_streq(mig.source_compute, host) || tern_streq(mig.dest_compute, host);
    db_migration_clear(&mig);
    return 0;
}

int
conductor_check_caller(conductor_t *cond, const rpc_request_t *req)
{
    const char *user = req->amqp_user_id ? req->amqp_user_id : "";
    const char *host = tern_identity_compute_host(user), *arg;
    bool in = false;
    size_t i;

    for (i = 0; i < TERN_N_ELEMENTS(bound_methods); i++)
        if (tern_streq(bound_methods[i].method, req->method))
            break;
    if (i == TERN_N_ELEMENTS(bound_methods))
        return 0;
    if (!host)
        return refuse_caller(req, user,
                             "on behalf of a host: it is not a compute's identity "
                             "(\"" TERN_COMPUTE_USER_PREFIX "<host>\")");
    arg = json_string_value(
        json_object_get(req->args, bound_methods[i].by_migration ? "migration" : "host"));
    if (!arg)
        return 0; /* the handler refuses the arguments, naming what is wrong */
    if (!bound_methods[i].by_migration) {
        if (tern_streq(arg, host))
            return 0;
        TERN_AUTOFREE char *what = tern_asprintf("for host \"%.255s\": it is host \"%s\"'s "
                                                 "identity",
                                                 arg, host);
        return refuse_caller(req, user, what);
    }
    if (caller_in_migration(cond, arg, host, &in) < 0)
        return -1;
    if (in)
        return 0;
    TERN_AUTOFREE char *what = tern_asprintf(
        "for migration \"%.64s\": host \"%s\" is neither its source nor its destination", arg,
        host);
    return refuse_caller(req, user, what);
}

/* conductor_dispatch: the policy decides who asks (the AMQP user, or the user tern-api's context
 * names: conductor_policy_check_request) and whether they may; the handler then sees that user
 * as req->amqp_user_id (actions, drains, rate limits are theirs). Whether a compute acts for its
 * own host is judged from the broker's identity alone. */
static int
conductor_dispatch(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    conductor_t *cond = opaque;

    for (size_t i = 0; i < TERN_N_ELEMENTS(conductor_methods); i++) {
        rpc_request_t as = *req;

        if (strcmp(conductor_methods[i].name, req->method) != 0)
            continue;
        if (conductor_policy_check_request(cond->policy, req->amqp_user_id, req->context,
                                           req->method, &as.amqp_user_id) < 0 ||
            rate_limited(cond, &as) < 0 || conductor_check_caller(cond, req) < 0)
            return -1;
        return conductor_methods[i].handler(cond, &as, ret_result);
    }
    return tern_error_set(TERN_ERR_INVALID, "unknown conductor method \"%s\"", req->method);
}

int
conductor_start(conductor_t *cond, int n_workers)
{
    cond->endpoint = (rpc_endpoint_t){
        .version = CONDUCTOR_RPC_VERSION,
        .dispatch = conductor_dispatch,
        .opaque = cond,
    };
    cond->server =
        rpc_server_new(&cond->rpc_cfg, "conductor", cond->cfg.host, &cond->endpoint, 1, n_workers);
    if (!cond->server || rpc_server_start(cond->server) < 0 || conductor_drain_start(cond) < 0)
        return -1;
    TERN_INFO("conductor \"%s\" serving topic conductor with %d workers", cond->cfg.host,
              n_workers);
    return 0;
}

/* ---- calls to computes ---- */

int
conductor_call_compute(conductor_t *cond, const rpc_request_t *req, const char *host,
                       const char *method, json_t *args, json_t **ret_result)
{
    return conductor_call_compute_within(cond, req, host, method, args, cond->cfg.rpc_timeout_ms,
                                         ret_result);
}

int
conductor_call_compute_within(conductor_t *cond, const rpc_request_t *req, const char *host,
                              const char *method, json_t *args, int timeout_ms, json_t **ret_result)
{
    rpc_target_t target = {.topic = "compute", .server = host, .version = COMPUTE_RPC_VERSION};
    json_t *context = req ? json_incref(req->context) : rpc_context_new(NULL, NULL, NULL, NULL);
    json_t *result = NULL;
    int rc = rpc_call(cond->rpc, &target, context, method, args, timeout_ms, &result);

    json_decref(context);
    if (rc < 0)
        /* rpc/'s own errors name "compute.<host>"; the compute's answers need its name */
        return tern_error_is_remote() ? tern_error_prefix("host \"%s\"", host) : -1;
    if (ret_result)
        *ret_result = result;
    else
        json_decref(result);
    return 0;
}

int
conductor_cast_compute(conductor_t *cond, const rpc_request_t *req, const char *host,
                       const char *method, json_t *args)
{
    rpc_target_t target = {.topic = "compute", .server = host, .version = COMPUTE_RPC_VERSION};

    json_t *context = req ? json_incref(req->context) : rpc_context_new(NULL, NULL, NULL, NULL);
    int rc = rpc_cast(cond->rpc, &target, context, method, args); /* names compute.<host> */

    json_decref(context);
    return rc;
}

/* ---- life cycle ---- */

conductor_t *
conductor_new(conductor_config_t *cfg, const rpc_config_t *rpc_cfg)
{
    conductor_t *cond = tern_calloc(1, sizeof(*cond));
    db_conn_t *conn;
    bool from_file;

    cond->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    pthread_mutex_init(&cond->recovery_lock, NULL);
    pthread_cond_init(&cond->recovery_cond, NULL);
    pthread_mutex_init(&cond->drain_lock, NULL);
    pthread_cond_init(&cond->drain_cond, NULL);
    cond->rpc_cfg = *rpc_cfg;
    if (pthread_key_create(&cond->db_key, db_key_destroy) != 0) {
        tern_error_set(TERN_ERR_SYSTEM, "could not make the conductor's connection key");
        goto fail;
    }
    cond->db_key_made = true;
    if (!(cond->policy = conductor_policy_load(cond->cfg.policy_file, &from_file)))
        goto fail;
    cond->ratelimit =
        conductor_ratelimit_new(cond->cfg.rate_limit_per_minute, cond->cfg.rate_limit_burst);
    if (from_file)
        TERN_INFO("policy: the defaults in code, overridden by \"%s\"", cond->cfg.policy_file);
    else
        TERN_INFO("policy: the defaults in code (no file at \"%s\")",
                  cond->cfg.policy_file ? cond->cfg.policy_file : "");
    if (!(conn = conductor_db(cond)) || db_schema_check(conn) < 0)
        goto fail;
    if (db_service_upsert(conn, cond->cfg.host, CONDUCTOR_BINARY, "conductor", 1, NULL) < 0)
        goto fail;
    if (!(cond->rpc = rpc_client_new(rpc_cfg)))
        goto fail;
    return cond;

fail:
    conductor_free(cond);
    return NULL;
}

void
conductor_free(conductor_t *cond)
{
    if (!cond)
        return;
    if (cond->recovery_started) {
        pthread_mutex_lock(&cond->recovery_lock);
        cond->recovery_stopping = true;
        pthread_cond_broadcast(&cond->recovery_cond);
        pthread_mutex_unlock(&cond->recovery_lock);
        pthread_join(cond->recovery, NULL);
    }
    conductor_drain_stop(cond);
    if (cond->server)
        rpc_server_stop(cond->server);
    rpc_server_free(cond->server); /* its workers' connections closed as they ended */
    rpc_client_free(cond->rpc);
    if (cond->db_key_made) {
        db_close(pthread_getspecific(cond->db_key)); /* this thread's, if it made one */
        pthread_setspecific(cond->db_key, NULL);
        pthread_key_delete(cond->db_key);
    }
    conductor_policy_free(cond->policy);
    conductor_ratelimit_free(cond->ratelimit);
    conductor_config_clear(&cond->cfg);
    pthread_cond_destroy(&cond->recovery_cond);
    pthread_mutex_destroy(&cond->recovery_lock);
    pthread_cond_destroy(&cond->drain_cond);
    pthread_mutex_destroy(&cond->drain_lock);
    free(cond);
}

void
conductor_config_clear(conductor_config_t *cfg)
{
    free(cfg->host);
    free(cfg->db_connection);
    free(cfg->policy_file);
    memset(cfg, 0, sizeof(*cfg));
}
