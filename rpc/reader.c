/*
 * rpc/reader.c: the reader - how a client and a server read their two connections by turns
 * (leader/followers) - and the keeper thread that reads when nobody does.
 *
 * A client and a server each own two connections: in, the consumer (a client's reply queue, a
 * server's queues), and out, on which they publish (requests, replies) with publisher confirms
 * that nothing waits for while publishing. Neither has an I/O thread: the threads that wait (a
 * client's callers, a server's idle workers) take turns as the reader (rpc_reader_turn). The
 * reader polls both sockets and an eventfd (rpc_reader_wake: a new socket to poll, stop), pumps
 * in - its deliveries go to the owner's on_delivery - and out - confirms go to the publishes'
 * callbacks - then lets the owner do its own part (acks, replies to publish again). A lost in is
 * opened again by the reader, with backoff, and read at once: deliveries that came with
 * consume-ok sit in rabbitmq-c's buffer, where poll() cannot see them.
 *
 * Confirms nobody waits for are not worth a wake-up of their own: out is pumped confirm_lag_ms
 * after its last pump at the latest (PUMP_PERIOD_MS when none is due), and polled at once while
 * a thread waits for a confirm (confirm_waiters) or watch_unconfirmed publishes wait for theirs.
 *
 * The keeper reads when nobody does, every PUMP_PERIOD_MS, so that heartbeats are sent and
 * checked on every connection, idle or not; an owner may have it wake one of its own threads to
 * read instead (a server's idle worker), at a pace the owner sets.
 *
 * Owns the eventfd, the keeper thread and its condition, and the reader's own state (backoff,
 * last pumps). The role (busy), stop and the confirm counts are guarded by the owner's lock.
 * Logs nothing: what goes wrong while reading is counted in the owner's rpc_stats_t (a poll
 * error here; a lost connection or a failed reconnect by conn.c).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "rpc/rpc-private.h"

/* Every connection is pumped at least this often, heartbeats are sent then: by the keeper when
 * nobody reads, and out by the reader too (its socket is not polled unless a confirm is awaited:
 * a server's idle worker holds the role for good, so its keeper never reads). */
#define PUMP_PERIOD_MS 1000

int
rpc_reader_init(rpc_reader_t *r, const rpc_reader_ops_t *ops, void *owner, pthread_mutex_t *lock,
                rpc_conn_t *in, rpc_conn_t *out, int watch_unconfirmed)
{
    pthread_condattr_t attr;

    memset(r, 0, sizeof(*r));
    r->ops = ops;
    r->owner = owner;
    r->lock = lock;
    r->in = in;
    r->out = out;
    r->watch_unconfirmed = watch_unconfirmed;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the keeper's ticks ignore clock steps */
    pthread_cond_init(&r->keeper_cond, &attr);
    pthread_condattr_destroy(&attr);
    r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->wake_fd < 0)
        return tern_error_set_errno(errno, "could not create an eventfd");
    return 0;
}

void
rpc_reader_fini(rpc_reader_t *r)
{
    if (r->wake_fd >= 0)
        close(r->wake_fd);
    r->wake_fd = -1;
    pthread_cond_destroy(&r->keeper_cond);
}

