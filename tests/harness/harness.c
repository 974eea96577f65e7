/*
 * tests/harness/harness.c: start, attach to and stop the harness's services (see harness.h).
 *
 * This file owns services.env (written last at start, so its presence means "ready"; read back
 * by attach through one table of keys) and the process-wide services of harness_services_get():
 * attached from TERN_TEST_SERVICES_DIR, or started privately in a mkdtemp directory under /tmp.
 * Private services are stopped at exit by the process that started them only (Check's forked
 * test processes inherit the atexit handler but are not the starter), and by a watchdog process
 * when the starter dies without running atexit (killed by a signal, a timeout): the watchdog
 * waits for the end of a pipe whose writing ends live in the starter and its forks, then stops
 * the services and removes the directory.
 */
#include "tests/harness/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/harness/harness-private.h"

#define SERVICES_ENV "services.env"

typedef enum { FIELD_STRING, FIELD_INT, FIELD_FLAG } field_type_t; /* INT: a port; FLAG: 0/1 */

/* One line of services.env per field: the table drives both writing and reading. */
static const struct {
    const char *key;   /* variable name in services.env */
    field_type_t type; /* char * or int field */
    size_t offset;     /* offsetof in harness_services_t */
    bool optional;     /* may be empty (extra_listen) */
} services_fields[] = {
    {"TERN_TEST_SERVICES_DIR", FIELD_STRING, offsetof(harness_services_t, dir), false},
    {"TERN_TEST_POSTGRES_URL", FIELD_STRING, offsetof(harness_services_t, postgres_url), false},
    {"TERN_TEST_POSTGRES_ADMIN_URL", FIELD_STRING, offsetof(harness_services_t, postgres_admin_url),
     false},
    {"TERN_TEST_POSTGRES_PORT", FIELD_INT, offsetof(harness_services_t, postgres_port), false},
    {"TERN_TEST_POSTGRES_PASSWORD", FIELD_STRING, offsetof(harness_services_t, postgres_password),
     false},
    {"TERN_TEST_RABBITMQ_URL", FIELD_STRING, offsetof(harness_services_t, rabbitmq_url), false},
    {"TERN_TEST_RABBITMQ_ADMIN_URL", FIELD_STRING, offsetof(harness_services_t, rabbitmq_admin_url),
     false},
    {"TERN_TEST_RABBITMQ_TLS_URL", FIELD_STRING, offsetof(harness_services_t, rabbitmq_tls_url),
     false},
    {"TERN_TEST_RABBITMQ_PASSWORD", FIELD_STRING, offsetof(harness_services_t, rabbitmq_password),
     false},
    {"TERN_TEST_RABBITMQ_NODE", FIELD_STRING, offsetof(harness_services_t, rabbitmq_node), false},
    {"TERN_TEST_RABBITMQ_PORT", FIELD_INT, offsetof(harness_services_t, rabbitmq_port), false},
    {"TERN_TEST_RABBITMQ_TLS_PORT", FIELD_INT, offsetof(harness_services_t, rabbitmq_tls_port),
     false},
    {"TERN_TEST_RABBITMQ_DIST_PORT", FIELD_INT, offsetof(harness_services_t, rabbitmq_dist_port),
     false},
    {"TERN_TEST_RABBITMQ_EPMD_PORT", FIELD_INT, offsetof(harness_services_t, epmd_port), false},
    {"TERN_TEST_RABBITMQCTL_PORT", FIELD_INT, offsetof(harness_services_t, rabbitmqctl_port),
     false},
    {"TERN_TEST_TLS_CA_FILE", FIELD_STRING, offsetof(harness_services_t, tls_ca_file), false},
    {"TERN_TEST_TLS_CLIENT_CERT", FIELD_STRING, offsetof(harness_services_t, tls_client_cert),
     false},
    {"TERN_TEST_TLS_CLIENT_KEY", FIELD_STRING, offsetof(harness_services_t, tls_client_key), false},
    {"TERN_TEST_EXTRA_LISTEN", FIELD_STRING, offsetof(harness_services_t, extra_listen), true},
    {"TERN_TEST_EXTRA_TLS_ONLY", FIELD_FLAG, offsetof(harness_services_t, extra_tls_only), true},
};

void
harness_services_free(harness_services_t *svc)
{
    if (!svc)
        return;
    for (size_t i = 0; i < TERN_N_ELEMENTS(services_fields); i++) {
        if (services_fields[i].type == FIELD_STRING)
            free(*(char **)((char *)svc + services_fields[i].offset));
    }
    free(svc);
}

