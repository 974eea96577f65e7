/*
 * tests/conf/test-conf.c: unit suite of conf/ - good and bad inputs (each refusal's exact
 * message), merge order of files and the config dir, defaults, $references, secrets kept out of
 * messages and dumps, the command line, logging set-up, tern-config, the shipped sample
 * (current and parseable), and the transport settings handed to rpc/.
 *
 * Files go to a fresh directory under /tmp per test (Check forks each test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/command.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/conf-rpc.h"
#include "conf/conf.h"
#include "conf/daemon.h"
#include "tests/support/tern-check.h"

#define TERN_CONFIG TERN_BUILDDIR "/tools/config/tern-config"
#define SAMPLE TERN_SRCDIR "/etc/tern.conf.sample"

#define CK_CONF_ERROR(cfg, text)                                                         \
    do {                                                                                 \
        conf_t *ck_cfg_ = (cfg);                                                         \
        ck_assert_msg(ck_cfg_ == NULL, "loaded although it should fail with: %s", text); \
        ck_assert_int_eq(tern_error_code(), TERN_ERR_CONFIG);                            \
        ck_assert_str_eq(tern_error_message(), (text));                                  \
    } while (0)

/* write_temp: dir/name holding text; returns the path (caller frees). */
static char *
write_temp(const char *dir, const char *name, const char *text)
{
    char *path = tern_asprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static conf_t *
load_ok(const char *data)
{
    conf_t *cfg = conf_load_data("test.conf", data);

    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    return cfg;
}

/* dump: the effective configuration as text (caller frees). */
static char *
dump(const conf_t *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    conf_write_effective(cfg, out);
    fclose(out);
    return text;
}

/* ---- core: defaults and good values ---- */

START_TEST(test_defaults_follow_nova)
{
    conf_t *cfg = load_ok("");
    char hostname[256] = "";

    ck_assert_int_eq(gethostname(hostname, sizeof(hostname) - 1), 0);
    ck_assert_str_eq(cfg->host, hostname);
    ck_assert_str_eq(cfg->transport_url, "rabbit://guest:guest@localhost:5672/");
    ck_assert_str_eq(cfg->control_exchange, "tern");
    ck_assert_str_eq(cfg->state_path, "/var/lib/tern");
    ck_assert_str_eq(cfg->instances_path, "/var/lib/tern/instances");
    ck_assert_str_eq(cfg->image_store_path, "/var/lib/tern/images");
    ck_assert_str_eq(cfg->policy_file, "/etc/tern/policy.json");
    ck_assert_int_eq(cfg->max_concurrent_live_migrations, 1);
    ck_assert(!cfg->debug);
    ck_assert_ptr_null(cfg->log_file);
    ck_assert(!cfg->use_syslog);
    ck_assert_int_eq(cfg->rpc_response_timeout, 60);
    ck_assert_int_eq(cfg->report_interval, 10);
    ck_assert_int_eq(cfg->service_down_time, 60);
    ck_assert(cfg->cpu_allocation_ratio == 4.0);
    ck_assert(cfg->ram_allocation_ratio == 1.0);
    ck_assert(cfg->disk_allocation_ratio == 1.0);
    ck_assert_int_eq(cfg->reserved_host_memory_mb, 512);
    ck_assert_int_eq(cfg->reserved_host_disk_mb, 0);
    ck_assert_ptr_null(cfg->database.connection);
    ck_assert_int_eq(cfg->database.max_retries, 10);
    ck_assert_int_eq(cfg->database.retry_interval, 10);
    ck_assert(!cfg->oslo_messaging_rabbit.ssl);
    ck_assert_int_eq(cfg->oslo_messaging_rabbit.heartbeat_timeout_threshold, 60);
    ck_assert_int_eq(cfg->oslo_messaging_rabbit.rabbit_retry_interval, 1);
    ck_assert_int_eq(cfg->oslo_messaging_rabbit.rabbit_retry_backoff, 2);
    ck_assert_int_eq(cfg->oslo_messaging_rabbit.rabbit_interval_max, 30);
    ck_assert_ptr_null(cfg->libvirt.connection_uri);
    ck_assert_str_eq(cfg->libvirt.virt_type, "kvm");
    ck_assert_str_eq(cfg->libvirt.cpu_mode, "");
    ck_assert_str_eq(cfg->libvirt.cpu_models, "");
    ck_assert_str_eq(cfg->libvirt.cpu_model_extra_flags, "");
    ck_assert_str_eq(cfg->libvirt.live_migration_scheme, "");
    ck_assert_int_eq(cfg->libvirt.live_migration_bandwidth, 0);
    ck_assert_int_eq(cfg->libvirt.live_migration_downtime, 500);
    ck_assert_int_eq(cfg->libvirt.live_migration_downtime_steps, 10);
    ck_assert_int_eq(cfg->libvirt.live_migration_downtime_delay, 75);
    ck_assert_int_eq(cfg->libvirt.live_migration_completion_timeout, 800);
    ck_assert_str_eq(cfg->libvirt.live_migration_timeout_action, "abort");
    ck_assert(!cfg->libvirt.live_migration_permit_post_copy);
    ck_assert(cfg->libvirt.live_migration_permit_auto_converge); /* oVirt's default, not nova's */
    ck_assert(!cfg->libvirt.live_migration_with_native_tls);
    ck_assert_int_eq(cfg->libvirt.live_migration_parallel_connections, 1);
    ck_assert_int_eq(cfg->conductor.workers, 8);
    ck_assert_int_eq(cfg->compute.workers, 8);
    conf_free(cfg);
    /* No file and no directory: the defaults alone. */
    cfg = conf_load_files(NULL, 0, NULL);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_int_eq(cfg->libvirt.live_migration_downtime, 500);
    conf_free(cfg);
    conf_free(NULL);
}
END_TEST

START_TEST(test_values_of_every_type_parse)
{
    conf_t *cfg = load_ok("# a comment\n"
                          "; another comment\n"
                          "\n"
                          "[DEFAULT]\n"
                          "host = h1\n"
                          "state_path = /srv/tern\n"
                          "debug = YES\n"
                          "use_syslog = off\n"
                          "ram_allocation_ratio = 1.5\n"
                          "cpu_allocation_ratio=16\n"
                          "max_concurrent_live_migrations = 0\n"
                          "log_file = /var/log/tern/x.log\n"
                          "[libvirt]\n"
                          "virt_type = qemu\n"
                          "cpu_mode = host-passthrough\n"
                          "live_migration_scheme = tls\n"
                          "connection_uri = qemu+tcp://198.18.0.11/system\n"
                          "live_migration_downtime = 100\n"
                          "live_migration_parallel_connections = 256\n"
                          "live_migration_timeout_action = force_complete\n"
                          "live_migration_permit_post_copy = True\n"
                          "live_migration_permit_auto_converge = 0\n"
                          "[database]\n"
                          "connection = postgresql://t:p@h/db\n"
                          "max_retries = -1\n"
                          "[oslo_messaging_rabbit]\n"
                          "ssl = on\n"
                          "ssl_ca_file = /etc/tern/ca.pem\n"
                          "[conductor]\n"
                          "workers = 3\n");

    ck_assert_str_eq(cfg->host, "h1");
    ck_assert(cfg->debug);
    ck_assert(!cfg->use_syslog);
    ck_assert(cfg->ram_allocation_ratio == 1.5);
    ck_assert(cfg->cpu_allocation_ratio == 16.0);
    ck_assert_int_eq(cfg->max_concurrent_live_migrations, 0);
    ck_assert_str_eq(cfg->log_file, "/var/log/tern/x.log");
    ck_assert_str_eq(cfg->libvirt.virt_type, "qemu");
    ck_assert_str_eq(cfg->libvirt.cpu_mode, "host-passthrough");
    ck_assert_str_eq(cfg->libvirt.live_migration_scheme, "tls");
    ck_assert_str_eq(cfg->libvirt.connection_uri, "qemu+tcp://198.18.0.11/system");
    ck_assert_int_eq(cfg->libvirt.live_migration_downtime, 100); /* the minimum itself */
    ck_assert_int_eq(cfg->libvirt.live_migration_parallel_connections, 256); /* the maximum */
    ck_assert_str_eq(cfg->libvirt.live_migration_timeout_action, "force_complete");
    ck_assert(cfg->libvirt.live_migration_permit_post_copy);
    ck_assert(!cfg->libvirt.live_migration_permit_auto_converge);
    ck_assert_str_eq(cfg->instances_path, "/srv/tern/instances"); /* $state_path expanded */
    ck_assert_str_eq(cfg->database.connection, "postgresql://t:p@h/db");
    ck_assert_int_eq(cfg->database.max_retries, -1);
    ck_assert(cfg->oslo_messaging_rabbit.ssl);
    ck_assert_str_eq(cfg->oslo_messaging_rabbit.ssl_ca_file, "/etc/tern/ca.pem");
    ck_assert_int_eq(cfg->conductor.workers, 3);
    conf_free(cfg);
}
END_TEST

START_TEST(test_transport_settings_for_rpc)
{
    conf_t *cfg = load_ok("[DEFAULT]\n"
                          "transport_url = rabbit://u:p@h1:5672,u:p@h2:5673/v\n"
                          "control_exchange = nova\n"
                          "rpc_response_timeout = 7\n"
                          "[oslo_messaging_rabbit]\n"
                          "ssl = true\n"
                          "ssl_ca_file = /etc/tern/ca.pem\n"
                          "ssl_cert_file = /etc/tern/cert.pem\n"
                          "ssl_key_file = /etc/tern/key.pem\n"
                          "heartbeat_timeout_threshold = 0\n"
                          "rabbit_retry_interval = 3\n"
                          "rabbit_retry_backoff = 0\n"
                          "rabbit_interval_max = 9\n"
                          "amqp_durable_queues = true\n");
    conf_t *defaults = load_ok("");
    rpc_config_t rc, init;

    conf_rpc_config(cfg, &rc);
    ck_assert_str_eq(rc.transport_url, "rabbit://u:p@h1:5672,u:p@h2:5673/v");
    ck_assert_str_eq(rc.control_exchange, "nova");
    ck_assert(rc.ssl);
    ck_assert_str_eq(rc.ssl_ca_file, "/etc/tern/ca.pem");
    ck_assert_str_eq(rc.ssl_cert_file, "/etc/tern/cert.pem");
    ck_assert_str_eq(rc.ssl_key_file, "/etc/tern/key.pem");
    ck_assert_int_eq(rc.heartbeat_timeout_s, 0);
    ck_assert_int_eq(rc.retry_interval_ms, 3000);
    ck_assert_int_eq(rc.retry_backoff_ms, 0);
    ck_assert_int_eq(rc.retry_max_ms, 9000);
    ck_assert_int_eq(rc.response_timeout_ms, 7000);
    ck_assert(rc.durable_queues);

    /* the defaults of the files are rpc/'s own (oslo's), but for the exchange's name */
    conf_rpc_config(defaults, &rc);
    rpc_config_init(&init);
    ck_assert_str_eq(rc.control_exchange, "tern");
    ck_assert(!rc.ssl && !rc.durable_queues);
    ck_assert_int_eq(rc.heartbeat_timeout_s, init.heartbeat_timeout_s);
    ck_assert_int_eq(rc.retry_interval_ms, init.retry_interval_ms);
    ck_assert_int_eq(rc.retry_backoff_ms, init.retry_backoff_ms);
    ck_assert_int_eq(rc.retry_max_ms, init.retry_max_ms);
    ck_assert_int_eq(rc.response_timeout_ms, init.response_timeout_ms);
    ck_assert_uint_eq(rc.max_message_bytes, init.max_message_bytes);
    conf_free(cfg);
    conf_free(defaults);
}
END_TEST

/* List options: blanks around items dropped, split in order; the CPU options agree as nova
 * wants (kvm's empty cpu_mode is host-model, which takes extra flags). */
START_TEST(test_cpu_lists_parse)
{
    conf_t *cfg = load_ok("[libvirt]\ncpu_mode = custom\ncpu_models =  Haswell-noTSX , qemu64\n"
                          "cpu_model_extra_flags = pcid,-sse4a , +avx2\n");
    size_t n = 0;
    char **items;

    ck_assert_str_eq(cfg->libvirt.cpu_models, "Haswell-noTSX,qemu64");
    ck_assert_str_eq(cfg->libvirt.cpu_model_extra_flags, "pcid,-sse4a,+avx2");
    items = conf_list_split(cfg->libvirt.cpu_model_extra_flags, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(items[0], "pcid");
    ck_assert_str_eq(items[1], "-sse4a");
    ck_assert_str_eq(items[2], "+avx2");
    ck_assert_ptr_null(items[3]);
    conf_list_free(items);
    conf_free(cfg);
    items = conf_list_split("", &n);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(items[0]);
    conf_list_free(items);
    cfg = load_ok("[libvirt]\nvirt_type = kvm\ncpu_model_extra_flags = pcid\n");
    ck_assert_str_eq(cfg->libvirt.cpu_model_extra_flags, "pcid");
    conf_free(cfg);
    cfg = load_ok("[libvirt]\ncpu_mode = host-passthrough\ncpu_model_extra_flags = -pcid\n");
    conf_free(cfg);
}
END_TEST

START_TEST(test_duplicates_in_one_file_last_wins)
{
    conf_t *cfg = load_ok("[libvirt]\n"
                          "live_migration_downtime = 200\n"
                          "[DEFAULT]\n"
                          "host = first\n"
                          "[libvirt]\n"
                          "live_migration_downtime = 300\n"
                          "[DEFAULT]\n"
                          "host = second\n");

    ck_assert_int_eq(cfg->libvirt.live_migration_downtime, 300);
    ck_assert_str_eq(cfg->host, "second");
    conf_free(cfg);
}
END_TEST

START_TEST(test_values_kept_verbatim)
{
    /* No inline comments (as oslo.config): ";" and "#" inside a value are part of it; an empty
     * value is an empty string; a value as long as a multi-host transport URL is kept whole. */
    TERN_AUTOFREE char *url = NULL;
    TERN_AUTOFREE char *text = NULL;
    size_t n = 0;
    char hosts[2048];
    conf_t *cfg;

    for (int i = 1; i <= 30; i++)
        n += (size_t)snprintf(hosts + n, sizeof(hosts) - n, "%suser%d:password%d@198.18.0.%d:5672",
                              i > 1 ? "," : "", i, i, 10 + i);
    url = tern_asprintf("rabbit://%s/", hosts);
    ck_assert_uint_gt(strlen(url), 1000);
    text = tern_asprintf("[DEFAULT]\n"
                         "control_exchange = a ; b # c\n"
                         "log_file =\n"
                         "transport_url = %s\n",
                         url);
    cfg = load_ok(text);
    ck_assert_str_eq(cfg->control_exchange, "a ; b # c");
    ck_assert_str_eq(cfg->log_file, "");
    ck_assert_str_eq(cfg->transport_url, url);
    conf_free(cfg);
}
END_TEST

START_TEST(test_path_references_expanded)
{
    conf_t *cfg = load_ok("[DEFAULT]\n"
                          "instances_path = ${state_path}/vms\n"
                          "image_store_path = $state_path/img/$$x\n"
                          "state_path = /data/tern\n" /* set after use: expansion comes last */
                          "log_file = $instances_path/log\n");

    ck_assert_str_eq(cfg->state_path, "/data/tern");
    ck_assert_str_eq(cfg->instances_path, "/data/tern/vms");
    ck_assert_str_eq(cfg->image_store_path, "/data/tern/img/$x");
    ck_assert_str_eq(cfg->log_file, "/data/tern/vms/log");
    conf_free(cfg);
}
END_TEST

START_TEST(test_files_merge_in_order_then_config_dir)
{
    TERN_AUTOFREE char *a = write_temp(tern_check_tmpdir, "a.conf",
                                       "[DEFAULT]\nhost = a\nreport_interval = 5\n"
                                       "state_path = /a\n");
    TERN_AUTOFREE char *b = write_temp(tern_check_tmpdir, "b.conf", "[DEFAULT]\nhost = b\n");
    TERN_AUTOFREE char *sub = tern_asprintf("%s/d", tern_check_tmpdir);
    TERN_AUTOFREE char *c1 = NULL;
    TERN_AUTOFREE char *c2 = NULL;
    TERN_AUTOFREE char *c3 = NULL;
    TERN_AUTOFREE char *c4 = NULL;
    TERN_AUTOFREE char *c5 = NULL;
    const char *files[2] = {a, b};
    conf_t *cfg;

    ck_assert_int_eq(tern_mkdir_p(sub, 0755), 0);
    /* Name order is byte order: "10-" < "20-" < "9-". */
    c1 = write_temp(sub, "20-y.conf", "[DEFAULT]\nservice_down_time = 40\nhost = dir\n");
    c2 = write_temp(sub, "10-x.conf", "[DEFAULT]\nservice_down_time = 30\n");
    c3 = write_temp(sub, "9-z.conf", "[DEFAULT]\nservice_down_time = 50\n");
    c4 = write_temp(sub, "ignored.txt", "[DEFAULT]\nservice_down_time = 99\n");
    c5 = write_temp(sub, ".hidden.conf", "[DEFAULT]\nservice_down_time = 98\n");
    cfg = conf_load_files(files, 2, sub);
    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    ck_assert_str_eq(cfg->host, "dir");                    /* the dir comes after the files */
    ck_assert_int_eq(cfg->report_interval, 5);             /* kept from a.conf */
    ck_assert_int_eq(cfg->service_down_time, 50);          /* 9-z.conf is read last */
    ck_assert_str_eq(cfg->instances_path, "/a/instances"); /* default expanded with a's path */
    conf_free(cfg);

    files[0] = b;
    files[1] = a;
    cfg = conf_load_files(files, 2, NULL);
    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    ck_assert_str_eq(cfg->host, "a");
    conf_free(cfg);
}
END_TEST

/* ---- errors: every refusal names file, section, option and why ---- */

START_TEST(test_bad_values_named)
{
    static const struct {
        const char *data;
        const char *message;
    } cases[] = {
        {"[libvirt]\nlive_migration_downtime = abc\n",
         "invalid value \"abc\" for option \"live_migration_downtime\" in section [libvirt] of "
         "\"f.conf\": not an integer"},
        {"[libvirt]\nlive_migration_downtime = 5.5\n",
         "invalid value \"5.5\" for option \"live_migration_downtime\" in section [libvirt] of "
         "\"f.conf\": not an integer"},
        {"[libvirt]\nlive_migration_downtime =\n",
         "invalid value \"\" for option \"live_migration_downtime\" in section [libvirt] of "
         "\"f.conf\": not an integer"},
        {"[libvirt]\nlive_migration_downtime = 99\n",
         "invalid value \"99\" for option \"live_migration_downtime\" in section [libvirt] of "
         "\"f.conf\": must be at least 100"},
        {"[libvirt]\nlive_migration_downtime_steps = 2\n",
         "invalid value \"2\" for option \"live_migration_downtime_steps\" in section [libvirt] "
         "of \"f.conf\": must be at least 3"},
        {"[libvirt]\nlive_migration_parallel_connections = 257\n",
         "invalid value \"257\" for option \"live_migration_parallel_connections\" in section "
         "[libvirt] of \"f.conf\": must be at most 256"},
        {"[libvirt]\nlive_migration_bandwidth = 99999999999\n",
         "invalid value \"99999999999\" for option \"live_migration_bandwidth\" in section "
         "[libvirt] of \"f.conf\": out of range"},
        {"[DEFAULT]\nmax_concurrent_live_migrations = -1\n",
         "invalid value \"-1\" for option \"max_concurrent_live_migrations\" in section [DEFAULT] "
         "of \"f.conf\": must be at least 0"},
        {"[libvirt]\nvirt_type = xen\n",
         "invalid value \"xen\" for option \"virt_type\" in section [libvirt] of \"f.conf\": not "
         "one of \"kvm\", \"qemu\""},
        {"[libvirt]\nvirt_type = KVM\n",
         "invalid value \"KVM\" for option \"virt_type\" in section [libvirt] of \"f.conf\": not "
         "one of \"kvm\", \"qemu\""},
        {"[libvirt]\nlive_migration_timeout_action = pause\n",
         "invalid value \"pause\" for option \"live_migration_timeout_action\" in section "
         "[libvirt] of \"f.conf\": not one of \"abort\", \"force_complete\""},
        {"[DEFAULT]\ndebug = maybe\n",
         "invalid value \"maybe\" for option \"debug\" in section [DEFAULT] of \"f.conf\": not a "
         "boolean (true/false, yes/no, on/off, 1/0)"},
        {"[DEFAULT]\nram_allocation_ratio = lots\n",
         "invalid value \"lots\" for option \"ram_allocation_ratio\" in section [DEFAULT] of "
         "\"f.conf\": not a number"},
        {"[DEFAULT]\ncpu_allocation_ratio = -0.5\n",
         "invalid value \"-0.5\" for option \"cpu_allocation_ratio\" in section [DEFAULT] of "
         "\"f.conf\": must be at least 0"},
        {"[libvirt]\nconnection_uri = qemu-system\n",
         "invalid value \"qemu-system\" for option \"connection_uri\" in section [libvirt] of "
         "\"f.conf\": not a URL (scheme://...)"},
        {"[DEFAULT]\ninstances_path = relative/dir\n",
         "invalid value \"relative/dir\" for option \"instances_path\" in section [DEFAULT] of "
         "\"f.conf\": not an absolute path"},
        {"[DEFAULT]\nstate_path = var/lib\n",
         "invalid value \"var/lib\" for option \"state_path\" in section [DEFAULT] of "
         "\"f.conf\": not an absolute path"},
        {"[DEFAULT]\ninstances_path = $nope/x\n",
         "invalid value \"$nope/x\" for option \"instances_path\" in section [DEFAULT] of "
         "\"f.conf\": unknown variable \"$nope\""},
        {"[DEFAULT]\ninstances_path = ${state_path/x\n",
         "invalid value \"${state_path/x\" for option \"instances_path\" in section [DEFAULT] "
         "of \"f.conf\": bad variable reference at \"${state_path/x\""},
        {"[libvirt]\ncpu_mode = custom\ncpu_models = Haswell,,qemu64\n",
         "invalid value \"Haswell,,qemu64\" for option \"cpu_models\" in section [libvirt] of "
         "\"f.conf\": item 2 of the list is empty"},
        {"[libvirt]\ncpu_mode = custom\ncpu_models = qemu64,\n",
         "invalid value \"qemu64,\" for option \"cpu_models\" in section [libvirt] of "
         "\"f.conf\": item 2 of the list is empty"},
        {"[libvirt]\ncpu_mode = custom\n",
         "option \"cpu_mode\" in section [libvirt] of \"f.conf\" is \"custom\" but cpu_models "
         "is empty: name the CPU models guests may get"},
        {"[libvirt]\ncpu_mode = host-model\ncpu_models = qemu64\n",
         "option \"cpu_models\" in section [libvirt] of \"f.conf\" needs cpu_mode = custom "
         "(cpu_mode is \"host-model\")"},
        {"[libvirt]\ncpu_mode = custom\ncpu_models = qemu64, Has well\n",
         "invalid value for option \"cpu_models\" in section [libvirt] of \"f.conf\": \"Has "
         "well\" is not a CPU model name"},
        {"[libvirt]\ncpu_mode = host-model\ncpu_model_extra_flags = pcid, *avx\n",
         "invalid value for option \"cpu_model_extra_flags\" in section [libvirt] of "
         "\"f.conf\": \"*avx\" is not a CPU flag ([+|-]name)"},
        {"[libvirt]\ncpu_mode = none\ncpu_model_extra_flags = pcid\n",
         "option \"cpu_model_extra_flags\" in section [libvirt] of \"f.conf\" needs cpu_mode "
         "host-model, host-passthrough or custom (the cpu_mode in effect is \"none\")"},
        {"[libvirt]\nvirt_type = qemu\ncpu_model_extra_flags = pcid\n",
         "option \"cpu_model_extra_flags\" in section [libvirt] of \"f.conf\" needs cpu_mode "
         "host-model, host-passthrough or custom (the cpu_mode in effect is \"none\")"},
        {"[DEFAULT]\ninstances_path = $instances_path\n",
         "invalid value \"$instances_path\" for option \"instances_path\" in section [DEFAULT] "
         "of \"f.conf\": variables nested too deeply (a loop through \"$instances_path\"?)"},
    };

    for (size_t i = 0; i < TERN_N_ELEMENTS(cases); i++)
        CK_CONF_ERROR(conf_load_data("f.conf", cases[i].data), cases[i].message);
}
END_TEST

START_TEST(test_bad_structure_named)
{
    static const struct {
        const char *data;
        const char *message;
    } cases[] = {
        {"[DEFAULT]\nno_such_option = 1\n",
         "unknown option \"no_such_option\" in section [DEFAULT] of \"f.conf\""},
        {"[libvirt]\nhost = h\n", "unknown option \"host\" in section [libvirt] of \"f.conf\""},
        {"[nosection]\nx = 1\n", "unknown section [nosection] in \"f.conf\""},
        {"[default]\nhost = h\n", "unknown section [default] in \"f.conf\""},
        {"host = h\n", "option \"host\" in \"f.conf\" is outside any section"},
        {"[DEFAULT\n", "could not parse \"f.conf\": syntax error at line 1"},
        {"[DEFAULT]\nhost = h\njust words\n", "could not parse \"f.conf\": syntax error at line 3"},
        /* No continuation lines: an indented line is a line of its own. */
        {"[DEFAULT]\nhost = h\n  more\n", "could not parse \"f.conf\": syntax error at line 3"},
        /* The first error is the one reported. */
        {"[DEFAULT]\ndebug = x\nbogus = 1\n",
         "invalid value \"x\" for option \"debug\" in section [DEFAULT] of \"f.conf\": not a "
         "boolean (true/false, yes/no, on/off, 1/0)"},
    };

    for (size_t i = 0; i < TERN_N_ELEMENTS(cases); i++)
        CK_CONF_ERROR(conf_load_data("f.conf", cases[i].data), cases[i].message);
}
END_TEST

START_TEST(test_bad_files_named)
{
    TERN_AUTOFREE char *good = write_temp(tern_check_tmpdir, "good.conf", "[DEFAULT]\nhost = g\n");
    TERN_AUTOFREE char *bad =
        write_temp(tern_check_tmpdir, "bad.conf", "[libvirt]\nvirt_type = xen\n");
    TERN_AUTOFREE char *sub = tern_asprintf("%s/d", tern_check_tmpdir);
    TERN_AUTOFREE char *dbad = NULL;
    TERN_AUTOFREE char *missing_dir = tern_asprintf("%s/nodir", tern_check_tmpdir);
    TERN_AUTOFREE char *expected = NULL;
    TERN_AUTOFREE char *big = NULL;
    TERN_AUTOFREE char *big_text = tern_malloc(1024 * 1024 + 100);
    const char *files[2] = {good, bad};

    expected = tern_asprintf("invalid value \"xen\" for option \"virt_type\" in section [libvirt] "
                             "of \"%s\": not one of \"kvm\", \"qemu\"",
                             bad);
    CK_CONF_ERROR(conf_load_files(files, 2, NULL), expected);
    free(expected);

    files[0] = "/nonexistent/tern.conf";
    CK_CONF_ERROR(conf_load_files(files, 1, NULL),
                  "could not open file \"/nonexistent/tern.conf\": No such file or directory");

    expected = tern_asprintf("could not read configuration directory \"%s\": No such file or "
                             "directory",
                             missing_dir);
    CK_CONF_ERROR(conf_load_files(NULL, 0, missing_dir), expected);
    free(expected);

    ck_assert_int_eq(tern_mkdir_p(sub, 0755), 0);
    dbad = write_temp(sub, "50-bad.conf", "[DEFAULT]\nreport_interval = 0\n");
    expected = tern_asprintf("invalid value \"0\" for option \"report_interval\" in section "
                             "[DEFAULT] of \"%s\": must be at least 1",
                             dbad);
    files[0] = good;
    CK_CONF_ERROR(conf_load_files(files, 1, sub), expected);
    free(expected);

    /* Limits: a configuration file is at most 1 MiB. */
    memset(big_text, '#', 1024 * 1024 + 10);
    big_text[1024 * 1024 + 10] = '\0';
    big = write_temp(tern_check_tmpdir, "big.conf", big_text);
    expected = tern_asprintf("file \"%s\" is larger than 1048576 bytes", big);
    files[0] = big;
    CK_CONF_ERROR(conf_load_files(files, 1, NULL), expected);
}
END_TEST

/* ---- secrets ---- */

START_TEST(test_secret_never_in_messages_or_dumps)
{
    conf_t *cfg = load_ok("[DEFAULT]\n"
                          "transport_url = rabbit://u1:hunter2@h1:5672,u2:hunter3@h2:5672/v\n"
                          "[database]\n"
                          "connection = postgresql://tern:hunter4@127.0.0.1:5432/tern\n");
    TERN_AUTOFREE char *text = dump(cfg);

    ck_assert_ptr_null(strstr(text, "hunter"));
    ck_assert_ptr_nonnull(
        strstr(text, "transport_url = rabbit://u1:***@h1:5672,u2:***@h2:5672/v\n"));
    ck_assert_ptr_nonnull(strstr(text, "connection = postgresql://tern:***@127.0.0.1:5432/tern\n"));
    /* The values themselves are intact for the daemons. */
    ck_assert_str_eq(cfg->database.connection, "postgresql://tern:hunter4@127.0.0.1:5432/tern");
    conf_free(cfg);

    /* A secret refused for its shape is masked whole (its password could be anywhere). */
    CK_CONF_ERROR(conf_load_data("s", "[DEFAULT]\ntransport_url = guest:hunter2@localhost\n"),
                  "invalid value \"***\" for option \"transport_url\" in section [DEFAULT] of "
                  "\"s\": not a URL (scheme://...)");
    CK_CONF_ERROR(conf_load_data("s", "[database]\nconnection = postgresql//u:hunter2@h/d\n"),
                  "invalid value \"***\" for option \"connection\" in section [database] of "
                  "\"s\": not a URL (scheme://...)");
    /* An error on a neighbour of a secret does not carry it either. */
    ck_assert_ptr_null(conf_load_data("s", "[database]\nconnection = postgresql://a:hunter2@h/d\n"
                                           "bogus = 1\n"));
    ck_assert_ptr_null(strstr(tern_error_message(), "hunter2"));
}
END_TEST

/* ---- the shipped sample ---- */

START_TEST(test_shipped_sample_is_current)
{
    TERN_AUTOFREE char *shipped = NULL;
    char *generated = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&generated, &len);

    conf_write_sample(out);
    fclose(out);
    ck_assert_int_eq(tern_file_read_all(SAMPLE, 1 << 20, &shipped, NULL), 0);
    ck_assert_msg(strcmp(shipped, generated) == 0,
                  "etc/tern.conf.sample is stale (conf/options.c changed): run `make "
                  "update-sample` in the build directory and commit etc/tern.conf.sample");
    free(generated);
}
END_TEST

START_TEST(test_shipped_sample_parses)
{
    const char *path = SAMPLE;
    conf_t *cfg = conf_load_files(&path, 1, NULL);
    conf_t *defaults = conf_load_data("empty", "");
    TERN_AUTOFREE char *shipped = NULL;
    TERN_AUTOFREE char *want = NULL;
    TERN_AUTOFREE char *got = NULL;
    size_t len = 0;
    char *uncommented = NULL;
    FILE *out = open_memstream(&uncommented, &len);
    int n_options = 0;

    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    conf_free(cfg);

    /* Uncomment every "#name = value" line: the values shown are the defaults and parse as
     * such (the computed ones, shown as <...>, stay commented). */
    ck_assert_int_eq(tern_file_read_all(path, 1 << 20, &shipped, NULL), 0);
    for (char *line = strtok(shipped, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " =") &&
            !strchr(line, '<')) {
            fprintf(out, "%s\n", line + 1);
            n_options++;
        } else {
            fprintf(out, "%s\n", line);
        }
    }
    fclose(out);
    ck_assert_int_gt(n_options, 40);
    cfg = conf_load_data("uncommented sample", uncommented);
    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    want = dump(defaults);
    got = dump(cfg);
    ck_assert_str_eq(got, want);
    free(uncommented);
    conf_free(cfg);
    conf_free(defaults);
}
END_TEST

