/*
 * tools/cli/cmd-servers.c: server-list, server-show, server-create and server-delete - their
 * arguments and their output.
 *
 * server-create checks every value before anything is sent: sizes within the conductor's limits
 * (conductor/servers.c), volumes ID[:PATH] with an absolute PATH, bridge names as Linux accepts
 * them, rules DIR:PROTO:PORTS:CIDR with a real CIDR, and the test guest's workload parameters.
 * Owns nothing across calls.
 */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "tools/cli/cli.h"

#define MAX_MEMORY_MB (1024 * 1024)
#define MAX_VCPUS 256
#define MAX_DISK_GB (64 * 1024)
#define MAX_WORKLOAD (1 << 20) /* the conductor's limit on workload parameters */
#define BRIDGE_NAME_MAX 15     /* IFNAMSIZ - 1 */

int
cli_build_server_list(const cli_parsed_t *p, cli_request_t *req)
{
    const char *host = cli_parsed_get(p, "host");

    if (host && cli_check_name(host, "--host") < 0)
        return -1;
    req->args = json_object();
    if (host)
        json_object_set_new(req->args, "host", json_string(host));
    return 0;
}

int
cli_build_server_ref(const cli_parsed_t *p, cli_request_t *req)
{
    if (cli_check_name(p->args[0], "SERVER") < 0)
        return -1;
    req->args = tern_json_pack("{s:s}", "server", p->args[0]);
    return 0;
}

/* --volume ID[:PATH] -> {"volume_id", "path"?} */
static json_t *
parse_volume(const char *value)
{
    const char *colon = strchr(value, ':');
    TERN_AUTOFREE char *id = tern_strndup(value, colon ? (size_t)(colon - value) : strlen(value));
    json_t *vol;

    if (tern_str_empty(id)) {
        tern_error_set(TERN_ERR_INVALID, "invalid value \"%s\" for --volume: empty ID", value);
        return NULL;
    }
    if (cli_check_name(id, "--volume") < 0)
        return NULL;
    if (colon && !tern_utf8_valid(colon + 1)) {
        tern_error_set(TERN_ERR_INVALID, "invalid value for --volume: PATH is not valid UTF-8");
        return NULL;
    }
    if (colon && colon[1] != '/') {
        tern_error_set(TERN_ERR_INVALID,
                       "invalid value \"%s\" for --volume: PATH \"%s\" is not an absolute path",
                       value, colon + 1);
        return NULL;
    }
    vol = tern_json_pack("{s:s}", "volume_id", id);
    if (colon)
        json_object_set_new(vol, "path", json_string(colon + 1));
    return vol;
}

/* --network BRIDGE -> {"bridge"} */
static json_t *
parse_network(const char *value)
{
    size_t len = strlen(value);

    if (len == 0 || len > BRIDGE_NAME_MAX || strcmp(value, ".") == 0 || strcmp(value, "..") == 0 ||
        strpbrk(value, "/: \t\n\r\v\f")) {
        tern_error_set(TERN_ERR_INVALID,
                       "invalid value \"%s\" for --network: a bridge name has 1 to %d "
                       "characters, none of them \"/\", \":\" or a space",
                       value, BRIDGE_NAME_MAX);
        return NULL;
    }
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            tern_error_set(TERN_ERR_INVALID,
                           "invalid value for --network: contains a control character");
            return NULL;
        }
    }
    if (!tern_utf8_valid(value)) {
        tern_error_set(TERN_ERR_INVALID, "invalid value for --network: not valid UTF-8");
        return NULL;
    }
    return tern_json_pack("{s:s}", "bridge", value);
}

/* PORTS of a rule: "" (all: 0-0), "N" or "N-M" with 1 <= N <= M <= 65535. */
static int
parse_ports(const char *ports, int64_t *ret_min, int64_t *ret_max)
{
    const char *dash = strchr(ports, '-');
    TERN_AUTOFREE char *lo = NULL;
    int64_t min, max;

    if (ports[0] == '\0') {
        *ret_min = *ret_max = 0;
        return 0;
    }
    lo = tern_strndup(ports, dash ? (size_t)(dash - ports) : strlen(ports));
    if (lo[0] == '-' || cli_parse_int(lo, "PORTS", 1, 65535, &min) < 0 ||
        (dash && (dash[1] == '-' || cli_parse_int(dash + 1, "PORTS", 1, 65535, &max) < 0)))
        return -1;
    if (!dash)
        max = min;
    if (min > max)
        return -1;
    *ret_min = min;
    *ret_max = max;
    return 0;
}

