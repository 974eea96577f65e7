/*
 * compute/virt/libvirt/domain.c: the libvirt driver's domains - spawn (define persistently and
 * start), destroy (stop, undefine, delete files), state, XML, the list of instances, resume.
 *
 * Messages name the step and the instance: could not start instance "0f3c...": <libvirt's reason>.
 * Ownership: domain references are released in the function that took them; returned strings
 * and arrays are new.
 */
#include "compute/virt/libvirt/libvirt_driver.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

static void
domain_freep(virDomainPtr *dom)
{
    if (*dom)
        virDomainFree(*dom);
}

#define AUTO_DOMAIN __attribute__((cleanup(domain_freep))) virDomainPtr

int
virt_libvirt_spawn(virt_driver_t *drv, const virt_instance_t *inst)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    TERN_AUTOFREE char *xml = NULL;
    TERN_AUTOFREE char *model = NULL;
    AUTO_DOMAIN dom = NULL;
    int active;

    if (!conn)
        return -1;
    if (tern_streq(drv->opts.cpu_mode, "custom") && virt_libvirt_choose_cpu_model(drv, &model) < 0)
        return tern_error_prefix("could not spawn instance \"%s\"", inst->uuid);
    if (virt_libvirt_create_disks(drv, inst, false) < 0)
        return tern_error_prefix("could not spawn instance \"%s\"", inst->uuid);
    xml = virt_domain_xml_build(&drv->opts, inst, model);
    dom = virDomainDefineXML(conn, xml);
    if (!dom)
        return virt_libvirt_error("could not define instance \"%s\"", inst->uuid);
    active = virDomainIsActive(dom);
    if (active < 0)
        return virt_libvirt_error("could not read the state of instance \"%s\"", inst->uuid);
    if (active)
        return 0;
    if (virDomainCreate(dom) < 0) {
        int ret = virt_libvirt_error("could not start instance \"%s\"", inst->uuid);
        tern_error_t err;

        tern_error_copy(&err);
        virDomainUndefine(dom); /* leave nothing half made; the start error is what matters */
        tern_error_restore(&err);
        return ret;
    }
    return 0;
}

int
virt_libvirt_destroy(virt_driver_t *drv, const virt_instance_t *inst, bool delete_files)
{
    bool missing;
    AUTO_DOMAIN dom = virt_libvirt_lookup(drv, inst->uuid, &missing);

    if (!dom && !missing)
        return -1;
    if (dom) {
        int active = virDomainIsActive(dom);
        int persistent = virDomainIsPersistent(dom);

        if (active < 0 || persistent < 0)
            return virt_libvirt_error("could not read the state of instance \"%s\"", inst->uuid);
        if (active && virDomainDestroy(dom) < 0 &&
            virt_libvirt_last_code() != VIR_ERR_OPERATION_INVALID)
            return virt_libvirt_error("could not stop instance \"%s\"", inst->uuid);
        if (persistent && virDomainUndefine(dom) < 0 &&
            virt_libvirt_last_code() != VIR_ERR_NO_DOMAIN)
            return virt_libvirt_error("could not undefine instance \"%s\"", inst->uuid);
    }
    tern_error_reset();
    if (delete_files)
        return virt_libvirt_delete_instance_files(drv, inst->uuid);
    return 0;
}

/* pause_reason_name: a virDomainPausedReason as a word (static). */
static const char *
pause_reason_name(int reason)
{
    switch (reason) {
    case VIR_DOMAIN_PAUSED_USER:
        return "user";
    case VIR_DOMAIN_PAUSED_MIGRATION:
        return "migration";
    case VIR_DOMAIN_PAUSED_IOERROR:
        return "io-error";
    case VIR_DOMAIN_PAUSED_STARTING_UP:
        return "starting-up";
    case VIR_DOMAIN_PAUSED_POSTCOPY:
        return "postcopy";
    case VIR_DOMAIN_PAUSED_POSTCOPY_FAILED:
        return "postcopy-failed";
    case VIR_DOMAIN_PAUSED_API_ERROR:
        return "api-error";
    default:
        return "other";
    }
}

