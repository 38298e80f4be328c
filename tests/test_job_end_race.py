"""Writers labeling a job's last items at once end the job (the scale-out issue).

Under READ COMMITTED two PostgreSQL writers (`--database-writers`, or two
replicas) closing a job's last two items in overlapping transactions each see
the other's item still open: neither would complete the job, nor pause it after
its pilot, and its label streams would never end. Here the first submit's
transaction is held open before its commit while the others label the rest;
each of those has either finished or waits on a lock before the first commits.
The maintenance loop is kept from running, so only the submits can end the job.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from labelwire.server.core import service
from labelwire.server.dispatch import dispatcher
from labelwire.server.store.postgres import pooling
from labelwire.server.transport.app import Running, start_server
from labelwire.v1 import job_pb2, task_pb2
from tests.conftest import ADMIN_KEY, Harness
from tests.helpers import CLASSES, drain, running_job, truth

WAIT = 30.0  # how long the held submit waits to be let go, never reached when the test works
MAJORITY = job_pb2.CONSOLIDATION_METHOD_MAJORITY_VOTE
DAWID_SKENE = job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE


class HeldSubmit:
    """Holds the first submit's transaction open, its work done, until `release`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.holding = threading.Event()
        self._go = threading.Event()
        self._first = [True]
        real = dispatcher.submit

        def submit(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            if self._first and self._first.pop():
                self.holding.set()
                assert self._go.wait(WAIT)
            return result

        monkeypatch.setattr(dispatcher, "submit", submit)

    def release(self) -> None:
        self._go.set()


async def _writers(postgres_database: str, writers: int) -> Running:
    return await start_server(
        address="127.0.0.1:0", database=postgres_database, admin_key=ADMIN_KEY, database_writers=writers
    )


def _waiting_on_locks(postgres_database: str) -> Callable[[], int]:
    admin = psycopg.connect(pooling(postgres_database)[0], autocommit=True)

    def count() -> int:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
        return 0 if row is None else int(row[0])

    return count


async def _until(done: Callable[[], bool]) -> None:
    for _ in range(int(WAIT / 0.01)):
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writers never got there")


async def _race(
    postgres_database: str, held: HeldSubmit, workers: list[WorkerClient], tasks: list[task_pb2.Task]
) -> None:
    """The first worker's submit holds its transaction open; each other one, sent
    in turn, finishes or waits on a lock before the next is sent, and the first
    commits last."""
    waiting = _waiting_on_locks(postgres_database)

    def send(worker: WorkerClient, task: task_pb2.Task) -> asyncio.Future[Any]:
        return asyncio.ensure_future(worker.submit(task.name, classification(truth(task.text))))

    first = send(workers[0], tasks[0])
    await _until(held.holding.is_set)
    later: list[asyncio.Future[Any]] = []
    for worker, task in zip(workers[1:], tasks[1:], strict=True):
        later.append(send(worker, task))
        await _until(lambda: sum(f.done() for f in later) + waiting() == len(later))
    held.release()
    await asyncio.gather(first, *later)


async def _leased(lw: Client, target: str, job: str, count: int) -> tuple[list[WorkerClient], list[Any]]:
    workers = [WorkerClient(target, (await lw.create_worker(job, f"w{n}"))[1]) for n in range(count)]
    tasks = [(await w.next_task()).task for w in workers]
    assert all(task.name for task in tasks)
    return workers, tasks


@pytest.mark.parametrize("method", [MAJORITY, DAWID_SKENE], ids=["majority", "dawid_skene"])
@pytest.mark.parametrize("writers", [2, 4])
async def test_writers_labeling_a_jobs_last_items_at_once_end_the_job_and_its_streams(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch, writers: int, method: int
) -> None:
    """A majority-vote job completes at the last commit; a Dawid-Skene job waits
    for its final pass, which the next maintenance finds due; either way every
    item's label is streamed and the stream ends."""
    monkeypatch.setattr(service, "MAINTENANCE_SECONDS", 3600.0)
    held = HeldSubmit(monkeypatch)
    running = await _writers(postgres_database, writers)
    target = f"127.0.0.1:{running.port}"
    workers: list[WorkerClient] = []
    try:
        async with AdminClient(target, ADMIN_KEY) as admin:
            key = await admin.create_api_key("racing")
        async with Client(target, key) as lw:
            job = await lw.create_job(
                "last items", classes=CLASSES, judgments_per_item=1, quiz_size=0, consolidation_method=method
            )
            await lw.add_items(
                job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(writers)]
            )
            await lw.start_job(job.name)
            workers, tasks = await _leased(lw, target, job.name, writers)
            await _race(postgres_database, held, workers, tasks)
            after_submits = await lw.get_job(job.name)
            if method == DAWID_SKENE:
                assert after_submits.state == job_pb2.JOB_STATE_RUNNING  # its final pass is still due
                await running.core.maintain_once()
            else:
                assert after_submits.state == job_pb2.JOB_STATE_COMPLETED
            labels = await drain(lw.stream_labels(job.name))
            ended = await lw.get_job(job.name)
        assert ended.state == job_pb2.JOB_STATE_COMPLETED
        assert ended.end_reason == job_pb2.JOB_END_REASON_ALL_LABELED
        assert {label.item_key for label in labels} == {f"i{n}" for n in range(writers)}
    finally:
        for worker in workers:
            await worker.close()
        await running.stop(grace=None)


@pytest.mark.parametrize("writers", [2, 4])
async def test_writers_labeling_a_pilots_last_items_at_once_pause_the_job(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch, writers: int
) -> None:
    monkeypatch.setattr(service, "MAINTENANCE_SECONDS", 3600.0)
    held = HeldSubmit(monkeypatch)
    running = await _writers(postgres_database, writers)
    target = f"127.0.0.1:{running.port}"
    workers: list[WorkerClient] = []
    try:
        async with AdminClient(target, ADMIN_KEY) as admin:
            key = await admin.create_api_key("racing")
        async with Client(target, key) as lw:
            job = await lw.create_job("pilot", classes=CLASSES, judgments_per_item=1, quiz_size=0)
            await lw.add_items(
                job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(3 * writers)]
            )
            await lw.start_job(job.name, pilot_size=writers)
            workers, tasks = await _leased(lw, target, job.name, writers)
            await _race(postgres_database, held, workers, tasks)
            after = await lw.get_job(job.name)
        assert after.state == job_pb2.JOB_STATE_PAUSED
        assert after.counters.labeled_items == writers
    finally:
        for worker in workers:
            await worker.close()
        await running.stop(grace=None)


async def test_maintenance_ends_a_running_job_whose_last_judgments_did_not(server: Harness) -> None:
    """The net under the submits' own check (exact only while few items close
    during one writer's transaction): a running job with nothing left open is
    completed by the next maintenance, on either store."""
    lw = await server.client()
    job = await running_job(lw, items=3)
    job_id = int(job.name.rsplit("/", 1)[1])
    await server.running.core.store.write(
        lambda tx: tx.run("UPDATE items SET state = 1 WHERE job_id = ?", (job_id,))
    )
    running = await lw.get_job(job.name)
    await server.running.core.maintain_once()
    ended = await lw.get_job(job.name)
    assert running.state == job_pb2.JOB_STATE_RUNNING
    assert ended.state == job_pb2.JOB_STATE_COMPLETED
    await lw.close()
