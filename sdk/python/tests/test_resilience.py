"""The SDK where users run it, against a real odh-server (local engine, real
mpirun): streams that survive a server restart and a proxy that cuts idle
connections (as an OpenShift route does), kept-alive connections, and a
pod-like environment (ServiceAccount token and CA files, TLS, in-cluster
discovery). Skipped, with the reason, when bin/odh-server is not built."""

import asyncio
import json
import os
import shutil
import tempfile
import threading
import time
import unittest
import uuid

from tests import _paths  # noqa: F401
from tests.netutil import HAProxy, TCPProxy, haproxy, make_certs, openssl
from tests.server_harness import SKIP_REASON, LocalServer, server_binary
from openshift_ai.training import AsyncMPIJobClient, AuthenticationError, ConnectionError, JobFailedError, MPIJobClient, MPIJobSpec
from openshift_ai.training import config as sdk_config

BINARY = server_binary()


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:6])


def printer(n, pause):
    """A job whose one worker prints "line 1" .. "line n", ``pause`` s apart."""
    return ["sh", "-c", "i=1; while [ $i -le %d ]; do echo line $i; i=$((i+1)); sleep %s; done" % (n, pause)]


def numbered(lines):
    return [l for l in lines if l.startswith("line ")]


@unittest.skipIf(BINARY is None, SKIP_REASON)
class ServerRestartTest(unittest.TestCase):
    """odh-server stops and starts again (same port and state) while the SDK
    waits and follows. The local engine fails running jobs on shutdown
    (ServerRestarted) and runs queued ones after the restart: the SDK must
    report exactly that, never a phase it did not see."""

    @classmethod
    def setUpClass(cls):
        cls.server = LocalServer(BINARY, slots=1)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def client(self, cls=MPIJobClient):
        return cls(server=self.server.url, token=self.server.token, namespace="restart")

    def until(self, cond, timeout=60):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                self.fail("condition not met in %ss" % timeout)
            time.sleep(0.1)

    def test_wait_for_completion_across_a_restart(self):
        c = self.client()
        running = c.create_mpijob(MPIJobSpec(name=unique("busy"), command=["sleep", "30"]))
        queued = c.create_mpijob(MPIJobSpec(name=unique("queued"), command=["sh", "-c", "echo after the restart"]))
        self.until(lambda: running.refresh().phase == "Running" and queued.refresh().phase == "Queued")
        results = {}

        def wait(job, key):
            try:
                results[key] = job.wait_for_completion(timeout=180)
            except BaseException as e:  # checked below
                results[key] = e

        threads = [threading.Thread(target=wait, args=(j, k)) for j, k in ((running, "running"), (queued, "queued"))]
        for t in threads:
            t.start()
        time.sleep(0.5)
        self.server.restart(down=1.0)
        # The queued job's wait outlives the outage. The running job may
        # already have its true outcome: a graceful shutdown fails it
        # (ServerRestarted) and that event can reach the client before the
        # stream is cut; anything else would be a false outcome.
        self.assertNotIn("queued", results, "the queued job's wait ended while the server was away")
        if "running" in results:
            self.assertIsInstance(results["running"], JobFailedError, "the running job's wait ended with a false outcome")
            self.assertEqual("ServerRestarted", results["running"].status.reason)
        for t in threads:
            t.join(180)
        self.assertIsInstance(results["running"], JobFailedError)
        self.assertEqual("ServerRestarted", results["running"].status.reason)
        self.assertEqual("Succeeded", results["queued"].phase)
        self.assertIn("after the restart", queued.get_logs(worker=0))

    def test_async_wait_for_completion_across_a_restart(self):
        async def scenario():
            async with self.client(AsyncMPIJobClient) as c:
                running = await c.create_mpijob(MPIJobSpec(name=unique("abusy"), command=["sleep", "30"]))
                queued = await c.create_mpijob(MPIJobSpec(name=unique("aqueued"), command=["true"]))
                while (await queued.refresh()).phase != "Queued" or (await running.refresh()).phase != "Running":
                    await asyncio.sleep(0.1)
                waits = asyncio.gather(running.wait_for_completion(timeout=180, raise_on_failure=False), queued.wait_for_completion(timeout=180))
                await asyncio.sleep(0.5)
                await asyncio.get_running_loop().run_in_executor(None, self.server.restart, 1.0)
                return await waits

        failed, succeeded = asyncio.run(scenario())
        self.assertEqual(("Failed", "ServerRestarted"), (failed.phase, failed.reason))
        self.assertEqual("Succeeded", succeeded.phase)

    def test_log_follow_across_a_restart(self):
        c = self.client()
        job = c.create_mpijob(MPIJobSpec(name=unique("follow"), command=printer(200, 0.1)))
        followed = []
        done = threading.Event()

        def follow():
            for l in job.get_logs(worker=0, follow=True, timeout=180):
                followed.append(l)
            done.set()

        t = threading.Thread(target=follow)
        t.start()
        self.until(lambda: len(numbered(followed)) >= 5)
        self.server.restart(down=1.0)
        t.join(180)
        self.assertTrue(done.is_set())
        full = numbered(job.get_logs(worker=0).splitlines())
        self.assertGreaterEqual(len(full), 5)
        self.assertEqual(full, numbered(followed), "every line once, in order: no gap, no duplicate")
        self.assertEqual(["line %d" % i for i in range(1, len(full) + 1)], full)
        self.assertEqual("Failed", job.refresh().phase)

    def test_async_log_follow_across_a_restart(self):
        async def scenario():
            async with self.client(AsyncMPIJobClient) as c:
                job = await c.create_mpijob(MPIJobSpec(name=unique("afollow"), command=printer(200, 0.1)))
                followed = []

                async def follow():
                    async for l in job.stream_logs(worker=0, timeout=180):
                        followed.append(l)

                task = asyncio.ensure_future(follow())
                while len(numbered(followed)) < 5:
                    await asyncio.sleep(0.05)
                await asyncio.get_running_loop().run_in_executor(None, self.server.restart, 1.0)
                await asyncio.wait_for(task, 180)
                return followed, await job.get_logs(worker=0)

        followed, full = asyncio.run(scenario())
        self.assertEqual(numbered(full.splitlines()), numbered(followed))


