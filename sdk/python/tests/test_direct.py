"""Direct mode: the SDK runs odh-server --engine=kubernetes as a private
loopback process against a kubeconfig's cluster (as `odh --kubeconfig`).

Without a cluster: how direct mode is asked for, where the binary comes
from, and that a broken kubeconfig is a clear error with the server's own
words (real odh-server). With the control-plane harness up (`make
cluster-up`; the test looks for .cluster/alice.kubeconfig): the lifecycle
of a job as alice in team-a, the server's validation, and RBAC for bob."""

import os
import shutil
import tempfile
import unittest
import uuid

from tests import _paths
from tests.server_harness import SKIP_REASON, server_binary
from openshift_ai.training import AuthenticationError, ConnectionError, ForbiddenError, MPIJobClient, MPIJobSpec, NotFoundError, ValidationError, WorkerSpec
from openshift_ai.training.direct import direct_requested, find_server_binary

BINARY = server_binary()
HARNESS = os.path.join(_paths.REPO_ROOT, ".cluster")


def harness_kubeconfig(who):
    p = os.environ.get("ODH_TEST_KUBECONFIG_DIR") or HARNESS
    p = os.path.join(p, who + ".kubeconfig")
    return p if os.path.exists(p) else None


class RequestTest(unittest.TestCase):
    def test_how_direct_mode_is_asked_for(self):
        self.assertTrue(direct_requested(True, None, {}))
        self.assertTrue(direct_requested(None, "/k", {}))
        self.assertTrue(direct_requested(None, None, {"ODH_DIRECT": "1"}))
        self.assertTrue(direct_requested(None, None, {"ODH_DIRECT": "true"}))
        self.assertFalse(direct_requested(None, None, {"ODH_DIRECT": "0"}))
        self.assertFalse(direct_requested(False, None, {"ODH_DIRECT": "1"}))
        with self.assertRaises(ValueError):
            direct_requested(False, "/k", {})

    def test_server_and_direct_exclude_each_other(self):
        with self.assertRaisesRegex(ValueError, "exclude each other"):
            MPIJobClient(server="http://127.0.0.1:1", direct=True)

    def test_binary_lookup(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        for name in ("odh", "odh-server"):
            with open(os.path.join(d, name), "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(os.path.join(d, name), 0o755)
        self.assertEqual(os.path.join(d, "odh-server"), find_server_binary({"PATH": d}))
        self.assertIsNone(find_server_binary({"PATH": "/nonexistent", "ODH_SERVER_BIN": os.path.join(d, "missing")}))
        os.remove(os.path.join(d, "odh-server"))
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other)
        os.rename(os.path.join(d, "odh"), os.path.join(other, "odh"))
        shutil.copy(os.path.join(other, "odh"), os.path.join(other, "odh-server"))
        self.assertEqual(os.path.join(other, "odh-server"), find_server_binary({"PATH": other}), "next to odh")

    def test_no_binary_is_a_clear_error(self):
        old = dict(os.environ)
        try:
            os.environ["PATH"] = "/nonexistent"
            os.environ.pop("ODH_SERVER_BIN", None)
            with self.assertRaisesRegex(ConnectionError, "needs the odh-server binary"):
                MPIJobClient(direct=True)
        finally:
            os.environ.clear()
            os.environ.update(old)


@unittest.skipIf(BINARY is None, SKIP_REASON)
class StartFailureTest(unittest.TestCase):
    def setUp(self):
        self.old = dict(os.environ)
        os.environ["ODH_SERVER_BIN"] = BINARY

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.old)

    def test_missing_kubeconfig(self):
        before = set(os.listdir(tempfile.gettempdir()))
        with self.assertRaises(ConnectionError) as cm:
            MPIJobClient(kubeconfig="/nonexistent/kubeconfig", namespace="team-a")
        self.assertIn("/nonexistent/kubeconfig", str(cm.exception))
        self.assertIn("exited with status 1", str(cm.exception))
        leftovers = [n for n in set(os.listdir(tempfile.gettempdir())) - before if n.startswith("odh-direct-")]
        self.assertEqual([], leftovers, "the private state directory is removed")

    def test_unreachable_cluster(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        kc = os.path.join(d, "kubeconfig")
        with open(kc, "w") as f:
            f.write(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
                "users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
            )
        with self.assertRaisesRegex(ConnectionError, "reach the API server at https://127.0.0.1:1"):
            MPIJobClient(kubeconfig=kc)


@unittest.skipIf(BINARY is None, SKIP_REASON)
@unittest.skipUnless(harness_kubeconfig("alice"), "the control-plane harness is not up (make cluster-up)")
class HarnessTest(unittest.TestCase):
    def setUp(self):
        self.old = dict(os.environ)
        os.environ["ODH_SERVER_BIN"] = BINARY
        for k in ("ODH_SERVER", "ODH_TOKEN", "ODH_CONTEXT"):
            os.environ.pop(k, None)
        os.environ["HOME"] = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, os.environ["HOME"])

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.old)

    def test_lifecycle_as_alice(self):
        c = MPIJobClient(kubeconfig=harness_kubeconfig("alice"), namespace="team-a")
        proc = c._direct.proc
        try:
            self.assertTrue(c.config.sources["server"].startswith("direct mode"))
            self.assertEqual("kubernetes", c.version().engine)
            # The private server is this client's alone: loopback, a random
            # token in a directory only this user can read.
            self.assertTrue(c.server.startswith("http://127.0.0.1:"))
            self.assertEqual(0o700, os.stat(c._direct.tmp).st_mode & 0o777)
            self.assertEqual(0o600, os.stat(os.path.join(c._direct.tmp, "token")).st_mode & 0o777)
            for token in (None, "guess"):
                with self.assertRaises(AuthenticationError):
                    MPIJobClient(server=c.server, token=token, namespace="team-a", retries=0).list_mpijobs()
            name = "sdk-direct-%s" % uuid.uuid4().hex[:5]
            with self.assertRaises(ValidationError) as cm:
                c.create_mpijob(MPIJobSpec(name="Bad_Name", command=["true"], worker_spec=WorkerSpec(replicas=0)))
            self.assertEqual(["metadata.name", "spec.workers.replicas"], [e.field for e in cm.exception.field_errors])
            job = c.create_mpijob(MPIJobSpec(name=name, image="quay.io/odh/mpi:1", command=["python3", "train.py"], worker_spec=WorkerSpec(replicas=2)))
            try:
                for ev in c.watch_mpijobs(name=name, timeout=90):  # TimeoutError if it never runs
                    if ev.job is not None and ev.job.phase == "Running" and ev.job.status.workers_running == 2:
                        break
                self.assertIn(name, [j.name for j in c.list_mpijobs()])
            finally:
                job.delete(wait=True, timeout=90)
            with self.assertRaises(NotFoundError):
                c.get_mpijob(name)
        finally:
            c.close()
        self.assertIsNotNone(proc.poll(), "close() stops the private server")

    def test_rbac_is_the_clusters(self):
        with MPIJobClient(kubeconfig=harness_kubeconfig("bob"), namespace="team-b") as c:
            c.list_mpijobs()
        with self.assertRaises((ForbiddenError, ConnectionError)) as cm:
            with MPIJobClient(kubeconfig=harness_kubeconfig("bob"), namespace="team-a", timeout=30) as c:
                c.list_mpijobs()
        self.assertIn("team-a", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
