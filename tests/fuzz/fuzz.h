/*
 * tests/fuzz/fuzz.h: what the libFuzzer targets of tests/fuzz share - the promise every error
 * message keeps (common/error.h), checked the same way by each target.
 *
 * Header-only (static functions): each target is one translation unit plus the product files it
 * fuzzes. A broken promise aborts, which libFuzzer reports as a crash with its input.
 */
#ifndef TERN_TESTS_FUZZ_H
#define TERN_TESTS_FUZZ_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fuzz_utf8_length: the length of the valid UTF-8 sequence at p (1..4), 0 when it is none; as
 * jansson reads text (no overlong form, no surrogate, nothing above U+10FFFF). A copy of
 * common/util.c's utf8_length kept on purpose: it is the oracle that judges the messages
 * tern_utf8_sanitize wrote with that function, and a shared bug would pass both. */
static inline size_t
fuzz_utf8_length(const unsigned char *p)
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
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* fuzz_check_message: an error message is non-empty, one line of valid UTF-8 without control
 * characters (it goes into JSON and log lines); else the message is printed and the run aborts. */
static inline void
fuzz_check_message(const char *msg)
{
    const unsigned char *p = (const unsigned char *)msg;

    if (!msg || !msg[0] || strcmp(msg, "unknown error") == 0) {
        fprintf(stderr, "fuzz: a failure without a message\n");
        abort();
    }
    while (*p) {
        size_t n = fuzz_utf8_length(p);

        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            fprintf(stderr, "fuzz: an error message that is not one line of UTF-8: %s\n", msg);
            abort();
        }
        p += n;
    }
}

#endif /* TERN_TESTS_FUZZ_H */
