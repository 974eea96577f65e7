/*
 * compute/virt/instance.c: virt_instance_t and security-group rules to and from JSON.
 *
 * An instance travels over RPC, so this file is the one place that validates it: each object's
 * shape is described by a field table (key, type, required, nullable) checked strictly - an
 * unknown key, a missing required key or a wrong type is an error naming the field by its path
 * ("disks[1].format") - and then each value is checked for what it may hold (UUID, MAC, absolute
 * path without characters that are unsafe in XML, ...). Values are then safe to place in domain
 * XML and argv arrays.
 *
 * Ownership: parsed instances are new (virt_instance_free); JSON inputs are borrowed;
 * virt_instance_to_json returns a new reference.
 */
#include "compute/virt/virt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"

typedef enum { F_STRING, F_UINT, F_BOOL, F_ARRAY } field_type_t;

typedef struct {
    const char *key;
    field_type_t type;
    bool required;
    bool nullable;
} field_t;

static const char *const field_type_names[] = {"a string", "a non-negative integer", "a boolean",
                                               "an array"};

static const field_t instance_fields[] = {
    {"uuid", F_STRING, true, false},    {"name", F_STRING, true, false},
    {"memory_mb", F_UINT, true, false}, {"vcpus", F_UINT, true, false},
    {"kernel", F_STRING, false, true},  {"initrd", F_STRING, false, true},
    {"cmdline", F_STRING, false, true}, {"serial_log", F_STRING, false, true},
    {"disks", F_ARRAY, true, false},    {"interfaces", F_ARRAY, false, false},
};

static const field_t disk_fields[] = {
    {"target", F_STRING, true, false},
    {"path", F_STRING, true, false},
    {"format", F_STRING, true, false},
    {"backing_file", F_STRING, false, true},
    {"virtual_size_bytes", F_UINT, false, false},
    {"shared", F_BOOL, false, false},
    {"readonly", F_BOOL, false, false},
    {"is_volume", F_BOOL, false, false},
    {"volume_id", F_STRING, false, true},
};

static const field_t interface_fields[] = {
    {"mac", F_STRING, true, false},
    {"bridge", F_STRING, true, false},
    {"filter_name", F_STRING, false, true},
};

static const field_t rule_fields[] = {
    {"direction", F_STRING, true, false},   {"protocol", F_STRING, true, false},
    {"port_min", F_UINT, false, true},      {"port_max", F_UINT, false, true},
    {"remote_cidr", F_STRING, false, true},
};

