/*
 * compute/virt/libvirt/domain_xml.c: the XML the libvirt driver writes - domain definitions and
 * nwfilters - plus the two small text operations it needs on libvirt's own XML (extracting an
 * element, rewriting path prefixes for a destination with another instances path).
 *
 * Pure functions (no libvirt calls): the unit tests check their output. Every value placed in
 * XML is escaped, though the instance validation (instance.c) already refuses quotes and markup
 * in paths and names.
 *
 * Ownership: every function returns a new string the caller frees.
 */
#include "compute/virt/libvirt/libvirt_driver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct {
    char *s;
    size_t len;
    size_t cap;
} xbuf_t;

static void xbuf_printf(xbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
xbuf_add(xbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = tern_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
xbuf_printf(xbuf_t *b, const char *fmt, ...)
{
    TERN_AUTOFREE char *s = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    xbuf_add(b, s, (size_t)n);
}

char *
virt_xml_escape(const char *s)
{
    xbuf_t b = {0};

    xbuf_add(&b, "", 0);
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            xbuf_add(&b, "&amp;", 5);
            break;
        case '<':
            xbuf_add(&b, "&lt;", 4);
            break;
        case '>':
            xbuf_add(&b, "&gt;", 4);
            break;
        case '\'':
            xbuf_add(&b, "&apos;", 6);
            break;
        case '"':
            xbuf_add(&b, "&quot;", 6);
            break;
        default:
            xbuf_add(&b, s, 1);
        }
    }
    return b.s;
}

/* Shorthand: escaped copy freed at scope end. */
#define ESC(var, s) TERN_AUTOFREE char *var = virt_xml_escape(s)

static void
disk_xml(xbuf_t *b, const virt_options_t *opts, const virt_disk_t *d)
{
    ESC(path, d->path);
    ESC(target, d->target);
    ESC(format, d->format);
    ESC(cache, d->shared || d->is_volume ? "none" : opts->disk_cache);

    xbuf_printf(b, "    <disk type='file' device='disk'>\n");
    xbuf_printf(b, "      <driver name='qemu' type='%s' cache='%s'/>\n", format, cache);
    xbuf_printf(b, "      <source file='%s'/>\n", path);
    xbuf_printf(b, "      <target dev='%s' bus='virtio'/>\n", target);
    if (d->readonly)
        xbuf_printf(b, "      <readonly/>\n");
    if (d->shared)
        xbuf_printf(b, "      <shareable/>\n");
    if (d->is_volume) {
        ESC(serial, d->volume_id);
        xbuf_printf(b, "      <serial>%s</serial>\n", serial);
    }
    xbuf_printf(b, "    </disk>\n");
}

static void
interface_xml(xbuf_t *b, const virt_interface_t *nic)
{
    ESC(mac, nic->mac);
    ESC(bridge, nic->bridge);

    xbuf_printf(b, "    <interface type='bridge'>\n");
    xbuf_printf(b, "      <mac address='%s'/>\n", mac);
    xbuf_printf(b, "      <source bridge='%s'/>\n", bridge);
    xbuf_printf(b, "      <model type='virtio'/>\n");
    if (nic->filter_name) {
        ESC(filter, nic->filter_name);
        xbuf_printf(b, "      <filterref filter='%s'/>\n", filter);
    }
    xbuf_printf(b, "    </interface>\n");
}

