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
 * The connection string comes from the [database] connection option of the configuration
 * (default file /etc/tern/tern.conf). Errors go to stderr as one line
 * "tern-manage: <message>"; exit status 0 on success, 1 on failure, 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "db/db.h"
#include "tools/manage/manage.h"

#define PROGRAM "tern-manage"

static void
usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROGRAM " [OPTIONS] db sync|version\n"
            "\n"
            "Commands:\n"
            "  db sync      bring the database schema up to this tern's version\n"
            "  db version   print the database schema version\n"
            "\n"
            "Options:\n"
            "  --config-file FILE  read configuration from FILE (repeatable; later files win;\n"
            "                      default /etc/tern/tern.conf)\n"
            "  --config-dir DIR    also read DIR/*.conf in name order, after the files\n"
            "  -d, --debug         log debug messages to stderr\n"
            "  -h, --help          show this help\n");
}

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

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config-file", required_argument, NULL, 'c'},
        {"config-dir", required_argument, NULL, 'D'},
        {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    manage_options_t opts = {0};
    TERN_AUTOFREE char *conninfo = NULL;
    db_conn_t *conn;
    int (*command)(db_conn_t *) = NULL;
    int c, rc;

    opts.config_files = tern_calloc((size_t)argc + 1, sizeof(char *));
    while ((c = getopt_long(argc, argv, "dh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opts.config_files[opts.n_config_files++] = optarg;
            break;
        case 'D':
            opts.config_dir = optarg;
            break;
        case 'd':
            opts.debug = true;
            break;
        case 'h':
            usage(stdout);
            free(opts.config_files);
            return 0;
        default:
            usage(stderr);
            free(opts.config_files);
            return 2;
        }
    }
    if (argc - optind == 2 && strcmp(argv[optind], "db") == 0) {
        if (strcmp(argv[optind + 1], "sync") == 0)
            command = manage_db_sync;
        else if (strcmp(argv[optind + 1], "version") == 0)
            command = manage_db_version;
    }
    if (!command) {
        if (argc - optind == 0)
            fprintf(stderr, PROGRAM ": no command given\n");
        else
            fprintf(stderr, PROGRAM ": unknown command \"%s%s%s\"\n", argv[optind],
                    argc - optind > 1 ? " " : "", argc - optind > 1 ? argv[optind + 1] : "");
        usage(stderr);
        free(opts.config_files);
        return 2;
    }

    tern_log_open(PROGRAM, opts.debug ? TERN_LOG_DEBUG : TERN_LOG_WARNING, NULL, false);
    rc = manage_config_connection(&opts, &conninfo);
    free(opts.config_files);
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
