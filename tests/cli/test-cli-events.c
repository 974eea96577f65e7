/*
 * tests/cli/test-cli-events.c: the conductor's migration events (conductor/API.md, "Events")
 * from the real tern-conductor of the cli-conductor suite.
 *
 * A listener of a migration (rpc_listener_new on topic "migration_events", key its uuid) is
 * told of each change of its status made through the service API as a compute identity -
 * migration_update, the switch-over, live_migration_failed - and by the conductor's own sweep of
 * orphaned migrations; when it hears one, the database already says so. Progress samples and
 * the end of post-processing send nothing. With nobody listening the conductor logs no warning
 * (the casts are unrouted_ok). The instances and migrations are made with db/, as the conductor
 * would have made them (db_migration_begin).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/cli/test-cli-conductor.h"

#define EVENT_WAIT_MS 5000

/* What the listener heard: the args of every migration_changed, in order. */
static pthread_mutex_t heard_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t heard_cond = PTHREAD_COND_INITIALIZER;
static json_t *heard; /* guarded by heard_lock */

static int
h_migration_changed(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    pthread_mutex_lock(&heard_lock);
    json_array_append_new(heard, json_deep_copy(req->args));
    pthread_cond_broadcast(&heard_cond);
    pthread_mutex_unlock(&heard_lock);
    return 0;
}

static const rpc_method_t event_methods[] = {{"migration_changed", h_migration_changed}};
static const rpc_endpoint_t event_endpoint = {
    .version = "1.0", .methods = event_methods, .n_methods = 1};

static db_conn_t *db;
static rpc_client_t *compute; /* as "tern-compute.ev-src", the source compute */
static json_t *context;

static void
setup(void)
{
    test_compute_fixture_open(&db, &compute, &context);
    heard = json_array();
}

static void
teardown(void)
{
    test_compute_fixture_close(db, compute, context);
    json_decref(heard);
}

/* listen_to: a started listener of the events of migration uuid. */
static rpc_server_t *
listen_to(const char *uuid)
{
    rpc_config_t cfg;
    rpc_server_t *l;

    test_compute_rpc_config(&cfg); /* any identity may listen */
    l = rpc_listener_new(&cfg, "migration_events", uuid, &event_endpoint, 1, 1);
    ck_assert_msg(l != NULL, "%s", tern_error_message());
    CK_OK(rpc_server_start(l));
    return l;
}

/* expect_event: the i-th event comes within EVENT_WAIT_MS and says migration uuid is status. */
static void
expect_event(size_t i, const char *uuid, const char *status)
{
    int64_t deadline = tern_now_realtime_ms() + EVENT_WAIT_MS;
    struct timespec ts = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000};
    json_t *event;

    pthread_mutex_lock(&heard_lock);
    while (json_array_size(heard) <= i &&
           pthread_cond_timedwait(&heard_cond, &heard_lock, &ts) == 0)
        ;
    event = json_incref(json_array_get(heard, i));
    pthread_mutex_unlock(&heard_lock);
    ck_assert_msg(event != NULL, "no event %zu (\"%s\") within %d ms", i, status, EVENT_WAIT_MS);
    ck_assert_str_eq(json_string_value(json_object_get(event, "migration")), uuid);
    ck_assert_str_eq(json_string_value(json_object_get(event, "status")), status);
    json_decref(event);
}

static size_t
events_heard(void)
{
    size_t n;

    pthread_mutex_lock(&heard_lock);
    n = json_array_size(heard);
    pthread_mutex_unlock(&heard_lock);
    return n;
}

static void
update(const char *uuid, const char *status, json_t *extra)
{
    json_t *args = json_pack("{s:s, s:s}", "migration", uuid, "status", status);

    if (extra)
        json_object_update(args, extra);
    json_decref(extra);
    test_compute_call(compute, context, "migration_update", args);
}

