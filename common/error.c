/*
 * common/error.c: the thread-local last-error slot behind common/error.h.
 *
 * Each thread owns its slot; nothing here allocates, so reporting an error cannot itself fail.
 */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

static _Thread_local tern_error_t last_error;

/* Bounded copy that always terminates (util.c depends on this file, not the reverse). */
static void
error_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);

    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static const char *const code_names[TERN_ERR__COUNT] = {
    [TERN_ERR_NONE] = "none",
    [TERN_ERR_INTERNAL] = "internal",
    [TERN_ERR_INVALID] = "invalid",
    [TERN_ERR_CONFIG] = "config",
    [TERN_ERR_NOT_FOUND] = "not_found",
    [TERN_ERR_CONFLICT] = "conflict",
    [TERN_ERR_PERMISSION] = "permission",
    [TERN_ERR_SYSTEM] = "system",
    [TERN_ERR_TIMEOUT] = "timeout",
    [TERN_ERR_RPC] = "rpc",
    [TERN_ERR_DB] = "db",
    [TERN_ERR_VIRT] = "virt",
    [TERN_ERR_CHECK_FAILED] = "check_failed",
    [TERN_ERR_UNAVAILABLE] = "unavailable",
    [TERN_ERR_RATE_LIMITED] = "rate_limited",
};

static void
error_record(tern_error_code_t code, const char *file, const char *func, int line, const char *fmt,
             va_list ap)
{
    last_error.code = code;
    last_error.file = file;
    last_error.func = func;
    last_error.line = line;
    last_error.remote = false;
    vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
    tern_utf8_sanitize(last_error.message);
}

int
tern_error_set_full(tern_error_code_t code, const char *file, const char *func, int line,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_record(code, file, func, line, fmt, ap);
    va_end(ap);
    return -1;
}

int
tern_error_set_errno_full(int errnum, const char *file, const char *func, int line, const char *fmt,
                          ...)
{
    va_list ap;
    size_t len;

    va_start(ap, fmt);
    error_record(TERN_ERR_SYSTEM, file, func, line, fmt, ap);
    va_end(ap);
    len = strlen(last_error.message);
    snprintf(last_error.message + len, sizeof(last_error.message) - len, ": %s", strerror(errnum));
    tern_utf8_sanitize(last_error.message);
    return -1;
}

int
tern_error_prefix(const char *fmt, ...)
{
    char prefix[TERN_ERROR_MSG_MAX / 2];
    char old[TERN_ERROR_MSG_MAX];
    int n;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, last_error.message, sizeof(old));
    if (last_error.code == TERN_ERR_NONE)
        last_error.code = TERN_ERR_INTERNAL;
    n = snprintf(last_error.message, sizeof(last_error.message), "%s: ", prefix);
    error_strlcpy(last_error.message + n, old[0] ? old : "unknown error",
                  sizeof(last_error.message) - (size_t)n);
    tern_utf8_sanitize(last_error.message);
    return -1;
}

void
tern_error_mark_remote(void)
{
    if (last_error.code != TERN_ERR_NONE)
        last_error.remote = true;
}

bool
tern_error_is_remote(void)
{
    return last_error.code != TERN_ERR_NONE && last_error.remote;
}

const tern_error_t *
tern_error_last(void)
{
    return &last_error;
}

const char *
tern_error_message(void)
{
    if (last_error.code == TERN_ERR_NONE || last_error.message[0] == '\0')
        return "unknown error";
    return last_error.message;
}

tern_error_code_t
tern_error_code(void)
{
    return last_error.code;
}

void
tern_error_copy(tern_error_t *ret_err)
{
    *ret_err = last_error;
}

void
tern_error_restore(const tern_error_t *err)
{
    last_error = *err;
}

void
tern_error_reset(void)
{
    memset(&last_error, 0, sizeof(last_error));
}

const char *
tern_error_code_name(tern_error_code_t code)
{
    if ((int)code < 0 || code >= TERN_ERR__COUNT)
        return "internal";
    return code_names[code];
}

tern_error_code_t
tern_error_code_from_name(const char *name)
{
    for (int i = 0; i < TERN_ERR__COUNT; i++) {
        if (name && strcmp(code_names[i], name) == 0)
            return (tern_error_code_t)i;
    }
    return TERN_ERR_INTERNAL;
}