char *
virt_cpu_xml_build(const virt_options_t *opts, const char *model)
{
    const char *mode = opts->cpu_mode ? opts->cpu_mode : "none";
    bool custom = tern_streq(mode, "custom");
    bool flags = opts->cpu_extra_flags && opts->cpu_extra_flags[0];
    xbuf_t b = {0};
    ESC(m, mode);

    if (tern_streq(mode, "none"))
        return NULL;
    xbuf_printf(&b, "<cpu mode='%s'%s%s%s>", m, custom ? " match='exact'" : "",
                tern_streq(mode, "host-passthrough") ? " migratable='on'" : "",
                custom || flags ? "" : "/");
    if (!custom && !flags)
        return b.s;
    if (custom) {
        ESC(name, model ? model : "");
        xbuf_printf(&b, "\n    <model fallback='forbid'>%s</model>", name);
    }
    for (size_t i = 0; flags && opts->cpu_extra_flags[i]; i++) {
        const char *f = opts->cpu_extra_flags[i];
        ESC(name, f + (f[0] == '-' || f[0] == '+'));

        xbuf_printf(&b, "\n    <feature policy='%s' name='%s'/>",
                    f[0] == '-' ? "disable" : "require", name);
    }
    xbuf_printf(&b, "\n  </cpu>");
    return b.s;
}

