/*
 * tests/cli/test-cli-output.c: the output and progress cases.
 *
 * output:   value texts, list tables (alignment, UTF-8, multi-line cells, empty lists), object
 *           tables, pretty JSON, each command's render function on sample conductor answers,
 *           and answers of the wrong shape refused
 * progress: sizes and durations, the rate from successive samples (first sample, changes,
 *           stalls, restarts), the progress line with and without a bar, the final summary
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/cli/test-cli.h"

#define GIB 1073741824LL
#define MIB 1048576LL

/* A memory stream and what was written to it. */
typedef struct capture {
    FILE *out;
    char *text;
    size_t len;
} capture_t;

static void
capture_begin(capture_t *c)
{
    c->text = NULL;
    c->len = 0;
    c->out = open_memstream(&c->text, &c->len);
    ck_assert_ptr_nonnull(c->out);
}

static const char *
capture_end(capture_t *c)
{
    fclose(c->out);
    c->out = NULL;
    return c->text;
}

static json_t *
load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    ck_assert_msg(v, "bad sample JSON: %s", jerr.text);
    return v;
}

/* The output of req's command's render function for the answer text, format as given. */
static char *
render(const char *command_line_0, const char *command_line_1, const char *command_line_2,
       cli_format_t format, const char *answer, int expect_rc)
{
    cli_request_t req;
    capture_t c;
    json_t *result = load(answer);
    int rc;

    ck_assert_int_eq(test_cli_parse(&req, command_line_0, command_line_1, command_line_2, NULL), 0);
    req.format = format;
    capture_begin(&c);
    rc = req.command->render(&req, result, c.out);
    capture_end(&c);
    ck_assert_int_eq(rc, expect_rc);
    json_decref(result);
    cli_request_clear(&req);
    return c.text;
}

START_TEST(test_output_value_text)
{
    static const struct {
        const char *json, *text;
    } cases[] = {
        {"null", "-"},
        {"true", "True"},
        {"false", "False"},
        {"42", "42"},
        {"-7", "-7"},
        {"1.5", "1.5"},
        {"\"h1\"", "h1"},
        {"\"\"", ""},
        {"[]", ""},
        {"[\"a\", \"b\"]", "a\nb"},
        {"[{\"bridge\": \"br0\"}, 3]", "{\"bridge\":\"br0\"}\n3"},
        {"{\"a\": 1}", "{\"a\":1}"},
    };

    for (size_t i = 0; i < TERN_N_ELEMENTS(cases); i++) {
        json_t *v = load(cases[i].json);
        TERN_AUTOFREE char *text = cli_value_text(v);

        ck_assert_msg(strcmp(text, cases[i].text) == 0, "%s shown as \"%s\", expected \"%s\"",
                      cases[i].json, text, cases[i].text);
        json_decref(v);
    }
    {
        TERN_AUTOFREE char *text = cli_value_text(NULL);

        ck_assert_str_eq(text, "");
    }
}
END_TEST

START_TEST(test_output_table)
{
    static const cli_column_t cols[] = {
        {"Id", "id", NULL}, {"Name", "name", NULL}, {"Status", "status", NULL}};
    json_t *rows = load("[{\"id\": 7, \"name\": \"vm1\", \"status\": \"completed\"},"
                        " {\"id\": 12, \"name\": \"caf\xc3\xa9\", \"status\": null}]");
    json_t *none = json_array();
    capture_t c;

    capture_begin(&c);
    cli_print_table(c.out, cols, 3, rows);
    ck_assert_str_eq(capture_end(&c), "+----+------+-----------+\n"
                                      "| Id | Name | Status    |\n"
                                      "+----+------+-----------+\n"
                                      "| 7  | vm1  | completed |\n"
                                      "| 12 | caf\xc3\xa9 | -         |\n"
                                      "+----+------+-----------+\n");
    free(c.text);

    capture_begin(&c);
    cli_print_table(c.out, cols, 1, none);
    ck_assert_str_eq(capture_end(&c), "+----+\n"
                                      "| Id |\n"
                                      "+----+\n");
    free(c.text);
    json_decref(rows);
    json_decref(none);
}
END_TEST

