/*
 * tests/harness/harness-rabbitmq.c: the harness's private RabbitMQ 3.10 node.
 *
 * DIR/rabbitmq/ (owned by the OS user rabbitmq) holds rabbitmq.conf, enabled_plugins (none, so no
 * management listener on other addresses), an empty rabbitmq-env.conf (the system's is never
 * read), home/ (HOME with the node's own .erlang.cookie), mnesia/, log/, tls/ (private CA,
 * server and client certificates), server.log (the node's console output), epmd.log, and the
 * pid files server.pid (the rabbitmq-server script, a session leader) and epmd.pid.
 *
 * The node gets its own epmd (started here on ERL_EPMD_PORT, bound to 127.0.0.1), its own
 * distribution port bound to 127.0.0.1, and listeners on 127.0.0.1 (and the extra address) only.
 * The user "tern" (administrator, full permissions on "/") is created at first boot through
 * default_user in rabbitmq.conf, so no "guest" user ever exists. Ready means: an AMQP login as
 * tern succeeds. rabbitmqctl runs as the rabbitmq user with the node's HOME and ports.
 */
#include "tests/harness/harness-private.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

#define RABBITMQ_USER "rabbitmq"

char *
harness_rabbitmq_log_path(const char *dir)
{
    return tern_asprintf("%s/rabbitmq/server.log", dir);
}

/* rabbitmq_env: the environment of the node, its epmd and rabbitmqctl. */
static void
rabbitmq_env(const harness_services_t *svc, harness_strv_t *env)
{
    TERN_AUTOFREE char *top = tern_asprintf("%s/rabbitmq", svc->dir);
    TERN_AUTOFREE char *home = tern_asprintf("%s/home", top);
    const char *loopback_dist = "-kernel inet_dist_use_interface {127,0,0,1}";

    harness_strv_base_env(env, home, top);
    harness_strv_add(env, "RABBITMQ_NODENAME=%s", svc->rabbitmq_node);
    harness_strv_add(env, "RABBITMQ_USE_LONGNAME=false");
    harness_strv_add(env, "RABBITMQ_DIST_PORT=%d", svc->rabbitmq_dist_port);
    harness_strv_add(env, "ERL_EPMD_PORT=%d", svc->epmd_port);
    harness_strv_add(env, "ERL_EPMD_ADDRESS=127.0.0.1");
    harness_strv_add(env, "RABBITMQ_MNESIA_BASE=%s/mnesia", top);
    harness_strv_add(env, "RABBITMQ_LOG_BASE=%s/log", top);
    harness_strv_add(env, "RABBITMQ_CONFIG_FILE=%s/rabbitmq.conf", top);
    harness_strv_add(env, "RABBITMQ_ADVANCED_CONFIG_FILE=%s/advanced.config", top);
    harness_strv_add(env, "RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", top);
    harness_strv_add(env, "RABBITMQ_CONF_ENV_FILE=%s/rabbitmq-env.conf", top);
    harness_strv_add(env, "RABBITMQ_PID_FILE=%s/beam.pid", top);
    harness_strv_add(env, "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=%s", loopback_dist);
    harness_strv_add(env, "RABBITMQ_CTL_ERL_ARGS=%s", loopback_dist);
    harness_strv_add(env, "RABBITMQ_CTL_DIST_PORT_MIN=%d", svc->rabbitmqctl_port);
    harness_strv_add(env, "RABBITMQ_CTL_DIST_PORT_MAX=%d", svc->rabbitmqctl_port + 10);
}

/* openssl: run one openssl command (argv, never a shell). */
static int
openssl(const char *const argv[])
{
    if (tern_command_run(argv, 60000, NULL) < 0)
        return tern_error_prefix("could not make the test TLS certificates");
    return 0;
}

/* make_certificates: private CA, server certificate (localhost, 127.0.0.1, extra address) and
 * client certificate (CN tern) in tls_dir. Elliptic-curve keys: instant to generate. */
