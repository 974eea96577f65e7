/*
 * compute/virt/libvirt/network.c: the Linux bridges instances' interfaces plug into.
 *
 * A bridge is made with `ip link add NAME type bridge` and `ip link set NAME up`, run from an argv
 * array inside the host's network namespace (`ip -n NETNS ...` when opts.netns is set, as for a
 * test in the root namespace looking after a testbed host). A bridge tern makes carries the alias
 * BRIDGE_OWNER_ALIAS (ip link's ifalias, kept by the kernel with the link, so it survives a
 * restart of tern-compute); it is removed when no domain defined on this host references it any
 * more. A bridge tern did not make - an operator's, an uplink - is used only when the operator
 * listed it ([compute] allowed_bridges, opts.allowed_bridges), never otherwise, and it is never
 * removed.
 *
 * Ownership: nothing is kept between calls.
 */
#include "compute/virt/libvirt/libvirt_driver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

static bool
bridge_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > VIRT_BRIDGE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

/* run_ip: ip [-n NETNS] ARGS... */
static int
run_ip(virt_driver_t *drv, const char *const args[], tern_command_result_t *ret)
{
    const char *argv[16];
    size_t n = 0;

    argv[n++] = drv->opts.ip;
    if (drv->opts.netns) {
        argv[n++] = "-n";
        argv[n++] = drv->opts.netns;
    }
    for (size_t i = 0; args[i] && n < TERN_N_ELEMENTS(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return virt_libvirt_run(drv, argv, ret);
}

#define BRIDGE_OWNER_ALIAS "made by tern-compute"

/* bridge_state: whether a bridge named bridge exists and (ret_owned, may be NULL) whether tern
 * made it: its line of `ip -o link show type bridge` carries the owner's alias. */
static int
bridge_state(virt_driver_t *drv, const char *bridge, bool *ret_exists, bool *ret_owned)
{
    const char *args[] = {"-o", "link", "show", "type", "bridge", NULL};
    tern_command_result_t res = {0};
    TERN_AUTOFREE char *needle = tern_asprintf(": %s:", bridge);
    const char *line, *end;

    if (run_ip(drv, args, &res) < 0) {
        tern_command_result_clear(&res);
        return tern_error_prefix("could not list bridges");
    }
    line = strstr(res.out, needle);
    *ret_exists = line != NULL;
    if (ret_owned) {
        TERN_AUTOFREE char *own = NULL;

        end = line ? strchr(line, '\n') : NULL;
        own = line ? tern_strndup(line, end ? (size_t)(end - line) : strlen(line)) : NULL;
        *ret_owned = own && strstr(own, "alias " BRIDGE_OWNER_ALIAS) != NULL;
    }
    tern_command_result_clear(&res);
    return 0;
}

static int
bridge_exists(virt_driver_t *drv, const char *bridge, bool *ret_exists)
{
    return bridge_state(drv, bridge, ret_exists, NULL);
}

/* bridge_allowed: whether the operator listed bridge for guests' use. */
static bool
bridge_allowed(const virt_driver_t *drv, const char *bridge)
{
    for (size_t i = 0; drv->opts.allowed_bridges && drv->opts.allowed_bridges[i]; i++)
        if (tern_streq(drv->opts.allowed_bridges[i], bridge))
            return true;
    return false;
}

static int
ensure_bridge_locked(virt_driver_t *drv, const char *bridge)
{
    const char *add[] = {"link", "add", "name", bridge, "type", "bridge", NULL};
    const char *mark[] = {"link", "set", "dev", bridge, "alias", BRIDGE_OWNER_ALIAS, NULL};
    const char *up[] = {"link", "set", "dev", bridge, "up", NULL};
    bool exists, owned = false;

    if (!bridge_name_valid(bridge))
        return tern_error_set(TERN_ERR_INVALID, "invalid bridge name \"%s\"", bridge ? bridge : "");
    if (bridge_state(drv, bridge, &exists, &owned) < 0)
        return tern_error_prefix("could not ensure bridge \"%s\"", bridge);
    if (exists && !owned && !bridge_allowed(drv, bridge))
        return tern_error_set(TERN_ERR_PERMISSION,
                              "bridge \"%s\" was not made by tern and is not in [compute] "
                              "allowed_bridges: a guest may not use it",
                              bridge);
    if (!exists && run_ip(drv, add, NULL) < 0) {
        /* Someone else may have made it meanwhile: theirs, then. */
        if (bridge_exists(drv, bridge, &exists) < 0 || !exists)
            return tern_error_prefix("could not create bridge \"%s\"", bridge);
    } else if (!exists && run_ip(drv, mark, NULL) < 0) {
        return tern_error_prefix("could not mark bridge \"%s\" as made by tern", bridge);
    }
    if (run_ip(drv, up, NULL) < 0)
        return tern_error_prefix("could not set bridge \"%s\" up", bridge);
    return 0;
}

/* bridge_in_use: whether any defined domain has an interface on bridge. */
static int
bridge_in_use(virt_driver_t *drv, const char *bridge, bool *ret_used)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    virDomainPtr *doms = NULL;
    TERN_AUTOFREE char *needle = tern_asprintf("<source bridge='%s'/>", bridge);
    int n, rc = 0;

    *ret_used = false;
    if (!conn)
        return -1;
    n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0)
        return virt_libvirt_error("could not list the domains of \"%s\"", drv->opts.uri);
    for (int i = 0; i < n; i++) {
        if (rc == 0 && !*ret_used) {
            char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);

            if (!xml)
                rc = virt_libvirt_error("could not read a domain XML on \"%s\"", drv->opts.uri);
            else if (strstr(xml, needle))
                *ret_used = true;
            free(xml);
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    return rc;
}

static int
remove_bridge_locked(virt_driver_t *drv, const char *bridge, bool *ret_removed)
{
    const char *del[] = {"link", "del", "dev", bridge, NULL};
    bool exists, used, owned;

    if (ret_removed)
        *ret_removed = false;
    if (!bridge_name_valid(bridge))
        return tern_error_set(TERN_ERR_INVALID, "invalid bridge name \"%s\"", bridge ? bridge : "");
    if (bridge_state(drv, bridge, &exists, &owned) < 0)
        return tern_error_prefix("could not remove bridge \"%s\"", bridge);
    if (!exists || !owned)
        return 0; /* gone, or not tern's to remove */
    if (bridge_in_use(drv, bridge, &used) < 0)
        return tern_error_prefix("could not remove bridge \"%s\"", bridge);
    if (used)
        return 0;
    if (run_ip(drv, del, NULL) < 0)
        return tern_error_prefix("could not remove bridge \"%s\"", bridge);
    if (ret_removed)
        *ret_removed = true;
    return 0;
}

/* The host's bridges are shared by its instances: made and removed one at a time, so that a
 * removal never interleaves with a making (priv->net_lock). A bridge made for an incoming
 * migration is still "unused" until the domain arrives: a concurrent clean-up of another
 * instance on that bridge can remove it in that window (the migration then fails and rolls
 * back); counting prepared instances as users would close it. */
int
virt_libvirt_ensure_bridge(virt_driver_t *drv, const char *bridge)
{
    virt_libvirt_priv_t *priv = drv->priv;
    int rc;

    pthread_mutex_lock(&priv->net_lock);
    rc = ensure_bridge_locked(drv, bridge);
    pthread_mutex_unlock(&priv->net_lock);
    return rc;
}

int
virt_libvirt_remove_bridge_if_unused(virt_driver_t *drv, const char *bridge, bool *ret_removed)
{
    virt_libvirt_priv_t *priv = drv->priv;
    int rc;

    pthread_mutex_lock(&priv->net_lock);
    rc = remove_bridge_locked(drv, bridge, ret_removed);
    pthread_mutex_unlock(&priv->net_lock);
    return rc;
}
