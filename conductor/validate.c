/*
 * conductor/validate.c: the validation of request arguments that needs no database
 * (conductor/validate.h): live_migrate's, server_create's, and a drain's.
 *
 * Pure functions, moved here from the handlers that call them so that tests/fuzz can fuzz them
 * without PostgreSQL or a broker. Owns nothing: the strings they hand back are borrowed from the
 * request's arguments.
 */
#include "conductor/validate.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

#define DRAIN_REASON_MAX 255
#define DRAIN_MAX_CONCURRENT 64

/* text_ok: 1..max bytes with no control character (a name reaches log lines and the domain's
 * XML; the decoder has already refused text that is not UTF-8). */
static bool
text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* cidr_ok: an IPv4 or IPv6 address with an optional /prefix of its family's length. */
static bool
cidr_ok(const char *cidr)
{
    char addr[64];
    const char *slash = strchr(cidr, '/');
    size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
    unsigned char buf[16];
    int family, max;
    char *end;
    long prefix;

    if (n == 0 || n >= sizeof(addr))
        return false;
    memcpy(addr, cidr, n);
    addr[n] = '\0';
    family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    max = family == AF_INET6 ? 128 : 32;
    if (inet_pton(family, addr, buf) != 1)
        return false;
    if (!slash)
        return true;
    prefix = strtol(slash + 1, &end, 10);
    return slash[1] >= '0' && slash[1] <= '9' && *end == '\0' && prefix >= 0 && prefix <= max;
}

/* validate_rule: one security-group rule as the compute will read it (compute/virt/instance.c,
 * virt_secgroup_rules_from_json), checked before any row is written: the ports whole. */
static int
validate_rule(const json_t *rule, size_t i)
{
    const char *dir = NULL, *proto = NULL, *cidr = NULL;
    json_int_t pmin = 0, pmax = -1;
    json_error_t jerr;

    if (json_unpack_ex((json_t *)rule, &jerr, JSON_STRICT, "{s:s, s:s, s?I, s?I, s?s}", "direction",
                       &dir, "protocol", &proto, "port_min", &pmin, "port_max", &pmax,
                       "remote_cidr", &cidr) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid security-group rule %zu: %s", i,
                              jerr.text);
    if (pmax < 0)
        pmax = pmin;
    if (!tern_streq(dir, "ingress") && !tern_streq(dir, "egress"))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid security-group rule %zu: direction \"%.64s\" is not "
                              "ingress or egress",
                              i, dir);
    if (!tern_streq(proto, "tcp") && !tern_streq(proto, "udp") && !tern_streq(proto, "icmp") &&
        !tern_streq(proto, "any"))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid security-group rule %zu: protocol \"%.64s\" is not tcp, "
                              "udp, icmp or any",
                              i, proto);
    if (pmin < 0 || pmin > 65535 || pmax > 65535 || pmax < pmin || (pmin == 0 && pmax != 0))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid security-group rule %zu: bad port range %lld-%lld", i,
                              (long long)pmin, (long long)pmax);
    if (pmin != 0 && !tern_streq(proto, "tcp") && !tern_streq(proto, "udp"))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid security-group rule %zu: ports need protocol tcp or udp", i);
    if (cidr && cidr[0] && !cidr_ok(cidr))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid security-group rule %zu: remote_cidr \"%.64s\" is not an "
                              "address with an optional /prefix",
                              i, cidr);
    return 0;
}

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
    if (!text_ok(r->name, 255))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid server name: 1 to 255 characters, no control character");
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
            path[0] != '/' || !text_ok(id, 255) || !text_ok(path, 4095))
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid volume %zu: needs a \"volume_id\" and an absolute "
                                  "\"path\" without control characters%s%s",
                                  i, jerr.text[0] ? ": " : "", jerr.text);
    }
    json_array_foreach(r->networks, i, value)
    {
        const char *bridge = NULL;

        if (json_unpack_ex(value, &jerr, JSON_STRICT, "{s:s}", "bridge", &bridge) < 0 ||
            strlen(bridge) == 0 || strlen(bridge) > 15 ||
            bridge[strspn(bridge,
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")])
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid network %zu: needs a \"bridge\" of 1 to 15 letters, "
                                  "digits, '_', '.' or '-'",
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
    json_array_foreach(r->rules, i, value)
    {
        if (validate_rule(value, i) < 0)
            return -1;
    }
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
