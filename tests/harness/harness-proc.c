/*
 * tests/harness/harness-proc.c: processes, ports and files for the harness (see
 * harness-private.h): spawning a service in a session of its own under its OS user, finding
 * every process of a service by session and marker, stopping them completely.
 */
#include "tests/harness/harness-private.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

#define PROC_STOP_TIMEOUT_MS 15000

void
harness_strv_add(harness_strv_t *sv, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (sv->n + 2 > sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 16;
        sv->v = tern_realloc(sv->v, sv->cap * sizeof(*sv->v));
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

void
harness_strv_clear(harness_strv_t *sv)
{
    if (!sv)
        return;
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

void
harness_strv_base_env(harness_strv_t *env, const char *home, const char *marker_dir)
{
    harness_strv_add(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    harness_strv_add(env, "LANG=C.UTF-8");
    harness_strv_add(env, "LC_ALL=C.UTF-8");
    harness_strv_add(env, "HOME=%s", home);
    harness_strv_add(env, "%s=%s", HARNESS_MARKER_KEY, marker_dir);
}

static int
lookup_user(const char *user, uid_t *ret_uid, gid_t *ret_gid)
{
    struct passwd *pw = getpwnam(user);

    if (!pw)
        return tern_error_set(TERN_ERR_NOT_FOUND, "could not find OS user \"%s\"", user);
    *ret_uid = pw->pw_uid;
    *ret_gid = pw->pw_gid;
    return 0;
}

/* child_exec: the forked child of harness_proc_spawn (async-signal-safe calls only). */
static void __attribute__((noreturn))
child_exec(const char *const argv[], const char *const env[], const char *user, uid_t uid,
           gid_t gid, const char *cwd, int log_fd)
{
    int devnull = open("/dev/null", O_RDONLY);
    sigset_t none;

    setsid();
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);
    if (user && (initgroups(user, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)) {
        dprintf(STDERR_FILENO, "could not become user \"%s\": %s\n", user, strerror(errno));
        _exit(126);
    }
    if (cwd && chdir(cwd) < 0) {
        dprintf(STDERR_FILENO, "could not change to directory \"%s\": %s\n", cwd, strerror(errno));
        _exit(126);
    }
    execve(argv[0], (char *const *)argv, (char *const *)env);
    dprintf(STDERR_FILENO, "could not execute \"%s\": %s\n", argv[0], strerror(errno));
    _exit(127);
}

int
harness_proc_spawn(const char *const argv[], const char *const env[], const char *user,
                   const char *cwd, const char *log_path, const char *pid_path, pid_t *ret_pid)
{
    TERN_AUTOCLOSE int log_fd = -1;
    TERN_AUTOFREE char *pid_text = NULL;
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t pid;

    if (user && lookup_user(user, &uid, &gid) < 0)
        return -1;
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        return tern_error_set_errno(errno, "could not open log file \"%s\"", log_path);
    if (user && fchown(log_fd, uid, gid) < 0)
        return tern_error_set_errno(errno, "could not change owner of \"%s\"", log_path);
    pid = fork();
    if (pid < 0)
        return tern_error_set_errno(errno, "could not fork to start \"%s\"", argv[0]);
    if (pid == 0)
        child_exec(argv, env, user, uid, gid, cwd, log_fd);
    pid_text = tern_asprintf("%d\n", (int)pid);
    if (harness_file_write(pid_path, pid_text, 0644) < 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    if (ret_pid)
        *ret_pid = pid;
    return 0;
}

pid_t
harness_pid_file_read(const char *path)
{
    TERN_AUTOFREE char *data = NULL;
    int64_t pid;
    size_t len;

    if (tern_file_read_all(path, 64, &data, &len) < 0) {
        tern_error_reset();
        return 0;
    }
    data[strcspn(data, "\n")] = '\0';
    if (tern_parse_int64(data, "pid", &pid) < 0 || pid <= 1 || pid > INT32_MAX) {
        tern_error_reset();
        return 0;
    }
    return (pid_t)pid;
}

/* One process of /proc, as harness_proc_find sees it. */
typedef struct {
    pid_t pid;  /* process id */
    pid_t ppid; /* parent's */
    uid_t uid;  /* owner of /proc/PID (the real user) */
    bool match; /* belongs to the service */
} proc_info_t;

/* proc_stat: state, parent and session of a process from /proc/PID/stat; false when gone. */
static bool
proc_stat(pid_t pid, char *ret_state, pid_t *ret_ppid, pid_t *ret_sid)
{
    char path[64], buf[1024], *p;
    ssize_t n;
    int fd, ppid, pgrp, sid;
    char state;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %c %d %d %d", &state, &ppid, &pgrp, &sid) != 4)
        return false;
    *ret_state = state;
    *ret_ppid = ppid;
    *ret_sid = sid;
    return true;
}

/* proc_has_marker: whether the process's environment holds exactly `marker`. PostgreSQL's
 * children overwrite theirs (process titles), so this alone does not find them. */
static bool
proc_has_marker(pid_t pid, const char *marker)
{
    char path[64];
    TERN_AUTOFREE char *data = NULL;
    size_t len, mlen = strlen(marker);

    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    if (tern_file_read_all(path, 1024 * 1024, &data, &len) < 0) {
        tern_error_reset();
        return false;
    }
    for (size_t off = 0; off < len; off += strlen(data + off) + 1) {
        if (len - off >= mlen && memcmp(data + off, marker, mlen + 1) == 0)
            return true;
    }
    return false;
}

/* proc_cwd_under: whether the process's working directory is dir or below it. */
static bool
proc_cwd_under(pid_t pid, const char *dir)
{
    char path[64], cwd[PATH_MAX];
    size_t dlen = strlen(dir);
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
    n = readlink(path, cwd, sizeof(cwd) - 1);
    if (n < 0)
        return false;
    cwd[n] = '\0';
    return strncmp(cwd, dir, dlen) == 0 && (cwd[dlen] == '\0' || cwd[dlen] == '/');
}

bool
harness_proc_alive(pid_t pid, const char *dir)
{
    char state;
    pid_t ppid, sid;

    if (pid <= 0)
        return false;
    waitpid(pid, NULL, WNOHANG); /* reap it if it is our exited child; harmless otherwise */
    /* our own child may not have changed directory yet (between fork and exec) */
    return proc_stat(pid, &state, &ppid, &sid) && state != 'Z' && state != 'X' &&
           (ppid == getpid() || proc_cwd_under(pid, dir));
}

/* proc_list: every live process but this one. */
static int
proc_list(proc_info_t **ret_procs, size_t *ret_n)
{
    proc_info_t *procs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *proc = opendir("/proc");

    if (!proc)
        return tern_error_set_errno(errno, "could not open directory \"/proc\"");
    while ((de = readdir(proc))) {
        pid_t pid = (pid_t)atoi(de->d_name), ppid, sid;
        char path[64], state;
        struct stat st;

        if (pid <= 1 || pid == getpid() || !proc_stat(pid, &state, &ppid, &sid))
            continue;
        if (state == 'Z' || state == 'X') {
            waitpid(pid, NULL, WNOHANG);
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        if (stat(path, &st) < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            procs = tern_realloc(procs, cap * sizeof(*procs));
        }
        procs[n++] = (proc_info_t){.pid = pid, .ppid = ppid, .uid = st.st_uid};
    }
    closedir(proc);
    *ret_procs = procs;
    *ret_n = n;
    return 0;
}

int
harness_proc_find(const char *marker_dir, int **ret_pids)
{
    TERN_AUTOFREE char *marker = tern_asprintf("%s=%s", HARNESS_MARKER_KEY, marker_dir);
    TERN_AUTOFREE proc_info_t *procs = NULL;
    size_t n_procs = 0;
    int *pids = NULL, n = 0;
    struct stat dir_st;
    bool owner_known, grew = true;

    /* The service's OS user owns marker_dir: its processes working below it are the service's
     * (never root's: a shell looking at the logs is not a service). Pid files are not trusted
     * here: pids wrap quickly (pid_max 32768) and a stale one may name another harness's
     * process of the same OS user. */
    owner_known = stat(marker_dir, &dir_st) == 0 && dir_st.st_uid != 0;
    if (proc_list(&procs, &n_procs) < 0)
        return -1;
    for (size_t i = 0; i < n_procs; i++) {
        proc_info_t *p = &procs[i];

        if (owner_known && p->uid == dir_st.st_uid)
            p->match = proc_cwd_under(p->pid, marker_dir);
        if (!p->match)
            p->match = proc_has_marker(p->pid, marker);
    }
    /* and every descendant of those (helpers that chdir elsewhere or clear their environment) */
    while (grew) {
        grew = false;
        for (size_t i = 0; i < n_procs; i++) {
            for (size_t j = 0; j < n_procs && !procs[i].match; j++) {
                if (procs[j].match && procs[j].pid == procs[i].ppid)
                    procs[i].match = grew = true;
            }
        }
    }
    for (size_t i = 0; i < n_procs; i++) {
        if (!procs[i].match)
            continue;
        pids = tern_realloc(pids, (size_t)(n + 1) * sizeof(*pids));
        pids[n++] = procs[i].pid;
    }
    if (ret_pids)
        *ret_pids = pids;
    else
        free(pids);
    return n;
}

int
harness_proc_stop(const char *marker_dir, const char *const pid_paths[], int sig, int grace_ms)
{
    int64_t start = tern_now_monotonic_ms();

    for (;;) {
        TERN_AUTOFREE int *pids = NULL;
        int64_t elapsed = tern_now_monotonic_ms() - start;
        int n = harness_proc_find(marker_dir, &pids);

        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (elapsed > PROC_STOP_TIMEOUT_MS)
            return tern_error_set(TERN_ERR_TIMEOUT,
                                  "could not stop the processes of \"%s\": %d still alive "
                                  "(first pid %d)",
                                  marker_dir, n, pids[0]);
        for (int i = 0; i < n; i++)
            kill(pids[i], elapsed >= grace_ms ? SIGKILL : sig);
        tern_sleep_ms(20);
    }
    for (size_t i = 0; pid_paths && pid_paths[i]; i++)
        unlink(pid_paths[i]);
    return 0;
}

/* port_free: whether port can be bound on addr right now. */
static bool
port_free(const char *addr, int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd;
    bool ok;

    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        return false;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}

int
harness_port_pick(const char *extra_listen, int range, int *ret_port)
{
    struct in_addr probe;

    if (extra_listen && inet_pton(AF_INET, extra_listen, &probe) != 1)
        return tern_error_set(TERN_ERR_INVALID, "invalid listen address \"%s\"", extra_listen);
    if (extra_listen && !port_free(extra_listen, 0))
        return tern_error_set(TERN_ERR_UNAVAILABLE,
                              "cannot listen on address \"%s\": it is not configured on this "
                              "machine (create the testbed bridge first)",
                              extra_listen);
    for (int attempt = 0; attempt < 200; attempt++) {
        /* 20000-31999: below the kernel's ephemeral range, so outgoing connections never take
         * the port between picking and binding */
        uint32_t r = 0;
        int port;

        if (getrandom(&r, sizeof(r), 0) != sizeof(r))
            r = (uint32_t)getpid() * 7919u + (uint32_t)attempt * 104729u;
        port = 20000 + (int)(r % 12000);
        bool ok = true;
        for (int i = 0; i < (range > 1 ? range : 1) && ok; i++)
            ok = port_free("127.0.0.1", port + i) &&
                 (!extra_listen || port_free(extra_listen, port + i));
        if (ok) {
            *ret_port = port;
            return 0;
        }
    }
    return tern_error_set(TERN_ERR_UNAVAILABLE, "could not find a free TCP port on 127.0.0.1%s%s",
                          extra_listen ? " and " : "", extra_listen ? extra_listen : "");
}

int
harness_run_as(const char *user, const char *const env[], const char *const argv[], int timeout_ms,
               tern_command_result_t *ret_result)
{
    harness_strv_t full = {0};
    int rc;

    harness_strv_add(&full, "/usr/sbin/runuser");
    harness_strv_add(&full, "-u");
    harness_strv_add(&full, "%s", user);
    harness_strv_add(&full, "--");
    harness_strv_add(&full, "/usr/bin/env");
    harness_strv_add(&full, "-i");
    for (size_t i = 0; env && env[i]; i++)
        harness_strv_add(&full, "%s", env[i]);
    for (size_t i = 0; argv[i]; i++)
        harness_strv_add(&full, "%s", argv[i]);
    rc = tern_command_run((const char *const *)full.v, timeout_ms, ret_result);
    if (rc < 0)
        tern_error_prefix("could not run \"%s\" as \"%s\"", argv[0], user);
    harness_strv_clear(&full);
    return rc;
}

int
harness_chown(const char *path, const char *user)
{
    uid_t uid = 0;
    gid_t gid = 0;

    if (lookup_user(user, &uid, &gid) < 0)
        return -1;
    if (chown(path, uid, gid) < 0)
        return tern_error_set_errno(errno, "could not change owner of \"%s\" to \"%s\"", path,
                                    user);
    return 0;
}

int
harness_mkdir_owned(const char *path, const char *user, int mode)
{
    if (tern_mkdir_p(path, mode) < 0)
        return -1;
    if (chmod(path, (mode_t)mode) < 0)
        return tern_error_set_errno(errno, "could not change mode of \"%s\"", path);
    return user ? harness_chown(path, user) : 0;
}

int
harness_file_write(const char *path, const char *data, int mode)
{
    TERN_AUTOFREE char *tmp = tern_asprintf("%s.tmp", path);
    size_t len = strlen(data), off = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    if (fd < 0)
        return tern_error_set_errno(errno, "could not create file \"%s\"", tmp);
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;

            close(fd);
            unlink(tmp);
            return tern_error_set_errno(saved, "could not write file \"%s\"", tmp);
        }
        off += (size_t)n;
    }
    if (fchmod(fd, (mode_t)mode) < 0 || close(fd) < 0) {
        unlink(tmp);
        return tern_error_set_errno(errno, "could not write file \"%s\"", tmp);
    }
    if (rename(tmp, path) < 0) {
        int saved = errno;

        unlink(tmp);
        return tern_error_set_errno(saved, "could not rename \"%s\" to \"%s\"", tmp, path);
    }
    return 0;
}

static int
rmtree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (remove(path) < 0 && errno != ENOENT)
        return tern_error_set_errno(errno, "could not remove \"%s\"", path);
    return 0;
}

int
harness_rmtree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : tern_error_set_errno(errno, "could not stat \"%s\"", path);
    return nftw(path, rmtree_entry, 32, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

char *
harness_random_password(void)
{
    char uuid[37], out[25];
    size_t j = 0;

    tern_uuid_generate(uuid);
    for (size_t i = 0; uuid[i] && j < sizeof(out) - 1; i++) {
        if (uuid[i] != '-')
            out[j++] = uuid[i];
    }
    out[j] = '\0';
    return tern_strdup(out);
}

char *
harness_log_tail(const char *path, size_t max_chars)
{
    TERN_AUTOFREE char *data = NULL;
    const char *start;
    size_t len;

    if (tern_file_read_all(path, 16 * 1024 * 1024, &data, &len) < 0) {
        tern_error_reset();
        return tern_strdup("");
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
        data[--len] = '\0';
    start = len > max_chars ? data + len - max_chars : data;
    return tern_strdup(start);
}
