/*
 * tests/api/test-api-service.c: tern-api against a real tern-conductor and a real Keystone.
 *
 * The parent (test_api_service_prepare) starts private PostgreSQL and RabbitMQ
 * (tests/harness), syncs a database with tern-manage, starts tern-conductor (its default
 * policy: "tern-api" may assert identities, Keystone's admin is tern's admin), sets up a private
 * Keystone from Debian's package (tests/api/keystone-private: SQLite, fernet, bootstrap) and
 * serves it with keystone-wsgi-public on 127.0.0.1, then starts tern-api as RabbitMQ user
 * "tern-api" with that Keystone; two instances are written with db/. Every child process dies
 * with the runner (PR_SET_PDEATHSIG). Nothing listens beyond 127.0.0.1. A missing Keystone
 * fails the run.
 *
 * http:    version discovery without a token, the request id, microversion 406/400 and the
 *          headers of the version served, unknown paths and methods, the body limit (413) and
 *          the header limit;
 * auth:    401 without a token and with a bad one (WWW-Authenticate), 403 for alice (a project
 *          member, no admin role) from the conductor's policy, a validated token cached (Keystone
 *          asked once), and a broker user other than tern-api claiming admin in its context
 *          refused by the conductor;
 * servers: /servers, /servers/detail with the host filter, /servers/{id} at 2.1 and 2.80, 404
 *          for an unknown uuid and for a name, in nova's shapes.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/command.h"
#include "common/error.h"
#include "common/util.h"
#include "db/db.h"
#include "rpc/rpc.h"
#include "tests/api/test-api.h"
#include "tests/harness/harness.h"

#define BUILD TERN_BUILDDIR
#define CONDUCTOR BUILD "/conductor/tern-conductor"
#define API BUILD "/api/tern-api"
#define MANAGE BUILD "/tools/manage/tern-manage"
#define TERN BUILD "/tools/cli/tern"
#define KEYSTONE_PRIVATE TERN_SRCDIR "/tests/api/keystone-private"
#define API_PASSWORD "api-test-pw"

int test_api_port;
int keystone_port;
int rabbitmq_port;
char api_work_dir[] = "/tmp/tern-api-test.XXXXXX";
char vm_a_uuid[37];
char vm_b_uuid[37];
char alice_id[64];
static harness_services_t *svc;
static char *db_url;
static pid_t conductor_pid = -1, keystone_pid = -1, api_pid = -1;

/* ---- HTTP (libcurl) ---- */

static size_t
gather(char *data, size_t size, size_t nmemb, void *opaque)
{
    char **buf = opaque;
    size_t old = strlen(*buf), n = size * nmemb;

    *buf = tern_realloc(*buf, old + n + 1);
    memcpy(*buf + old, data, n);
    (*buf)[old + n] = '\0';
    return n;
}

http_answer_t
http_request(int port, const char *method, const char *path, const char *body,
             const char *const *headers)
{
    TERN_AUTOFREE char *url = tern_asprintf("http://127.0.0.1:%d%s", port, path);
    http_answer_t a = {.body = tern_strdup(""), .headers = tern_strdup("")};
    struct curl_slist *list = NULL;
    CURL *curl = curl_easy_init();
    CURLcode rc;

    ck_assert_ptr_nonnull(curl);
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, gather);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, gather);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a.headers);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    rc = curl_easy_perform(curl);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(list);
    return a;
}

void
http_answer_clear(http_answer_t *a)
{
    free(a->body);
    free(a->headers);
}

char *
http_header(const http_answer_t *a, const char *name)
{
    size_t n = strlen(name);

    for (const char *line = a->headers; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);

        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;

            while (*v == ' ')
                v++;
            len -= (size_t)(v - line);
            while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == ' '))
                len--;
            return tern_strndup(v, len);
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

json_t *
http_json(const http_answer_t *a)
{
    json_error_t jerr;
    json_t *v = json_loads(a->body, 0, &jerr);

    ck_assert_msg(v != NULL, "not JSON (%s): %s", jerr.text, a->body);
    return v;
}

char *
keystone_token(const char *user, const char *project)
{
    TERN_AUTOFREE char *body = tern_asprintf(
        "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": "
        "{\"name\": \"%s\", \"domain\": {\"id\": \"default\"}, \"password\": \"%s-pw\"}}}, "
        "\"scope\": {\"project\": {\"name\": \"%s\", \"domain\": {\"id\": \"default\"}}}}}",
        user, user, project);
    const char *headers[] = {"Content-Type: application/json", NULL};
    http_answer_t a = http_request(keystone_port, "POST", "/v3/auth/tokens", body, headers);
    char *token = http_header(&a, "X-Subject-Token");

    ck_assert_msg(a.status == 201 && token, "no token for %s: %ld %s", user, a.status, a.body);
    http_answer_clear(&a);
    return token;
}

