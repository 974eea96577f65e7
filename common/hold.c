/*
 * common/hold.c: test-only hold points (common/hold.h); compiled with --enable-hold-points only.
 */
#include "config.h"

#ifdef TERN_HOLD_POINTS
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/hold.h"
#include "common/log.h"
#include "common/util.h"

#define HOLD_POLL_MS 50
#define HOLD_MAX_MS (10 * 60 * 1000)

/* hold_path: dir/prefix-phase[-id] into buf; false when TERN_HOLD_DIR is unset or too long. */
static bool
hold_path(char *buf, size_t size, const char *prefix, const char *phase, const char *id)
{
    const char *dir = getenv("TERN_HOLD_DIR");
    int n;

    if (!dir || !*dir)
        return false;
    n = id ? snprintf(buf, size, "%s/%s-%s-%s", dir, prefix, phase, id)
           : snprintf(buf, size, "%s/%s-%s", dir, prefix, phase);
    return n > 0 && (size_t)n < size;
}

bool
tern_hold_enter(const char *phase, const char *id)
{
    char armed[4096], held[4096];
    int fd;

    if (!hold_path(armed, sizeof(armed), "arm", phase, NULL) || access(armed, F_OK) != 0 ||
        !hold_path(held, sizeof(held), "held", phase, id))
        return false;
    if ((fd = open(held, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        TERN_WARN("hold point %s: cannot create \"%s\": not holding", phase, held);
        return false;
    }
    close(fd);
    TERN_WARN("hold point %s: holding %s until \"%s\" is removed", phase, id, held);
    return true;
}

bool
tern_hold_released(const char *phase, const char *id)
{
    char held[4096];

    return !hold_path(held, sizeof(held), "held", phase, id) || access(held, F_OK) != 0;
}

void
tern_hold(const char *phase, const char *id)
{
    int64_t deadline = tern_now_monotonic_ms() + HOLD_MAX_MS;

    if (!tern_hold_enter(phase, id))
        return;
    while (!tern_hold_released(phase, id) && tern_now_monotonic_ms() < deadline)
        tern_sleep_ms(HOLD_POLL_MS);
    TERN_WARN("hold point %s: %s goes on", phase, id);
}
#endif /* TERN_HOLD_POINTS */