static int
services_env_write(const harness_services_t *svc)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/" SERVICES_ENV, svc->dir);
    TERN_AUTOFREE char *text = tern_strdup("");

    for (size_t i = 0; i < TERN_N_ELEMENTS(services_fields); i++) {
        const char *base = (const char *)svc + services_fields[i].offset;
        char *line;

        if (services_fields[i].type != FIELD_STRING)
            line = tern_asprintf("%s%s=%d\n", text, services_fields[i].key, *(const int *)base);
        else
            line = tern_asprintf("%s%s=%s\n", text, services_fields[i].key,
                                 *(char *const *)base ? *(char *const *)base : "");
        free(text);
        text = line;
    }
    return harness_file_write(path, text, 0600);
}

/* services_env_set: store one KEY=VALUE line into svc; unknown keys are ignored. */
static int
services_env_set(harness_services_t *svc, const char *path, const char *key, const char *value)
{
    for (size_t i = 0; i < TERN_N_ELEMENTS(services_fields); i++) {
        char *base = (char *)svc + services_fields[i].offset;
        int64_t v;

        if (strcmp(services_fields[i].key, key) != 0)
            continue;
        if (services_fields[i].type == FIELD_STRING) {
            free(*(char **)base);
            *(char **)base = *value ? tern_strdup(value) : NULL;
        } else if (services_fields[i].type == FIELD_FLAG) {
            if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
                return tern_error_set(TERN_ERR_INVALID, "invalid flag \"%s\" for %s in \"%s\"",
                                      value, key, path);
            *(int *)base = value[0] == '1';
        } else if (tern_parse_int64(value, key, &v) < 0 || v <= 0 || v > 65535) {
            return tern_error_set(TERN_ERR_INVALID, "invalid port \"%s\" for %s in \"%s\"", value,
                                  key, path);
        } else {
            *(int *)base = (int)v;
        }
    }
    return 0;
}

int
harness_services_attach(const char *dir, harness_services_t **ret)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/" SERVICES_ENV, dir);
    TERN_AUTOFREE char *data = NULL;
    harness_services_t *svc;
    char *save = NULL;
    size_t len;

    if (tern_file_read_all(path, 1024 * 1024, &data, &len) < 0)
        return tern_error_prefix("no test services running in \"%s\"", dir);
    svc = tern_calloc(1, sizeof(*svc));
    svc->watchdog_fd = -1;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');

        if (!eq || line[0] == '#')
            continue;
        *eq = '\0';
        if (services_env_set(svc, path, line, eq + 1) < 0) {
            harness_services_free(svc);
            return -1;
        }
    }
    for (size_t i = 0; i < TERN_N_ELEMENTS(services_fields); i++) {
        const char *base = (const char *)svc + services_fields[i].offset;
        bool missing = services_fields[i].type == FIELD_INT ? *(const int *)base == 0
                                                            : *(char *const *)base == NULL;

        if (missing && !services_fields[i].optional) {
            tern_error_set(TERN_ERR_INVALID, "missing %s in \"%s\"", services_fields[i].key, path);
            harness_services_free(svc);
            return -1;
        }
    }
    *ret = svc;
    return 0;
}

/* check_reachable: the postgres and rabbitmq users must be able to traverse every parent of
 * dir (dir itself is made 0755 by the caller). */
static int
check_reachable(const char *dir)
{
    TERN_AUTOFREE char *path = tern_strdup(dir);

    for (char *slash = strrchr(path, '/'); slash; slash = strrchr(path, '/')) {
        struct stat st;

        *slash = '\0';
        if (stat(*path ? path : "/", &st) < 0)
            return tern_error_set_errno(errno, "could not stat \"%s\"", *path ? path : "/");
        if (!(st.st_mode & S_IXOTH))
            return tern_error_set(TERN_ERR_PERMISSION,
                                  "cannot use directory \"%s\": the postgres and rabbitmq users "
                                  "cannot enter \"%s\" (mode %03o); use a directory under /tmp",
                                  dir, *path ? path : "/", (unsigned)(st.st_mode & 0777));
    }
    return 0;
}

/* pick_ports: distinct free ports for every listener of both services. */
static int
pick_ports(harness_services_t *svc)
{
    int *slots[] = {&svc->postgres_port,      &svc->rabbitmq_port, &svc->rabbitmq_tls_port,
                    &svc->rabbitmq_dist_port, &svc->epmd_port,     &svc->rabbitmqctl_port};

    for (size_t i = 0; i < TERN_N_ELEMENTS(slots); i++) {
        bool ctl = slots[i] == &svc->rabbitmqctl_port;
        bool clash;

        do {
            if (harness_port_pick(svc->extra_listen, ctl ? 11 : 1, slots[i]) < 0)
                return -1;
            clash = false;
            for (size_t j = 0; j < i; j++) {
                int lo = *slots[i], hi = *slots[i] + (ctl ? 10 : 0);

                clash = clash || (*slots[j] >= lo && *slots[j] <= hi);
            }
        } while (clash);
    }
    return 0;
}

