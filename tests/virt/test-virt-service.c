/*
 * tests/virt/test-virt-service.c: the libvirt driver against two real libvirtd hosts of the
 * testbed (tools/testbed): host facts, CPU comparison, spawn of the test guest, pre-created disks,
 * firewall and bridge on the destination, a block migration host1 -> host2 polled while it runs
 * with completed statistics read on host2, an aborted slow migration, and libvirt errors
 * translated into messages that name the instance and the destination.
 *
 * The runner (virt_testbed_prepare) reads the testbed's state file, bringing the testbed up with
 * 2 hosts and no services when it is down (and down again at the end); a testbed that is broken
 * or cannot come up fails the run. Domains made here are named "virt-test-*" and are removed
 * after the run even when a test failed half-way (virt_testbed_release).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/command.h"
#include "common/error.h"
#include "common/util.h"
#include "compute/virt/virt.h"
#include "tests/virt/virt_tests.h"

#define TEST_BRIDGE "tern-vbr0"
#define NAME_PREFIX "virt-test-"

/* ---- the testbed's state file ---- */

static char *state_keys[256];
static char *state_values[256];
static size_t n_state;
static bool testbed_owned;

static const char *
tb(const char *key)
{
    for (size_t i = 0; i < n_state; i++)
        if (strcmp(state_keys[i], key) == 0)
            return state_values[i];
    return NULL;
}

static const char *
tb_host(int host, const char *what)
{
    char key[96];

    snprintf(key, sizeof(key), "TERN_TESTBED_HOST%d_%s", host, what);
    return tb(key);
}

static char *
testbed_command(void)
{
    return tern_asprintf("%s/tools/testbed/testbed", TERN_SRCDIR);
}

static char *
state_file(void)
{
    const char *dir = getenv("TERN_TESTBED_DIR");

    return tern_asprintf("%s/testbed.env", dir && *dir ? dir : "/var/lib/tern-testbed");
}

/* load_state: KEY='value' lines written by `testbed up`. */
static int
load_state(void)
{
    TERN_AUTOFREE char *path = state_file();
    char line[4096];
    FILE *f = fopen(path, "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f) && n_state < TERN_N_ELEMENTS(state_keys)) {
        char *eq = strchr(line, '=');
        size_t len;

        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        len = strcspn(eq + 1, "\n");
        eq[1 + len] = '\0';
        if (eq[1] == '\'' && len >= 2 && eq[len] == '\'') {
            eq[len] = '\0';
            eq++;
        }
        state_keys[n_state] = tern_strdup(line);
        state_values[n_state++] = tern_strdup(eq + 1);
    }
    fclose(f);
    return 0;
}

static int
testbed_run(const char *const argv[], bool quiet, int *ret_status)
{
    tern_command_result_t res = {0};
    int rc = tern_command_run(argv, 300000, &res);

    *ret_status = res.exit_status;
    if (rc < 0 && !quiet)
        fprintf(stderr, "test-virt: %s\n%s%s", tern_error_message(), res.out ? res.out : "",
                res.err ? res.err : "");
    tern_command_result_clear(&res);
    return rc;
}

int
virt_testbed_prepare(void)
{
    TERN_AUTOFREE char *cmd = testbed_command();
    const char *status_argv[] = {cmd, "status", NULL};
    int status;

    testbed_run(status_argv, true, &status);
    if (status == 1) {
        /* A state file whose hosts are gone (a reboot, a killed run): nobody can use it. */
        const char *down_argv[] = {cmd, "down", NULL};

        fprintf(stderr, "test-virt: the testbed is broken (left by an earlier run?); taking it "
                        "down first\n");
        if (testbed_run(down_argv, false, &status) < 0) {
            fprintf(stderr, "test-virt: FAILED: could not take the broken testbed down\n");
            return -1;
        }
        status = 3;
    }
    if (status == 3) {
        const char *up_argv[] = {cmd,          "up",          "--hosts", "2", "--no-services",
                                 "--builddir", TERN_BUILDDIR, NULL};

        fprintf(stderr, "test-virt: the testbed is down; bringing it up (2 hosts, no services)\n");
        if (testbed_run(up_argv, false, &status) < 0) {
            fprintf(stderr, "test-virt: FAILED: could not bring the testbed up\n");
            return -1;
        }
        testbed_owned = true;
    } else if (status != 0) {
        fprintf(stderr,
                "test-virt: FAILED: the testbed is broken (`%s status` exit %d); run "
                "`%s down` and retry\n",
                cmd, status, cmd);
        return -1;
    }
    if (load_state() < 0 || !tb("TERN_TESTBED_NHOSTS") || atoi(tb("TERN_TESTBED_NHOSTS")) < 2 ||
        !tb("TERN_GUEST_KERNEL")) {
        fprintf(stderr, "test-virt: FAILED: the testbed state file lacks 2 hosts or the guest\n");
        return -1;
    }
    return 0;
}

/* ---- helpers ---- */

/* The operator's bridge the bridge test lists in allowed_bridges. */
static const char *const allowed_bridges[] = {"tern-opbr0", NULL};

static virt_driver_t *
open_host(int host)
{
    virt_options_t opts = {
        .allowed_bridges = allowed_bridges,
        .uri = tb_host(host, "LIBVIRT_URI"),
        .virt_type = "qemu",
        .instances_path = tb("TERN_TESTBED_INSTANCES_PATH"),
        .local_instances_path = tb_host(host, "INSTANCES_DIR"),
        .netns = tb_host(host, "NETNS"),
        .preserve_on_crash = true,
    };
    virt_driver_t *drv = virt_driver_open("libvirt", &opts);

    ck_assert_msg(drv != NULL, "could not open host%d: %s", host, tern_error_message());
    return drv;
}

static bool
shared_instances(void)
{
    return tern_streq(tb("TERN_TESTBED_SHARED_INSTANCES"), "1");
}

/* make_instance: the testbed's guest as a tern instance; extra_cmdline appended. */
static virt_instance_t *
make_instance(bool with_nic, const char *extra_cmdline)
{
    const char *ipath = tb("TERN_TESTBED_INSTANCES_PATH");
    char uuid[37];
    TERN_AUTOFREE char *text = NULL;
    TERN_AUTOFREE char *nic = NULL;
    virt_instance_t *inst;

    tern_uuid_generate(uuid);
    if (with_nic)
        nic = tern_asprintf("{\"mac\": \"52:54:00:%.2s:%.2s:%.2s\", \"bridge\": \"%s\","
                            " \"filter_name\": \"tern-instance-%s\"}",
                            uuid, uuid + 2, uuid + 4, TEST_BRIDGE, uuid);
    text = tern_asprintf(
        "{\"uuid\": \"%s\", \"name\": \"" NAME_PREFIX "%.8s\", \"memory_mb\": 256, \"vcpus\": 1,"
        " \"kernel\": \"%s\", \"initrd\": \"%s\", \"cmdline\": \"%s %s\","
        " \"serial_log\": \"%s/%s/console.log\","
        " \"disks\": [{\"target\": \"vda\", \"path\": \"%s/%s/disk\", \"format\": \"qcow2\","
        "   \"backing_file\": \"%s\"}], \"interfaces\": [%s]}",
        uuid, uuid, tb("TERN_GUEST_KERNEL"), tb("TERN_GUEST_INITRD"), tb("TERN_GUEST_CMDLINE"),
        extra_cmdline ? extra_cmdline : "", ipath, uuid, ipath, uuid, tb("TERN_GUEST_BASE_DISK"),
        nic ? nic : "");
    inst = virt_instance_from_json_text(text);
    ck_assert_msg(inst != NULL, "bad test instance: %s", tern_error_message());
    inst->disks[0].shared = shared_instances(); /* then cache none: safe without a copy */
    return inst;
}

