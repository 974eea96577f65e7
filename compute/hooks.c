/*
 * compute/hooks.c: host-side migration hooks (compute/hooks.h).
 *
 *   compute_hooks_run    one event's hooks, in order, until one fails:
 *     list_hooks           the executables of <hooks_dir>/<event>.d, sorted by strcmp
 *     hook_env             their environment (built before fork: a child of a threaded process
 *                          may only call what is async-signal-safe)
 *     run_hook             one hook:
 *       spawn_hook           pipes, fork; the child: hook_child (process group, descriptors,
 *                            signal mask, execve)
 *       pump_hook            its stdin fed, its stdout and stderr read, until it exits or its
 *                            time is up
 *       reap_hook            killed with its process group when its time is up, reaped
 *       hook_verdict         its end as 0 or the error
 *
 * Owns nothing across calls: each run's pipes, buffers and names are released before it returns.
 */
#include "compute/hooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define HOOK_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_POLL_MS 100    /* how often a running hook is looked at when it says nothing */
#define HOOK_REAP_MS 5      /* ... once it closed its output but has not exited yet */
#define HOOK_DRAIN_READS 64 /* reads of its output after it exited (a child of its may write on) */
#define HOOK_FD_FLOOR 10    /* the child moves its pipes above this before placing them */
#define HOOK_MAX_FDS 65536  /* descriptors closed one by one where close_range is missing */

/* The first COMPUTE_HOOK_OUTPUT_MAX bytes of one of its streams (the rest is read and dropped). */
typedef struct hook_output {
    char data[COMPUTE_HOOK_OUTPUT_MAX + 1]; /* NUL-terminated */
    size_t len;
} hook_output_t;

/* A hook while it runs. The descriptors are the parent's ends (-1 once closed), non-blocking. */
typedef struct hook_proc {
    const char *label; /* "<event>.d/<name>" (borrowed) */
    pid_t pid;
    int in_fd;         /* its stdin */
    int out_fd;        /* its stdout */
    int err_fd;        /* its stderr */
    int exec_fd;       /* close-on-exec: an errno when execve failed, EOF when it succeeded */
    const char *input; /* the payload's text (borrowed) */
    size_t input_len;  /* its length */
    size_t input_off;  /* how much of it the hook has been given */
    hook_output_t out; /* its stdout */
    hook_output_t err; /* its stderr */
    int exec_errno;    /* why execve failed, 0 when it did not */
    bool exited;       /* reaped: status holds waitpid's */
    int status;
} hook_proc_t;

/* ---- configuration and payload ---- */