/* ---- command line and logging ---- */

START_TEST(test_args_parse_config_files_and_refuse_unknown)
{
    char *argv1[] = {"prog", "--config-file", "a", "--config-file=b", "--config-dir", "d", NULL};
    char *argv2[] = {"prog", "--bogus", NULL};
    char *argv3[] = {"prog", "extra", NULL};
    char *argv4[] = {"prog", "--config-file", NULL};
    char *argv5[] = {"prog", "--config-file", "a", "db", "sync", "--not-mine", NULL};
    conf_args_t args;

    ck_assert_int_eq(conf_parse_args(6, argv1, "prog", &args), 0);
    ck_assert_uint_eq(args.n_config_files, 2);
    ck_assert_str_eq(args.config_files[0], "a");
    ck_assert_str_eq(args.config_files[1], "b");
    ck_assert_str_eq(args.config_dir, "d");
    ck_assert_int_eq(args.n_rest, 0);
    conf_args_clear(&args);
    conf_args_clear(&args); /* twice is fine */
    ck_assert_int_eq(conf_parse_args(2, argv2, "prog", &args), -1);
    ck_assert_int_eq(conf_parse_args(2, argv3, "prog", &args), -1);
    ck_assert_int_eq(conf_parse_args(2, argv4, "prog", &args), -1);
    /* With allow_rest, everything from the first non-option on is the caller's. */
    ck_assert_int_eq(conf_parse_args_full(6, argv5, "prog", "db sync", true, &args), 0);
    ck_assert_uint_eq(args.n_config_files, 1);
    ck_assert_int_eq(args.n_rest, 3);
    ck_assert_str_eq(args.rest[0], "db");
    ck_assert_str_eq(args.rest[2], "--not-mine");
    conf_args_clear(&args);
}
END_TEST

