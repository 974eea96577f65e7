/*
 * tools/cli/progress.c: what `tern live-migration --wait` shows while a migration runs - pure
 * functions of the migration objects it samples and of the time, so tests can pin them.
 *
 *   45% [#########-----------] migration/running  memory 512.0 MiB/2.00 GiB
 *       disk 1.00 GiB/10.0 GiB  remaining 1.50 GiB  118.3 MiB/s  elapsed 0:12
 *   (one line; the bar only on a terminal)
 *
 * The rate is computed here from successive samples (bytes processed, memory plus disk, over
 * the time between the two samples where that count changed), not taken from the conductor,
 * whose progress updates may be coarser than our polling; once completed, the line shows the
 * record's end figures and the transfer's average rate. Before libvirt's first figures (checks,
 * preparation, the destination starting) it says that nothing was transferred yet. The
 * percentage is what is done of the data known so far (memory and disk totals less what
 * remains), and the highest value seen is held: each pass of a live migration re-sends the
 * memory the guest dirtied, so "remaining" grows again between passes, and a bar going
 * backwards tells an operator nothing. The ETA is the remaining data at the current rate.
 * Owns nothing: the caller holds the cli_progress_t and the buffers.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "tools/cli/cli.h"

#define MIB (1024.0 * 1024.0)
#define BAR_WIDTH 20
#define STALL_MS 3000 /* no progress for this long: the rate is shown as 0 */

/* The integer field key of a migration, 0 when absent or null. */
static int64_t
field_int(const json_t *migration, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(migration, key));
}

static const char *
field_str(const json_t *migration, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(migration, key));

    return s ? s : fallback;
}

void
cli_progress_init(cli_progress_t *prog, int64_t now_ms)
{
    memset(prog, 0, sizeof(*prog));
    prog->start_ms = now_ms;
    prog->rate_mib_s = -1;
}

/* percent_of: what is done of the data known so far, 0..100 (100 once completed). */
static int
percent_of(const json_t *migration)
{
    int64_t total = field_int(migration, "memory_total") + field_int(migration, "disk_total");
    int64_t remaining =
        field_int(migration, "memory_remaining") + field_int(migration, "disk_remaining");
    int64_t percent = 0;

    if (tern_streq(field_str(migration, "status", ""), "completed"))
        return 100;
    if (total > 0)
        percent = (total - remaining) * 100 / total;
    return percent < 0 ? 0 : percent > 100 ? 100 : (int)percent;
}

void
cli_progress_sample(cli_progress_t *prog, const json_t *migration, int64_t now_ms)
{
    int64_t bytes =
        field_int(migration, "memory_processed") + field_int(migration, "disk_processed");
    int percent = percent_of(migration);

    if (percent > prog->percent_held)
        prog->percent_held = percent;
    if (prog->last_ms == 0 || bytes < prog->last_bytes) { /* first sample, or a restarted count */
        if (prog->last_ms != 0)
            prog->rate_mib_s = -1;
        prog->last_ms = now_ms;
        prog->last_bytes = bytes;
        return;
    }
    if (bytes > prog->last_bytes && now_ms > prog->last_ms) {
        prog->rate_mib_s =
            (double)(bytes - prog->last_bytes) / MIB / ((double)(now_ms - prog->last_ms) / 1000.0);
        prog->last_ms = now_ms;
        prog->last_bytes = bytes;
    } else if (bytes == prog->last_bytes && now_ms - prog->last_ms >= STALL_MS &&
               prog->rate_mib_s > 0) {
        prog->rate_mib_s = 0;
    }
}

char *
cli_format_bytes(int64_t bytes, char *buf, size_t size)
{
    double b = (double)bytes;

    if (bytes < 0)
        snprintf(buf, size, "-");
    else if (bytes < 1024)
        snprintf(buf, size, "%lld B", (long long)bytes);
    else if (b < MIB)
        snprintf(buf, size, "%.1f KiB", b / 1024.0);
    else if (b < 1024.0 * MIB)
        snprintf(buf, size, "%.1f MiB", b / MIB);
    else
        snprintf(buf, size, "%.2f GiB", b / (1024.0 * MIB));
    return buf;
}