static char *
local_file(int host, const virt_instance_t *inst, const char *name)
{
    return tern_asprintf("%s/%s/%s", tb_host(host, "INSTANCES_DIR"), inst->uuid, name);
}

/* wait_console: wait up to timeout_ms for `needle` in the instance's console log on host. */
static bool
wait_console(int host, const virt_instance_t *inst, const char *needle, int timeout_ms)
{
    TERN_AUTOFREE char *path = local_file(host, inst, "console.log");
    int64_t deadline = tern_now_monotonic_ms() + timeout_ms;

    do {
        TERN_AUTOFREE char *data = NULL;
        size_t len;

        if (tern_file_read_all(path, 16 << 20, &data, &len) == 0 && strstr(data, needle))
            return true;
        tern_sleep_ms(200);
    } while (tern_now_monotonic_ms() < deadline);
    return false;
}

static void
assert_state(virt_driver_t *drv, const char *uuid, virt_state_t state)
{
    virt_domain_info_t info;

    ck_assert_msg(virt_get_domain_info(drv, uuid, &info) == 0, "%s", tern_error_message());
    ck_assert_msg(info.state == state, "instance %s is %s, expected %s", uuid,
                  virt_state_name(info.state), virt_state_name(state));
    if (state != VIRT_STATE_NONE) {
        ck_assert(info.exists);
        ck_assert(info.persistent);
    } else {
        ck_assert(!info.exists);
    }
}

/* ---- tests ---- */

/* ip_in_host HOST ARGS...: run `ip -n <host's netns> ARGS...`; its exit status. */
static int
ip_in_host(int host, const char *a1, const char *a2, const char *a3, const char *a4, const char *a5,
           const char *a6)
{
    const char *argv[] = {"ip", "-n", tb_host(host, "NETNS"), a1, a2, a3, a4, a5, a6, NULL};
    tern_command_result_t res = {0};
    int rc = tern_command_run(argv, 10000, &res);
    int status = rc == 0 ? 0 : res.exit_status ? res.exit_status : -1;

    tern_command_result_clear(&res);
    return status;
}

/* A bridge tern made is removed once unused; one it did not make (an operator's, an uplink) is
 * used only when listed in allowed_bridges, and never removed, even when no domain uses it. */
START_TEST(test_bridge_tern_did_not_make_survives)
{
    virt_driver_t *drv = open_host(1);
    bool removed = true;

    ip_in_host(1, "link", "del", "dev", "tern-opbr9", NULL, NULL); /* a previous run's */
    ck_assert_int_eq(ip_in_host(1, "link", "add", "name", "tern-opbr9", "type", "bridge"), 0);
    ck_assert_int_eq(virt_ensure_bridge(drv, "tern-opbr9"), -1); /* not listed: refused */
    ck_assert_int_eq(tern_error_code(), TERN_ERR_PERMISSION);
    ck_assert_str_eq(tern_error_message(), "bridge \"tern-opbr9\" was not made by tern and is not "
                                           "in [compute] allowed_bridges: a guest may not use it");
    ck_assert_int_eq(ip_in_host(1, "link", "show", "dev", "tern-opbr9", NULL, NULL), 0);
    ck_assert_int_eq(ip_in_host(1, "link", "del", "dev", "tern-opbr9", NULL, NULL), 0);

    ip_in_host(1, "link", "del", "dev", "tern-opbr0", NULL, NULL); /* a previous run's */
    ck_assert_int_eq(ip_in_host(1, "link", "add", "name", "tern-opbr0", "type", "bridge"), 0);
    ck_assert_msg(virt_ensure_bridge(drv, "tern-opbr0") == 0, "%s", tern_error_message());
    ck_assert_int_eq(virt_remove_bridge_if_unused(drv, "tern-opbr0", &removed), 0);
    ck_assert_msg(!removed, "removed a bridge tern did not make");
    ck_assert_int_eq(ip_in_host(1, "link", "show", "dev", "tern-opbr0", NULL, NULL), 0);
    ck_assert_int_eq(ip_in_host(1, "link", "del", "dev", "tern-opbr0", NULL, NULL), 0);

    ck_assert_msg(virt_ensure_bridge(drv, "tern-ownbr0") == 0, "%s", tern_error_message());
    ck_assert_int_eq(virt_remove_bridge_if_unused(drv, "tern-ownbr0", &removed), 0);
    ck_assert_msg(removed, "kept an unused bridge tern made");
    ck_assert_int_ne(ip_in_host(1, "link", "show", "dev", "tern-ownbr0", NULL, NULL), 0);
    virt_driver_close(drv);
}
END_TEST

START_TEST(test_host_info)
{
    for (int host = 1; host <= 2; host++) {
        virt_driver_t *drv = open_host(host);
        virt_host_info_t info;
        char expect[32];

        ck_assert_msg(virt_get_host_info(drv, &info) == 0, "%s", tern_error_message());
        ck_assert_str_eq(info.hypervisor_type, "QEMU");
        ck_assert_uint_ge(info.hypervisor_version, 7000000);
        snprintf(expect, sizeof(expect), "%lu.%lu.%lu", info.hypervisor_version / 1000000,
                 info.hypervisor_version / 1000 % 1000, info.hypervisor_version % 1000);
        ck_assert_str_eq(info.hypervisor_version_str, expect);
        ck_assert_uint_ge(info.libvirt_version, 9000000);
        ck_assert(!tern_str_empty(info.hostname));
        ck_assert_msg(strncmp(info.cpu_model_xml, "<cpu", 4) == 0 &&
                          strstr(info.cpu_model_xml, "</cpu>"),
                      "%s", info.cpu_model_xml);
        ck_assert_uint_gt(info.vcpus, 0);
        ck_assert_uint_gt(info.memory_total_bytes, 0);
        ck_assert_uint_gt(info.memory_free_bytes, 0);
        ck_assert_uint_le(info.memory_free_bytes, info.memory_total_bytes);
        ck_assert_uint_gt(info.disk_total_bytes, 0);
        ck_assert_uint_le(info.disk_free_bytes, info.disk_total_bytes);
        ck_assert_int_ge(info.running_domains, 0);
        fprintf(stderr, "host%d: %s %s, libvirt %s, %u vcpus, %llu MiB free, %d running\n", host,
                info.hypervisor_type, info.hypervisor_version_str, info.libvirt_version_str,
                info.vcpus, (unsigned long long)(info.memory_free_bytes >> 20),
                info.running_domains);
        virt_host_info_clear(&info);
        ck_assert_int_eq(virt_connect_ensure(drv), 0);
        virt_driver_close(drv);
    }
}
END_TEST

