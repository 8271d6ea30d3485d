"""End to end against a real odh-server with the local engine: real mpirun,
real watch streams, real logs. Skipped (with the reason) when bin/odh-server
has not been built."""

import asyncio
import os
import threading
import time
import unittest
import uuid

from tests import _paths  # noqa: F401
from tests.openapi_check import check_operations, check_schemas
from tests.server_harness import SKIP_REASON, LocalServer, server_binary
from openshift_ai.training import (
    AlreadyExistsError,
    AsyncMPIJobClient,
    AuthenticationError,
    JobFailedError,
    MPIJobClient,
    MPIJobSpec,
    NotFoundError,
    RunPolicy,
    ValidationError,
    WorkerSpec,
)

PY = "/usr/bin/python3"
MPI_HELLO = [PY, "-c", "from mpi4py import MPI; c = MPI.COMM_WORLD; print('hello from rank', c.Get_rank(), 'of', c.Get_size(), flush=True)"]
SERVER = None


def setUpModule():
    global SERVER
    binary = server_binary()
    if binary is None:
        raise unittest.SkipTest(SKIP_REASON)
    SERVER = LocalServer(binary)


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:6])


class IntegrationTest(unittest.TestCase):
    def client(self, **kw):
        kw.setdefault("token", SERVER.token)
        kw.setdefault("namespace", "sdk-it")
        return MPIJobClient(server=SERVER.url, **kw)

    def aclient(self, **kw):
        kw.setdefault("token", SERVER.token)
        kw.setdefault("namespace", "sdk-it")
        return AsyncMPIJobClient(server=SERVER.url, **kw)



