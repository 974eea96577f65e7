/*
 * common/log.c: the process-wide log sink behind common/log.h.
 *
 * Owns: the open log FILE (stderr by default), the program name and the minimum level, all
 * guarded by log_lock. The request id lives in a thread-local buffer of each thread.
 */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "common/error.h"
#include "common/util.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_fp;                  /* NULL means stderr; guarded by log_lock */
static bool log_syslog;               /* guarded by log_lock */
static char log_program[64] = "tern"; /* guarded by log_lock */
static tern_log_level_t log_min_level = TERN_LOG_INFO;
static _Thread_local char log_request_id[80];

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
static const int syslog_prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};

int
tern_log_open(const char *program, tern_log_level_t min_level, const char *log_file,
              bool use_syslog)
{
    FILE *fp = NULL;

    if (!use_syslog && !tern_str_empty(log_file)) {
        fp = fopen(log_file, "ae");
        if (!fp)
            return tern_error_set_errno(errno, "could not open log file \"%s\"", log_file);
        setvbuf(fp, NULL, _IOLBF, 0);
    }
    pthread_mutex_lock(&log_lock);
    if (log_fp)
        fclose(log_fp);
    log_fp = fp;
    if (program)
        tern_strlcpy(log_program, program, sizeof(log_program));
    log_min_level = min_level;
    if (log_syslog && !use_syslog)
        closelog();
    log_syslog = use_syslog;
    if (use_syslog)
        openlog(log_program, LOG_PID, LOG_DAEMON);
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void
tern_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fp)
        fclose(log_fp);
    log_fp = NULL;
    if (log_syslog)
        closelog();
    log_syslog = false;
    pthread_mutex_unlock(&log_lock);
}

void
tern_log_set_request_id(const char *request_id)
{
    if (!request_id)
        log_request_id[0] = '\0';
    else
        tern_strlcpy(log_request_id, request_id, sizeof(log_request_id));
}

const char *
tern_log_request_id(void)
{
    return log_request_id[0] ? log_request_id : NULL;
}

bool
tern_log_enabled(tern_log_level_t level)
{
    return level >= log_min_level;
}

void
tern_log(tern_log_level_t level, const char *fmt, ...)
{
    char msg[4096];
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    if (!tern_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log_lock);
    if (log_syslog) {
        if (log_request_id[0])
            syslog(syslog_prio[level], "[%s] %s", log_request_id, msg);
        else
            syslog(syslog_prio[level], "%s", msg);
    } else {
        FILE *fp = log_fp ? log_fp : stderr;

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(fp, "%s.%03ld %s %s %s%s%s%s\n", stamp, ts.tv_nsec / 1000000, level_names[level],
                log_program, log_request_id[0] ? "[" : "", log_request_id,
                log_request_id[0] ? "] " : "", msg);
        fflush(fp);
    }
    pthread_mutex_unlock(&log_lock);
}

char *
tern_log_mask_url(const char *url)
{
    const char *scheme, *at, *colon, *start;

    if (!url)
        return NULL;
    scheme = strstr(url, "://");
    start = scheme ? scheme + 3 : url;
    at = strchr(start, '@');
    if (!at)
        return tern_strdup(url);
    /* Several hosts may be listed (rabbit://a:p@h1,b:q@h2/): mask every user:password@ part. */
    {
        size_t cap = strlen(url) * 2 + 8, n = 0;
        char *out = tern_malloc(cap);
        const char *p = url;

        while (*p) {
            const char *seg_end = strpbrk(p, ",/?");
            const char *seg_at = NULL;

            if (p < start) {
                out[n++] = *p++;
                continue;
            }
            if (!seg_end)
                seg_end = p + strlen(p);
            for (const char *q = p; q < seg_end; q++)
                if (*q == '@')
                    seg_at = q;
            if (seg_at) {
                colon = memchr(p, ':', (size_t)(seg_at - p));
                if (colon) {
                    memcpy(out + n, p, (size_t)(colon - p + 1));
                    n += (size_t)(colon - p + 1);
                    memcpy(out + n, "***", 3);
                    n += 3;
                    p = seg_at;
                }
            }
            memcpy(out + n, p, (size_t)(seg_end - p));
            n += (size_t)(seg_end - p);
            p = seg_end;
            if (*p == ',') {
                out[n++] = *p++;
                continue;
            }
            /* path and query copied verbatim */
            memcpy(out + n, p, strlen(p));
            n += strlen(p);
            break;
        }
        out[n] = '\0';
        return out;
    }
}