/* ---- one driver, many threads ---- */

#define CONCURRENT_THREADS 6
#define CONCURRENT_ROUNDS 4

typedef struct worker {
    virt_driver_t *drv;     /* shared by every worker */
    const char *guest_uuid; /* a running guest to query */
    int failures;
    char first_failure[512];
} worker_t;

static void
worker_failed(worker_t *w, const char *what)
{
    if (w->failures++ == 0)
        snprintf(w->first_failure, sizeof(w->first_failure), "%s: %s", what, tern_error_message());
}

/* worker_run: what a compute's workers do at once: state queries, host facts, CPU checks, an
 * incoming instance prepared (dir, pre-created disk, bridge) and cleaned up again. */
static void *
worker_run(void *opaque)
{
    worker_t *w = opaque;

    for (int r = 0; r < CONCURRENT_ROUNDS; r++) {
        virt_instance_t *inst = make_instance(false, NULL);
        virt_domain_info_t info;
        virt_host_info_t host;
        virt_guest_cpu_t cpu = {0};
        virt_cpu_compare_t cmp;
        TERN_AUTOFREE char *disk = local_file(2, inst, "disk");
        struct stat st;
        bool removed;

        if (virt_get_domain_info(w->drv, w->guest_uuid, &info) < 0 || !info.exists ||
            info.state != VIRT_STATE_RUNNING)
            worker_failed(w, "the running guest's state");
        if (virt_get_domain_info(w->drv, inst->uuid, &info) < 0 || info.exists)
            worker_failed(w, "a missing domain's state");
        if (virt_get_host_info(w->drv, &host) < 0)
            worker_failed(w, "host facts");
        virt_host_info_clear(&host);
        if (virt_get_guest_cpu(w->drv, w->guest_uuid, &cpu) < 0 ||
            virt_check_guest_cpu(w->drv, &cpu, &cmp) < 0 || !cmp.compatible)
            worker_failed(w, "the guest's CPU on its own host");
        virt_guest_cpu_clear(&cpu);
        if (virt_ensure_bridge(w->drv, TEST_BRIDGE) < 0 ||
            virt_create_instance_dir(w->drv, inst->uuid) < 0 ||
            virt_pre_create_disks(w->drv, inst) < 0 || stat(disk, &st) < 0)
            worker_failed(w, "preparing an incoming instance");
        if (virt_delete_instance_files(w->drv, inst->uuid) < 0 || stat(disk, &st) == 0)
            worker_failed(w, "removing its files");
        if (virt_remove_bridge_if_unused(w->drv, TEST_BRIDGE, &removed) < 0)
            worker_failed(w, "removing the bridge when unused");
        virt_instance_free(inst);
    }
    return NULL;
}

/* One driver handle used by six threads at once with no lock around it, as tern-compute's RPC
 * workers use it: every query, check, preparation and clean-up succeeds and is right. */
START_TEST(test_driver_used_by_threads_at_once)
{
    virt_driver_t *dst = open_host(2);
    virt_instance_t *guest = make_instance(false, NULL);
    worker_t w[CONCURRENT_THREADS];
    pthread_t th[CONCURRENT_THREADS];

    ck_assert_msg(virt_spawn(dst, guest) == 0, "%s", tern_error_message());
    for (int i = 0; i < CONCURRENT_THREADS; i++) {
        w[i] = (worker_t){.drv = dst, .guest_uuid = guest->uuid};
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < CONCURRENT_THREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_msg(w[i].failures == 0, "thread %d: %d failures, the first: %s", i, w[i].failures,
                      w[i].first_failure);
    }
    assert_state(dst, guest->uuid, VIRT_STATE_RUNNING);
    ck_assert_int_eq(virt_destroy(dst, guest, true), 0);
    ck_assert_int_eq(virt_remove_bridge_if_unused(dst, TEST_BRIDGE, NULL), 0);
    virt_instance_free(guest);
    virt_driver_close(dst);
}
END_TEST

/* ---- guest CPUs ---- */

/* lacking_feature: a CPU feature host's hypervisor does not provide (TCG emulates few of the
 * newest ones, whatever the machine's own CPU), found by asking it, so that no test depends on
 * which CPU the test machine has. */
static const char *
lacking_feature(virt_driver_t *drv)
{
    static const char *const candidates[] = {"avx512f",  "avx512bw",    "amx-tile", "avx512-fp16",
                                             "avx-vnni", "sgx",         "vmx",      "svm",
                                             "pks",      "avx512-bf16", NULL};
    virt_guest_cpu_t probe = {.mode = "custom", .virt_type = "qemu", .arch = "x86_64"};

    for (size_t i = 0; candidates[i]; i++) {
        TERN_AUTOFREE char *xml = tern_asprintf("<cpu mode='custom' match='exact'><model>qemu64"
                                                "</model><feature policy='require' name='%s'/>"
                                                "</cpu>",
                                                candidates[i]);
        virt_cpu_compare_t cmp;

        probe.xml = xml;
        ck_assert_msg(virt_compare_hypervisor_cpu(drv, &probe, &cmp) == 0, "%s",
                      tern_error_message());
        if (!cmp.compatible)
            return candidates[i];
    }
    ck_abort_msg("the hypervisor provides every candidate feature: none to test with");
    return NULL;
}

/* with_feature: xml (a <cpu> element) with <feature policy=POLICY name=NAME/> added (new). */
static char *
with_feature(const char *xml, const char *policy, const char *name)
{
    const char *end = strstr(xml, "</cpu>");
    TERN_AUTOFREE char *feature =
        policy ? tern_asprintf("<feature policy='%s' name='%s'/>", policy, name)
               : tern_asprintf("<feature name='%s'/>", name);

    ck_assert_ptr_nonnull(end);
    return tern_asprintf("%.*s%s%s", (int)(end - xml), xml, feature, end);
}

/* Issue 10's regression: a source *host* with CPU features the destination's hypervisor (TCG)
 * lacks used to make every guest unmovable, because the source host's CPU was compared. The
 * guest's own CPU (its live definition) is what is judged: a default guest (qemu64) is accepted
 * whatever the source host has. The source host CPU is fed in (a Skylake server, whose model
 * has AVX-512, which TCG lacks), so this holds on any machine. */
