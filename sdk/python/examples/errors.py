"""What errors look like: validation by the server (a dry run — every
problem at once, with field paths — and nothing created), a missing job,
and a name that is already taken.

    python3 sdk/python/examples/errors.py
"""

import uuid

from openshift_ai.training import (
    AlreadyExistsError,
    MPIJobClient,
    MPIJobSpec,
    NotFoundError,
    ValidationError,
    WorkerSpec,
)

bad = MPIJobSpec(name="My-Job", command=["python3", "train.py"], worker_spec=WorkerSpec(replicas=0, resources={"memory": "16GG"}))
try:
    bad.validate()
except ValidationError as e:
    print(e)
    for fe in e.field_errors:
        print(f"  field={fe.field} type={fe.type} value={fe.value!r}")

client = MPIJobClient()
try:
    client.get_mpijob("no-such-job")
except NotFoundError as e:
    print(f"\n{type(e).__name__} (HTTP {e.status_code}): {e.message}\n  hint: {e.hint}")

spec = MPIJobSpec(name="dup-" + uuid.uuid4().hex[:5], command=["sh", "-c", "true"])
job = client.create_mpijob(spec)
try:
    client.create_mpijob(spec)
except AlreadyExistsError as e:
    print(f"\n{type(e).__name__}: {e.message}")
job.wait_for_completion(timeout=300)
job.delete()
