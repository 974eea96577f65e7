/*
 * tests/cli/test-cli-conductor.h: what the files of the cli-conductor suite share - a real
 * tern-conductor on private services, started once by the runner (the parent process).
 *   test-cli-conductor.c  runner and set-up; calls, errors: the tern program's commands
 *   test-cli-events.c     events: the conductor's migration_changed casts to a listener
 *   test-cli-wait.c       wait: tern migration-show --wait told of a migration's changes
 *   test-cli-actions.c    actions: server-event-list/-show, the steps of a server's actions
 *   test-cli-identities.c identities: a compute identity acts only for its own host
 *
 * The cases run in that order in one database: calls expects it empty, so the later cases
 * (which create instances and migrations) come after it.
 */
#ifndef TERN_TESTS_CLI_CONDUCTOR_H
#define TERN_TESTS_CLI_CONDUCTOR_H

#include <check.h>
#include <jansson.h>
#include <sys/types.h>

#include "db/db.h"
#include "rpc/rpc.h"
#include "tests/harness/harness.h"
#include "tests/support/tern-check.h"

#define HOST "cli-test-host" /* the conductor's host */

extern harness_services_t *svc; /* the private services (owned by the runner) */
extern char work_dir[];         /* the suite's directory: tern.conf, conductor.log */
extern char *db_url;            /* the conductor's database */
extern char *limited_url;       /* transport_url of an admin that may declare no queue but its reply
                           * queue (so no listener's) */

/* What a run of the tern program left. */
typedef struct run {
    int status;
    char *out;
    char *err;
} run_t;

/* Run tern --config-file CONF followed by the NULL-terminated arguments. */
run_t tern(const char *first, ...) __attribute__((sentinel));
void run_clear(run_t *r);
/* Start tern as tern() would run it, its stdout and stderr into the files out_path and
 * err_path; the caller waits for the pid (killed if the caller dies first). */
pid_t tern_spawn(const char *out_path, const char *err_path, const char *first, ...)
    __attribute__((sentinel));

/* The first MiB of the file at path (new string; "" when it cannot be read). */
char *test_read_file(const char *path);
/* A connection to the conductor's database (new; db_close). Fails the test when it cannot. */
db_conn_t *test_db(void);
/* An RPC configuration for the user "tern-compute.ev-src" (policy role service): the identity of
 * the source compute of the fixtures' migrations, for the service API. Strings static. */
void test_compute_rpc_config(rpc_config_t *ret);
/* The same for compute identity user ("tern-compute.ev-dst", "tern-compute.other" exist too);
 * ret->transport_url is new (free it). */
void test_compute_rpc_config_as(const char *user, rpc_config_t *ret);
/* What the compute-side cases (wait, events, actions) set up and take down around each test: a
 * database connection, an RPC client as "tern-compute.ev-src" and a request context (all new). */
void test_compute_fixture_open(db_conn_t **ret_db, rpc_client_t **ret_client, json_t **ret_context);
void test_compute_fixture_close(db_conn_t *db, rpc_client_t *client, json_t *context);
/* Call a service-API method as a compute (args stolen); fails the test on error. */
void test_compute_call(rpc_client_t *client, json_t *context, const char *method, json_t *args);
/* A new instance name, active and running on host (new row in *ret). */
void test_instance_create(db_conn_t *db, const char *name, const char *host, db_instance_t *ret);
/* Migration uuid of a new instance name from host "ev-src" to "ev-dst", queued, as live_migrate
 * makes it (db_migration_begin: task_state, action; owned by conductor conductor_host, with the
 * request id of context). The instance in *ret_inst. */
void test_migration_begin(db_conn_t *db, json_t *context, const char *name, const char *uuid,
                          const char *conductor_host, db_instance_t *ret_inst);

/* Services, a database synced by tern-manage, tern-conductor: in the runner's parent process,
 * before the cases below run (it exits, saying why, when any of it fails); release stops it all. */
int test_cli_conductor_prepare(void);
void test_cli_conductor_release(void);

TCase *test_cli_calls_case(void);         /* test-cli-conductor.c */
TCase *test_cli_remote_errors_case(void); /* test-cli-conductor.c */
TCase *test_cli_events_case(void);
TCase *test_cli_wait_case(void);
TCase *test_cli_actions_case(void);
TCase *test_cli_identities_case(void);

#endif /* TERN_TESTS_CLI_CONDUCTOR_H */
