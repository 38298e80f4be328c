"""Leases: one holder, an expiry, and no item judged twice by one worker."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client import classification
from tests.conftest import Clock, Harness
from tests.helpers import running_job


async def test_expired_lease_returns_the_task_to_the_queue(server: Harness, clock: Clock) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1)
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        held = await wa.next_task()
        assert not (await wb.next_task()).HasField("task")
        clock.advance(301)
        taken = await wb.next_task()
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await wa.submit(held.task.name, classification("pos"))
    assert taken.task.text == held.task.text
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "expired" in (
        late.value.details() or ""
    )
    await lw.close()


async def test_extend_lease_keeps_the_task(server: Harness, clock: Clock) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1)
    _, a = await lw.create_worker(job.name, "a")
    async with server.worker(a) as w:
        held = await w.next_task()
        clock.advance(200)
        await w.extend(held.task.name, 300)
        clock.advance(200)
        ok = await w.submit(held.task.name, classification("pos"))
    assert ok.task == held.task.name
    await lw.close()


async def test_submit_is_idempotent_and_counted_once(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1, judgments=2)
    _, a = await lw.create_worker(job.name, "a")
    async with server.worker(a) as w:
        t = await w.next_task()
        await w.submit(t.task.name, classification("pos"))
        await w.submit(t.task.name, classification("pos"))
        with pytest.raises(grpc.aio.AioRpcError) as changed:
            await w.submit(t.task.name, classification("neg"))
    assert changed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await lw.get_job(job.name)).counters.judgments == 1
    await lw.close()


async def test_a_worker_never_judges_an_item_twice(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2, judgments=3)
    _, a = await lw.create_worker(job.name, "a")
    async with server.worker(a) as w:
        seen = []
        for _ in range(5):
            t = await w.next_task()
            if not t.HasField("task"):
                break
            seen.append(t.task.text)
            await w.submit(t.task.name, classification("pos"))
    assert len(seen) == 2 and len(set(seen)) == 2
    await lw.close()


async def test_no_item_gets_more_judgments_than_asked(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1, judgments=2)
    tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(3)]
    leased = []
    for token in tokens:
        async with server.worker(token) as w:
            leased.append((await w.next_task()).HasField("task"))
    assert leased == [True, True, False]
    await lw.close()


async def test_released_task_goes_to_another_worker(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1)
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        t = await wa.next_task()
        await wa.decline(t.task.name, "cannot read it")
        again = await wa.next_task()
        other = await wb.next_task()
    assert not again.HasField("task") and other.task.text == t.task.text
    await lw.close()