START_TEST(test_guest_cpu_judged_not_source_host)
{
    virt_driver_t *src = open_host(1), *dst = open_host(2);
    virt_instance_t *inst = make_instance(false, NULL);
    virt_guest_cpu_t cpu = {0}, host_as_guest;
    virt_cpu_compare_t cmp;
    TERN_AUTOFREE char *rich_host = NULL;

    ck_assert_msg(virt_spawn(src, inst) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_get_guest_cpu(src, inst->uuid, &cpu) == 0, "%s", tern_error_message());
    ck_assert_str_eq(cpu.mode, "custom");
    ck_assert_msg(strstr(cpu.xml, "<model fallback=\"forbid\">qemu64</model>") ||
                      strstr(cpu.xml, "<model fallback='forbid'>qemu64</model>"),
                  "guest cpu: %s", cpu.xml);
    ck_assert_str_eq(cpu.virt_type, "qemu");
    ck_assert_str_eq(cpu.arch, "x86_64");
    ck_assert_msg(strncmp(cpu.machine, "pc-i440fx-", 10) == 0, "machine %s", cpu.machine);
    ck_assert_ptr_null(cpu.host_cpu);

    /* the source host as an Intel Xeon with AVX-512 reports it (a capabilities <cpu>): what
     * the conductor used to send, and what TCG refused on every machine of that kind */
    rich_host = tern_strdup("<cpu>\n  <arch>x86_64</arch>\n  <model>Skylake-Server-IBRS</model>\n"
                            "  <topology sockets='1' cores='2' threads='1'/>\n</cpu>");
    host_as_guest = cpu;
    host_as_guest.xml = rich_host;
    ck_assert_int_eq(virt_compare_hypervisor_cpu(dst, &host_as_guest, &cmp), 0);
    ck_assert_msg(!cmp.compatible, "host2 took a Skylake host CPU");

    /* the guest's CPU is what the destination judges: accepted */
    ck_assert_int_eq(virt_check_guest_cpu(dst, &cpu, &cmp), 0);
    ck_assert_msg(cmp.compatible, "host2 refused the guest's own CPU: %s", cmp.reason);

    virt_guest_cpu_clear(&cpu);
    ck_assert_int_eq(virt_destroy(src, inst, true), 0);
    virt_instance_free(inst);
    virt_driver_close(src);
    virt_driver_close(dst);
}
END_TEST

/* A guest CPU asking for a feature the destination's hypervisor lacks is refused, the feature
 * named; an unknown model is an error of the question, not a refusal. */
START_TEST(test_guest_cpu_feature_missing_refused)
{
    virt_driver_t *src = open_host(1), *dst = open_host(2);
    virt_instance_t *inst = make_instance(false, NULL);
    const char *missing = lacking_feature(dst);
    virt_guest_cpu_t cpu = {0};
    virt_cpu_compare_t cmp;
    char *xml;

    ck_assert_msg(virt_spawn(src, inst) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_get_guest_cpu(src, inst->uuid, &cpu) == 0, "%s", tern_error_message());
    xml = with_feature(cpu.xml, "require", missing);
    free(cpu.xml);
    cpu.xml = xml;
    ck_assert_int_eq(virt_check_guest_cpu(dst, &cpu, &cmp), 0);
    ck_assert(!cmp.compatible);
    ck_assert_msg(strstr(cmp.reason, missing) != NULL, "reason \"%s\" does not name %s", cmp.reason,
                  missing);
    free(cpu.xml);
    cpu.xml = tern_strdup("<cpu mode='custom' match='exact'><model>no-such-model</model></cpu>");
    ck_assert_int_eq(virt_check_guest_cpu(dst, &cpu, &cmp), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_VIRT);
    free(cpu.xml);
    cpu.xml = tern_strdup("<cpu mode='custom' match='exact'><model>qemu64</model></cpu>");
    free(cpu.machine);
    cpu.machine = tern_strdup("pc-no-such-machine");
    ck_assert_int_eq(virt_check_guest_cpu(dst, &cpu, &cmp), -1);
    ck_assert_msg(strstr(tern_error_message(), "pc-no-such-machine"), "%s", tern_error_message());

    virt_guest_cpu_clear(&cpu);
    ck_assert_int_eq(virt_destroy(src, inst, true), 0);
    virt_instance_free(inst);
    virt_driver_close(src);
    virt_driver_close(dst);
}
END_TEST

/* A host-passthrough guest sees its source host's CPU as it is: the destination compares the
 * hosts' CPUs (TCG cannot run such a guest, so the source host's CPU is fed in). */
START_TEST(test_host_passthrough_needs_the_same_host_cpu)
{
    virt_driver_t *dst = open_host(2);
    virt_host_info_t info;
    virt_guest_cpu_t cpu = {.mode = "host-passthrough",
                            .xml = "<cpu mode='host-passthrough' check='none' migratable='on'/>",
                            .virt_type = "kvm",
                            .arch = "x86_64",
                            .machine = "pc-i440fx-10.0"};
    virt_cpu_compare_t cmp;
    TERN_AUTOFREE char *richer = NULL;
    TERN_AUTOFREE char *other_model = NULL;

    ck_assert_int_eq(virt_get_host_info(dst, &info), 0);
    cpu.host_cpu = info.cpu_model_xml; /* the same host CPU on both sides */
    ck_assert_msg(virt_check_guest_cpu(dst, &cpu, &cmp) == 0, "%s", tern_error_message());
    ck_assert_msg(cmp.compatible, "%s", cmp.reason);

    richer = with_feature(info.cpu_model_xml, NULL, "tern-test-feature");
    cpu.host_cpu = richer;
    ck_assert_int_eq(virt_check_guest_cpu(dst, &cpu, &cmp), 0);
    ck_assert(!cmp.compatible);
    ck_assert_str_eq(cmp.reason, "1 feature of the source host missing here: tern-test-feature");

    other_model = tern_asprintf("<cpu><arch>x86_64</arch><model>tern-test-model</model>%s",
                                strstr(info.cpu_model_xml, "<vendor>"));
    cpu.host_cpu = other_model;
    ck_assert_int_eq(virt_check_guest_cpu(dst, &cpu, &cmp), 0);
    ck_assert(!cmp.compatible);
    ck_assert_msg(strstr(cmp.reason, "model \"tern-test-model\" on the source host"), "%s",
                  cmp.reason);
    cpu.host_cpu = NULL;
    ck_assert_int_eq(virt_check_guest_cpu(dst, &cpu, &cmp), -1);
    virt_host_info_clear(&info);
    virt_driver_close(dst);
}
END_TEST

/* open_host_cpu: a driver of host with [libvirt] cpu_mode / cpu_models / extra flags. */
static virt_driver_t *
open_host_cpu(int host, const char *mode, const char *const *models, const char *const *flags)
{
    virt_options_t opts = {
        .uri = tb_host(host, "LIBVIRT_URI"),
        .virt_type = "qemu",
        .instances_path = tb("TERN_TESTBED_INSTANCES_PATH"),
        .local_instances_path = tb_host(host, "INSTANCES_DIR"),
        .netns = tb_host(host, "NETNS"),
        .cpu_mode = mode,
        .cpu_models = models,
        .cpu_extra_flags = flags,
        .preserve_on_crash = true,
    };
    virt_driver_t *drv = virt_driver_open("libvirt", &opts);

    ck_assert_msg(drv != NULL, "could not open host%d: %s", host, tern_error_message());
    return drv;
}