int
harness_services_start(const char *dir, const char *extra_listen, harness_services_t **ret)
{
    return harness_services_start_full(dir, extra_listen, false, ret);
}

int
harness_services_start_full(const char *dir, const char *extra_listen, bool tls_only,
                            harness_services_t **ret)
{
    static int starts;
    char real[PATH_MAX];
    struct in_addr probe;
    harness_services_t *svc;
    tern_error_t err;

    if (extra_listen && inet_pton(AF_INET, extra_listen, &probe) != 1)
        return tern_error_set(TERN_ERR_INVALID, "invalid listen address \"%s\"", extra_listen);
    if (tern_mkdir_p(dir, 0755) < 0)
        return -1;
    if (!realpath(dir, real))
        return tern_error_set_errno(errno, "could not resolve directory \"%s\"", dir);
    /* the postgres and rabbitmq users must be able to reach their directories */
    if (chmod(real, 0755) < 0)
        return tern_error_set_errno(errno, "could not change mode of \"%s\"", real);
    if (check_reachable(real) < 0)
        return -1;
    if (harness_services_stop(real) < 0)
        return -1;
    {
        TERN_AUTOFREE char *pg = tern_asprintf("%s/postgres", real);
        TERN_AUTOFREE char *mq = tern_asprintf("%s/rabbitmq", real);

        if (harness_rmtree(pg) < 0 || harness_rmtree(mq) < 0)
            return -1;
    }

    svc = tern_calloc(1, sizeof(*svc));
    svc->watchdog_fd = -1;
    svc->dir = tern_strdup(real);
    svc->extra_listen = tern_strdup(extra_listen);
    svc->extra_tls_only = tls_only && extra_listen;
    svc->postgres_password = harness_random_password();
    svc->rabbitmq_password = harness_random_password();
    svc->rabbitmq_node = tern_asprintf("tern-test-%d-%d@localhost", (int)getpid(), ++starts);
    if (pick_ports(svc) < 0)
        goto fail;
    svc->postgres_url = tern_asprintf("postgresql://tern:%s@127.0.0.1:%d/tern",
                                      svc->postgres_password, svc->postgres_port);
    svc->postgres_admin_url = tern_asprintf("postgresql://postgres:%s@127.0.0.1:%d/postgres",
                                            svc->postgres_password, svc->postgres_port);
    svc->rabbitmq_url =
        tern_asprintf("rabbit://tern:%s@127.0.0.1:%d/", svc->rabbitmq_password, svc->rabbitmq_port);
    svc->rabbitmq_admin_url = tern_strdup(svc->rabbitmq_url); /* tern is an administrator */
    /* the TLS URL names localhost: the certificate's DNS name (librabbitmq verifies names) */
    svc->rabbitmq_tls_url = tern_asprintf("amqps://tern:%s@localhost:%d/", svc->rabbitmq_password,
                                          svc->rabbitmq_tls_port);
    svc->tls_ca_file = tern_asprintf("%s/rabbitmq/tls/ca.pem", real);
    svc->tls_client_cert = tern_asprintf("%s/rabbitmq/tls/client.pem", real);
    svc->tls_client_key = tern_asprintf("%s/rabbitmq/tls/client.key", real);

    /* RabbitMQ boots (~10 s) while PostgreSQL is initialised and started */
    if (harness_rabbitmq_init(svc) < 0 || harness_rabbitmq_launch(svc) < 0)
        goto fail;
    if (harness_postgres_init(svc) < 0 || harness_postgres_launch(svc) < 0 ||
        harness_postgres_wait(svc, 30000) < 0 || harness_postgres_setup(svc) < 0)
        goto fail;
    if (harness_rabbitmq_wait(svc, 90000) < 0 || services_env_write(svc) < 0)
        goto fail;
    *ret = svc;
    return 0;

fail:
    tern_error_copy(&err);
    harness_services_stop(real);
    harness_services_free(svc);
    tern_error_restore(&err);
    return -1;
}

int
harness_services_stop(const char *dir)
{
    TERN_AUTOFREE char *env_path = NULL;
    char real[PATH_MAX];
    int rc = 0;

    if (!realpath(dir, real)) {
        if (errno == ENOENT)
            return 0;
        return tern_error_set_errno(errno, "could not resolve directory \"%s\"", dir);
    }
    env_path = tern_asprintf("%s/" SERVICES_ENV, real);
    if (unlink(env_path) < 0 && errno != ENOENT)
        rc = tern_error_set_errno(errno, "could not remove \"%s\"", env_path);
    if (harness_rabbitmq_stop_dir(real, false) < 0)
        rc = -1;
    if (harness_postgres_stop_dir(real) < 0)
        rc = -1;
    return rc;
}