static int
make_certificates(const char *tls_dir, const char *extra_listen)
{
    TERN_AUTOFREE char *ca_key = tern_asprintf("%s/ca.key", tls_dir);
    TERN_AUTOFREE char *ca = tern_asprintf("%s/ca.pem", tls_dir);
    TERN_AUTOFREE char *serial = tern_asprintf("%s/ca.srl", tls_dir);
    const char *names[] = {"server", "client"};

    {
        const char *argv[] = {"openssl",
                              "req",
                              "-x509",
                              "-newkey",
                              "ec",
                              "-pkeyopt",
                              "ec_paramgen_curve:prime256v1",
                              "-nodes",
                              "-keyout",
                              ca_key,
                              "-out",
                              ca,
                              "-days",
                              "30",
                              "-subj",
                              "/CN=tern-test-ca",
                              NULL};

        if (openssl(argv) < 0)
            return -1;
    }
    for (size_t i = 0; i < TERN_N_ELEMENTS(names); i++) {
        bool server = i == 0;
        TERN_AUTOFREE char *key = tern_asprintf("%s/%s.key", tls_dir, names[i]);
        TERN_AUTOFREE char *csr = tern_asprintf("%s/%s.csr", tls_dir, names[i]);
        TERN_AUTOFREE char *cert = tern_asprintf("%s/%s.pem", tls_dir, names[i]);
        TERN_AUTOFREE char *ext_path = tern_asprintf("%s/%s.ext", tls_dir, names[i]);
        TERN_AUTOFREE char *ext = NULL;
        const char *subj = server ? "/CN=localhost" : "/CN=tern";
        const char *req[] = {
            "openssl", "req",     "-newkey", "ec",   "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes",  "-keyout", key,       "-out", csr,        "-subj",
            subj,      NULL};
        const char *sign[] = {"openssl",  "x509",      "-req",  "-in",
                              csr,        "-CA",       ca,      "-CAkey",
                              ca_key,     "-CAserial", serial,  "-CAcreateserial",
                              "-out",     cert,        "-days", "30",
                              "-extfile", ext_path,    NULL};

        if (server)
            ext = tern_asprintf("basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n"
                                "subjectAltName = DNS:localhost, IP:127.0.0.1%s%s%s%s\n",
                                extra_listen ? ", IP:" : "", extra_listen ? extra_listen : "",
                                /* librabbitmq compares the name connected to with DNS names
                                 * only, an address too */
                                extra_listen ? ", DNS:" : "", extra_listen ? extra_listen : "");
        else
            ext = tern_strdup("basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n");
        if (harness_file_write(ext_path, ext, 0644) < 0 || openssl(req) < 0 || openssl(sign) < 0)
            return -1;
        /* the node reads its key as the rabbitmq user */
        if (server && harness_chown(key, RABBITMQ_USER) < 0)
            return -1;
    }
    return 0;
}