/* [libvirt] cpu_mode, cpu_models and cpu_model_extra_flags shape the guests a compute defines:
 * custom takes the first model this hypervisor can run, flags are required or disabled, and
 * host-model is expanded by libvirt (and then migrates to an equal host). */
START_TEST(test_cpu_mode_options_define_the_guest_cpu)
{
    virt_driver_t *plain = open_host(2);
    const char *const models[] = {"Skylake-Server", "Opteron_G5", "qemu64", NULL};
    const char *const flags[] = {"-lahf_lm", "+sse4.1", NULL};
    virt_driver_t *custom = open_host_cpu(1, "custom", models, flags);
    virt_driver_t *host_model = open_host_cpu(1, "host-model", NULL, NULL);
    virt_instance_t *a = make_instance(false, NULL), *b = make_instance(false, NULL);
    virt_guest_cpu_t cpu = {0};
    virt_cpu_compare_t cmp;
    TERN_AUTOFREE char *chosen = NULL;

    ck_assert_msg(virt_spawn(custom, a) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_get_guest_cpu(custom, a->uuid, &cpu) == 0, "%s", tern_error_message());
    ck_assert_str_eq(cpu.mode, "custom");
    /* the first model host1 can run: Skylake-Server and Opteron_G5 need features TCG lacks */
    chosen = strstr(cpu.xml, "Skylake-Server") ? tern_strdup("Skylake-Server")
             : strstr(cpu.xml, "Opteron_G5")   ? tern_strdup("Opteron_G5")
                                               : tern_strdup("qemu64");
    {
        virt_guest_cpu_t probe = cpu;
        TERN_AUTOFREE char *xml = NULL;

        /* whichever it chose, every model before it must be one host1 cannot run */
        for (size_t i = 0; models[i] && strcmp(models[i], chosen) != 0; i++) {
            xml = tern_asprintf("<cpu mode='custom' match='exact'><model>%s</model></cpu>",
                                models[i]);
            probe.xml = xml;
            ck_assert_int_eq(virt_compare_hypervisor_cpu(custom, &probe, &cmp), 0);
            ck_assert_msg(!cmp.compatible, "%s was usable but %s was chosen", models[i], chosen);
            free(xml);
            xml = NULL;
        }
    }
    ck_assert_msg(strstr(cpu.xml, "name=\"lahf_lm\"") || strstr(cpu.xml, "name='lahf_lm'"), "%s",
                  cpu.xml);
    ck_assert_msg(strstr(cpu.xml, "policy=\"disable\" name=\"lahf_lm\"") ||
                      strstr(cpu.xml, "policy='disable' name='lahf_lm'"),
                  "lahf_lm not disabled: %s", cpu.xml);
    ck_assert_msg(strstr(cpu.xml, "policy=\"require\" name=\"sse4.1\"") ||
                      strstr(cpu.xml, "policy='require' name='sse4.1'"),
                  "sse4.1 not required: %s", cpu.xml);
    ck_assert_int_eq(virt_check_guest_cpu(plain, &cpu, &cmp), 0);
    ck_assert_msg(cmp.compatible, "host2 refused the custom guest: %s", cmp.reason);
    virt_guest_cpu_clear(&cpu);

    ck_assert_msg(virt_spawn(host_model, b) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_get_guest_cpu(host_model, b->uuid, &cpu) == 0, "%s", tern_error_message());
    ck_assert_msg(tern_streq(cpu.mode, "custom") && strstr(cpu.xml, "<model"),
                  "host-model not expanded: mode %s, %s", cpu.mode, cpu.xml);
    ck_assert_int_eq(virt_check_guest_cpu(plain, &cpu, &cmp), 0);
    ck_assert_msg(cmp.compatible, "host2 refused the host-model guest: %s", cmp.reason);
    virt_guest_cpu_clear(&cpu);

    ck_assert_int_eq(virt_destroy(custom, a, true), 0);
    ck_assert_int_eq(virt_destroy(host_model, b, true), 0);
    virt_instance_free(a);
    virt_instance_free(b);
    virt_driver_close(custom);
    virt_driver_close(host_model);
    virt_driver_close(plain);
}
END_TEST

/* custom with no model this host can run: spawn refuses, naming every model and why. */
START_TEST(test_cpu_models_none_usable_refused)
{
    virt_driver_t *plain = open_host(1);
    const char *missing = lacking_feature(plain);
    const char *const models[] = {"qemu64", NULL};
    const char *const flags[] = {missing, NULL};
    virt_driver_t *custom = open_host_cpu(1, "custom", models, flags);
    virt_instance_t *inst = make_instance(false, NULL);
    virt_domain_info_t info;

    ck_assert_int_eq(virt_spawn(custom, inst), -1);
    ck_assert_msg(strstr(tern_error_message(), "none of the CPU models of [libvirt] cpu_models") &&
                      strstr(tern_error_message(), "qemu64: ") &&
                      strstr(tern_error_message(), missing) &&
                      strstr(tern_error_message(), inst->uuid),
                  "%s", tern_error_message());
    ck_assert_int_eq(virt_get_domain_info(custom, inst->uuid, &info), 0);
    ck_assert(!info.exists);
    virt_instance_free(inst);
    virt_driver_close(custom);
    virt_driver_close(plain);
}
END_TEST

START_TEST(test_connect_and_lookup_errors)
{
    virt_options_t opts = {.uri = "qemu+tcp://198.18.0.12:1/system", .instances_path = "/tmp"};
    virt_driver_t *drv = virt_driver_open("libvirt", &opts);
    virt_domain_info_t info;
    char *xml = NULL;
    char uuid[37];

    ck_assert_ptr_null(drv);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_VIRT);
    ck_assert_msg(strstr(tern_error_message(),
                         "could not connect to hypervisor \"qemu+tcp://198.18.0.12:1/system\": ") ==
                      tern_error_message(),
                  "%s", tern_error_message());

    drv = open_host(1);
    tern_uuid_generate(uuid);
    ck_assert_int_eq(virt_get_domain_info(drv, uuid, &info), 0);
    ck_assert(!info.exists);
    ck_assert_int_eq(virt_get_domain_xml(drv, uuid, &xml), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), uuid));
    virt_driver_close(drv);
}
END_TEST