/* postcopy_of: where a domain in state/reason stands in a post-copy migration. */
static virt_postcopy_t
postcopy_of(int state, int reason)
{
    if ((state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY) ||
        (state == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_POSTCOPY))
        return VIRT_POSTCOPY_ACTIVE;
    if ((state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED) ||
        (state == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED))
        return VIRT_POSTCOPY_FAILED;
    return VIRT_POSTCOPY_NONE;
}

/* state_of: libvirt's domain state as tern's. */
static virt_state_t
state_of(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
        return VIRT_STATE_RUNNING;
    case VIR_DOMAIN_PAUSED:
        return VIRT_STATE_PAUSED;
    case VIR_DOMAIN_SHUTOFF:
        return VIRT_STATE_SHUTOFF;
    case VIR_DOMAIN_CRASHED:
        return VIRT_STATE_CRASHED;
    default:
        return VIRT_STATE_OTHER;
    }
}

int
virt_libvirt_get_domain_info(virt_driver_t *drv, const char *uuid, virt_domain_info_t *ret)
{
    bool missing;
    AUTO_DOMAIN dom = virt_libvirt_lookup(drv, uuid, &missing);
    int state, reason, persistent;

    memset(ret, 0, sizeof(*ret));
    if (!dom) {
        if (!missing)
            return -1;
        tern_error_reset();
        return 0;
    }
    if (virDomainGetState(dom, &state, &reason, 0) < 0 ||
        (persistent = virDomainIsPersistent(dom)) < 0)
        return virt_libvirt_error("could not read the state of instance \"%s\"", uuid);
    ret->exists = true;
    ret->persistent = persistent == 1;
    ret->state = state_of(state);
    ret->postcopy = postcopy_of(state, reason);
    if (ret->state == VIRT_STATE_PAUSED)
        ret->pause_reason = pause_reason_name(reason);
    if (ret->state == VIRT_STATE_RUNNING || ret->state == VIRT_STATE_PAUSED) {
        virDomainJobInfo job;

        if (virDomainGetJobInfo(dom, &job) == 0)
            ret->job_active = job.type != VIR_DOMAIN_JOB_NONE;
        else if (virGetLastErrorCode() == VIR_ERR_OPERATION_UNSUPPORTED)
            ret->job_active = true; /* an incoming migration: its statistics are the source's */
        else
            return virt_libvirt_error("could not read the job of instance \"%s\"", uuid);
    }
    return 0;
}

int
virt_libvirt_get_domain_xml(virt_driver_t *drv, const char *uuid, char **ret_xml)
{
    AUTO_DOMAIN dom = virt_libvirt_lookup(drv, uuid, NULL);
    char *xml;

    if (!dom)
        return -1;
    xml = virDomainGetXMLDesc(dom, 0);
    if (!xml)
        return virt_libvirt_error("could not read the XML of instance \"%s\"", uuid);
    *ret_xml = xml;
    return 0;
}

int
virt_libvirt_list_instances(virt_driver_t *drv, char ***ret_uuids, size_t *ret_n)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    virDomainPtr *doms = NULL;
    char **uuids;
    int n;

    if (!conn)
        return -1;
    n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0)
        return virt_libvirt_error("could not list the domains of \"%s\"", drv->opts.uri);
    uuids = tern_calloc((size_t)n + 1, sizeof(*uuids));
    for (int i = 0; i < n; i++) {
        char buf[VIR_UUID_STRING_BUFLEN];

        if (virDomainGetUUIDString(doms[i], buf) < 0)
            buf[0] = '\0';
        uuids[i] = tern_strdup(buf);
        virDomainFree(doms[i]);
    }
    free(doms);
    *ret_uuids = uuids;
    *ret_n = (size_t)n;
    return 0;
}

int
virt_libvirt_resume(virt_driver_t *drv, const char *uuid)
{
    AUTO_DOMAIN dom = virt_libvirt_lookup(drv, uuid, NULL);

    if (!dom)
        return -1;
    if (virDomainResume(dom) < 0)
        return virt_libvirt_error("could not resume instance \"%s\"", uuid);
    return 0;
}
