/*
 * tests/virt/test-virt-unit.c: unit cases of the virt suite - instance JSON, the XML the libvirt
 * driver writes, and the convergence monitor - with no hypervisor involved.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "compute/virt/converge.h"
#include "compute/virt/libvirt/libvirt_driver.h"
#include "compute/virt/virt.h"
#include "tests/virt/virt_tests.h"

#define UUID "0f3c1a2b-4d5e-4f60-8a7b-9c0d1e2f3a4b"

static const char *const good_instance =
    "{\"uuid\": \"" UUID "\", \"name\": \"vm1\", \"memory_mb\": 256, \"vcpus\": 1,"
    " \"kernel\": \"/images/_base/vmlinuz\", \"initrd\": \"/images/_base/guest.initrd\","
    " \"cmdline\": \"console=ttyS0 tern.dirty_mb=16 a<b\","
    " \"serial_log\": \"/inst/" UUID "/console.log\","
    " \"disks\": [{\"target\": \"vda\", \"path\": \"/inst/" UUID "/disk\", \"format\": \"qcow2\","
    "   \"backing_file\": \"/images/_base/disk.qcow2\", \"virtual_size_bytes\": 268435456},"
    "  {\"target\": \"vdb\", \"path\": \"/shared/vol-1\", \"format\": \"raw\","
    "   \"virtual_size_bytes\": 1048576, \"shared\": true, \"is_volume\": true,"
    "   \"volume_id\": \"vol-1\"},"
    "  {\"target\": \"vdc\", \"path\": \"/inst/" UUID "/config\", \"format\": \"raw\","
    "   \"virtual_size_bytes\": 65536, \"readonly\": true}],"
    " \"interfaces\": [{\"mac\": \"52:54:00:AB:cd:01\", \"bridge\": \"br-tern0\","
    "   \"filter_name\": \"tern-instance-" UUID "\"}]}";

static virt_instance_t *
parse_good(void)
{
    virt_instance_t *inst = virt_instance_from_json_text(good_instance);

    ck_assert_msg(inst != NULL, "parse failed: %s", tern_error_message());
    return inst;
}

/* ---- core ---- */

START_TEST(test_instance_json_round_trip)
{
    virt_instance_t *inst = parse_good(), *again;
    json_t *json;
    char *a, *b;

    ck_assert_str_eq(inst->uuid, UUID);
    ck_assert_str_eq(inst->name, "vm1");
    ck_assert_uint_eq(inst->memory_mb, 256);
    ck_assert_uint_eq(inst->n_disks, 3);
    ck_assert_str_eq(inst->disks[0].backing_file, "/images/_base/disk.qcow2");
    ck_assert_uint_eq(inst->disks[0].virtual_size_bytes, 268435456);
    ck_assert(inst->disks[1].shared && inst->disks[1].is_volume);
    ck_assert_str_eq(inst->disks[1].volume_id, "vol-1");
    ck_assert(inst->disks[2].readonly);
    ck_assert_ptr_null(inst->disks[2].backing_file);
    ck_assert_uint_eq(inst->n_interfaces, 1);
    ck_assert_str_eq(inst->interfaces[0].mac, "52:54:00:ab:cd:01"); /* normalised */

    json = virt_instance_to_json(inst);
    again = virt_instance_from_json(json);
    ck_assert_ptr_nonnull(again);
    a = json_dumps(json, JSON_SORT_KEYS);
    json_decref(json);
    json = virt_instance_to_json(again);
    b = json_dumps(json, JSON_SORT_KEYS);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    json_decref(json);
    virt_instance_free(again);
    again = virt_instance_copy(inst);
    ck_assert_str_eq(again->disks[1].path, "/shared/vol-1");
    virt_instance_free(again);
    virt_instance_free(inst);
    virt_instance_free(NULL);
}
END_TEST