/* bad_field: report field ctx.key of a `what` as invalid, with the reason fmt. Returns -1. */
static int bad_field(const char *what, const char *ctx, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bad_field(const char *what, const char *ctx, const char *key, const char *fmt, ...)
{
    char reason[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return tern_error_set(TERN_ERR_INVALID, "invalid %s: field \"%s%s%s\": %s", what, ctx,
                          *ctx ? "." : "", key, reason);
}

/* check_object: obj must be an object holding only the keys of fields, each of its type. */
static int
check_object(const json_t *obj, const char *what, const char *ctx, const field_t *fields,
             size_t n_fields)
{
    const char *key;
    json_t *value;

    if (!json_is_object(obj))
        return tern_error_set(TERN_ERR_INVALID, "invalid %s: %s%sexpected an object", what, ctx,
                              *ctx ? ": " : "");
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t i;

        for (i = 0; i < n_fields && strcmp(fields[i].key, key) != 0; i++)
            ;
        if (i == n_fields)
            return bad_field(what, ctx, key, "unknown field");
    }
    for (size_t i = 0; i < n_fields; i++) {
        const field_t *f = &fields[i];
        bool ok;

        value = json_object_get(obj, f->key);
        if (!value) {
            if (f->required)
                return bad_field(what, ctx, f->key, "missing");
            continue;
        }
        if (json_is_null(value)) {
            if (!f->nullable)
                return bad_field(what, ctx, f->key, "expected %s, got null",
                                 field_type_names[f->type]);
            continue;
        }
        switch (f->type) {
        case F_STRING:
            ok = json_is_string(value);
            break;
        case F_UINT:
            ok = json_is_integer(value) && json_integer_value(value) >= 0;
            break;
        case F_BOOL:
            ok = json_is_boolean(value);
            break;
        default:
            ok = json_is_array(value);
            break;
        }
        if (!ok)
            return bad_field(what, ctx, f->key, "expected %s", field_type_names[f->type]);
    }
    return 0;
}

/* Borrowed string value or NULL when absent/null (shape already checked). */
static const char *
get_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static uint64_t
get_uint(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static bool
get_bool(const json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

static bool
name_valid(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

/* A path we may put in XML and argv: absolute, printable, no quote/markup characters, no "..". */
static bool
path_valid(const char *s)
{
    if (s[0] != '/' || strlen(s) >= 4096 || strstr(s, "/../") ||
        (strlen(s) >= 3 && strcmp(s + strlen(s) - 3, "/..") == 0))
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || strchr("'\"<>&", *p))
            return false;
    return true;
}

static bool
text_valid(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return strlen(s) < 4096;
}

static bool
mac_valid(const char *s)
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++)
        if ((i % 3 == 2) ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int
parse_path_field(const json_t *obj, const char *key, const char *ctx, bool required, char **ret)
{
    const char *s = get_str(obj, key);

    *ret = NULL;
    if (!s) {
        if (required)
            return bad_field("instance", ctx, key, "missing");
        return 0;
    }
    if (!path_valid(s))
        return bad_field("instance", ctx, key,
                         "\"%s\" is not an absolute path free of quotes, markup and \"..\"", s);
    *ret = tern_strdup(s);
    return 0;
}

static int
parse_disk(const json_t *obj, const char *ctx, virt_disk_t *d)
{
    const char *target, *format, *volume_id;

    if (check_object(obj, "instance", ctx, disk_fields, TERN_N_ELEMENTS(disk_fields)) < 0)
        return -1;
    target = get_str(obj, "target");
    if (strlen(target) < 3 || strlen(target) > 4 || strncmp(target, "vd", 2) != 0 ||
        !islower((unsigned char)target[2]) || (target[3] && !islower((unsigned char)target[3])))
        return bad_field("instance", ctx, "target", "\"%s\" is not a virtio disk name (vda...)",
                         target);
    d->target = tern_strdup(target);
    format = get_str(obj, "format");
    if (!tern_streq(format, "qcow2") && !tern_streq(format, "raw"))
        return bad_field("instance", ctx, "format", "expected \"qcow2\" or \"raw\", got \"%s\"",
                         format);
    d->format = tern_strdup(format);
    if (parse_path_field(obj, "path", ctx, true, &d->path) < 0 ||
        parse_path_field(obj, "backing_file", ctx, false, &d->backing_file) < 0)
        return -1;
    if (d->backing_file && !tern_streq(d->format, "qcow2"))
        return bad_field("instance", ctx, "backing_file", "only a qcow2 disk may have one");
    d->virtual_size_bytes = get_uint(obj, "virtual_size_bytes");
    if (d->virtual_size_bytes == 0 && !d->backing_file && !get_bool(obj, "is_volume"))
        return bad_field("instance", ctx, "virtual_size_bytes",
                         "must be given for a disk without a backing file");
    d->shared = get_bool(obj, "shared");
    d->readonly = get_bool(obj, "readonly");
    d->is_volume = get_bool(obj, "is_volume");
    volume_id = get_str(obj, "volume_id");
    if (d->is_volume != (volume_id != NULL))
        return bad_field("instance", ctx, "volume_id", "must be given exactly when is_volume");
    if (volume_id && !name_valid(volume_id, 64))
        return bad_field("instance", ctx, "volume_id", "\"%s\" is not a valid volume id",
                         volume_id);
    d->volume_id = tern_strdup(volume_id);
    return 0;
}

static int
parse_interface(const json_t *obj, const char *ctx, virt_interface_t *nic)
{
    const char *mac, *bridge, *filter;

    if (check_object(obj, "instance", ctx, interface_fields, TERN_N_ELEMENTS(interface_fields)) < 0)
        return -1;
    mac = get_str(obj, "mac");
    if (!mac_valid(mac))
        return bad_field("instance", ctx, "mac", "\"%s\" is not a MAC address", mac);
    nic->mac = tern_strdup(mac);
    for (char *p = nic->mac; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    bridge = get_str(obj, "bridge");
    if (!name_valid(bridge, VIRT_BRIDGE_MAX))
        return bad_field("instance", ctx, "bridge", "\"%s\" is not a valid bridge name", bridge);
    nic->bridge = tern_strdup(bridge);
    filter = get_str(obj, "filter_name");
    if (filter && !name_valid(filter, 128))
        return bad_field("instance", ctx, "filter_name", "\"%s\" is not a valid filter name",
                         filter);
    nic->filter_name = tern_strdup(filter);
    return 0;
}

/* One item of an array field: parsed into *ret_item (zeroed), freed with the instance. */
typedef int (*parse_item_fn)(const json_t *obj, const char *ctx, void *ret_item);

static int
parse_disk_item(const json_t *obj, const char *ctx, void *ret_item)
{
    return parse_disk(obj, ctx, ret_item);
}

static int
parse_interface_item(const json_t *obj, const char *ctx, void *ret_item)
{
    return parse_interface(obj, ctx, ret_item);
}

/* parse_array: the array field key (at most max items) into a new array of item_size items
 * (one zeroed item more) in *ret_items; *ret_n counts the items begun, also on failure, so
 * that virt_instance_free releases what was parsed. */
static int
parse_array(const json_t *arr, const char *key, size_t max, size_t item_size, parse_item_fn parse,
            void **ret_items, size_t *ret_n)
{
    char ctx[48];

    if (json_array_size(arr) > max)
        return bad_field("instance", "", key, "more than %zu %s", max, key);
    *ret_items = tern_calloc(json_array_size(arr) + 1, item_size);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(ctx, sizeof(ctx), "%s[%zu]", key, i);
        (*ret_n)++;
        if (parse(json_array_get(arr, i), ctx, (char *)*ret_items + i * item_size) < 0)
            return -1;
    }
    return 0;
}

/* parse_devices: inst->disks and inst->interfaces; no two disks share a target or a path. */
static int
parse_devices(const json_t *json, virt_instance_t *inst)
{
    void *disks = NULL, *nics = NULL;
    int rc;

    rc = parse_array(json_object_get(json, "disks"), "disks", VIRT_DISKS_MAX, sizeof(virt_disk_t),
                     parse_disk_item, &disks, &inst->n_disks);
    inst->disks = disks;
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < inst->n_disks; i++)
        for (size_t j = 0; j < i; j++)
            if (tern_streq(inst->disks[j].target, inst->disks[i].target) ||
                tern_streq(inst->disks[j].path, inst->disks[i].path)) {
                char ctx[48];

                snprintf(ctx, sizeof(ctx), "disks[%zu]", i);
                return bad_field("instance", ctx, "target", "same target or path as disks[%zu]", j);
            }
    rc = parse_array(json_object_get(json, "interfaces"), "interfaces", VIRT_INTERFACES_MAX,
                     sizeof(virt_interface_t), parse_interface_item, &nics, &inst->n_interfaces);
    inst->interfaces = nics;
    return rc;
}

virt_instance_t *
virt_instance_from_json(const json_t *json)
{
    virt_instance_t *inst = NULL;
    const char *uuid, *name, *text;
    uint64_t n;

    if (check_object(json, "instance", "", instance_fields, TERN_N_ELEMENTS(instance_fields)) < 0)
        return NULL;
    inst = tern_calloc(1, sizeof(*inst));
    uuid = get_str(json, "uuid");
    if (!tern_uuid_valid(uuid)) {
        bad_field("instance", "", "uuid", "\"%s\" is not a UUID", uuid);
        goto error;
    }
    for (int i = 0; i < VIRT_UUID_LEN; i++)
        inst->uuid[i] = (char)tolower((unsigned char)uuid[i]);
    name = get_str(json, "name");
    if (!name_valid(name, VIRT_NAME_MAX)) {
        bad_field("instance", "", "name", "\"%s\" is not a valid domain name", name);
        goto error;
    }
    inst->name = tern_strdup(name);
    n = get_uint(json, "memory_mb");
    if (n < 16 || n > 1024 * 1024) {
        bad_field("instance", "", "memory_mb", "%llu is out of range 16..1048576",
                  (unsigned long long)n);
        goto error;
    }
    inst->memory_mb = (uint32_t)n;
    n = get_uint(json, "vcpus");
    if (n < 1 || n > 64) {
        bad_field("instance", "", "vcpus", "%llu is out of range 1..64", (unsigned long long)n);
        goto error;
    }
    inst->vcpus = (uint32_t)n;
    if (parse_path_field(json, "kernel", "", false, &inst->kernel) < 0 ||
        parse_path_field(json, "initrd", "", false, &inst->initrd) < 0 ||
        parse_path_field(json, "serial_log", "", false, &inst->serial_log) < 0)
        goto error;
    if ((inst->initrd || get_str(json, "cmdline")) && !inst->kernel) {
        bad_field("instance", "", "kernel", "missing (initrd or cmdline given)");
        goto error;
    }
    text = get_str(json, "cmdline");
    if (text && !text_valid(text)) {
        bad_field("instance", "", "cmdline", "contains control characters");
        goto error;
    }
    inst->cmdline = tern_strdup(text);

    if (parse_devices(json, inst) < 0)
        goto error;
    return inst;

error:
    virt_instance_free(inst);
    return NULL;
}

virt_instance_t *
virt_instance_from_json_text(const char *text)
{
    json_error_t err;
    json_t *json = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &err);
    virt_instance_t *inst;

    if (!json) {
        tern_error_set(TERN_ERR_INVALID, "invalid instance: malformed JSON at line %d: %s",
                       err.line, err.text);
        return NULL;
    }
    inst = virt_instance_from_json(json);
    json_decref(json);
    return inst;
}

json_t *
virt_instance_to_json(const virt_instance_t *inst)
{
    json_t *disks = json_array(), *nics = json_array();

    for (size_t i = 0; i < inst->n_disks; i++) {
        const virt_disk_t *d = &inst->disks[i];

        json_array_append_new(
            disks,
            tern_json_pack("{s:s, s:s, s:s, s:s?, s:I, s:b, s:b, s:b, s:s?}", "target", d->target,
                           "path", d->path, "format", d->format, "backing_file", d->backing_file,
                           "virtual_size_bytes", (json_int_t)d->virtual_size_bytes, "shared",
                           d->shared, "readonly", d->readonly, "is_volume", d->is_volume,
                           "volume_id", d->volume_id));
    }
    for (size_t i = 0; i < inst->n_interfaces; i++) {
        const virt_interface_t *nic = &inst->interfaces[i];

        json_array_append_new(nics, tern_json_pack("{s:s, s:s, s:s?}", "mac", nic->mac, "bridge",
                                                   nic->bridge, "filter_name", nic->filter_name));
    }
    return tern_json_pack("{s:s, s:s, s:I, s:I, s:s?, s:s?, s:s?, s:s?, s:o, s:o}", "uuid",
                          inst->uuid, "name", inst->name, "memory_mb", (json_int_t)inst->memory_mb,
                          "vcpus", (json_int_t)inst->vcpus, "kernel", inst->kernel, "initrd",
                          inst->initrd, "cmdline", inst->cmdline, "serial_log", inst->serial_log,
                          "disks", disks, "interfaces", nics);
}

virt_instance_t *
virt_instance_copy(const virt_instance_t *inst)
{
    json_t *json = virt_instance_to_json(inst);
    virt_instance_t *copy = virt_instance_from_json(json);

    json_decref(json);
    if (!copy)
        abort(); /* inst was valid when parsed: a failure here is a bug */
    return copy;
}

void
virt_instance_free(virt_instance_t *inst)
{
    if (!inst)
        return;
    for (size_t i = 0; i < inst->n_disks; i++) {
        free(inst->disks[i].target);
        free(inst->disks[i].path);
        free(inst->disks[i].format);
        free(inst->disks[i].backing_file);
        free(inst->disks[i].volume_id);
    }
    for (size_t i = 0; i < inst->n_interfaces; i++) {
        free(inst->interfaces[i].mac);
        free(inst->interfaces[i].bridge);
        free(inst->interfaces[i].filter_name);
    }
    free(inst->disks);
    free(inst->interfaces);
    free(inst->name);
    free(inst->kernel);
    free(inst->initrd);
    free(inst->cmdline);
    free(inst->serial_log);
    free(inst);
}

/* ---- security-group rules ---- */

static int
parse_cidr(const char *s, const char *ctx, char *out, size_t out_size)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    struct in_addr in;
    int64_t prefix = 32;

    if (slash) {
        if ((size_t)(slash - s) >= sizeof(addr) ||
            tern_parse_int64(slash + 1, "prefix", &prefix) < 0 || prefix < 0 || prefix > 32)
            return bad_field("security group rule", ctx, "remote_cidr",
                             "\"%s\" is not an IPv4 CIDR", s);
        memcpy(addr, s, (size_t)(slash - s));
        addr[slash - s] = '\0';
    } else if (tern_strlcpy(addr, s, sizeof(addr)) < 0) {
        return bad_field("security group rule", ctx, "remote_cidr", "\"%s\" is not an IPv4 CIDR",
                         s);
    }
    if (inet_pton(AF_INET, addr, &in) != 1)
        return bad_field("security group rule", ctx, "remote_cidr", "\"%s\" is not an IPv4 CIDR",
                         s);
    inet_ntop(AF_INET, &in, addr, sizeof(addr));
    snprintf(out, out_size, "%s/%d", addr, (int)prefix);
    return 0;
}