START_TEST(test_args_load_named_files)
{
    TERN_AUTOFREE char *a = write_temp(tern_check_tmpdir, "a.conf", "[DEFAULT]\nhost = from-a\n");
    char *argv[] = {"prog", "--config-file", a, NULL};
    conf_args_t args;
    conf_t *cfg;

    ck_assert_int_eq(conf_parse_args(3, argv, "prog", &args), 0);
    cfg = conf_load_args(&args);
    conf_args_clear(&args);
    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    ck_assert_str_eq(cfg->host, "from-a");
    conf_free(cfg);
}
END_TEST

START_TEST(test_log_setup_from_default_section)
{
    TERN_AUTOFREE char *log = tern_asprintf("%s/tern.log", tern_check_tmpdir);
    TERN_AUTOFREE char *text = tern_asprintf("[DEFAULT]\ndebug = true\nlog_file = %s\n", log);
    TERN_AUTOFREE char *data = NULL;
    conf_t *cfg = load_ok(text);

    ck_assert_int_eq(conf_log_setup(cfg, "tern-test"), 0);
    TERN_DEBUG("debug line %d", 7);
    tern_log_close();
    conf_free(cfg);
    ck_assert_int_eq(tern_file_read_all(log, 1 << 20, &data, NULL), 0);
    ck_assert_msg(strstr(data, " DEBUG tern-test debug line 7\n") != NULL, "log: %s", data);
    free(text);
    text = tern_asprintf("[DEFAULT]\nlog_file = %s/no/such/dir/x.log\n", tern_check_tmpdir);
    cfg = load_ok(text);
    ck_assert_int_eq(conf_log_setup(cfg, "tern-test"), -1);
    ck_assert_ptr_nonnull(strstr(tern_error_message(), "could not open log file"));
    conf_free(cfg);
}
END_TEST

