/*
 * common/util.h: memory, strings, cleanup-by-scope and time helpers shared by every module.
 *
 * Allocation: tern_malloc/tern_calloc/tern_strdup/tern_asprintf abort the process on out of
 * memory (as glib and libvirt do); callers never check them for NULL. Every free function in
 * tern accepts NULL.
 *
 * Cleanup by scope: declare `TERN_AUTOFREE char *s = NULL;` and s is freed when it goes out of
 * scope; `tern_steal_pointer(&s)` hands it to the caller instead (the libvirt/glib idiom).
 */
#ifndef TERN_COMMON_UTIL_H
#define TERN_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

void *tern_malloc(size_t size);
void *tern_calloc(size_t nmemb, size_t size);
void *tern_realloc(void *ptr, size_t size);
char *tern_strdup(const char *s); /* NULL in, NULL out */
char *tern_strndup(const char *s, size_t n);
char *tern_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Free *ptr and set it to NULL (argument of the cleanup attribute). */
void tern_freep(void *ptr);
/* fclose(*fp) if open (argument of the cleanup attribute). */
void tern_fclosep(FILE **fp);
/* close(*fd) if >= 0 (argument of the cleanup attribute). */
void tern_closep(int *fd);

#define TERN_AUTOFREE __attribute__((cleanup(tern_freep)))
#define TERN_AUTOCLOSE __attribute__((cleanup(tern_closep)))
#define TERN_AUTOFCLOSE __attribute__((cleanup(tern_fclosep)))

/* Return *pp and set *pp to NULL: hands an owned pointer out of a cleanup-by-scope variable. */
#define tern_steal_pointer(pp)              \
    __extension__({                         \
        __typeof__(*(pp)) tern_sp_ = *(pp); \
        *(pp) = NULL;                       \
        tern_sp_;                           \
    })

#define TERN_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* Safe string copy: always NUL-terminates; returns -1 (no error set) when truncated. */
int tern_strlcpy(char *dst, const char *src, size_t size);

bool tern_streq(const char *a, const char *b); /* NULL-safe equality */
bool tern_str_empty(const char *s);            /* NULL or "" */

/* Parse a whole decimal integer / double; -1 with an error naming `what` on bad input. */
int tern_parse_int64(const char *s, const char *what, int64_t *ret_value);
int tern_parse_double(const char *s, const char *what, double *ret_value);

/* Monotonic and wall clocks. */
int64_t tern_now_monotonic_ms(void);
int64_t tern_now_monotonic_us(void);
int64_t tern_now_realtime_ms(void);
void tern_sleep_ms(int64_t ms);
/* *ret := now on clock (CLOCK_REALTIME, CLOCK_MONOTONIC) plus ms: a deadline for
 * pthread_cond_timedwait. */
void tern_timespec_after(clockid_t clock, int64_t ms, struct timespec *ret);

/* Generate a random (v4) UUID in canonical lower-case form into out (37 bytes with NUL). */
void tern_uuid_generate(char out[37]);
/* True if s is a canonical UUID (36 characters, hex and dashes). */
bool tern_uuid_valid(const char *s);

/* Whether s (NUL-terminated) is valid UTF-8 as jansson takes it (no overlong form, surrogate or
 * code point above U+10FFFF): text that json_string() and json_pack("s") accept. */
bool tern_utf8_valid(const char *s);

/* Make s (NUL-terminated, changed in place) valid UTF-8 text of one line: each byte of an
 * invalid or truncated sequence becomes '?', each control character (newlines included) a
 * space. Error messages pass through it, since they carry other programs' output and go into
 * JSON (which must be UTF-8) and log lines. Returns s. */
char *tern_utf8_sanitize(char *s);

/* Create a directory and its parents (mode 0755); -1 with a SYSTEM error on failure. */
int tern_mkdir_p(const char *path, int mode);

/* Remove path and everything under it, in this process (nftw, deepest first), staying on
 * path's file system: a mount inside it is not descended into, so its mount point stays and
 * the removal fails (ENOTEMPTY) instead of deleting another file system's files. Symbolic
 * links are removed, never followed. A missing path is not an error. -1 with a SYSTEM error
 * naming the first entry that could not be removed. */
int tern_remove_tree(const char *path);

/* Read a whole file into a new NUL-terminated buffer (caller frees); limit in bytes. */
int tern_file_read_all(const char *path, size_t limit, char **ret_data, size_t *ret_len);

#endif /* TERN_COMMON_UTIL_H */
