/*
 * tests/conf/test-conf.c: the configuration parser (conf/), good and bad inputs, the sample.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "conf/conf.h"

#define CK_CONF_ERROR(cfg, text)                              \
    do {                                                      \
        ck_assert_ptr_null(cfg);                              \
        ck_assert_int_eq(tern_error_code(), TERN_ERR_CONFIG); \
        ck_assert_str_eq(tern_error_message(), (text));       \
    } while (0)

START_TEST(test_defaults_follow_nova)
{
    conf_t *cfg = conf_load_data("empty", "");

    ck_assert_ptr_nonnull(cfg);
    ck_assert_int_eq(cfg->libvirt.live_migration_downtime, 500);
    ck_assert_int_eq(cfg->libvirt.live_migration_downtime_steps, 10);
    ck_assert_int_eq(cfg->libvirt.live_migration_downtime_delay, 75);
    ck_assert_int_eq(cfg->libvirt.live_migration_completion_timeout, 800);
    ck_assert_str_eq(cfg->libvirt.live_migration_timeout_action, "abort");
    ck_assert(!cfg->libvirt.live_migration_permit_post_copy);
    ck_assert(!cfg->libvirt.live_migration_permit_auto_converge);
    ck_assert_int_eq(cfg->max_concurrent_live_migrations, 1);
    ck_assert_str_eq(cfg->instances_path, "/var/lib/tern/instances");
    ck_assert_str_eq(cfg->control_exchange, "tern");
    ck_assert(!tern_str_empty(cfg->host));
    conf_free(cfg);
}
END_TEST

START_TEST(test_values_of_every_type_parse)
{
    conf_t *cfg = conf_load_data("good", "[DEFAULT]\n"
                                         "host = h1\n"
                                         "state_path = /srv/tern\n"
                                         "debug = yes\n"
                                         "ram_allocation_ratio = 1.5\n"
                                         "max_concurrent_live_migrations = 0\n"
                                         "[libvirt]\n"
                                         "virt_type = qemu\n"
                                         "live_migration_timeout_action = force_complete\n"
                                         "live_migration_permit_post_copy = on\n"
                                         "[database]\n"
                                         "connection = postgresql://t:p@h/db\n");

    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    ck_assert_str_eq(cfg->host, "h1");
    ck_assert(cfg->debug);
    ck_assert(cfg->ram_allocation_ratio == 1.5);
    ck_assert_int_eq(cfg->max_concurrent_live_migrations, 0);
    ck_assert_str_eq(cfg->libvirt.virt_type, "qemu");
    ck_assert_str_eq(cfg->libvirt.live_migration_timeout_action, "force_complete");
    ck_assert(cfg->libvirt.live_migration_permit_post_copy);
    ck_assert_str_eq(cfg->instances_path, "/srv/tern/instances"); /* $state_path expanded */
    ck_assert_str_eq(cfg->database.connection, "postgresql://t:p@h/db");
    conf_free(cfg);
}
END_TEST

START_TEST(test_bad_inputs_named)
{
    static const struct {
        const char *data;
        const char *message;
    } cases[] = {
        {"[libvirt]\nlive_migration_downtime = abc\n",
         "invalid value \"abc\" for option \"live_migration_downtime\" in section [libvirt] of "
         "\"f.conf\": not an integer"},
        {"[libvirt]\nlive_migration_downtime = 50\n",
         "invalid value \"50\" for option \"live_migration_downtime\" in section [libvirt] of "
         "\"f.conf\": out of range [100, 2147483647]"},
        {"[libvirt]\nvirt_type = xen\n",
         "invalid value \"xen\" for option \"virt_type\" in section [libvirt] of \"f.conf\": not "
         "one of \"kvm\", \"qemu\""},
        {"[DEFAULT]\ndebug = maybe\n",
         "invalid value \"maybe\" for option \"debug\" in section [DEFAULT] of \"f.conf\": not a "
         "boolean (true/false, yes/no, on/off, 1/0)"},
        {"[DEFAULT]\nram_allocation_ratio = lots\n",
         "invalid value \"lots\" for option \"ram_allocation_ratio\" in section [DEFAULT] of "
         "\"f.conf\": not a number"},
        {"[DEFAULT]\nno_such_option = 1\n",
         "unknown option \"no_such_option\" in section [DEFAULT] of \"f.conf\""},
        {"[nosection]\nx = 1\n", "unknown section [nosection] in \"f.conf\""},
        {"[DEFAULT\n", "could not parse \"f.conf\": syntax error at line 1"},
        {"host = h\n", "option \"host\" in \"f.conf\" is outside any section"},
    };

    for (size_t i = 0; i < TERN_N_ELEMENTS(cases); i++)
        CK_CONF_ERROR(conf_load_data("f.conf", cases[i].data), cases[i].message);
}
END_TEST