START_TEST(test_output_object)
{
    json_t *obj = load("{\"name\": \"vm1\", \"volumes\": [{\"volume_id\": \"v1\"}, "
                       "{\"volume_id\": \"v2\"}], \"flag\": true, \"n\": null}");
    capture_t c;

    capture_begin(&c);
    cli_print_object(c.out, obj);
    ck_assert_str_eq(capture_end(&c), "+---------+--------------------+\n"
                                      "| Field   | Value              |\n"
                                      "+---------+--------------------+\n"
                                      "| flag    | True               |\n"
                                      "| n       | -                  |\n"
                                      "| name    | vm1                |\n"
                                      "| volumes | {\"volume_id\":\"v1\"} |\n"
                                      "|         | {\"volume_id\":\"v2\"} |\n"
                                      "+---------+--------------------+\n");
    free(c.text);

    capture_begin(&c);
    cli_print_json(c.out, obj);
    ck_assert_str_eq(capture_end(&c), "{\n"
                                      "    \"name\": \"vm1\",\n"
                                      "    \"volumes\": [\n"
                                      "        {\n"
                                      "            \"volume_id\": \"v1\"\n"
                                      "        },\n"
                                      "        {\n"
                                      "            \"volume_id\": \"v2\"\n"
                                      "        }\n"
                                      "    ],\n"
                                      "    \"flag\": true,\n"
                                      "    \"n\": null\n"
                                      "}\n");
    free(c.text);
    json_decref(obj);
}
END_TEST

#define SAMPLE_MIGRATION                                                                        \
    "{\"uuid\": \"5e1a0c52-3b7d-4c1e-9f00-123456789abc\", \"id\": 7, "                          \
    "\"instance_uuid\": \"0f3c2a1e-0000-4000-8000-000000000001\", \"source_compute\": \"h1\", " \
    "\"dest_compute\": \"h2\", \"status\": \"completed\", \"migration_type\": "                 \
    "\"live-migration\", "                                                                      \
    "\"block_migration\": true, \"phase\": \"post-processing\", \"downtime_ms\": 45, "          \
    "\"created_at\": \"2026-01-02T03:04:05.000Z\", \"updated_at\": \"2026-01-02T03:04:17.000Z\"}"

START_TEST(test_output_render_migrations)
{
    TERN_AUTOFREE char *list = render("migration-list", NULL, NULL, CLI_FORMAT_TABLE,
                                      "{\"migrations\": [" SAMPLE_MIGRATION "]}", 0);
    TERN_AUTOFREE char *json = render("migration-list", NULL, NULL, CLI_FORMAT_JSON,
                                      "{\"migrations\": [" SAMPLE_MIGRATION "]}", 0);
    TERN_AUTOFREE char *show = render("migration-show", "7", NULL, CLI_FORMAT_TABLE,
                                      "{\"migration\": " SAMPLE_MIGRATION "}", 0);
    TERN_AUTOFREE char *abort =
        render("live-migration-abort", "vm1", "7", CLI_FORMAT_TABLE, "{}", 0);
    TERN_AUTOFREE char *force =
        render("live-migration-force-complete", "vm1", "5e1a0c52-3b7d-4c1e-9f00-123456789abc",
               CLI_FORMAT_TABLE, "{}", 0);
    TERN_AUTOFREE char *abort_json =
        render("live-migration-abort", "vm1", "7", CLI_FORMAT_JSON, "{}", 0);
    json_t *parsed = load(json), *want = load("[" SAMPLE_MIGRATION "]");

    ck_assert_ptr_nonnull(
        strstr(list, "| Id | UUID                                 | Instance UUID"));
    ck_assert_ptr_nonnull(strstr(list, "| 7  | 5e1a0c52-3b7d-4c1e-9f00-123456789abc | 0f3c2a1e-"));
    ck_assert_ptr_nonnull(strstr(list, "| h1             | h2           | completed | "
                                       "post-processing | True            |"));
    ck_assert(json_equal(parsed, want));
    ck_assert_ptr_nonnull(
        strstr(show, "| downtime_ms     | 45 ms - guest paused for the switch-over |"));
    ck_assert_ptr_nonnull(strstr(show, "| block_migration | True "));
    ck_assert_str_eq(abort, "Request to abort migration 7 of server vm1 has been accepted.\n");
    ck_assert_str_eq(force, "Request to force the completion of migration "
                            "5e1a0c52-3b7d-4c1e-9f00-123456789abc of server vm1 has been "
                            "accepted.\n");
    ck_assert_str_eq(abort_json, "{}\n");
    json_decref(parsed);
    json_decref(want);
}
END_TEST

