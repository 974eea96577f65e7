/*
 * compute/hooks.h: host-side migration hooks, as oVirt's VDSM runs them (before_vm_migrate_source
 * and its kin): the executables an operator puts in <hooks_dir>/<event>.d/ run at each step of a
 * live migration on this host, and a before-hook that fails vetoes the migration.
 *
 *   compute_hooks_check_dir   at start-up: [compute] hooks_dir is empty or a directory
 *   compute_hooks_payload_new what each hook reads on stdin (one JSON object)
 *   compute_hooks_run         run one event's hooks in strcmp order, stop at the first failure
 *   compute_hooks_before      the same for a manager and a migration (a before-hook: -1 vetoes)
 *   compute_hooks_after       the same, a failure only logged (an after-hook)
 *
 * A hook is every regular, executable file of <hooks_dir>/<event>.d/ whose name does not start
 * with '.' nor end with '~' (the others are skipped, logged at debug). Each is started with
 * fork/execve (no shell, cwd "/", its own process group, every other descriptor closed, the
 * signal mask cleared), the payload on stdin (written without ever blocking on a hook that does
 * not read it), an environment of PATH, TERN_HOOK_EVENT, TERN_INSTANCE_UUID and
 * TERN_MIGRATION_UUID; its stdout is logged at debug, the first COMPUTE_HOOK_OUTPUT_MAX bytes of
 * each stream are kept. It fails when it exits non-zero, is killed, cannot be executed, or
 * outlives its time limit (its process group is then killed with SIGKILL and reaped).
 *
 * Errors: compute_hooks_run returns -1 with a CHECK_FAILED error
 *   hook "before_migration_source.d/10-window" refused: outside the maintenance window
 * (the first line of its stderr, else its exit status or signal), or a TIMEOUT error
 *   hook "before_migration_source.d/10-window" timed out after 30 s
 * Ownership: every input is borrowed; compute_hooks_payload_new returns a new reference.
 * Threads: any thread may run hooks at once (nothing shared; SIGPIPE is blocked in the calling
 * thread while it writes a hook's stdin).
 */
#ifndef TERN_COMPUTE_HOOKS_H
#define TERN_COMPUTE_HOOKS_H

#include <jansson.h>
#include <stdbool.h>

#include "compute/compute.h"

#define COMPUTE_HOOK_BEFORE_MIGRATION_SOURCE "before_migration_source"
#define COMPUTE_HOOK_AFTER_MIGRATION_SOURCE "after_migration_source"
#define COMPUTE_HOOK_AFTER_MIGRATION_FAILURE_SOURCE "after_migration_failure_source"
#define COMPUTE_HOOK_BEFORE_MIGRATION_DESTINATION "before_migration_destination"
#define COMPUTE_HOOK_AFTER_MIGRATION_DESTINATION "after_migration_destination"

#define COMPUTE_HOOK_OUTPUT_MAX 4096 /* bytes of a hook's stderr (and stdout) kept */

/* The migration as hooks see it (strings borrowed; NULL: not known on this host). */
typedef struct compute_hook_migration {
    const char *uuid;
    const char *source_host;
    const char *dest_host;
    bool block_migration;
} compute_hook_migration_t;

/* 0 when dir is NULL, empty or a directory; else -1 with a CONFIG error naming it. */
int compute_hooks_check_dir(const char *dir);

/* {"event", "host", "instance": INSTANCE (copied), "migration": {"uuid", "source_host",
 * "dest_host", "block_migration"}} (new; unknown strings are null). */
json_t *compute_hooks_payload_new(const char *event, const char *host, const json_t *instance,
                                  const compute_hook_migration_t *migration);

/* Run the hooks of event under dir (NULL or "": none; a missing <event>.d: none), each with
 * payload on stdin and timeout_ms to finish, in strcmp order of their names, stopping at the
 * first that fails. 0, or -1 with the error above (or a SYSTEM error when <event>.d cannot be
 * read or a hook cannot be started). */
int compute_hooks_run(const char *dir, const char *event, const json_t *payload, int timeout_ms);

/* compute_hooks_run for this manager's configuration ([compute] hooks_dir, hook_timeout) and
 * this migration of instance: 0, or -1 with its error (a before-hook's veto). */
int compute_hooks_before(compute_manager_t *mgr, const char *event, const json_t *instance,
                         const compute_hook_migration_t *migration);

/* The same for an after-hook: a failure is logged as a warning, never returned. */
void compute_hooks_after(compute_manager_t *mgr, const char *event, const json_t *instance,
                         const compute_hook_migration_t *migration);

#endif /* TERN_COMPUTE_HOOKS_H */