/* --rule DIR:PROTO:PORTS:CIDR -> {"direction", "protocol", "port_min", "port_max",
 * "remote_cidr"}; the CIDR is everything after the third colon (IPv6 has colons). */
static json_t *
parse_rule(const char *value)
{
    static const char *const dirs[] = {"ingress", "egress", NULL};
    static const char *const protos[] = {"tcp", "udp", "icmp", "any", NULL};
    const char *c1 = strchr(value, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
    TERN_AUTOFREE char *dir = NULL, *proto = NULL, *ports = NULL;
    int64_t pmin, pmax;
    bool ok = false;

    if (!c3) {
        tern_error_set(TERN_ERR_INVALID,
                       "invalid value \"%s\" for --rule: expected DIR:PROTO:PORTS:CIDR", value);
        return NULL;
    }
    dir = tern_strndup(value, (size_t)(c1 - value));
    proto = tern_strndup(c1 + 1, (size_t)(c2 - c1 - 1));
    ports = tern_strndup(c2 + 1, (size_t)(c3 - c2 - 1));
    for (size_t i = 0; dirs[i]; i++)
        ok = ok || strcmp(dir, dirs[i]) == 0;
    if (!ok) {
        tern_error_set(TERN_ERR_INVALID,
                       "invalid value \"%s\" for --rule: direction \"%s\" is not ingress or "
                       "egress",
                       value, dir);
        return NULL;
    }
    ok = false;
    for (size_t i = 0; protos[i]; i++)
        ok = ok || strcmp(proto, protos[i]) == 0;
    if (!ok) {
        tern_error_set(TERN_ERR_INVALID,
                       "invalid value \"%s\" for --rule: protocol \"%s\" is not tcp, udp, icmp "
                       "or any",
                       value, proto);
        return NULL;
    }
    if (parse_ports(ports, &pmin, &pmax) < 0) {
        tern_error_set(TERN_ERR_INVALID,
                       "invalid value \"%s\" for --rule: ports \"%s\" are not N or N-M with "
                       "1 <= N <= M <= 65535",
                       value, ports);
        return NULL;
    }
    if (!cli_cidr_valid(c3 + 1)) {
        tern_error_set(TERN_ERR_INVALID,
                       "invalid value \"%s\" for --rule: \"%s\" is not a CIDR such as "
                       "10.0.0.0/24",
                       value, c3 + 1);
        return NULL;
    }
    return tern_json_pack("{s:s, s:s, s:I, s:I, s:s}", "direction", dir, "protocol", proto,
                          "port_min", (json_int_t)pmin, "port_max", (json_int_t)pmax, "remote_cidr",
                          c3 + 1);
}

/* Every value of the repeatable option `name`, each through parse, into a new array. */
static json_t *
parse_repeated(const cli_parsed_t *p, const char *name, json_t *(*parse)(const char *))
{
    size_t n = cli_parsed_count(p, name);
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        json_t *item = parse(cli_parsed_nth(p, name, i));

        if (!item) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, item);
    }
    return arr;
}

static int
build_workload(const cli_parsed_t *p, json_t *args)
{
    const char *dirty_mb = cli_parsed_get(p, "dirty-mb"), *rate = cli_parsed_get(p, "dirty-rate");
    int64_t v;
    json_t *workload;

    if (!dirty_mb && !rate)
        return 0;
    workload = json_object();
    json_object_set_new(args, "workload", workload);
    if (dirty_mb) {
        if (cli_parse_int(dirty_mb, "--dirty-mb", 0, MAX_WORKLOAD, &v) < 0)
            return -1;
        json_object_set_new(workload, "dirty_mb", json_integer(v));
    }
    if (rate) {
        if (cli_parse_int(rate, "--dirty-rate", 0, MAX_WORKLOAD, &v) < 0)
            return -1;
        json_object_set_new(workload, "dirty_rate_mbps", json_integer(v));
    }
    return 0;
}

