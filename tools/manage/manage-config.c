/*
 * tools/manage/manage-config.c: where tern-manage finds its database connection string.
 *
 * Reads the [database] connection option of the configuration files, in the order oslo.config
 * uses: each --config-file in turn, then --config-dir's *.conf files in name order; a later
 * value wins. With neither option, MANAGE_DEFAULT_CONFIG.
 */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tools/manage/manage.h"

/* Not TERN_SYSCONFDIR: configure defines it as the unexpanded "${prefix}/etc". */
#define MANAGE_DEFAULT_CONFIG "/etc/tern/tern.conf"

static int
config_handler(void *user, const char *section, const char *name, const char *value)
{
    char **conninfo = user;

    if (strcmp(section, "database") == 0 && strcmp(name, "connection") == 0) {
        free(*conninfo);
        *conninfo = tern_strdup(value);
    }
    return 1;
}

static int
config_read(const char *path, char **conninfo)
{
    int rc = ini_parse(path, config_handler, conninfo);

    if (rc == -1)
        return tern_error_set(TERN_ERR_CONFIG, "could not read configuration file \"%s\": %s", path,
                              strerror(errno ? errno : ENOENT));
    if (rc != 0)
        return tern_error_set(TERN_ERR_CONFIG,
                              "could not parse configuration file \"%s\": syntax error at line %d",
                              path, rc);
    return 0;
}

static int
conf_file_filter(const struct dirent *d)
{
    size_t len = strlen(d->d_name);

    return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".conf") == 0;
}

int
manage_config_connection(const manage_options_t *opts, char **ret_conninfo)
{
    TERN_AUTOFREE char *conninfo = NULL;
    TERN_AUTOFREE char *deflt = NULL;
    const char *where;

    if (opts->n_config_files == 0 && !opts->config_dir) {
        deflt = tern_strdup(MANAGE_DEFAULT_CONFIG);
        if (config_read(deflt, &conninfo) < 0)
            return -1;
    }
    for (size_t i = 0; i < opts->n_config_files; i++)
        if (config_read(opts->config_files[i], &conninfo) < 0)
            return -1;
    if (opts->config_dir) {
        struct dirent **names = NULL;
        int n = scandir(opts->config_dir, &names, conf_file_filter, alphasort);
        int rc = 0;

        if (n < 0)
            return tern_error_set_errno(errno, "could not read configuration directory \"%s\"",
                                        opts->config_dir);
        for (int i = 0; i < n; i++) {
            TERN_AUTOFREE char *path = tern_asprintf("%s/%s", opts->config_dir, names[i]->d_name);
            if (rc == 0)
                rc = config_read(path, &conninfo);
            free(names[i]);
        }
        free(names);
        if (rc < 0)
            return -1;
    }
    if (tern_str_empty(conninfo)) {
        where = deflt ? deflt : opts->n_config_files ? opts->config_files[0] : opts->config_dir;
        return tern_error_set(
            TERN_ERR_CONFIG,
            "cannot connect to the database: option \"connection\" of section "
            "[database] is not set (read \"%s\"%s)",
            where, opts->n_config_files + (opts->config_dir ? 1 : 0) > 1 ? " and others" : "");
    }
    *ret_conninfo = tern_steal_pointer(&conninfo);
    return 0;
}