START_TEST(test_output_render_servers_services)
{
    TERN_AUTOFREE char *servers = render(
        "server-list", NULL, NULL, CLI_FORMAT_TABLE,
        "{\"servers\": [{\"uuid\": \"0f3c2a1e-0000-4000-8000-000000000001\", \"name\": \"vm1\", "
        "\"host\": \"h1\", \"vm_state\": \"active\", \"task_state\": null, \"power_state\": 1, "
        "\"memory_mb\": 512, \"vcpus\": 1, \"disk_gb\": 1}]}",
        0);
    TERN_AUTOFREE char *deleted = render("server-delete", "vm1", NULL, CLI_FORMAT_TABLE, "{}", 0);
    TERN_AUTOFREE char *hypervisors =
        render("hypervisor-list", NULL, NULL, CLI_FORMAT_TABLE,
               "{\"hypervisors\": [{\"host\": \"h1\", \"hypervisor_hostname\": \"h1\", "
               "\"hypervisor_type\": \"QEMU\", \"state\": \"up\", \"status\": \"enabled\", "
               "\"vcpus\": 8, \"vcpus_used\": 2, \"memory_mb\": 4096, \"memory_mb_used\": 1024, "
               "\"local_gb\": 40, \"local_gb_used\": 3, \"running_vms\": 2}]}",
               0);
    TERN_AUTOFREE char *service = render("service-disable", "h1", "tern-compute", CLI_FORMAT_JSON,
                                         "{\"service\": {\"host\": \"h1\", \"status\": "
                                         "\"disabled\"}}",
                                         0);

    ck_assert_ptr_nonnull(strstr(servers, "| vm1  | h1   | active   | -          | Running     |"
                                          " 512       | 1     | 1       |\n"));
    ck_assert_str_eq(deleted, "Server vm1 has been deleted.\n");
    ck_assert_ptr_nonnull(strstr(hypervisors, "| QEMU | up    | enabled | 2 / 8              |"
                                              " 1024 / 4096            | 3 / 40               |"
                                              " 2           |\n"));
    ck_assert_str_eq(service, "{\n    \"host\": \"h1\",\n    \"status\": \"disabled\"\n}\n");
}
END_TEST

/* An answer of the wrong shape is an error, and nothing is printed. */
START_TEST(test_output_render_bad_answer)
{
    TERN_AUTOFREE char *a =
        render("server-list", NULL, NULL, CLI_FORMAT_TABLE, "{\"servers\": {}}", -1);

    ck_assert_str_eq(a, "");
    ck_assert_str_eq(tern_error_message(),
                     "unexpected answer from the conductor: no \"servers\" list in it");
    ck_assert_int_eq(tern_error_code(), TERN_ERR_RPC);
    {
        TERN_AUTOFREE char *b =
            render("migration-list", NULL, NULL, CLI_FORMAT_JSON, "{\"migrations\": [1]}", -1);

        ck_assert_str_eq(b, "");
        ck_assert_str_eq(tern_error_message(), "unexpected answer from the conductor: "
                                               "\"migrations\" holds a non-object");
    }
    {
        TERN_AUTOFREE char *b = render("migration-show", "7", NULL, CLI_FORMAT_TABLE, "{}", -1);

        ck_assert_str_eq(tern_error_message(),
                         "unexpected answer from the conductor: no \"migration\" object in it");
    }
    {
        TERN_AUTOFREE char *b = render("server-delete", "vm1", NULL, CLI_FORMAT_TABLE, "null", -1);

        ck_assert_str_eq(tern_error_message(),
                         "unexpected answer from the conductor: not an object");
    }
}
END_TEST