@unittest.skipIf(BINARY is None, SKIP_REASON)
class IdleCutTest(unittest.TestCase):
    """Through a proxy that closes connections idle for 0.7 s (an OpenShift
    route closes them after 30 s), or that cuts every connection at once."""

    @classmethod
    def setUpClass(cls):
        cls.server = LocalServer(BINARY, slots=8)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.proxy = TCPProxy(("127.0.0.1", self.server.port), idle_timeout=0.7)
        self.addCleanup(self.proxy.close)

    def client(self, cls=MPIJobClient, direct=False):
        url = self.server.url if direct else self.proxy.url
        return cls(server=url, token=self.server.token, namespace="cuts")

    def test_follow_and_wait_through_idle_cuts(self):
        c = self.client()
        job = c.create_mpijob(MPIJobSpec(name=unique("slow"), command=printer(5, 1.2)))
        followed = list(job.get_logs(worker=0, follow=True, timeout=120))
        self.assertEqual(["line %d" % i for i in range(1, 6)], numbered(followed))
        self.assertGreaterEqual(self.proxy.endings.get("idle", 0), 3, self.proxy.endings)
        again = c.create_mpijob(MPIJobSpec(name=unique("sleeper"), command=["sleep", "3"]))
        cuts = self.proxy.endings.get("idle", 0)
        self.assertEqual("Succeeded", again.wait_for_completion(timeout=120).phase)
        self.assertGreater(self.proxy.endings.get("idle", 0), cuts, "the watch was cut while waiting")

    def test_async_through_idle_cuts(self):
        async def scenario():
            async with self.client(AsyncMPIJobClient) as c:
                job = await c.create_mpijob(MPIJobSpec(name=unique("aslow"), command=printer(4, 1.2)))
                followed = [l async for l in job.stream_logs(worker=0, timeout=120)]
                status = await job.wait_for_completion(timeout=60)
                return followed, status

        followed, status = asyncio.run(scenario())
        self.assertEqual(["line %d" % i for i in range(1, 5)], numbered(followed))
        self.assertEqual("Succeeded", status.phase)
        self.assertGreaterEqual(self.proxy.endings.get("idle", 0), 2, self.proxy.endings)

    def test_cut_mid_stream(self):
        c = self.client()
        job = c.create_mpijob(MPIJobSpec(name=unique("fast"), command=printer(150, 0.02)))
        stop = threading.Event()

        def cutter():
            while not stop.wait(0.3):
                self.proxy.cut_all()

        t = threading.Thread(target=cutter, daemon=True)
        t.start()
        try:
            followed = numbered(job.get_logs(worker=0, follow=True, timeout=120))
        finally:
            stop.set()
            t.join()
        self.assertEqual(["line %d" % i for i in range(1, 151)], followed)
        self.assertGreaterEqual(self.proxy.endings.get("cut", 0), 2, self.proxy.endings)

    def test_watch_through_cuts_reports_each_change_once(self):
        c = self.client()
        names = [unique("w") for _ in range(3)]
        seen = []
        ready = threading.Event()

        def watch():
            for ev in c.watch_mpijobs(namespace="watchcuts", timeout=120):
                if ev.type == "SYNCED":
                    ready.set()
                    continue
                seen.append((ev.type, ev.job.name, ev.job.phase, int(ev.job.metadata.resource_version)))
                if sum(1 for s in seen if s[0] == "DELETED") == len(names):
                    return

        t = threading.Thread(target=watch)
        t.start()
        self.assertTrue(ready.wait(30))
        wc = self.client(direct=True)
        for n in names:
            wc.create_mpijob(MPIJobSpec(name=n, namespace="watchcuts", command=["true"])).wait_for_completion(timeout=60)
            self.proxy.cut_all()
        for n in names:
            wc.delete_mpijob(n, namespace="watchcuts", wait=True)
            self.proxy.cut_all()
        t.join(120)
        for n in names:
            mine = [s for s in seen if s[1] == n]
            self.assertEqual("ADDED", mine[0][0], mine)
            self.assertEqual("DELETED", mine[-1][0], mine)
            self.assertEqual(1, sum(1 for s in mine if s[0] == "DELETED"), mine)
            self.assertIn("Succeeded", [s[2] for s in mine])
            rvs = [s[3] for s in mine[:-1]]  # DELETED repeats the last state
            self.assertEqual(sorted(set(rvs)), rvs, "each state once, in order: %s" % mine)

    def test_calls_reuse_connections(self):
        proxy = TCPProxy(("127.0.0.1", self.server.port))
        self.addCleanup(proxy.close)
        c = MPIJobClient(server=proxy.url, token=self.server.token, namespace="reuse")
        job = c.create_mpijob(MPIJobSpec(name=unique("reuse"), command=["true"]))
        for _ in range(10):
            c.version()
            c.list_mpijobs()
            job.refresh()
        self.assertEqual(1, proxy.connections, "31 calls, one TCP connection")

        async def scenario():
            async with AsyncMPIJobClient(server=proxy.url, token=self.server.token, namespace="reuse") as ac:
                for _ in range(10):
                    await ac.version()
                    await ac.list_mpijobs()

        asyncio.run(scenario())
        self.assertEqual(2, proxy.connections, "20 more calls, one more connection")