START_TEST(test_daemon_logs_counters_as_they_rise)
{
    TERN_AUTOFREE char *log = tern_asprintf("%s/counters.log", tern_check_tmpdir);
    TERN_AUTOFREE char *data = NULL;
    rpc_stats_t last = {0}, now = {0};
    const char *second;

    ck_assert_int_eq(tern_log_open("tern-test", TERN_LOG_INFO, log, false), 0);
    conf_daemon_log_counters("rpc server", conf_rpc_counters, conf_n_rpc_counters, &now, &last,
                             sizeof(now)); /* nothing rose: no line */
    now.connections_lost = 3;
    now.reconnects = 3;
    now.replies_dropped = 1;
    conf_daemon_log_counters("rpc server", conf_rpc_counters, conf_n_rpc_counters, &now, &last,
                             sizeof(now));
    ck_assert_uint_eq(last.connections_lost, 3); /* remembered */
    conf_daemon_log_counters("rpc server", conf_rpc_counters, conf_n_rpc_counters, &now, &last,
                             sizeof(now)); /* the same again: no line */
    now.reconnects = 4;
    conf_daemon_log_counters("rpc client", conf_rpc_counters, conf_n_rpc_counters, &now, &last,
                             sizeof(now));
    tern_log_close();
    ck_assert_int_eq(tern_file_read_all(log, 1 << 20, &data, NULL), 0);
    ck_assert_msg(strstr(data, "WARNING tern-test rpc server since the last report: "
                               "connections_lost +3 (3 in all), reconnects +3 (3 in all), "
                               "replies_dropped +1 (1 in all)\n"),
                  "log: %s", data);
    ck_assert_msg((second = strstr(data, "rpc client since the last report: reconnects +1 (4 in "
                                         "all)\n")),
                  "log: %s", data);
    ck_assert_msg(!strstr(strchr(second, '\n'), "since the last report"), "log: %s", data);
    ck_assert_int_eq(conf_n_rpc_counters, sizeof(rpc_stats_t) / sizeof(uint64_t)); /* all named */
}
END_TEST

