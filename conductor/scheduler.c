/*
 * conductor/scheduler.c: filter and weigh destinations (see conductor/scheduler.h).
 *
 * Owns nothing across calls.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "conductor/checks.h"
#include "conductor/scheduler.h"

typedef struct candidate {
    const char *host;    /* borrowed from the node list */
    int64_t free_ram_mb; /* weight: memory left once claims are counted */
} candidate_t;

static int
candidate_cmp(const void *a, const void *b)
{
    const candidate_t *x = a, *y = b;

    if (x->free_ram_mb != y->free_ram_mb)
        return x->free_ram_mb > y->free_ram_mb ? -1 : 1;
    return strcmp(x->host, y->host); /* stable order for equal weights */
}

/* host_passes: every conductor-side check, as a filter; *ret_free what the node has left. */
static int
host_passes(conductor_t *cond, db_conn_t *db, const db_instance_t *inst,
            const db_compute_node_t *source, const db_compute_node_t *node, bool with_disk,
            db_resources_t *ret_free)
{
    if (conductor_check_hosts_differ(inst, node->host) < 0 ||
        conductor_check_destination_up(cond, db, node->host) < 0 ||
        conductor_check_destination_resources(db, inst, node, with_disk, ret_free) < 0 ||
        conductor_check_hypervisor_compatible(inst, source, node) < 0)
        return -1;
    return 0;
}

int
conductor_select_destinations(conductor_t *cond, db_conn_t *db, const db_instance_t *inst,
                              const db_compute_node_t *source, bool with_disk, char ***ret_hosts,
                              size_t *ret_n)
{
    db_compute_node_t *nodes = NULL;
    size_t n_nodes = 0, n = 0;
    candidate_t *cands;
    char reasons[TERN_ERROR_MSG_MAX / 2] = "";
    size_t used = 0;
    char **hosts;

    if (db_compute_node_list(db, NULL, &nodes, &n_nodes) < 0)
        return -1;
    cands = tern_calloc(n_nodes + 1, sizeof(*cands));
    for (size_t i = 0; i < n_nodes; i++) {
        db_resources_t left = {0};

        if (host_passes(cond, db, inst, source, &nodes[i], with_disk, &left) < 0) {
            if (!tern_streq(nodes[i].host, inst->host) && used < sizeof(reasons))
                used += (size_t)snprintf(reasons + used, sizeof(reasons) - used, "%s%s",
                                         used ? "; " : "", tern_error_message());
            continue;
        }
        cands[n].host = nodes[i].host;
        cands[n].free_ram_mb = left.memory_mb;
        n++;
    }
    if (n == 0) {
        free(cands);
        db_compute_node_list_free(nodes, n_nodes);
        return tern_error_set(TERN_ERR_CHECK_FAILED, "no valid host for instance \"%s\": %s",
                              inst->uuid, used ? reasons : "no other compute host");
    }
    qsort(cands, n, sizeof(*cands), candidate_cmp);
    hosts = tern_calloc(n, sizeof(*hosts));
    for (size_t i = 0; i < n; i++)
        hosts[i] = tern_strdup(cands[i].host);
    free(cands);
    db_compute_node_list_free(nodes, n_nodes);
    *ret_hosts = hosts;
    *ret_n = n;
    return 0;
}

void
conductor_hosts_free(char **hosts, size_t n)
{
    if (!hosts)
        return;
    for (size_t i = 0; i < n; i++)
        free(hosts[i]);
    free(hosts);
}