int
compute_hooks_check_dir(const char *dir)
{
    struct stat st;

    if (tern_str_empty(dir))
        return 0;
    if (stat(dir, &st) < 0)
        return tern_error_set(TERN_ERR_CONFIG, "invalid [compute] hooks_dir \"%s\": %s", dir,
                              strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return tern_error_set(TERN_ERR_CONFIG,
                              "invalid [compute] hooks_dir \"%s\": not a directory", dir);
    return 0;
}

json_t *
compute_hooks_payload_new(const char *event, const char *host, const json_t *instance,
                          const compute_hook_migration_t *migration)
{
    return tern_json_pack("{s:s, s:s?, s:O, s:{s:s?, s:s?, s:s?, s:b}}", "event", event, "host",
                          host, "instance", (json_t *)instance, "migration", "uuid",
                          migration->uuid, "source_host", migration->source_host, "dest_host",
                          migration->dest_host, "block_migration", migration->block_migration);
}

/* ---- which hooks ---- */

/* hook_usable: whether entry name of the directory d (evdir) is a hook; why not, at debug. */
static bool
hook_usable(DIR *d, const char *evdir, const char *name)
{
    size_t len = strlen(name);
    struct stat st;
    const char *why = NULL;

    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    if (name[0] == '.' || name[len - 1] == '~')
        why = "a hidden or backup file";
    else if (fstatat(dirfd(d), name, &st, 0) < 0 || !S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (faccessat(dirfd(d), name, X_OK, 0) < 0)
        why = "not executable";
    if (why)
        TERN_DEBUG("skipping \"%s/%s\": %s", evdir, name, why);
    return !why;
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* list_hooks: the hooks of evdir (*ret_names: a new array of n new names, sorted); a missing
 * evdir holds none. 0, or -1 with a SYSTEM error when it cannot be read. */
static int
list_hooks(const char *evdir, char ***ret_names, size_t *ret_n)
{
    DIR *d = opendir(evdir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;

    *ret_names = NULL;
    *ret_n = 0;
    if (!d && errno == ENOENT) {
        TERN_DEBUG("no hooks: \"%s\" does not exist", evdir);
        return 0;
    }
    if (!d)
        return tern_error_set_errno(errno, "could not read hooks directory \"%s\"", evdir);
    while ((e = readdir(d))) {
        if (!hook_usable(d, evdir, e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            names = tern_realloc(names, cap * sizeof(*names));
        }
        names[n++] = tern_strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), compare_names);
    *ret_names = names;
    *ret_n = n;
    return 0;
}

/* hook_env: PATH and the TERN_* variables (a new NULL-terminated array of new strings). */
static char **
hook_env(const char *event, const json_t *payload)
{
    const char *instance =
        json_string_value(json_object_get(json_object_get(payload, "instance"), "uuid"));
    const char *migration =
        json_string_value(json_object_get(json_object_get(payload, "migration"), "uuid"));
    char **env = tern_calloc(5, sizeof(*env));

    env[0] = tern_strdup(HOOK_PATH_ENV);
    env[1] = tern_asprintf("TERN_HOOK_EVENT=%s", event);
    env[2] = tern_asprintf("TERN_INSTANCE_UUID=%s", instance ? instance : "");
    env[3] = tern_asprintf("TERN_MIGRATION_UUID=%s", migration ? migration : "");
    return env;
}

/* ---- one hook ---- */

/* hook_child: in the forked child, become the hook. Only async-signal-safe calls. The four
 * descriptors are first moved above HOOK_FD_FLOOR, so that placing them on 0-3 never overwrites
 * one not placed yet; 3 reports a failed execve (close-on-exec), all others are closed. */
static void __attribute__((noreturn))
hook_child(const char *path, char *const envp[], const int fds[4], int max_fd)
{
    char *const argv[] = {(char *)path, NULL};
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    int moved[4], report = fds[3], e;
    sigset_t none;

    setpgid(0, 0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the daemon blocks SIGTERM and SIGINT */
    sigaction(SIGPIPE, &dfl, NULL);        /* ... and ignores SIGPIPE: not for the hook */
    for (int i = 0; i < 4; i++) {
        if ((moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, HOOK_FD_FLOOR)) < 0)
            goto fail;
    }
    for (int i = 0; i < 4; i++) {
        if (dup2(moved[i], i) < 0)
            goto fail;
    }
    report = 3;
    if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0 || chdir("/") < 0)
        goto fail;
    if (close_range(4, ~0U, 0) < 0) {
        for (int fd = 4; fd < max_fd; fd++)
            close(fd);
    }
    execve(path, argv, envp);
fail:
    e = errno;
    (void)!write(report, &e, sizeof(e));
    _exit(127);
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void
close_pipes(int pipes[4][2])
{
    for (int i = 0; i < 4; i++) {
        close_fd(&pipes[i][0]);
        close_fd(&pipes[i][1]);
    }
}

/* open_max: how many descriptors the child may have to close one by one. */
static int
open_max(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > HOOK_MAX_FDS)
        return HOOK_MAX_FDS;
    return (int)rl.rlim_cur;
}

/* spawn_hook: start path with its pipes (stdin, stdout, stderr, the execve report) into p. */
static int
spawn_hook(const char *path, char *const envp[], hook_proc_t *p)
{
    int pipes[4][2] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
    int max_fd = open_max();

    for (int i = 0; i < 4; i++) {
        if (pipe2(pipes[i], O_CLOEXEC) < 0) {
            tern_error_set_errno(errno, "could not create pipes to run hook \"%s\"", p->label);
            close_pipes(pipes);
            return -1;
        }
    }
    if ((p->pid = fork()) < 0) {
        tern_error_set_errno(errno, "could not fork to run hook \"%s\"", p->label);
        close_pipes(pipes);
        return -1;
    }
    if (p->pid == 0)
        hook_child(path, envp, (int[4]){pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]},
                   max_fd);
    setpgid(p->pid, p->pid); /* as the child does: whichever runs first (EACCES after exec) */
    p->in_fd = pipes[0][1];
    p->out_fd = pipes[1][0];
    p->err_fd = pipes[2][0];
    p->exec_fd = pipes[3][0];
    pipes[0][1] = pipes[1][0] = pipes[2][0] = pipes[3][0] = -1;
    close_pipes(pipes); /* the child's ends */
    fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
    fcntl(p->exec_fd, F_SETFL, O_NONBLOCK);
    return 0;
}

/* keep_output: n bytes of a stream, as far as COMPUTE_HOOK_OUTPUT_MAX goes. */
static void
keep_output(hook_output_t *o, const char *buf, size_t n)
{
    size_t room = COMPUTE_HOOK_OUTPUT_MAX - o->len;

    if (n > room)
        n = room;
    memcpy(o->data + o->len, buf, n);
    o->len += n;
    o->data[o->len] = '\0';
}

/* read_stream: up to max_reads reads of *fd into o; *fd closed at its end or on an error. */
static void
read_stream(int *fd, hook_output_t *o, int max_reads)
{
    char buf[4096];

    for (int i = 0; *fd >= 0 && i < max_reads; i++) {
        ssize_t n = read(*fd, buf, sizeof(buf));

        if (n > 0)
            keep_output(o, buf, (size_t)n);
        else if (n < 0 && errno == EAGAIN)
            return;
        else if (n == 0 || errno != EINTR)
            close_fd(fd);
    }
}

/* read_exec_report: the child's errno when its execve failed; its end when it succeeded. */
static void
read_exec_report(hook_proc_t *p)
{
    int e;
    ssize_t n;

    if (p->exec_fd < 0)
        return;
    n = read(p->exec_fd, &e, sizeof(e));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == (ssize_t)sizeof(e))
        p->exec_errno = e;
    close_fd(&p->exec_fd);
}

/* feed_stdin: as much of the payload as its stdin takes now; closed once all is written or the
 * hook closed it (EPIPE: SIGPIPE is blocked, and a hook need not read what it is given). */
static void
feed_stdin(hook_proc_t *p)
{
    ssize_t n = write(p->in_fd, p->input + p->input_off, p->input_len - p->input_off);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        p->input_off += (size_t)n;
    if (n < 0 || p->input_off == p->input_len)
        close_fd(&p->in_fd);
}

/* hook_pollfds: what to wait for (its stdin writable, its output readable) into fds. */
static nfds_t
hook_pollfds(const hook_proc_t *p, struct pollfd fds[4])
{
    const int readers[3] = {p->out_fd, p->err_fd, p->exec_fd};
    nfds_t n = 0;

    if (p->in_fd >= 0)
        fds[n++] = (struct pollfd){.fd = p->in_fd, .events = POLLOUT};
    for (int i = 0; i < 3; i++) {
        if (readers[i] >= 0)
            fds[n++] = (struct pollfd){.fd = readers[i], .events = POLLIN};
    }
    return n;
}

/* hook_io: act on what poll said of fds. */
static void
hook_io(hook_proc_t *p, const struct pollfd *fds, nfds_t n)
{
    for (nfds_t i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        if (fds[i].fd == p->in_fd)
            feed_stdin(p);
        else if (fds[i].fd == p->out_fd)
            read_stream(&p->out_fd, &p->out, 1);
        else if (fds[i].fd == p->err_fd)
            read_stream(&p->err_fd, &p->err, 1);
        else if (fds[i].fd == p->exec_fd)
            read_exec_report(p);
    }
}

static bool
hook_exited(hook_proc_t *p)
{
    if (!p->exited && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
        p->exited = true;
    return p->exited;
}

/* pump_hook: feed its stdin and read its output until it has exited (true: what it wrote before
 * is read too) or deadline has passed (false). */
static bool
pump_hook(hook_proc_t *p, int64_t deadline)
{
    struct pollfd fds[4];

    while (!hook_exited(p)) {
        int64_t left = deadline - tern_now_monotonic_ms();
        nfds_t n = hook_pollfds(p, fds);
        int wait_ms = n ? HOOK_POLL_MS : HOOK_REAP_MS;

        if (left <= 0)
            return false;
        if (poll(fds, n, left < wait_ms ? (int)left : wait_ms) > 0)
            hook_io(p, fds, n);
    }
    read_stream(&p->out_fd, &p->out, HOOK_DRAIN_READS);
    read_stream(&p->err_fd, &p->err, HOOK_DRAIN_READS);
    read_exec_report(p);
    return true;
}

/* reap_hook: a hook still running (its time is up) is killed with its process group; reaped;
 * its pipes closed. */
static void
reap_hook(hook_proc_t *p)
{
    if (!p->exited) {
        kill(-p->pid, SIGKILL);
        kill(p->pid, SIGKILL); /* had it not made its group yet */
        while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
            ;
        p->exited = true;
    }
    close_fd(&p->in_fd);
    close_fd(&p->out_fd);
    close_fd(&p->err_fd);
    close_fd(&p->exec_fd);
}

/* first_line: the first non-blank line of text, trimmed and made one line of UTF-8, into buf
 * (size bytes); false when text has none. */
static bool
first_line(const char *text, char *buf, size_t size)
{
    size_t n;

    text += strspn(text, " \t\r\n");
    n = strcspn(text, "\r\n");
    if (n >= size)
        n = size - 1;
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    if (n == 0)
        return false;
    memcpy(buf, text, n);
    buf[n] = '\0';
    tern_utf8_sanitize(buf);
    return true;
}

/* hook_verdict: 0 when it exited 0, else -1 with the error of compute/hooks.h. */
static int
hook_verdict(const hook_proc_t *p, bool timed_out, int timeout_ms)
{
    char line[512];

    if (timed_out)
        return tern_error_set(TERN_ERR_TIMEOUT, "hook \"%s\" timed out after %g s", p->label,
                              timeout_ms / 1000.0);
    if (p->exec_errno)
        return tern_error_set(TERN_ERR_SYSTEM, "could not execute hook \"%s\": %s", p->label,
                              strerror(p->exec_errno));
    if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)
        return 0;
    if (first_line(p->err.data, line, sizeof(line)))
        return tern_error_set(TERN_ERR_CHECK_FAILED, "hook \"%s\" refused: %s", p->label, line);
    if (WIFSIGNALED(p->status))
        return tern_error_set(TERN_ERR_CHECK_FAILED, "hook \"%s\" refused: killed by signal %d",
                              p->label, WTERMSIG(p->status));
    return tern_error_set(TERN_ERR_CHECK_FAILED, "hook \"%s\" refused: exit status %d", p->label,
                          WEXITSTATUS(p->status));
}

/* run_hook: evdir/name with input on stdin, timeout_ms to finish. 0 or -1 (hook_verdict). */
static int
run_hook(const char *evdir, const char *event, const char *name, char *const envp[],
         const char *input, int timeout_ms)
{
    TERN_AUTOFREE char *path = tern_asprintf("%s/%s", evdir, name);
    TERN_AUTOFREE char *label = tern_asprintf("%s.d/%s", event, name);
    hook_proc_t p = {.label = label, .in_fd = -1, .out_fd = -1, .err_fd = -1, .exec_fd = -1};
    int64_t t0 = tern_now_monotonic_ms();
    bool in_time;
    int rc;

    p.input = input;
    p.input_len = strlen(input);
    if (spawn_hook(path, envp, &p) < 0)
        return -1;
    in_time = pump_hook(&p, t0 + timeout_ms);
    reap_hook(&p);
    if (p.out.len)
        TERN_DEBUG("hook \"%s\" wrote: %s", label, tern_utf8_sanitize(p.out.data));
    rc = hook_verdict(&p, !in_time, timeout_ms);
    TERN_DEBUG("hook \"%s\" ran for %lld ms%s%s", label, (long long)(tern_now_monotonic_ms() - t0),
               rc < 0 ? ": " : "", rc < 0 ? tern_error_message() : "");
    return rc;
}

/* ---- one event ---- */

/* sigpipe_block: block SIGPIPE in this thread while it writes to hooks (*ret_old: the mask to
 * restore; *ret_pending: whether one was pending already, not to be taken away). */
static void
sigpipe_block(sigset_t *ret_old, bool *ret_pending)
{
    sigset_t set, pending;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    *ret_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, ret_old);
}

