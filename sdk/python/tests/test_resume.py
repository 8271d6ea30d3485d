"""Resuming streams (no I/O): what a reopened watch or log stream delivers
after a drop — nothing twice, nothing missing — and when to give up; then
the same through the clients against a scripted server."""

import asyncio
import time
import unittest

from tests import _paths  # noqa: F401
from tests.fakeserver import FakeServer, Reply
from openshift_ai.training import AsyncMPIJobClient, ConnectionError, MPIJobClient, NotFoundError, TimeoutError
from openshift_ai.training._resume import LogTracker, Reconnect, WatchTracker, newer

NS = "/api/v1/namespaces/team-a"
WATCH = "/api/v1/watch/namespaces/team-a/mpijobs"


def job(name, rv, phase="Running", history=("Pending", "Running")):
    return {
        "metadata": {"name": name, "namespace": "team-a", "resourceVersion": str(rv)},
        "spec": {"command": ["x"]},
        "status": {"phase": phase, "history": [{"phase": p} for p in history]},
    }


def ev(typ, j=None):
    return {"type": typ, "job": j} if j else {"type": typ}


def line(source, t, text):
    return {"source": source, "time": "2026-01-02T15:04:%s" % t, "text": text, "stream": "stdout"}


class WatchTrackerTest(unittest.TestCase):
    def deliver(self, tr, objs):
        out = []
        for o in objs:
            out += [(e["type"], e["job"]["metadata"]["name"] if e.get("job") else None, e["job"]["metadata"]["resourceVersion"] if e.get("job") else None) for e in tr.feed(o)]
        return out

    def test_reopen_after_a_gap(self):
        tr = WatchTracker()
        tr.reopened()
        first = self.deliver(tr, [ev("ADDED", job("a", 5)), ev("ADDED", job("b", 6)), ev("ADDED", job("c", 7)), ev("SYNCED"), ev("MODIFIED", job("a", 8))])
        self.assertEqual([("ADDED", "a", "5"), ("ADDED", "b", "6"), ("ADDED", "c", "7"), ("SYNCED", None, None), ("MODIFIED", "a", "8")], first)
        # Down while: b changed, c was deleted, d was created; a is unchanged.
        tr.reopened()
        second = self.deliver(tr, [ev("ADDED", job("a", 8)), ev("ADDED", job("b", 10)), ev("ADDED", job("d", 11)), ev("SYNCED"), ev("MODIFIED", job("d", 12)), ev("MODIFIED", job("d", 12))])
        self.assertEqual([("MODIFIED", "b", "10"), ("ADDED", "d", "11"), ("DELETED", "c", "7"), ("MODIFIED", "d", "12")], second)

    def test_without_initial_events_they_set_the_baseline_only(self):
        tr = WatchTracker(want_initial=False)
        tr.reopened()
        self.assertEqual([], self.deliver(tr, [ev("ADDED", job("a", 5)), ev("SYNCED")]))
        self.assertEqual([("MODIFIED", "a", "6")], self.deliver(tr, [ev("MODIFIED", job("a", 6))]))
        tr.reopened()
        self.assertEqual([], self.deliver(tr, [ev("ADDED", job("a", 6)), ev("SYNCED")]))

    def test_an_older_state_is_never_delivered(self):
        tr = WatchTracker()
        tr.reopened()
        self.deliver(tr, [ev("ADDED", job("a", 9)), ev("SYNCED")])
        tr.reopened()
        self.assertEqual([], self.deliver(tr, [ev("ADDED", job("a", 8)), ev("SYNCED")]))

    def test_resource_versions(self):
        self.assertTrue(newer("10", "9"))
        self.assertFalse(newer("9", "10"))
        self.assertFalse(newer("9", "9"))
        self.assertTrue(newer("", "9"), "no version: cannot tell, deliver")
        self.assertTrue(newer("5", None))