int
virt_secgroup_rules_from_json(const json_t *json, virt_secgroup_rule_t **ret_rules, size_t *ret_n)
{
    TERN_AUTOFREE virt_secgroup_rule_t *rules = NULL;
    size_t n = json_array_size(json);
    char ctx[48];

    if (!json_is_array(json))
        return tern_error_set(TERN_ERR_INVALID, "invalid security group rules: expected an array");
    if (n > VIRT_RULES_MAX)
        return tern_error_set(TERN_ERR_INVALID, "invalid security group rules: more than %d rules",
                              VIRT_RULES_MAX);
    rules = tern_calloc(n + 1, sizeof(*rules));
    for (size_t i = 0; i < n; i++) {
        const json_t *obj = json_array_get(json, i);
        virt_secgroup_rule_t *r = &rules[i];
        const char *dir, *proto, *cidr;
        json_t *pmin, *pmax;

        snprintf(ctx, sizeof(ctx), "[%zu]", i);
        if (check_object(obj, "security group rule", ctx, rule_fields,
                         TERN_N_ELEMENTS(rule_fields)) < 0)
            return -1;
        dir = get_str(obj, "direction");
        if (tern_streq(dir, "ingress"))
            r->direction = VIRT_RULE_INGRESS;
        else if (tern_streq(dir, "egress"))
            r->direction = VIRT_RULE_EGRESS;
        else
            return bad_field("security group rule", ctx, "direction",
                             "expected \"ingress\" or \"egress\", got \"%s\"", dir);
        proto = get_str(obj, "protocol");
        if (tern_streq(proto, "tcp"))
            r->protocol = VIRT_PROTO_TCP;
        else if (tern_streq(proto, "udp"))
            r->protocol = VIRT_PROTO_UDP;
        else if (tern_streq(proto, "icmp"))
            r->protocol = VIRT_PROTO_ICMP;
        else if (tern_streq(proto, "any"))
            r->protocol = VIRT_PROTO_ANY;
        else
            return bad_field("security group rule", ctx, "protocol",
                             "expected \"tcp\", \"udp\", \"icmp\" or \"any\", got \"%s\"", proto);
        pmin = json_object_get(obj, "port_min");
        pmax = json_object_get(obj, "port_max");
        r->port_min = json_is_integer(pmin) ? (int)json_integer_value(pmin) : 0;
        r->port_max = json_is_integer(pmax) ? (int)json_integer_value(pmax) : r->port_min;
        if (json_integer_value(pmin) > 65535 || json_integer_value(pmax) > 65535 ||
            r->port_max < r->port_min || (r->port_min == 0 && r->port_max != 0))
            return bad_field("security group rule", ctx, "port_min", "bad port range %d-%d",
                             r->port_min, r->port_max);
        if (r->port_min != 0 && r->protocol != VIRT_PROTO_TCP && r->protocol != VIRT_PROTO_UDP)
            return bad_field("security group rule", ctx, "port_min",
                             "ports need protocol \"tcp\" or \"udp\"");
        cidr = get_str(obj, "remote_cidr");
        if (cidr && parse_cidr(cidr, ctx, r->remote_cidr, sizeof(r->remote_cidr)) < 0)
            return -1;
    }
    *ret_rules = tern_steal_pointer(&rules);
    *ret_n = n;
    return 0;
}
