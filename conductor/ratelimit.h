/*
 * conductor/ratelimit.h: per-identity rate limits on the conductor's expensive methods.
 *
 * A token bucket per caller identity (the broker-validated AMQP user-id): it holds at most
 * `burst` tokens, refills at `per_minute` tokens a minute, and each limited request takes one.
 * A request that finds the bucket empty is refused (RATE_LIMITED, naming the identity, the
 * method and when a token is back) before its handler runs, and changes nothing. Which methods
 * are limited is conductor/dispatch.c's table (those that start work or read whole tables).
 *
 * The table holds RATELIMIT_MAX_IDENTITIES buckets; when a new identity finds it full, the
 * bucket that is fullest (the least recent caller at the full rate) is given to it - a refill
 * that would have filled it anyway, so no caller gains from it.
 *
 * Ownership: conductor_ratelimit_t is owned by the conductor, thread-safe (one mutex); free
 * with conductor_ratelimit_free. Time comes in from the caller (monotonic ms) so that tests
 * feed it.
 */
#ifndef TERN_CONDUCTOR_RATELIMIT_H
#define TERN_CONDUCTOR_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_MAX_IDENTITIES 256

typedef struct conductor_ratelimit conductor_ratelimit_t;

/* A limiter of per_minute requests a minute with bursts of up to burst (>= 1); per_minute 0
 * limits nothing. */
conductor_ratelimit_t *conductor_ratelimit_new(int per_minute, int burst);
void conductor_ratelimit_free(conductor_ratelimit_t *rl);

/* Take a token of identity's bucket at now_ms for method: 0 when allowed; -1 with a
 * RATE_LIMITED error naming identity, method and the wait otherwise. */
int conductor_ratelimit_take(conductor_ratelimit_t *rl, const char *identity, const char *method,
                             int64_t now_ms);

#endif /* TERN_CONDUCTOR_RATELIMIT_H */