TCase *
test_cli_output_case(void)
{
    TCase *tc = tcase_create("output");

    tcase_add_test(tc, test_output_value_text);
    tcase_add_test(tc, test_output_table);
    tcase_add_test(tc, test_output_object);
    tcase_add_test(tc, test_output_render_migrations);
    tcase_add_test(tc, test_output_render_servers_services);
    tcase_add_test(tc, test_output_render_bad_answer);
    return tc;
}

/* ---- progress ---- */

START_TEST(test_progress_sizes_durations)
{
    char buf[32];

    ck_assert_str_eq(cli_format_bytes(0, buf, sizeof(buf)), "0 B");
    ck_assert_str_eq(cli_format_bytes(1023, buf, sizeof(buf)), "1023 B");
    ck_assert_str_eq(cli_format_bytes(1536, buf, sizeof(buf)), "1.5 KiB");
    ck_assert_str_eq(cli_format_bytes(12 * MIB, buf, sizeof(buf)), "12.0 MiB");
    ck_assert_str_eq(cli_format_bytes(2 * GIB, buf, sizeof(buf)), "2.00 GiB");
    ck_assert_str_eq(cli_format_bytes(-1, buf, sizeof(buf)), "-");
    ck_assert_str_eq(cli_format_duration(45, buf, sizeof(buf)), "45 ms");
    ck_assert_str_eq(cli_format_duration(12345, buf, sizeof(buf)), "12.3 s");
    ck_assert_str_eq(cli_format_duration(123000, buf, sizeof(buf)), "2:03");
    ck_assert_str_eq(cli_format_duration(3723000, buf, sizeof(buf)), "1:02:03");
}
END_TEST

static json_t *
sample(const char *status, int64_t mem_done, int64_t mem_total, int64_t disk_done,
       int64_t disk_total)
{
    return json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "id", (json_int_t)7, "status",
                     status, "phase", "migration", "memory_processed", (json_int_t)mem_done,
                     "memory_total", (json_int_t)mem_total, "memory_remaining",
                     (json_int_t)(mem_total - mem_done), "disk_processed", (json_int_t)disk_done,
                     "disk_total", (json_int_t)disk_total, "disk_remaining",
                     (json_int_t)(disk_total - disk_done));
}

START_TEST(test_progress_rate_and_line)
{
    cli_progress_t prog;
    char line[256];
    json_t *m1 = sample("running", 512 * MIB, 2 * GIB, 0, 0);
    json_t *m2 = sample("running", 612 * MIB, 2 * GIB, 0, 0);
    json_t *m3 = sample("running", 100 * MIB, 2 * GIB, 0, 0);

    cli_progress_init(&prog, 10000);
    cli_progress_sample(&prog, m1, 10000);
    ck_assert(prog.rate_mib_s < 0); /* one sample: no rate yet */
    ck_assert_str_eq(cli_progress_line(&prog, m1, 10000, false, line, sizeof(line)),
                     " 25% migration/running  memory 512.0 MiB/2.00 GiB  remaining 1.50 GiB  "
                     "-- MiB/s  elapsed 0:00");
    cli_progress_sample(&prog, m2, 11000); /* 100 MiB in 1 s */
    ck_assert_double_eq_tol(prog.rate_mib_s, 100.0, 1e-9);
    ck_assert_str_eq(cli_progress_line(&prog, m2, 12500, true, line, sizeof(line)),
                     " 29% [#####---------------] migration/running  memory 612.0 MiB/2.00 GiB  "
                     "remaining 1.40 GiB  100.0 MiB/s  eta 0:14  elapsed 0:02");
    cli_progress_sample(&prog, m2, 13000); /* no change for 2 s: keep the rate */
    ck_assert_double_eq_tol(prog.rate_mib_s, 100.0, 1e-9);
    cli_progress_sample(&prog, m2, 14000); /* no change for 3 s: stalled */
    ck_assert_double_eq_tol(prog.rate_mib_s, 0.0, 1e-9);
    cli_progress_sample(&prog, m3, 14500); /* the count went back: unknown again */
    ck_assert(prog.rate_mib_s < 0);
    /* m3 says 4% done (a new pass re-sends memory): the 29% seen is held, the bar never goes
     * backwards */
    ck_assert_str_eq(cli_progress_line(&prog, m3, 15000, false, line, sizeof(line)),
                     " 29% migration/running  memory 100.0 MiB/2.00 GiB  remaining 1.90 GiB  "
                     "-- MiB/s  elapsed 0:05");
    json_decref(m1);
    json_decref(m2);
    json_decref(m3);
}
END_TEST