START_TEST(test_spawn_and_block_migrate)
{
    virt_driver_t *src = open_host(1), *dst = open_host(2);
    virt_instance_t *inst = make_instance(true, NULL);
    virt_secgroup_rule_t rule = {.direction = VIRT_RULE_INGRESS,
                                 .protocol = VIRT_PROTO_TCP,
                                 .port_min = 22,
                                 .port_max = 22,
                                 .remote_cidr = "198.18.0.0/24"};
    virt_migrate_params_t params = {
        .dest_uri = tb_host(2, "LIBVIRT_TCP_URI"),
        .migration_addr = tb_host(2, "ADDRESS"),
        .block_migration = !shared_instances(),
        .incremental = true,
    };
    virt_migration_t *mig = NULL;
    virt_job_stats_t st, done, fin;
    virt_migration_result_t result;
    TERN_AUTOFREE char *filter = NULL;
    virt_guest_cpu_t cpu = {0};
    TERN_AUTOFREE char *probe = NULL;
    TERN_AUTOFREE char *dst_disk = NULL;
    virt_cpu_compare_t cmp;
    bool shared, removed, exists;
    int running_samples = 0;
    uint64_t max_total = 0;
    struct stat sb;
    int64_t t0;

    /* source: firewall, bridge, spawn */
    ck_assert_msg(virt_define_instance_filter(src, inst->uuid, &rule, 1, &filter) == 0, "%s",
                  tern_error_message());
    ck_assert_str_eq(filter, inst->interfaces[0].filter_name);
    ck_assert_msg(virt_ensure_bridge(src, TEST_BRIDGE) == 0, "%s", tern_error_message());
    ck_assert_int_eq(virt_ensure_bridge(src, TEST_BRIDGE), 0); /* idempotent */
    ck_assert_msg(virt_spawn(src, inst) == 0, "%s", tern_error_message());
    assert_state(src, inst->uuid, VIRT_STATE_RUNNING);
    ck_assert_msg(wait_console(1, inst, "HEARTBEAT", 60000), "no heartbeat on host1");
    ck_assert_int_eq(virt_remove_bridge_if_unused(src, TEST_BRIDGE, &removed), 0);
    ck_assert_msg(!removed, "bridge removed while a domain uses it");

    /* destination checks: CPU, shared storage */
    ck_assert_msg(virt_get_guest_cpu(src, inst->uuid, &cpu) == 0, "%s", tern_error_message());
    ck_assert_msg(strncmp(cpu.xml, "<cpu", 4) == 0, "guest cpu: \"%s\"", cpu.xml);
    ck_assert_int_eq(virt_check_guest_cpu(dst, &cpu, &cmp), 0);
    ck_assert_msg(cmp.compatible, "guest CPU refused by host2: %s", cmp.reason);
    virt_guest_cpu_clear(&cpu);
    ck_assert_msg(virt_shared_probe_create(dst, &probe) == 0, "%s", tern_error_message());
    ck_assert_int_eq(virt_check_shared_path(dst, probe, &shared), 0);
    ck_assert(shared);
    ck_assert_int_eq(virt_check_shared_path(src, probe, &shared), 0);
    ck_assert(shared == shared_instances());
    ck_assert_int_eq(virt_shared_probe_remove(dst, probe), 0);
    ck_assert_int_eq(virt_check_shared_path(dst, probe, &shared), 0);
    ck_assert(!shared);
    ck_assert_int_eq(virt_check_shared_path(dst, "../etc/passwd", &shared), -1);

    /* destination preparation: disks, bridge, firewall */
    ck_assert_msg(virt_pre_create_disks(dst, inst) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_pre_create_disks(dst, inst) == 0, "again: %s", tern_error_message());
    dst_disk = local_file(2, inst, "disk");
    ck_assert_msg(stat(dst_disk, &sb) == 0, "no disk at %s", dst_disk);
    ck_assert_int_eq(virt_ensure_bridge(dst, TEST_BRIDGE), 0);
    ck_assert_int_eq(virt_define_instance_filter(dst, inst->uuid, &rule, 1, NULL), 0);
    ck_assert_int_eq(virt_filter_exists(dst, filter, &exists), 0);
    ck_assert(exists);

    /* the migration, polled while it runs */
    t0 = tern_now_monotonic_ms();
    ck_assert_msg(virt_migrate(src, inst, &params, &mig) == 0, "%s", tern_error_message());
    while ((result = virt_migration_wait(mig, 100)) == VIRT_MIGRATION_RUNNING) {
        ck_assert_msg(virt_migration_get_stats(mig, &st) == 0, "%s", tern_error_message());
        if (st.type == VIRT_JOB_BOUNDED || st.type == VIRT_JOB_UNBOUNDED) {
            running_samples++;
            if (st.data_total > max_total)
                max_total = st.data_total;
        }
        ck_assert_msg(tern_now_monotonic_ms() - t0 < 120000, "migration still running");
    }
    if (result != VIRT_MIGRATION_SUCCEEDED)
        virt_migration_restore_error(mig);
    ck_assert_msg(result == VIRT_MIGRATION_SUCCEEDED, "migration %s: %s",
                  virt_migration_result_name(result), tern_error_message());
    ck_assert_int_eq(virt_migration_get_stats(mig, &st), 0);
    ck_assert_int_eq(st.type, VIRT_JOB_NONE);
    /* the final figures, as the source reported them when the job ended (the domain is gone
     * there): the whole memory and disk moved, nothing remaining */
    ck_assert_msg(virt_migration_get_final_stats(mig, &fin) == 0, "%s", tern_error_message());
    fprintf(stderr,
            "final (source): %llu ms, memory %llu/%llu remaining %llu, disk %llu/%llu remaining "
            "%llu, downtime %llu ms\n",
            (unsigned long long)fin.time_elapsed_ms, (unsigned long long)fin.memory_processed,
            (unsigned long long)fin.memory_total, (unsigned long long)fin.memory_remaining,
            (unsigned long long)fin.disk_processed, (unsigned long long)fin.disk_total,
            (unsigned long long)fin.disk_remaining, (unsigned long long)fin.downtime_ms);
    ck_assert_int_eq(fin.type, VIRT_JOB_COMPLETED);
    ck_assert_uint_gt(fin.time_elapsed_ms, 0);
    ck_assert_uint_gt(fin.memory_processed, 0);
    ck_assert_uint_eq(fin.memory_remaining, 0);
    ck_assert_uint_eq(fin.disk_remaining, 0);
    if (params.block_migration)
        ck_assert_uint_gt(fin.disk_total, 0);
    ck_assert_int_eq(virt_migration_abort(mig), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_CONFLICT);
    virt_migration_free(mig);
    fprintf(stderr, "migration host1 -> host2: %lld ms wall, %d running samples, data total %llu\n",
            (long long)(tern_now_monotonic_ms() - t0), running_samples,
            (unsigned long long)max_total);
    ck_assert_msg(running_samples > 0, "no statistics sample while the migration ran");
    ck_assert_uint_gt(max_total, 0);

    /* where it is now, and what it cost */
    assert_state(dst, inst->uuid, VIRT_STATE_RUNNING);
    assert_state(src, inst->uuid, VIRT_STATE_NONE);
    ck_assert_msg(virt_get_completed_migration_stats(dst, inst->uuid, &done) == 0, "%s",
                  tern_error_message());
    fprintf(stderr,
            "completed: type %s, %llu ms, downtime %llu ms, memory %llu bytes, "
            "disk %llu bytes, %llu iterations\n",
            virt_job_type_name(done.type), (unsigned long long)done.time_elapsed_ms,
            (unsigned long long)done.downtime_ms, (unsigned long long)done.memory_processed,
            (unsigned long long)done.disk_processed, (unsigned long long)done.memory_iteration);
    ck_assert_int_eq(done.type, VIRT_JOB_COMPLETED);
    ck_assert_uint_gt(done.time_elapsed_ms, 0);
    ck_assert_uint_gt(done.memory_processed, 0);
    /* reading them keeps them (KEEP_COMPLETED): a second read, or an operator's `virsh
     * domjobinfo --completed`, gets the same figures */
    {
        virt_job_stats_t again;

        ck_assert_msg(virt_get_completed_migration_stats(dst, inst->uuid, &again) == 0, "%s",
                      tern_error_message());
        ck_assert_int_eq(again.type, VIRT_JOB_COMPLETED);
        ck_assert_uint_eq(again.memory_processed, done.memory_processed);
        ck_assert_uint_eq(again.time_elapsed_ms, done.time_elapsed_ms);
    }
    ck_assert_msg(wait_console(2, inst, "HEARTBEAT", 30000), "no heartbeat on host2");

    /* clean up like the compute does after a migration */
    if (!shared_instances())
        ck_assert_int_eq(virt_delete_instance_files(src, inst->uuid), 0);
    ck_assert_int_eq(virt_undefine_instance_filter(src, inst->uuid), 0);
    ck_assert_int_eq(virt_undefine_instance_filter(src, inst->uuid), 0); /* idempotent */
    ck_assert_int_eq(virt_remove_bridge_if_unused(src, TEST_BRIDGE, &removed), 0);
    ck_assert(removed);
    ck_assert_msg(virt_destroy(dst, inst, true) == 0, "%s", tern_error_message());
    assert_state(dst, inst->uuid, VIRT_STATE_NONE);
    ck_assert_int_ne(stat(dst_disk, &sb), 0);
    ck_assert_int_eq(virt_undefine_instance_filter(dst, inst->uuid), 0);
    ck_assert_int_eq(virt_filter_exists(dst, filter, &exists), 0);
    ck_assert(!exists);
    ck_assert_int_eq(virt_remove_bridge_if_unused(dst, TEST_BRIDGE, &removed), 0);
    ck_assert(removed);
    virt_instance_free(inst);
    virt_driver_close(src);
    virt_driver_close(dst);
}
END_TEST

