/*
 * tests/harness/harness.h: real PostgreSQL and RabbitMQ for tern's service and integration tests.
 *
 * The harness starts a private PostgreSQL cluster (initdb into a directory of its own, its own
 * port on 127.0.0.1 and its own unix socket directory) and a private RabbitMQ node (its own node
 * name, AMQP port, Erlang distribution and epmd ports, data directories). It never touches a
 * system-wide instance.
 *
 * Once per test run: `tools/test` runs `tern-test-services start DIR` before the suites and
 * `tern-test-services stop DIR` after them, and exports TERN_TEST_SERVICES_DIR=DIR. A test program
 * calls harness_services_get(): with TERN_TEST_SERVICES_DIR set it attaches to those services;
 * without it (a suite run alone, e.g. `make check TESTS=...`) it starts its own in a temporary
 * directory and stops them when the process exits.
 *
 * Layout of DIR: postgres/ (data, socket, log), rabbitmq/ (mnesia, logs, config, home, tls), and
 * services.env with the lines TERN_TEST_POSTGRES_URL=..., TERN_TEST_RABBITMQ_URL=... that shell
 * scripts may source (see README.md for every key).
 *
 * TLS: at start the harness makes a private CA, a server certificate (localhost, 127.0.0.1 and the
 * extra address) and a client certificate (CN "tern") in DIR/rabbitmq/tls; RabbitMQ also listens
 * with TLS on rabbitmq_tls_port (peer verification on, client certificate optional).
 *
 * Failure to start a service is a test failure, never a skip: the functions abort the process
 * with a message naming the service and the log file to read.
 */
#ifndef TERN_TESTS_HARNESS_H
#define TERN_TESTS_HARNESS_H

#include <stdbool.h>

typedef struct harness_services {
    char *dir;                /* state directory (owned) */
    char *postgres_url;       /* postgresql://tern:PW@127.0.0.1:PORT/tern (owned) */
    char *postgres_admin_url; /* same server, superuser, database "postgres" (owned) */
    char *rabbitmq_url;       /* rabbit://tern:PASSWORD@127.0.0.1:PORT/ (owned) */
    char *rabbitmq_admin_url; /* same node, user with administrator tag (owned) */
    char *rabbitmq_node;      /* Erlang node name, for rabbitmqctl -n (owned) */
    char *rabbitmq_tls_url;   /* amqps://tern:PASSWORD@localhost:TLSPORT/ (owned) */
    char *tls_ca_file;        /* PEM CA that signed the broker's and the client's certs (owned) */
    char *tls_client_cert;    /* PEM client certificate, CN "tern" (owned) */
    char *tls_client_key;     /* PEM client private key (owned) */
    char *extra_listen;       /* the extra address given at start, or NULL (owned) */
    int extra_tls_only;       /* 1: RabbitMQ takes only TLS on extra_listen (no plain AMQP) */
    char *postgres_password;  /* password of role "tern" (owned) */
    char *rabbitmq_password;  /* password of user "tern" (owned) */
    int postgres_port;
    int rabbitmq_port;
    int rabbitmq_tls_port;
    int rabbitmq_dist_port; /* Erlang distribution port of the node */
    int epmd_port;          /* the node's private epmd */
    int rabbitmqctl_port;   /* first of 11 distribution ports for rabbitmqctl */
    bool owned;             /* true when started by harness_services_start_private */
    int starter_pid; /* private services: the process that started them (only it stops them) */
    int watchdog_fd; /* private services: pipe to their watchdog process (internal), else -1 */
} harness_services_t;

/* The services for this test run, started on first use (see above). Borrowed; never NULL. */
const harness_services_t *harness_services_get(void);

/* Start both services in dir (created if missing; services left running there, e.g. after a
 * crash, are stopped first and their data removed). extra_listen: NULL, or one more address
 * (e.g. "198.18.0.1") RabbitMQ and PostgreSQL also listen on, for the testbed's hosts.
 * Returns 0, or -1 with a tern error naming the service and its log file. */
