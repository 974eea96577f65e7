/*
 * tools/cli/cmd-services.c: service-list, service-disable, service-enable, hypervisor-list and
 * hypervisor-show - their arguments and their output.
 * Owns nothing across calls.
 */
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "tools/cli/cli.h"

int
cli_build_service_list(const cli_parsed_t *p, cli_request_t *req)
{
    const char *host = cli_parsed_get(p, "host"), *binary = cli_parsed_get(p, "binary");

    if ((host && cli_check_name(host, "--host") < 0) ||
        (binary && cli_check_name(binary, "--binary") < 0))
        return -1;
    req->args = json_object();
    if (host)
        json_object_set_new(req->args, "host", json_string(host));
    if (binary)
        json_object_set_new(req->args, "binary", json_string(binary));
    return 0;
}

/* service-disable and service-enable: the command's name says which. */
int
cli_build_service_update(const cli_parsed_t *p, cli_request_t *req)
{
    bool disable = strcmp(p->command->name, "service-disable") == 0;
    const char *reason = disable ? cli_parsed_get(p, "reason") : NULL;

    if (cli_check_name(p->args[0], "HOST") < 0 || cli_check_name(p->args[1], "BINARY") < 0 ||
        (reason && cli_check_name(reason, "--reason") < 0))
        return -1;
    req->args = tern_json_pack("{s:s, s:s, s:b}", "host", p->args[0], "binary", p->args[1],
                               "disabled", disable);
    if (reason)
        json_object_set_new(req->args, "reason", json_string(reason));
    return 0;
}

int
cli_build_hypervisor_list(const cli_parsed_t *p, cli_request_t *req)
{
    req->args = json_object();
    return 0;
}

int
cli_build_hypervisor_show(const cli_parsed_t *p, cli_request_t *req)
{
    if (cli_check_name(p->args[0], "HOST") < 0)
        return -1;
    req->args = tern_json_pack("{s:s}", "host", p->args[0]);
    return 0;
}

static const cli_column_t service_columns[] = {
    {"Binary", "binary", NULL},
    {"Host", "host", NULL},
    {"Status", "status", NULL},
    {"State", "state", NULL},
    {"Last Heartbeat", "last_heartbeat", NULL},
    {"Maintenance", "maintenance", NULL},
    {"Disabled Reason", "disabled_reason", NULL},
    {"Forced Down", "forced_down", NULL},
    {"Version", "version", NULL},
};

int
cli_render_service_list(const cli_request_t *req, json_t *result, FILE *out)
{
    return cli_render_member_list(req, result, "services", service_columns,
                                  TERN_N_ELEMENTS(service_columns), out);
}

int
cli_render_service_show(const cli_request_t *req, json_t *result, FILE *out)
{
    return cli_render_member_object(req, result, "service", out);
}

/* "used / total" of two integer fields. */
static char *
used_of_cell(const json_t *row, const char *key)
{
    TERN_AUTOFREE char *used_key = tern_asprintf("%s_used", key);
    TERN_AUTOFREE char *used = cli_value_text(json_object_get(row, used_key));
    TERN_AUTOFREE char *total = cli_value_text(json_object_get(row, key));

    return tern_asprintf("%s / %s", used, total);
}

static const cli_column_t hypervisor_columns[] = {
    {"Host", "host", NULL},
    {"Hypervisor Hostname", "hypervisor_hostname", NULL},
    {"Type", "hypervisor_type", NULL},
    {"State", "state", NULL},
    {"Status", "status", NULL},
    {"vCPUs Used / Total", "vcpus", used_of_cell},
    {"Memory MB Used / Total", "memory_mb", used_of_cell},
    {"Disk GB Used / Total", "local_gb", used_of_cell},
    {"Running VMs", "running_vms", NULL},
};

int
cli_render_hypervisor_list(const cli_request_t *req, json_t *result, FILE *out)
{
    return cli_render_member_list(req, result, "hypervisors", hypervisor_columns,
                                  TERN_N_ELEMENTS(hypervisor_columns), out);
}

int
cli_render_hypervisor_show(const cli_request_t *req, json_t *result, FILE *out)
{
    return cli_render_member_object(req, result, "hypervisor", out);
}