START_TEST(test_rules_json)
{
    json_t *json = json_loads(
        "[{\"direction\": \"ingress\", \"protocol\": \"tcp\", \"port_min\": 22, \"port_max\": 22,"
        "  \"remote_cidr\": \"198.18.0.0/24\"},"
        " {\"direction\": \"egress\", \"protocol\": \"any\"},"
        " {\"direction\": \"ingress\", \"protocol\": \"icmp\", \"remote_cidr\": \"198.18.0.1\"}]",
        0, NULL);
    virt_secgroup_rule_t *rules = NULL;
    size_t n = 0;

    ck_assert_int_eq(virt_secgroup_rules_from_json(json, &rules, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(rules[0].direction, VIRT_RULE_INGRESS);
    ck_assert_int_eq(rules[0].protocol, VIRT_PROTO_TCP);
    ck_assert_int_eq(rules[0].port_min, 22);
    ck_assert_str_eq(rules[0].remote_cidr, "198.18.0.0/24");
    ck_assert_int_eq(rules[1].protocol, VIRT_PROTO_ANY);
    ck_assert_str_eq(rules[1].remote_cidr, "");
    ck_assert_str_eq(rules[2].remote_cidr, "198.18.0.1/32");
    free(rules);
    json_decref(json);
}
END_TEST

START_TEST(test_uri_host_and_names)
{
    char *s;

    s = virt_uri_host("qemu+tcp://198.18.0.12/system");
    ck_assert_str_eq(s, "198.18.0.12");
    free(s);
    s = virt_uri_host("qemu+tcp://root@198.18.0.12:16509/system");
    ck_assert_str_eq(s, "198.18.0.12");
    free(s);
    s = virt_uri_host("qemu:///system");
    ck_assert_str_eq(s, "localhost");
    free(s);
    s = virt_instance_filter_name(UUID);
    ck_assert_str_eq(s, "tern-instance-" UUID);
    free(s);
    ck_assert_str_eq(virt_state_name(VIRT_STATE_PAUSED), "paused");
    ck_assert_str_eq(virt_job_type_name(VIRT_JOB_UNBOUNDED), "unbounded");
    ck_assert_str_eq(virt_migration_result_name(VIRT_MIGRATION_CANCELLED), "cancelled");
}
END_TEST

TCase *
virt_core_tcase(void)
{
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_instance_json_round_trip);
    tcase_add_test(tc, test_rules_json);
    tcase_add_test(tc, test_uri_host_and_names);
    return tc;
}

/* ---- errors ---- */

/* expect_bad: replace `from` by `to` in the good instance; parsing must fail naming `field`. */
static void
expect_bad(const char *from, const char *to, const char *expect)
{
    const char *at = strstr(good_instance, from);
    char *text;
    virt_instance_t *inst;

    ck_assert_msg(at != NULL, "test bug: \"%s\" not in the instance", from);
    text =
        tern_asprintf("%.*s%s%s", (int)(at - good_instance), good_instance, to, at + strlen(from));
    tern_error_reset();
    inst = virt_instance_from_json_text(text);
    ck_assert_msg(inst == NULL, "accepted: %s", text);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_msg(strstr(tern_error_message(), expect) != NULL, "message \"%s\" lacks \"%s\"",
                  tern_error_message(), expect);
    free(text);
}

START_TEST(test_bad_instances_name_the_field)
{
    expect_bad("\"vcpus\": 1", "\"vcpus\": 1, \"color\": \"red\"",
               "field \"color\": unknown field");
    expect_bad("\"memory_mb\": 256,", "", "field \"memory_mb\": missing");
    expect_bad("\"memory_mb\": 256", "\"memory_mb\": \"256\"",
               "field \"memory_mb\": expected a non-negative integer");
    expect_bad("\"memory_mb\": 256", "\"memory_mb\": 4", "field \"memory_mb\": 4 is out of range");
    expect_bad(UUID "\", \"name\"", "not-a-uuid\", \"name\"", "field \"uuid\": \"not-a-uuid\"");
    expect_bad("\"name\": \"vm1\"", "\"name\": \"vm 1\"", "field \"name\"");
    expect_bad("\"/shared/vol-1\", \"format\": \"raw\"", "\"/shared/vol-1\", \"format\": \"vmdk\"",
               "field \"disks[1].format\": expected \"qcow2\" or \"raw\", got \"vmdk\"");
    expect_bad("\"path\": \"/shared/vol-1\"", "\"path\": \"shared/vol-1\"",
               "field \"disks[1].path\"");
    expect_bad("\"path\": \"/shared/vol-1\"", "\"path\": \"/shared/x'y\"",
               "field \"disks[1].path\"");
    expect_bad("\"path\": \"/shared/vol-1\"", "\"path\": \"/shared/../etc/passwd\"",
               "field \"disks[1].path\"");
    expect_bad("\"target\": \"vdb\"", "\"target\": \"sda\"", "field \"disks[1].target\"");
    expect_bad("\"target\": \"vdb\"", "\"target\": \"vda\"", "field \"disks[1].target\"");
    expect_bad("\"volume_id\": \"vol-1\"", "\"volume_id\": null", "field \"disks[1].volume_id\"");
    expect_bad("\"shared\": true", "\"shared\": 1",
               "field \"disks[1].shared\": expected a boolean");
    expect_bad("52:54:00:AB:cd:01", "52:54:00:AB:cd", "field \"interfaces[0].mac\"");
    expect_bad("\"bridge\": \"br-tern0\"", "\"bridge\": \"a-bridge-name-too-long\"",
               "field \"interfaces[0].bridge\"");
    expect_bad("\"vcpus\": 1", "\"vcpus\": true", "field \"vcpus\": expected a non-negative");
    expect_bad("\"kernel\": \"/images/_base/vmlinuz\", ", "", "field \"kernel\": missing");
}
END_TEST

START_TEST(test_bad_json_text)
{
    ck_assert_ptr_null(virt_instance_from_json_text("{\"uuid\": "));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "malformed JSON"));
    ck_assert_ptr_null(virt_instance_from_json_text("[1, 2]"));
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "expected an object"));
    ck_assert_ptr_null(virt_instance_from_json_text(NULL));
    ck_assert_ptr_null(virt_instance_from_json_text(
        "{\"uuid\": \"" UUID
        "\", \"name\": \"a\", \"memory_mb\": 64, \"vcpus\": 1, \"disks\": 3}"));
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "field \"disks\": expected an array"));
}
END_TEST

static void
expect_bad_rules(const char *text, const char *expect)
{
    json_t *json = json_loads(text, 0, NULL);
    virt_secgroup_rule_t *rules = NULL;
    size_t n = 0;

    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(virt_secgroup_rules_from_json(json, &rules, &n), -1);
    ck_assert_ptr_null(rules);
    ck_assert_msg(strstr(tern_error_message(), expect) != NULL, "message \"%s\" lacks \"%s\"",
                  tern_error_message(), expect);
    json_decref(json);
}

START_TEST(test_bad_rules)
{
    expect_bad_rules("[{\"direction\": \"sideways\", \"protocol\": \"tcp\"}]",
                     "field \"[0].direction\"");
    expect_bad_rules("[{\"direction\": \"ingress\", \"protocol\": \"sctp\"}]",
                     "field \"[0].protocol\"");
    expect_bad_rules("[{\"direction\": \"ingress\", \"protocol\": \"icmp\", \"port_min\": 1}]",
                     "ports need protocol");
    expect_bad_rules("[{\"direction\": \"ingress\", \"protocol\": \"tcp\", \"port_min\": 90,"
                     " \"port_max\": 80}]",
                     "bad port range 90-80");
    expect_bad_rules("[{\"direction\": \"ingress\", \"protocol\": \"tcp\","
                     " \"remote_cidr\": \"198.18.0.0/33\"}]",
                     "field \"[0].remote_cidr\"");
    expect_bad_rules("[{\"direction\": \"ingress\", \"protocol\": \"tcp\", \"ports\": 1}]",
                     "field \"[0].ports\": unknown field");
    expect_bad_rules("{}", "expected an array");
}
END_TEST