void
rpc_reader_wake(rpc_reader_t *r)
{
    uint64_t one = 1;

    if (write(r->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        RPC_COUNT(r->in->stats->poll_errors);
}

/* note_in: tell the owner when in came up or was found lost. Reader only. */
static void
note_in(rpc_reader_t *r)
{
    bool up = rpc_conn_fd(r->in) >= 0;

    if (up == r->in_up)
        return;
    r->in_up = up;
    if (r->ops->in_changed)
        r->ops->in_changed(r->owner, up);
}

int
rpc_reader_open_in(rpc_reader_t *r)
{
    int rc;

    pthread_mutex_lock(&r->in->lock);
    rc = rpc_conn_open(r->in, false, r->in->cfg->heartbeat_timeout_s);
    if (rc == 0)
        rc = r->ops->subscribe(r->owner);
    if (rc < 0)
        rpc_conn_close(r->in);
    pthread_mutex_unlock(&r->in->lock);
    if (rc == 0)
        r->in_fresh = true;
    note_in(r);
    return rc;
}

/* reopen_in: open in again after it was lost, at most once per backoff delay (retry_interval_ms,
 * + retry_backoff_ms per failed attempt, up to retry_max_ms). Reader only. */
static void
reopen_in(rpc_reader_t *r)
{
    const rpc_config_t *cfg = r->in->cfg;
    int64_t now = tern_now_monotonic_ms();

    if (now < r->in_retry_at_ms)
        return;
    if (rpc_reader_open_in(r) == 0) {
        r->in_retry_delay_ms = 0;
        return;
    }
    r->in_retry_delay_ms = r->in_retry_delay_ms == 0 ? cfg->retry_interval_ms
                                                     : r->in_retry_delay_ms + cfg->retry_backoff_ms;
    if (r->in_retry_delay_ms > cfg->retry_max_ms)
        r->in_retry_delay_ms = cfg->retry_max_ms;
    r->in_retry_at_ms = now + r->in_retry_delay_ms; /* conn.c counted the failed reconnect */
}

int
rpc_reader_open_out(rpc_reader_t *r)
{
    if (r->out->state)
        return 0;
    if (rpc_conn_open(r->out, true, r->out->cfg->heartbeat_timeout_s) < 0)
        return -1;
    rpc_reader_wake(r); /* a new socket to poll */
    return 0;
}

/* pump: take what c has ready (deliveries to on_delivery); readable: poll() said so. A broken
 * connection is closed and counted by conn.c, and opened again by its owner or the reader. */
static void
pump(rpc_conn_t *c, bool readable, rpc_delivery_fn on_delivery, void *opaque)
{
    pthread_mutex_lock(&c->lock);
    if (readable)
        rpc_conn_note_readable(c);
    if (c->state)
        (void)rpc_conn_pump(c, on_delivery, opaque);
    pthread_mutex_unlock(&c->lock);
}

void
rpc_reader_read(rpc_reader_t *r, int timeout_ms, bool force)
{
    struct pollfd pfd[3] = {{.fd = r->wake_fd, .events = POLLIN},
                            {.fd = rpc_conn_fd(r->in), .events = POLLIN},
                            {.fd = -1, .events = POLLIN}};
    int64_t now = tern_now_monotonic_ms();
    int64_t out_due;
    int unconfirmed, waiters;
    bool woken, fresh;

    if (pfd[1].fd < 0 && !r->stop) {
        reopen_in(r);
        pfd[1].fd = rpc_conn_fd(r->in);
    }
    fresh = r->in_fresh; /* read it now: poll() cannot see what came with consume-ok */
    r->in_fresh = false;
    if (fresh)
        timeout_ms = 0;
    pthread_mutex_lock(r->lock);
    unconfirmed = r->unconfirmed;
    waiters = r->confirm_waiters;
    pthread_mutex_unlock(r->lock);
    out_due = r->out_pumped_ms + (unconfirmed > 0 ? r->ops->confirm_lag_ms : PUMP_PERIOD_MS);
    if (waiters > 0 || unconfirmed >= r->watch_unconfirmed)
        pfd[2].fd = rpc_conn_fd(r->out);
    else if (timeout_ms > out_due - now)
        timeout_ms = (int)(out_due - now);
    if (poll(pfd, 3, timeout_ms < 0 ? 0 : timeout_ms) < 0 && errno != EINTR)
        RPC_COUNT(r->in->stats->poll_errors);
    woken = pfd[0].revents & POLLIN;
    if (woken) {
        uint64_t n;

        if (read(r->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
            RPC_COUNT(r->in->stats->poll_errors);
    }
    if (force || fresh || pfd[1].revents)
        pump(r->in, pfd[1].revents & POLLIN, r->ops->on_delivery, r->owner);
    now = tern_now_monotonic_ms();
    if (force || woken || pfd[2].revents || now >= out_due) {
        pump(r->out, pfd[2].revents & POLLIN, NULL, NULL);
        r->out_pumped_ms = now;
    }
    if (r->ops->after_read)
        r->ops->after_read(r->owner, force);
    note_in(r);
}

bool
rpc_reader_turn(rpc_reader_t *r, int timeout_ms, bool force)
{
    if (r->busy)
        return false;
    r->busy = true;
    pthread_mutex_unlock(r->lock);
    rpc_reader_read(r, timeout_ms, force);
    pthread_mutex_lock(r->lock);
    r->busy = false;
    return true;
}

/* keeper_thread: reads every PUMP_PERIOD_MS when nobody does, unless the owner's keeper_tick
 * woke one of its threads to read instead; ticks at the owner's pace. */
static void *
keeper_thread(void *arg)
{
    rpc_reader_t *r = arg;
    int64_t read_ms = 0; /* when the keeper last read */

    pthread_mutex_lock(r->lock);
    while (!r->stop) {
        int64_t now = tern_now_monotonic_ms();
        int next_ms = PUMP_PERIOD_MS;
        bool delegated = r->ops->keeper_tick && r->ops->keeper_tick(r->owner, now, &next_ms);
        struct timespec ts;

        if (!delegated && now - read_ms >= PUMP_PERIOD_MS && rpc_reader_turn(r, 0, true)) {
            read_ms = now;
            if (r->ops->handoff)
                r->ops->handoff(r->owner);
        }
        tern_timespec_after(CLOCK_MONOTONIC, next_ms, &ts);
        pthread_cond_timedwait(&r->keeper_cond, r->lock, &ts);
    }
    pthread_mutex_unlock(r->lock);
    return NULL;
}

int
rpc_reader_start(rpc_reader_t *r)
{
    int rc;

    r->stop = false;
    if ((rc = pthread_create(&r->keeper, NULL, keeper_thread, r)) != 0)
        return tern_error_set_errno(rc, "could not start the keeper thread");
    r->keeper_running = true;
    return 0;
}

void
rpc_reader_kick_keeper(rpc_reader_t *r)
{
    pthread_cond_signal(&r->keeper_cond);
}

void
rpc_reader_stop(rpc_reader_t *r)
{
    pthread_mutex_lock(r->lock);
    r->stop = true;
    pthread_cond_signal(&r->keeper_cond);
    pthread_mutex_unlock(r->lock);
    if (r->wake_fd >= 0)
        rpc_reader_wake(r); /* out of a reader's poll */
    if (r->keeper_running)
        pthread_join(r->keeper, NULL);
    r->keeper_running = false;
}

void
rpc_stats_copy(const rpc_stats_t *live, rpc_stats_t *ret)
{
#define LOAD(counter) ret->counter = __atomic_load_n(&live->counter, __ATOMIC_RELAXED)
    LOAD(connections_lost);
    LOAD(reconnects);
    LOAD(reconnects_failed);
    LOAD(publishes_retried);
    LOAD(replies_unclaimed);
    LOAD(malformed_dropped);
    LOAD(oversized_dropped);
    LOAD(duplicates_dropped);
    LOAD(replies_retried);
    LOAD(replies_dropped);
    LOAD(casts_failed);
    LOAD(poll_errors);
#undef LOAD
}