/* ---- tern-config ---- */

START_TEST(test_tern_config_tool)
{
    TERN_AUTOFREE char *good = write_temp(tern_check_tmpdir, "good.conf",
                                          "[DEFAULT]\ntransport_url = rabbit://u:hunter2@h:1/\n");
    TERN_AUTOFREE char *bad =
        write_temp(tern_check_tmpdir, "bad.conf", "[libvirt]\nlive_migration_downtime = 1\n");
    TERN_AUTOFREE char *shipped = NULL;
    TERN_AUTOFREE char *expected = NULL;
    const char *const sample[] = {TERN_CONFIG, "sample", NULL};
    const char *const check_good[] = {TERN_CONFIG, "check", "--config-file", good, NULL};
    const char *const check_bad[] = {TERN_CONFIG, "--config-file", bad, "check", NULL};
    const char *const show[] = {TERN_CONFIG, "show", "--config-file", good, NULL};
    const char *const usage[] = {TERN_CONFIG, "frobnicate", NULL};
    tern_command_result_t res = {0};

    ck_assert_msg(tern_command_run(sample, 10000, &res) == 0, "%s", tern_error_message());
    ck_assert_int_eq(tern_file_read_all(SAMPLE, 1 << 20, &shipped, NULL), 0);
    ck_assert_str_eq(res.out, shipped);
    tern_command_result_clear(&res);

    ck_assert_msg(tern_command_run(check_good, 10000, &res) == 0, "%s", tern_error_message());
    ck_assert_str_eq(res.out, "configuration is valid\n");
    tern_command_result_clear(&res);

    ck_assert_int_eq(tern_command_run(check_bad, 10000, &res), -1);
    ck_assert_int_eq(res.exit_status, 1);
    expected = tern_asprintf("tern-config: invalid value \"1\" for option "
                             "\"live_migration_downtime\" in section [libvirt] of \"%s\": must be "
                             "at least 100\n",
                             bad);
    ck_assert_str_eq(res.err, expected);
    tern_command_result_clear(&res);

    ck_assert_msg(tern_command_run(show, 10000, &res) == 0, "%s", tern_error_message());
    ck_assert_ptr_null(strstr(res.out, "hunter2"));
    ck_assert_ptr_nonnull(strstr(res.out, "\ntransport_url = rabbit://u:***@h:1/\n"));
    ck_assert_ptr_nonnull(strstr(res.out, "\nlive_migration_downtime = 500\n"));
    tern_command_result_clear(&res);

    ck_assert_int_eq(tern_command_run(usage, 10000, &res), -1);
    ck_assert_int_eq(res.exit_status, 2);
    tern_command_result_clear(&res);
}
END_TEST