START_TEST(test_bad_options)
{
    virt_options_t opts = {.uri = "qemu:///system", .instances_path = "relative"};

    ck_assert_ptr_null(virt_driver_open("libvirt", &opts));
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "\"relative\" is not absolute"));
    opts.instances_path = "/tmp";
    ck_assert_ptr_null(virt_driver_open("xen", &opts));
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "unknown virt driver \"xen\""));
    opts.virt_type = "lxc";
    ck_assert_ptr_null(virt_driver_open("libvirt", &opts));
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "virt type \"lxc\""));
    opts.virt_type = "qemu";
    opts.cpu_mode = "custom";
    ck_assert_ptr_null(virt_driver_open("libvirt", &opts));
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "CPU models are needed with CPU mode"));
    opts.cpu_mode = "host-model";
    opts.cpu_extra_flags = (const char *const[]){"pcid", "bad flag", NULL};
    ck_assert_ptr_null(virt_driver_open("libvirt", &opts));
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "bad CPU model or flag name"));
    opts.cpu_mode = "none";
    opts.cpu_extra_flags = (const char *const[]){"pcid", NULL};
    ck_assert_ptr_null(virt_driver_open("libvirt", &opts));
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "extra CPU flags need CPU mode"));
}
END_TEST

TCase *
virt_errors_tcase(void)
{
    TCase *tc = tcase_create("errors");

    tcase_add_test(tc, test_bad_instances_name_the_field);
    tcase_add_test(tc, test_bad_json_text);
    tcase_add_test(tc, test_bad_rules);
    tcase_add_test(tc, test_bad_options);
    return tc;
}

/* ---- xml ---- */

#define ck_assert_contains(hay, needle) \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "missing \"%s\" in:\n%s", (needle), (hay))

START_TEST(test_domain_xml)
{
    virt_instance_t *inst = parse_good();
    virt_options_t opts = {
        .virt_type = "qemu", .disk_cache = "writeback", .preserve_on_crash = true};
    char *xml = virt_domain_xml_build(&opts, inst, NULL);

    ck_assert_contains(xml, "<domain type='qemu'>");
    ck_assert_contains(xml, "<uuid>" UUID "</uuid>");
    ck_assert_contains(xml, "<memory unit='MiB'>256</memory>");
    ck_assert_contains(xml, "<kernel>/images/_base/vmlinuz</kernel>");
    ck_assert_contains(xml, "<cmdline>console=ttyS0 tern.dirty_mb=16 a&lt;b</cmdline>");
    ck_assert_contains(xml, "<on_crash>preserve</on_crash>");
    ck_assert_contains(xml, "<driver name='qemu' type='qcow2' cache='writeback'/>\n"
                            "      <source file='/inst/" UUID "/disk'/>\n"
                            "      <target dev='vda' bus='virtio'/>");
    /* a shared volume: cache none (safe to migrate), shareable, serial = volume id */
    ck_assert_contains(xml, "<driver name='qemu' type='raw' cache='none'/>");
    ck_assert_contains(xml, "<shareable/>\n      <serial>vol-1</serial>");
    ck_assert_contains(xml, "<target dev='vdc' bus='virtio'/>\n      <readonly/>");
    ck_assert_contains(xml, "<interface type='bridge'>\n      <mac address='52:54:00:ab:cd:01'/>\n"
                            "      <source bridge='br-tern0'/>\n      <model type='virtio'/>\n"
                            "      <filterref filter='tern-instance-" UUID "'/>");
    ck_assert_contains(xml, "<serial type='file'>\n      <source path='/inst/" UUID
                            "/console.log' append='on'/>");
    ck_assert_ptr_null(strstr(xml, "<cpu"));
    free(xml);

    opts.preserve_on_crash = false;
    opts.cpu_mode = "custom";
    free(inst->kernel);
    inst->kernel = NULL;
    xml = virt_domain_xml_build(&opts, inst, "qemu64");
    ck_assert_contains(xml, "<on_crash>destroy</on_crash>");
    ck_assert_contains(xml, "<boot dev='hd'/>");
    ck_assert_contains(xml, "  <cpu mode='custom' match='exact'>\n"
                            "    <model fallback='forbid'>qemu64</model>\n  </cpu>\n");
    free(xml);
    virt_instance_free(inst);
}
END_TEST

/* One <cpu> element per [libvirt] cpu_mode, with cpu_model_extra_flags as nova writes them. */
START_TEST(test_cpu_xml_per_mode)
{
    const char *const flags[] = {"pcid", "+avx2", "-sse4a", NULL};
    virt_options_t opts = {.cpu_mode = "none", .cpu_extra_flags = flags};
    char *xml;

    ck_assert_ptr_null(virt_cpu_xml_build(&opts, NULL));
    opts.cpu_mode = "host-model";
    opts.cpu_extra_flags = NULL;
    xml = virt_cpu_xml_build(&opts, NULL);
    ck_assert_str_eq(xml, "<cpu mode='host-model'/>");
    free(xml);
    opts.cpu_mode = "host-passthrough";
    xml = virt_cpu_xml_build(&opts, NULL);
    ck_assert_str_eq(xml, "<cpu mode='host-passthrough' migratable='on'/>");
    free(xml);
    opts.cpu_extra_flags = flags;
    xml = virt_cpu_xml_build(&opts, NULL);
    ck_assert_str_eq(xml, "<cpu mode='host-passthrough' migratable='on'>\n"
                          "    <feature policy='require' name='pcid'/>\n"
                          "    <feature policy='require' name='avx2'/>\n"
                          "    <feature policy='disable' name='sse4a'/>\n  </cpu>");
    free(xml);
    opts.cpu_mode = "custom";
    xml = virt_cpu_xml_build(&opts, "Haswell-noTSX");
    ck_assert_str_eq(xml, "<cpu mode='custom' match='exact'>\n"
                          "    <model fallback='forbid'>Haswell-noTSX</model>\n"
                          "    <feature policy='require' name='pcid'/>\n"
                          "    <feature policy='require' name='avx2'/>\n"
                          "    <feature policy='disable' name='sse4a'/>\n  </cpu>");
    free(xml);
}
END_TEST