START_TEST(test_progress_line_disk_and_end)
{
    cli_progress_t prog;
    char line[256];
    json_t *m = sample("running", 2 * GIB, 2 * GIB, 1 * GIB, 10 * GIB);
    json_t *done = sample("completed", 2 * GIB, 2 * GIB, 10 * GIB, 10 * GIB);

    cli_progress_init(&prog, 0);
    cli_progress_sample(&prog, m, 0);
    ck_assert_str_eq(cli_progress_line(&prog, m, 3723000, false, line, sizeof(line)),
                     " 25% migration/running  memory 2.00 GiB/2.00 GiB  disk 1.00 GiB/10.00 GiB  "
                     "remaining 9.00 GiB  -- MiB/s  elapsed 1:02:03");
    ck_assert_str_eq(cli_progress_line(&prog, done, 61000, true, line, sizeof(line)),
                     "100% [####################] migration/completed  memory 2.00 GiB/2.00 GiB  "
                     "disk 10.00 GiB/10.00 GiB  remaining 0 B  -- MiB/s  elapsed 1:01");
    /* A small buffer is cut, never overrun. */
    ck_assert_str_eq(cli_progress_line(&prog, m, 0, true, line, 12), " 25% [#####");
    /* completed: the record's end figures and the transfer's average rate */
    json_object_set_new(done, "migration_ms", json_integer(4000));
    ck_assert_str_eq(
        cli_progress_line(&prog, done, 5000, false, line, sizeof(line)),
        "100% migration/completed  memory 2.00 GiB/2.00 GiB  disk 10.00 GiB/10.00 GiB  "
        "remaining 0 B  3072.0 MiB/s  elapsed 0:05");
    json_decref(m);
    json_decref(done);
    /* before libvirt's first figures there is nothing to count (another wait) */
    cli_progress_init(&prog, 0);
    m = sample("running", 0, 0, 0, 0);
    ck_assert_str_eq(cli_progress_line(&prog, m, 2000, true, line, sizeof(line)),
                     "  0% [--------------------] migration/running  nothing transferred yet  "
                     "elapsed 0:02");
    json_decref(m);
}
END_TEST

