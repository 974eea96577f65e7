/*
 * tools/cli/wait.c: `tern live-migration --wait` and `tern migration-show --wait` - follow a
 * migration until it ends.
 *
 * Told, not polling: a listener of the migration's events (topic "migration_events", key its
 * uuid: conductor/API.md, "Events"; one worker, whose handler only wakes the main thread through
 * an eventfd) is started first, then the migration is read with migration_get at once - so that
 * a change made before the listener was there is not missed - and again as soon as an event
 * comes, otherwise once a second for the progress. So the end is seen within a few ms of being
 * recorded. When the listener cannot be started (broker trouble) a warning says so and the
 * migration is read every 0.5 s instead. The main thread waits in poll() on a signalfd for
 * SIGINT and the eventfd, with the refresh as timeout.
 *
 * Display: the progress line of progress.c, on a terminal one line rewritten in place (\r, cut
 * to the terminal's width), otherwise one line a second. With -f json the progress goes to
 * stderr so that stdout holds only the final migration's JSON. At the end it prints the final
 * migration and a summary; the exit code is 0 only when the migration completed. Ctrl-C
 * (SIGINT, blocked by main.c in every thread and read here from the signalfd) stops the waiting,
 * never the migration, and says how to abort it. A read that fails for a passing reason
 * (timeout, broker connection) is retried a few times before giving up.
 * Owns: the listener (freed on every way out, its queue with it), the signalfd and the eventfd,
 * the last migration sample it received.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "tools/cli/run.h"

#define EVENTS_TOPIC "migration_events" /* conductor/API.md, "Events" */
#define REFRESH_MS \
    1000                            /* told of changes: read this often for the progress
                                         * (TERN_WAIT_REFRESH_MS overrides it) */
#define POLL_INTERVAL_MS 500        /* not told (no listener): read this often */
#define PLAIN_LINE_INTERVAL_MS 1000 /* one progress line a second when not on a terminal */
#define MAX_POLL_FAILURES 3         /* consecutive passing failures before giving up */
#define LINE_MAX 512

/* Where progress goes and how. */
typedef struct display {
    FILE *out;
    bool tty;
    size_t width;    /* terminal columns, 0 when unknown */
    int64_t last_ms; /* when the last plain line was printed */
    bool dirty;      /* a \r line is on screen without its newline */
} display_t;