#define HOST_CPU(model, vendor, features)                                         \
    "<cpu>\n  <arch>x86_64</arch>\n  <model>" model "</model>\n  <vendor>" vendor \
    "</vendor>\n  <topology sockets='1' cores='2' threads='1'/>\n" features "</cpu>"

/* host-passthrough: the destination host's CPU must be the source host's, features included. */
START_TEST(test_host_cpus_compared)
{
    const char *src = HOST_CPU("Skylake-Server-IBRS", "Intel",
                               "<feature name='avx512f'/><feature name='pcid'/>"
                               "<feature name='invpcid'/>");
    virt_cpu_compare_t cmp;

    ck_assert_int_eq(virt_libvirt_compare_host_cpus(src, src, &cmp), 0);
    ck_assert_msg(cmp.compatible, "%s", cmp.reason);
    ck_assert_str_eq(cmp.reason, "");
    /* more features here than on the source: the guest loses nothing */
    ck_assert_int_eq(
        virt_libvirt_compare_host_cpus(
            src,
            HOST_CPU("Skylake-Server-IBRS", "Intel",
                     "<feature name='invpcid'/><feature name='pcid'/><feature name='avx512f'/>"
                     "<feature name='md-clear'/>"),
            &cmp),
        0);
    ck_assert_msg(cmp.compatible, "%s", cmp.reason);
    /* features missing here are named */
    ck_assert_int_eq(
        virt_libvirt_compare_host_cpus(
            src, HOST_CPU("Skylake-Server-IBRS", "Intel", "<feature name='pcid'/>"), &cmp),
        0);
    ck_assert(!cmp.compatible);
    ck_assert_str_eq(cmp.reason, "2 features of the source host missing here: avx512f, invpcid");
    /* another model or vendor is a mismatch even with every feature */
    ck_assert_int_eq(
        virt_libvirt_compare_host_cpus(src,
                                       HOST_CPU("EPYC-Rome", "AMD",
                                                "<feature name='avx512f'/><feature name='pcid'/>"
                                                "<feature name='invpcid'/>"),
                                       &cmp),
        0);
    ck_assert(!cmp.compatible);
    ck_assert_str_eq(cmp.reason, "vendor \"Intel\" on the source host, \"AMD\" here; model "
                                 "\"Skylake-Server-IBRS\" on the source host, \"EPYC-Rome\" here");
    /* a disabled feature is not a feature the host has */
    ck_assert_int_eq(
        virt_libvirt_compare_host_cpus(src,
                                       HOST_CPU("Skylake-Server-IBRS", "Intel",
                                                "<feature name='avx512f'/><feature name='pcid'/>"
                                                "<feature policy='disable' name='invpcid'/>"),
                                       &cmp),
        0);
    ck_assert_str_eq(cmp.reason, "1 feature of the source host missing here: invpcid");
    ck_assert_int_eq(virt_libvirt_compare_host_cpus("<domain/>", src, &cmp), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_int_eq(virt_libvirt_compare_host_cpus(src, "not xml", &cmp), -1);
}
END_TEST

#define GUEST_CPU_JSON(mode, xml, extra)                                                 \
    "{\"mode\": \"" mode "\", \"xml\": \"" xml "\", \"virt_type\": \"qemu\", \"arch\": " \
    "\"x86_64\", \"machine\": \"pc-i440fx-10.0\"" extra "}"

static void
expect_bad_guest_cpu(const char *text, const char *message)
{
    json_t *json = json_loads(text, 0, NULL);
    virt_guest_cpu_t cpu;

    ck_assert_msg(json != NULL, "bad test JSON: %s", text);
    ck_assert_int_eq(virt_guest_cpu_from_json(json, &cpu), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_INVALID);
    ck_assert_msg(strstr(tern_error_message(), message), "\"%s\" not in \"%s\"", message,
                  tern_error_message());
    json_decref(json);
}

/* The guest CPU that travels from the source: round trip, and every bad field named. */
START_TEST(test_guest_cpu_json)
{
    virt_guest_cpu_t cpu = {.mode = "host-passthrough",
                            .xml = "<cpu mode='host-passthrough'/>",
                            .virt_type = "kvm",
                            .arch = "x86_64",
                            .machine = "pc-q35-10.0",
                            .host_cpu = "<cpu><model>EPYC</model></cpu>"};
    virt_guest_cpu_t back = {0};
    json_t *json = virt_guest_cpu_to_json(&cpu);

    ck_assert_int_eq(virt_guest_cpu_from_json(json, &back), 0);
    ck_assert_str_eq(back.mode, cpu.mode);
    ck_assert_str_eq(back.xml, cpu.xml);
    ck_assert_str_eq(back.virt_type, "kvm");
    ck_assert_str_eq(back.machine, "pc-q35-10.0");
    ck_assert_str_eq(back.host_cpu, cpu.host_cpu);
    virt_guest_cpu_clear(&back);
    json_decref(json);

    expect_bad_guest_cpu(GUEST_CPU_JSON("custom", "<cpu/>", ", \"extra\": 1"), "extra");
    expect_bad_guest_cpu("{\"mode\": \"custom\"}", "invalid guest CPU: ");
    expect_bad_guest_cpu(GUEST_CPU_JSON("weird", "<cpu/>", ""), "field \"mode\"");
    expect_bad_guest_cpu(GUEST_CPU_JSON("custom", "<domain/>", ""), "field \"xml\"");
    expect_bad_guest_cpu(GUEST_CPU_JSON("custom", "", ""), "field \"xml\"");
    expect_bad_guest_cpu(GUEST_CPU_JSON("host-passthrough", "<cpu/>", ""), "field \"host_cpu\"");
    expect_bad_guest_cpu(GUEST_CPU_JSON("custom", "<cpu/>", ", \"host_cpu\": \"<cpu/>\""),
                         "field \"host_cpu\": only a host-passthrough guest");
    expect_bad_guest_cpu("{\"mode\": \"custom\", \"xml\": \"<cpu/>\", \"virt_type\": \"xen\", "
                         "\"arch\": \"x86_64\", \"machine\": \"pc\"}",
                         "field \"virt_type\": expected \"qemu\" or \"kvm\", got \"xen\"");
    expect_bad_guest_cpu("{\"mode\": \"custom\", \"xml\": \"<cpu/>\", \"virt_type\": \"qemu\", "
                         "\"arch\": \"x86_64\", \"machine\": \"pc'/><x\"}",
                         "field \"machine\"");
    expect_bad_guest_cpu("{\"mode\": 1, \"xml\": \"<cpu/>\", \"virt_type\": \"qemu\", "
                         "\"arch\": \"x86_64\", \"machine\": \"pc\"}",
                         "invalid guest CPU: ");
    /* a guest without <cpu> is valid: the hypervisor's default model */
    json = json_loads(GUEST_CPU_JSON("", "", ""), 0, NULL);
    ck_assert_int_eq(virt_guest_cpu_from_json(json, &back), 0);
    ck_assert_str_eq(back.mode, "");
    virt_guest_cpu_clear(&back);
    json_decref(json);
}
END_TEST

START_TEST(test_filter_xml)
{
    virt_secgroup_rule_t rules[] = {
        {.direction = VIRT_RULE_INGRESS,
         .protocol = VIRT_PROTO_TCP,
         .port_min = 22,
         .port_max = 22,
         .remote_cidr = "198.18.0.0/24"},
        {.direction = VIRT_RULE_EGRESS,
         .protocol = VIRT_PROTO_UDP,
         .port_min = 53,
         .port_max = 53,
         .remote_cidr = "198.18.0.1/32"},
        {.direction = VIRT_RULE_INGRESS, .protocol = VIRT_PROTO_ICMP},
    };
    char *xml = virt_filter_xml_build(UUID, rules, 3);

    ck_assert_contains(xml, "<filter name='tern-instance-" UUID "' chain='root'>");
    ck_assert_contains(xml, "<filterref filter='clean-traffic'/>");
    ck_assert_contains(xml, "<rule action='accept' direction='in' priority='300'>\n"
                            "    <tcp state='NEW' srcipaddr='198.18.0.0' srcipmask='24'"
                            " dstportstart='22' dstportend='22'/>");
    ck_assert_contains(xml, "<rule action='accept' direction='out' priority='300'>\n"
                            "    <udp state='NEW' dstipaddr='198.18.0.1' dstipmask='32'"
                            " dstportstart='53' dstportend='53'/>");
    ck_assert_contains(xml, "<icmp state='NEW'/>");
    ck_assert_contains(xml, "<rule action='drop' direction='in' priority='1000'>");
    ck_assert_contains(xml, "<all state='ESTABLISHED,RELATED'/>");
    free(xml);
}
END_TEST

START_TEST(test_xml_helpers)
{
    const char *caps = "<capabilities>\n  <host>\n    <uuid>x</uuid>\n    <cpu>\n"
                       "      <arch>x86_64</arch>\n      <model>Skylake</model>\n    </cpu>\n"
                       "  </host>\n  <guest><cpu>no</cpu></guest>\n</capabilities>";
    const char *dom = "<domain type='qemu' id='3'>\n  <cputune/>\n  <cpu mode='custom' "
                      "match='exact'>\n    <model>qemu64</model>\n  </cpu>\n</domain>";
    char *s;

    s = virt_xml_extract(caps, "host", "cpu");
    ck_assert_str_eq(s,
                     "<cpu>\n      <arch>x86_64</arch>\n      <model>Skylake</model>\n    </cpu>");
    free(s);
    s = virt_xml_extract(dom, "domain", "cpu");
    ck_assert_str_eq(s, "<cpu mode='custom' match='exact'>\n    <model>qemu64</model>\n  </cpu>");
    free(s);
    ck_assert_ptr_null(virt_xml_extract("<domain><name>x</name></domain>", "domain", "cpu"));

    s = virt_xml_rewrite_prefix("<source file='/a/inst/u/disk'/><source path=\"/a/inst/u/log\"/>"
                                "<x>/a/inst/y</x><source file='/a/instances/z'/>",
                                "/a/inst", "/b/other");
    ck_assert_str_eq(s, "<source file='/b/other/u/disk'/><source path=\"/b/other/u/log\"/>"
                        "<x>/b/other/y</x><source file='/a/instances/z'/>");
    free(s);
    s = virt_xml_escape("a<'&\">");
    ck_assert_str_eq(s, "a&lt;&apos;&amp;&quot;&gt;");
    free(s);
}
END_TEST

TCase *
virt_xml_tcase(void)
{
    TCase *tc = tcase_create("xml");

    tcase_add_test(tc, test_domain_xml);
    tcase_add_test(tc, test_cpu_xml_per_mode);
    tcase_add_test(tc, test_host_cpus_compared);
    tcase_add_test(tc, test_guest_cpu_json);
    tcase_add_test(tc, test_filter_xml);
    tcase_add_test(tc, test_xml_helpers);
    return tc;
}

/* ---- converge ---- */

static virt_job_stats_t
sample(uint64_t elapsed_ms, uint64_t remaining)
{
    virt_job_stats_t s = {.type = VIRT_JOB_UNBOUNDED,
                          .time_elapsed_ms = elapsed_ms,
                          .data_remaining = remaining,
                          .data_processed = elapsed_ms << 10, /* 1 MiB/s moves */
                          .data_total = 1ULL << 30};

    return s;
}

/* A sample in memory pass `pass` with `left` bytes of memory still to copy (bytes moving). */
static virt_job_stats_t
pass_sample(uint64_t elapsed_ms, uint64_t pass, uint64_t left)
{
    virt_job_stats_t s = sample(elapsed_ms, left);

    s.memory_iteration = pass;
    s.memory_remaining = left;
    return s;
}

START_TEST(test_downtime_steps_match_nova)
{
    virt_converge_options_t opts;
    virt_downtime_step_t steps[VIRT_DOWNTIME_STEPS_MAX + 1];
    size_t n;

    /* nova's docstring example: 10 steps, 30 s delay, 3 GB, 400 ms */
    virt_converge_options_default(&opts);
    opts.downtime_ms = 400;
    opts.downtime_delay_s = 30;
    n = virt_downtime_steps(&opts, 3.0, steps, TERN_N_ELEMENTS(steps));
    ck_assert_uint_eq(n, 11);
    ck_assert_int_eq(steps[0].after_s, 0);
    ck_assert_int_eq(steps[0].downtime_ms, 40);
    ck_assert_int_eq(steps[1].after_s, 90);
    ck_assert_int_eq(steps[1].downtime_ms, 76);
    ck_assert_int_eq(steps[5].after_s, 450);
    ck_assert_int_eq(steps[5].downtime_ms, 220);
    ck_assert_int_eq(steps[10].after_s, 900);
    ck_assert_int_eq(steps[10].downtime_ms, 400);

    /* nova's data_gb: RAM and each disk count at least 2 GiB */
    ck_assert(virt_migration_data_gb(256, NULL, 0) == 2.0);
    {
        uint64_t disks[] = {256ULL << 20, 3ULL << 30};

        ck_assert(virt_migration_data_gb(4096, disks, 2) == 4.0 + 2.0 + 3.0);
    }
    /* minimums are enforced */
    opts.downtime_ms = 10;
    opts.downtime_steps = 1;
    opts.downtime_delay_s = 1;
    virt_converge_options_clamp(&opts);
    ck_assert_int_eq(opts.downtime_ms, 100);
    ck_assert_int_eq(opts.downtime_steps, 3);
    ck_assert_int_eq(opts.downtime_delay_s, 10);
}
END_TEST

START_TEST(test_timeout_action_rules)
{
    ck_assert(!virt_should_trigger_timeout_action(1000, 0, false));  /* disabled */
    ck_assert(!virt_should_trigger_timeout_action(1000, 800, true)); /* post-copy */
    ck_assert(!virt_should_trigger_timeout_action(800, 800, false));
    ck_assert(virt_should_trigger_timeout_action(801, 800, false));
}
END_TEST

START_TEST(test_monitor_raises_downtime_by_steps)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s;

    virt_converge_options_default(&opts);
    opts.stall_samples = 0;
    virt_converge_init(&mon, &opts, 2.0); /* delay 150 s per step, 50 ms + 45 ms per step */

    s = sample(500, 1000);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_SET_DOWNTIME);
    ck_assert_int_eq(d.step, 0);
    ck_assert_int_eq(d.downtime_ms, 50);
    s = sample(100000, 900);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
    s = sample(151000, 800); /* past step 1 (150 s) */
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_SET_DOWNTIME);
    ck_assert_int_eq(d.step, 1);
    ck_assert_int_eq(d.downtime_ms, 95);
    s = sample(152000, 700);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
    s = sample(1000000, 600); /* a jump goes straight to the step due: 1000 s > 6 * 150 */
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_SET_DOWNTIME);
    ck_assert_int_eq(d.step, 6);
    ck_assert_int_eq(d.downtime_ms, 320);
}
END_TEST

