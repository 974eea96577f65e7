/*
 * tools/manage/manage.c: tern-manage, the operator's database tool (as nova-manage).
 *
 *   tern-manage [--config-file FILE]... [--config-dir DIR] db sync
 *   tern-manage [--config-file FILE]... [--config-dir DIR] db version
 *
 * db sync     apply the schema files this build carries that the database lacks (idempotent;
 *             refused when the database is newer than this tern-manage)
 * db version  print the database's schema version (0 for an empty database)
 *
 * The connection string comes from the [database] connection option of the configuration,
 * loaded by conf/ (default file /etc/tern/tern.conf); [DEFAULT] debug/log_file/use_syslog set up
 * logging. Errors go to stderr as one line
 * "tern-manage: <message>"; exit status 0 on success, 1 on failure, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/conf.h"
#include "db/db.h"

#define PROGRAM "tern-manage"

/* db sync: report what changed on stdout. */
static int
manage_db_sync(db_conn_t *conn)
{
    int from, to;

    if (db_schema_sync(conn, &from, &to) < 0)
        return -1;
    if (from == to)
        printf("database schema already at version %d\n", to);
    else
        printf("database schema synced from version %d to %d\n", from, to);
    return 0;
}

/* db version: the database's version alone on stdout (scripts read it). */
static int
manage_db_version(db_conn_t *conn)
{
    int version;

    if (db_schema_current_version(conn, &version) < 0)
        return -1;
    printf("%d\n", version);
    return 0;
}

/* The [database] connection option of the loaded configuration; new string. */
static int
manage_config_connection(const conf_args_t *args, char **ret_conninfo)
{
    conf_t *cfg = conf_load_args(args);

    if (!cfg)
        return -1;
    if (conf_log_setup(cfg, PROGRAM) < 0) {
        conf_free(cfg);
        return -1;
    }
    if (tern_str_empty(cfg->database.connection)) {
        conf_free(cfg);
        return tern_error_set(TERN_ERR_CONFIG,
                              "cannot connect to the database: option \"connection\" of section "
                              "[database] is not set");
    }
    *ret_conninfo = tern_strdup(cfg->database.connection);
    conf_free(cfg);
    return 0;
}

int
main(int argc, char **argv)
{
    conf_args_t args;
    TERN_AUTOFREE char *conninfo = NULL;
    db_conn_t *conn;
    int (*command)(db_conn_t *) = NULL;
    int rc;

    tern_json_init(); /* before any JSON: jansson allocates as tern does */

    rc = conf_parse_args_full(argc, argv, PROGRAM, "db sync|version", true, &args);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (args.n_rest == 2 && strcmp(args.rest[0], "db") == 0) {
        if (strcmp(args.rest[1], "sync") == 0)
            command = manage_db_sync;
        else if (strcmp(args.rest[1], "version") == 0)
            command = manage_db_version;
    }
    if (!command) {
        if (args.n_rest == 0)
            fprintf(stderr, PROGRAM ": no command given (db sync, db version; see --help)\n");
        else
            fprintf(stderr,
                    PROGRAM ": unknown command \"%s%s%s\" (db sync, db version; see --help)\n",
                    args.rest[0], args.n_rest > 1 ? " " : "", args.n_rest > 1 ? args.rest[1] : "");
        conf_args_clear(&args);
        return 2;
    }

    /* Until the configuration says otherwise, warnings go to stderr. */
    tern_log_open(PROGRAM, TERN_LOG_WARNING, NULL, false);
    rc = manage_config_connection(&args, &conninfo);
    conf_args_clear(&args);
    if (rc < 0) {
        fprintf(stderr, PROGRAM ": %s\n", tern_error_message());
        return 1;
    }
    conn = db_open(conninfo);
    if (!conn) {
        fprintf(stderr, PROGRAM ": %s\n", tern_error_message());
        return 1;
    }
    rc = command(conn);
    db_close(conn);
    if (rc < 0) {
        fprintf(stderr, PROGRAM ": %s\n", tern_error_message());
        return 1;
    }
    return 0;
}