int
harness_rabbitmq_init(harness_services_t *svc)
{
    TERN_AUTOFREE char *top = tern_asprintf("%s/rabbitmq", svc->dir);
    TERN_AUTOFREE char *home = tern_asprintf("%s/home", top);
    TERN_AUTOFREE char *tls = tern_asprintf("%s/tls", top);
    TERN_AUTOFREE char *cookie_path = tern_asprintf("%s/.erlang.cookie", home);
    TERN_AUTOFREE char *cookie = harness_random_password();
    TERN_AUTOFREE char *conf_path = tern_asprintf("%s/rabbitmq.conf", top);
    TERN_AUTOFREE char *conf = NULL, *extra_tcp = NULL, *extra_ssl = NULL;
    TERN_AUTOFREE char *plugins = tern_asprintf("%s/enabled_plugins", top);
    TERN_AUTOFREE char *env_conf = tern_asprintf("%s/rabbitmq-env.conf", top);
    const char *subdirs[] = {"mnesia", "log"};

    if (harness_mkdir_owned(top, RABBITMQ_USER, 0755) < 0 ||
        harness_mkdir_owned(home, RABBITMQ_USER, 0700) < 0 ||
        harness_mkdir_owned(tls, NULL, 0755) < 0)
        return -1;
    for (size_t i = 0; i < TERN_N_ELEMENTS(subdirs); i++) {
        TERN_AUTOFREE char *path = tern_asprintf("%s/%s", top, subdirs[i]);

        if (harness_mkdir_owned(path, RABBITMQ_USER, 0755) < 0)
            return -1;
    }
    for (char *c = cookie; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    if (harness_file_write(cookie_path, cookie, 0400) < 0 ||
        harness_chown(cookie_path, RABBITMQ_USER) < 0)
        return -1;
    if (make_certificates(tls, svc->extra_listen) < 0)
        return -1;
    if (svc->extra_listen && !svc->extra_tls_only) {
        extra_tcp =
            tern_asprintf("listeners.tcp.2 = %s:%d\n", svc->extra_listen, svc->rabbitmq_port);
    }
    if (svc->extra_listen)
        extra_ssl =
            tern_asprintf("listeners.ssl.2 = %s:%d\n", svc->extra_listen, svc->rabbitmq_tls_port);
    conf = tern_asprintf("# tern test harness: private node %s\n"
                         "listeners.tcp.1 = 127.0.0.1:%d\n%s"
                         "listeners.ssl.1 = 127.0.0.1:%d\n%s"
                         "ssl_options.cacertfile = %s/ca.pem\n"
                         "ssl_options.certfile = %s/server.pem\n"
                         "ssl_options.keyfile = %s/server.key\n"
                         "ssl_options.verify = verify_peer\n"
                         "ssl_options.fail_if_no_peer_cert = false\n"
                         "default_user = tern\n"
                         "default_pass = %s\n"
                         "default_vhost = /\n"
                         "default_user_tags.administrator = true\n"
                         "default_permissions.configure = .*\n"
                         "default_permissions.read = .*\n"
                         "default_permissions.write = .*\n"
                         "loopback_users = none\n"
                         "disk_free_limit.absolute = 50MB\n"
                         "log.console = false\n"
                         "log.file.level = info\n",
                         svc->rabbitmq_node, svc->rabbitmq_port, extra_tcp ? extra_tcp : "",
                         svc->rabbitmq_tls_port, extra_ssl ? extra_ssl : "", tls, tls, tls,
                         svc->rabbitmq_password);
    if (harness_file_write(conf_path, conf, 0600) < 0 ||
        harness_chown(conf_path, RABBITMQ_USER) < 0 ||
        harness_file_write(plugins, "[].\n", 0644) < 0 || harness_file_write(env_conf, "", 0644))
        return -1;
    return 0;
}

int
harness_rabbitmq_launch(const harness_services_t *svc)
{
    TERN_AUTOFREE char *top = tern_asprintf("%s/rabbitmq", svc->dir);
    TERN_AUTOFREE char *log = harness_rabbitmq_log_path(svc->dir);
    TERN_AUTOFREE char *epmd_log = tern_asprintf("%s/epmd.log", top);
    TERN_AUTOFREE char *epmd_pid = tern_asprintf("%s/epmd.pid", top);
    TERN_AUTOFREE char *server_pid = tern_asprintf("%s/server.pid", top);
    char port[16];
    const char *epmd_argv[] = {HARNESS_EPMD, "-port", port, "-address", "127.0.0.1", NULL};
    const char *server_argv[] = {HARNESS_RABBITMQ_BIN "/rabbitmq-server", NULL};
    harness_strv_t env = {0};
    int rc;

    snprintf(port, sizeof(port), "%d", svc->epmd_port);
    rabbitmq_env(svc, &env);
    rc = harness_proc_spawn(epmd_argv, (const char *const *)env.v, RABBITMQ_USER, top, epmd_log,
                            epmd_pid, NULL);
    if (rc < 0) {
        tern_error_prefix("could not start epmd for RabbitMQ (see \"%s\")", epmd_log);
    } else {
        rc = harness_proc_spawn(server_argv, (const char *const *)env.v, RABBITMQ_USER, top, log,
                                server_pid, NULL);
        if (rc < 0)
            tern_error_prefix("could not start RabbitMQ node \"%s\" (see \"%s\")",
                              svc->rabbitmq_node, log);
    }
    harness_strv_clear(&env);
    return rc;
}

/* amqp_try_login: one AMQP connection and login as tern; 0 on success, -1 (error set). */
static int
amqp_try_login(const harness_services_t *svc)
{
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    struct timeval tv = {.tv_sec = 2};
    amqp_rpc_reply_t reply;
    int rc = -1;

    if (!sock) {
        tern_error_set(TERN_ERR_RPC, "could not create an AMQP socket");
        goto out;
    }
    amqp_set_handshake_timeout(conn, &tv);
    amqp_set_rpc_timeout(conn, &tv);
    if (amqp_socket_open_noblock(sock, "127.0.0.1", svc->rabbitmq_port, &tv) != AMQP_STATUS_OK) {
        tern_error_set(TERN_ERR_RPC, "could not connect to RabbitMQ on port %d",
                       svc->rabbitmq_port);
        goto out;
    }
    reply =
        amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "tern", svc->rabbitmq_password);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        tern_error_set(TERN_ERR_RPC, "could not log in to RabbitMQ on port %d as \"tern\"",
                       svc->rabbitmq_port);
        goto out;
    }
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    rc = 0;
out:
    amqp_destroy_connection(conn);
    return rc;
}

