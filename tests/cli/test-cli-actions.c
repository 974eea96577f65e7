/*
 * tests/cli/test-cli-actions.c: `tern server-event-list` and `server-event-show` against the
 * real tern-conductor of the cli-conductor suite - the instance action events.
 *
 * A live migration the conductor refuses in its checks (a destination that does not exist: no
 * compute is needed) is recorded all the same: its action ended "error" with a conductor_check
 * event saying why, shown by both commands in table and JSON. The source compute's reports
 * (made as the compute identity through the service API, on a migration begun with db/ as the
 * conductor begins it) become the events compute_pre_live_migration, compute_live_migration,
 * switch_over and compute_post_live_migration - each once, however often a report is repeated -
 * or, for a failure, the open step ended "error" and migration_failed with the error.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/cli/test-cli-conductor.h"

static db_conn_t *db;
static rpc_client_t *compute; /* as "tern-compute.ev-src", the source compute */
static json_t *context;

static void
setup(void)
{
    test_compute_fixture_open(&db, &compute, &context);
}

static void
teardown(void)
{
    test_compute_fixture_close(db, compute, context);
}

/* actions_of: `tern -f json server-event-list server` parsed (new reference). */
static json_t *
actions_of(const char *server)
{
    run_t r = tern("-f", "json", "server-event-list", server, NULL);
    json_error_t jerr;
    json_t *v;

    ck_assert_msg(r.status == 0, "server-event-list %s: %d %s", server, r.status, r.err);
    v = json_loads(r.out, 0, &jerr);
    ck_assert_msg(json_is_array(v), "not a JSON list (%s): %s", jerr.text, r.out);
    run_clear(&r);
    return v;
}

/* expect_event: event i of action is called name, on host, with result (and a message holding
 * message_has, when not NULL). */
static void
expect_event(const json_t *action, size_t i, const char *name, const char *host, const char *result,
             const char *message_has)
{
    json_t *ev = json_array_get(json_object_get(action, "events"), i);
    const char *msg = json_string_value(json_object_get(ev, "message"));

    ck_assert_msg(ev != NULL, "no event %zu (%s): %s", i, name, json_dumps(action, 0));
    ck_assert_str_eq(json_string_value(json_object_get(ev, "event")), name);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "host")), host);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "result")), result);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(ev, "start_time")));
    ck_assert_ptr_nonnull(json_string_value(json_object_get(ev, "finish_time")));
    if (message_has)
        ck_assert_msg(msg && strstr(msg, message_has), "event %s: message \"%s\", not \"%s\"", name,
                      msg ? msg : "(null)", message_has);
}

START_TEST(test_actions_refused_migration_recorded)
{
    db_instance_t inst = {0};
    run_t r, list, show, unknown;
    json_t *actions, *a;
    const char *request_id;

    test_instance_create(db, "act1", "ev-src", &inst);
    r = tern("live-migration", "act1", "no-such-host", NULL);
    ck_assert_int_eq(r.status, 1);
    actions = actions_of("act1");
    ck_assert_int_eq(json_array_size(actions), 1);
    a = json_array_get(actions, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "action")), "live-migration");
    ck_assert_str_eq(json_string_value(json_object_get(a, "result")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(a, "user_id")), "tern");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(a, "finish_time")));
    ck_assert_int_eq(json_array_size(json_object_get(a, "events")), 1);
    expect_event(a, 0, "conductor_check", HOST, "error", NULL);
    /* the event says why, as the command did */
    ck_assert_msg(strstr(r.err, json_string_value(json_object_get(
                                    json_array_get(json_object_get(a, "events"), 0), "message"))),
                  "the refusal \"%s\" is not the event's: %s", r.err, json_dumps(a, 0));
    request_id = json_string_value(json_object_get(a, "request_id"));
    ck_assert_msg(request_id && strncmp(request_id, "req-", 4) == 0, "request id %s", request_id);

    list = tern("server-event-list", "act1", NULL);
    ck_assert_int_eq(list.status, 0);
    ck_assert_msg(strstr(list.out, "Request ID") && strstr(list.out, request_id) &&
                      strstr(list.out, "conductor_check") && strstr(list.out, "error"),
                  "table: %s", list.out);
    show = tern("server-event-show", "act1", request_id, NULL);
    ck_assert_int_eq(show.status, 0);
    ck_assert_msg(strstr(show.out, "live-migration") && strstr(show.out, "conductor_check"),
                  "show: %s", show.out);
    unknown = tern("server-event-show", "act1", "req-unknown", NULL);
    ck_assert_int_eq(unknown.status, 1);
    ck_assert_msg(strstr(unknown.err, "has no action of request \"req-unknown\""), "%s",
                  unknown.err);
    run_clear(&r);
    run_clear(&list);
    run_clear(&show);
    run_clear(&unknown);
    json_decref(actions);
    db_instance_clear(&inst);
}
END_TEST

