"""Transport behaviour against a fake of the server's HTTP side: retries
with backoff for idempotent calls only, error bodies → exceptions, auth
header, query encoding, newline-delimited JSON streams (sync and asyncio)."""

import asyncio
import time
import unittest

from tests import _paths  # noqa: F401
from tests.fakeserver import FakeServer, Reply, free_port
from openshift_ai.training import (
    AsyncMPIJobClient,
    ConnectionError,
    MPIJobClient,
    MPIJobSpec,
    NotFoundError,
    QuotaExceededError,
    ServiceUnavailableError,
    TimeoutError,
    ValidationError,
    WorkerSpec,
)
from openshift_ai.training.api import RetryPolicy

NS = "/api/v1/namespaces/team-a"
UNAVAILABLE = Reply(503, {"code": 14, "status": "UNAVAILABLE", "reason": "Unavailable", "message": "engine is starting"})
VERSION = Reply(200, {"version": "v1.2.3", "engine": "local", "engineVersion": "Open MPI 4.1.4"})


def job_json(name="pi", phase="Running", history=("Pending", "Starting", "Running"), running=2):
    return {
        "apiVersion": "training.opendatahub.io/v1alpha1",
        "kind": "MPIJob",
        "metadata": {"name": name, "namespace": "team-a", "uid": "u-1", "creationTimestamp": "2026-01-02T15:04:05Z", "creator": "alice"},
        "spec": {"command": ["python3", "pi.py"], "workers": {"replicas": 2, "slotsPerWorker": 1}},
        "status": {
            "phase": phase,
            "reason": phase,
            "workers": {"total": 2, "running": running},
            "history": [{"phase": p, "reason": p, "time": "2026-01-02T15:04:0%dZ" % i} for i, p in enumerate(history)],
        },
    }


def client(fake, **kw):
    kw.setdefault("token", "s3cret")
    kw.setdefault("namespace", "team-a")
    kw.setdefault("backoff", 0.01)
    return MPIJobClient(server=fake.url, **kw)


def aclient(fake, **kw):
    kw.setdefault("token", "s3cret")
    kw.setdefault("namespace", "team-a")
    kw.setdefault("backoff", 0.01)
    return AsyncMPIJobClient(server=fake.url, **kw)


class RetryPolicyTest(unittest.TestCase):
    def test_exponential_backoff_with_cap(self):
        p = RetryPolicy(retries=5, backoff=0.5, max_backoff=4.0)
        for attempt, base in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0)]:
            d = p.delay(attempt)
            self.assertGreaterEqual(d, base / 2)
            self.assertLessEqual(d, base)

    def test_retry_after_header_wins(self):
        self.assertEqual(2.0, RetryPolicy(max_backoff=8).delay(0, "2"))
        self.assertEqual(8.0, RetryPolicy(max_backoff=8).delay(0, "100"))


