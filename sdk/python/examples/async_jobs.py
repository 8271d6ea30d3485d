"""Submit several jobs concurrently with the asyncio client, watch them all
from one event loop and stream one job's logs as they are written.

    python3 sdk/python/examples/async_jobs.py
"""

import asyncio
import uuid

from openshift_ai.training import AsyncMPIJobClient, MPIJobSpec, WorkerSpec


async def main() -> None:
    async with AsyncMPIJobClient() as client:
        suffix = uuid.uuid4().hex[:5]
        specs = [
            MPIJobSpec(
                name=f"sweep-{lr}-{suffix}".replace(".", "p"),
                command=["sh", "-c", f"echo rank $OMPI_COMM_WORLD_RANK trains with lr={lr}; sleep 1; echo done"],
                worker_spec=WorkerSpec(replicas=2),
                labels={"sweep": suffix},
            )
            for lr in ("0.1", "0.01", "0.001")
        ]
        jobs = await asyncio.gather(*(client.create_mpijob(s) for s in specs))

        async def follow_first() -> None:
            async for line in jobs[0].stream_logs(worker="all"):
                print(f"[{jobs[0].name}] {line}")

        async def report(job) -> None:
            status = await job.wait_for_completion(timeout=600, raise_on_failure=False)
            print(f"{job.name}: {status.phase} ({status.reason})")

        await asyncio.gather(follow_first(), *(report(j) for j in jobs))
        for job in await client.list_mpijobs(label_selector=f"sweep={suffix}"):
            await job.delete()


asyncio.run(main())