/* --priority and --migration-support: the drains' order and what they may move. */
static int
build_migration_policy(const cli_parsed_t *p, json_t *args)
{
    static const char *const supports[] = {"migratable", "manual", "pinned", NULL};
    const char *priority = cli_parsed_get(p, "priority");
    const char *support = cli_parsed_get(p, "migration-support");
    int64_t v;

    if (priority) {
        if (cli_parse_int(priority, "--priority", -1000, 1000, &v) < 0)
            return -1;
        json_object_set_new(args, "priority", json_integer(v));
    }
    if (support) {
        if (cli_check_choice(support, "--migration-support", supports) < 0)
            return -1;
        json_object_set_new(args, "migration_support", json_string(support));
    }
    if (cli_parsed_flag(p, "never-pause"))
        json_object_set_new(args, "never_pause", json_true());
    return 0;
}

static int
build_create(const cli_parsed_t *p, json_t *args)
{
    const char *image = cli_parsed_get(p, "image"), *host = cli_parsed_get(p, "host");
    int64_t memory, vcpus, disk;
    json_t *list;

    if (cli_check_name(p->args[0], "NAME") < 0 || cli_check_name(image, "--image") < 0 ||
        cli_parse_int(cli_parsed_get(p, "memory"), "--memory", 16, MAX_MEMORY_MB, &memory) < 0 ||
        cli_parse_int(cli_parsed_get(p, "vcpus"), "--vcpus", 1, MAX_VCPUS, &vcpus) < 0 ||
        cli_parse_int(cli_parsed_get(p, "disk"), "--disk", 0, MAX_DISK_GB, &disk) < 0 ||
        (host && cli_check_name(host, "--host") < 0))
        return -1;
    json_object_set_new(args, "name", json_string(p->args[0]));
    json_object_set_new(args, "image", json_string(image));
    json_object_set_new(args, "memory_mb", json_integer(memory));
    json_object_set_new(args, "vcpus", json_integer(vcpus));
    json_object_set_new(args, "disk_gb", json_integer(disk));
    if (host)
        json_object_set_new(args, "host", json_string(host));
    if (build_migration_policy(p, args) < 0)
        return -1;
    if (cli_parsed_count(p, "volume")) {
        if (!(list = parse_repeated(p, "volume", parse_volume)))
            return -1;
        json_object_set_new(args, "volumes", list);
    }
    if (cli_parsed_count(p, "network")) {
        if (!(list = parse_repeated(p, "network", parse_network)))
            return -1;
        json_object_set_new(args, "networks", list);
    }
    if (cli_parsed_count(p, "rule")) {
        if (!(list = parse_repeated(p, "rule", parse_rule)))
            return -1;
        json_object_set_new(args, "security_group_rules", list);
    }
    return build_workload(p, args);
}

int
cli_build_server_create(const cli_parsed_t *p, cli_request_t *req)
{
    json_t *args = json_object();

    if (build_create(p, args) < 0) {
        json_decref(args);
        return -1;
    }
    req->args = args;
    return 0;
}

/* power_state as nova names it. */
static char *
power_state_cell(const json_t *row, const char *key)
{
    static const char *const names[] = {"NOSTATE",  "Running", "-",       "Paused",
                                        "Shutdown", "-",       "Crashed", "Suspended"};
    json_t *v = json_object_get(row, key);
    json_int_t s = json_integer_value(v);

    if (!json_is_integer(v) || s < 0 || s >= (json_int_t)TERN_N_ELEMENTS(names))
        return cli_value_text(v);
    return tern_strdup(names[s]);
}

static const cli_column_t server_columns[] = {
    {"UUID", "uuid", NULL},
    {"Name", "name", NULL},
    {"Host", "host", NULL},
    {"VM State", "vm_state", NULL},
    {"Task State", "task_state", NULL},
    {"Power State", "power_state", power_state_cell},
    {"Memory MB", "memory_mb", NULL},
    {"vCPUs", "vcpus", NULL},
    {"Disk GB", "disk_gb", NULL},
};

int
cli_render_server_list(const cli_request_t *req, json_t *result, FILE *out)
{
    return cli_render_member_list(req, result, "servers", server_columns,
                                  TERN_N_ELEMENTS(server_columns), out);
}

int
cli_render_server_show(const cli_request_t *req, json_t *result, FILE *out)
{
    return cli_render_member_object(req, result, "server", out);
}

int
cli_render_server_delete(const cli_request_t *req, json_t *result, FILE *out)
{
    if (!json_is_object(result))
        return tern_error_set(TERN_ERR_RPC, "unexpected answer from the conductor: not an object");
    if (req->format == CLI_FORMAT_JSON)
        cli_print_json(out, result);
    else
        fprintf(out, "Server %s has been deleted.\n",
                json_string_value(json_object_get(req->args, "server")));
    return 0;
}