START_TEST(test_abort_slow_migration)
{
    virt_driver_t *src = open_host(1), *dst = open_host(2);
    /* a guest that dirties 64 MiB at 64 MiB/s over a 1 MiB/s link never converges */
    virt_instance_t *inst = make_instance(false, "tern.dirty_mb=64 tern.dirty_rate_mbps=64");
    virt_migrate_params_t params = {
        .dest_uri = tb_host(2, "LIBVIRT_TCP_URI"),
        .migration_addr = tb_host(2, "ADDRESS"),
        .block_migration = !shared_instances(),
        .bandwidth_mibps = 1,
    };
    virt_migration_t *mig = NULL;
    virt_job_stats_t st = {0};
    virt_migration_result_t result;
    int64_t t0;

    ck_assert_msg(virt_spawn(src, inst) == 0, "%s", tern_error_message());
    ck_assert_msg(wait_console(1, inst, "HEARTBEAT", 60000), "no heartbeat on host1");
    ck_assert_msg(virt_pre_create_disks(dst, inst) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_migrate(src, inst, &params, &mig) == 0, "%s", tern_error_message());
    t0 = tern_now_monotonic_ms();
    while (tern_now_monotonic_ms() - t0 < 20000) {
        ck_assert_int_eq(virt_migration_wait(mig, 200), VIRT_MIGRATION_RUNNING);
        ck_assert_msg(virt_migration_get_stats(mig, &st) == 0, "%s", tern_error_message());
        if ((st.type == VIRT_JOB_BOUNDED || st.type == VIRT_JOB_UNBOUNDED) && st.data_processed > 0)
            break;
    }
    ck_assert_msg(st.data_processed > 0, "the migration never started moving data");
    ck_assert_msg(virt_migration_set_max_downtime(mig, 300) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_migration_set_speed(mig, 2) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_migration_abort(mig) == 0, "%s", tern_error_message());
    result = virt_migration_wait(mig, 60000);
    ck_assert_msg(result == VIRT_MIGRATION_CANCELLED, "result %s",
                  virt_migration_result_name(result));
    virt_migration_restore_error(mig);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_VIRT);
    ck_assert_msg(strstr(tern_error_message(), "could not migrate instance \"") ==
                      tern_error_message(),
                  "%s", tern_error_message());
    fprintf(stderr, "aborted: %s\n", tern_error_message());
    virt_migration_free(mig);
    assert_state(src, inst->uuid, VIRT_STATE_RUNNING);
    assert_state(dst, inst->uuid, VIRT_STATE_NONE);
    ck_assert_msg(wait_console(1, inst, "HEARTBEAT seq=", 5000), "guest dead after abort");

    if (!shared_instances())
        ck_assert_int_eq(virt_delete_instance_files(dst, inst->uuid), 0);
    ck_assert_msg(virt_destroy(src, inst, true) == 0, "%s", tern_error_message());
    virt_instance_free(inst);
    virt_driver_close(src);
    virt_driver_close(dst);
}
END_TEST

