/*
 * db/capacity.c: tern's one capacity rule (db/capacity.h).
 */
#include "db/capacity.h"

#include <math.h>

#include "common/error.h"

/* One resource of a node as the rule counts it. */
typedef struct resource {
    const char *name; /* " MiB of memory", " vCPUs", " GiB of disk" (after the figure) */
    const char *unit; /* " MiB", "", " GiB" */
    int64_t total, used, reserved, claimed, request;
    double ratio;
} resource_t;

/* usable: (total - reserved) x ratio, rounded down - but a product that is a whole number in
 * decimal (2950 x 0.7 = 2065) stays whole although binary floating point makes it 2064.99...: the
 * epsilon is far below what any ratio of interest can add. */
static int64_t
usable(const resource_t *r)
{
    return (int64_t)floor((double)(r->total - r->reserved) * r->ratio + 1e-6);
}

/* resources: the three resources of node, with claimed and request (NULL: 0) filled in. */
static void
resources(const db_compute_node_t *node, const db_resources_t *claimed,
          const db_resources_t *request, resource_t ret[3])
{
    static const db_resources_t none = {0};

    if (!claimed)
        claimed = &none;
    if (!request)
        request = &none;
    ret[0] = (resource_t){" MiB of memory",
                          " MiB",
                          node->memory_mb,
                          node->memory_mb_used,
                          node->reserved_host_memory_mb,
                          claimed->memory_mb,
                          request->memory_mb,
                          node->ram_allocation_ratio};
    ret[1] = (resource_t){" vCPUs",
                          "",
                          node->vcpus,
                          node->vcpus_used,
                          node->reserved_host_cpus,
                          claimed->vcpus,
                          request->vcpus,
                          node->cpu_allocation_ratio};
    ret[2] = (resource_t){" GiB of disk",
                          " GiB",
                          node->local_gb,
                          node->local_gb_used,
                          node->reserved_host_disk_gb,
                          claimed->disk_gb,
                          request->disk_gb,
                          node->disk_allocation_ratio};
}

int
db_capacity_fits(const db_compute_node_t *node, const db_resources_t *claimed,
                 const db_resources_t *request, const char *for_what)
{
    resource_t r[3];

    resources(node, claimed, request, r);
    for (size_t i = 0; i < 3; i++) {
        int64_t u = usable(&r[i]);

        if (r[i].request <= 0 || r[i].used + r[i].claimed + r[i].request <= u)
            continue;
        return tern_error_set(
            TERN_ERR_CHECK_FAILED,
            "host \"%s\" node \"%s\" cannot take %s: %lld%s needed, "
            "%lld%s free (%lld used and %lld claimed of %lld%s usable: (%lld - "
            "%lld reserved) x %g)",
            node->host, node->hypervisor_hostname, for_what, (long long)r[i].request, r[i].name,
            (long long)(u - r[i].used - r[i].claimed), r[i].unit, (long long)r[i].used,
            (long long)r[i].claimed, (long long)u, r[i].unit, (long long)r[i].total,
            (long long)r[i].reserved, r[i].ratio);
    }
    return 0;
}

void
db_capacity_free(const db_compute_node_t *node, const db_resources_t *claimed,
                 db_resources_t *ret_free)
{
    resource_t r[3];

    resources(node, claimed, NULL, r);
    ret_free->memory_mb = usable(&r[0]) - r[0].used - r[0].claimed;
    ret_free->vcpus = usable(&r[1]) - r[1].used - r[1].claimed;
    ret_free->disk_gb = usable(&r[2]) - r[2].used - r[2].claimed;
}