char *
virt_domain_xml_build(const virt_options_t *opts, const virt_instance_t *inst,
                      const char *cpu_model)
{
    TERN_AUTOFREE char *cpu = virt_cpu_xml_build(opts, cpu_model);

    xbuf_t b = {0};
    ESC(type, opts->virt_type ? opts->virt_type : "qemu");
    ESC(name, inst->name);

    xbuf_printf(&b, "<domain type='%s'>\n", type);
    xbuf_printf(&b, "  <name>%s</name>\n", name);
    xbuf_printf(&b, "  <uuid>%s</uuid>\n", inst->uuid);
    xbuf_printf(&b, "  <memory unit='MiB'>%u</memory>\n", inst->memory_mb);
    xbuf_printf(&b, "  <vcpu>%u</vcpu>\n", inst->vcpus);
    xbuf_printf(&b, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
    if (inst->kernel) {
        ESC(kernel, inst->kernel);
        xbuf_printf(&b, "    <kernel>%s</kernel>\n", kernel);
        if (inst->initrd) {
            ESC(initrd, inst->initrd);
            xbuf_printf(&b, "    <initrd>%s</initrd>\n", initrd);
        }
        if (inst->cmdline) {
            ESC(cmdline, inst->cmdline);
            xbuf_printf(&b, "    <cmdline>%s</cmdline>\n", cmdline);
        }
    } else {
        xbuf_printf(&b, "    <boot dev='hd'/>\n");
    }
    xbuf_printf(&b, "  </os>\n  <features>\n    <acpi/>\n  </features>\n");
    if (cpu)
        xbuf_printf(&b, "  %s\n", cpu);
    xbuf_printf(&b, "  <on_poweroff>destroy</on_poweroff>\n");
    xbuf_printf(&b, "  <on_reboot>restart</on_reboot>\n");
    xbuf_printf(&b, "  <on_crash>%s</on_crash>\n",
                opts->preserve_on_crash ? "preserve" : "destroy");
    xbuf_printf(&b, "  <devices>\n");
    for (size_t i = 0; i < inst->n_disks; i++)
        disk_xml(&b, opts, &inst->disks[i]);
    for (size_t i = 0; i < inst->n_interfaces; i++)
        interface_xml(&b, &inst->interfaces[i]);
    if (inst->serial_log) {
        ESC(log, inst->serial_log);
        xbuf_printf(&b, "    <serial type='file'>\n");
        xbuf_printf(&b, "      <source path='%s' append='on'/>\n", log);
        xbuf_printf(&b, "      <target port='0'/>\n    </serial>\n");
    }
    xbuf_printf(&b, "    <memballoon model='none'/>\n");
    xbuf_printf(&b, "  </devices>\n</domain>\n");
    return b.s;
}

/* ---- nwfilter ---- */

static void
rule_xml(xbuf_t *b, const virt_secgroup_rule_t *r, int priority)
{
    static const char *const protos[] = {"all", "tcp", "udp", "icmp"};
    const bool in = r->direction == VIRT_RULE_INGRESS;
    char addr[32] = "";
    char *mask = NULL;

    /* Ingress: the remote side is the packet's source; egress: its destination. */
    if (r->remote_cidr[0]) {
        tern_strlcpy(addr, r->remote_cidr, sizeof(addr));
        mask = strchr(addr, '/');
        *mask++ = '\0';
    }
    xbuf_printf(b, "  <rule action='accept' direction='%s' priority='%d'>\n", in ? "in" : "out",
                priority);
    xbuf_printf(b, "    <%s state='NEW'", protos[r->protocol]);
    if (mask)
        xbuf_printf(b, " %sipaddr='%s' %sipmask='%s'", in ? "src" : "dst", addr, in ? "src" : "dst",
                    mask);
    if (r->port_min > 0)
        xbuf_printf(b, " dstportstart='%d' dstportend='%d'", r->port_min, r->port_max);
    xbuf_printf(b, "/>\n  </rule>\n");
}

char *
virt_filter_xml_build(const char *uuid, const virt_secgroup_rule_t *rules, size_t n_rules)
{
    xbuf_t b = {0};

    xbuf_printf(&b, "<filter name='tern-instance-%s' chain='root'>\n", uuid);
    xbuf_printf(&b, "  <filterref filter='clean-traffic'/>\n");
    /* Replies to accepted traffic in both directions. */
    xbuf_printf(&b, "  <rule action='accept' direction='out' priority='100'>\n"
                    "    <all state='ESTABLISHED,RELATED'/>\n  </rule>\n");
    xbuf_printf(&b, "  <rule action='accept' direction='in' priority='100'>\n"
                    "    <all state='ESTABLISHED,RELATED'/>\n  </rule>\n");
    for (size_t i = 0; i < n_rules; i++)
        rule_xml(&b, &rules[i], 300);
    /* What no rule accepts is dropped. */
    xbuf_printf(&b, "  <rule action='drop' direction='in' priority='1000'>\n"
                    "    <all/>\n  </rule>\n");
    xbuf_printf(&b, "  <rule action='drop' direction='out' priority='1000'>\n"
                    "    <all/>\n  </rule>\n");
    xbuf_printf(&b, "</filter>\n");
    return b.s;
}

/* ---- operations on libvirt's XML ---- */

char *
virt_xml_rewrite_prefix(const char *xml, const char *old_prefix, const char *new_prefix)
{
    static const char openers[] = {'\'', '"', '>'};
    size_t old_len = strlen(old_prefix);
    xbuf_t b = {0};
    const char *p = xml;

    xbuf_add(&b, "", 0);
    while (*p) {
        bool hit = false;

        for (size_t i = 0; i < sizeof(openers) && !hit; i++) {
            if (*p == openers[i] && strncmp(p + 1, old_prefix, old_len) == 0 &&
                p[1 + old_len] == '/') {
                xbuf_add(&b, p, 1);
                xbuf_add(&b, new_prefix, strlen(new_prefix));
                p += 1 + old_len;
                hit = true;
            }
        }
        if (!hit)
            xbuf_add(&b, p++, 1);
    }
    return b.s;
}

/* find_tag: the first "<tag" in s followed by '>', ' ' or '/' (so <cpu> skips <cputune>). */
static const char *
find_tag(const char *s, const char *tag)
{
    size_t n = strlen(tag);

    for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
        if (strncmp(p + 1, tag, n) == 0 && strchr("> /", p[1 + n]) && p[1 + n] != '\0')
            return p;
    }
    return NULL;
}

char *
virt_xml_extract(const char *xml, const char *within, const char *tag)
{
    TERN_AUTOFREE char *close_tag = tern_asprintf("</%s>", tag);
    const char *start = find_tag(xml, within), *end;

    if (!start)
        return NULL;
    start = find_tag(start + 1, tag);
    if (!start)
        return NULL;
    end = strchr(start, '>');
    if (end && end[-1] == '/')
        return tern_strndup(start, (size_t)(end + 1 - start));
    end = strstr(start, close_tag);
    if (!end)
        return NULL;
    return tern_strndup(start, (size_t)(end + strlen(close_tag) - start));
}