START_TEST(test_events_each_status_change_told)
{
    char uuid[37];
    db_instance_t inst = {0}, moved = {0};
    db_migration_t mig = {0};
    rpc_server_t *l;

    tern_uuid_generate(uuid);
    l = listen_to(uuid); /* before the migration exists: nothing can be missed */
    test_migration_begin(db, context, "ev1", uuid, HOST, &inst);
    update(uuid, "preparing", NULL);
    expect_event(0, uuid, "preparing");
    update(uuid, "running", NULL);
    expect_event(1, uuid, "running");
    update(uuid, "running",
           json_pack("{s:{s:i, s:i, s:i}}", "progress", "memory_total", 1000, "memory_processed",
                     400, "memory_remaining", 600));
    test_compute_call(compute, context, "live_migration_completed",
                      json_pack("{s:s, s:s, s:s, s:{s:i, s:i}, s:i, s:i}", "migration", uuid,
                                "instance", inst.uuid, "dest", "ev-dst", "stats", "downtime_ms", 12,
                                "total_time_ms", 300, "preparation_ms", 5, "migration_ms", 300));
    expect_event(2, uuid, "completed"); /* the progress sample sent nothing */
    /* told once the switch-over is in the database: the instance is on its destination, free */
    CK_OK(db_migration_get(db, uuid, &mig));
    ck_assert_str_eq(db_migration_status_name(mig.status), "completed");
    CK_OK(db_instance_get(db, inst.uuid, &moved));
    ck_assert_str_eq(moved.host, "ev-dst");
    ck_assert_ptr_null(moved.task_state);
    update(uuid, "completed", json_pack("{s:i}", "post_processing_ms", 20));
    tern_sleep_ms(500);
    ck_assert_int_eq(events_heard(), 3); /* the end of post-processing sent nothing either */
    rpc_server_free(l);
    db_migration_clear(&mig);
    db_instance_clear(&moved);
    db_instance_clear(&inst);
}
END_TEST

START_TEST(test_events_failure_and_sweep_told)
{
    char failed[37], orphan[37];
    db_instance_t inst = {0}, after = {0}, inst2 = {0};
    db_migration_t mig = {0};
    rpc_server_t *l1, *l2;

    tern_uuid_generate(failed);
    l1 = listen_to(failed);
    test_migration_begin(db, context, "ev2", failed, HOST, &inst);
    test_compute_call(compute, context, "live_migration_failed",
                      json_pack("{s:s, s:s, s:s}", "migration", failed, "status", "failed",
                                "error_message", "no space left on the destination"));
    expect_event(0, failed, "failed");
    CK_OK(db_instance_get(db, inst.uuid, &after));
    ck_assert_ptr_null(after.task_state); /* told after the instance was freed */
    rpc_server_free(l1);

    /* owned by a conductor that never ran: the running conductor's heartbeat sweep ends it */
    tern_uuid_generate(orphan);
    l2 = listen_to(orphan);
    test_migration_begin(db, context, "ev3", orphan, "gone-conductor", &inst2);
    expect_event(1, orphan, "error");
    CK_OK(db_migration_get(db, orphan, &mig));
    ck_assert_str_eq(db_migration_status_name(mig.status), "error");
    rpc_server_free(l2);
    db_migration_clear(&mig);
    db_instance_clear(&after);
    db_instance_clear(&inst2);
    db_instance_clear(&inst);
}
END_TEST

START_TEST(test_events_nobody_listening_is_no_warning)
{
    char uuid[37];
    TERN_AUTOFREE char *log_path = tern_asprintf("%s/conductor.log", work_dir);
    TERN_AUTOFREE char *log = NULL;
    db_instance_t inst = {0};

    tern_uuid_generate(uuid);
    test_migration_begin(db, context, "ev4", uuid, HOST, &inst);
    update(uuid, "preparing", NULL); /* succeeds: nobody listens, and that is fine */
    update(uuid, "running", NULL);
    log = test_read_file(log_path);
    ck_assert_msg(strstr(log, "ready"), "not the conductor's log: %s", log_path);
    ck_assert_msg(strstr(log, "could not tell the listeners") == NULL,
                  "an event for nobody was a warning:\n%s", log);
    db_instance_clear(&inst);
}
END_TEST

TCase *
test_cli_events_case(void)
{
    TCase *tc = tcase_create("events");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_events_each_status_change_told);
    tcase_add_test(tc, test_events_failure_and_sweep_told);
    tcase_add_test(tc, test_events_nobody_listening_is_no_warning);
    return tc;
}