bool
harness_rabbitmq_running(const harness_services_t *svc)
{
    bool ok = amqp_try_login(svc) == 0;

    tern_error_reset();
    return ok;
}

int
harness_rabbitmq_wait(const harness_services_t *svc, int timeout_ms)
{
    TERN_AUTOFREE char *log = harness_rabbitmq_log_path(svc->dir);
    TERN_AUTOFREE char *pid_path = tern_asprintf("%s/rabbitmq/server.pid", svc->dir);
    TERN_AUTOFREE char *marker = tern_asprintf("%s/rabbitmq", svc->dir);
    int64_t deadline = tern_now_monotonic_ms() + timeout_ms;

    for (;;) {
        if (amqp_try_login(svc) == 0)
            return 0;
        if (!harness_proc_alive(harness_pid_file_read(pid_path), marker)) {
            TERN_AUTOFREE char *tail = harness_log_tail(log, 600);

            return tern_error_set(TERN_ERR_UNAVAILABLE,
                                  "RabbitMQ node \"%s\" exited during start-up (see \"%s\" and "
                                  "\"%s/rabbitmq/log\"): %s",
                                  svc->rabbitmq_node, log, svc->dir, tail);
        }
        if (tern_now_monotonic_ms() > deadline)
            return tern_error_set(TERN_ERR_TIMEOUT,
                                  "RabbitMQ node \"%s\" did not accept AMQP logins on port %d "
                                  "within %d ms (see \"%s\" and \"%s/rabbitmq/log\")",
                                  svc->rabbitmq_node, svc->rabbitmq_port, timeout_ms, log,
                                  svc->dir);
        tern_sleep_ms(100);
    }
}

int
harness_rabbitmq_stop_dir(const char *dir, bool graceful)
{
    TERN_AUTOFREE char *marker = tern_asprintf("%s/rabbitmq", dir);
    TERN_AUTOFREE char *server_pid = tern_asprintf("%s/rabbitmq/server.pid", dir);
    TERN_AUTOFREE char *epmd_pid = tern_asprintf("%s/rabbitmq/epmd.pid", dir);
    const char *pid_paths[] = {server_pid, epmd_pid, NULL};

    /* graceful: SIGTERM makes the node shut down cleanly (durable state on disk) */
    if (harness_proc_stop(marker, pid_paths, graceful ? SIGTERM : SIGKILL, 15000) < 0)
        return tern_error_prefix("could not stop RabbitMQ in \"%s\"", dir);
    return 0;
}

int
harness_rabbitmq_stop(const harness_services_t *svc)
{
    return harness_rabbitmq_stop_dir(svc->dir, true);
}

int
harness_rabbitmq_start(const harness_services_t *svc)
{
    if (harness_rabbitmq_running(svc))
        return 0;
    if (harness_rabbitmq_stop_dir(svc->dir, false) < 0 || harness_rabbitmq_launch(svc) < 0)
        return -1;
    return harness_rabbitmq_wait(svc, 90000);
}