class LogTrackerTest(unittest.TestCase):
    def test_overlap_is_skipped_per_source(self):
        tr = LogTracker()
        tr.reopened()
        seen = [l["text"] for l in [line("worker-0", "05.1Z", "a"), line("worker-1", "05.2Z", "b"), line("worker-0", "06.5Z", "c")] if tr.feed(l)]
        self.assertEqual(["a", "b", "c"], seen)
        # Resume from the oldest source's last line, minus a second.
        self.assertEqual("2026-01-02T15:04:04.2Z", __import__("openshift_ai.training._time", fromlist=["x"]).format_rfc3339(tr.since()))
        tr.reopened()
        again = [line("worker-0", "05.1Z", "a"), line("worker-1", "05.2Z", "b"), line("worker-0", "06.5Z", "c"), line("worker-1", "06.6Z", "d"), line("worker-0", "06.5Z", "c")]
        self.assertEqual(["d", "c"], [l["text"] for l in again if tr.feed(l)], "the second identical line is new output")

    def test_old_lines_of_a_seen_source_are_dropped(self):
        tr = LogTracker()
        tr.reopened()
        for l in [line("launcher", "01.0Z", "x"), line("launcher", "09.0Z", "y")]:
            tr.feed(l)
        tr.reopened()
        self.assertFalse(tr.feed(line("launcher", "01.0Z", "x")))
        self.assertTrue(tr.feed(line("worker-3", "01.0Z", "first line of a new source")))

    def test_lines_without_time(self):
        tr = LogTracker()
        tr.feed({"source": "launcher", "text": "no time"})
        self.assertTrue(tr.untimed)


class ReconnectTest(unittest.TestCase):
    def test_quick_retries_then_give_up(self):
        rc = Reconnect(None, 0.3)
        delays = [rc.wait(None) for _ in range(6)]
        self.assertEqual([0.0, 0.1, 0.2, 0.4, 0.8, 1.0], [round(d, 3) for d in delays])
        time.sleep(0.35)
        with self.assertRaises(ConnectionError):
            rc.wait(None)

    def test_a_stream_that_worked_resets_the_outage(self):
        rc = Reconnect(None, 0.2)
        rc.wait(None)
        time.sleep(0.25)
        rc.connected()
        rc.opened_at -= 1.0  # it lived a second
        self.assertEqual(0.0, rc.wait(None))
        self.assertAlmostEqual(0.1, rc.wait(None), places=3)

    def test_deadline(self):
        rc = Reconnect(time.monotonic() - 1, None)
        with self.assertRaises(TimeoutError):
            rc.wait(None)
        self.assertFalse(Reconnect(time.monotonic() - 1, None).transient(TimeoutError("x")))
        self.assertTrue(Reconnect(None, None).transient(TimeoutError("a request timed out")))


