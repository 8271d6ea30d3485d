"""Training progress: the report() helper's lines, the progress models,
and end to end a real 2-rank MPI job that reports with report() and is seen
through monitor callbacks and job.progress() (needs bin/odh-server)."""

import io
import math
import os
import unittest
import uuid
from unittest import mock

from tests import _paths
from tests.server_harness import SKIP_REASON, LocalServer, server_binary
from openshift_ai.training import JobProgress, JobStatus, MPIJobClient, MPIJobSpec, WorkerSpec, report


def lines(**kw):
    buf = io.StringIO()
    printed = report(file=buf, **kw)
    return printed, buf.getvalue()


class ReportTest(unittest.TestCase):
    def test_one_json_line_with_the_fields_and_metrics(self):
        with mock.patch.dict(os.environ, {}, clear=True):
            printed, out = lines(step=3, total_steps=10, epoch=0.5, loss=0.25, accuracy=1)
        self.assertTrue(printed)
        self.assertEqual('ODH_PROGRESS {"step":3,"total_steps":10,"epoch":0.5,"loss":0.25,"accuracy":1.0}\n', out)

    def test_only_rank_zero_reports_unless_asked(self):
        for var in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "RANK"):
            with mock.patch.dict(os.environ, {var: "1"}, clear=True):
                self.assertEqual((False, ""), lines(step=1), var)
                self.assertTrue(lines(step=1, all_ranks=True)[0], var)
            with mock.patch.dict(os.environ, {var: "0"}, clear=True):
                self.assertTrue(lines(step=1)[0], var)

    def test_non_finite_and_non_numeric_values_are_left_out(self):
        with mock.patch.dict(os.environ, {}, clear=True):
            printed, out = lines(step=2, loss=math.nan, acc=math.inf, note="text", lr=0.1)
            self.assertEqual('ODH_PROGRESS {"step":2,"lr":0.1}\n', out)
            self.assertEqual((False, ""), lines(loss=math.nan))


class ModelTest(unittest.TestCase):
    def test_status_progress_and_history_from_the_api(self):
        st = JobStatus.from_dict({"phase": "Running", "progress": {"step": 30, "totalSteps": 120, "percent": 25, "estimatedRemainingSeconds": 0,
                                                                   "metrics": [{"name": "loss"}, {"name": "top1", "value": 0.5}], "updateTime": "2026-01-02T03:04:05Z"}})
        p = st.progress
        self.assertEqual((30, 120, 25, 0), (p.step, p.total_steps, p.percent, p.estimated_remaining_seconds))
        self.assertEqual(0.0, p.metric("loss"))
        self.assertEqual(0.5, p.metric("top1"))
        self.assertIsNone(p.metric("nope"))
        self.assertEqual(2026, p.update_time.year)
        self.assertIsNone(JobStatus.from_dict({"phase": "Running"}).progress)
        h = JobProgress.from_dict({"points": [{"step": 1, "metrics": [{"name": "loss", "value": 2}]}, {"step": 2}, {"step": 3, "metrics": [{"name": "loss", "value": 1}]}]})
        self.assertIsNone(h.latest)
        self.assertEqual([(1, 2), (3, 1)], h.series("loss"))


TRAIN = """
import time
from mpi4py import MPI
from openshift_ai.training import report
c = MPI.COMM_WORLD
for step in range(1, 11):
    c.Barrier()
    report(step=step, total_steps=20, loss=1.0 / step, accuracy=step / 20)
    time.sleep(0.2)
time.sleep(3)
"""


@unittest.skipIf(server_binary() is None, SKIP_REASON)
class ProgressEndToEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = LocalServer(server_binary())

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_a_real_mpi_job_reports_progress(self):
        c = MPIJobClient(server=self.server.url, token=self.server.token, namespace="sdk-progress")
        spec = MPIJobSpec(name="progress-" + uuid.uuid4().hex[:6], command=["/usr/bin/python3", "-c", TRAIN],
                          worker_spec=WorkerSpec(replicas=2), env={"PYTHONPATH": _paths.SDK_DIR})
        job = c.create_mpijob(spec)
        try:
            seen = []
            final = job.monitor(lambda s: seen.append(s.progress), timeout=120)
            self.assertEqual("Succeeded", final.phase, final.message)
            reported = [p for p in seen if p is not None]
            self.assertTrue(reported, "no monitor callback saw progress")
            self.assertEqual(10, reported[-1].step)
            self.assertEqual(50, reported[-1].percent)
            steps = [p.step for p in reported]
            self.assertEqual(sorted(steps), steps, "progress went backwards")
            h = job.progress()
            self.assertEqual(10, h.latest.step)
            self.assertAlmostEqual(0.1, h.latest.metric("loss"))
            self.assertAlmostEqual(0.5, h.latest.metric("accuracy"))
            loss = h.series("loss")
            self.assertGreaterEqual(len(loss), 2, h.points)
            self.assertEqual((10, 0.1), (loss[-1][0], round(loss[-1][1], 6)))
        finally:
            job.delete(wait=True)


if __name__ == "__main__":
    unittest.main()