/* ---- set-up ---- */

static void
die(const char *what)
{
    fprintf(stderr, "test-api: %s: %s (logs in %s)\n", what, tern_error_message(), api_work_dir);
    if (api_pid > 0)
        kill(api_pid, SIGKILL);
    if (keystone_pid > 0)
        kill(keystone_pid, SIGKILL);
    if (conductor_pid > 0)
        kill(conductor_pid, SIGKILL);
    harness_services_destroy(svc);
    exit(EXIT_FAILURE);
}

/* free_port: a port of 127.0.0.1 nobody listens on now. */
static int
free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        tern_error_set_errno(errno, "could not find a free port");
        die("ports");
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* spawn: argv with its output into log, dying with this process; env: one more "K=V" or NULL. */
static pid_t
spawn(const char *const *argv, const char *log, const char *env)
{
    pid_t pid = fork();

    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        if (env)
            putenv((char *)env);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        tern_error_set_errno(errno, "could not write \"%s\"", path);
        die("configuration");
    }
}

/* wait_http: until GET path of port answers (60 s), or the process pid is gone. */
static void
wait_http(int port, const char *path, pid_t pid, const char *what)
{
    TERN_AUTOFREE char *url = tern_asprintf("http://127.0.0.1:%d%s", port, path);
    int64_t deadline = tern_now_monotonic_ms() + 60000;

    while (tern_now_monotonic_ms() < deadline) {
        CURL *curl = curl_easy_init();
        long status = 0;

        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(curl);
        if (status > 0)
            return;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            tern_error_set(TERN_ERR_UNAVAILABLE, "%s exited", what);
            die(what);
        }
        tern_sleep_ms(300);
    }
    tern_error_set(TERN_ERR_TIMEOUT, "%s not answering on port %d after 60 s", what, port);
    die(what);
}

static void
start_conductor(void)
{
    TERN_AUTOFREE char *conf = tern_asprintf("%s/conductor.conf", api_work_dir);
    TERN_AUTOFREE char *log = tern_asprintf("%s/conductor.log", api_work_dir);
    TERN_AUTOFREE char *text = tern_asprintf(
        "[DEFAULT]\nhost = api-test-conductor\ntransport_url = %s\nstate_path = %s\n"
        "policy_file = %s/no-policy.json\nreport_interval = 2\n\n[database]\nconnection = %s\n",
        svc->rabbitmq_url, api_work_dir, api_work_dir, db_url);
    const char *sync_argv[] = {MANAGE, "--config-file", conf, "db", "sync", NULL};
    const char *argv[] = {CONDUCTOR, "--config-file", conf, NULL};
    int64_t deadline;

    write_file(conf, text);
    if (tern_command_run(sync_argv, 60000, NULL) < 0)
        die("db sync");
    conductor_pid = spawn(argv, log, NULL);
    for (deadline = tern_now_monotonic_ms() + 60000; tern_now_monotonic_ms() < deadline;) {
        const char *list_argv[] = {TERN, "--config-file", conf, "service-list", NULL};
        tern_command_result_t res = {0};
        bool up = tern_command_run(list_argv, 30000, &res) == 0 && strstr(res.out, "| up ");

        tern_command_result_clear(&res);
        if (up)
            return;
        if (waitpid(conductor_pid, NULL, WNOHANG) == conductor_pid) {
            conductor_pid = -1;
            tern_error_set(TERN_ERR_UNAVAILABLE, "tern-conductor exited");
            die("conductor");
        }
        tern_sleep_ms(500);
    }
    tern_error_set(TERN_ERR_TIMEOUT, "tern-conductor not up after 60 s");
    die("conductor");
}

