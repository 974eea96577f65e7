/*
 * tests/db/test-manage.c: tern-manage run as a program against the harness's PostgreSQL.
 *
 * Cases of the db suite (tests/db/test-db):
 * manage_sync:   db sync on an empty database, twice in a row, on an already-synced one, refused on a
 *         newer one; db version before and after
 * manage_errors: usage errors (exit 2), missing or incomplete configuration, unreachable database
 *         (exit 1, one clear line, no password)
 */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/command.h"
#include "common/error.h"
#include "common/util.h"
#include "tests/db/test-db.h"
#include "tests/harness/harness.h"

#define MANAGE TERN_BUILDDIR "/tools/manage/tern-manage"

static const harness_services_t *svc; /* set by test_manage_prepare */
static char conf_dir[] = "/tmp/tern-manage-test.XXXXXX";

typedef struct run {
    int status; /* exit status */
    char *out;
    char *err;
} run_t;

static void
run_clear(run_t *r)
{
    free(r->out);
    free(r->err);
}

/* Run tern-manage with argv (after the program name; NULL-terminated, at most 8). */
static run_t
manage(const char *a0, const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *argv[] = {MANAGE, a0, a1, a2, a3, a4, NULL};
    tern_command_result_t res = {0};
    run_t r;
    int rc = tern_command_run(argv, 30000, &res);

    if (rc < 0 && !res.out && !res.err)
        ck_abort_msg("could not run tern-manage: %s", tern_error_message());
    r.status = res.exit_status;
    r.out = res.out ? res.out : tern_strdup("");
    r.err = res.err ? res.err : tern_strdup("");
    res.out = res.err = NULL;
    tern_command_result_clear(&res);
    return r;
}

/* Write a configuration file pointing at url (NULL: no [database] section); new path. */
static char *
write_conf(const char *name, const char *url)
{
    char *path = tern_asprintf("%s/%s", conf_dir, name);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fprintf(f, "[DEFAULT]\ndebug = false\n");
    if (url)
        fprintf(f, "\n[database]\nconnection = %s\n", url);
    fclose(f);
    return path;
}

/* A config file for a fresh database called name. */
static char *
fresh_db_conf(const char *name, char **ret_url)
{
    char *url = harness_postgres_create_database(svc, name);
    TERN_AUTOFREE char *file = tern_asprintf("%s.conf", name);
    char *path;

    ck_assert_msg(url != NULL, "%s", tern_error_message());
    path = write_conf(file, url);
    if (ret_url)
        *ret_url = url;
    else
        free(url);
    return path;
}