START_TEST(test_monitor_aborts_on_completion_timeout)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s;

    virt_converge_options_default(&opts);
    opts.completion_timeout_s = 10; /* 20 s for 2 GiB */
    virt_converge_init(&mon, &opts, 2.0);
    s = sample(19000, 100);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_ne(d.action, VIRT_CONVERGE_ABORT);
    s = sample(21000, 90);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_ABORT);
    ck_assert_ptr_nonnull(strstr(d.reason, "completion timeout 20 s"));
    s = sample(22000, 80); /* once only */
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
}
END_TEST

START_TEST(test_monitor_timeout_force_complete)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s;

    /* with post-copy permitted: switch to post-copy, then never abort */
    virt_converge_options_default(&opts);
    opts.completion_timeout_s = 10;
    opts.timeout_action = VIRT_TIMEOUT_ACTION_FORCE_COMPLETE;
    opts.permit_post_copy = true;
    virt_converge_init(&mon, &opts, 2.0);
    s = sample(21000, 100);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_POST_COPY);
    s = sample(99000, 100);
    s.post_copy = true;
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
    ck_assert_str_eq(d.reason, "running in post-copy");

    /* without: pause once, then wait */
    opts.permit_post_copy = false;
    opts.stall_samples = 0;
    virt_converge_init(&mon, &opts, 2.0);
    s = sample(21000, 100);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_PAUSE);
    s = sample(22000, 100);
    virt_converge_next(&mon, &s, &d);
    ck_assert(d.action != VIRT_CONVERGE_PAUSE && d.action != VIRT_CONVERGE_ABORT);
}
END_TEST