int
harness_services_remove(const char *dir)
{
    if (harness_services_stop(dir) < 0)
        return -1;
    return harness_rmtree(dir);
}

int
harness_services_processes(const char *dir, int **ret_pids)
{
    const char *services[] = {"postgres", "rabbitmq"};
    int *all = NULL, total = 0;
    char real[PATH_MAX];

    if (!realpath(dir, real))
        tern_strlcpy(real, dir, sizeof(real));
    for (size_t s = 0; s < TERN_N_ELEMENTS(services); s++) {
        TERN_AUTOFREE char *marker = tern_asprintf("%s/%s", real, services[s]);
        TERN_AUTOFREE int *pids = NULL;
        int n = harness_proc_find(marker, &pids);

        if (n < 0) {
            free(all);
            return -1;
        }
        all = tern_realloc(all, (size_t)(total + n + 1) * sizeof(*all));
        if (n > 0)
            memcpy(all + total, pids, (size_t)n * sizeof(*all));
        total += n;
    }
    if (ret_pids)
        *ret_pids = all;
    else
        free(all);
    return total;
}

/* ---- private services: a temporary directory, a watchdog, stopped by their starter ---- */

/* start_watchdog: fork a process (own session, so ^C to the test does not reach it) that stops
 * the services in dir and removes dir once every writer of the pipe is gone; returns the
 * writing end (close-on-exec), or -1 when the watchdog could not be started. */
static int
start_watchdog(const char *dir)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        char buf[16];

        setsid();
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        close(fds[1]);
        if (fds[0] > 3)
            close_range(3, (unsigned)fds[0] - 1, 0);
        close_range((unsigned)fds[0] + 1, ~0U, 0);
        while (read(fds[0], buf, sizeof(buf)) != 0 && errno == EINTR)
            ;
        harness_services_remove(dir);
        _exit(0);
    }
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        return -1;
    }
    return fds[1];
}

int
harness_services_start_private(harness_services_t **ret)
{
    char tmpl[] = "/tmp/tern-harness.XXXXXX";
    harness_services_t *svc = NULL;
    int fd;

    if (!mkdtemp(tmpl))
        return tern_error_set_errno(errno, "could not create a directory for the test services");
    fd = start_watchdog(tmpl);
    if (harness_services_start(tmpl, NULL, &svc) < 0) {
        if (fd >= 0)
            close(fd); /* the watchdog removes the directory */
        else
            harness_rmtree(tmpl);
        return -1;
    }
    svc->owned = true;
    svc->starter_pid = getpid();
    svc->watchdog_fd = fd;
    *ret = svc;
    return 0;
}

int
harness_services_destroy(harness_services_t *svc)
{
    int rc = 0;

    if (!svc)
        return 0;
    if (svc->owned && svc->starter_pid == getpid()) {
        rc = harness_services_remove(svc->dir);
        if (svc->watchdog_fd >= 0)
            close(svc->watchdog_fd);
    }
    harness_services_free(svc);
    return rc;
}

/* ---- harness_services_get: the process-wide services ---- */

static pthread_mutex_t services_lock = PTHREAD_MUTEX_INITIALIZER;
static harness_services_t *services; /* guarded by services_lock; lives until exit */

static void
services_stop_at_exit(void)
{
    /* Check's forked test processes run this too: only the starter stops (destroy checks) */
    if (services && services->owned && services->starter_pid == getpid()) {
        harness_services_destroy(services);
        services = NULL;
    }
}

const harness_services_t *
harness_services_get(void)
{
    const char *dir = getenv("TERN_TEST_SERVICES_DIR");
    harness_services_t *svc = NULL;

    pthread_mutex_lock(&services_lock);
    if (services) {
        pthread_mutex_unlock(&services_lock);
        return services;
    }
    if (!tern_str_empty(dir)) {
        if (harness_services_attach(dir, &svc) < 0) {
            fprintf(stderr,
                    "harness: could not attach to the test services "
                    "(TERN_TEST_SERVICES_DIR=%s): %s\n",
                    dir, tern_error_message());
            abort();
        }
    } else {
        int64_t t0 = tern_now_monotonic_ms();

        if (harness_services_start_private(&svc) < 0) {
            fprintf(stderr, "harness: could not start the test services: %s\n",
                    tern_error_message());
            abort();
        }
        atexit(services_stop_at_exit);
        fprintf(stderr, "harness: private PostgreSQL and RabbitMQ ready in %.1f s in %s\n",
                (double)(tern_now_monotonic_ms() - t0) / 1000.0, svc->dir);
    }
    services = svc;
    pthread_mutex_unlock(&services_lock);
    return services;
}
