/*
 * tools/cli/wait.c: `tern live-migration --wait` - follow a migration until it ends.
 *
 * Polls migration_get every 0.5 s and shows the progress line of progress.c: on a terminal one
 * line rewritten in place (\r, cut to the terminal's width), otherwise one line a second. With
 * -f json the progress goes to stderr so that stdout holds only the final migration's JSON.
 * At the end it prints the final migration and a summary; the exit code is 0 only when the
 * migration completed. Ctrl-C (SIGINT, blocked by main.c and taken here with sigtimedwait) stops
 * the waiting, never the migration, and says how to abort it. A poll that fails for a passing
 * reason (timeout, broker connection) is retried a few times before giving up.
 * Owns: the last migration sample it received.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "tools/cli/run.h"

#define POLL_INTERVAL_MS 500
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

static void
display_line(display_t *d, const cli_progress_t *prog, const json_t *migration, int64_t now_ms,
             bool force)
{
    char line[LINE_MAX];

    cli_progress_line(prog, migration, now_ms, d->tty, line, sizeof(line));
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

/* End the \r line so that what follows starts on its own line. */
static void
display_end(display_t *d)
{
    if (d->dirty)
        fputc('\n', d->out);
    d->dirty = false;
    fflush(d->out);
}

/* Wait up to ms for SIGINT; true when it came. */
static bool
interrupted_within(const sigset_t *sigint_set, int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    while (sigtimedwait(sigint_set, NULL, &ts) < 0) {
        if (errno != EINTR)
            return false; /* EAGAIN: the time is up */
    }
    return true;
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
    const char *server = json_string_value(json_object_get(req->args, "instance"));
    json_t *migration = NULL, *args, *current;
    TERN_AUTOFREE char *id = NULL;
    cli_progress_t prog;
    display_t d;
    int failures = 0, rc;

    if (cli_result_member(result, "migration", JSON_OBJECT, &current) < 0)
        return CLI_EXIT_FAILED;
    if (!json_is_string(json_object_get(current, "uuid"))) {
        tern_error_set(TERN_ERR_RPC, "unexpected answer from the conductor: migration has no "
                                     "uuid");
        return CLI_EXIT_FAILED;
    }
    id = cli_value_text(json_object_get(current, "id"));
    display_init(&d, req);
    {
        TERN_AUTOFREE char *dest = cli_value_text(json_object_get(current, "dest_compute"));
        TERN_AUTOFREE char *source = cli_value_text(json_object_get(current, "source_compute"));

        fprintf(d.out, "Migration %s of server %s from %s to %s accepted; Ctrl-C stops waiting.\n",
                id, server, source, dest);
    }
    args = json_pack("{s:O}", "migration", json_object_get(current, "uuid"));
    migration = json_incref(current);
    cli_progress_init(&prog, started_ms);
    for (;;) {
        int64_t now = tern_now_monotonic_ms();
        json_t *answer = NULL;

        cli_progress_sample(&prog, migration, now);
        if (cli_migration_status_final(json_string_value(json_object_get(migration, "status")))) {
            display_line(&d, &prog, migration, now, true);
            rc = finish(req, &d, migration, now - started_ms);
            break;
        }
        display_line(&d, &prog, migration, now, false);
        if (interrupted_within(sigint_set, POLL_INTERVAL_MS)) {
            display_end(&d);
            tern_error_set(TERN_ERR_CONFLICT,
                           "stopped waiting; migration %s of server %s goes on (see \"tern "
                           "migration-show %s\"); to abort it: tern live-migration-abort %s %s",
                           id, server, id, server, id);
            rc = CLI_EXIT_FAILED;
            break;
        }
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
    json_decref(migration);
    json_decref(args);
    return rc;
}
