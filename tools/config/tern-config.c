/*
 * tools/config/tern-config.c: the configuration from an operator's side.
 *
 *   tern-config sample                          print the sample file (etc/tern.conf.sample)
 *   tern-config [--config-file F]... [--config-dir D] check   validate; exit 1 with the reason
 *   tern-config [--config-file F]... [--config-dir D] show    the effective values, secrets
 *                                                             masked
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "conf/conf.h"

#define PROGRAM "tern-config"

int
main(int argc, char **argv)
{
    conf_args_t args;
    conf_t *cfg;
    const char *cmd;
    int rc;

    rc = conf_parse_args_full(argc, argv, PROGRAM, "sample|check|show", true, &args);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : 2;
    if (args.n_rest != 1) {
        fprintf(stderr, PROGRAM ": expected one command: sample, check or show (see --help)\n");
        conf_args_clear(&args);
        return 2;
    }
    cmd = args.rest[0];
    if (strcmp(cmd, "sample") == 0) {
        conf_write_sample(stdout);
        conf_args_clear(&args);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "check") != 0 && strcmp(cmd, "show") != 0) {
        fprintf(stderr, PROGRAM ": unknown command \"%s\": expected sample, check or show\n", cmd);
        conf_args_clear(&args);
        return 2;
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