START_TEST(test_monitor_stall_escalation)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s;
    int t = 0;
    uint64_t pass = 1;

    /* A guest dirtying as fast as the link sends: every pass starts with about as much. With
     * auto-converge and post-copy permitted the ladder is: throttle (wait), post-copy. */
    virt_converge_options_default(&opts);
    opts.stall_passes = 3;
    opts.permit_auto_converge = true;
    opts.permit_post_copy = true;
    virt_converge_init(&mon, &opts, 2.0);
    s = pass_sample((uint64_t)(t += 500), pass, 9000);
    virt_converge_next(&mon, &s, &d); /* step 0 downtime */
    ck_assert_int_eq(d.action, VIRT_CONVERGE_SET_DOWNTIME);
    s = pass_sample((uint64_t)(t += 500), ++pass, 5000); /* pass 2: the first measure */
    virt_converge_next(&mon, &s, &d);
    for (int i = 0; i < 2; i++) {
        /* samples within a pass dip low (its end): no progress, no stall */
        s = pass_sample((uint64_t)(t += 500), pass, 10);
        virt_converge_next(&mon, &s, &d);
        ck_assert(!d.stalled);
        s = pass_sample((uint64_t)(t += 500), ++pass, 4800 + (uint64_t)i); /* < 10% better */
        virt_converge_next(&mon, &s, &d);
        ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
        ck_assert(!d.stalled);
    }
    s = pass_sample((uint64_t)(t += 500), ++pass, 5100);
    virt_converge_next(&mon, &s, &d);
    ck_assert(d.stalled);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
    ck_assert_ptr_nonnull(strstr(d.reason, "letting auto-converge throttle"));
    /* a pass with much less dirtied (the throttle works) is progress: the count starts over */
    s = pass_sample((uint64_t)(t += 500), ++pass, 3000);
    virt_converge_next(&mon, &s, &d);
    ck_assert(!d.stalled);
    for (int i = 0; i < 2; i++) {
        s = pass_sample((uint64_t)(t += 500), ++pass, 3000);
        virt_converge_next(&mon, &s, &d);
        ck_assert(!d.stalled);
    }
    s = pass_sample((uint64_t)(t += 500), ++pass, 2900);
    virt_converge_next(&mon, &s, &d);
    ck_assert(d.stalled);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_POST_COPY);

    /* No post-copy, no auto-converge: pause on the first stall, abort if still stuck. */
    opts.permit_auto_converge = false;
    opts.permit_post_copy = false;
    virt_converge_init(&mon, &opts, 2.0);
    t = 0;
    for (pass = 1; pass <= 5; pass++) {
        s = pass_sample((uint64_t)(t += 500), pass, 5000);
        virt_converge_next(&mon, &s, &d);
    }
    ck_assert(d.stalled);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_PAUSE);
    for (int i = 0; i < 3; i++) {
        s = pass_sample((uint64_t)(t += 500), pass++, 5000);
        virt_converge_next(&mon, &s, &d);
    }
    ck_assert_int_eq(d.action, VIRT_CONVERGE_ABORT);
    ck_assert_ptr_nonnull(strstr(d.reason, "even with the guest paused"));
}
END_TEST

