/*
 * conf/args.c: the command line every daemon and tool shares, and logging set-up from conf_t.
 *
 * conf_parse_args*() know --config-file, --config-dir, --help and --version; they print --help,
 * --version and usage errors themselves (they stand for the program's own command line) and
 * return what the caller does next. The conf_args_t they fill borrows its strings from argv.
 */
#include "conf/conf.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

int
conf_parse_args_full(int argc, char **argv, const char *program, const char *extra_usage,
                     bool allow_rest, conf_args_t *ret_args)
{
    static const struct option longopts[] = {
        {"config-file", required_argument, NULL, 'c'},
        {"config-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    memset(ret_args, 0, sizeof(*ret_args));
    optind = 0; /* full re-initialisation of glibc's getopt: callable more than once */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            ret_args->config_files = tern_realloc(ret_args->config_files,
                                                  (ret_args->n_config_files + 1) * sizeof(char *));
            ret_args->config_files[ret_args->n_config_files++] = optarg;
            break;
        case 'd':
            ret_args->config_dir = optarg;
            break;
        case 'h':
            conf_write_usage(stdout, program, extra_usage);
            conf_args_clear(ret_args);
            return 1;
        case 'V':
            printf("%s %s\n", program, PACKAGE_VERSION);
            conf_args_clear(ret_args);
            return 1;
        default:
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", program,
                    argv[optind - 1]);
            conf_args_clear(ret_args);
            return -1;
        }
    }
    if (!allow_rest && optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", program, argv[optind]);
        conf_args_clear(ret_args);
        return -1;
    }
    ret_args->rest = argv + optind;
    ret_args->n_rest = argc - optind;
    return 0;
}

int
conf_parse_args(int argc, char **argv, const char *program, conf_args_t *ret_args)
{
    return conf_parse_args_full(argc, argv, program, NULL, false, ret_args);
}

void
conf_args_clear(conf_args_t *args)
{
    if (!args)
        return;
    free(args->config_files);
    memset(args, 0, sizeof(*args));
}

conf_t *
conf_load_args(const conf_args_t *args)
{
    const char *deflt = CONF_DEFAULT_FILE;

    if (args->n_config_files == 0 && !args->config_dir)
        return conf_load_files(&deflt, access(deflt, F_OK) == 0 ? 1 : 0, NULL);
    return conf_load_files((const char *const *)args->config_files, args->n_config_files,
                           args->config_dir);
}

int
conf_log_setup(const conf_t *cfg, const char *program)
{
    return tern_log_open(program, cfg->debug ? TERN_LOG_DEBUG : TERN_LOG_INFO, cfg->log_file,
                         cfg->use_syslog);
}
