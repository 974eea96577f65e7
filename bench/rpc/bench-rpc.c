/*
 * bench/rpc/bench-rpc.c: tern RPC against oslo.messaging on the same broker, in the same run.
 *
 *   bench-rpc [--url URL] [--calls N] [--seconds S] [--threads T] [--rounds R] [--tern-only]
 *
 * Measures, for tern (rpc/) and then for oslo.messaging (bench/rpc/oslo_bench.py, a server and
 * a client process run with /usr/bin/python3): the round-trip latency of N sequential calls
 * (p50, p99, mean, after a warm-up of 200), call throughput with 1 and with T concurrent callers
 * for S seconds each, and cast throughput with T casters for S seconds, counted until the server
 * has received every cast. Prints both columns and the tern/oslo ratios, and the goals of the
 * issue (p99 < 2 ms, call throughput >= 10x oslo) as met or not; exits 0 either way unless a
 * measurement itself failed.
 *
 * Without --url the broker is the test harness's RabbitMQ (harness_services_get(): the run's
 * services when TERN_TEST_SERVICES_DIR is set, else private ones for this process).
 *
 * Owns everything it creates; one process, threads only for the concurrent callers.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/command.h"
#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc.h"
#include "tests/harness/harness.h"

extern char **environ;

#define PYTHON "/usr/bin/python3"
#define WARMUP_CALLS 200

typedef struct bench_result {
    double p50_us, p99_us, mean_us;
    double call_1_per_s, call_n_per_s, cast_n_per_s;
} bench_result_t;

/* ---- the tern server ---- */

typedef struct bench_counter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long casts; /* guarded by lock */
} bench_counter_t;

static bench_counter_t counter = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static int
h_echo(void *opaque, const rpc_request_t *req, json_t **ret)
{
    *ret = json_incref(req->args);
    return 0;
}

static int
h_count(void *opaque, const rpc_request_t *req, json_t **ret)
{
    pthread_mutex_lock(&counter.lock);
    counter.casts++;
    pthread_cond_broadcast(&counter.cond);
    pthread_mutex_unlock(&counter.lock);
    return 0;
}

static int
h_reset(void *opaque, const rpc_request_t *req, json_t **ret)
{
    pthread_mutex_lock(&counter.lock);
    counter.casts = 0;
    pthread_mutex_unlock(&counter.lock);
    return 0;
}

/* wait_count {n}: wait until n casts arrived (at most 60 s); returns the count. */
static int
h_wait_count(void *opaque, const rpc_request_t *req, json_t **ret)
{
    json_int_t n = json_integer_value(json_object_get(req->args, "n"));
    int64_t deadline = tern_now_monotonic_ms() + 60000;
    long got;

    pthread_mutex_lock(&counter.lock);
    while (counter.casts < n && tern_now_monotonic_ms() < deadline) {
        int64_t wake = tern_now_realtime_ms() + 200;
        struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (wake % 1000) * 1000000};

        pthread_cond_timedwait(&counter.cond, &counter.lock, &ts);
    }
    got = counter.casts;
    pthread_mutex_unlock(&counter.lock);
    *ret = json_integer(got);
    return 0;
}

static const rpc_method_t bench_methods[] = {
    {"echo", h_echo},
    {"count", h_count},
    {"reset", h_reset},
    {"wait_count", h_wait_count},
};

/* ---- the tern client side ---- */

typedef struct bench_job {
    rpc_client_t *client;
    const rpc_target_t *target;
    json_t *context;
    double seconds;
    bool cast;
    long done;          /* out */
    tern_error_t error; /* out, when failed */
    bool failed;        /* out */
} bench_job_t;

static json_t *
bench_args(long i)
{
    char pad[101];

    memset(pad, 'x', 100);
    pad[100] = '\0';
    return json_pack("{s:I, s:s}", "i", (json_int_t)i, "pad", pad);
}

static void *
bench_loop(void *arg)
{
    bench_job_t *job = arg;
    int64_t end = tern_now_monotonic_us() + (int64_t)(job->seconds * 1e6);

    while (tern_now_monotonic_us() < end) {
        json_t *args = bench_args(job->done);
        json_t *res = NULL;
        int rc;

        if (job->cast)
            rc = rpc_cast(job->client, job->target, job->context, "count", args);
        else
            rc = rpc_call(job->client, job->target, job->context, "echo", args, 0, &res);
        json_decref(args);
        json_decref(res);
        if (rc < 0) {
            tern_error_copy(&job->error);
            job->failed = true;
            break;
        }
        job->done++;
    }
    return NULL;
}