/* start_keystone: set up, serve and populate the private Keystone; alice's id. */
static void
start_keystone(void)
{
    TERN_AUTOFREE char *dir = tern_asprintf("%s/keystone", api_work_dir);
    TERN_AUTOFREE char *log = tern_asprintf("%s/keystone.log", api_work_dir);
    TERN_AUTOFREE char *env = tern_asprintf("OS_KEYSTONE_CONFIG_DIR=%s", dir);
    TERN_AUTOFREE char *port = NULL, *api = NULL;
    const char *setup_argv[] = {KEYSTONE_PRIVATE, "setup", dir, NULL, NULL};
    const char *populate_argv[] = {KEYSTONE_PRIVATE, "populate", dir, NULL, NULL, NULL};
    const char *serve_argv[] = {
        "keystone-wsgi-public", "--host", "127.0.0.1", "--port", NULL, NULL};
    tern_command_result_t res = {0};
    const char *id;

    keystone_port = free_port();
    port = tern_asprintf("%d", keystone_port);
    api = tern_asprintf("%d", test_api_port);
    setup_argv[3] = port;
    populate_argv[3] = port;
    populate_argv[4] = api;
    serve_argv[4] = port;
    if (tern_mkdir_p(dir, 0700) < 0)
        die("keystone directory");
    if (tern_command_run(setup_argv, 240000, &res) < 0) {
        fprintf(stderr, "%s", res.err ? res.err : "");
        die("keystone set-up (is Debian's keystone package installed? tools/install-deps)");
    }
    tern_command_result_clear(&res);
    keystone_pid = spawn(serve_argv, log, env); /* putenv in the child only: ours to free */
    wait_http(keystone_port, "/v3", keystone_pid, "keystone-wsgi-public");
    if (tern_command_run(populate_argv, 120000, &res) < 0) {
        fprintf(stderr, "%s", res.err ? res.err : "");
        die("keystone populate");
    }
    id = strstr(res.out, "ALICE_ID=");
    if (!id || sscanf(id, "ALICE_ID=%63s", alice_id) != 1) {
        tern_error_set(TERN_ERR_INTERNAL, "no ALICE_ID in: %s", res.out);
        die("keystone populate");
    }
    tern_command_result_clear(&res);
}

static void
start_api(void)
{
    TERN_AUTOFREE char *conf = tern_asprintf("%s/api.conf", api_work_dir);
    TERN_AUTOFREE char *log = tern_asprintf("%s/api.log", api_work_dir);
    TERN_AUTOFREE char *text = tern_asprintf(
        "[DEFAULT]\ntransport_url = rabbit://tern-api:%s@127.0.0.1:%d/\nreport_interval = 2\n\n"
        "[api]\nlisten = 127.0.0.1\nport = %d\nworkers = 2\nmax_body_bytes = 1024\n"
        "max_header_bytes = 8192\nrequest_timeout = 30\n\n"
        "[keystone_authtoken]\nauth_url = http://127.0.0.1:%d/v3\nusername = tern-api-svc\n"
        "password = tern-api-svc-pw\nproject_name = service\ntoken_cache_time = 300\n",
        API_PASSWORD, svc->rabbitmq_port, test_api_port, keystone_port);
    const char *argv[] = {API, "--config-file", conf, NULL};

    write_file(conf, text);
    api_pid = spawn(argv, log, NULL);
    wait_http(test_api_port, "/", api_pid, "tern-api");
}

static void
make_instance(db_conn_t *db, const char *name, const char *host, const char *task, char uuid[37])
{
    db_instance_t req = {.name = (char *)name, .memory_mb = 256, .vcpus = 1, .root_gb = 1};
    db_instance_t made = {0};

    req.image_ref = "tern-guest";
    req.project_id = "p1";
    req.user_id = "u1";
    if (db_instance_create(db, &req, &made) < 0 ||
        db_instance_set_location(db, made.uuid, host, host) < 0 ||
        db_instance_set_vm_state(db, made.uuid, DB_VM_STATE_ACTIVE) < 0 ||
        db_instance_set_power_state(db, made.uuid, DB_POWER_RUNNING) < 0 ||
        (task && db_instance_task_state_begin(db, made.uuid, NULL, task, NULL) < 0))
        die("instances");
    tern_strlcpy(uuid, made.uuid, 37);
    db_instance_clear(&made);
}

int
test_api_service_prepare(void)
{
    db_conn_t *db;

    if (!mkdtemp(api_work_dir)) {
        tern_error_set_errno(errno, "could not create a directory");
        die("set-up");
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (harness_services_start_private(&svc) < 0)
        die("services");
    db_url = harness_postgres_create_database(svc, "tern_api");
    if (harness_rabbitmq_add_user(svc, "tern-api", API_PASSWORD, false) < 0 ||
        harness_rabbitmq_add_user(svc, "demo", "demo-pw", false) < 0)
        die("rabbitmq users");
    rabbitmq_port = svc->rabbitmq_port;
    start_conductor();
    test_api_port = free_port();
    start_keystone();
    start_api();
    if (!(db = db_open(db_url)))
        die("database");
    make_instance(db, "api-vm-a", "api-h1", NULL, vm_a_uuid);
    make_instance(db, "api-vm-b", "api-h2", "migrating", vm_b_uuid);
    db_close(db);
    return 0;
}

void
test_api_service_release(void)
{
    pid_t pids[] = {api_pid, keystone_pid, conductor_pid};

    for (size_t i = 0; i < TERN_N_ELEMENTS(pids); i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGTERM);
            waitpid(pids[i], NULL, 0);
        }
    }
    harness_services_destroy(svc);
    if (!getenv("TERN_API_TEST_KEEP"))
        tern_remove_tree(api_work_dir);
    free(db_url);
}
