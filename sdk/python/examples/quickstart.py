"""Quickstart: the plan's example, runnable on a laptop.

Start a local server first (from the repository root):

    make run                # or: bin/odh-server --engine=local

then run:

    python3 sdk/python/examples/quickstart.py

The client finds the server and its token on its own (ODH_SERVER / ODH_TOKEN,
~/.config/odh/config.json, or the local server's discovery file). The local
engine ignores the image and does not enforce CPU/memory/GPU requests (the
server says so in job.warnings); on a cluster the same spec runs as a
kubeflow.org/v2beta1 MPIJob.
"""

from openshift_ai.training import MPIJobClient, MPIJobSpec, WorkerSpec

client = MPIJobClient()

job_spec = MPIJobSpec(
    name="tensorflow-training",
    namespace="ml-team",
    image="example/tf-horovod:latest",
    # Each MPI rank runs this (the platform wraps it with mpirun); with
    # mpi4py installed: ["python3", "-c", "from mpi4py import MPI; ..."].
    command=["sh", "-c", "echo rank ${OMPI_COMM_WORLD_RANK:-$PMI_RANK} of ${OMPI_COMM_WORLD_SIZE:-$PMI_SIZE} ready"],
    worker_spec=WorkerSpec(
        replicas=4,
        resources={
            "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 2},
            "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2},
        },
    ),
)

job = client.create_mpijob(job_spec)
for warning in job.warnings:
    print("note:", warning)


def on_status_change(status):
    print(f"Job status: {status.phase}, Workers running: {status.workers_running}")


job.monitor(callback=on_status_change)
job.wait_for_completion(timeout=3600)

print(job.get_logs(worker=0), end="")
job.delete()
