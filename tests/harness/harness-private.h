/*
 * tests/harness/harness-private.h: pieces shared by the harness's files, not part of its API.
 *
 * harness-proc.c owns process handling (spawning a service in a session of its own under a
 * service user, finding every process of a service, stopping them), port picking and small file
 * helpers; harness-postgres.c and harness-rabbitmq.c own one service each; harness.c ties them
 * together (start, attach, stop, services.env, harness_services_get).
 *
 * Every process the harness starts carries the environment entry
 * TERN_HARNESS_SERVICE=<dir>/<service>, runs as the service's OS user (who owns <dir>/<service>)
 * with its working directory below <dir>/<service>, in a session of its own; its pid goes to a
 * pid file there. Stop finds the processes by marker or (user, working directory), plus their
 * descendants: never by pid files alone (pids wrap; a stale file may name another harness's
 * process), so it works after a crash of the test process too.
 */
#ifndef TERN_TESTS_HARNESS_PRIVATE_H
#define TERN_TESTS_HARNESS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/command.h"
#include "tests/harness/harness.h"

#define HARNESS_POSTGRES_BIN "/usr/lib/postgresql/15/bin"
#define HARNESS_RABBITMQ_BIN "/usr/lib/rabbitmq/bin"
#define HARNESS_EPMD "/usr/bin/epmd"
#define HARNESS_MARKER_KEY "TERN_HARNESS_SERVICE"

/* A growing NULL-terminated array of "KEY=VALUE" strings (an environment or an argv). */
typedef struct harness_strv {
    char **v;   /* NULL-terminated (owned, with its strings) */
    size_t n;   /* entries before the NULL */
    size_t cap; /* allocated slots */
} harness_strv_t;

void harness_strv_add(harness_strv_t *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void harness_strv_clear(harness_strv_t *sv);
/* A minimal environment for a service: PATH, LANG, HOME=home and the service's marker. */
void harness_strv_base_env(harness_strv_t *env, const char *home, const char *marker_dir);

/* Start argv[0] (absolute path) with exactly env, in a new session, as OS user `user` (NULL:
 * unchanged), in cwd, stdin from /dev/null, stdout and stderr appended to log_path, no other
 * file descriptor inherited. The leader's pid goes to pid_path. */
int harness_proc_spawn(const char *const argv[], const char *const env[], const char *user,
                       const char *cwd, const char *log_path, const char *pid_path, pid_t *ret_pid);

/* Pids of the live (non-zombie) processes belonging to the service in marker_dir (see above);
 * returns their number and a new array in *ret_pids (may be NULL; caller frees). */
int harness_proc_find(const char *marker_dir, int **ret_pids);

/* Send sig to every process of the service, wait up to grace_ms, then SIGKILL what is left and
 * wait until nothing is left (15 s at most); removes the pid files. Idempotent. */
int harness_proc_stop(const char *marker_dir, const char *const pid_paths[], int sig, int grace_ms);

/* Whether the process is alive, not a zombie, and our child or working below dir (so a reused pid is not
 * taken for the service). Reaps it if it is our child and exited. */
bool harness_proc_alive(pid_t pid, const char *dir);

/* Read a pid file; 0 when missing or unreadable. */
pid_t harness_pid_file_read(const char *path);

/* A TCP port that is free on 127.0.0.1 and on extra_listen (when non-NULL) right now, and, when
 * range > 1, the range-1 ports after it too. */
int harness_port_pick(const char *extra_listen, int range, int *ret_port);

/* Run argv as OS user `user` (runuser) with exactly env (env -i). */
int harness_run_as(const char *user, const char *const env[], const char *const argv[],
                   int timeout_ms, tern_command_result_t *ret_result);

/* Create path (and parents) and give it to user (chown -R not done: just this directory). */
int harness_mkdir_owned(const char *path, const char *user, int mode);
/* chown path to user. */
int harness_chown(const char *path, const char *user);
/* Write data to path (created with mode, truncated). */
int harness_file_write(const char *path, const char *data, int mode);
/* Remove a directory tree (no error when missing). */
int harness_rmtree(const char *path);
/* A random password: 24 hex characters (caller frees). */
char *harness_random_password(void);
/* The last line(s) of a log file, for an error message (caller frees; "" when unreadable). */
char *harness_log_tail(const char *path, size_t max_chars);

/* PostgreSQL (harness-postgres.c). svc carries the ports, passwords and dir. */
int harness_postgres_init(harness_services_t *svc);
int harness_postgres_launch(const harness_services_t *svc);
int harness_postgres_wait(const harness_services_t *svc, int timeout_ms);
int harness_postgres_setup(const harness_services_t *svc);
int harness_postgres_stop_dir(const char *dir);
char *harness_postgres_log_path(const char *dir);

/* RabbitMQ (harness-rabbitmq.c). */
int harness_rabbitmq_init(harness_services_t *svc);
int harness_rabbitmq_launch(const harness_services_t *svc);
int harness_rabbitmq_wait(const harness_services_t *svc, int timeout_ms);
int harness_rabbitmq_stop_dir(const char *dir, bool graceful);
char *harness_rabbitmq_log_path(const char *dir);

#endif /* TERN_TESTS_HARNESS_PRIVATE_H */
