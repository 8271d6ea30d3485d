"""Follow a job: every phase transition, live merged logs from all workers,
per-worker status at the end, and events.

    python3 sdk/python/examples/monitor_and_logs.py
"""

import uuid

from openshift_ai.training import JobFailedError, MPIJobClient, MPIJobSpec, WorkerSpec

client = MPIJobClient()
name = "monitor-demo-" + uuid.uuid4().hex[:5]

job = client.create_mpijob(
    MPIJobSpec(
        name=name,
        command=["sh", "-c", "for step in 1 2 3; do echo rank $OMPI_COMM_WORLD_RANK step $step; sleep 0.5; done"],
        worker_spec=WorkerSpec(replicas=2, slots_per_worker=1),
        env={"PYTHONUNBUFFERED": "1"},
        labels={"example": "monitor"},
    )
)
print(f"created {job.namespace}/{job.name}")

# Run the monitor in a background thread; print each transition once.
monitor = job.monitor(on_transition=lambda t: print(f"  -> {t.phase:<10} {t.reason}: {t.message}"), background=True)

# Meanwhile stream the output of every worker until the job ends.
for line in job.get_logs(worker="all", follow=True):
    print("  " + line)

try:
    status = job.wait_for_completion(timeout=600)
except JobFailedError as e:
    status = e.status
    print(f"failed: {e}")
monitor.join(30)

print(f"final: {status}")
for w in status.worker_statuses:
    print(f"  {w.name}: {w.state} exit={w.exit_code} ranks={w.ranks} node={w.node or '-'}")
for ev in job.events():
    print(f"  event {ev.type:<7} {ev.reason:<12} {ev.object}: {ev.message}")
job.delete()
