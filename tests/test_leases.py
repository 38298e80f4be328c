"""Leases: one holder, an expiry, and no item judged twice by one worker."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2

from labelwire.client.raw import classification, text_item
from labelwire.v1 import job_pb2
from tests.conftest import Clock, Harness
from tests.helpers import CLASSES, drain, running_job


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


async def test_a_submit_frees_only_its_own_lease_of_an_item_others_still_hold(server: Harness) -> None:
    """Three judgments wanted, two leased at once: when one comes in, the other
    lease still holds its slot, so one more worker gets the item, not two."""
    lw = await server.client()
    job = await running_job(lw, items=1, judgments=3)
    tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(4)]
    async with server.worker(tokens[0]) as a, server.worker(tokens[1]) as b:
        first, second = await a.next_task(), await b.next_task()
        await a.submit(first.task.name, classification("pos"))
        async with server.worker(tokens[2]) as c, server.worker(tokens[3]) as d:
            third, fourth = await c.next_task(), await d.next_task()
            await b.submit(second.task.name, classification("pos"))
            await c.submit(third.task.name, classification("pos"))
    counters = (await lw.get_job(job.name)).counters
    assert third.HasField("task") and not fourth.HasField("task")
    assert counters.judgments == 3 and counters.labeled_items == 1
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


async def expired_call_status(server: Harness, clock: Clock, seconds: float, call: str) -> grpc.StatusCode:
    """Leases a task (the default limit is 300 s), moves the clock, then makes
    one call on the task with no other request in between, so that only the
    call's own expiry check can see the lease ended."""
    lw = await server.client()
    job = await running_job(lw, items=1)
    _, token = await lw.create_worker(job.name, "a")
    async with server.worker(token) as w:
        held = await w.next_task()
        clock.advance(seconds)
        try:
            if call == "submit":
                await w.submit(held.task.name, classification("pos"))
            else:
                await w.extend(held.task.name, 60)
        except grpc.aio.AioRpcError as exc:
            assert "expired" in (exc.details() or ""), exc.details()
            return exc.code()
        finally:
            await lw.close()
    return grpc.StatusCode.OK


async def test_submit_just_after_the_lease_expired_is_refused(server: Harness, clock: Clock) -> None:
    assert await expired_call_status(server, clock, 301, "submit") == grpc.StatusCode.FAILED_PRECONDITION


async def test_submit_just_before_the_lease_expires_is_recorded(server: Harness, clock: Clock) -> None:
    assert await expired_call_status(server, clock, 299, "submit") == grpc.StatusCode.OK


async def test_extend_just_after_the_lease_expired_is_refused(server: Harness, clock: Clock) -> None:
    assert await expired_call_status(server, clock, 301, "extend") == grpc.StatusCode.FAILED_PRECONDITION


async def test_extend_just_before_the_lease_expires_renews_it(server: Harness, clock: Clock) -> None:
    assert await expired_call_status(server, clock, 299, "extend") == grpc.StatusCode.OK


async def test_an_expired_submit_leaves_the_item_open_for_someone_else(server: Harness, clock: Clock) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1)
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        held = await wa.next_task()
        clock.advance(301)
        with pytest.raises(grpc.aio.AioRpcError):
            await wa.submit(held.task.name, classification("pos"))
        taken = await wb.next_task()
    assert (await lw.get_job(job.name)).counters.judgments == 0
    assert taken.task.text == held.task.text
    await lw.close()


async def test_an_answer_to_an_item_that_failed_under_its_lease_labels_nothing(
    server: Harness, clock: Clock
) -> None:
    """The item outlived its task lifetime while a worker held it: the answer
    that still comes in on the live lease does not turn the failed item into
    a label."""
    lw = await server.client()
    spec = job_pb2.Job(task_lifetime=duration_pb2.Duration(seconds=60))
    job = await lw.create_job(
        "Lifetime", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0, job=spec
    )
    await lw.add_items(job.name, [text_item("i0", "truth:pos")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        held = await w.next_task()
        clock.advance(61)
        await server.running.core.maintain_once()
        failed = await lw.get_job(job.name)
        await w.submit(held.task.name, classification("pos"))
    after = await lw.get_job(job.name)
    labels = await drain(lw.stream_labels(job.name, snapshot_only=True))
    assert failed.counters.failed_items == 1
    assert (after.counters.failed_items, after.counters.labeled_items, after.counters.judgments) == (1, 0, 1)
    assert labels == []
    await lw.close()
