"""Models: the plan's example, Kubernetes requests/limits mapping, JSON round
trips, status parsing, and the cheap client-side checks (unknown fields are
refused, not dropped). The rules themselves are the server's: see
test_integration.ServerValidationTest."""

import datetime as dt
import unittest

from tests import _paths  # noqa: F401
from openshift_ai.training import (
    EnvVar,
    JobStatus,
    LauncherSpec,
    MPIJob,
    MPIJobSpec,
    Resources,
    RunPolicy,
    Scheduling,
    ValidationError,
    Volume,
    WorkerSpec,
)
from openshift_ai.training.models import Capacity, Event, JobMetrics, LogLine, Phase, ReplicaMetrics


def plan_example():
    # Exactly as in the plan's "SDK Implementation" section.
    return MPIJobSpec(
        name="tensorflow-training",
        namespace="ml-team",
        image="example/tf-horovod:latest",
        command=["python", "/train.py", "--epochs", "10"],
        worker_spec=WorkerSpec(
            replicas=4,
            resources={
                "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 2},
                "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2},
            },
        ),
    )


class PlanExampleTest(unittest.TestCase):
    def test_to_dict_is_the_api_document(self):
        self.assertEqual(
            {
                "apiVersion": "training.opendatahub.io/v1alpha1",
                "kind": "MPIJob",
                "metadata": {"name": "tensorflow-training", "namespace": "ml-team"},
                "spec": {
                    "image": "example/tf-horovod:latest",
                    "command": ["python", "/train.py", "--epochs", "10"],
                    "workers": {
                        "replicas": 4,
                        "resources": {"cpu": "4", "memory": "16Gi", "gpus": 2, "cpuLimit": "8", "memoryLimit": "32Gi"},
                    },
                },
            },
            plan_example().to_dict(),
        )

    def test_round_trip(self):
        spec = plan_example()
        self.assertEqual(spec, MPIJobSpec.from_dict(spec.to_dict()))


