/*
 * tests/conductor/test-ratelimit.c: the per-identity token buckets (conductor/ratelimit.h),
 * with the clock fed in: a burst then refusals, the refill rate, identities independent of each
 * other, a full table and no limit at all. (The real conductor refusing a caller over its limit:
 * tests/cli case identities.)
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "conductor/ratelimit.h"
#include "tests/conductor/conductor_tests.h"

START_TEST(test_ratelimit_burst_then_rate)
{
    conductor_ratelimit_t *rl = conductor_ratelimit_new(60, 3); /* one a second, bursts of 3 */
    int64_t t = 1000000;

    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "migration_list", t), 0);
    ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "migration_list", t), -1);
    ck_assert_int_eq(tern_error_code(), TERN_ERR_RATE_LIMITED);
    ck_assert_str_eq(tern_error_message(),
                     "user \"demo\" may not call \"migration_list\" now: over its rate limit of 60 "
                     "requests a minute (bursts of 3); try again in 1001 ms");
    /* half a second later: still no whole token; a second later: one, and one only */
    ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "server_list", t + 500), -1);
    ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "server_list", t + 1000), 0);
    ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "server_list", t + 1000), -1);
    /* an hour idle refills to the burst, no more */
    t += 3600 * 1000;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "live_migrate", t), 0);
    ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "live_migrate", t), -1);
    conductor_ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_identities_apart)
{
    conductor_ratelimit_t *rl = conductor_ratelimit_new(60, 2);
    char name[32];

    ck_assert_int_eq(conductor_ratelimit_take(rl, "tern", "live_migrate", 0), 0);
    ck_assert_int_eq(conductor_ratelimit_take(rl, "tern", "live_migrate", 0), 0);
    ck_assert_int_eq(conductor_ratelimit_take(rl, "tern", "live_migrate", 0), -1);
    ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "live_migrate", 0), 0); /* its own */
    ck_assert_int_eq(conductor_ratelimit_take(rl, NULL, "live_migrate", 0), 0);
    ck_assert_int_eq(conductor_ratelimit_take(rl, "", "live_migrate", 0), 0); /* one "(none)" */
    ck_assert_int_eq(conductor_ratelimit_take(rl, "", "live_migrate", 0), -1);
    ck_assert_msg(strstr(tern_error_message(), "user \"(none)\""), "%s", tern_error_message());
    /* a full table: newcomers take the fullest buckets, never the emptied "tern" one */
    for (int i = 0; i < RATELIMIT_MAX_IDENTITIES + 10; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        ck_assert_int_eq(conductor_ratelimit_take(rl, name, "server_list", 10), 0);
    }
    ck_assert_int_eq(conductor_ratelimit_take(rl, "tern", "live_migrate", 10), -1);
    conductor_ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_none)
{
    conductor_ratelimit_t *rl = conductor_ratelimit_new(0, 1);

    ck_assert_ptr_null(rl); /* 0 a minute: no limit */
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(conductor_ratelimit_take(rl, "demo", "server_list", 0), 0);
}
END_TEST

TCase *
conductor_ratelimit_tcase(void)
{
    TCase *tc = tcase_create("ratelimit");

    tcase_add_test(tc, test_ratelimit_burst_then_rate);
    tcase_add_test(tc, test_ratelimit_identities_apart);
    tcase_add_test(tc, test_ratelimit_none);
    return tc;
}
