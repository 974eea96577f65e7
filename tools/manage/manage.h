/*
 * tools/manage/manage.h: what tern-manage's files share (the command line and its configuration).
 *
 * Ownership: manage_options_t borrows argv's strings; config_files is an array main() owns.
 */
#ifndef TERN_TOOLS_MANAGE_H
#define TERN_TOOLS_MANAGE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct manage_options {
    const char **config_files; /* --config-file values in order (borrowed strings) */
    size_t n_config_files;
    const char *config_dir; /* --config-dir, or NULL */
    bool debug;
} manage_options_t;

/* The [database] connection option from the configuration the options name (default file
 * /etc/tern/tern.conf). *ret_conninfo: new string. -1 with TERN_ERR_CONFIG when a
 * file cannot be read or parsed, or the option is missing or empty. */
int manage_config_connection(const manage_options_t *opts, char **ret_conninfo);

#endif /* TERN_TOOLS_MANAGE_H */
