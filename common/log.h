/*
 * common/log.h: leveled logging to stderr, a file or syslog.
 *
 * One process-wide sink, configured once at start-up by the daemon (conf_log_setup() reads the
 * [DEFAULT] debug/log_file/use_syslog options and calls tern_log_open()). Each line carries the
 * time, level, program, thread's request id (when one is set) and the message:
 *
 *   2026-11-23 14:40:02.123 INFO tern-conductor [req-0f3c...] migration 5e1a... completed
 *
 * The request id is thread-local: the RPC server sets it from the message's context before a
 * handler runs and clears it after, so every line a handler writes carries it.
 *
 * Libraries (common/, conf/, rpc/, db/) never log the errors they return; they may log what they
 * swallow (a dropped malformed message, a reconnect) at WARNING or below.
 *
 * Threads: tern_log() may be called from any thread; writes are serialised by one mutex.
 */
#ifndef TERN_COMMON_LOG_H
#define TERN_COMMON_LOG_H

#include <stdbool.h>

typedef enum {
    TERN_LOG_DEBUG = 0,
    TERN_LOG_INFO,
    TERN_LOG_WARNING,
    TERN_LOG_ERROR,
} tern_log_level_t;

/* Configure the sink. program: name on every line (copied). log_file: NULL or "" for stderr.
 * use_syslog wins over log_file. Returns -1 (error set) if the file cannot be opened. May be
 * called again to reopen (e.g. after log rotation). */
int tern_log_open(const char *program, tern_log_level_t min_level, const char *log_file,
                  bool use_syslog);
void tern_log_close(void);

/* Set this thread's request id (copied; NULL clears). Borrowed result of the getter. */
void tern_log_set_request_id(const char *request_id);
const char *tern_log_request_id(void);

bool tern_log_enabled(tern_log_level_t level);

void tern_log(tern_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define TERN_DEBUG(...)                            \
    do {                                           \
        if (tern_log_enabled(TERN_LOG_DEBUG))      \
            tern_log(TERN_LOG_DEBUG, __VA_ARGS__); \
    } while (0)
#define TERN_INFO(...) tern_log(TERN_LOG_INFO, __VA_ARGS__)
#define TERN_WARN(...) tern_log(TERN_LOG_WARNING, __VA_ARGS__)
#define TERN_ERROR(...) tern_log(TERN_LOG_ERROR, __VA_ARGS__)

/* Copy a URL with its password replaced by "***" into a new string (caller frees). Used wherever
 * a transport_url or database connection string could reach a log line or an error message. */
char *tern_log_mask_url(const char *url);

#endif /* TERN_COMMON_LOG_H */
