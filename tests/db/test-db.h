/*
 * tests/db/test-db.h: what the files of the db/ suite share: the suite's database, helpers
 * that open connections and make rows, assertion macros, and one TCase constructor per file.
 *
 * Every test runs against the real PostgreSQL of the harness: the suite syncs one database of
 * its own at start-up (in main(), before Check forks) and tests make rows with fresh uuids and
 * host names, so they never see each other's rows.
 */
#ifndef TERN_TESTS_DB_TEST_DB_H
#define TERN_TESTS_DB_TEST_DB_H

#include <check.h>

#include "common/error.h"
#include "common/util.h"
#include "db/db.h"
#include "tests/harness/harness.h"
#include "tests/support/tern-check.h"

extern const harness_services_t *test_svc; /* the run's services */
extern char *test_db_url;                  /* the suite's synced database */

/* A connection to the suite's database (asserts). */
db_conn_t *test_open(void);

/* A unique name with a prefix, e.g. "host-3f2a9c10" (static per call site is not needed: new
 * string, caller frees). */
char *test_name(const char *prefix);

/* Create a live instance (256 MiB, 1 vCPU, 1 GB) on host/node (may be NULL); store its uuid. */
void test_make_instance(db_conn_t *conn, const char *host, const char *node,
                        char ret_uuid[DB_UUID_LEN]);
/* The same with memory_mb of memory: what a node's "used" figure counts. */
void test_make_instance_of(db_conn_t *conn, const char *host, const char *node, int64_t memory_mb,
                           char ret_uuid[DB_UUID_LEN]);

/* Report a compute node (memory_mb total, reserved; ratio 1.0; 8 vcpus, 100 GB). What it uses
 * is what its instances use (test_make_instance_of). */
void test_make_node(db_conn_t *conn, const char *host, const char *node, int64_t memory_mb,
                    int64_t reserved_mb);

/* Create a migration of instance from src to dest (status queued). */
void test_make_migration(db_conn_t *conn, const char *instance_uuid, const char *src,
                         const char *dest, const char *dest_node, char ret_uuid[DB_UUID_LEN]);

TCase *test_db_case_instances(void);  /* test-db-instances.c */
TCase *test_db_case_migrations(void); /* test-db-migrations.c */
TCase *test_db_case_outcomes(void);   /* test-db-outcomes.c */
TCase *test_db_case_services(void);   /* test-db-resources.c */
TCase *test_db_case_claims(void);     /* test-db-resources.c */
TCase *test_db_case_devices(void);    /* test-db-devices.c */
TCase *test_db_case_actions(void);    /* test-db-actions.c */
TCase *test_db_case_drains(void);     /* test-db-drains.c */
TCase *test_db_case_tls(void);        /* test-db-tls.c */
/* test-manage.c: tern-manage run as a program */
int test_manage_prepare(void);
void test_manage_release(void);
TCase *test_db_case_manage_sync(void);
TCase *test_db_case_manage_errors(void);

#endif /* TERN_TESTS_DB_TEST_DB_H */