/* A never-pause policy: where the ladder would pause the guest (a stall with nothing else left,
 * a force-complete timeout without post-copy) it aborts instead, and the guest runs on at its
 * source; a stall while auto-converge still throttles is waited for as before. */
START_TEST(test_monitor_never_pause_policy_aborts)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s;
    int t = 0;
    uint64_t pass;

    virt_converge_options_default(&opts);
    opts.stall_passes = 3;
    opts.permit_pause = false;
    virt_converge_init(&mon, &opts, 2.0);
    for (pass = 1; pass <= 5; pass++) {
        s = pass_sample((uint64_t)(t += 500), pass, 5000);
        virt_converge_next(&mon, &s, &d);
    }
    ck_assert(d.stalled);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_ABORT);
    ck_assert_ptr_nonnull(strstr(d.reason, "the policy never pauses the guest"));

    opts.completion_timeout_s = 10;
    opts.timeout_action = VIRT_TIMEOUT_ACTION_FORCE_COMPLETE;
    opts.stall_samples = 0;
    virt_converge_init(&mon, &opts, 2.0);
    s = sample(21000, 100);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_ABORT);
    ck_assert_ptr_nonnull(strstr(d.reason, "completion timeout"));

    opts.permit_pause = true; /* the same timeout with pausing allowed pauses: the case differs */
    virt_converge_init(&mon, &opts, 2.0);
    s = sample(21000, 100);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_PAUSE);
}
END_TEST

/* A busy guest re-dirties its whole working set each pass until auto-converge's throttle is high:
 * while the throttle still rises from stall to stall it is auto-converge's turn (the testbed's
 * 128 MiB-flat-out guest behind 40 MiB/s: stalls at 50%, 70%, 90%, then it converged with 64 ms
 * of downtime); once it stops rising the ladder goes on. A throttle that just reached QEMU's
 * maximum still gets one window (the busy guest converges only there), and no more. */
START_TEST(test_monitor_auto_converge_keeps_its_turn_while_throttling)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s;
    int t = 0, throttle;
    uint64_t pass = 1;

    virt_converge_options_default(&opts);
    opts.stall_passes = 2;
    opts.permit_auto_converge = true;
    virt_converge_init(&mon, &opts, 2.0);
    for (int stall = 0; stall < 5; stall++) {
        throttle = (stall < 3 ? stall : 3) * 20; /* 0, 20, 40, 60, then stuck at 60 */
        do {
            s = pass_sample((uint64_t)(t += 500), ++pass, 5000);
            s.auto_converge_throttle = throttle;
            virt_converge_next(&mon, &s, &d);
        } while (!d.stalled);
        if (stall < 4) {
            ck_assert_msg(d.action == VIRT_CONVERGE_CONTINUE, "stall %d: %s", stall, d.reason);
            ck_assert_ptr_nonnull(strstr(d.reason, "letting auto-converge throttle"));
        }
    }
    /* the throttle stopped rising below the maximum: the next rung */
    ck_assert_int_eq(d.action, VIRT_CONVERGE_PAUSE);

    /* just at the maximum: one window for it to act; still stalled at the maximum: next rung */
    virt_converge_init(&mon, &opts, 2.0);
    pass = 1;
    for (int stall = 0; stall < 2; stall++) {
        do {
            s = pass_sample((uint64_t)(t += 500), ++pass, 5000);
            s.auto_converge_throttle = VIRT_AUTO_CONVERGE_MAX_THROTTLE;
            virt_converge_next(&mon, &s, &d);
        } while (!d.stalled);
        if (stall == 0) {
            ck_assert_msg(d.action == VIRT_CONVERGE_CONTINUE, "at the maximum: %s", d.reason);
            ck_assert_ptr_nonnull(strstr(d.reason, "letting auto-converge throttle"));
        }
    }
    ck_assert_int_eq(d.action, VIRT_CONVERGE_PAUSE);
}
END_TEST

