/*
 * common/hold.h: test-only hold points. A daemon stops at a named step of a migration until a
 * test lets it go, so that tests/faults/ injects a fault at exactly that step.
 *
 * They exist only in a build configured with --enable-hold-points (tools/test's): otherwise
 * every function below is an empty inline one and nothing of this is in the programs, whatever
 * the configuration or the environment says. Even then a daemon holds only when it was started
 * with TERN_HOLD_DIR naming a directory and a file "arm-PHASE" exists in it. It then creates
 * "held-PHASE-ID" there, logs that it holds, and goes on once that file is removed (polled every
 * 50 ms), or after 10 minutes at most: a hold never hangs a daemon for good.
 *
 * Phases used: "checks" (conductor, after the atomic start), "preparation" (source, after the
 * destination prepared), "start" (source, libvirt started, before abort and force-complete can
 * reach it), "transfer" (source, while libvirt migrates: throttled meanwhile),
 * "switch-over" (source, libvirt done, before the switch-over record), "post-processing" (source,
 * after the record, before the clean-up).
 */
#ifndef TERN_COMMON_HOLD_H
#define TERN_COMMON_HOLD_H

#include <stdbool.h>

#include "config.h"

#ifdef TERN_HOLD_POINTS
/* If phase is armed: create the held file for id and return true (the caller holds until
 * tern_hold_released). False when not armed. */
bool tern_hold_enter(const char *phase, const char *id);
/* Whether the test removed the held file of phase and id (or the hold's time is up). */
bool tern_hold_released(const char *phase, const char *id);
/* Enter and wait until released. */
void tern_hold(const char *phase, const char *id);
#else
static inline bool
tern_hold_enter(const char *phase, const char *id)
{
    (void)phase;
    (void)id;
    return false;
}
static inline bool
tern_hold_released(const char *phase, const char *id)
{
    (void)phase;
    (void)id;
    return true;
}
static inline void
tern_hold(const char *phase, const char *id)
{
    (void)phase;
    (void)id;
}
#endif

#endif /* TERN_COMMON_HOLD_H */