@unittest.skipIf(BINARY is None, SKIP_REASON)
@unittest.skipUnless(haproxy(), "needs Debian's haproxy (run-tests.sh installs it: hack/ensure-packages.sh haproxy)")
class HAProxyRouteTest(unittest.TestCase):
    """Through a real HAProxy with 1 s client/server timeouts (an OpenShift
    route has 30 s): idle watch and log streams are cut, the SDK resumes.
    A counting relay between the SDK and HAProxy shows the reconnects."""

    @classmethod
    def setUpClass(cls):
        cls.server = LocalServer(BINARY, slots=4)
        try:
            cls.haproxy = HAProxy(("127.0.0.1", cls.server.port), timeout="1s")
        except BaseException:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.haproxy.close()
        cls.server.stop()

    def test_follow_and_wait_through_a_route(self):
        relay = TCPProxy(("127.0.0.1", self.haproxy.port))
        self.addCleanup(relay.close)
        c = MPIJobClient(server=relay.url, token=self.server.token, namespace="route")
        job = c.create_mpijob(MPIJobSpec(name=unique("route"), command=printer(4, 1.6)))
        before = relay.connections
        self.assertEqual(["line %d" % i for i in range(1, 5)], numbered(job.get_logs(worker=0, follow=True, timeout=120)))
        self.assertGreaterEqual(relay.connections - before, 3, "HAProxy cut the follow at each 1.6 s pause")
        self.assertEqual("Succeeded", job.wait_for_completion(timeout=60).phase)
        sleeper = c.create_mpijob(MPIJobSpec(name=unique("routewait"), command=["sleep", "3"]))

        async def scenario():
            async with AsyncMPIJobClient(server=relay.url, token=self.server.token, namespace="route") as ac:
                return await (await ac.get_mpijob(sleeper.name)).wait_for_completion(timeout=60)

        before = relay.connections
        self.assertEqual("Succeeded", asyncio.run(scenario()).phase)
        self.assertGreaterEqual(relay.connections - before, 3, "the 3 s wait was cut and resumed")


