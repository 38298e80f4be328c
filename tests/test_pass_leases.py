"""Replicas over one PostgreSQL database share the job-level consolidation passes
without computing one twice (the scale-out issue, section 3)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from labelwire.server.core import service
from labelwire.server.transport.app import Running, start_server
from labelwire.v1 import job_pb2

from .conftest import ADMIN_KEY
from .helpers import CLASSES, truth


@pytest.fixture
async def replicas(postgres_database: str) -> AsyncIterator[tuple[Running, Running]]:
    """Two replicas whose background maintenance is stopped, so that the test alone
    decides when each runs its passes."""
    started: list[Running] = []
    try:
        for _ in range(2):
            running = await start_server(
                address="127.0.0.1:0", database=postgres_database, admin_key=ADMIN_KEY
            )
            started.append(running)
            for task in running.core._tasks:
                task.cancel()
        yield started[0], started[1]
    finally:
        for running in started:
            await running.stop(grace=None)


async def test_two_replicas_running_their_passes_at_once_compute_each_jobs_pass_once(
    replicas: tuple[Running, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    target_a, target_b = f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"
    async with AdminClient(target_a, ADMIN_KEY) as admin:
        key = await admin.create_api_key("passes")
    async with Client(target_a, key) as lw:
        job = await lw.create_job(
            "DS on two replicas",
            classes=CLASSES,
            judgments_per_item=3,
            quiz_size=0,
            hidden_gold_share=0,
            consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE,
        )
        await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(30)])
        await lw.start_job(job.name)
        tokens = [(await lw.create_worker(job.name, f"w{n}"))[1] for n in range(3)]

        async def work(token: str, target: str) -> None:
            async with WorkerClient(target, token) as w:
                while (t := await w.next_task()).HasField("task"):
                    await w.submit(t.task.name, classification(truth(t.task.text)))

        await asyncio.gather(*(work(t, (target_a, target_b)[n % 2]) for n, t in enumerate(tokens)))

        computed: list[str] = []
        lock = threading.Lock()
        compute = service.passes.compute

        def counted(spec: Any, rows: list[Any], pool: float) -> Any:
            with lock:
                computed.append(threading.current_thread().name)
            time.sleep(0.5)  # both replicas are inside their pass at once
            return compute(spec, rows, pool)

        monkeypatch.setattr(service.passes, "compute", counted)
        await asyncio.gather(a.core.run_passes(), b.core.run_passes())
        assert len(computed) == 1

        # The pass was made, by one of them: the job is complete, its labels are Dawid-Skene's,
        # and neither replica finds another pass due.
        await asyncio.gather(a.core.run_passes(), b.core.run_passes())
        assert len(computed) == 1
        done = await lw.get_job(job.name)
        assert done.state == job_pb2.JOB_STATE_COMPLETED
        labels = [label async for label in lw.stream_labels(job.name, snapshot_only=True)]
        assert {label.method for label in labels} >= {"dawid_skene"}