class ClientResumeTest(unittest.TestCase):
    """The clients against a scripted server whose streams end early."""

    def client(self, fake, cls=MPIJobClient):
        return cls(server=fake.url, token="t", namespace="team-a", backoff=0.01)

    def script(self, fake):
        fake.on(
            "GET",
            WATCH,
            Reply(stream=[ev("ADDED", job("pi", 5, "Running")), ev("SYNCED")]),
            Reply(stream=[ev("ADDED", job("pi", 5, "Running")), ev("SYNCED"), ev("MODIFIED", job("pi", 7, "Running", ("Pending", "Running")))]),
            Reply(stream=[ev("ADDED", job("pi", 9, "Succeeded", ("Pending", "Running", "Succeeded"))), ev("SYNCED")]),
        )
        fake.on("GET", NS + "/mpijobs/pi", Reply(200, job("pi", 5, "Running")))

    def test_sync_monitor(self):
        with FakeServer() as fake:
            self.script(fake)
            j = self.client(fake).get_mpijob("pi")
            rvs, phases = [], []
            st = j.monitor(lambda s: rvs.append(j.metadata.resource_version), on_transition=lambda t: phases.append(t.phase))
            self.assertEqual("Succeeded", st.phase)
            self.assertEqual(["5", "9"], rvs, "rv 7 changed nothing the callback sees; rv 5 came twice and was reported once")
            self.assertEqual(["Pending", "Running", "Succeeded"], phases)
            self.assertEqual(3, len(fake.calls("GET", WATCH)))

    def test_async_wait(self):
        with FakeServer() as fake:
            self.script(fake)

            async def scenario():
                async with self.client(fake, AsyncMPIJobClient) as c:
                    j = await c.get_mpijob("pi")
                    return await j.wait_for_completion(timeout=20)

            self.assertEqual("Succeeded", asyncio.run(scenario()).phase)

    def test_deleted_during_a_gap_is_not_an_outcome(self):
        with FakeServer() as fake:
            fake.on("GET", WATCH, Reply(stream=[ev("ADDED", job("pi", 5)), ev("SYNCED")]), Reply(stream=[ev("SYNCED")]))
            fake.on("GET", NS + "/mpijobs/pi", Reply(200, job("pi", 5)))
            j = self.client(fake).get_mpijob("pi")
            with self.assertRaisesRegex(NotFoundError, "deleted before it was seen to finish"):
                j.wait_for_completion(timeout=20)

    def test_watch_resumes_and_reports_the_gap(self):
        with FakeServer() as fake:
            fake.on(
                "GET",
                WATCH,
                Reply(stream=[ev("ADDED", job("a", 5)), ev("ADDED", job("b", 6)), ev("SYNCED")]),
                Reply(stream=[ev("ADDED", job("a", 5)), ev("ADDED", job("c", 8)), ev("SYNCED")]),
            )
            got = []
            for e in self.client(fake).watch_mpijobs(timeout=20):
                got.append((e.type, e.job.name if e.job else None))
                if len(got) == 5:
                    break
            self.assertEqual([("ADDED", "a"), ("ADDED", "b"), ("SYNCED", None), ("ADDED", "c"), ("DELETED", "b")], got)

    def test_log_follow_resumes_after_the_last_line(self):
        logs = NS + "/mpijobs/pi/logs"
        with FakeServer() as fake:
            fake.on(
                "GET",
                logs,
                Reply(stream=[line("worker-0", "05.1Z", "one"), line("worker-0", "05.9Z", "two")]),
                Reply(stream=[line("worker-0", "05.1Z", "one"), line("worker-0", "05.9Z", "two"), line("worker-0", "06.3Z", "three")]),
            )
            fake.on("GET", NS + "/mpijobs/pi", Reply(200, job("pi", 5, "Running")), Reply(200, job("pi", 9, "Succeeded")))
            c = self.client(fake)
            self.assertEqual(["one", "two", "three"], list(c.get_logs("pi", worker=0, follow=True, tail=10, timeout=20)))
            q = [r["query"] for r in fake.calls("GET", logs)]
            self.assertEqual("worker=0&follow=true&tailLines=10", q[0])
            self.assertEqual("worker=0&follow=true&sinceTime=2026-01-02T15%3A04%3A04.9Z", q[1], "no tail, since the last line minus a second")

            async def scenario():
                fake.on("GET", logs, Reply(stream=[line("worker-0", "05.1Z", "one")]), Reply(stream=[line("worker-0", "05.1Z", "one"), line("worker-0", "07.0Z", "two")]))
                fake.on("GET", NS + "/mpijobs/pi", Reply(200, job("pi", 5, "Running")), Reply(200, job("pi", 9, "Succeeded")))
                async with self.client(fake, AsyncMPIJobClient) as ac:
                    return [l async for l in ac.stream_logs("pi", worker=0, timeout=20)]

            self.assertEqual(["one", "two"], asyncio.run(scenario()))


if __name__ == "__main__":
    unittest.main()
