/*
 * conductor/validate.c: the validation of request arguments that needs no database
 * (conductor/validate.h): live_migrate's, server_create's, and a drain's.
 *
 * Pure functions, moved here from the handlers that call them so that tests/fuzz can fuzz them
 * without PostgreSQL or a broker. Owns nothing: the strings they hand back are borrowed from the
 * request's arguments.
 */
#include "conductor/validate.h"

#include <string.h>

#include "common/error.h"
#include "common/util.h"

#define DRAIN_REASON_MAX 255
#define DRAIN_MAX_CONCURRENT 64

int
conductor_check_parameters(const json_t *args, conductor_live_migrate_args_t *ret)
{
    json_t *block = NULL;
    const char *instance = NULL, *host = NULL;
    json_error_t jerr;

    if (json_unpack_ex((json_t *)args, &jerr, JSON_STRICT, "{s:s, s?s, s?o}", "instance", &instance,
                       "host", &host, "block_migration", &block) < 0) {
        /* "host": null is allowed: the scheduler picks. */
        if (json_is_null(json_object_get(args, "host"))) {
            json_t *copy = json_copy((json_t *)args);
            int rc;

            json_object_del(copy, "host");
            rc = conductor_check_parameters(copy, ret);
            json_decref(copy);
            return rc;
        }
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to live_migrate: %s", jerr.text);
    }
    if (block && !json_is_boolean(block) && !json_is_null(block))
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to live_migrate: "
                                                "\"block_migration\" must be true, false or null");
    if (tern_str_empty(instance))
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to live_migrate: "
                                                "\"instance\" is empty");
    if (host && tern_str_empty(host))
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to live_migrate: \"host\" is "
                                                "empty");
    ret->instance = instance;
    ret->host = host;
    ret->block_migration = !block || json_is_null(block) ? -1 : json_is_true(block);
    return 0;
}

int
conductor_validate_server_create(const json_t *args, conductor_server_request_t *r)
{
    json_error_t jerr;
    json_int_t v, vcpus, priority = 0; /* read whole: "i" would truncate them to an int */
    const char *key;
    json_t *value;
    size_t i;

    memset(r, 0, sizeof(*r));
    if (json_unpack_ex((json_t *)args, &jerr, JSON_STRICT,
                       "{s:s, s:s, s:I, s:I, s:I, s?s, s?o, s?o, s?o, s?o, s?I, s?s, s?b}", "name",
                       &r->name, "image", &r->image, "memory_mb", &r->memory_mb, "vcpus", &vcpus,
                       "disk_gb", &r->disk_gb, "host", &r->host, "volumes", &r->volumes, "networks",
                       &r->networks, "security_group_rules", &r->rules, "workload", &r->workload,
                       "priority", &priority, "migration_support", &r->migration_support,
                       "never_pause", &r->never_pause) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to server_create: %s",
                              jerr.text);
    if (priority < -1000 || priority > 1000)
        return tern_error_set(TERN_ERR_INVALID, "invalid priority %lld: -1000..1000",
                              (long long)priority);
    r->priority = (int)priority;
    if (r->migration_support && !tern_streq(r->migration_support, "migratable") &&
        !tern_streq(r->migration_support, "manual") && !tern_streq(r->migration_support, "pinned"))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid migration_support \"%s\": migratable, manual or pinned",
                              r->migration_support);
    if (tern_str_empty(r->name) || strlen(r->name) > 255)
        return tern_error_set(TERN_ERR_INVALID, "invalid server name: 1 to 255 characters");
    if (r->memory_mb < 16 || r->memory_mb > 1024 * 1024 || vcpus < 1 || vcpus > 256 ||
        r->disk_gb < 0 || r->disk_gb > 64 * 1024)
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid server size: memory_mb 16..1048576, vcpus 1..256, disk_gb "
                              "0..65536");
    r->vcpus = (int)vcpus;
    json_array_foreach(r->volumes, i, value)
    {
        const char *id = NULL, *path = NULL;

        if (json_unpack_ex(value, &jerr, JSON_STRICT, "{s:s, s:s}", "volume_id", &id, "path",
                           &path) < 0 ||
            path[0] != '/')
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid volume %zu: needs \"volume_id\" and an absolute "
                                  "\"path\"%s%s",
                                  i, jerr.text[0] ? ": " : "", jerr.text);
    }
    json_array_foreach(r->networks, i, value)
    {
        const char *bridge = NULL;

        if (json_unpack_ex(value, &jerr, JSON_STRICT, "{s:s}", "bridge", &bridge) < 0 ||
            strlen(bridge) == 0 || strlen(bridge) > 15)
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid network %zu: needs a \"bridge\" of 1 to 15 characters",
                                  i);
    }
    json_object_foreach(r->workload, key, value)
    {
        if (strcmp(key, "dirty_mb") && strcmp(key, "dirty_rate_mbps") &&
            strcmp(key, "verify_every") && strcmp(key, "write_ms"))
            return tern_error_set(TERN_ERR_INVALID, "invalid workload parameter \"%s\"", key);
        if (!json_is_integer(value) || (v = json_integer_value(value)) < 0 || v > 1 << 20)
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid workload parameter \"%s\": not an integer in 0..%d", key,
                                  1 << 20);
    }
    if ((r->volumes && !json_is_array(r->volumes)) ||
        (r->networks && !json_is_array(r->networks)) || (r->rules && !json_is_array(r->rules)) ||
        (r->workload && !json_is_object(r->workload)))
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to server_create: volumes, "
                                                "networks and security_group_rules are lists, "
                                                "workload an object");
    return 0;
}

int
conductor_validate_drain(const rpc_request_t *req, db_drain_t *d)
{
    json_t *block = NULL;
    json_int_t max = 0; /* read whole: "i" would truncate it to an int */
    int force = 0, never_pause = 0;
    json_error_t jerr;

    if (json_unpack_ex(req->args, &jerr, JSON_STRICT, "{s:s, s?s, s?o, s?I, s?b, s?s, s?b}", "host",
                       &d->host, "target_host", &d->target_host, "block_migration", &block,
                       "max_concurrent", &max, "force", &force, "reason", &d->reason, "never_pause",
                       &never_pause) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid arguments to %s: %s", req->method,
                              jerr.text);
    if (!d->host[0] || strlen(d->host) > DRAIN_REASON_MAX)
        return tern_error_set(TERN_ERR_INVALID, "invalid host \"%s\"", d->host);
    if (block && !json_is_boolean(block) && !json_is_null(block))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid block_migration: must be true, false or null (auto)");
    d->block_migration = !block || json_is_null(block) ? -1 : json_is_true(block);
    if (json_object_get(req->args, "max_concurrent") && (max < 1 || max > DRAIN_MAX_CONCURRENT))
        return tern_error_set(TERN_ERR_INVALID, "invalid max_concurrent %lld: must be 1 to %d",
                              (long long)max, DRAIN_MAX_CONCURRENT);
    if (d->reason && strlen(d->reason) > DRAIN_REASON_MAX)
        return tern_error_set(TERN_ERR_INVALID, "invalid reason: longer than %d bytes",
                              DRAIN_REASON_MAX);
    d->max_concurrent = (int)max;
    d->force = force;
    d->never_pause = never_pause;
    return 0;
}