/* run_threads: n threads of bench_loop; total operations and elapsed seconds. */
static int
run_threads(rpc_client_t *client, const rpc_target_t *target, json_t *ctx, int n, double seconds,
            bool cast, long *ret_done, double *ret_elapsed)
{
    bench_job_t *jobs = tern_calloc((size_t)n, sizeof(*jobs));
    pthread_t *threads = tern_calloc((size_t)n, sizeof(*threads));
    int64_t start = tern_now_monotonic_us();
    long done = 0;
    int rc = 0;

    for (int i = 0; i < n; i++) {
        jobs[i] = (bench_job_t){
            .client = client, .target = target, .context = ctx, .seconds = seconds, .cast = cast};
        pthread_create(&threads[i], NULL, bench_loop, &jobs[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        done += jobs[i].done;
        if (jobs[i].failed && rc == 0) {
            tern_error_restore(&jobs[i].error);
            rc = -1;
        }
    }
    *ret_done = done;
    *ret_elapsed = (double)(tern_now_monotonic_us() - start) / 1e6;
    free(jobs);
    free(threads);
    return rc;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int
bench_tern(const char *url, int calls, double seconds, int threads, bench_result_t *ret)
{
    rpc_config_t cfg;
    rpc_endpoint_t ep = {
        .version = "1.0", .methods = bench_methods, .n_methods = TERN_N_ELEMENTS(bench_methods)};
    TERN_AUTOFREE char *topic = tern_asprintf("bench_tern_%d", (int)getpid());
    rpc_target_t target = {.topic = topic};
    rpc_server_t *srv = NULL;
    rpc_client_t *client = NULL;
    json_t *ctx = rpc_context_new("bench", "bench", NULL, "req-bench");
    double *lat = tern_calloc((size_t)calls, sizeof(double));
    double sum = 0, elapsed;
    json_t *res = NULL;
    long n;
    int rc = -1;

    rpc_config_init(&cfg);
    cfg.transport_url = url;
    srv = rpc_server_new(&cfg, topic, "b1", &ep, 1, threads > 4 ? threads : 4);
    if (!srv || rpc_server_start(srv) < 0 || !(client = rpc_client_new(&cfg)))
        goto cleanup;
    for (int i = 0; i < WARMUP_CALLS + calls; i++) {
        json_t *args = bench_args(i);
        int64_t t0 = tern_now_monotonic_us();
        int crc = rpc_call(client, &target, ctx, "echo", args, 0, &res);

        json_decref(args);
        json_decref(res);
        res = NULL;
        if (crc < 0)
            goto cleanup;
        if (i >= WARMUP_CALLS)
            lat[i - WARMUP_CALLS] = (double)(tern_now_monotonic_us() - t0);
    }
    qsort(lat, (size_t)calls, sizeof(double), cmp_double);
    for (int i = 0; i < calls; i++)
        sum += lat[i];
    ret->p50_us = lat[(int)(0.50 * (calls - 1) + 0.5)];
    ret->p99_us = lat[(int)(0.99 * (calls - 1) + 0.5)];
    ret->mean_us = sum / calls;

    if (run_threads(client, &target, ctx, 1, seconds, false, &n, &elapsed) < 0)
        goto cleanup;
    ret->call_1_per_s = (double)n / elapsed;
    if (run_threads(client, &target, ctx, threads, seconds, false, &n, &elapsed) < 0)
        goto cleanup;
    ret->call_n_per_s = (double)n / elapsed;

    if (rpc_call(client, &target, ctx, "reset", NULL, 0, &res) < 0)
        goto cleanup;
    json_decref(res);
    res = NULL;
    {
        int64_t start = tern_now_monotonic_us();
        json_t *args;

        if (run_threads(client, &target, ctx, threads, seconds, true, &n, &elapsed) < 0)
            goto cleanup;
        args = json_pack("{s:I}", "n", (json_int_t)n);
        if (rpc_call(client, &target, ctx, "wait_count", args, 0, &res) < 0) {
            json_decref(args);
            goto cleanup;
        }
        json_decref(args);
        if (json_integer_value(res) != n) {
            tern_error_set(TERN_ERR_INTERNAL, "tern server counted %lld of %ld casts",
                           (long long)json_integer_value(res), n);
            goto cleanup;
        }
        ret->cast_n_per_s = (double)n / ((double)(tern_now_monotonic_us() - start) / 1e6);
    }
    rc = 0;

cleanup:
    json_decref(res);
    json_decref(ctx);
    free(lat);
    rpc_client_free(client);
    rpc_server_free(srv);
    return rc;
}

/* ---- the oslo.messaging side ---- */

static char *
script_path(void)
{
    return tern_asprintf("%s/bench/rpc/oslo_bench.py", TERN_SRCDIR);
}

/* spawn_oslo_server: start the Python server; wait (at most 30 s) for its "serving" line. */
static int
spawn_oslo_server(const char *url, const char *topic, pid_t *ret_pid, int *ret_fd)
{
    TERN_AUTOFREE char *script = script_path();
    char *const argv[] = {(char *)PYTHON, script,       (char *)url, (char *)"serve",
                          (char *)topic,  (char *)"o1", NULL};
    posix_spawn_file_actions_t fa;
    char buf[4096];
    size_t used = 0;
    int64_t deadline = tern_now_monotonic_ms() + 30000;
    int fds[2];
    pid_t pid;
    int err;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return tern_error_set_errno(errno, "could not create a pipe");
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    err = posix_spawn(&pid, PYTHON, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        return tern_error_set_errno(err, "could not start \"%s\"", script);
    }
    *ret_pid = pid;
    *ret_fd = fds[0];
    while (tern_now_monotonic_ms() < deadline) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        ssize_t got;

        if (poll(&pfd, 1, 500) <= 0)
            continue;
        got = read(fds[0], buf + used, sizeof(buf) - 1 - used);
        if (got <= 0)
            return tern_error_set(TERN_ERR_UNAVAILABLE,
                                  "oslo.messaging server \"%s\" exited "
                                  "before serving",
                                  script);
        used += (size_t)got;
        buf[used] = '\0';
        if (strstr(buf, "serving"))
            return 0;
        if (used == sizeof(buf) - 1)
            used = 0;
    }
    return tern_error_set(TERN_ERR_TIMEOUT,
                          "oslo.messaging server \"%s\" did not serve within "
                          "30 s",
                          script);
}

static void
stop_oslo_server(pid_t pid, int fd)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++)
            tern_sleep_ms(100);
        if (kill(pid, 0) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    if (fd >= 0)
        close(fd);
}

static int
bench_oslo(const char *url, int calls, double seconds, int threads, bench_result_t *ret)
{
    TERN_AUTOFREE char *script = script_path();
    TERN_AUTOFREE char *topic = tern_asprintf("bench_oslo_%d", (int)getpid());
    TERN_AUTOFREE char *s_calls = tern_asprintf("%d", calls);
    TERN_AUTOFREE char *s_seconds = tern_asprintf("%g", seconds);
    TERN_AUTOFREE char *s_threads = tern_asprintf("%d", threads);
    const char *argv[] = {PYTHON,  script,    url,       "client", topic,
                          s_calls, s_seconds, s_threads, NULL};
    tern_command_result_t out = {0};
    json_error_t jerr;
    json_t *j = NULL;
    pid_t pid = -1;
    int fd = -1;
    int rc = -1;

    if (spawn_oslo_server(url, topic, &pid, &fd) < 0)
        goto cleanup;
    if (tern_command_run(argv, 600000, &out) < 0)
        goto cleanup;
    if (!(j = json_loads(out.out, 0, &jerr)) ||
        json_unpack_ex(j, &jerr, JSON_STRICT, "{s:F, s:F, s:F, s:F, s:F, s:F}", "latency_p50_us",
                       &ret->p50_us, "latency_p99_us", &ret->p99_us, "latency_mean_us",
                       &ret->mean_us, "call_1_per_s", &ret->call_1_per_s, "call_n_per_s",
                       &ret->call_n_per_s, "cast_n_per_s", &ret->cast_n_per_s) < 0) {
        tern_error_set(TERN_ERR_INVALID, "could not read the output of \"%s\": %s", script,
                       jerr.text);
        goto cleanup;
    }
    rc = 0;

cleanup:
    json_decref(j);
    tern_command_result_clear(&out);
    stop_oslo_server(pid, fd);
    return rc;
}

/* ---- report ---- */

static double
median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* median_result: each figure of *ret is the median of that figure over the n rounds. */
static void
median_result(const bench_result_t *rounds, int n, bench_result_t *ret)
{
    double v[99];

#define MEDIAN(field)                 \
    do {                              \
        for (int i = 0; i < n; i++)   \
            v[i] = rounds[i].field;   \
        ret->field = median_of(v, n); \
    } while (0)
    MEDIAN(p50_us);
    MEDIAN(p99_us);
    MEDIAN(mean_us);
    MEDIAN(call_1_per_s);
    MEDIAN(call_n_per_s);
    MEDIAN(cast_n_per_s);
#undef MEDIAN
}

static void
print_row(const char *what, double tern, double oslo, const char *unit, bool lower_is_better)
{
    double ratio = lower_is_better ? (tern > 0 ? oslo / tern : 0) : (oslo > 0 ? tern / oslo : 0);

    printf("%-28s %12.1f %12.1f %-6s %8.1fx\n", what, tern, oslo, unit, ratio);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"calls", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"rounds", required_argument, NULL, 'r'},
        {"tern-only", no_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL;
    int calls = 2000, threads = 8, rounds = 3, c;
    bool tern_only = false;
    double seconds = 5;
    bench_result_t t = {0}, o = {0}, tr[99], or [99];

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            url = optarg;
            break;
        case 'n':
            calls = atoi(optarg);
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'T':
            tern_only = true;
            break;
        case 'r':
            rounds = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: bench-rpc [--url URL] [--calls N] [--seconds S] "
                            "[--threads T] [--rounds R] [--tern-only]\n");
            return 2;
        }
    }
    if (calls < 10 || threads < 1 || seconds <= 0 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "bench-rpc: --calls >= 10, --threads >= 1, --seconds > 0, "
                        "--rounds 1..99\n");
        return 2;
    }
    if (!url)
        url = harness_services_get()->rabbitmq_url;

    /* The machine is shared and noisy: rounds alternate tern and oslo, and every figure is
     * the median of its rounds. */
    for (int r = 0; r < rounds; r++) {
        if (bench_tern(url, calls, seconds, threads, &tr[r]) < 0) {
            fprintf(stderr, "bench-rpc: tern: %s\n", tern_error_message());
            return 1;
        }
        if (tern_only)
            continue;
        if (bench_oslo(url, calls, seconds, threads, & or [r]) < 0) {
            fprintf(stderr, "bench-rpc: oslo.messaging: %s\n", tern_error_message());
            return 1;
        }
    }
    median_result(tr, rounds, &t);
    median_result(or, rounds, &o);
    if (tern_only) {
        printf("tern (median of %d): p50 %.0f us, p99 %.0f us, mean %.0f us; calls/s %.0f (1 "
               "caller), %.0f (%d callers); casts/s %.0f\n",
               rounds, t.p50_us, t.p99_us, t.mean_us, t.call_1_per_s, t.call_n_per_s, threads,
               t.cast_n_per_s);
        return 0;
    }
    printf("RPC round trips on one broker, %d calls for latency, %g s per throughput run, median "
           "of %d alternating rounds\n",
           calls, seconds, rounds);
    printf("%-28s %12s %12s %-6s %9s\n", "", "tern", "oslo", "", "tern/oslo");
    print_row("call latency p50", t.p50_us, o.p50_us, "us", true);
    print_row("call latency p99", t.p99_us, o.p99_us, "us", true);
    print_row("call latency mean", t.mean_us, o.mean_us, "us", true);
    print_row("calls/s, 1 caller", t.call_1_per_s, o.call_1_per_s, "1/s", false);
    {
        char what[64];

        snprintf(what, sizeof(what), "calls/s, %d callers", threads);
        print_row(what, t.call_n_per_s, o.call_n_per_s, "1/s", false);
        snprintf(what, sizeof(what), "casts/s, %d casters", threads);
        print_row(what, t.cast_n_per_s, o.cast_n_per_s, "1/s", false);
    }
    printf("goal p99 < 2000 us: %s (%.0f us)\n", t.p99_us < 2000 ? "met" : "NOT met", t.p99_us);
    /* Throughput is measured with concurrent callers; one caller calling in sequence measures
     * the round trip again (the latency goal), bounded by the broker's hops. */
    printf("goal call throughput >= 10x oslo (%d concurrent callers): %s (%.1fx); one caller "
           "in sequence (round-trip bound): %.1fx\n",
           threads, t.call_n_per_s >= 10 * o.call_n_per_s ? "met" : "NOT met",
           t.call_n_per_s / o.call_n_per_s, t.call_1_per_s / o.call_1_per_s);
    return 0;
}
