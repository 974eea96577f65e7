/*
 * tools/config/tern-config.c: the configuration from an operator's side.
 *
 *   tern-config sample                                   print the sample (etc/tern.conf.sample)
 *   tern-config policy-sample                            print the policy's defaults in code, as
 *                                                        a policy file (conductor/policy.h)
 *   tern-config check [--config-file F]... [--config-dir D]   validate; exit 1 with the reason
 *   tern-config show [--config-file F]... [--config-dir D]    the effective values, secrets
 *                                                             masked
 *   tern-config --help | --version
 *
 * The command may also come after the options (tern-config --config-file F check). Without
 * --config-file and --config-dir, check and show read /etc/tern/tern.conf when it exists, as
 * the daemons do. Exit status: 0 success, 1 invalid configuration, 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "conductor/policy.h"
#include "conf/conf.h"

#define PROGRAM "tern-config"
#define USAGE "sample|policy-sample|check|show"

static bool
is_command(const char *s)
{
    return strcmp(s, "sample") == 0 || strcmp(s, "policy-sample") == 0 || strcmp(s, "check") == 0 ||
           strcmp(s, "show") == 0;
}

int
main(int argc, char **argv)
{
    TERN_AUTOFREE char **av = tern_calloc((size_t)argc + 1, sizeof(char *));
    const char *cmd = NULL;
    conf_args_t args;
    conf_t *cfg;
    int ac = 0, rc;

    tern_json_init(); /* before any JSON: jansson allocates as tern does */

    /* "tern-config check --config-file F": take the command out, parse the rest. */
    av[ac++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (!cmd && is_command(argv[i]) && strcmp(argv[i - 1], "--config-file") != 0 &&
            strcmp(argv[i - 1], "--config-dir") != 0)
            cmd = argv[i];
        else
            av[ac++] = argv[i];
    }
    rc = conf_parse_args_full(ac, av, PROGRAM, USAGE, true, &args);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : 2;
    if (!cmd || args.n_rest != 0) {
        if (args.n_rest > 0)
            fprintf(stderr,
                    PROGRAM
                    ": unknown command \"%s\": expected sample, policy-sample, check or show\n",
                    args.rest[0]);
        else
            fprintf(stderr,
                    PROGRAM ": expected one command: sample, policy-sample, check or show (see "
                            "--help)\n");
        conf_args_clear(&args);
        return 2;
    }
    if (strcmp(cmd, "sample") == 0) {
        conf_write_sample(stdout);
        conf_args_clear(&args);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "policy-sample") == 0) {
        TERN_AUTOFREE char *text = conductor_policy_sample();

        fputs(text, stdout);
        conf_args_clear(&args);
        return EXIT_SUCCESS;
    }
    cfg = conf_load_args(&args);
    conf_args_clear(&args);
    if (!cfg) {
        fprintf(stderr, PROGRAM ": %s\n", tern_error_message());
        return EXIT_FAILURE;
    }
    if (strcmp(cmd, "show") == 0)
        conf_write_effective(cfg, stdout);
    else
        printf("configuration is valid\n");
    conf_free(cfg);
    return EXIT_SUCCESS;
}
