/*
 * common/util.c: implementation of common/util.h (memory, strings, time, UUIDs, files).
 */
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "common/error.h"

static void __attribute__((noreturn)) oom_abort(size_t size)
{
    fprintf(stderr, "tern: out of memory allocating %zu bytes\n", size);
    abort();
}

void *
tern_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        oom_abort(size);
    return p;
}

void *
tern_calloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        oom_abort(nmemb * size);
    return p;
}

void *
tern_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        oom_abort(size);
    return p;
}

char *
tern_strdup(const char *s)
{
    char *p;

    if (!s)
        return NULL;
    if (!(p = strdup(s)))
        oom_abort(strlen(s) + 1);
    return p;
}

char *
tern_strndup(const char *s, size_t n)
{
    char *p;

    if (!s)
        return NULL;
    if (!(p = strndup(s, n)))
        oom_abort(n + 1);
    return p;
}

char *
tern_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    int rc;

    va_start(ap, fmt);
    rc = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (rc < 0)
        oom_abort(strlen(fmt));
    return p;
}

void
tern_freep(void *ptr)
{
    void **pp = ptr;

    free(*pp);
    *pp = NULL;
}

void
tern_fclosep(FILE **fp)
{
    if (*fp)
        fclose(*fp);
    *fp = NULL;
}

void
tern_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int
tern_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);

    if (size == 0)
        return -1;
    if (len >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

bool
tern_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool
tern_str_empty(const char *s)
{
    return !s || !*s;
}

int
tern_parse_int64(const char *s, const char *what, int64_t *ret_value)
{
    char *end = NULL;
    long long v;

    if (tern_str_empty(s))
        return tern_error_set(TERN_ERR_INVALID, "invalid %s \"\": not an integer", what);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return tern_error_set(TERN_ERR_INVALID, "invalid %s \"%s\": out of range", what, s);
    if (*end != '\0' || end == s)
        return tern_error_set(TERN_ERR_INVALID, "invalid %s \"%s\": not an integer", what, s);
    *ret_value = v;
    return 0;
}

int
tern_parse_double(const char *s, const char *what, double *ret_value)
{
    char *end = NULL;
    double v;

    if (tern_str_empty(s))
        return tern_error_set(TERN_ERR_INVALID, "invalid %s \"\": not a number", what);
    errno = 0;
    v = strtod(s, &end);
    if (errno == ERANGE || !isfinite(v))
        return tern_error_set(TERN_ERR_INVALID, "invalid %s \"%s\": out of range", what, s);
    if (*end != '\0' || end == s)
        return tern_error_set(TERN_ERR_INVALID, "invalid %s \"%s\": not a number", what, s);
    *ret_value = v;
    return 0;
}

int64_t
tern_now_monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
tern_now_monotonic_ms(void)
{
    return tern_now_monotonic_us() / 1000;
}

int64_t
tern_now_realtime_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tern_timespec_after(clockid_t clock, int64_t ms, struct timespec *ret)
{
    clock_gettime(clock, ret);
    ret->tv_sec += (time_t)(ms / 1000);
    ret->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ret->tv_nsec >= 1000000000L) {
        ret->tv_sec++;
        ret->tv_nsec -= 1000000000L;
    }
}

void
tern_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Random UUIDs come from a per-thread generator seeded once from getrandom(): libuuid's
 * uuid_generate_random() makes six system calls per UUID, and RPC makes two per call. The
 * generator is splitmix64 over a 128-bit random seed and a counter; a forked child seeds
 * itself again (fork_generation), so parent and child never repeat each other. */
static unsigned fork_generation;

static void
uuid_after_fork(void)
{
    __atomic_add_fetch(&fork_generation, 1, __ATOMIC_RELAXED);
}

static void
uuid_register_atfork(void)
{
    pthread_atfork(NULL, NULL, uuid_after_fork);
}

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
tern_uuid_generate(char out[37])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static __thread uint64_t state[2];
    static __thread unsigned seeded; /* fork_generation + 1 when seeded */
    unsigned gen;
    uuid_t u;
    uint64_t a, b;

    pthread_once(&once, uuid_register_atfork);
    gen = __atomic_load_n(&fork_generation, __ATOMIC_RELAXED) + 1;
    if (seeded != gen) {
        if (getrandom(state, sizeof(state), 0) != (ssize_t)sizeof(state)) {
            uuid_generate_random(u); /* no entropy source: libuuid finds one */
            uuid_unparse_lower(u, out);
            return;
        }
        seeded = gen;
    }
    a = splitmix64(&state[0]);
    b = splitmix64(&state[1]);
    memcpy(u, &a, 8);
    memcpy(u + 8, &b, 8);
    u[6] = (u[6] & 0x0f) | 0x40; /* version 4 */
    u[8] = (u[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    uuid_unparse_lower(u, out);
}

bool
tern_uuid_valid(const char *s)
{
    uuid_t u;

    return s && strlen(s) == 36 && uuid_parse(s, u) == 0;
}

int
tern_mkdir_p(const char *path, int mode)
{
    TERN_AUTOFREE char *copy = tern_strdup(path);
    char *p;

    for (p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
            return tern_error_set_errno(errno, "could not create directory \"%s\"", copy);
        *p = '/';
    }
    if (mkdir(copy, mode) < 0 && errno != EEXIST)
        return tern_error_set_errno(errno, "could not create directory \"%s\"", copy);
    return 0;
}

int
tern_file_read_all(const char *path, size_t limit, char **ret_data, size_t *ret_len)
{
    TERN_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    TERN_AUTOFREE char *buf = NULL;
    size_t len = 0, cap = 4096;
    ssize_t n;

    if (fd < 0)
        return tern_error_set_errno(errno, "could not open file \"%s\"", path);
    buf = tern_malloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = tern_realloc(buf, cap);
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return tern_error_set_errno(errno, "could not read file \"%s\"", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > limit)
            return tern_error_set(TERN_ERR_INVALID, "file \"%s\" is larger than %zu bytes", path,
                                  limit);
    }
    buf[len] = '\0';
    *ret_data = tern_steal_pointer(&buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

/* The first failure of the removal in progress in this thread (nftw takes no context). */
static __thread int remove_errno;
static __thread char remove_failed[PATH_MAX];

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT)
        return 0;
    remove_errno = errno;
    tern_strlcpy(remove_failed, path, sizeof(remove_failed));
    return 1; /* stop: the parents cannot go either */
}

int
tern_remove_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return tern_error_set_errno(errno, "could not remove \"%s\"", path);
    }
    remove_errno = 0;
    remove_failed[0] = '\0';
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
        if (remove_errno)
            return tern_error_set_errno(remove_errno, "could not remove \"%s\"", remove_failed);
        return tern_error_set_errno(errno, "could not remove \"%s\"", path);
    }
    return 0;
}

/* utf8_length: the length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t
utf8_length(const unsigned char *p)
{
    size_t n;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, cp = p[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0; /* also stops at the NUL of a truncated sequence */
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, out of range, or a surrogate */
    return n;
}

bool
tern_utf8_valid(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_length(p);

        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

char *
tern_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p) {
        size_t n = utf8_length(p);

        if (n == 0) {
            *p++ = '?';
            continue;
        }
        if (n == 1 && (*p < 0x20 || *p == 0x7f))
            *p = ' ';
        p += n;
    }
    return s;
}