static Suite *
conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");
    TCase *secrets = tcase_create("secrets");
    TCase *sample = tcase_create("sample");
    TCase *cli = tcase_create("cli");

    tcase_add_checked_fixture(core, tern_check_tmpdir_setup, tern_check_tmpdir_teardown);
    tcase_add_test(core, test_defaults_follow_nova);
    tcase_add_test(core, test_values_of_every_type_parse);
    tcase_add_test(core, test_duplicates_in_one_file_last_wins);
    tcase_add_test(core, test_cpu_lists_parse);
    tcase_add_test(core, test_transport_settings_for_rpc);
    tcase_add_test(core, test_values_kept_verbatim);
    tcase_add_test(core, test_path_references_expanded);
    tcase_add_test(core, test_files_merge_in_order_then_config_dir);

    tcase_add_checked_fixture(errors, tern_check_tmpdir_setup, tern_check_tmpdir_teardown);
    tcase_add_test(errors, test_bad_values_named);
    tcase_add_test(errors, test_bad_structure_named);
    tcase_add_test(errors, test_bad_files_named);

    tcase_add_test(secrets, test_secret_never_in_messages_or_dumps);

    tcase_add_test(sample, test_shipped_sample_is_current);
    tcase_add_test(sample, test_shipped_sample_parses);

    tcase_add_checked_fixture(cli, tern_check_tmpdir_setup, tern_check_tmpdir_teardown);
    tcase_add_test(cli, test_args_parse_config_files_and_refuse_unknown);
    tcase_add_test(cli, test_args_load_named_files);
    tcase_add_test(cli, test_log_setup_from_default_section);
    tcase_add_test(cli, test_daemon_logs_counters_as_they_rise);
    tcase_add_test(cli, test_tern_config_tool);

    suite_add_tcase(s, core);
    suite_add_tcase(s, errors);
    suite_add_tcase(s, secrets);
    suite_add_tcase(s, sample);
    suite_add_tcase(s, cli);
    return s;
}

int
main(void)
{
    return tern_check_run_suite(conf_suite(), NULL, NULL);
}