class SyncTransportTest(unittest.TestCase):
    def test_get_retried_after_503_then_succeeds(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/version", UNAVAILABLE, VERSION)
            v = client(fake).version()
            self.assertEqual("v1.2.3", v.version)
            self.assertEqual(2, len(fake.calls("GET", "/api/v1/version")))

    def test_delete_retried_on_502_and_504(self):
        with FakeServer() as fake:
            fake.on("DELETE", NS + "/mpijobs/pi", Reply(502, raw=b"bad gateway"), Reply(504, {"reason": "Timeout", "message": "slow"}), Reply(200, {"job": job_json()}))
            job = client(fake).delete_mpijob("pi")
            self.assertEqual("pi", job.name)
            self.assertEqual(3, len(fake.calls("DELETE", NS + "/mpijobs/pi")))

    def test_post_create_is_not_retried(self):
        with FakeServer() as fake:
            fake.on("POST", NS + "/mpijobs", UNAVAILABLE, Reply(200, {"job": job_json()}))
            with self.assertRaises(ServiceUnavailableError) as cm:
                client(fake).create_mpijob(MPIJobSpec(name="pi", command=["python3", "pi.py"]))
            self.assertEqual(503, cm.exception.status_code)
            self.assertEqual(1, len(fake.calls("POST", NS + "/mpijobs")))

    def test_retries_exhausted(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/version", UNAVAILABLE)
            with self.assertRaises(ServiceUnavailableError):
                client(fake, retries=2).version()
            self.assertEqual(3, len(fake.calls("GET", "/api/v1/version")))

    def test_no_retry_on_4xx(self):
        with FakeServer() as fake:
            fake.on("GET", NS + "/mpijobs/nope", Reply(404, {"code": 5, "reason": "NotFound", "message": 'MPIJob "nope" not found', "hint": "list them"}))
            with self.assertRaises(NotFoundError) as cm:
                client(fake).get_mpijob("nope")
            self.assertEqual("list them", cm.exception.hint)
            self.assertEqual(1, len(fake.calls("GET", NS + "/mpijobs/nope")))

    def test_connection_refused_names_the_address_after_retries(self):
        url = "http://127.0.0.1:%d" % free_port()
        c = MPIJobClient(server=url, token="t", retries=2, backoff=0.01)
        t0 = time.monotonic()
        with self.assertRaises(ConnectionError) as cm:
            c.version()
        self.assertIn(url, str(cm.exception))
        self.assertEqual(url, cm.exception.address)
        self.assertIsInstance(cm.exception, OSError)  # the builtin ConnectionError too
        self.assertLess(time.monotonic() - t0, 5)

    def test_headers_and_query(self):
        with FakeServer() as fake:
            fake.on("GET", NS + "/mpijobs", Reply(200, {"items": [job_json("a")], "nextPageToken": "p2"}), Reply(200, {"items": [job_json("b")]}))
            jobs = client(fake).list_mpijobs(label_selector="team=nlp", phase=["Running", "Queued"], page_size=1)
            self.assertEqual(["a", "b"], [j.name for j in jobs])
            first, second = fake.calls("GET", NS + "/mpijobs")
            self.assertEqual("Bearer s3cret", first["headers"]["Authorization"])
            self.assertIn("odh-training-python/", first["headers"]["User-Agent"])
            self.assertEqual("labelSelector=team%3Dnlp&phase=Running&phase=Queued&pageSize=1", first["query"])
            self.assertIn("pageToken=p2", second["query"])

    def test_all_namespaces_uses_the_cluster_wide_path(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/mpijobs", Reply(200, {"items": [job_json("a")]}))
            self.assertEqual(1, len(client(fake).list_mpijobs(all_namespaces=True)))

    def test_create_body_and_warnings(self):
        with FakeServer() as fake:
            fake.on("POST", NS + "/mpijobs", Reply(200, {"job": job_json(), "warnings": ["image is ignored by the local engine"]}))
            spec = MPIJobSpec(name="pi", image="quay.io/x:1", command=["python3", "pi.py"], worker_spec=WorkerSpec(replicas=2, resources={"requests": {"cpu": 1}}))
            job = client(fake).create_mpijob(spec, dry_run=True)
            self.assertEqual(["image is ignored by the local engine"], job.warnings)
            body = fake.calls("POST", NS + "/mpijobs")[0]["body"]
            self.assertTrue(body["dryRun"])
            self.assertEqual("team-a", body["job"]["metadata"]["namespace"])
            self.assertEqual({"replicas": 2, "resources": {"cpu": "1"}}, body["job"]["spec"]["workers"])

    def test_upstream_documents_are_sent_as_manifests(self):
        upstream = {"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": {"name": "up"}, "spec": {"mpiReplicaSpecs": {}}}
        with FakeServer() as fake:
            fake.on("POST", NS + "/mpijobs", Reply(200, {"job": job_json("up")}))
            self.assertEqual("up", client(fake).create_mpijob(upstream).name)
            body = fake.calls("POST", NS + "/mpijobs")[0]["body"]
            self.assertEqual(upstream, __import__("json").loads(body["manifest"]))

    def test_documents_are_sent_as_given_for_the_server_to_check(self):
        doc = {"metadata": {"name": "pi"}, "spec": {"command": "python3 pi.py", "worker": {}}}
        with FakeServer() as fake:
            fake.on("POST", NS + "/mpijobs", Reply(200, {"job": job_json()}))
            client(fake).create_mpijob(doc)
            body = fake.calls("POST", NS + "/mpijobs")[0]["body"]
        self.assertEqual({"job": {"metadata": {"name": "pi", "namespace": "team-a"}, "spec": {"command": "python3 pi.py", "worker": {}}}}, body)
        self.assertEqual({"name": "pi"}, doc["metadata"], "the caller's dict is not changed")

    def test_server_validation_error_body(self):
        body = {
            "code": 3,
            "status": "INVALID_ARGUMENT",
            "reason": "Invalid",
            "message": 'MPIJob "x" is invalid (1 error); nothing was created:',
            "fieldErrors": [{"field": "spec.workers.replicas", "type": "Invalid", "value": "0", "message": "must be at least 1, got 0"}],
        }
        with FakeServer() as fake:
            fake.on("POST", NS + "/mpijobs", Reply(422, body))
            with self.assertRaises(ValidationError) as cm:
                client(fake, validate=False).create_mpijob(MPIJobSpec(name="x", command=["a"], worker_spec=WorkerSpec(replicas=0)))
            e = cm.exception
            self.assertEqual(422, e.status_code)
            self.assertEqual("spec.workers.replicas", e.field_errors[0].field)
            self.assertIn("must be at least 1, got 0", str(e))

    def test_quota_error(self):
        body = {
            "code": 8,
            "status": "RESOURCE_EXHAUSTED",
            "reason": "QuotaExceeded",
            "message": "not enough GPUs",
            "quota": [{"resource": "nvidia.com/gpu", "requested": "8", "available": "4", "limit": "10", "source": "ResourceQuota team-a/compute"}],
            "hint": "ask for fewer",
        }
        with FakeServer() as fake:
            fake.on("POST", NS + "/mpijobs", Reply(403, body))
            with self.assertRaises(QuotaExceededError) as cm:
                client(fake).create_mpijob(MPIJobSpec(name="x", command=["a"]))
            self.assertEqual("8", cm.exception.quota[0].requested)
            self.assertIn("nvidia.com/gpu: requested 8, available 4", str(cm.exception))

    def test_watch_stream_and_mid_stream_error(self):
        err = {"error": {"code": 5, "message": "gone", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "NotFound", "domain": "training.opendatahub.io"}]}}
        with FakeServer() as fake:
            fake.on(
                "GET",
                "/api/v1/watch/namespaces/team-a/mpijobs",
                Reply(stream=[{"result": {"type": "ADDED", "job": job_json("a")}}, {"result": {"type": "SYNCED"}}, err]),
            )
            events = []
            with self.assertRaises(NotFoundError):
                for ev in client(fake).watch_mpijobs():
                    events.append((ev.type, ev.job.name if ev.job else None))
            self.assertEqual([("ADDED", "a"), ("SYNCED", None)], events)
            self.assertIn("sendInitialEvents=true", fake.requests[0]["query"])

    def test_logs_query_and_text(self):
        lines = [{"result": {"source": "worker-0", "worker": 0, "rank": 0, "stream": "stdout", "text": "hello 0"}}, {"result": {"source": "worker-1", "worker": 1, "rank": 1, "text": "hello 1"}}]
        with FakeServer() as fake:
            fake.on("GET", NS + "/mpijobs/pi/logs", Reply(stream=lines))
            c = client(fake)
            self.assertEqual("[worker-0] hello 0\n[worker-1] hello 1\n", c.get_logs("pi", worker="all", tail=10, since=30))
            self.assertEqual("all=true&tailLines=10&sinceSeconds=30", fake.requests[-1]["query"])
            fake.on("GET", NS + "/mpijobs/pi", Reply(200, job_json("pi", "Succeeded")))
            self.assertEqual(["hello 0", "hello 1"], list(c.get_logs("pi", worker=1, follow=True)))
            self.assertEqual("worker=1&follow=true", fake.calls("GET", NS + "/mpijobs/pi/logs")[-1]["query"])
            # The follow ended: the job is asked whether it really ended.
            self.assertEqual(1, len(fake.calls("GET", NS + "/mpijobs/pi")))

    def test_monitor_reconnects_after_stream_closes(self):
        with FakeServer() as fake:
            path = "/api/v1/watch/namespaces/team-a/mpijobs"
            fake.on(
                "GET",
                path,
                Reply(stream=[{"result": {"type": "ADDED", "job": job_json("pi", "Starting", ("Pending", "Starting"), 0)}}, {"result": {"type": "SYNCED"}}]),
                Reply(stream=[{"result": {"type": "ADDED", "job": job_json("pi", "Succeeded", ("Pending", "Starting", "Running", "Succeeded"), 0)}}]),
            )
            fake.on("GET", NS + "/mpijobs/pi", Reply(200, job_json("pi", "Starting", ("Pending", "Starting"), 0)))
            job = client(fake).get_mpijob("pi")
            seen, transitions = [], []
            status = job.monitor(lambda s: seen.append(s.phase), on_transition=lambda t: transitions.append(t.phase))
            self.assertEqual("Succeeded", status.phase)
            self.assertEqual(["Starting", "Succeeded"], seen)
            self.assertEqual(["Pending", "Starting", "Running", "Succeeded"], transitions)
            self.assertEqual(2, len(fake.calls("GET", path)))

    def test_monitor_timeout(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/watch/namespaces/team-a/mpijobs", Reply(stream=[{"result": {"type": "ADDED", "job": job_json()}}, 3]))
            fake.on("GET", NS + "/mpijobs/pi", Reply(200, job_json()))
            job = client(fake).get_mpijob("pi")
            t0 = time.monotonic()
            with self.assertRaises(TimeoutError) as cm:
                job.wait_for_completion(timeout=0.5)
            self.assertLess(time.monotonic() - t0, 2.5)
            self.assertIsInstance(cm.exception, __builtins__["TimeoutError"] if isinstance(__builtins__, dict) else __builtins__.TimeoutError)
            self.assertIn("Running", str(cm.exception))

    def test_monitor_missing_job(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/watch/namespaces/team-a/mpijobs", Reply(stream=[{"result": {"type": "SYNCED"}}]))
            fake.on("GET", NS + "/mpijobs/pi", Reply(200, job_json()))
            job = client(fake).get_mpijob("pi")
            with self.assertRaises(NotFoundError):
                job.monitor()


class AsyncTransportTest(unittest.TestCase):
    def run_async(self, coro):
        return asyncio.run(asyncio.wait_for(coro, 20))

    def test_get_retried_after_503(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/version", UNAVAILABLE, UNAVAILABLE, VERSION)
            v = self.run_async(aclient(fake).version())
            self.assertEqual("v1.2.3", v.version)
            self.assertEqual(3, len(fake.calls("GET", "/api/v1/version")))

    def test_post_not_retried_and_error_parsed(self):
        with FakeServer() as fake:
            fake.on("POST", NS + "/mpijobs", UNAVAILABLE)
            with self.assertRaises(ServiceUnavailableError):
                self.run_async(aclient(fake).create_mpijob(MPIJobSpec(name="x", command=["a"])))
            self.assertEqual(1, len(fake.calls("POST", NS + "/mpijobs")))

    def test_connection_refused(self):
        url = "http://127.0.0.1:%d" % free_port()
        with self.assertRaises(ConnectionError) as cm:
            self.run_async(AsyncMPIJobClient(server=url, token="t", retries=1, backoff=0.01).version())
        self.assertIn(url, str(cm.exception))

    def test_stream_logs_and_monitor(self):
        lines = [{"result": {"source": "worker-0", "text": "a"}}, {"result": {"source": "worker-1", "text": "b"}}]
        with FakeServer() as fake:
            fake.on("GET", NS + "/mpijobs/pi/logs", Reply(stream=lines))
            fake.on("GET", NS + "/mpijobs/pi", Reply(200, job_json()), Reply(200, job_json("pi", "Failed")))
            fake.on(
                "GET",
                "/api/v1/watch/namespaces/team-a/mpijobs",
                Reply(stream=[{"result": {"type": "ADDED", "job": job_json()}}, {"result": {"type": "SYNCED"}}, 0.05, {"result": {"type": "MODIFIED", "job": job_json("pi", "Failed", ("Pending", "Running", "Failed"), 0)}}]),
            )

            async def scenario():
                c = aclient(fake)
                job = await c.get_mpijob("pi")
                got = [l async for l in job.stream_logs(worker="all")]
                text = await job.get_logs(worker=0)
                seen = []

                async def cb(s):
                    seen.append(s.phase)

                status = await job.monitor(cb)
                return got, text, seen, status

            got, text, seen, status = self.run_async(scenario())
            self.assertEqual(["[worker-0] a", "[worker-1] b"], got)
            self.assertEqual("a\nb\n", text)
            self.assertEqual(["Running", "Failed"], seen)
            self.assertTrue(status.failed)


if __name__ == "__main__":
    unittest.main()


class StreamCloseRaceTest(unittest.TestCase):
    def test_close_from_another_thread_before_the_timeout_is_set_ends_the_stream(self):
        """Monitor.stop() closes the stream from another thread; when that
        lands between reading the socket and setting its timeout, the
        iteration ends quietly instead of raising EBADF."""
        from openshift_ai.training.api import Stream

        holder = {}

        class Sock:
            def settimeout(self, _):
                holder["stream"].closed = True  # stop() got here first
                raise OSError(9, "Bad file descriptor")

            def shutdown(self, _):
                pass

        class Conn:
            sock = Sock()

            def close(self):
                pass

        class Transport:
            def url(self, _):
                return "http://127.0.0.1:1/api/v1/watch/mpijobs"

        holder["stream"] = Stream(Transport(), None, Conn(), None, None)
        self.assertEqual([], list(holder["stream"]))

    def test_a_socket_error_on_an_open_stream_is_raised(self):
        from openshift_ai.training.api import Stream

        class Sock:
            def settimeout(self, _):
                raise OSError(9, "Bad file descriptor")

            def shutdown(self, _):
                pass

        class Conn:
            sock = Sock()

            def close(self):
                pass

        class Transport:
            def url(self, _):
                return "http://127.0.0.1:1/api/v1/watch/mpijobs"

        with self.assertRaises(OSError):
            list(Stream(Transport(), None, Conn(), None, None))
