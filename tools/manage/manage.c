/*
 * tools/manage/manage.c: tern-manage, the operator's database tool (as nova-manage).
 *
 *   tern-manage [--config-file FILE]... [--config-dir DIR] db sync
 *   tern-manage [--config-file FILE]... [--config-dir DIR] db version
 *   tern-manage [--config-file FILE]... [--config-dir DIR] rabbitmq-setup HOST...
 *
 * db sync     apply the schema files this build carries that the database lacks (idempotent;
 *             refused when the database is newer than this tern-manage)
 * db version  print the database's schema version (0 for an empty database)
 * rabbitmq-setup HOST...
 *             print the rabbitmqctl commands that give each host's compute its own broker user,
 *             "tern-compute.<host>", allowed to consume only its own queues and to publish only
 *             to the exchanges it needs (the configuration's control_exchange); no database
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
#include "common/identity.h"
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

/* regex_quote: text with the characters an Erlang regular expression treats specially escaped
 * (free()). */
static char *
regex_quote(const char *text)
{
    size_t n = strlen(text), j = 0;
    char *out = tern_malloc(2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        if (strchr(".^$*+?()[]{}|\\", text[i]))
            out[j++] = '\\';
        out[j++] = text[i];
    }
    out[j] = '\0';
    return out;
}

/* The names a compute's own rpc server and client use (rpc/server.c, rpc/client.c): the control
 * exchange X, the fanout exchange and its own fanout queues, the topic queue, its server queue
 * and its reply queues; the random parts are 32 hexadecimal digits. */
#define COMPUTE_NAMES(x, h) \
    "%s|compute_fanout|compute|compute\\.%s|compute_fanout_[0-9a-f]{32}|reply_[0-9a-f]{32}", x, h

/* rabbitmq-setup: the commands for each host's compute; a bad host name changes nothing. */
static int
manage_rabbitmq_setup(const char *exchange, char **hosts, int n_hosts)
{
    TERN_AUTOFREE char *x = regex_quote(exchange);

    if (!tern_host_name_ok(exchange)) /* printed in shell quotes below */
        return tern_error_set(TERN_ERR_CONFIG,
                              "invalid option \"control_exchange\" of section [DEFAULT]: \"%s\" "
                              "is not 1 to 255 letters, digits, '.', '_' or '-'",
                              exchange);
    for (int i = 0; i < n_hosts; i++)
        if (!tern_host_name_ok(hosts[i]))
            return tern_error_set(TERN_ERR_INVALID,
                                  "invalid host name \"%s\": 1 to 255 letters, digits, '.', '_' "
                                  "or '-'",
                                  hosts[i]);
    printf("# The broker users of tern's computes (tern-manage rabbitmq-setup), for RabbitMQ's\n"
           "# administrator. Each compute logs in as its own user and may declare and consume\n"
           "# only its own queues, and publish only to \"%s\" (calls) and the default exchange\n"
           "# (replies). add_user asks for the password; put it in that host's transport_url.\n",
           exchange);
    for (int i = 0; i < n_hosts; i++) {
        TERN_AUTOFREE char *user = tern_identity_compute_user(hosts[i]);
        TERN_AUTOFREE char *h = regex_quote(hosts[i]);
        TERN_AUTOFREE char *names = tern_asprintf(COMPUTE_NAMES(x, h));

        printf("rabbitmqctl add_user '%s'\n", user);
        printf("rabbitmqctl set_permissions -p / '%s' '^(%s)$' '^(%s|amq\\.default)$' '^(%s)$'\n",
               user, names, names, names);
    }
    return 0;
}

/* manage_rabbitmq: rabbitmq-setup with the loaded configuration's control exchange; the exit
 * status. */
static int
manage_rabbitmq(conf_args_t *args)
{
    conf_t *cfg;
    int rc;

    if (args->n_rest < 2) {
        fprintf(stderr, PROGRAM ": rabbitmq-setup needs at least one HOST (see --help)\n");
        conf_args_clear(args);
        return 2;
    }
    tern_log_open(PROGRAM, TERN_LOG_WARNING, NULL, false);
    if (!(cfg = conf_load_args(args))) {
        conf_args_clear(args);
        fprintf(stderr, PROGRAM ": %s\n", tern_error_message());
        return 1;
    }
    rc = manage_rabbitmq_setup(cfg->control_exchange, args->rest + 1, args->n_rest - 1);
    conf_free(cfg);
    conf_args_clear(args);
    if (rc < 0) {
        fprintf(stderr, PROGRAM ": %s\n", tern_error_message());
        return 1;
    }
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

    rc = conf_parse_args_full(argc, argv, PROGRAM, "db sync|version | rabbitmq-setup HOST...", true,
                              &args);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (args.n_rest >= 1 && strcmp(args.rest[0], "rabbitmq-setup") == 0)
        return manage_rabbitmq(&args);
    if (args.n_rest == 2 && strcmp(args.rest[0], "db") == 0) {
        if (strcmp(args.rest[1], "sync") == 0)
            command = manage_db_sync;
        else if (strcmp(args.rest[1], "version") == 0)
            command = manage_db_version;
    }
    if (!command) {
        if (args.n_rest == 0)
            fprintf(stderr, PROGRAM
                    ": no command given (db sync, db version, rabbitmq-setup; see --help)\n");
        else
            fprintf(
                stderr,
                PROGRAM
                ": unknown command \"%s%s%s\" (db sync, db version, rabbitmq-setup; see --help)\n",
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
