/*
 * tests/api/test-api.h: what the files of the api suite share.
 *   test-api.c          runner; cases version and views (unit: no service)
 *   test-api-service.c  the set-up (private PostgreSQL and RabbitMQ, tern-conductor, a private
 *                       Keystone, tern-api, all on 127.0.0.1), HTTP helpers
 *   test-api-cases.c    cases http, auth, servers
 *   test-api-clients.c  case clients: the unmodified openstack and nova clients against it
 */
#ifndef TERN_TESTS_API_H
#define TERN_TESTS_API_H

#include <check.h>
#include <jansson.h>

#include "tests/support/tern-check.h"

/* What the set-up made (in the parent, before the cases fork). */
extern int test_api_port;   /* tern-api's */
extern int keystone_port;   /* Keystone's */
extern int rabbitmq_port;   /* the private broker's (users tern-api, demo: no role) */
extern char api_work_dir[]; /* confs and logs */
extern char vm_a_uuid[37];  /* "api-vm-a", on host api-h1, no task */
extern char vm_b_uuid[37];  /* "api-vm-b", on host api-h2, migrating */
extern char alice_id[64];   /* Keystone id of alice (member of demo, no admin role) */

/* An HTTP answer. */
typedef struct http_answer {
    long status;
    char *body;    /* NUL-terminated ("" when empty) */
    char *headers; /* every response header line, as received */
} http_answer_t;

/* GET (or method, with body when not NULL) http://127.0.0.1:<port><path> with the extra header
 * lines (NULL-terminated, "Name: value"). Fails the test when no answer comes. */
http_answer_t http_request(int port, const char *method, const char *path, const char *body,
                           const char *const *headers);
void http_answer_clear(http_answer_t *a);
/* The value of response header name (new string), or NULL. */
char *http_header(const http_answer_t *a, const char *name);
/* The body as JSON (new reference); fails the test when it is not JSON. */
json_t *http_json(const http_answer_t *a);

/* A project-scoped Keystone token of user (password "<user>-pw") in project (new string). */
char *keystone_token(const char *user, const char *project);

/* Services, Keystone, conductor and tern-api up (exits, saying why, when any fails). */
int test_api_service_prepare(void);
void test_api_service_release(void);

TCase *test_api_version_case(void);
TCase *test_api_views_case(void);
TCase *test_api_http_case(void);
TCase *test_api_auth_case(void);
TCase *test_api_servers_case(void);
TCase *test_api_clients_case(void);

#endif /* TERN_TESTS_API_H */
