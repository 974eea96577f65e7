#!/usr/bin/python3
"""bench/rpc/oslo_bench.py: the oslo.messaging side of bench/rpc/bench-rpc.

    oslo_bench.py URL serve TOPIC SERVER
        serve "echo" (returns its args), "count" (a cast target that counts) and
        "wait_count" (waits until `n` casts arrived or 60 s passed; returns the count)
        until SIGTERM; prints "serving" once listening.
    oslo_bench.py URL client TOPIC CALLS SECONDS THREADS
        measure, as bench-rpc does for tern: round-trip latency of CALLS sequential calls
        (after a warm-up), call throughput with 1 and THREADS callers for SECONDS each, cast
        throughput with THREADS casters for SECONDS (until the server counted every cast);
        prints one JSON object.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging 14). Both ends use the control
exchange "tern" with oslo's default (transient) queues, as tern declares them.
"""
import json
import signal
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging as messaging

PAD = 'x' * 100


class Endpoint(object):
    target = messaging.Target(version='1.0')

    def __init__(self):
        self.lock = threading.Condition()
        self.casts = 0

    def echo(self, ctxt, **kwargs):
        return kwargs

    def count(self, ctxt, **kwargs):
        with self.lock:
            self.casts += 1
            self.lock.notify_all()

    def reset(self, ctxt):
        with self.lock:
            self.casts = 0

    def wait_count(self, ctxt, n):
        deadline = time.monotonic() + 60
        with self.lock:
            while self.casts < n and time.monotonic() < deadline:
                self.lock.wait(0.5)
            return self.casts


def transport_for(url):
    # The global CONF: oslo.messaging registers its metrics options there only.
    conf = cfg.CONF
    conf([], project='tern-bench')
    messaging.set_transport_defaults('tern')
    return messaging.get_rpc_transport(conf, url=url)


def serve(url, topic, server_name):
    transport = transport_for(url)
    target = messaging.Target(topic=topic, server=server_name)
    server = messaging.get_rpc_server(transport, target, [Endpoint()], executor='threading')
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    server.start()
    print('serving', flush=True)
    while not stop.is_set():
        stop.wait(0.5)
    server.stop()
    server.wait()
    transport.cleanup()
    return 0


def percentile(sorted_values, p):
    k = int(round(p / 100.0 * (len(sorted_values) - 1)))
    return sorted_values[k]


def call_loop(client, ctxt, seconds):
    done = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        client.call(ctxt, 'echo', i=done, pad=PAD)
        done += 1
    return done


def run_threads(n, fn):
    results = [0] * n

    def body(k):
        results[k] = fn()

    threads = [threading.Thread(target=body, args=(k,)) for k in range(n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results), time.monotonic() - start


def client(url, topic, calls, seconds, threads):
    transport = transport_for(url)
    c = messaging.get_rpc_client(transport, messaging.Target(topic=topic), timeout=60)
    ctxt = {'request_id': 'req-bench', 'user_id': 'bench', 'project_id': 'bench'}
    for i in range(200):
        c.call(ctxt, 'echo', i=i, pad=PAD)
    lat = []
    for i in range(calls):
        t0 = time.perf_counter()
        c.call(ctxt, 'echo', i=i, pad=PAD)
        lat.append((time.perf_counter() - t0) * 1e6)
    lat.sort()
    out = {'latency_p50_us': percentile(lat, 50), 'latency_p99_us': percentile(lat, 99),
           'latency_mean_us': sum(lat) / len(lat)}
    n, el = run_threads(1, lambda: call_loop(c, ctxt, seconds))
    out['call_1_per_s'] = n / el
    n, el = run_threads(threads, lambda: call_loop(c, ctxt, seconds))
    out['call_n_per_s'] = n / el

    def cast_loop():
        done = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            c.cast(ctxt, 'count', i=done, pad=PAD)
            done += 1
        return done

    c.call(ctxt, 'reset')
    start = time.monotonic()
    n, _ = run_threads(threads, cast_loop)
    got = c.call(ctxt, 'wait_count', n=n)
    el = time.monotonic() - start
    if got != n:
        print('oslo_bench: server counted %d of %d casts' % (got, n), file=sys.stderr)
        return 1
    out['cast_n_per_s'] = n / el
    print(json.dumps(out), flush=True)
    transport.cleanup()
    return 0


def main():
    url, mode, topic = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == 'serve':
        return serve(url, topic, sys.argv[4])
    return client(url, topic, int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))


if __name__ == '__main__':
    sys.exit(main())
