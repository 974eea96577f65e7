/*
 * api/servers.c: GET /v2.1/servers, /v2.1/servers/detail and /v2.1/servers/{id} - the
 * conductor's server_list and server_get, shown as nova shows servers
 * (nova/api/openstack/compute/views/servers.py) at the request's microversion.
 *
 * tern's sizes are shown as flavors named "tern-<memory>mb-<vcpus>vcpu-<disk>gb" (id and name
 * alike; at 2.47 and later the flavor is embedded, as nova does); its image name as the image
 * id. Filters: "host" goes to the conductor (its policy decides who may list); "name" (a POSIX
 * extended regular expression, nova's is a Python one) and "status" are applied here. Other
 * query arguments are ignored, as nova ignores those it does not know.
 */
#include <regex.h>
#include <string.h>

#include "api/api.h"
#include "common/error.h"
#include "common/util.h"

/* status_of: nova's status for a vm_state and task_state (nova/api/openstack/common.py). */
static const char *
status_of(const char *vm_state, const char *task_state)
{
    static const struct {
        const char *vm_state, *status;
    } map[] = {
        {"building", "BUILD"}, {"stopped", "SHUTOFF"}, {"paused", "PAUSED"},
        {"error", "ERROR"},    {"deleted", "DELETED"}, {"suspended", "SUSPENDED"},
    };

    if (tern_streq(vm_state, "active"))
        return tern_streq(task_state, "migrating") ? "MIGRATING" : "ACTIVE";
    for (size_t i = 0; i < TERN_N_ELEMENTS(map); i++)
        if (tern_streq(vm_state, map[i].vm_state))
            return map[i].status;
    return "UNKNOWN";
}

/* nova_time: tern's "2024-05-01T12:00:00.123Z" as nova's "2024-05-01T12:00:00Z" (micro: with
 * ".000000" and no zone, as OS-SRV-USG:launched_at), or null. New reference. */
static json_t *
nova_time(json_t *t, bool micro)
{
    const char *s = json_string_value(t);
    char buf[32];

    if (!s || strlen(s) < 19)
        return json_null();
    memcpy(buf, s, 19);
    strcpy(buf + 19, micro ? ".000000" : "Z");
    return json_string(buf);
}

static json_t *
links(const char *base, const char *what, const char *id, bool self)
{
    json_t *l = json_array();

    if (self)
        json_array_append_new(
            l, json_pack("{s:s, s:s++++}", "rel", "self", "href", base, "/v2.1/", what, "/", id));
    json_array_append_new(
        l, json_pack("{s:s, s:s++++}", "rel", "bookmark", "href", base, "/", what, "/", id));
    return l;
}

/* flavor: the server's size as nova's flavor at req's version. */
static json_t *
flavor(const api_request_t *req, json_t *server)
{
    json_int_t memory = json_integer_value(json_object_get(server, "memory_mb"));
    json_int_t vcpus = json_integer_value(json_object_get(server, "vcpus"));
    json_int_t disk = json_integer_value(json_object_get(server, "disk_gb"));
    TERN_AUTOFREE char *name = tern_asprintf("tern-%lldmb-%lldvcpu-%lldgb", (long long)memory,
                                             (long long)vcpus, (long long)disk);

    if (api_version_ge(req->version, 47))
        return json_pack("{s:I, s:I, s:I, s:i, s:i, s:s, s:{}}", "vcpus", vcpus, "ram", memory,
                         "disk", disk, "ephemeral", 0, "swap", 0, "original_name", name,
                         "extra_specs");
    return json_pack("{s:s, s:o}", "id", name, "links", links(req->base, "flavors", name, false));
}

static json_t *
volumes_attached(const api_request_t *req, json_t *server)
{
    json_t *out = json_array(), *v;
    size_t i;

    json_array_foreach(json_object_get(server, "volumes"), i, v)
    {
        json_t *item =
            json_pack("{s:s}", "id", json_string_value(json_object_get(v, "volume_id")) ?: "");

        if (api_version_ge(req->version, 3))
            json_object_set_new(item, "delete_on_termination", json_false());
        json_array_append_new(out, item);
    }
    return out;
}

/* str: a string member of server, or "" (a borrowed C string). */
static const char *
str(json_t *server, const char *key)
{
    const char *s = json_string_value(json_object_get(server, key));

    return s ? s : "";
}