static void
display_init(display_t *d, const cli_request_t *req)
{
    struct winsize ws;

    memset(d, 0, sizeof(*d));
    d->out = req->format == CLI_FORMAT_JSON ? stderr : stdout;
    d->tty = isatty(fileno(d->out));
    if (d->tty && ioctl(fileno(d->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        d->width = ws.ws_col;
}

/* display_put: a progress line, rewritten in place on a terminal, else one a second (or now
 * when force). line is cut to the terminal's width. */
static void
display_put(display_t *d, char *line, int64_t now_ms, bool force)
{
    if (d->tty) {
        if (d->width && strlen(line) > d->width - 1)
            line[d->width - 1] = '\0';
        fprintf(d->out, "\r%s\033[K", line);
        d->dirty = true;
    } else if (force || now_ms - d->last_ms >= PLAIN_LINE_INTERVAL_MS) {
        fprintf(d->out, "%s\n", line);
        d->last_ms = now_ms;
    }
    fflush(d->out);
}

static void
display_line(display_t *d, const cli_progress_t *prog, const json_t *migration, int64_t now_ms,
             bool force)
{
    char line[LINE_MAX];

    cli_progress_line(prog, migration, now_ms, d->tty, line, sizeof(line));
    display_put(d, line, now_ms, force);
}

/* End the \r line so that what follows starts on its own line. */
static void
display_end(display_t *d)
{
    if (d->dirty)
        fputc('\n', d->out);
    d->dirty = false;
    fflush(d->out);
}

/* What the main thread waits for: Ctrl-C, and the events of the migration. */
typedef struct waiter {
    int sig_fd;              /* signalfd of SIGINT */
    int wake_fd;             /* eventfd the listener's handler counts events in, or -1 */
    rpc_server_t *listener;  /* NULL when not told (polling) */
    rpc_endpoint_t endpoint; /* the listener's, opaque = &wake_fd */
} waiter_t;

typedef enum { WAITED_TIME, WAITED_EVENT, WAITED_SIGINT } waited_t;

/* on_migration_changed: an event of the migration (listener thread). Only a hint: the main
 * thread reads the migration itself, whatever the event says. */
static int
on_migration_changed(void *opaque, const rpc_request_t *req, json_t **ret_result)
{
    const int *wake_fd = opaque;
    uint64_t one = 1;

    if (write(*wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return tern_error_set_errno(errno, "could not wake the waiting thread");
    return 0;
}

static const rpc_method_t event_methods[] = {{"migration_changed", on_migration_changed}};

/* waiter_listen: start the listener of migration uuid's events; on failure, a warning and none
 * (the caller polls). */
static void
waiter_listen(waiter_t *w, const cli_session_t *s, const char *uuid, const char *id)
{
    w->endpoint = (rpc_endpoint_t){
        .version = "1.0", .methods = event_methods, .n_methods = 1, .opaque = &w->wake_fd};
    if ((w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        tern_error_set_errno(errno, "could not create an eventfd");
    else if ((w->listener = rpc_listener_new(s->rpc_cfg, EVENTS_TOPIC, uuid, &w->endpoint, 1, 1)) &&
             rpc_server_start(w->listener) == 0)
        return;
    fprintf(stderr, "tern: warning: %s; reading migration %s every %.1f s\n", tern_error_message(),
            id, POLL_INTERVAL_MS / 1000.0);
    rpc_server_free(w->listener);
    w->listener = NULL;
}

/* waiter_clear: stop and free the listener (its queue goes with it), close the descriptors. */
static void
waiter_clear(waiter_t *w)
{
    rpc_server_free(w->listener);
    w->listener = NULL;
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    if (w->sig_fd >= 0)
        close(w->sig_fd);
    w->wake_fd = w->sig_fd = -1;
}

/* waiter_wait: wait up to ms for SIGINT or an event (taken; SIGINT first) or the time. */
static waited_t
waiter_wait(waiter_t *w, int64_t ms)
{
    struct pollfd pfd[2] = {{.fd = w->sig_fd, .events = POLLIN},
                            {.fd = w->listener ? w->wake_fd : -1, .events = POLLIN}};
    int64_t deadline = tern_now_monotonic_ms() + ms;

    for (;;) {
        int64_t left = deadline - tern_now_monotonic_ms();
        int n = poll(pfd, 2, left > 0 ? (int)left : 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) { /* cannot happen with valid descriptors: wait out the time anyway */
            tern_sleep_ms(left > 0 ? left : 0);
            return WAITED_TIME;
        }
        /* Readable is what counts; the read only takes the signal or resets the count. */
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            ssize_t taken = read(w->sig_fd, &si, sizeof(si));

            (void)taken;
            return WAITED_SIGINT;
        }
        if (pfd[1].revents & POLLIN) {
            uint64_t count;
            ssize_t taken = read(w->wake_fd, &count, sizeof(count));

            (void)taken;
            return WAITED_EVENT;
        }
        if (n == 0)
            return WAITED_TIME;
    }
}

/* refresh_ms: how often a told wait reads the migration for its progress. TERN_WAIT_REFRESH_MS
 * (a positive integer) sets it, for scripts that want fewer reads and for the tests, which set
 * an hour so that only the events can end the wait. */
static int64_t
refresh_ms(void)
{
    const char *v = getenv("TERN_WAIT_REFRESH_MS");
    int64_t ms;

    if (v && tern_parse_int64(v, "TERN_WAIT_REFRESH_MS", &ms) == 0 && ms > 0)
        return ms;
    tern_error_reset();
    return REFRESH_MS;
}

/* Whether a poll error is worth retrying. */
static bool
passing_error(tern_error_code_t code)
{
    return code == TERN_ERR_TIMEOUT || code == TERN_ERR_RPC || code == TERN_ERR_UNAVAILABLE;
}

/* Print the final migration (durations labelled) and its summary; waited_ms: from the request
 * to the end as seen here. The exit code. */
static int
finish(const cli_request_t *req, display_t *d, const json_t *migration, int64_t waited_ms)
{
    char summary[LINE_MAX];

    display_end(d);
    if (req->format == CLI_FORMAT_JSON) {
        cli_print_json(stdout, migration);
    } else {
        json_t *labelled = cli_migration_labelled(migration);

        cli_print_object(stdout, labelled);
        json_decref(labelled);
    }
    cli_migration_summary(migration, waited_ms, summary, sizeof(summary));
    if (tern_streq(json_string_value(json_object_get(migration, "status")), "completed")) {
        fprintf(req->format == CLI_FORMAT_JSON ? stderr : stdout, "%c%s.\n",
                toupper((unsigned char)summary[0]), summary + 1);
        return CLI_EXIT_OK;
    }
    tern_error_set(TERN_ERR_CONFLICT, "%s", summary);
    return CLI_EXIT_FAILED;
}

int
cli_wait_migration(const cli_session_t *s, const cli_request_t *req, json_t *result,
                   int64_t started_ms, const sigset_t *sigint_set)
{
    /* live-migration names the server as the user did; migration-show --wait by its uuid */
    bool started_here = json_object_get(req->args, "instance") != NULL;
    const char *server;
    json_t *migration = NULL, *args, *current;
    TERN_AUTOFREE char *id = NULL;
    waiter_t w = {.sig_fd = -1, .wake_fd = -1};
    cli_progress_t prog;
    display_t d;
    bool read_now = true; /* the first read comes at once, after the listener started */
    int failures = 0, rc;

    if (cli_result_member(result, "migration", JSON_OBJECT, &current) < 0)
        return CLI_EXIT_FAILED;
    if (!json_is_string(json_object_get(current, "uuid"))) {
        tern_error_set(TERN_ERR_RPC, "unexpected answer from the conductor: migration has no "
                                     "uuid");
        return CLI_EXIT_FAILED;
    }
    if ((w.sig_fd = signalfd(-1, sigint_set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        tern_error_set_errno(errno, "could not take Ctrl-C (signalfd)");
        return CLI_EXIT_FAILED;
    }
    id = cli_value_text(json_object_get(current, "id"));
    server = json_string_value(json_object_get(req->args, "instance"));
    if (!server)
        server = json_string_value(json_object_get(current, "instance_uuid"));
    display_init(&d, req);
    {
        TERN_AUTOFREE char *dest = cli_value_text(json_object_get(current, "dest_compute"));
        TERN_AUTOFREE char *source = cli_value_text(json_object_get(current, "source_compute"));

        fprintf(d.out, "%s %s of server %s from %s to %s%s; Ctrl-C stops waiting.\n",
                started_here ? "Migration" : "Following migration", id, server ? server : "-",
                source, dest, started_here ? " accepted" : "");
    }
    waiter_listen(&w, s, json_string_value(json_object_get(current, "uuid")), id);
    args = tern_json_pack("{s:O}", "migration", json_object_get(current, "uuid"));
    migration = json_incref(current);
    cli_progress_init(&prog, started_ms);
    for (;;) {
        int64_t now = tern_now_monotonic_ms();
        json_t *answer = NULL;

        cli_progress_sample(&prog, migration, now);
        if (cli_migration_status_final(json_string_value(json_object_get(migration, "status")))) {
            display_line(&d, &prog, migration, now, true);
            rc = finish(req, &d, migration, started_here ? now - started_ms : -1);
            break;
        }
        display_line(&d, &prog, migration, now, false);
        if (!read_now &&
            waiter_wait(&w, w.listener ? refresh_ms() : POLL_INTERVAL_MS) == WAITED_SIGINT) {
            display_end(&d);
            tern_error_set(TERN_ERR_CONFLICT,
                           "stopped waiting; migration %s of server %s goes on (see \"tern "
                           "migration-show %s\"); to abort it: tern live-migration-abort %s %s",
                           id, server, id, server, id);
            rc = CLI_EXIT_FAILED;
            break;
        }
        read_now = false;
        if (cli_call(s, "migration_get", args, 0, &answer) < 0) {
            if (passing_error(tern_error_code()) && ++failures < MAX_POLL_FAILURES) {
                display_end(&d);
                fprintf(stderr, "tern: could not get migration %s, retrying: %s\n", id,
                        tern_error_message());
                continue;
            }
            display_end(&d);
            tern_error_prefix("could not follow migration %s (it may still be running)", id);
            rc = CLI_EXIT_FAILED;
            break;
        }
        failures = 0;
        if (cli_result_member(answer, "migration", JSON_OBJECT, &current) < 0) {
            json_decref(answer);
            display_end(&d);
            rc = CLI_EXIT_FAILED;
            break;
        }
        json_decref(migration);
        migration = json_incref(current);
        json_decref(answer);
    }
    waiter_clear(&w);
    json_decref(migration);
    json_decref(args);
    return rc;
}

/* ---- drains: host-evacuate-live --wait, host-maintenance-enter --wait, evacuation-show --wait */

#define DRAIN_POLL_MS 250

static void
drain_display_line(display_t *d, const json_t *drain, int *held, int64_t now_ms, bool force)
{
    char line[LINE_MAX];

    cli_drain_progress_line(drain, held, d->tty, line, sizeof(line));
    display_put(d, line, now_ms, force);
}

/* drain_finish: the final drain and the exit code (0 only when every server moved). */
static int
drain_finish(const cli_request_t *req, display_t *d, json_t *answer)
{
    json_t *drain = json_object_get(answer, "drain");
    const char *status = json_string_value(json_object_get(drain, "status"));

    display_end(d);
    if (cli_render_drain(req, answer, stdout) < 0)
        return CLI_EXIT_FAILED;
    if (tern_streq(status, "completed"))
        return CLI_EXIT_OK;
    tern_error_set(TERN_ERR_CONFLICT, "drain %lld of %s %s: %s",
                   (long long)json_integer_value(json_object_get(drain, "id")),
                   json_string_value(json_object_get(drain, "host")), status ? status : "?",
                   json_string_value(json_object_get(drain, "message"))
                       ? json_string_value(json_object_get(drain, "message"))
                       : "see the table above");
    return CLI_EXIT_FAILED;
}

int
cli_wait_drain(const cli_session_t *s, const cli_request_t *req, json_t *result,
               const sigset_t *sigint_set)
{
    waiter_t w = {.sig_fd = -1, .wake_fd = -1};
    json_t *answer = json_incref(result), *drain, *args;
    int failures = 0, held = 0, rc;
    display_t d;

    if (cli_result_member(result, "drain", JSON_OBJECT, &drain) < 0) {
        json_decref(answer);
        return CLI_EXIT_FAILED;
    }
    if ((w.sig_fd = signalfd(-1, sigint_set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        json_decref(answer);
        tern_error_set_errno(errno, "could not take Ctrl-C (signalfd)");
        return CLI_EXIT_FAILED;
    }
    args = tern_json_pack("{s:O, s:O}", "host", json_object_get(drain, "host"), "drain",
                          json_object_get(drain, "id"));
    display_init(&d, req);
    fprintf(d.out, "Following drain %lld of %s; Ctrl-C stops waiting, not the drain.\n",
            (long long)json_integer_value(json_object_get(drain, "id")),
            json_string_value(json_object_get(drain, "host")));
    for (;;) {
        json_t *next = NULL;
        const char *status;

        drain = json_object_get(answer, "drain");
        status = json_string_value(json_object_get(drain, "status"));
        if (!tern_streq(status, "running") && !tern_streq(status, "aborting")) {
            drain_display_line(&d, drain, &held, tern_now_monotonic_ms(), true);
            rc = drain_finish(req, &d, answer);
            break;
        }
        drain_display_line(&d, drain, &held, tern_now_monotonic_ms(), false);
        if (waiter_wait(&w, DRAIN_POLL_MS) == WAITED_SIGINT) {
            display_end(&d);
            tern_error_set(TERN_ERR_CONFLICT,
                           "stopped waiting; the drain goes on (tern evacuation-show %s; to "
                           "stop it: tern host-evacuate-abort %s)",
                           json_string_value(json_object_get(args, "host")),
                           json_string_value(json_object_get(args, "host")));
            rc = CLI_EXIT_FAILED;
            break;
        }
        if (cli_call(s, "evacuation_get", args, 0, &next) < 0 ||
            cli_result_member(next, "drain", JSON_OBJECT, &drain) < 0) {
            json_decref(next);
            if (passing_error(tern_error_code()) && ++failures < MAX_POLL_FAILURES)
                continue;
            display_end(&d);
            rc = CLI_EXIT_FAILED;
            break;
        }
        failures = 0;
        json_decref(answer);
        answer = next;
    }
    waiter_clear(&w);
    json_decref(answer);
    json_decref(args);
    return rc;
}
