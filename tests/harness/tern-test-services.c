/*
 * tests/harness/tern-test-services.c: start, stop and inspect the harness's services from the
 * shell (tools/test once per run, the testbed with --listen 198.18.0.1).
 *
 *   tern-test-services start DIR [--listen ADDR [--tls-only]]
 *                                                  start both services; print the time to ready
 *                                                  (--tls-only: no plain AMQP on ADDR)
 *   tern-test-services stop DIR                    stop them; no process of theirs is left
 *   tern-test-services status DIR                  exit 0 when both answer, 1 otherwise
 *   tern-test-services env DIR                     print DIR/services.env
 *   tern-test-services add-user DIR USER PASSWORD  add (or reset) a RabbitMQ user with full
 *                                                  permissions on "/" (identities for the testbed)
 *   tern-test-services set-permissions DIR USER CONFIGURE WRITE READ
 *                                                  narrow a RabbitMQ user's permissions on "/" to
 *                                                  the regular expressions given (as rabbitmqctl)
 *   tern-test-services restart DIR rabbitmq|postgres  stop one service and start it again, its
 *                                                  data kept (clients see their connections go)
 *
 * Exit status: 0 on success, 1 on failure (with a message naming the service and its log file),
 * 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/harness/harness.h"

static int
usage(void)
{
    fprintf(stderr, "usage: tern-test-services start DIR [--listen ADDR [--tls-only]]\n"
                    "       tern-test-services stop DIR\n"
                    "       tern-test-services status DIR\n"
                    "       tern-test-services env DIR\n"
                    "       tern-test-services add-user DIR USER PASSWORD\n"
                    "       tern-test-services set-permissions DIR USER CONFIGURE WRITE READ\n"
                    "       tern-test-services restart DIR rabbitmq|postgres\n");
    return 2;
}

static int
fail(const char *what)
{
    fprintf(stderr, "tern-test-services: %s: %s\n", what, tern_error_message());
    return 1;
}

static int
cmd_start(const char *dir, const char *listen, bool tls_only)
{
    int64_t t0 = tern_now_monotonic_ms();
    harness_services_t *svc = NULL;

    if (harness_services_start_full(dir, listen, tls_only, &svc) < 0)
        return fail("could not start the test services");
    printf("PostgreSQL on 127.0.0.1:%d and RabbitMQ node %s on 127.0.0.1:%d (TLS %d)%s%s ready "
           "in %.1f s\n",
           svc->postgres_port, svc->rabbitmq_node, svc->rabbitmq_port, svc->rabbitmq_tls_port,
           listen ? ", also on " : "", listen ? listen : "",
           (double)(tern_now_monotonic_ms() - t0) / 1000.0);
    printf("environment: %s/services.env\n", svc->dir);
    harness_services_free(svc);
    return 0;
}

static int
cmd_stop(const char *dir)
{
    int n;

    if (harness_services_stop(dir) < 0)
        return fail("could not stop the test services");
    n = harness_services_processes(dir, NULL);
    if (n != 0) {
        if (n > 0)
            tern_error_set(TERN_ERR_INTERNAL, "%d processes are still alive", n);
        return fail("could not stop the test services");
    }
    return 0;
}

static int
cmd_restart(const char *dir, const char *service)
{
    harness_services_t *svc = NULL;
    int rc;

    if (!tern_streq(service, "rabbitmq") && !tern_streq(service, "postgres")) {
        fprintf(stderr, "tern-test-services: unknown service \"%s\" (rabbitmq or postgres)\n",
                service);
        return 2;
    }
    if (harness_services_attach(dir, &svc) < 0)
        return fail("could not find the test services");
    rc = tern_streq(service, "rabbitmq") ? harness_rabbitmq_stop(svc)
                                         : harness_postgres_restart(svc);
    if (rc == 0 && tern_streq(service, "rabbitmq"))
        rc = harness_rabbitmq_start(svc);
    harness_services_free(svc);
    return rc < 0 ? fail(tern_streq(service, "rabbitmq") ? "could not restart RabbitMQ"
                                                         : "could not restart PostgreSQL")
                  : 0;
}

static int
cmd_status(const char *dir)
{
    harness_services_t *svc = NULL;
    bool pg, mq;
    int n;

    if (harness_services_attach(dir, &svc) < 0) {
        n = harness_services_processes(dir, NULL);
        printf("not running (%d processes left)\n", n < 0 ? 0 : n);
        tern_error_reset();
        return 1;
    }
    pg = harness_postgres_running(svc);
    mq = harness_rabbitmq_running(svc);
    n = harness_services_processes(dir, NULL);
    printf("postgres: %s (127.0.0.1:%d, log %s/postgres/postgres.log)\n", pg ? "running" : "DOWN",
           svc->postgres_port, svc->dir);
    printf("rabbitmq: %s (node %s, 127.0.0.1:%d, log %s/rabbitmq/server.log)\n",
           mq ? "running" : "DOWN", svc->rabbitmq_node, svc->rabbitmq_port, svc->dir);
    printf("processes: %d\n", n < 0 ? 0 : n);
    harness_services_free(svc);
    return pg && mq ? 0 : 1;
}

static int
cmd_env(const char *dir)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/services.env", dir);
    TERN_AUTOFREE char *data = NULL;
    size_t len;

    if (tern_file_read_all(path, 1024 * 1024, &data, &len) < 0)
        return fail("no test services running");
    fwrite(data, 1, len, stdout);
    return 0;
}

static int
cmd_add_user(const char *dir, const char *user, const char *password)
{
    harness_services_t *svc = NULL;
    int rc;

    if (harness_services_attach(dir, &svc) < 0)
        return fail("no test services running");
    rc = harness_rabbitmq_add_user(svc, user, password, false);
    harness_services_free(svc);
    return rc < 0 ? fail("could not add the RabbitMQ user") : 0;
}

static int
cmd_set_permissions(const char *dir, char **argv)
{
    harness_services_t *svc = NULL;
    int rc;

    if (harness_services_attach(dir, &svc) < 0)
        return fail("no test services running");
    rc = harness_rabbitmq_set_permissions(svc, argv[0], argv[1], argv[2], argv[3]);
    harness_services_free(svc);
    return rc < 0 ? fail("could not set the permissions") : 0;
}

int
main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    if (strcmp(argv[1], "add-user") == 0)
        return argc == 5 ? cmd_add_user(argv[2], argv[3], argv[4]) : usage();
    if (strcmp(argv[1], "set-permissions") == 0)
        return argc == 7 ? cmd_set_permissions(argv[2], argv + 3) : usage();
    if (strcmp(argv[1], "start") == 0) {
        const char *listen = NULL;
        bool tls_only = argc == 6 && strcmp(argv[5], "--tls-only") == 0;

        if ((argc == 5 || tls_only) && strcmp(argv[3], "--listen") == 0)
            listen = argv[4];
        else if (argc != 3)
            return usage();
        return cmd_start(argv[2], listen, tls_only);
    }
    if (strcmp(argv[1], "restart") == 0)
        return argc == 4 ? cmd_restart(argv[2], argv[3]) : usage();
    if (argc != 3)
        return usage();
    if (strcmp(argv[1], "stop") == 0)
        return cmd_stop(argv[2]);
    if (strcmp(argv[1], "status") == 0)
        return cmd_status(argv[2]);
    if (strcmp(argv[1], "env") == 0)
        return cmd_env(argv[2]);
    return usage();
}
