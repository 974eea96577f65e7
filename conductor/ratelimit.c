/*
 * conductor/ratelimit.c: token buckets per caller identity (see ratelimit.h).
 */
#include "conductor/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#define IDENTITY_MAX 128 /* longer identities share the bucket of their first 127 characters */

typedef struct bucket {
    char identity[IDENTITY_MAX]; /* "" unused */
    double tokens;
    int64_t at_ms; /* when tokens was last brought up to date */
} bucket_t;

struct conductor_ratelimit {
    pthread_mutex_t lock;
    double per_ms; /* tokens added per millisecond */
    double burst;
    bucket_t buckets[RATELIMIT_MAX_IDENTITIES]; /* guarded by lock */
};

conductor_ratelimit_t *
conductor_ratelimit_new(int per_minute, int burst)
{
    conductor_ratelimit_t *rl;

    if (per_minute <= 0)
        return NULL; /* nothing limited: callers pass NULL on to take */
    rl = tern_calloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->lock, NULL);
    rl->per_ms = per_minute / 60000.0;
    rl->burst = burst >= 1 ? burst : 1;
    return rl;
}

void
conductor_ratelimit_free(conductor_ratelimit_t *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

/* refill: bring b's tokens up to now_ms. */
static void
refill(const conductor_ratelimit_t *rl, bucket_t *b, int64_t now_ms)
{
    if (now_ms > b->at_ms) {
        b->tokens += (double)(now_ms - b->at_ms) * rl->per_ms;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->at_ms = now_ms;
    }
}

/* bucket_of: identity's bucket, a new full one when it has none (see ratelimit.h). */
static bucket_t *
bucket_of(conductor_ratelimit_t *rl, const char *identity, int64_t now_ms)
{
    bucket_t *free_slot = NULL, *fullest = NULL;

    for (size_t i = 0; i < RATELIMIT_MAX_IDENTITIES; i++) {
        bucket_t *b = &rl->buckets[i];

        if (!b->identity[0]) {
            free_slot = free_slot ? free_slot : b;
            continue;
        }
        if (strncmp(b->identity, identity, IDENTITY_MAX - 1) == 0)
            return b;
        refill(rl, b, now_ms);
        if (!fullest || b->tokens > fullest->tokens)
            fullest = b;
    }
    if (!free_slot) {
        if (fullest->tokens < rl->burst)
            TERN_WARN("rate limit: more than %d identities call at once; \"%s\" takes the "
                      "bucket of \"%s\"",
                      RATELIMIT_MAX_IDENTITIES, identity, fullest->identity);
        free_slot = fullest;
    }
    tern_strlcpy(free_slot->identity, identity, sizeof(free_slot->identity));
    free_slot->tokens = rl->burst;
    free_slot->at_ms = now_ms;
    return free_slot;
}

int
conductor_ratelimit_take(conductor_ratelimit_t *rl, const char *identity, const char *method,
                         int64_t now_ms)
{
    bucket_t *b;
    int64_t wait_ms;

    if (!rl)
        return 0;
    if (!identity || !identity[0])
        identity = "(none)";
    pthread_mutex_lock(&rl->lock);
    b = bucket_of(rl, identity, now_ms);
    refill(rl, b, now_ms);
    if (b->tokens >= 1) {
        b->tokens -= 1;
        pthread_mutex_unlock(&rl->lock);
        return 0;
    }
    wait_ms = (int64_t)((1 - b->tokens) / rl->per_ms) + 1;
    pthread_mutex_unlock(&rl->lock);
    return tern_error_set(TERN_ERR_RATE_LIMITED,
                          "user \"%s\" may not call \"%s\" now: over its rate limit of %.0f "
                          "requests a minute (bursts of %.0f); try again in %lld ms",
                          identity, method, rl->per_ms * 60000.0, rl->burst, (long long)wait_ms);
}