json_t *
api_view_server(const api_request_t *req, json_t *server, bool detail)
{
    const char *id = str(server, "uuid"), *image = str(server, "image");
    json_t *host = json_object_get(server, "host"), *task = json_object_get(server, "task_state");
    json_t *v;

    if (!detail)
        return json_pack("{s:s, s:s, s:o}", "id", id, "name", str(server, "name"), "links",
                         links(req->base, "servers", id, true));
    v = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{}, s:s, s:{s:s, s:o}, s:o, s:o, s:o, s:{}, s:s, s:s, "
        "s:o, s:s, s:i, s:s, s:s, s:n, s:o, s:n}",
        "id", id, "name", str(server, "name"), "status",
        status_of(str(server, "vm_state"), json_string_value(task)), "tenant_id",
        str(server, "project_id"), "user_id", str(server, "user_id"), "metadata", "hostId", "",
        "image", "id", image, "links", links(req->base, "images", image, false), "flavor",
        flavor(req, server), "created", nova_time(json_object_get(server, "created_at"), false),
        "updated", nova_time(json_object_get(server, "updated_at"), false), "addresses",
        "accessIPv4", "", "accessIPv6", "", "links", links(req->base, "servers", id, true),
        "OS-DCF:diskConfig", "MANUAL", "progress", 0, "OS-EXT-AZ:availability_zone", "nova",
        "config_drive", "", "key_name", "OS-SRV-USG:launched_at",
        nova_time(json_object_get(server, "created_at"), true), "OS-SRV-USG:terminated_at");
    json_object_set(v, "OS-EXT-SRV-ATTR:host", json_is_string(host) ? host : json_null());
    json_object_set(v, "OS-EXT-SRV-ATTR:hypervisor_hostname",
                    json_is_string(json_object_get(server, "node"))
                        ? json_object_get(server, "node")
                        : json_null());
    json_object_set_new(v, "OS-EXT-SRV-ATTR:instance_name", json_string(""));
    json_object_set(v, "OS-EXT-STS:task_state", json_is_string(task) ? task : json_null());
    json_object_set_new(v, "OS-EXT-STS:vm_state", json_string(str(server, "vm_state")));
    json_object_set_new(v, "OS-EXT-STS:power_state",
                        json_integer(json_integer_value(json_object_get(server, "power_state"))));
    json_object_set_new(v, "os-extended-volumes:volumes_attached", volumes_attached(req, server));
    if (api_version_ge(req->version, 3)) {
        json_object_set_new(v, "OS-EXT-SRV-ATTR:reservation_id", json_string(""));
        json_object_set_new(v, "OS-EXT-SRV-ATTR:launch_index", json_integer(0));
        json_object_set_new(v, "OS-EXT-SRV-ATTR:hostname", json_string(str(server, "name")));
        json_object_set_new(v, "OS-EXT-SRV-ATTR:kernel_id", json_string(""));
        json_object_set_new(v, "OS-EXT-SRV-ATTR:ramdisk_id", json_string(""));
        json_object_set_new(v, "OS-EXT-SRV-ATTR:root_device_name", json_string("/dev/vda"));
        json_object_set_new(v, "OS-EXT-SRV-ATTR:user_data", json_null());
    }
    if (api_version_ge(req->version, 9))
        json_object_set_new(v, "locked", json_false());
    if (api_version_ge(req->version, 19))
        json_object_set_new(v, "description", json_null());
    if (api_version_ge(req->version, 26))
        json_object_set_new(v, "tags", json_array());
    if (api_version_ge(req->version, 63))
        json_object_set_new(v, "trusted_image_certificates", json_null());
    if (api_version_ge(req->version, 73))
        json_object_set_new(v, "locked_reason", json_null());
    return v;
}

/* list: server_list (with the host filter), each shown detailed or not, filtered by name and
 * status. */
static int
list(const api_request_t *req, bool detail, json_t **ret_body)
{
    const char *host = api_query(req, "host"), *name = api_query(req, "name");
    const char *status = api_query(req, "status");
    json_t *args = json_pack("{s:s*}", "host", host), *result = NULL, *servers, *s;
    regex_t re;
    size_t i;

    if (name && regcomp(&re, name, REG_EXTENDED | REG_NOSUB) != 0) {
        json_decref(args);
        TERN_AUTOFREE char *msg = tern_asprintf("Invalid regular expression for name: %s", name);

        *ret_body = api_error_body(400, msg);
        return 400;
    }
    if (api_call(req, "server_list", args, &result) < 0) {
        int status_code = api_error_status();

        json_decref(args);
        if (name)
            regfree(&re);
        *ret_body = api_error_body(status_code, tern_error_message());
        return status_code;
    }
    json_decref(args);
    servers = json_array();
    json_array_foreach(json_object_get(result, "servers"), i, s)
    {
        if (name && regexec(&re, str(s, "name"), 0, NULL, 0) != 0)
            continue;
        if (status &&
            strcasecmp(status, status_of(str(s, "vm_state"),
                                         json_string_value(json_object_get(s, "task_state")))) != 0)
            continue;
        json_array_append_new(servers, api_view_server(req, s, detail));
    }
    if (name)
        regfree(&re);
    json_decref(result);
    *ret_body = json_pack("{s:o}", "servers", servers);
    return 200;
}

int
api_servers_index(const api_request_t *req, json_t **ret_body)
{
    return list(req, false, ret_body);
}

int
api_servers_detail(const api_request_t *req, json_t **ret_body)
{
    return list(req, true, ret_body);
}

int
api_servers_show(const api_request_t *req, const char *id, json_t **ret_body)
{
    json_t *args, *result = NULL;
    int status;

    /* nova finds a server by its uuid alone: a name is not found (the clients then list by
     * name), and the conductor, which also takes names, is not asked */
    if (!tern_uuid_valid(id)) {
        TERN_AUTOFREE char *msg = tern_asprintf("Instance %.64s could not be found.", id);

        *ret_body = api_error_body(404, msg);
        return 404;
    }
    args = json_pack("{s:s}", "server", id);
    if (api_call(req, "server_get", args, &result) < 0) {
        json_decref(args);
        status = api_error_status();
        if (status == 404) {
            TERN_AUTOFREE char *msg = tern_asprintf("Instance %s could not be found.", id);

            *ret_body = api_error_body(404, msg);
        } else {
            *ret_body = api_error_body(status, tern_error_message());
        }
        return status;
    }
    json_decref(args);
    *ret_body =
        json_pack("{s:o}", "server", api_view_server(req, json_object_get(result, "server"), true));
    json_decref(result);
    return 200;
}
