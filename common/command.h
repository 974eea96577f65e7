/*
 * common/command.h: run an external program from an argv array (never through a shell).
 *
 * tern_command_run() forks, execs argv[0] (searched in PATH), waits for it with an optional
 * timeout, and collects its stdout and stderr (each truncated at 1 MiB). A non-zero exit, a
 * signal or a timeout is an error naming the program and carrying the first line of its stderr.
 */
#ifndef TERN_COMMON_COMMAND_H
#define TERN_COMMON_COMMAND_H

typedef struct tern_command_result {
    int exit_status; /* exit code, or 128+signal */
    char *out;       /* captured stdout, NUL-terminated (owned; tern_command_result_clear) */
    char *err;       /* captured stderr, NUL-terminated (owned) */
} tern_command_result_t;

/* Run argv (NULL-terminated). timeout_ms <= 0 means no limit. ret_result may be NULL; when
 * given it is filled on success and on a non-zero exit alike (then the caller must clear it).
 * Returns 0 when the program exited 0, -1 with an error otherwise. */
int tern_command_run(const char *const argv[], int timeout_ms, tern_command_result_t *ret_result);

void tern_command_result_clear(tern_command_result_t *result);

#endif /* TERN_COMMON_COMMAND_H */