class ApiTest(IntegrationTest):
    def test_live_openapi_matches_the_sdk(self):
        doc = SERVER.openapi()
        self.assertEqual([], check_operations(doc))
        self.assertEqual([], check_schemas(doc))

    def test_version_and_capacity(self):
        c = self.client()
        v = c.version()
        self.assertEqual("local", v.engine)
        self.assertTrue(v.version)
        cap = c.capacity()
        self.assertEqual("8", cap.get("slots").hard)

    def test_can_i(self):
        # The single local user may do anything; bad questions are errors.
        c = self.client()
        r = c.can_i("delete", name="anything")
        self.assertTrue(r.allowed)
        self.assertTrue(bool(c.can_i("create")))
        with self.assertRaises(Exception) as cm:
            c.can_i("fly")
        self.assertIn('unknown verb "fly"', str(cm.exception))

    def test_token_from_the_discovery_file(self):
        old = dict(os.environ)
        try:
            os.environ["XDG_STATE_HOME"] = SERVER.xdg
            for k in ("ODH_TOKEN", "ODH_SERVER", "ODH_CONFIG"):
                os.environ.pop(k, None)
            os.environ["HOME"] = SERVER.tmp
            c = MPIJobClient(server=SERVER.url)
            self.assertEqual(SERVER.token, c.config.token)
            self.assertEqual("local", c.version().engine)
        finally:
            os.environ.clear()
            os.environ.update(old)

    def test_contexts_saved_by_the_cli_are_the_sdks(self):
        """`odh login` writes the config file; the SDK finds the same file
        (Go's os.UserConfigDir) and picks contexts by the same rules."""
        import subprocess

        odh = os.environ.get("ODH_BIN") or os.path.join(_paths.REPO_ROOT, "bin", "odh")
        if not os.access(odh, os.X_OK):
            self.skipTest("bin/odh is not built")
        home = os.path.join(SERVER.tmp, "cli-home")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ODH_") and k != "XDG_CONFIG_HOME"}
        env.update(HOME=home, NO_COLOR="1")
        for name, ns in (("first", "ns-one"), ("second", "ns-two")):
            p = subprocess.run([odh, "login", "--name", name, "--server", SERVER.url, "--token", SERVER.token, "-n", ns], env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(0, p.returncode, p.stderr)
        old = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(env)
            c = MPIJobClient()
            self.assertEqual(("second", "ns-two", SERVER.token), (c.config.context, c.namespace, c.config.token))
            self.assertEqual(os.path.join(home, ".config", "odh", "config.json"), c.config.sources["server"].split(" ")[2])
            self.assertEqual("local", c.version().engine)
            os.environ["ODH_CONTEXT"] = "first"
            self.assertEqual(("first", "ns-one"), (MPIJobClient().config.context, MPIJobClient().namespace))
        finally:
            os.environ.clear()
            os.environ.update(old)

    def test_errors_from_the_server(self):
        with self.assertRaises(AuthenticationError) as cm:
            self.client(token="wrong").list_mpijobs()
        self.assertEqual(401, cm.exception.status_code)
        with self.assertRaises(NotFoundError) as cm:
            self.client().get_mpijob("does-not-exist")
        self.assertEqual(404, cm.exception.status_code)
        self.assertIn("does-not-exist", str(cm.exception))
        # validate() is the server's dry run: the same errors as a create.
        bad = MPIJobSpec(name="Bad-Name", command=["x"], worker_spec=WorkerSpec(replicas=0))
        checked = bad.validate(raise_on_error=False, client=self.client())
        with self.assertRaises(ValidationError) as cm:
            self.client().create_mpijob(bad)
        self.assertEqual(422, cm.exception.status_code)
        self.assertEqual(["metadata.name", "spec.workers.replicas"], [e.field for e in checked])
        self.assertEqual([e.to_dict() for e in checked], [e.to_dict() for e in cm.exception.field_errors])

    def test_dry_run_creates_nothing(self):
        c = self.client()
        name = unique("dry")
        job = c.create_mpijob(MPIJobSpec(name=name, command=MPI_HELLO), dry_run=True)
        self.assertEqual(name, job.name)
        self.assertEqual(2, 1 + 1)
        with self.assertRaises(NotFoundError):
            c.get_mpijob(name)

    def test_manifest_json(self):
        c = self.client()
        name = unique("manifest")
        import json

        doc = MPIJobSpec(name=name, namespace="sdk-it", command=["sh", "-c", "echo manifest"]).to_dict()
        job = c.create_mpijob_from_manifest(json.dumps(doc))
        self.assertEqual(name, job.name)
        self.assertTrue(job.wait_for_completion(timeout=60).succeeded)
        job.delete()

    def test_templates(self):
        c = self.client()
        name = unique("tpl")
        t = c.create_template(name, MPIJobSpec(name="from-template", command=MPI_HELLO), description="hello")
        self.assertEqual(name, t.name)
        self.assertIn(name, [x.name for x in c.list_templates()])
        got = c.get_template(name)
        self.assertEqual(MPI_HELLO, got.job.command)
        c.delete_template(name)
        with self.assertRaises(NotFoundError):
            c.get_template(name)


class ServerValidationTest(IntegrationTest):
    """Every rule is the server's: the SDK sends what it is given and
    reports the server's field errors (all at once), creating nothing."""

    def test_python_type_mistakes_get_the_servers_messages(self):
        spec = MPIJobSpec(name="x", command="python3 train.py", worker_spec=WorkerSpec(replicas="4", resources={"gpus": "two"}))
        errs = {e.field: e.message for e in spec.validate(raise_on_error=False, client=self.client())}
        self.assertEqual('must be a list, got the string "python3 train.py"', errs["spec.command"])
        self.assertEqual('must be a whole number, got the string "4"', errs["spec.workers.replicas"])
        self.assertEqual('must be a whole number, got the string "two"', errs["spec.workers.resources.gpus"])

    def test_valid_specs_and_integral_floats(self):
        c = self.client()
        self.assertEqual([], MPIJobSpec(name="x", command=["a"], worker_spec=WorkerSpec(replicas=2.0)).validate(client=c))
        errs = MPIJobSpec(name="x", command=["a"], worker_spec=WorkerSpec(replicas=2.5)).validate(raise_on_error=False, client=c)
        self.assertEqual(["spec.workers.replicas"], [e.field for e in errs])

    def test_validate_raises_every_error_and_creates_nothing(self):
        c = self.client()
        with self.assertRaises(ValidationError) as cm:
            MPIJobSpec(name="my-job", command=[], worker_spec=WorkerSpec(replicas=0, resources={"memory": "16GG"})).validate(client=c)
        self.assertEqual(["spec.command", "spec.workers.replicas", "spec.workers.resources.memory"], [e.field for e in cm.exception.field_errors])
        self.assertIn("nothing was created", str(cm.exception))
        with self.assertRaises(NotFoundError):
            c.get_mpijob("my-job")

    def test_validate_document_reports_unknown_fields_and_types(self):
        from openshift_ai.training import validate_document

        errs = validate_document({"metadata": {"name": "x"}, "spec": {"command": ["a"], "worker": {"replicas": 2}, "runPolicy": {"backoffLimit": "x"}}}, client=self.client())
        got = {e.field: e.message for e in errs}
        self.assertEqual('unknown field "worker"; did you mean "workers"?', got["spec.worker"])
        self.assertIn("spec.runPolicy.backoffLimit", got)

    def test_default_client_from_the_environment(self):
        old = dict(os.environ)
        try:
            os.environ.update(ODH_SERVER=SERVER.url, ODH_TOKEN=SERVER.token, ODH_NAMESPACE="sdk-it")
            self.assertEqual([], MPIJobSpec(name="env-ok", command=["a"]).validate())
        finally:
            os.environ.clear()
            os.environ.update(old)

    def test_template_specs_are_checked_before_saving(self):
        c = self.client()
        name = unique("badtpl")
        with self.assertRaises(ValidationError) as cm:
            c.create_template(name, MPIJobSpec(name="t", command="not a list"))
        self.assertEqual(["spec.command"], [e.field for e in cm.exception.field_errors])
        self.assertNotIn(name, [t.name for t in c.list_templates()])
        # A template is not a job: no name, or the name of an existing job, is fine.
        existing = c.create_mpijob(MPIJobSpec(name=unique("exists"), command=["true"]))
        for spec in (MPIJobSpec(command=["true"]), MPIJobSpec(name=existing.name, command=["true"])):
            tname = unique("oktpl")
            self.assertEqual(tname, c.create_template(tname, spec).name)
            c.delete_template(tname)
        existing.delete()

    def test_async_validate(self):
        async def scenario():
            async with self.aclient() as c:
                return await c.validate_mpijob(MPIJobSpec(name="Bad", command=["a"]), raise_on_error=False)

        self.assertEqual(["metadata.name"], [e.field for e in asyncio.run(scenario())])


class JobLifecycleTest(IntegrationTest):
    def test_end_to_end(self):
        """Create → monitor (callback per status change, one call per
        transition) → per-worker logs → wait → events → delete."""
        c = self.client()
        name = unique("hello")
        spec = MPIJobSpec(name=name, command=MPI_HELLO, worker_spec=WorkerSpec(replicas=2), labels={"suite": "sdk-it"})
        job = c.create_mpijob(spec)
        self.assertEqual((name, "sdk-it"), (job.name, job.namespace))
        with self.assertRaises(AlreadyExistsError):
            c.create_mpijob(spec)

        statuses, transitions = [], []
        final = job.monitor(statuses.append, on_transition=transitions.append, timeout=120)
        self.assertEqual("Succeeded", final.phase)
        self.assertEqual("Succeeded", statuses[-1].phase)
        phases = [t.phase for t in transitions]
        self.assertEqual([t.phase for t in final.history], phases)
        for p in ("Pending", "Starting", "Running", "Succeeded"):
            self.assertIn(p, phases)
        self.assertEqual(2, final.workers_total)

        self.assertIn("hello from rank 0 of 2", job.get_logs(worker=0))
        self.assertIn("hello from rank 1 of 2", job.get_logs(worker=1))
        merged = job.get_logs(worker="all")
        self.assertIn("[worker-0] hello from rank 0 of 2", merged)
        self.assertIn("[worker-1] hello from rank 1 of 2", merged)
        self.assertEqual("Succeeded", job.wait_for_completion(timeout=10).phase)
        self.assertTrue(job.events())
        self.assertIn(name, [j.name for j in c.list_mpijobs(label_selector="suite=sdk-it", phase="Succeeded")])

        job.delete(wait=True)
        with self.assertRaises(NotFoundError):
            c.get_mpijob(name)

    def test_metrics_of_a_busy_job(self):
        """Two workers spin for a few seconds: both show CPU and memory.
        (A busy loop gets a whole core on an idle machine, but only a
        small share on a loaded CI runner: 2% of a core is the bar.)"""
        c = self.client()
        job = c.create_mpijob(MPIJobSpec(name=unique("busy"), command=["bash", "-c", "while [ $SECONDS -lt 6 ]; do :; done"], worker_spec=WorkerSpec(replicas=2)))
        try:
            deadline = time.monotonic() + 30
            busy = set()
            while len(busy) < 2 and time.monotonic() < deadline:
                time.sleep(1)
                m = job.metrics()
                self.assertTrue(m.available, m.message)
                busy = {r.name for r in m.replicas if r.name.startswith("worker-") and r.peak_cpu() > 0.02 and r.peak_memory() > 0}
            self.assertEqual({"worker-0", "worker-1"}, busy)
            job.wait_for_completion(timeout=60)
            self.assertTrue(job.metrics().replica("worker-0").samples, "samples are kept after the job ends")
            with self.assertRaises(NotFoundError):
                c.get_metrics(unique("ghost"))
        finally:
            job.delete()

    def test_failure_raises_job_failed(self):
        c = self.client()
        job = c.create_mpijob(MPIJobSpec(name=unique("fail"), command=["sh", "-c", "echo boom >&2; exit 3"]))
        with self.assertRaises(JobFailedError) as cm:
            job.wait_for_completion(timeout=120)
        st = cm.exception.status
        self.assertEqual("Failed", st.phase)
        self.assertTrue(st.reason)
        self.assertFalse(job.wait_for_completion(timeout=10, raise_on_failure=False).succeeded)
        job.delete()

    def test_follow_logs_while_running(self):
        c = self.client()
        job = c.create_mpijob(
            MPIJobSpec(name=unique("follow"), command=["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.3; done"], worker_spec=WorkerSpec(replicas=1))
        )
        lines = list(job.get_logs(worker=0, follow=True, timeout=60))
        self.assertEqual(["line 1", "line 2", "line 3"], [l for l in lines if l.startswith("line")])
        job.wait_for_completion(timeout=30)
        job.delete()

    def test_background_monitor_suspend_resume(self):
        c = self.client()
        job = c.create_mpijob(MPIJobSpec(name=unique("susp"), command=["sh", "-c", "sleep 30"], run_policy=RunPolicy(active_deadline_seconds=120)))
        phases = []
        seen = threading.Event()

        def cb(s):
            phases.append(s.phase)
            if s.phase == "Suspended":
                seen.set()

        mon = job.monitor(cb, stop_on_terminal=False, background=True)
        try:
            deadline = time.monotonic() + 30
            while job.refresh().phase not in ("Running",) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual("Suspended", job.suspend().phase)
            self.assertTrue(seen.wait(30), phases)
            job.resume()
            self.assertIn(job.refresh().phase, ("Pending", "Queued", "Starting", "Running"))
        finally:
            mon.stop()
            mon.join(10)
            job.delete()
        self.assertIn("Suspended", phases)

    def test_watch_stream(self):
        c = self.client(namespace=unique("watch"))
        job = c.create_mpijob(MPIJobSpec(name="w", command=["sh", "-c", "true"]))
        job.wait_for_completion(timeout=60)
        events = []
        for ev in c.watch_mpijobs(timeout=30):
            events.append(ev.type)
            if ev.type == "SYNCED":
                break
        self.assertEqual(["ADDED", "SYNCED"], events)
        job.delete()

    def test_plan_example(self):
        """The plan's example, adapted only in image and command."""
        from openshift_ai.training import MPIJobClient, MPIJobSpec, WorkerSpec

        os.environ["ODH_SERVER"], os.environ["ODH_TOKEN"] = SERVER.url, SERVER.token
        try:
            client = MPIJobClient()
        finally:
            del os.environ["ODH_SERVER"], os.environ["ODH_TOKEN"]
        job_spec = MPIJobSpec(
            name="tensorflow-training",
            namespace="ml-team",
            image="",
            command=MPI_HELLO,
            worker_spec=WorkerSpec(
                replicas=4,
                resources={
                    "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 2},
                    "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2},
                },
            ),
        )
        job = client.create_mpijob(job_spec)
        seen = []

        def on_status_change(status):
            seen.append((status.phase, status.workers_running))

        job.monitor(callback=on_status_change)
        job.wait_for_completion(timeout=3600)
        logs = job.get_logs(worker=0)
        job.delete()
        self.assertEqual("Succeeded", seen[-1][0])
        self.assertIn("hello from rank 0 of 4", logs)


class AsyncLifecycleTest(IntegrationTest):
    def test_async_end_to_end(self):
        async def scenario():
            async with self.aclient() as c:
                name = unique("async")
                job = await c.create_mpijob(MPIJobSpec(name=name, command=MPI_HELLO, worker_spec=WorkerSpec(replicas=2)))
                statuses, transitions = [], []

                async def on_status(s):
                    statuses.append(s.phase)

                followed = [line async for line in job.stream_logs(worker="all", timeout=120)]
                final = await job.monitor(on_status, on_transition=transitions.append, timeout=120)
                again = await job.wait_for_completion(timeout=10)
                w1 = await job.get_logs(worker=1)
                listed = [j.name for j in await c.list_mpijobs()]
                events = await job.events()
                metrics = await job.metrics()
                self.assertTrue(metrics.available, metrics.message)
                await job.delete(wait=True)
                try:
                    await c.get_mpijob(name)
                    gone = False
                except NotFoundError:
                    gone = True
                return name, statuses, transitions, followed, final, again, w1, listed, events, gone

        name, statuses, transitions, followed, final, again, w1, listed, events, gone = asyncio.run(scenario())
        self.assertEqual("Succeeded", final.phase)
        self.assertEqual("Succeeded", statuses[-1])
        self.assertEqual([t.phase for t in final.history], [t.phase for t in transitions])
        self.assertIn("[worker-0] hello from rank 0 of 2", followed)
        self.assertIn("[worker-1] hello from rank 1 of 2", followed)
        self.assertEqual("Succeeded", again.phase)
        self.assertIn("hello from rank 1 of 2", w1)
        self.assertIn(name, listed)
        self.assertTrue(events)
        self.assertTrue(gone)

    def test_async_many_jobs_concurrently(self):
        async def scenario():
            c = self.aclient()
            jobs = await asyncio.gather(*[c.create_mpijob(MPIJobSpec(name=unique("many"), command=["sh", "-c", "echo hi"])) for _ in range(4)])
            finals = await asyncio.gather(*[j.wait_for_completion(timeout=120) for j in jobs])
            await asyncio.gather(*[j.delete() for j in jobs])
            return finals

        self.assertEqual(["Succeeded"] * 4, [s.phase for s in asyncio.run(scenario())])


if __name__ == "__main__":
    unittest.main()


class ExamplesTest(IntegrationTest):
    """The examples in sdk/python/examples run as written."""

    def run_example(self, name):
        import subprocess
        import sys

        env = dict(os.environ, ODH_SERVER=SERVER.url, ODH_TOKEN=SERVER.token, ODH_NAMESPACE="sdk-examples", PYTHONPATH=_paths.SDK_DIR, ODH_CONFIG=os.path.join(SERVER.tmp, "none.json"))
        p = subprocess.run([sys.executable, os.path.join(_paths.SDK_DIR, "examples", name)], env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(0, p.returncode, p.stdout + p.stderr)
        return p.stdout

    def test_quickstart(self):
        out = self.run_example("quickstart.py")
        self.assertIn("Job status: Succeeded", out)
        self.assertIn("rank 0 of 4 ready", out)

    def test_monitor_and_logs(self):
        out = self.run_example("monitor_and_logs.py")
        self.assertIn("-> Succeeded", out)
        self.assertIn("[worker-1] rank 1 step 3", out)

    def test_async_jobs(self):
        out = self.run_example("async_jobs.py")
        self.assertEqual(3, out.count(": Succeeded"))

    def test_errors(self):
        out = self.run_example("errors.py")
        self.assertIn("spec.workers.resources.memory", out)
        self.assertIn("NotFoundError (HTTP 404)", out)
        self.assertIn("AlreadyExistsError", out)