/* Samples from before the memory transfer (no data total yet, remaining 0), and the low points
 * every pass reaches near its end, are no lowest to beat: a migration whose passes shrink never
 * stalls. (They were: on the testbed every block migration past 10 s was "stalled", and a busy
 * guest that auto-converge was bringing down got paused for 5 s.) */
START_TEST(test_monitor_ignores_samples_before_the_transfer)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s;
    int t = 0;
    uint64_t pass = 1;

    virt_converge_options_default(&opts);
    opts.stall_passes = 2;
    opts.stall_samples = 3;
    virt_converge_init(&mon, &opts, 2.0);
    for (int i = 0; i < 5; i++) {
        s = sample((uint64_t)(t += 500), 0);
        s.data_total = 0;
        s.data_processed = 0;
        virt_converge_next(&mon, &s, &d);
        ck_assert(!d.stalled);
    }
    for (uint64_t left = 9000; left > 1000; left -= 1000) {
        s = pass_sample((uint64_t)(t += 500), ++pass, left);
        virt_converge_next(&mon, &s, &d);
        ck_assert_msg(!d.stalled, "stalled at %llu: %s", (unsigned long long)left, d.reason);
        for (int i = 0; i < 4; i++) { /* many samples per pass, dipping to its end */
            s = pass_sample((uint64_t)(t += 500), pass, left / (uint64_t)(i + 2));
            virt_converge_next(&mon, &s, &d);
            ck_assert_msg(!d.stalled, "stalled in pass %llu: %s", (unsigned long long)pass,
                          d.reason);
        }
    }
}
END_TEST

/* A stall where nothing moves at all is the link's: neither pausing nor post-copy helps it, so
 * the monitor waits - but a guest it had paused is not left paused: abort. And the completion
 * timeout's force-complete never switches to post-copy over a dead link (the guest would start
 * on the destination with its memory behind it): it pauses instead. */
START_TEST(test_monitor_no_post_copy_over_a_dead_link)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s;
    int t = 0;

    virt_converge_options_default(&opts);
    opts.stall_samples = 3;
    opts.permit_post_copy = true;
    virt_converge_init(&mon, &opts, 2.0);
    s = pass_sample((uint64_t)(t += 500), 2, 5000);
    virt_converge_next(&mon, &s, &d);
    for (int i = 0; i < 4; i++) { /* the first of them still moved bytes */
        s = pass_sample((uint64_t)(t += 500), 2, 5000);
        s.data_processed = 1ULL << 20; /* frozen */
        virt_converge_next(&mon, &s, &d);
    }
    ck_assert(d.stalled);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
    ck_assert_ptr_nonnull(strstr(d.reason, "waiting for the link"));

    /* the completion timeout's force-complete: pause, not post-copy; then the dead link aborts */
    opts.completion_timeout_s = 10;
    opts.timeout_action = VIRT_TIMEOUT_ACTION_FORCE_COMPLETE;
    virt_converge_init(&mon, &opts, 2.0);
    for (int i = 0; i < 3; i++) {
        s = pass_sample(19000 + (uint64_t)i * 1000, 2, 100);
        s.data_processed = 7;
        virt_converge_next(&mon, &s, &d);
    }
    ck_assert_int_eq(d.action, VIRT_CONVERGE_PAUSE);
    for (int i = 0; i < 3 && d.action != VIRT_CONVERGE_ABORT; i++) {
        s = pass_sample(22000 + (uint64_t)i * 1000, 2, 100);
        s.data_processed = 7;
        virt_converge_next(&mon, &s, &d);
    }
    ck_assert_msg(d.action == VIRT_CONVERGE_ABORT, "%s", d.reason);
    ck_assert_ptr_nonnull(strstr(d.reason, "with the guest paused"));
    /* and while bytes move, the same timeout switches */
    virt_converge_init(&mon, &opts, 2.0);
    s = sample(21000, 100);
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_POST_COPY);
}
END_TEST

START_TEST(test_monitor_ignores_ended_jobs)
{
    virt_converge_options_t opts;
    virt_converge_t mon;
    virt_converge_decision_t d;
    virt_job_stats_t s = sample(999999, 5);

    virt_converge_options_default(&opts);
    opts.completion_timeout_s = 1;
    virt_converge_init(&mon, &opts, 2.0);
    s.type = VIRT_JOB_COMPLETED;
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
    ck_assert_str_eq(d.reason, "job is completed");
    s.type = VIRT_JOB_NONE;
    virt_converge_next(&mon, &s, &d);
    ck_assert_int_eq(d.action, VIRT_CONVERGE_CONTINUE);
    ck_assert_str_eq(virt_converge_action_name(VIRT_CONVERGE_POST_COPY), "post-copy");
}
END_TEST

TCase *
virt_converge_tcase(void)
{
    TCase *tc = tcase_create("converge");

    tcase_add_test(tc, test_downtime_steps_match_nova);
    tcase_add_test(tc, test_timeout_action_rules);
    tcase_add_test(tc, test_monitor_raises_downtime_by_steps);
    tcase_add_test(tc, test_monitor_aborts_on_completion_timeout);
    tcase_add_test(tc, test_monitor_timeout_force_complete);
    tcase_add_test(tc, test_monitor_stall_escalation);
    tcase_add_test(tc, test_monitor_never_pause_policy_aborts);
    tcase_add_test(tc, test_monitor_no_post_copy_over_a_dead_link);
    tcase_add_test(tc, test_monitor_ignores_samples_before_the_transfer);
    tcase_add_test(tc, test_monitor_auto_converge_keeps_its_turn_while_throttling);
    tcase_add_test(tc, test_monitor_ignores_ended_jobs);
    return tc;
}