START_TEST(test_progress_summary)
{
    char buf[256];
    json_t *ok = load("{\"id\": 7, \"status\": \"completed\", \"total_ms\": 2900, "
                      "\"migration_ms\": 2810, \"libvirt_job_ms\": 667, \"downtime_ms\": 35}");
    json_t *failed =
        load("{\"id\": 8, \"status\": \"failed\", \"total_ms\": 3100, "
             "\"error_message\": \"could not pre-create disk \\\"vda\\\": no space\"}");
    json_t *cancelled = load("{\"id\": 9, \"status\": \"cancelled\", \"total_ms\": null}");

    /* what the user waited, measured by the CLI, before the record's own total */
    ck_assert_str_eq(cli_migration_summary(ok, 3050, buf, sizeof(buf)),
                     "migration 7 completed 3.0 s after the request (transfer 2.8 s, downtime 35 "
                     "ms)");
    ck_assert_str_eq(cli_migration_summary(ok, -1, buf, sizeof(buf)),
                     "migration 7 completed 2.9 s after the request (transfer 2.8 s, downtime 35 "
                     "ms)");
    ck_assert_str_eq(cli_migration_summary(failed, -1, buf, sizeof(buf)),
                     "migration 8 failed 3.1 s after the request: could not pre-create disk "
                     "\"vda\": no space");
    ck_assert_str_eq(cli_migration_summary(cancelled, -1, buf, sizeof(buf)),
                     "migration 9 was cancelled");
    ck_assert_str_eq(cli_migration_summary(cancelled, 1500, buf, sizeof(buf)),
                     "migration 9 was cancelled 1.5 s after the request");
    ck_assert(cli_migration_status_final("completed"));
    ck_assert(cli_migration_status_final("failed"));
    ck_assert(cli_migration_status_final("cancelled"));
    ck_assert(cli_migration_status_final("error"));
    ck_assert(!cli_migration_status_final("running"));
    ck_assert(!cli_migration_status_final("queued"));
    ck_assert(!cli_migration_status_final(NULL));
    json_decref(ok);
    json_decref(failed);
    json_decref(cancelled);
}
END_TEST

/* migration-show and --wait's table: each duration says what it measures. */
START_TEST(test_migration_durations_labelled)
{
    json_t *m =
        load("{\"id\": 7, \"total_ms\": 2900, \"checks_ms\": 18, \"preparation_ms\": "
             "66, \"migration_ms\": 2810, \"libvirt_job_ms\": 667, \"downtime_ms\": 35, "
             "\"post_processing_ms\": null, \"memory_total\": 1024, \"created_at\": "
             "\"2026-12-01T10:56:28.123Z\", \"phases\": {\"checks\": {\"started_at\": "
             "\"2026-12-01T10:56:28.123Z\", \"finished_at\": \"2026-12-01T10:56:28.152Z\"}, "
             "\"migration\": {\"started_at\": \"2026-12-01T10:56:28.234Z\", "
             "\"finished_at\": null}}}");
    json_t *l = cli_migration_labelled(m);

    ck_assert_str_eq(json_string_value(json_object_get(l, "total_ms")),
                     "2.9 s - request accepted to completion recorded");
    ck_assert_str_eq(json_string_value(json_object_get(l, "migration_ms")),
                     "2.8 s - transfer: libvirt's live migration, start to switch-over");
    ck_assert_str_eq(json_string_value(json_object_get(l, "libvirt_job_ms")),
                     "667 ms - libvirt's own job time, as it reported the end");
    ck_assert_str_eq(json_string_value(json_object_get(l, "downtime_ms")),
                     "35 ms - guest paused for the switch-over");
    ck_assert_str_eq(json_string_value(json_object_get(l, "checks_ms")),
                     "18 ms - conductor and host checks");
    ck_assert(json_is_null(json_object_get(l, "post_processing_ms")));
    ck_assert_str_eq(json_string_value(json_object_get(l, "phases")),
                     "checks +0 ms (29 ms), migration +111 ms (running)");
    ck_assert_int_eq(json_integer_value(json_object_get(l, "memory_total")), 1024);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "total_ms")), 2900); /* a copy */
    json_decref(l);
    json_decref(m);
}
END_TEST

TCase *
test_cli_progress_case(void)
{
    TCase *tc = tcase_create("progress");

    tcase_add_test(tc, test_progress_sizes_durations);
    tcase_add_test(tc, test_progress_rate_and_line);
    tcase_add_test(tc, test_progress_line_disk_and_end);
    tcase_add_test(tc, test_progress_summary);
    tcase_add_test(tc, test_migration_durations_labelled);
    return tc;
}