class ResourcesTest(unittest.TestCase):
    def test_kubernetes_form(self):
        r = Resources.from_any({"requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 2}, "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2}})
        self.assertEqual(Resources(cpu="4", memory="16Gi", gpus=2, cpu_limit="8", memory_limit="32Gi"), r)

    def test_limits_only_are_the_requests_too(self):
        r = Resources.from_any({"limits": {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"}})
        self.assertEqual(Resources(cpu="2", memory="1Gi", gpus=1, cpu_limit="2", memory_limit="1Gi"), r)

    def test_requests_only(self):
        self.assertEqual({"cpu": "500m", "gpus": 1}, Resources.from_any({"requests": {"cpu": "500m", "nvidia.com/gpu": 1}}).to_dict())

    def test_flat_forms(self):
        self.assertEqual(
            {"cpu": "4", "memory": "8Gi", "gpus": 1, "cpuLimit": "8", "memoryLimit": "16Gi"},
            Resources.from_any({"cpu": 4, "memory": "8Gi", "nvidia.com/gpu": 1, "cpu_limit": "8", "memoryLimit": "16Gi"}).to_dict(),
        )
        self.assertEqual({"cpu": "1.5"}, Resources(cpu=1.5).to_dict())

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "differ"):
            Resources.from_any({"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 2}})
        with self.assertRaisesRegex(ValueError, "ephemeral-storage"):
            Resources.from_any({"requests": {"ephemeral-storage": "1Gi"}})
        with self.assertRaisesRegex(ValueError, "mixes"):
            Resources.from_any({"requests": {"cpu": "1"}, "memory": "1Gi"})
        with self.assertRaisesRegex(ValueError, "unsupported resource"):
            Resources.from_any({"cpus": "1"})

    def test_to_k8s(self):
        self.assertEqual(
            {"requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 2}, "limits": {"nvidia.com/gpu": 2, "cpu": "8", "memory": "16Gi"}},
            Resources(cpu="4", memory="16Gi", gpus=2, cpu_limit="8").to_k8s(),
        )


class SpecTest(unittest.TestCase):
    def full(self):
        return MPIJobSpec(
            name="mnist",
            namespace="team-a",
            image="quay.io/acme/train:1.0",
            command=["python3", "train.py"],
            worker_spec=WorkerSpec(replicas=2, slots_per_worker=2, resources=Resources(cpu="2", memory="4Gi")),
            launcher_spec=LauncherSpec(resources={"cpu": "500m"}),
            mpi_implementation="MPICH",
            run_policy=RunPolicy(active_deadline_seconds=600, backoff_limit=0, clean_pod_policy="All"),
            scheduling=Scheduling(queue="team-a-queue"),
            env={"EPOCHS": "3"},
            volumes=[Volume(name="data", mount_path="/data", persistent_volume_claim="datasets", read_only=True)],
            labels={"team": "nlp"},
            working_dir="/workspace",
        )

    def test_full_document(self):
        d = self.full().to_dict()
        self.assertEqual({"name": "mnist", "namespace": "team-a", "labels": {"team": "nlp"}}, d["metadata"])
        s = d["spec"]
        self.assertEqual({"replicas": 2, "slotsPerWorker": 2, "resources": {"cpu": "2", "memory": "4Gi"}}, s["workers"])
        self.assertEqual({"resources": {"cpu": "500m"}}, s["launcher"])
        self.assertEqual({"activeDeadlineSeconds": 600, "backoffLimit": 0, "cleanPodPolicy": "All"}, s["runPolicy"])
        self.assertEqual([{"name": "EPOCHS", "value": "3"}], s["env"])
        self.assertEqual([{"name": "data", "mountPath": "/data", "readOnly": True, "persistentVolumeClaim": "datasets"}], s["volumes"])
        self.assertEqual({"queue": "team-a-queue"}, s["scheduling"])
        self.assertEqual(self.full(), MPIJobSpec.from_dict(d))

    def test_nested_dicts_accepted(self):
        spec = MPIJobSpec(name="x", command=["a"], run_policy={"backoffLimit": 2}, worker_spec={"replicas": 3, "resources": {"cpu": "1"}}, env=[{"name": "A", "value": "1"}])
        self.assertEqual(RunPolicy(backoff_limit=2), spec.run_policy)
        self.assertEqual(3, spec.workers.replicas)
        self.assertEqual([EnvVar("A", "1")], spec.env)

    def test_python_values_are_sent_as_given(self):
        # Wrong types are the server's to report (with its field paths), so
        # the document carries them unchanged.
        spec = MPIJobSpec(name="x", command="python3 train.py", worker_spec=WorkerSpec(replicas="4", resources={"gpus": "two"}))
        d = spec.to_dict()["spec"]
        self.assertEqual("python3 train.py", d["command"])
        self.assertEqual({"replicas": "4", "resources": {"gpus": "two"}}, d["workers"])

    def test_numbers_for_quantities_become_text(self):
        self.assertEqual({"cpu": "2", "memory": "0.00001", "cpuLimit": "2.5"}, Resources(cpu=2.0, memory=1e-05, cpu_limit=2.5).to_dict())

    def test_unknown_fields_in_documents(self):
        with self.assertRaises(ValidationError) as cm:
            MPIJobSpec.from_dict({"metadata": {"name": "x", "lables": {}}, "spec": {"command": ["a"], "worker": {"replicas": 2}, "workers": {"replica": 1, "resources": {"cpus": "1"}}, "volumes": [{"name": "v", "mountpath": "/d"}]}, "extra": 1})
        got = [(e.field, e.type, e.message) for e in cm.exception.field_errors]
        self.assertEqual(
            [
                ("extra", "Unknown", 'unknown field "extra"'),
                ("metadata.lables", "Unknown", 'unknown field "lables"; did you mean "labels"?'),
                ("spec.worker", "Unknown", 'unknown field "worker"; did you mean "workers"?'),
                ("spec.workers.replica", "Unknown", 'unknown field "replica"; did you mean "replicas"?'),
                ("spec.workers.resources.cpus", "Unknown", 'unknown field "cpus"; did you mean "cpu"?'),
                ("spec.volumes[0].mountpath", "Unknown", 'unknown field "mountpath"; did you mean "mountPath"?'),
            ],
            got,
        )
        self.assertIn("nothing was sent", str(cm.exception))
        # strict=False is for documents that come from a (possibly newer) server.
        self.assertEqual("x", MPIJobSpec.from_dict({"metadata": {"name": "x"}, "spec": {"newField": 1}}, strict=False).name)

    def test_upstream_documents_are_left_to_the_server(self):
        errs = MPIJob.from_dict  # noqa: F841
        with self.assertRaises(ValidationError) as cm:
            MPIJobSpec.from_dict({"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": {"name": "x"}})
        self.assertIn("create_mpijob_from_manifest", str(cm.exception))


class StatusTest(unittest.TestCase):
    STATUS = {
        "phase": "Failed",
        "reason": "RankFailed",
        "message": "rank 3 exited with code 1",
        "startTime": "2026-01-02T15:04:05Z",
        "completionTime": "2026-01-02T15:05:05.5Z",
        "workers": {"total": 2, "running": 0, "succeeded": 1, "failed": 1},
        "launcher": {"name": "launcher", "index": -1, "state": "Failed", "exitCode": 1},
        "workerStatuses": [
            {"name": "worker-0", "index": 0, "state": "Succeeded", "exitCode": 0, "ranks": [0, 1]},
            {"name": "worker-1", "index": 1, "state": "Failed", "exitCode": 137, "reason": "OOMKilled", "ranks": [2, 3], "node": "n1"},
        ],
        "firstFailedWorker": 1,
        "firstFailedRank": 3,
        "attempts": 1,
        "history": [{"phase": "Pending", "time": "2026-01-02T15:04:00Z"}, {"phase": "Failed", "reason": "RankFailed", "time": "2026-01-02T15:05:05Z"}],
        "requested": {"cpu": "2", "memory": "2Gi", "slots": 4},
        "exitCode": 1,
        "someFutureField": {"x": 1},
    }

    def test_from_server_json(self):
        s = JobStatus.from_dict(self.STATUS)
        self.assertTrue(s.failed and s.is_terminal and not s.succeeded)
        self.assertEqual((0, 2, 1, 1), (s.workers_running, s.workers_total, s.workers_succeeded, s.workers_failed))
        self.assertEqual(dt.datetime(2026, 1, 2, 15, 4, 5, tzinfo=dt.timezone.utc), s.start_time)
        self.assertEqual(dt.timedelta(seconds=60.5), s.duration)
        self.assertTrue(s.worker(1).oom_killed)
        self.assertEqual([2, 3], s.worker(1).ranks)
        self.assertEqual(0, s.worker(0).exit_code)
        self.assertEqual(-1, s.launcher.index)
        self.assertEqual(3, s.first_failed_rank)
        self.assertEqual(["Pending", "Failed"], [t.phase for t in s.history])
        self.assertEqual(4, s.requested.slots)
        self.assertIn("Failed (RankFailed)", str(s))

    def test_preempted(self):
        s = JobStatus.from_dict({"phase": "Queued", "reason": "Preempted", "message": 'preempted by job "big"', "preemptions": 2, "preemptedBy": "big"})
        self.assertEqual((2, "big", "Preempted"), (s.preemptions, s.preempted_by, s.reason))
        self.assertEqual(2, s.to_dict()["preemptions"])
        self.assertEqual(0, JobStatus.from_dict({"phase": "Running"}).preemptions)

    def test_round_trip(self):
        s = JobStatus.from_dict(self.STATUS)
        self.assertEqual(s, JobStatus.from_dict(s.to_dict()))
        self.assertEqual(0, s.to_dict()["workerStatuses"][0]["exitCode"])  # optional zero kept

    def test_phases(self):
        self.assertEqual(8, len(Phase.ALL))
        self.assertFalse(JobStatus(phase="Suspended").is_terminal)

    def test_job_from_server_json(self):
        job = MPIJob.from_dict(
            {"metadata": {"name": "pi", "namespace": "a", "uid": "u", "creator": "alice", "creationTimestamp": "2026-01-02T15:04:05Z"}, "spec": {"command": ["x"]}, "status": self.STATUS},
            strict=False,
        )
        self.assertEqual(("pi", "a", "u", "alice", "Failed"), (job.name, job.namespace, job.uid, job.creator, job.phase))
        self.assertEqual(["x"], job.spec.command)
        self.assertEqual("pi", job.to_dict()["metadata"]["name"])

    def test_other_objects(self):
        e = Event.from_dict({"type": "Warning", "reason": "RankFailed", "object": "worker-1", "count": 2, "firstTime": "2026-01-02T15:04:05Z"})
        self.assertEqual(("Warning", 2, 2026), (e.type, e.count, e.first_time.year))
        line = LogLine.from_dict({"source": "worker-0", "worker": 0, "rank": 1, "stream": "stdout", "text": "hi"})
        self.assertEqual("hi", str(line))
        cap = Capacity.from_dict({"source": "local", "resources": [{"name": "slots", "hard": "4", "used": "1", "available": "3"}]})
        self.assertEqual("3", cap.get("slots").available)
        self.assertIsNone(cap.get("gpus"))

    def test_metrics(self):
        # proto3 JSON omits zero values: index 0, cpuCores 0.
        m = JobMetrics.from_dict(
            {
                "available": True,
                "intervalSeconds": 2,
                "replicas": [
                    {"name": "launcher", "index": -1, "samples": [{"time": "2026-01-02T15:04:05Z", "memoryBytes": 1e6}]},
                    {"name": "worker-0", "samples": [{"time": "2026-01-02T15:04:05Z", "cpuCores": 0.9, "memoryBytes": 2e6}, {"time": "2026-01-02T15:04:07Z", "cpuCores": 0.5, "memoryBytes": 3e6}]},
                ],
            }
        )
        self.assertTrue(m.available)
        self.assertEqual(2.0, m.interval_seconds)
        w0 = m.replica("worker-0")
        self.assertEqual((0, 0.9, 3e6), (w0.index, w0.peak_cpu(), w0.peak_memory()))
        self.assertEqual(7, w0.latest().time.second)
        self.assertEqual(0.0, m.replica("launcher").latest().cpu_cores)
        self.assertIsNone(m.replica("worker-9"))
        none = JobMetrics.from_dict({"message": "not measured"})
        self.assertEqual((False, [], "not measured"), (none.available, none.replicas, none.message))
        self.assertEqual(0.0, ReplicaMetrics(name="worker-1").peak_cpu())


if __name__ == "__main__":
    unittest.main()