START_TEST(test_secret_never_in_messages_or_dumps)
{
    conf_t *cfg = conf_load_data("s", "[DEFAULT]\ntransport_url = rabbit://u:hunter2@h:5672/\n");
    char *dump = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&dump, &len);

    ck_assert_ptr_nonnull(cfg);
    conf_write_effective(cfg, out);
    fclose(out);
    ck_assert_ptr_null(strstr(dump, "hunter2"));
    ck_assert_ptr_nonnull(strstr(dump, "transport_url = rabbit://u:***@h:5672/"));
    free(dump);
    conf_free(cfg);
    /* A secret option with a value refused for another reason would be masked too; a secret
     * string cannot be invalid, so check an unknown neighbour keeps the text out. */
    ck_assert_ptr_null(conf_load_data("s", "[database]\nconnection = postgresql://a:hunter2@h/d\n"
                                           "bogus = 1\n"));
    ck_assert_ptr_null(strstr(tern_error_message(), "hunter2"));
}
END_TEST

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

START_TEST(test_files_merge_in_order_then_config_dir)
{
    char dir[] = "/tmp/tern-conf-XXXXXX";
    TERN_AUTOFREE char *a = NULL;
    TERN_AUTOFREE char *b = NULL;
    TERN_AUTOFREE char *sub = NULL;
    TERN_AUTOFREE char *c1 = NULL;
    TERN_AUTOFREE char *c2 = NULL;
    const char *files[2];
    conf_t *cfg;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    a = write_temp(dir, "a.conf", "[DEFAULT]\nhost = a\nreport_interval = 5\n");
    b = write_temp(dir, "b.conf", "[DEFAULT]\nhost = b\n");
    sub = tern_asprintf("%s/d", dir);
    ck_assert_int_eq(tern_mkdir_p(sub, 0755), 0);
    c1 = write_temp(sub, "10-x.conf", "[DEFAULT]\nservice_down_time = 30\n");
    c2 = write_temp(sub, "20-y.conf", "[DEFAULT]\nservice_down_time = 40\n");
    write_temp(sub, "ignored.txt", "[DEFAULT]\nservice_down_time = 99\n");
    files[0] = a;
    files[1] = b;
    cfg = conf_load_files(files, 2, sub);
    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    ck_assert_str_eq(cfg->host, "b");
    ck_assert_int_eq(cfg->report_interval, 5);
    ck_assert_int_eq(cfg->service_down_time, 40);
    conf_free(cfg);
    files[0] = "/nonexistent/tern.conf";
    CK_CONF_ERROR(conf_load_files(files, 1, NULL),
                  "could not open file \"/nonexistent/tern.conf\": No such file or directory");
}
END_TEST

START_TEST(test_shipped_sample_parses_and_is_current)
{
    TERN_AUTOFREE char *shipped = NULL;
    char *generated = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&generated, &len);
    const char *path = TERN_SRCDIR "/etc/tern.conf.sample";
    conf_t *cfg;

    conf_write_sample(out);
    fclose(out);
    ck_assert_int_eq(tern_file_read_all(path, 1 << 20, &shipped, NULL), 0);
    ck_assert_msg(strcmp(shipped, generated) == 0,
                  "etc/tern.conf.sample is stale: run `make update-sample` and commit it");
    free(generated);
    cfg = conf_load_files(&path, 1, NULL);
    ck_assert_msg(cfg != NULL, "%s", tern_error_message());
    conf_free(cfg);
}
END_TEST

START_TEST(test_args_parse_config_files_and_refuse_unknown)
{
    char *argv1[] = {"prog", "--config-file", "a", "--config-file", "b", "--config-dir", "d", NULL};
    char *argv2[] = {"prog", "--bogus", NULL};
    char *argv3[] = {"prog", "extra", NULL};
    conf_args_t args;

    ck_assert_int_eq(conf_parse_args(7, argv1, "prog", &args), 0);
    ck_assert_uint_eq(args.n_config_files, 2);
    ck_assert_str_eq(args.config_files[1], "b");
    ck_assert_str_eq(args.config_dir, "d");
    conf_args_clear(&args);
    ck_assert_int_eq(conf_parse_args(2, argv2, "prog", &args), -1);
    ck_assert_int_eq(conf_parse_args(2, argv3, "prog", &args), -1);
}
END_TEST

static Suite *
conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");

    tcase_add_test(core, test_defaults_follow_nova);
    tcase_add_test(core, test_values_of_every_type_parse);
    tcase_add_test(core, test_files_merge_in_order_then_config_dir);
    tcase_add_test(core, test_shipped_sample_parses_and_is_current);
    tcase_add_test(core, test_args_parse_config_files_and_refuse_unknown);
    tcase_add_test(errors, test_bad_inputs_named);
    tcase_add_test(errors, test_secret_never_in_messages_or_dumps);
    suite_add_tcase(s, core);
    suite_add_tcase(s, errors);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(conf_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