@unittest.skipIf(BINARY is None, SKIP_REASON)
@unittest.skipUnless(openssl(), "needs the openssl command")
class PodEnvironmentTest(unittest.TestCase):
    """A workbench pod, as far as the SDK can tell: KUBERNETES_SERVICE_HOST,
    the Service's variables, and a ServiceAccount directory with a rotating
    token (kubelet's ..data symlink swap), the cluster CA and the service CA
    that signed the server's certificate. No token, server or CA is passed."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="odh-pod-")
        cls.certs = make_certs(cls.tmp, names=("localhost",), ips=("127.0.0.1",))
        cls.tokens = {"alice": uuid.uuid4().hex, "bob": uuid.uuid4().hex}
        policy = os.path.join(cls.tmp, "policy.json")
        with open(policy, "w") as f:
            json.dump(
                {
                    "users": [{"name": n, "token": t} for n, t in cls.tokens.items()],
                    "bindings": [{"role": "admin", "namespaces": ["*"], "users": list(cls.tokens)}],
                },
                f,
            )
        import ssl

        ctx = ssl.create_default_context(cafile=cls.certs["ca"])
        cls.server = LocalServer(
            BINARY,
            args=["--tls-cert-file=" + cls.certs["server_cert"], "--tls-key-file=" + cls.certs["server_key"], "--policy-file=" + policy],
            scheme="https",
            ssl_context=ctx,
        )
        cls.sa = os.path.join(cls.tmp, "serviceaccount")
        os.makedirs(cls.sa)
        shutil.copy(cls.certs["other_ca"], os.path.join(cls.sa, "ca.crt"))
        shutil.copy(cls.certs["ca"], os.path.join(cls.sa, "service-ca.crt"))
        cls.generation = 0
        cls.publish("alice")
        os.symlink(os.path.join("..data", "token"), os.path.join(cls.sa, "token"))

    @classmethod
    def publish(cls, user):
        cls.generation += 1
        data = os.path.join(cls.sa, "..%d" % cls.generation)
        os.mkdir(data)
        with open(os.path.join(data, "token"), "w") as f:
            f.write(cls.tokens[user])
        tmp = os.path.join(cls.sa, "..data_tmp")
        os.symlink("..%d" % cls.generation, tmp)
        os.replace(tmp, os.path.join(cls.sa, "..data"))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.old_env = dict(os.environ)
        for k in list(os.environ):
            if k.startswith("ODH_") or k.endswith("_PROXY") or k.endswith("_proxy"):
                del os.environ[k]
        os.environ.update(
            HOME=os.path.join(self.tmp, "home"),
            XDG_CONFIG_HOME=os.path.join(self.tmp, "home", ".config"),
            KUBERNETES_SERVICE_HOST="10.0.0.1",
            ODH_SERVER_SERVICE_HOST="127.0.0.1",
            ODH_SERVER_SERVICE_PORT=str(self.server.port),
            ODH_NAMESPACE="workbench",
        )
        self.old_dir = sdk_config.SERVICEACCOUNT_DIR
        sdk_config.SERVICEACCOUNT_DIR = self.sa
        self.publish("alice")

    def tearDown(self):
        sdk_config.SERVICEACCOUNT_DIR = self.old_dir
        os.environ.clear()
        os.environ.update(self.old_env)

    def test_discovers_the_service_and_follows_token_rotation(self):
        c = MPIJobClient()
        self.assertEqual(self.server.url, c.server)
        self.assertTrue(c.config.in_cluster)
        self.assertEqual("alice", c.can_i("create").user)
        job = c.create_mpijob(MPIJobSpec(name=unique("pod"), command=["sh", "-c", "echo in the pod"]))
        self.assertEqual("alice", job.creator)
        self.publish("bob")  # kubelet rotated the token
        self.assertEqual("Succeeded", job.wait_for_completion(timeout=120).phase)
        self.assertEqual("bob", c.can_i("create").user)

        async def scenario():
            async with AsyncMPIJobClient() as ac:
                first = (await ac.can_i("get")).user
                self.publish("alice")
                return first, (await ac.can_i("get")).user

        self.assertEqual(("bob", "alice"), asyncio.run(scenario()))

    def test_the_service_ca_is_what_makes_tls_work(self):
        os.rename(os.path.join(self.sa, "service-ca.crt"), os.path.join(self.sa, "moved"))
        try:
            with self.assertRaises(ConnectionError) as cm:
                MPIJobClient(retries=0).version()
            self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))
        finally:
            os.rename(os.path.join(self.sa, "moved"), os.path.join(self.sa, "service-ca.crt"))

    def test_the_pod_token_is_not_sent_to_other_servers(self):
        # ODH_SERVER names the same server, but not as a cluster Service:
        # the pod's token stays home and the call is refused.
        os.environ["ODH_SERVER"] = self.server.url
        c = MPIJobClient(verify=self.certs["ca"])
        self.assertIsNone(c.config.token)
        with self.assertRaises(AuthenticationError):
            c.can_i("create")


if __name__ == "__main__":
    unittest.main()
