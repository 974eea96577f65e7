/*
 * compute/virt/libvirt/cpu.c: the libvirt driver's guest CPUs - what a running guest was given
 * (source side), whether this host can run it (destination side), and which model of
 * [libvirt] cpu_models a new guest gets.
 *
 *   virt_libvirt_get_guest_cpu          the live <cpu>, domain type, arch and machine of a guest;
 *                                       for host-passthrough also this host's capabilities CPU
 *   virt_libvirt_compare_hypervisor_cpu virConnectCompareHypervisorCPU for the guest's virt type,
 *                                       arch and machine with this host's default emulator: the
 *                                       check libvirt itself makes when a migration starts
 *   virt_libvirt_compare_host_cpu       a passthrough guest's source host CPU against ours
 *   virt_libvirt_choose_cpu_model       custom mode: the first of cpu_models this host can run
 *
 * XML is read with libxml2 (libvirt's own output; never a document from a peer: a peer's CPU XML
 * is handed to libvirt or to virt_libvirt_compare_host_cpus, which parses it without network
 * access or entity expansion).
 * Ownership: returned strings are new; inputs are borrowed.
 */
#include "compute/virt/libvirt/libvirt_driver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/error.h"
#include "common/util.h"

#define XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static void
doc_freep(xmlDocPtr *doc)
{
    if (*doc)
        xmlFreeDoc(*doc);
}

#define AUTO_DOC __attribute__((cleanup(doc_freep))) xmlDocPtr

static xmlDocPtr
parse_xml(const char *xml)
{
    return xmlReadMemory(xml, (int)strlen(xml), "cpu.xml", NULL, XML_OPTIONS);
}

/* child: the first element child of node named name, or NULL. */
static xmlNodePtr
child(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    }
    return NULL;
}

/* attr: attribute name of node as a new string ("" when absent). */
static char *
attr(xmlNodePtr node, const char *name)
{
    xmlChar *v = node ? xmlGetProp(node, (const xmlChar *)name) : NULL;
    char *s = tern_strdup(v ? (const char *)v : "");

    xmlFree(v);
    return s;
}

/* text: the text content of node as a new string ("" when node is NULL). */
static char *
text(xmlNodePtr node)
{
    xmlChar *v = node ? xmlNodeGetContent(node) : NULL;
    char *s = tern_strdup(v ? (const char *)v : "");

    xmlFree(v);
    return s;
}

/* serialize: node as XML text (new string). */
static char *
serialize(xmlDocPtr doc, xmlNodePtr node)
{
    xmlBufferPtr buf = xmlBufferCreate();
    char *s;

    xmlNodeDump(buf, doc, node, 0, 0);
    s = tern_strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

/* own_host_cpu_xml: this host's <cpu> from its capabilities (new string), or NULL. */
static char *
own_host_cpu_xml(virt_driver_t *drv)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    TERN_AUTOFREE char *caps = NULL;
    char *cpu;

    if (!conn)
        return NULL;
    if (!(caps = virConnectGetCapabilities(conn))) {
        virt_libvirt_error("could not read the capabilities of \"%s\"", drv->opts.uri);
        return NULL;
    }
    if (!(cpu = virt_xml_extract(caps, "host", "cpu")))
        tern_error_set(TERN_ERR_VIRT, "could not find the host CPU in the capabilities of \"%s\"",
                       drv->opts.uri);
    return cpu;
}

