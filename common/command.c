/*
 * common/command.c: fork/exec with captured output and a timeout (see common/command.h).
 */
#include "common/command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

#define COMMAND_OUTPUT_MAX (1024 * 1024)

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} capture_t;

static void
capture_append(capture_t *c, const char *buf, size_t n)
{
    if (c->len + n > COMMAND_OUTPUT_MAX)
        n = COMMAND_OUTPUT_MAX - c->len;
    if (c->len + n + 1 > c->cap) {
        c->cap = (c->len + n + 1) * 2;
        c->data = tern_realloc(c->data, c->cap);
    }
    memcpy(c->data + c->len, buf, n);
    c->len += n;
    c->data[c->len] = '\0';
}

static void
child_exec(const char *const argv[], int out_fd, int err_fd)
{
    int devnull = open("/dev/null", O_RDONLY);

    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execvp(argv[0], (char *const *)argv);
    dprintf(STDERR_FILENO, "could not execute \"%s\": %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* collect_output: read both pipes until EOF or the deadline; returns false on timeout. */
static bool
collect_output(int out_fd, int err_fd, int64_t deadline_ms, capture_t *out, capture_t *err)
{
    struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    capture_t *caps[2] = {out, err};
    char buf[8192];
    int open_fds = 2;

    while (open_fds > 0) {
        int wait_ms = -1;

        if (deadline_ms > 0) {
            int64_t left = deadline_ms - tern_now_monotonic_ms();

            if (left <= 0)
                return false;
            wait_ms = (int)left;
        }
        if (poll(fds, 2, wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            return true;
        }
        for (int i = 0; i < 2; i++) {
            ssize_t n;

            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(fds[i].fd, buf, sizeof(buf));
            if (n > 0) {
                capture_append(caps[i], buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    return true;
}

static const char *
first_line(const char *s, char *buf, size_t size)
{
    size_t n;

    while (s && (*s == '\n' || *s == ' '))
        s++;
    if (!s || !*s)
        return "no error output";
    n = strcspn(s, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

int
tern_command_run(const char *const argv[], int timeout_ms, tern_command_result_t *ret_result)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    capture_t out = {0}, err = {0};
    char line[512];
    int64_t deadline = timeout_ms > 0 ? tern_now_monotonic_ms() + timeout_ms : 0;
    bool finished;
    int status = 0, exit_status;
    pid_t pid;

    capture_append(&out, "", 0);
    capture_append(&err, "", 0);
    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
        tern_error_set_errno(errno, "could not create pipes to run \"%s\"", argv[0]);
        goto fail;
    }
    pid = fork();
    if (pid < 0) {
        tern_error_set_errno(errno, "could not fork to run \"%s\"", argv[0]);
        goto fail;
    }
    if (pid == 0)
        child_exec(argv, out_pipe[1], err_pipe[1]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;

    finished = collect_output(out_pipe[0], err_pipe[0], deadline, &out, &err);
    if (!finished)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(out_pipe[0]);
    close(err_pipe[0]);
    out_pipe[0] = err_pipe[0] = -1;

    exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!finished)
        tern_error_set(TERN_ERR_TIMEOUT, "command \"%s\" did not finish within %d ms", argv[0],
                       timeout_ms);
    else if (exit_status != 0)
        tern_error_set(TERN_ERR_SYSTEM, "command \"%s\" failed with status %d: %s", argv[0],
                       exit_status, first_line(err.data, line, sizeof(line)));
    if (ret_result) {
        ret_result->exit_status = exit_status;
        ret_result->out = out.data;
        ret_result->err = err.data;
    } else {
        free(out.data);
        free(err.data);
    }
    return finished && exit_status == 0 ? 0 : -1;

fail:
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    free(out.data);
    free(err.data);
    return -1;
}

void
tern_command_result_clear(tern_command_result_t *result)
{
    if (!result)
        return;
    free(result->out);
    free(result->err);
    result->out = result->err = NULL;
}
