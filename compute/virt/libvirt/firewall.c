/*
 * compute/virt/libvirt/firewall.c: the per-instance nwfilter "tern-instance-<uuid>".
 *
 * The filter (built by virt_filter_xml_build) references libvirt's clean-traffic filter (no MAC,
 * IP or ARP spoofing), accepts replies and what the security-group rules allow, and drops the
 * rest. Interfaces point at it with <filterref>; a destination must define it before an incoming
 * migration, else libvirt refuses the domain ("referenced filter ... is missing").
 *
 * Ownership: filter references are released here; returned names are new.
 */
#include "compute/virt/libvirt/libvirt_driver.h"

#include <stdlib.h>

#include "common/error.h"
#include "common/util.h"

int
virt_libvirt_define_instance_filter(virt_driver_t *drv, const char *uuid,
                                    const virt_secgroup_rule_t *rules, size_t n_rules,
                                    char **ret_name)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    TERN_AUTOFREE char *xml = NULL;
    virNWFilterPtr filter;

    if (!conn)
        return -1;
    if (!tern_uuid_valid(uuid))
        return tern_error_set(TERN_ERR_INVALID, "invalid instance uuid \"%s\"", uuid ? uuid : "");
    xml = virt_filter_xml_build(uuid, rules, n_rules);
    filter = virNWFilterDefineXML(conn, xml);
    if (!filter)
        return virt_libvirt_error("could not define the firewall of instance \"%s\" on \"%s\"",
                                  uuid, drv->opts.uri);
    virNWFilterFree(filter);
    if (ret_name)
        *ret_name = virt_instance_filter_name(uuid);
    return 0;
}

int
virt_libvirt_undefine_instance_filter(virt_driver_t *drv, const char *uuid)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    TERN_AUTOFREE char *name = NULL;
    virNWFilterPtr filter;
    int rc = 0;

    if (!conn)
        return -1;
    if (!tern_uuid_valid(uuid))
        return tern_error_set(TERN_ERR_INVALID, "invalid instance uuid \"%s\"", uuid ? uuid : "");
    name = virt_instance_filter_name(uuid);
    filter = virNWFilterLookupByName(conn, name);
    if (!filter) {
        if (virt_libvirt_last_code() == VIR_ERR_NO_NWFILTER)
            return 0;
        return virt_libvirt_error("could not look up firewall \"%s\" on \"%s\"", name,
                                  drv->opts.uri);
    }
    if (virNWFilterUndefine(filter) < 0)
        rc =
            virt_libvirt_error("could not undefine firewall \"%s\" on \"%s\"", name, drv->opts.uri);
    virNWFilterFree(filter);
    return rc;
}

int
virt_libvirt_filter_exists(virt_driver_t *drv, const char *name, bool *ret_exists)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    virNWFilterPtr filter;

    if (!conn)
        return -1;
    filter = virNWFilterLookupByName(conn, name);
    if (!filter) {
        if (virt_libvirt_last_code() != VIR_ERR_NO_NWFILTER)
            return virt_libvirt_error("could not look up firewall \"%s\" on \"%s\"", name,
                                      drv->opts.uri);
        *ret_exists = false;
        return 0;
    }
    virNWFilterFree(filter);
    *ret_exists = true;
    return 0;
}