int
virt_libvirt_get_guest_cpu(virt_driver_t *drv, const char *uuid, virt_guest_cpu_t *ret)
{
    TERN_AUTOFREE char *xml = NULL;
    AUTO_DOC doc = NULL;
    virt_guest_cpu_t cpu = {0};
    xmlNodePtr root, type, node;

    if (virt_libvirt_get_domain_xml(drv, uuid, &xml) < 0)
        return -1;
    if (!(doc = parse_xml(xml)) || !(root = xmlDocGetRootElement(doc)) ||
        !(type = child(child(root, "os"), "type")))
        return tern_error_set(TERN_ERR_VIRT,
                              "could not read the CPU of instance \"%s\": its "
                              "domain XML has no <os><type>",
                              uuid);
    cpu.virt_type = attr(root, "type");
    cpu.arch = attr(type, "arch");
    cpu.machine = attr(type, "machine");
    if ((node = child(root, "cpu"))) {
        cpu.mode = attr(node, "mode");
        if (!cpu.mode[0]) { /* libvirt's default: a model makes it custom */
            free(cpu.mode);
            cpu.mode = tern_strdup("custom");
        }
        cpu.xml = serialize(doc, node);
    } else {
        cpu.mode = tern_strdup("");
        cpu.xml = tern_strdup("");
    }
    if (tern_streq(cpu.mode, "host-passthrough") && !(cpu.host_cpu = own_host_cpu_xml(drv))) {
        virt_guest_cpu_clear(&cpu);
        return tern_error_prefix("could not read the CPU of instance \"%s\"", uuid);
    }
    *ret = cpu;
    return 0;
}

/* compare: ask the hypervisor about cpu_xml for virt_type/arch/machine (NULL: its defaults). */
static int
compare(virt_driver_t *drv, const char *virt_type, const char *arch, const char *machine,
        const char *cpu_xml, virt_cpu_compare_t *ret)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    int r;

    if (!conn)
        return -1;
    if (tern_str_empty(cpu_xml))
        return tern_error_set(TERN_ERR_INVALID, "could not compare CPU on \"%s\": empty CPU XML",
                              drv->opts.uri);
    memset(ret, 0, sizeof(*ret));
    r = virConnectCompareHypervisorCPU(conn, NULL, arch, machine, virt_type, cpu_xml,
                                       VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
    if (r == VIR_CPU_COMPARE_ERROR) {
        if (virt_libvirt_last_code() != VIR_ERR_CPU_INCOMPATIBLE)
            return virt_libvirt_error("could not compare CPU on \"%s\"", drv->opts.uri);
        snprintf(ret->reason, sizeof(ret->reason), "%s", virGetLastErrorMessage());
        return 0;
    }
    ret->compatible = r != VIR_CPU_COMPARE_INCOMPATIBLE;
    if (!ret->compatible)
        snprintf(ret->reason, sizeof(ret->reason), "the host CPU is incompatible");
    return 0;
}

int
virt_libvirt_compare_hypervisor_cpu(virt_driver_t *drv, const virt_guest_cpu_t *cpu,
                                    virt_cpu_compare_t *ret)
{
    return compare(drv, cpu->virt_type, cpu->arch, cpu->machine, cpu->xml, ret);
}

/* ---- host CPUs (host-passthrough) ---- */

typedef struct host_cpu {
    char *arch, *vendor, *model; /* owned */
    char **features;             /* owned, NULL-terminated */
    size_t n_features;
} host_cpu_t;

static void
host_cpu_clear(host_cpu_t *c)
{
    free(c->arch);
    free(c->vendor);
    free(c->model);
    for (size_t i = 0; i < c->n_features; i++)
        free(c->features[i]);
    free(c->features);
    memset(c, 0, sizeof(*c));
}

/* host_cpu_parse: a capabilities <cpu> (arch, vendor, model, the features it has). */
static int
host_cpu_parse(const char *xml, const char *whose, host_cpu_t *ret)
{
    AUTO_DOC doc = NULL;
    xmlNodePtr root;
    size_t cap = 0;

    memset(ret, 0, sizeof(*ret));
    if (tern_str_empty(xml) || !(doc = parse_xml(xml)) || !(root = xmlDocGetRootElement(doc)) ||
        strcmp((const char *)root->name, "cpu") != 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid host CPU of %s: not a <cpu> element",
                              whose);
    ret->arch = text(child(root, "arch"));
    ret->vendor = text(child(root, "vendor"));
    ret->model = text(child(root, "model"));
    for (xmlNodePtr c = root->children; c; c = c->next) {
        TERN_AUTOFREE char *policy = NULL;

        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "feature") != 0)
            continue;
        policy = attr(c, "policy");
        if (tern_streq(policy, "disable") || tern_streq(policy, "forbid"))
            continue;
        if (ret->n_features + 1 >= cap) {
            cap = cap ? cap * 2 : 64;
            ret->features = tern_realloc(ret->features, cap * sizeof(char *));
        }
        ret->features[ret->n_features++] = attr(c, "name");
        ret->features[ret->n_features] = NULL;
    }
    return 0;
}