START_TEST(test_force_complete_by_pause)
{
    virt_driver_t *src = open_host(1), *dst = open_host(2);
    virt_instance_t *inst = make_instance(false, "tern.dirty_mb=64 tern.dirty_rate_mbps=64");
    virt_migrate_params_t params = {
        .dest_uri = tb_host(2, "LIBVIRT_TCP_URI"),
        .migration_addr = tb_host(2, "ADDRESS"),
        .block_migration = !shared_instances(),
        .incremental = true, /* the storage copy is not throttled by set_speed later */
        .bandwidth_mibps = 2,
    };
    virt_migration_t *mig = NULL;
    virt_job_stats_t st = {0};
    virt_migration_result_t result;
    virt_domain_info_t info;
    bool post_copy = true;
    int64_t t0;

    ck_assert_msg(virt_spawn(src, inst) == 0, "%s", tern_error_message());
    ck_assert_msg(wait_console(1, inst, "HEARTBEAT", 60000), "no heartbeat on host1");
    ck_assert_msg(virt_pre_create_disks(dst, inst) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_migrate(src, inst, &params, &mig) == 0, "%s", tern_error_message());
    t0 = tern_now_monotonic_ms();
    while (tern_now_monotonic_ms() - t0 < 20000 && st.data_processed == 0) {
        ck_assert_int_eq(virt_migration_wait(mig, 200), VIRT_MIGRATION_RUNNING);
        ck_assert_msg(virt_migration_get_stats(mig, &st) == 0, "%s", tern_error_message());
    }
    ck_assert_msg(st.data_processed > 0, "the migration never started moving data");
    /* post-copy was not enabled: force-complete pauses the guest; then open the link */
    ck_assert_msg(virt_migration_force_complete(mig, &post_copy) == 0, "%s", tern_error_message());
    ck_assert(!post_copy);
    ck_assert_int_eq(virt_get_domain_info(src, inst->uuid, &info), 0);
    ck_assert_msg(info.state == VIRT_STATE_PAUSED || !info.exists, "source is %s",
                  virt_state_name(info.state));
    ck_assert_msg(virt_migration_set_speed(mig, 1000) == 0, "%s", tern_error_message());
    t0 = tern_now_monotonic_ms();
    while ((result = virt_migration_wait(mig, 1000)) == VIRT_MIGRATION_RUNNING &&
           tern_now_monotonic_ms() - t0 < 60000) {
        ck_assert_msg(virt_migration_get_stats(mig, &st) == 0, "%s", tern_error_message());
        fprintf(stderr, "paused: %s mem %llu/%llu rem %llu bps %llu disk rem %llu it %llu\n",
                virt_job_type_name(st.type), (unsigned long long)st.memory_processed,
                (unsigned long long)st.memory_total, (unsigned long long)st.memory_remaining,
                (unsigned long long)st.memory_bps, (unsigned long long)st.disk_remaining,
                (unsigned long long)st.memory_iteration);
    }
    tern_error_reset();
    if (result != VIRT_MIGRATION_SUCCEEDED)
        virt_migration_restore_error(mig);
    ck_assert_msg(result == VIRT_MIGRATION_SUCCEEDED, "migration %s after pause: %s",
                  virt_migration_result_name(result), tern_error_message());
    virt_migration_free(mig);
    ck_assert_int_eq(virt_get_domain_info(dst, inst->uuid, &info), 0);
    fprintf(stderr, "force-complete by pause: destination is %s\n", virt_state_name(info.state));
    if (info.state == VIRT_STATE_PAUSED)
        ck_assert_msg(virt_resume(dst, inst->uuid) == 0, "%s", tern_error_message());
    assert_state(dst, inst->uuid, VIRT_STATE_RUNNING);
    assert_state(src, inst->uuid, VIRT_STATE_NONE);
    ck_assert_msg(wait_console(2, inst, "HEARTBEAT", 30000), "no heartbeat on host2");

    if (!shared_instances())
        ck_assert_int_eq(virt_delete_instance_files(src, inst->uuid), 0);
    ck_assert_msg(virt_destroy(dst, inst, true) == 0, "%s", tern_error_message());
    virt_instance_free(inst);
    virt_driver_close(src);
    virt_driver_close(dst);
}
END_TEST

START_TEST(test_migrate_error_names_instance_and_host)
{
    virt_driver_t *src = open_host(1);
    virt_instance_t *inst = make_instance(false, NULL);
    virt_migrate_params_t params = {.dest_uri = "qemu+tcp://198.18.0.12:1/system",
                                    .block_migration = true};
    virt_migration_t *mig = NULL;
    TERN_AUTOFREE char *expect = NULL;
    virt_migration_result_t result;

    ck_assert_msg(virt_spawn(src, inst) == 0, "%s", tern_error_message());
    ck_assert_msg(virt_migrate(src, inst, &params, &mig) == 0, "%s", tern_error_message());
    result = virt_migration_wait(mig, 60000);
    ck_assert_int_eq(result, VIRT_MIGRATION_FAILED);
    virt_migration_restore_error(mig);
    virt_migration_free(mig);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_VIRT);
    expect =
        tern_asprintf("could not migrate instance \"%s\" to host \"198.18.0.12\": ", inst->uuid);
    ck_assert_msg(strncmp(tern_error_message(), expect, strlen(expect)) == 0 &&
                      strlen(tern_error_message()) > strlen(expect) + 5,
                  "%s", tern_error_message());
    fprintf(stderr, "unreachable: %s\n", tern_error_message());
    assert_state(src, inst->uuid, VIRT_STATE_RUNNING);

    ck_assert_msg(virt_destroy(src, inst, true) == 0, "%s", tern_error_message());

    /* a migration of an instance the host does not have */
    tern_uuid_generate(inst->uuid);
    ck_assert_int_eq(virt_migrate(src, inst, &params, &mig), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "could not migrate instance"));
    virt_instance_free(inst);
    virt_driver_close(src);
}
END_TEST

TCase *
virt_libvirt_tcase(void)
{
    TCase *tc = tcase_create("libvirt");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_host_info);
    tcase_add_test(tc, test_bridge_tern_did_not_make_survives);
    tcase_add_test(tc, test_driver_used_by_threads_at_once);
    tcase_add_test(tc, test_guest_cpu_judged_not_source_host);
    tcase_add_test(tc, test_guest_cpu_feature_missing_refused);
    tcase_add_test(tc, test_host_passthrough_needs_the_same_host_cpu);
    tcase_add_test(tc, test_cpu_mode_options_define_the_guest_cpu);
    tcase_add_test(tc, test_cpu_models_none_usable_refused);
    tcase_add_test(tc, test_connect_and_lookup_errors);
    tcase_add_test(tc, test_spawn_and_block_migrate);
    tcase_add_test(tc, test_abort_slow_migration);
    tcase_add_test(tc, test_force_complete_by_pause);
    tcase_add_test(tc, test_migrate_error_names_instance_and_host);
    return tc;
}

/* ---- after the run ---- */

/* cleanup_host: remove every virt-test-* domain (and its files, filter) a failed test left. */
static void
cleanup_host(int host)
{
    virt_options_t opts = {
        .uri = tb_host(host, "LIBVIRT_URI"),
        .instances_path = tb("TERN_TESTBED_INSTANCES_PATH"),
        .local_instances_path = tb_host(host, "INSTANCES_DIR"),
        .netns = tb_host(host, "NETNS"),
    };
    virt_driver_t *drv = virt_driver_open("libvirt", &opts);
    char **uuids = NULL;
    size_t n = 0;

    if (!drv || virt_list_instances(drv, &uuids, &n) < 0) {
        fprintf(stderr, "test-virt: clean-up of host%d: %s\n", host, tern_error_message());
        virt_driver_close(drv);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        TERN_AUTOFREE char *xml = NULL;
        virt_instance_t inst = {0};

        if (virt_get_domain_xml(drv, uuids[i], &xml) < 0 || !strstr(xml, "<name>" NAME_PREFIX))
            continue;
        tern_strlcpy(inst.uuid, uuids[i], sizeof(inst.uuid));
        fprintf(stderr, "test-virt: removing leftover domain %s on host%d\n", uuids[i], host);
        if (virt_destroy(drv, &inst, true) < 0 || virt_undefine_instance_filter(drv, uuids[i]) < 0)
            fprintf(stderr, "test-virt: %s\n", tern_error_message());
    }
    virt_strv_free(uuids, n);
    virt_remove_bridge_if_unused(drv, TEST_BRIDGE, NULL);
    virt_driver_close(drv);
}

void
virt_testbed_release(void)
{
    TERN_AUTOFREE char *cmd = testbed_command();
    const char *down_argv[] = {cmd, "down", NULL};
    int status;

    if (n_state > 0) {
        cleanup_host(1);
        cleanup_host(2);
    }
    if (testbed_owned && testbed_run(down_argv, false, &status) < 0)
        fprintf(stderr, "test-virt: could not take the testbed down\n");
}