START_TEST(test_sync_empty_twice_then_version)
{
    TERN_AUTOFREE char *conf = fresh_db_conf("manage_twice", NULL);
    TERN_AUTOFREE char *want = NULL;
    run_t r;
    int latest;

    r = manage("--config-file", conf, "db", "version", NULL);
    ck_assert_msg(r.status == 0, "db version failed: %s", r.err);
    ck_assert_str_eq(r.out, "0\n");
    run_clear(&r);

    r = manage("--config-file", conf, "db", "sync", NULL);
    ck_assert_msg(r.status == 0, "db sync failed: %s", r.err);
    ck_assert_msg(sscanf(r.out, "database schema synced from version 0 to %d", &latest) == 1,
                  "unexpected output: %s", r.out);
    ck_assert_int_ge(latest, 1);
    run_clear(&r);

    r = manage("--config-file", conf, "db", "sync", NULL);
    ck_assert_msg(r.status == 0, "second db sync failed: %s", r.err);
    want = tern_asprintf("database schema already at version %d\n", latest);
    ck_assert_str_eq(r.out, want);
    ck_assert_str_eq(r.err, "");
    run_clear(&r);

    r = manage("--config-file", conf, "db", "version", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_int_eq(atoi(r.out), latest);
    run_clear(&r);
}
END_TEST

START_TEST(test_sync_already_synced_by_another_run)
{
    TERN_AUTOFREE char *url = NULL;
    TERN_AUTOFREE char *conf = fresh_db_conf("manage_synced", &url);
    TERN_AUTOFREE char *conf2 = write_conf("other.conf", url);
    run_t r;

    r = manage("--config-file", conf, "db", "sync", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    run_clear(&r);
    /* Another operator (another config file naming the same database) syncs again. */
    r = manage("--config-file", conf2, "db", "sync", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(strstr(r.out, "already at version"), "%s", r.out);
    run_clear(&r);
}
END_TEST

START_TEST(test_sync_refused_on_newer_database)
{
    TERN_AUTOFREE char *url = NULL;
    TERN_AUTOFREE char *conf = fresh_db_conf("manage_newer", &url);
    TERN_AUTOFREE char *future = NULL;
    const char *params[1];
    PGconn *pg;
    PGresult *res;
    run_t r;
    int latest;

    r = manage("--config-file", conf, "db", "sync", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    run_clear(&r);
    r = manage("--config-file", conf, "db", "version", NULL);
    latest = atoi(r.out);
    run_clear(&r);

    future = tern_asprintf("%d", latest + 1);
    params[0] = future;
    pg = PQconnectdb(url);
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    res = PQexecParams(pg, "INSERT INTO tern_schema_version (version, name) VALUES ($1, 'next')", 1,
                       NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(pg);

    r = manage("--config-file", conf, "db", "sync", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "");
    ck_assert_msg(strncmp(r.err, "tern-manage: cannot sync database schema", 40) == 0, "%s", r.err);
    ck_assert_msg(strstr(r.err, "newer than this tern"), "%s", r.err);
    run_clear(&r);
    r = manage("--config-file", conf, "db", "version", NULL);
    ck_assert_int_eq(atoi(r.out), latest + 1);
    run_clear(&r);
}
END_TEST

START_TEST(test_config_dir_later_file_wins)
{
    TERN_AUTOFREE char *dir = tern_asprintf("%s/conf.d", conf_dir);
    TERN_AUTOFREE char *url = harness_postgres_create_database(svc, "manage_confdir");
    TERN_AUTOFREE char *bad = tern_asprintf("%s/10-bad.conf", dir);
    TERN_AUTOFREE char *good = tern_asprintf("%s/20-good.conf", dir);
    FILE *f;
    run_t r;

    ck_assert_int_eq(tern_mkdir_p(dir, 0755), 0);
    f = fopen(bad, "w");
    fprintf(f, "[database]\nconnection = postgresql://tern:x@127.0.0.1:1/none\n");
    fclose(f);
    f = fopen(good, "w");
    fprintf(f, "[database]\nconnection = %s\n", url);
    fclose(f);
    r = manage("--config-dir", dir, "db", "sync", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    run_clear(&r);
}
END_TEST

START_TEST(test_usage_errors)
{
    run_t r;

    r = manage(NULL, NULL, NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "no command given"), "%s", r.err);
    run_clear(&r);
    r = manage("db", "migrate", NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "unknown command \"db migrate\""), "%s", r.err);
    run_clear(&r);
    r = manage("--bogus", "db", "sync", NULL, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--bogus"), "%s", r.err);
    run_clear(&r);
    r = manage("--help", NULL, NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "db sync"), "%s", r.out);
    run_clear(&r);
}
END_TEST

START_TEST(test_config_errors)
{
    TERN_AUTOFREE char *missing = tern_asprintf("%s/none.conf", conf_dir);
    TERN_AUTOFREE char *nodb = write_conf("nodb.conf", NULL);
    TERN_AUTOFREE char *down =
        write_conf("down.conf", "postgresql://tern:hunter2-secret@127.0.0.1:1/tern");
    run_t r;

    r = manage("--config-file", missing, "db", "sync", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strncmp(r.err, "tern-manage: ", 13) == 0, "%s", r.err);
    ck_assert_msg(strstr(r.err, missing), "%s", r.err);
    run_clear(&r);

    r = manage("--config-file", nodb, "db", "sync", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "[database] is not set"), "%s", r.err);
    run_clear(&r);

    r = manage("--config-file", down, "db", "version", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "tern-manage: could not connect to database"), "%s", r.err);
    ck_assert_msg(!strstr(r.err, "hunter2-secret"), "password leaked: %s", r.err);
    ck_assert_msg(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
    run_clear(&r);
}
END_TEST

/* rabbitmq-setup: each host's compute its own user and permissions bound to its queues, the
 * configuration's control exchange in them; bad hosts or exchanges refused, nothing printed.
 * (That RabbitMQ enforces them: tests/integration/run-compute-contract.) */
START_TEST(test_rabbitmq_setup)
{
    TERN_AUTOFREE char *conf = write_conf("rmq.conf", NULL);
    TERN_AUTOFREE char *other = tern_asprintf("%s/exchange.conf", conf_dir);
    TERN_AUTOFREE char *bad = tern_asprintf("%s/bad-exchange.conf", conf_dir);
    FILE *f;
    run_t r;

    r = manage("--config-file", conf, "rabbitmq-setup", "host1", "h-2.x");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "rabbitmqctl add_user 'tern-compute.host1'\n"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "rabbitmqctl set_permissions -p / 'tern-compute.h-2.x' "
                                "'^(tern|compute_fanout|compute|compute\\.h-2\\.x|"
                                "compute_fanout_[0-9a-f]{32}|reply_[0-9a-f]{32})$' "),
                  "%s", r.out);
    ck_assert_msg(strstr(r.out, "|reply_[0-9a-f]{32}|amq\\.default)$'"), "%s", r.out);
    ck_assert_msg(!strstr(r.out, "compute\\.host1|compute\\.h-2"), "hosts mixed: %s", r.out);
    run_clear(&r);

    ck_assert_ptr_nonnull(f = fopen(other, "w"));
    fprintf(f, "[DEFAULT]\ncontrol_exchange = nova.x\n");
    fclose(f);
    r = manage("--config-file", other, "rabbitmq-setup", "host1", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "'^(nova\\.x|compute_fanout|"), "%s", r.out);
    run_clear(&r);

    ck_assert_ptr_nonnull(f = fopen(bad, "w"));
    fprintf(f, "[DEFAULT]\ncontrol_exchange = it's\n");
    fclose(f);
    r = manage("--config-file", bad, "rabbitmq-setup", "host1", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "\"control_exchange\""), "%s", r.err);
    ck_assert_str_eq(r.out, "");
    run_clear(&r);

    r = manage("--config-file", conf, "rabbitmq-setup", "host1", "a/b");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "invalid host name \"a/b\""), "%s", r.err);
    ck_assert_str_eq(r.out, "");
    run_clear(&r);
    r = manage("--config-file", conf, "rabbitmq-setup", NULL, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "needs at least one HOST"), "%s", r.err);
    run_clear(&r);
}
END_TEST

/* test_manage_prepare: tern-manage built, the services, a directory for the configurations. */
int
test_manage_prepare(void)
{
    if (access(MANAGE, X_OK) != 0)
        return tern_error_set(TERN_ERR_NOT_FOUND, "%s is not built (make tools/manage/tern-manage)",
                              MANAGE);
    svc = harness_services_get();
    if (!mkdtemp(conf_dir))
        return tern_error_set_errno(errno, "could not create \"%s\"", conf_dir);
    return 0;
}

void
test_manage_release(void)
{
    if (strstr(conf_dir, "XXXXXX") == NULL)
        tern_remove_tree(conf_dir);
}

TCase *
test_db_case_manage_sync(void)
{
    TCase *tc = tcase_create("manage_sync");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sync_empty_twice_then_version);
    tcase_add_test(tc, test_sync_already_synced_by_another_run);
    tcase_add_test(tc, test_sync_refused_on_newer_database);
    tcase_add_test(tc, test_config_dir_later_file_wins);
    return tc;
}

TCase *
test_db_case_manage_errors(void)
{
    TCase *tc = tcase_create("manage_errors");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_usage_errors);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_rabbitmq_setup);
    return tc;
}
