"""How fast the SDK follows again after a dropped stream, and what keep-alive
saves: against a real odh-server (local engine) behind a loopback relay.

    PYTHONPATH=sdk/python python3 sdk/python/bench/resume.py [-n 30] [--server bin/odh-server]

Resume: a watch of a namespace runs through the relay; the relay cuts every
connection, a job is created right after (directly, not through the relay),
and the time from the cut to the watch delivering that job's ADDED event is
one sample: the reconnect, the reopened stream and the comparison with what
was already seen. The log-follow sample is the same for a job printing one
line every 50 ms: from the cut to the first new line after it.

Keep-alive: GET /api/v1/version n times with one client (kept-alive
connections) and with a new client per call (a new TCP connection each).
Results go to docs/benchmarks.md by hand; nothing here is asserted."""

import argparse
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests.netutil import TCPProxy  # noqa: E402
from tests.server_harness import LocalServer  # noqa: E402
from openshift_ai.training import MPIJobClient, MPIJobSpec  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def row(name, xs):
    ms = [x * 1000 for x in xs]
    print("| %s (n=%d) | %.1f ms | %.1f ms | %.1f ms |" % (name, len(xs), statistics.median(ms), pct(ms, 95), max(ms)))


def watch_resume(server, n):
    relay = TCPProxy(("127.0.0.1", server.port))
    via = MPIJobClient(server=relay.url, token=server.token, namespace="bench-resume")
    direct = MPIJobClient(server=server.url, token=server.token, namespace="bench-resume")
    seen = {}
    ready = threading.Event()

    def watch():
        for ev in via.watch_mpijobs(timeout=600):
            if ev.type == "SYNCED":
                ready.set()
            elif ev.type == "ADDED" and ev.job.name not in seen:
                seen[ev.job.name] = time.monotonic()
                if len(seen) == n:
                    return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    ready.wait(30)
    samples = []
    for i in range(n):
        time.sleep(1.2)  # each stream lives long enough to count as healthy
        name = "r%d-%d" % (i, os.getpid())
        cut = time.monotonic()
        relay.cut_all()
        direct.create_mpijob(MPIJobSpec(name=name, command=["true"], run_policy={"suspend": True}))
        while name not in seen:
            time.sleep(0.001)
        samples.append(seen[name] - cut)
    t.join(10)
    relay.close()
    return samples


def log_resume(server, n):
    relay = TCPProxy(("127.0.0.1", server.port))
    via = MPIJobClient(server=relay.url, token=server.token, namespace="bench-logs")
    job = via.create_mpijob(MPIJobSpec(name="printer-%d" % os.getpid(), command=["sh", "-c", "i=0; while [ $i -lt 100000 ]; do echo $i; i=$((i+1)); sleep 0.05; done"]))
    cut_at = []
    samples = []

    def cutter():
        for _ in range(n):
            time.sleep(1.2)
            cut_at.append(time.monotonic())
            relay.cut_all()

    t = threading.Thread(target=cutter, daemon=True)
    lines = job.get_logs(worker=0, follow=True, timeout=600)
    next(lines)
    t.start()
    pending = None
    last = None
    for text in lines:
        now = time.monotonic()
        v = int(text)
        assert last is None or v == last + 1, "gap or repeat: %s after %s" % (v, last)
        last = v
        if len(cut_at) > len(samples) and pending is None:
            pending = cut_at[len(samples)]
        if pending is not None and now > pending:
            samples.append(now - pending)
            pending = None
        if len(samples) == n:
            break
    job.delete()
    relay.close()
    return samples


def keepalive(server, n):
    c = MPIJobClient(server=server.url, token=server.token)
    t0 = time.monotonic()
    for _ in range(n):
        c.version()
    reuse = (time.monotonic() - t0) / n
    t0 = time.monotonic()
    for _ in range(n):
        with MPIJobClient(server=server.url, token=server.token) as fresh:
            fresh.version()
    fresh_each = (time.monotonic() - t0) / n
    return reuse, fresh_each


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--server", default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "bin", "odh-server"))
    args = ap.parse_args()
    server = LocalServer(args.server, slots=4)
    try:
        print("| Measure | p50 | p95 | max |")
        print("|---|---|---|---|")
        row("watch: cut → next event delivered", watch_resume(server, args.n))
        row("log follow: cut → next line delivered (a line every 50 ms)", log_resume(server, args.n))
        reuse, fresh = keepalive(server, 200)
        print()
        print("| GET /api/v1/version, mean of 200 | per call |")
        print("|---|---|")
        print("| one client, kept-alive connection | %.2f ms |" % (reuse * 1000))
        print("| a new client (new TCP connection) per call | %.2f ms |" % (fresh * 1000))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
