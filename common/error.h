/*
 * common/error.h: the one error type of tern.
 *
 * An error is reported once, where it is detected, with tern_error_set(); it records a code, a
 * message and where it was raised (file, function, line) in a thread-local slot, and the function
 * returns -1 or NULL. Callers only propagate that failure; the daemon at the top decides whether
 * to log the error, send it back over RPC or exit. Libraries never log the errors they return.
 *
 * Messages follow PostgreSQL's style guide: lower case, no final period, names quoted, the reason
 * after a colon: could not open file "/etc/tern/tern.conf": No such file or directory
 *
 * Ownership: tern_error_last() returns a pointer borrowed from the calling thread's slot, valid
 * until that thread's next tern_error_set()/tern_error_reset(). Copy it with tern_error_copy().
 */
#ifndef TERN_COMMON_ERROR_H
#define TERN_COMMON_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum {
    TERN_ERR_NONE = 0,
    TERN_ERR_INTERNAL,     /* a bug or an unexpected library failure */
    TERN_ERR_INVALID,      /* bad input: request, message, option, argument */
    TERN_ERR_CONFIG,       /* bad configuration file or value */
    TERN_ERR_NOT_FOUND,    /* the named object does not exist */
    TERN_ERR_CONFLICT,     /* the object is in a state that forbids the operation */
    TERN_ERR_PERMISSION,   /* the caller may not do this */
    TERN_ERR_SYSTEM,       /* an operating-system call failed (errno in the message) */
    TERN_ERR_TIMEOUT,      /* something did not answer in time */
    TERN_ERR_RPC,          /* messaging failure (broker, transport, remote error) */
    TERN_ERR_DB,           /* database failure */
    TERN_ERR_VIRT,         /* hypervisor (libvirt/QEMU) failure */
    TERN_ERR_CHECK_FAILED, /* a live-migration pre-check refused the request */
    TERN_ERR_UNAVAILABLE,  /* a service or host is down or unreachable */
    TERN_ERR_RATE_LIMITED, /* the caller sent more requests than its rate limit allows */
    TERN_ERR__COUNT
} tern_error_code_t;

#define TERN_ERROR_MSG_MAX 1024

typedef struct tern_error {
    tern_error_code_t code;           /* TERN_ERR_NONE when no error is recorded */
    char message[TERN_ERROR_MSG_MAX]; /* human-readable, PostgreSQL style */
    const char *file;                 /* source file that raised it (static string) */
    const char *func;                 /* function that raised it (static string) */
    int line;                         /* line that raised it */
    bool remote;                      /* a peer's answer, relayed as it said it (rpc/): the
                                       * caller adds which peer, at its module boundary */
} tern_error_t;

/* Record an error in this thread's slot, replacing any earlier one. Always returns -1 so that
 * `return tern_error_set(...)` reads naturally. */
#define tern_error_set(code, ...) \
    tern_error_set_full((code), __FILE__, __func__, __LINE__, __VA_ARGS__)

/* Record an error whose reason is strerror(errnum): "<message>: <strerror>". Returns -1. */
#define tern_error_set_errno(errnum, ...) \
    tern_error_set_errno_full((errnum), __FILE__, __func__, __LINE__, __VA_ARGS__)

int tern_error_set_full(tern_error_code_t code, const char *file, const char *func, int line,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int tern_error_set_errno_full(int errnum, const char *file, const char *func, int line,
                              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prefix the current error's message with context: "<prefix>: <old message>". Keeps code and
 * location. Used at module boundaries that add the object name. Returns -1. */
int tern_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Mark this thread's error as a peer's answer (set again by any tern_error_set*, kept by
 * tern_error_prefix and tern_error_copy/restore); whether it is one. An error the caller
 * detected itself (a timeout, a broker away) names its peer already; a remote one needs the
 * caller to say which peer answered. */
void tern_error_mark_remote(void);
bool tern_error_is_remote(void);

/* Borrowed pointer to this thread's last error (code TERN_ERR_NONE when none). Never NULL. */
const tern_error_t *tern_error_last(void);

/* The last error's message, or "unknown error" when none was recorded. Borrowed. */
const char *tern_error_message(void);

/* The last error's code. */
tern_error_code_t tern_error_code(void);

/* Copy this thread's last error into *ret_err. */
void tern_error_copy(tern_error_t *ret_err);

/* Make *err this thread's last error (e.g. an error carried back from another thread). */
void tern_error_restore(const tern_error_t *err);

/* Forget this thread's last error. */
void tern_error_reset(void);

/* Stable lower-case name of a code, e.g. "not_found"; used on the wire and in logs. */
const char *tern_error_code_name(tern_error_code_t code);

/* Code for a name produced by tern_error_code_name(); TERN_ERR_INTERNAL when unknown. */
tern_error_code_t tern_error_code_from_name(const char *name);

#endif /* TERN_COMMON_ERROR_H */