char *
cli_format_duration(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms / 1000;

    if (ms < 0)
        snprintf(buf, size, "-");
    else if (ms < 1000)
        snprintf(buf, size, "%lld ms", (long long)ms);
    else if (ms < 60000)
        snprintf(buf, size, "%.1f s", (double)ms / 1000.0);
    else if (s < 3600)
        snprintf(buf, size, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, size, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    return buf;
}

/* Elapsed time as a clock: "0:07", "12:34", "1:02:03". */
static char *
format_clock(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;

    if (s < 3600)
        snprintf(buf, size, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, size, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    return buf;
}

bool
cli_migration_status_final(const char *status)
{
    /* needs-operator and postcopy-paused are not final, yet nothing changes them until someone
     * acts: the wait ends */
    return tern_streq(status, "completed") || tern_streq(status, "failed") ||
           tern_streq(status, "cancelled") || tern_streq(status, "error") ||
           tern_streq(status, "needs-operator") || tern_streq(status, "postcopy-paused");
}

char *
cli_progress_line(const cli_progress_t *prog, const json_t *migration, int64_t now_ms, bool bar,
                  char *buf, size_t size)
{
    int64_t mem_done = field_int(migration, "memory_processed");
    int64_t mem_total = field_int(migration, "memory_total");
    int64_t disk_done = field_int(migration, "disk_processed");
    int64_t disk_total = field_int(migration, "disk_total");
    int64_t remaining =
        field_int(migration, "memory_remaining") + field_int(migration, "disk_remaining");
    const char *status = field_str(migration, "status", "unknown");
    char a[32], b[32], c[32], d[32], e[32], clock[32], rate[64], eta[32];
    int percent = percent_of(migration);
    size_t len = 0;

    if (prog->percent_held > percent)
        percent = prog->percent_held;
    buf[0] = '\0';
    len += (size_t)snprintf(buf, size, "%3d%% ", percent);
    if (bar && len < size) {
        int filled = percent * BAR_WIDTH / 100;

        len += (size_t)snprintf(buf + len, size - len, "[%.*s%.*s] ", filled,
                                "####################", BAR_WIDTH - filled, "--------------------");
    }
    if (mem_total + disk_total == 0 && percent < 100) {
        /* before libvirt's first figures: checks, preparation, the destination's start */
        if (len < size)
            snprintf(buf + len, size - len, "%s/%s  nothing transferred yet  elapsed %s",
                     field_str(migration, "phase", "-"), status,
                     format_clock(now_ms - prog->start_ms, clock, sizeof(clock)));
        return buf;
    }
    if (percent == 100 && field_int(migration, "migration_ms") > 0) /* the transfer's average */
        snprintf(rate, sizeof(rate), "%.1f MiB/s",
                 (double)(mem_done + disk_done) / MIB /
                     ((double)field_int(migration, "migration_ms") / 1000.0));
    else if (prog->rate_mib_s < 0)
        snprintf(rate, sizeof(rate), "-- MiB/s");
    else if (prog->rate_mib_s > 0 && remaining > 0 && percent < 100)
        snprintf(rate, sizeof(rate), "%.1f MiB/s  eta %s", prog->rate_mib_s,
                 format_clock((int64_t)((double)remaining / MIB / prog->rate_mib_s * 1000.0), eta,
                              sizeof(eta)));
    else
        snprintf(rate, sizeof(rate), "%.1f MiB/s", prog->rate_mib_s);
    if (len < size)
        len += (size_t)snprintf(buf + len, size - len, "%s/%s  memory %s/%s",
                                field_str(migration, "phase", "-"), status,
                                cli_format_bytes(mem_done, a, sizeof(a)),
                                cli_format_bytes(mem_total, b, sizeof(b)));
    if (disk_total > 0 && len < size)
        len += (size_t)snprintf(buf + len, size - len, "  disk %s/%s",
                                cli_format_bytes(disk_done, c, sizeof(c)),
                                cli_format_bytes(disk_total, d, sizeof(d)));
    if (len < size)
        snprintf(buf + len, size - len, "  remaining %s  %s  elapsed %s",
                 cli_format_bytes(remaining, e, sizeof(e)), rate,
                 format_clock(now_ms - prog->start_ms, clock, sizeof(clock)));
    return buf;
}

char *
cli_migration_summary(const json_t *migration, int64_t waited_ms, char *buf, size_t size)
{
    const char *status = field_str(migration, "status", "unknown");
    const char *error = field_str(migration, "error_message", NULL);
    json_t *total = json_object_get(migration, "total_ms");
    json_t *transfer = json_object_get(migration, "migration_ms");
    json_t *downtime = json_object_get(migration, "downtime_ms");
    TERN_AUTOFREE char *id = cli_value_text(json_object_get(migration, "id"));
    bool completed = tern_streq(status, "completed");
    int64_t waited = waited_ms >= 0           ? waited_ms
                     : json_is_integer(total) ? json_integer_value(total)
                                              : -1;
    char t[32], tr[32], dt[32];
    size_t len;

    if (completed)
        len = (size_t)snprintf(buf, size, "migration %s completed", id);
    else
        len = (size_t)snprintf(buf, size, "migration %s %s", id,
                               tern_streq(status, "cancelled") ? "was cancelled" : status);
    if (waited >= 0 && len < size)
        len += (size_t)snprintf(buf + len, size - len, " %s after the request",
                                cli_format_duration(waited, t, sizeof(t)));
    if (completed && (json_is_integer(transfer) || json_is_integer(downtime)) && len < size)
        len += (size_t)snprintf(
            buf + len, size - len, " (%s%s%s%s%s)", json_is_integer(transfer) ? "transfer " : "",
            json_is_integer(transfer)
                ? cli_format_duration(json_integer_value(transfer), tr, sizeof(tr))
                : "",
            json_is_integer(transfer) && json_is_integer(downtime) ? ", " : "",
            json_is_integer(downtime) ? "downtime " : "",
            json_is_integer(downtime)
                ? cli_format_duration(json_integer_value(downtime), dt, sizeof(dt))
                : "");
    if (!completed && !tern_str_empty(error) && len < size)
        snprintf(buf + len, size - len, ": %s", error);
    return buf;
}

/* What each duration of a migration record measures (conductor/API.md). */
static const struct {
    const char *key;
    const char *label;
} migration_durations[] = {
    {"total_ms", "request accepted to completion recorded"},
    {"checks_ms", "conductor and host checks"},
    {"preparation_ms", "destination prepared: disks, networks, firewall"},
    {"migration_ms", "transfer: libvirt's live migration, start to switch-over"},
    {"libvirt_job_ms", "libvirt's own job time, as it reported the end"},
    {"downtime_ms", "guest paused for the switch-over"},
    {"post_processing_ms", "source cleaned up after the switch-over"},
};

/* iso_ms: an ISO 8601 UTC time "2026-01-02T03:04:05.678Z" as ms since the epoch; -1 if not. */
static int64_t
iso_ms(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    const char *rest;

    if (!s || !(rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
        return -1;
    if (*rest == '.' && sscanf(rest + 1, "%3d", &ms) != 1)
        return -1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* phases_line: when each phase started and how long it took, counted from the request:
 * "checks +0 ms (29 ms), preparation +37 ms (73 ms), ..." (new JSON string), or NULL. */
static json_t *
phases_line(const json_t *migration)
{
    int64_t t0 = iso_ms(json_string_value(json_object_get(migration, "created_at")));
    json_t *phases = json_object_get(migration, "phases"), *ph;
    char line[512] = "", a[32], b[32];
    size_t len = 0;
    const char *name;

    if (t0 < 0 || !json_is_object(phases))
        return NULL;
    json_object_foreach(phases, name, ph)
    {
        int64_t start = iso_ms(json_string_value(json_object_get(ph, "started_at")));
        int64_t end = iso_ms(json_string_value(json_object_get(ph, "finished_at")));

        if (start < 0 || len >= sizeof(line))
            continue;
        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s +%s (%s)", len ? ", " : "",
                                name, cli_format_duration(start - t0, a, sizeof(a)),
                                end >= start ? cli_format_duration(end - start, b, sizeof(b))
                                             : "running");
    }
    return len ? json_string(line) : NULL;
}

json_t *
cli_migration_labelled(const json_t *migration)
{
    json_t *copy = json_deep_copy(migration);
    json_t *phases = phases_line(migration);

    if (phases)
        json_object_set_new(copy, "phases", phases);

    for (size_t i = 0; i < TERN_N_ELEMENTS(migration_durations); i++) {
        json_t *v = json_object_get(copy, migration_durations[i].key);
        char d[32];

        if (!json_is_integer(v))
            continue;
        json_object_set_new(copy, migration_durations[i].key,
                            json_sprintf("%s - %s",
                                         cli_format_duration(json_integer_value(v), d, sizeof(d)),
                                         migration_durations[i].label));
    }
    return copy;
}