static bool
credential_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* rabbitmqctl: run `rabbitmqctl -n NODE args...` as the rabbitmq user; *ret_out (may be NULL)
 * receives its standard output (caller frees). */
static int
rabbitmqctl(const harness_services_t *svc, const char *const args[], char **ret_out)
{
    harness_strv_t env = {0}, argv = {0};
    tern_command_result_t res = {0};
    int rc;

    rabbitmq_env(svc, &env);
    harness_strv_add(&argv, HARNESS_RABBITMQ_BIN "/rabbitmqctl");
    harness_strv_add(&argv, "-q");
    harness_strv_add(&argv, "-n");
    harness_strv_add(&argv, "%s", svc->rabbitmq_node);
    for (size_t i = 0; args[i]; i++)
        harness_strv_add(&argv, "%s", args[i]);
    rc = harness_run_as(RABBITMQ_USER, (const char *const *)env.v, (const char *const *)argv.v,
                        60000, &res);
    if (rc == 0 && ret_out) {
        *ret_out = res.out;
        res.out = NULL;
    }
    tern_command_result_clear(&res);
    harness_strv_clear(&env);
    harness_strv_clear(&argv);
    return rc;
}

int
harness_rabbitmq_add_user(const harness_services_t *svc, const char *user, const char *password,
                          bool administrator)
{
    TERN_AUTOFREE char *expr = NULL;

    if (!credential_valid(user) || !credential_valid(password))
        return tern_error_set(TERN_ERR_INVALID,
                              "invalid RabbitMQ user \"%s\" or password: use [A-Za-z0-9_.-]",
                              user ? user : "");
    /* One Erlang expression instead of three rabbitmqctl runs (each starts a VM): create the
     * user or reset its password, then tags and permissions on "/". Names are validated above,
     * so quoting them in binaries is safe. */
    expr =
        tern_asprintf("U = <<\"%s\">>, P = <<\"%s\">>, A = <<\"tern-test-harness\">>, "
                      "case rabbit_auth_backend_internal:exists(U) of "
                      "true -> ok = rabbit_auth_backend_internal:change_password(U, P, A); "
                      "false -> ok = rabbit_auth_backend_internal:add_user(U, P, A) end, "
                      "ok = rabbit_auth_backend_internal:set_tags(U, [%s], A), "
                      "ok = rabbit_auth_backend_internal:set_permissions(U, <<\"/\">>, <<\".*\">>, "
                      "<<\".*\">>, <<\".*\">>, A), ok.",
                      user, password, administrator ? "administrator" : "");
    {
        const char *args[] = {"eval", expr, NULL};

        if (rabbitmqctl(svc, args, NULL) < 0)
            return tern_error_prefix("could not add RabbitMQ user \"%s\" on node \"%s\"", user,
                                     svc->rabbitmq_node);
    }
    return 0;
}

int
harness_rabbitmq_set_permissions(const harness_services_t *svc, const char *user,
                                 const char *configure, const char *write, const char *read)
{
    const char *args[] = {"set_permissions", "-p", "/", user, configure, write, read, NULL};

    if (rabbitmqctl(svc, args, NULL) < 0)
        return tern_error_prefix("could not set the permissions of RabbitMQ user \"%s\"", user);
    return 0;
}

int
harness_rabbitmq_queue_counts(const harness_services_t *svc, const char *prefix, int *ret_queues,
                              long *ret_ready, long *ret_unacked)
{
    static const char *const args[] = {"list_queues",    "--no-table-headers",      "name",
                                       "messages_ready", "messages_unacknowledged", NULL};
    TERN_AUTOFREE char *out = NULL;
    char *save = NULL;

    *ret_queues = 0;
    *ret_ready = *ret_unacked = 0;
    if (rabbitmqctl(svc, args, &out) < 0)
        return tern_error_prefix("could not list the queues");
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[256];
        long ready, unacked;

        if (sscanf(line, "%255s %ld %ld", name, &ready, &unacked) != 3 ||
            strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        (*ret_queues)++;
        *ret_ready += ready;
        *ret_unacked += unacked;
    }
    return 0;
}