static bool
has_feature(const host_cpu_t *c, const char *name)
{
    for (size_t i = 0; i < c->n_features; i++) {
        if (strcmp(c->features[i], name) == 0)
            return true;
    }
    return false;
}

/* add_reason: append "; " and fmt to ret->reason. */
static void add_reason(virt_cpu_compare_t *ret, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_reason(virt_cpu_compare_t *ret, const char *fmt, ...)
{
    size_t len = strlen(ret->reason);
    va_list ap;

    if (len && len + 2 < sizeof(ret->reason)) {
        memcpy(ret->reason + len, "; ", 3);
        len += 2;
    }
    va_start(ap, fmt);
    vsnprintf(ret->reason + len, sizeof(ret->reason) - len, fmt, ap);
    va_end(ap);
}

int
virt_libvirt_compare_host_cpus(const char *source_xml, const char *here_xml,
                               virt_cpu_compare_t *ret)
{
    host_cpu_t src, here;
    char missing[sizeof(ret->reason)] = "";
    size_t used = 0, n_missing = 0;

    if (host_cpu_parse(source_xml, "the source host", &src) < 0)
        return -1;
    if (host_cpu_parse(here_xml, "this host", &here) < 0) {
        host_cpu_clear(&src);
        return -1;
    }
    memset(ret, 0, sizeof(*ret));
    if (strcmp(src.arch, here.arch) != 0)
        add_reason(ret, "architecture \"%s\" on the source host, \"%s\" here", src.arch, here.arch);
    if (strcmp(src.vendor, here.vendor) != 0)
        add_reason(ret, "vendor \"%s\" on the source host, \"%s\" here", src.vendor, here.vendor);
    if (strcmp(src.model, here.model) != 0)
        add_reason(ret, "model \"%s\" on the source host, \"%s\" here", src.model, here.model);
    for (size_t i = 0; i < src.n_features; i++) {
        if (has_feature(&here, src.features[i]))
            continue;
        n_missing++;
        if (used < sizeof(missing))
            used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%s",
                                     used ? ", " : "", src.features[i]);
    }
    if (n_missing)
        add_reason(ret, "%zu feature%s of the source host missing here: %s", n_missing,
                   n_missing == 1 ? "" : "s", missing);
    ret->compatible = ret->reason[0] == '\0';
    host_cpu_clear(&src);
    host_cpu_clear(&here);
    return 0;
}

int
virt_libvirt_compare_host_cpu(virt_driver_t *drv, const char *host_cpu_xml, virt_cpu_compare_t *ret)
{
    TERN_AUTOFREE char *here = own_host_cpu_xml(drv);

    if (!here)
        return -1;
    return virt_libvirt_compare_host_cpus(host_cpu_xml, here, ret);
}

/* ---- custom mode: the model a new guest gets ---- */

int
virt_libvirt_choose_cpu_model(virt_driver_t *drv, char **ret_model)
{
    char tried[sizeof(((virt_cpu_compare_t *)0)->reason) * 2] = "";
    size_t used = 0;

    for (size_t i = 0; drv->opts.cpu_models[i]; i++) {
        TERN_AUTOFREE char *xml = virt_cpu_xml_build(&drv->opts, drv->opts.cpu_models[i]);
        virt_cpu_compare_t cmp;

        if (compare(drv, drv->opts.virt_type, "x86_64", NULL, xml, &cmp) < 0)
            return tern_error_prefix("could not choose a CPU model");
        if (cmp.compatible) {
            *ret_model = tern_strdup(drv->opts.cpu_models[i]);
            return 0;
        }
        if (used < sizeof(tried))
            used += (size_t)snprintf(tried + used, sizeof(tried) - used, "%s%s: %s",
                                     used ? "; " : "", drv->opts.cpu_models[i], cmp.reason);
    }
    return tern_error_set(TERN_ERR_VIRT,
                          "none of the CPU models of [libvirt] cpu_models can run on \"%s\": %s",
                          drv->opts.uri, tried);
}