int harness_services_start(const char *dir, const char *extra_listen, harness_services_t **ret);
/* The same, and with tls_only RabbitMQ listens on extra_listen for TLS only (the testbed's TLS
 * mode: a plain AMQP connection from a host is refused). PostgreSQL takes only TLS there always
 * (pg_hba hostssl: libpq's default sslmode=prefer uses it). */
int harness_services_start_full(const char *dir, const char *extra_listen, bool tls_only,
                                harness_services_t **ret);

/* Start both services in a new directory /tmp/tern-harness.XXXXXX, with a watchdog process that
 * stops them and removes the directory if this process dies without calling
 * harness_services_destroy() (killed, crashed, timed out). For suites that restart services and
 * must not disturb the shared ones: start them in an unchecked fixture (the parent process). */
int harness_services_start_private(harness_services_t **ret);

/* Private services: stop them, remove their directory, free svc; does nothing but free in any
 * other process than the starter (e.g. Check's forked tests). Other services: free svc only. */
int harness_services_destroy(harness_services_t *svc);

/* Load services already started in dir (reads services.env). */
int harness_services_attach(const char *dir, harness_services_t **ret);

/* Stop both services started in dir and wait until their processes are gone. Idempotent. */
int harness_services_stop(const char *dir);

/* Stop the services of dir (as harness_services_stop) and remove dir and everything in it. */
int harness_services_remove(const char *dir);

/* Stop and start the same PostgreSQL server (same port, same data): for restart tests. The
 * stop is immediate (connections are cut); returns when the server accepts connections again. */
int harness_postgres_restart(const harness_services_t *svc);
/* The two halves: stop (connections cut, the server stays down) and start again (returns when
 * it accepts connections). */
int harness_postgres_stop(const harness_services_t *svc);
int harness_postgres_start(const harness_services_t *svc);

/* Stop the RabbitMQ node (connections dropped) and leave it down / start it again. Queues
 * declared durable survive. */
int harness_rabbitmq_stop(const harness_services_t *svc);
int harness_rabbitmq_start(const harness_services_t *svc);

/* The queues whose name starts with prefix: how many, and their messages ready and delivered
 * but not acknowledged, summed (rabbitmqctl list_queues; a few seconds). */
int harness_rabbitmq_queue_counts(const harness_services_t *svc, const char *prefix,
                                  int *ret_queues, long *ret_ready, long *ret_unacked);

/* Create a fresh empty database on the private server and return its URL (caller frees):
 * each suite gets its own database so suites never see each other's rows. */
char *harness_postgres_create_database(const harness_services_t *svc, const char *name);

/* Create RabbitMQ user `user` (or reset its password when it exists) with full permissions on
 * vhost "/"; administrator adds the administrator tag. user and password: letters, digits and
 * "._-" only. Takes a few seconds (rabbitmqctl). */
int harness_rabbitmq_add_user(const harness_services_t *svc, const char *user, const char *password,
                              bool administrator);

/* Set the permissions of user on vhost "/" to the regular expressions configure, write and read
 * (rabbitmqctl set_permissions), e.g. to let a user call but not declare some queues. */
int harness_rabbitmq_set_permissions(const harness_services_t *svc, const char *user,
                                     const char *configure, const char *write, const char *read);

/* True when the process of that service answers (PostgreSQL: accepts connections; RabbitMQ:
 * accepts an AMQP login as tern). Quick: one connection attempt. */
bool harness_postgres_running(const harness_services_t *svc);
bool harness_rabbitmq_running(const harness_services_t *svc);

/* Pids of the processes that belong to the services of dir (any postgres, beam.smp, epmd,
 * erl_child_setup, inet_gethost... started by the harness there), alive now. Returns their
 * number (0: none) and stores a new array in *ret_pids when non-NULL (caller frees). */
int harness_services_processes(const char *dir, int **ret_pids);

void harness_services_free(harness_services_t *svc);

#endif /* TERN_TESTS_HARNESS_H */