/* sigpipe_restore: take the SIGPIPEs the writes raised, restore the mask. */
static void
sigpipe_restore(const sigset_t *old, bool pending)
{
    struct timespec zero = {0, 0};
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    while (!pending && sigtimedwait(&set, NULL, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

int
compute_hooks_run(const char *dir, const char *event, const json_t *payload, int timeout_ms)
{
    TERN_AUTOFREE char *evdir = NULL, *text = NULL, *input = NULL;
    char **names, **env;
    size_t n;
    sigset_t old;
    bool pending;
    int rc = 0;

    if (tern_str_empty(dir))
        return 0;
    evdir = tern_asprintf("%s/%s.d", dir, event);
    if (list_hooks(evdir, &names, &n) < 0)
        return -1;
    if (n == 0)
        return 0;
    text = json_dumps(payload, JSON_COMPACT);
    input = tern_asprintf("%s\n", text);
    env = hook_env(event, payload);
    sigpipe_block(&old, &pending);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = run_hook(evdir, event, names[i], env, input, timeout_ms);
    sigpipe_restore(&old, pending);
    names_free(env, 4);
    names_free(names, n);
    return rc;
}

int
compute_hooks_before(compute_manager_t *mgr, const char *event, const json_t *instance,
                     const compute_hook_migration_t *migration)
{
    json_t *payload;
    int rc;

    if (tern_str_empty(mgr->cfg.hooks_dir))
        return 0;
    payload = compute_hooks_payload_new(event, mgr->cfg.host, instance, migration);
    rc = compute_hooks_run(mgr->cfg.hooks_dir, event, payload, mgr->cfg.hook_timeout_s * 1000);
    json_decref(payload);
    return rc;
}

void
compute_hooks_after(compute_manager_t *mgr, const char *event, const json_t *instance,
                    const compute_hook_migration_t *migration)
{
    if (compute_hooks_before(mgr, event, instance, migration) < 0)
        TERN_WARN("migration %s: %s: %s (the migration's outcome stands)",
                  migration->uuid ? migration->uuid : "(unknown)", event, tern_error_message());
}