static void
update(const char *uuid, const char *status)
{
    test_compute_call(compute, context, "migration_update",
                      json_pack("{s:s, s:s}", "migration", uuid, "status", status));
}

START_TEST(test_actions_compute_reports_recorded_once)
{
    char uuid[37];
    db_instance_t inst = {0};
    json_t *done, *actions, *a;

    tern_uuid_generate(uuid);
    test_migration_begin(db, context, "act2", uuid, HOST, &inst);
    update(uuid, "preparing");
    update(uuid, "preparing"); /* a report repeated after a lost answer */
    update(uuid, "running");
    test_compute_call(compute, context, "migration_update",
                      json_pack("{s:s, s:s, s:{s:i}}", "migration", uuid, "status", "running",
                                "progress", "memory_total", 1000));
    done = json_pack("{s:s, s:s, s:s, s:{s:i, s:i}, s:i, s:i}", "migration", uuid, "instance",
                     inst.uuid, "dest", "ev-dst", "stats", "downtime_ms", 12, "total_time_ms", 300,
                     "preparation_ms", 5, "migration_ms", 300);
    test_compute_call(compute, context, "live_migration_completed", json_incref(done));
    test_compute_call(compute, context, "live_migration_completed", done); /* repeated */
    test_compute_call(compute, context, "migration_update",
                      json_pack("{s:s, s:s, s:i}", "migration", uuid, "status", "completed",
                                "post_processing_ms", 20));

    actions = actions_of(inst.uuid);
    a = json_array_get(actions, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "result")), "success");
    ck_assert_int_eq(json_array_size(json_object_get(a, "events")), 4);
    expect_event(a, 0, "compute_pre_live_migration", "ev-src", "success", NULL);
    expect_event(a, 1, "compute_live_migration", "ev-src", "success", NULL);
    expect_event(a, 2, "switch_over", "ev-dst", "success", "ev-dst");
    expect_event(a, 3, "compute_post_live_migration", "ev-src", "success", NULL);
    json_decref(actions);
    db_instance_clear(&inst);
}
END_TEST

START_TEST(test_actions_failure_recorded_with_its_error)
{
    char uuid[37];
    db_instance_t inst = {0};
    json_t *actions, *a;

    tern_uuid_generate(uuid);
    test_migration_begin(db, context, "act3", uuid, HOST, &inst);
    update(uuid, "preparing");
    test_compute_call(compute, context, "live_migration_failed",
                      json_pack("{s:s, s:s, s:s}", "migration", uuid, "status", "failed",
                                "error_message", "no space left on the destination"));
    actions = actions_of("act3");
    a = json_array_get(actions, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "result")), "error");
    ck_assert_int_eq(json_array_size(json_object_get(a, "events")), 2);
    expect_event(a, 0, "compute_pre_live_migration", "ev-src", "error", "no space left");
    expect_event(a, 1, "migration_failed", "ev-src", "error", "no space left");
    json_decref(actions);
    db_instance_clear(&inst);
}
END_TEST

TCase *
test_cli_actions_case(void)
{
    TCase *tc = tcase_create("actions");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_actions_refused_migration_recorded);
    tcase_add_test(tc, test_actions_compute_reports_recorded_once);
    tcase_add_test(tc, test_actions_failure_recorded_with_its_error);
    return tc;
}
