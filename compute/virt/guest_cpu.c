/*
 * compute/virt/guest_cpu.c: virt_guest_cpu_t, the CPU of a running guest as the source read it,
 * to and from JSON.
 *
 * It travels from the source compute to the destination in check_can_live_migrate_destination,
 * so this file is the one place that validates it: the shape strictly (json_unpack_ex with
 * JSON_STRICT), then each value for what it may hold. The XML is passed to libvirt as it is, so
 * it only has to look like one <cpu> element of bounded size; libvirt parses it.
 *
 * Ownership: virt_guest_cpu_from_json fills a caller's struct with new strings (cleared with
 * virt_guest_cpu_clear); JSON inputs are borrowed; virt_guest_cpu_to_json returns a new
 * reference.
 */
#include "compute/virt/virt.h"

#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

static const char *const guest_cpu_modes[] = {"", "custom", "host-model", "host-passthrough",
                                              "maximum"};

void
virt_guest_cpu_clear(virt_guest_cpu_t *cpu)
{
    if (!cpu)
        return;
    free(cpu->mode);
    free(cpu->xml);
    free(cpu->virt_type);
    free(cpu->arch);
    free(cpu->machine);
    free(cpu->host_cpu);
    memset(cpu, 0, sizeof(*cpu));
}

json_t *
virt_guest_cpu_to_json(const virt_guest_cpu_t *cpu)
{
    json_t *obj = tern_json_pack(
        "{s:s, s:s, s:s, s:s, s:s}", "mode", cpu->mode ? cpu->mode : "", "xml",
        cpu->xml ? cpu->xml : "", "virt_type", cpu->virt_type ? cpu->virt_type : "", "arch",
        cpu->arch ? cpu->arch : "", "machine", cpu->machine ? cpu->machine : "");

    if (cpu->host_cpu)
        json_object_set_new(obj, "host_cpu", json_string(cpu->host_cpu));
    return obj;
}

static int
bad_field(const char *key, const char *reason, const char *value)
{
    return tern_error_set(TERN_ERR_INVALID, "invalid guest CPU: field \"%s\": %s, got \"%.64s\"",
                          key, reason, value);
}

/* cpu_element_ok: xml is one "<cpu" element of at most VIRT_CPU_XML_MAX bytes. */
static bool
cpu_element_ok(const char *xml)
{
    size_t len = strlen(xml);

    return len <= VIRT_CPU_XML_MAX && strncmp(xml, "<cpu", 4) == 0 &&
           (xml[4] == ' ' || xml[4] == '>' || xml[4] == '/') &&
           (strstr(xml, "</cpu>") || (len >= 2 && strcmp(xml + len - 2, "/>") == 0));
}

int
virt_guest_cpu_from_json(const json_t *json, virt_guest_cpu_t *ret)
{
    const char *mode, *xml, *virt_type, *arch, *machine, *host_cpu = NULL;
    bool known = false, passthrough;
    json_error_t jerr;

    if (json_unpack_ex((json_t *)json, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:s, s?s}", "mode",
                       &mode, "xml", &xml, "virt_type", &virt_type, "arch", &arch, "machine",
                       &machine, "host_cpu", &host_cpu) < 0)
        return tern_error_set(TERN_ERR_INVALID, "invalid guest CPU: %s", jerr.text);
    for (size_t i = 0; i < TERN_N_ELEMENTS(guest_cpu_modes); i++)
        known = known || tern_streq(mode, guest_cpu_modes[i]);
    if (!known)
        return bad_field("mode",
                         "expected \"custom\", \"host-model\", \"host-passthrough\", "
                         "\"maximum\" or \"\"",
                         mode);
    if (xml[0] ? !cpu_element_ok(xml) : mode[0] != '\0')
        return bad_field("xml", "expected one <cpu> element (\"\" only when mode is \"\")", xml);
    if (!tern_streq(virt_type, "qemu") && !tern_streq(virt_type, "kvm"))
        return bad_field("virt_type", "expected \"qemu\" or \"kvm\"", virt_type);
    if (!arch[0] || arch[strspn(arch, "abcdefghijklmnopqrstuvwxyz0123456789_")])
        return bad_field("arch", "expected an architecture name", arch);
    if (!machine[0] || machine[strspn(machine, NAME_CHARS)])
        return bad_field("machine", "expected a machine type name", machine);
    passthrough = tern_streq(mode, "host-passthrough");
    if (passthrough && (!host_cpu || !cpu_element_ok(host_cpu)))
        return bad_field("host_cpu",
                         "expected the source host's <cpu> element for a host-passthrough guest",
                         host_cpu ? host_cpu : "");
    if (!passthrough && host_cpu)
        return bad_field("host_cpu", "only a host-passthrough guest carries it", mode);
    memset(ret, 0, sizeof(*ret));
    ret->mode = tern_strdup(mode);
    ret->xml = tern_strdup(xml);
    ret->virt_type = tern_strdup(virt_type);
    ret->arch = tern_strdup(arch);
    ret->machine = tern_strdup(machine);
    ret->host_cpu = tern_strdup(host_cpu);
    return 0;
}
