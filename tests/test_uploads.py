"""Uploads are all or nothing: a stream that breaks in any way, a bad item, a
server killed mid-upload all leave the job as it was, and nothing staged stays
behind; what an unpublished upload holds is invisible everywhere."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.server.store import Store, Tx, open_store
from labelwire.v1 import item_pb2, job_service_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, running_job
from tests.test_kill_restart import ADMIN, free_port, start


def items(count: int, prefix: str = "k") -> list[item_pb2.Item]:
    return [text_item(f"{prefix}{i}", f"truth:{CLASSES[i % 3]}") for i in range(count)]


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Waits for something the server does in the background (a bound against a hang)."""
    for _ in range(600):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def count(server: Harness, sql: str) -> int:
    """Read on the writer, the connection that holds the staged items."""
    row = await server.running.core.store.write(lambda tx: tx.one(sql))
    assert row is not None
    return int(row[0])


async def staged(server: Harness) -> int:
    return await count(server, "SELECT COUNT(*) FROM upload_items")


async def nothing_left(server: Harness) -> bool:
    return await staged(server) == 0 and await count(server, "SELECT COUNT(*) FROM uploads") == 0


async def hundred_then_wait(job: str) -> AsyncIterator[job_service_pb2.AddItemsRequest]:
    """A stream that sends 100 items, then never ends."""
    yield job_service_pb2.AddItemsRequest(job=job, items=items(100))
    await asyncio.Event().wait()


async def assert_unchanged_then_retry_adds_all_once(server: Harness, lw: Client, job: str) -> None:
    await until(lambda: nothing_left(server), "the broken upload's staged items dropped")
    assert (await lw.get_job(job)).counters.total_items == 0
    retry = await lw.add_items(job, items(100))
    assert (retry.added_count, retry.duplicate_count) == (100, 0)
    assert (await lw.get_job(job)).counters.total_items == 100


async def test_a_cancelled_stream_adds_nothing(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    call = lw.jobs.AddItems(hundred_then_wait(job.name), metadata=lw.metadata)
    await until(lambda: _is(staged(server), 100), "100 items staged")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await assert_unchanged_then_retry_adds_all_once(server, lw, job.name)
    await lw.close()


async def test_an_sdk_upload_cancelled_half_way_adds_nothing(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)

    async def hundred_then_more() -> AsyncIterator[item_pb2.Item]:
        for item in items(100):
            yield item
        await asyncio.Event().wait()

    upload = asyncio.create_task(lw.add_items(job.name, hundred_then_more(), per_message=100))
    await until(lambda: _is(staged(server), 100), "100 items staged")
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    await assert_unchanged_then_retry_adds_all_once(server, lw, job.name)
    await lw.close()


async def test_a_stream_past_its_deadline_adds_nothing(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    call = lw.jobs.AddItems(hundred_then_wait(job.name), metadata=lw.metadata, timeout=3)
    await until(lambda: _is(staged(server), 100), "100 items staged")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await assert_unchanged_then_retry_adds_all_once(server, lw, job.name)
    await lw.close()


KILLED_CLIENT = """
import asyncio, sys
import grpc
from labelwire.client.raw import text_item
from labelwire.v1 import job_service_pb2, job_service_pb2_grpc

async def main(target, key, job):
    async def stream():
        yield job_service_pb2.AddItemsRequest(
            job=job, items=[text_item(f"k{i}", "x") for i in range(100)]
        )
        print("sent", flush=True)
        await asyncio.Event().wait()

    async with grpc.aio.insecure_channel(target) as channel:
        stub = job_service_pb2_grpc.JobServiceStub(channel)
        await stub.AddItems(stream(), metadata=(("authorization", f"Bearer {key}"),))

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_stream_whose_client_is_killed_adds_nothing(server: Harness) -> None:
    async with await server.client() as lw:
        key = lw.metadata[0][1].removeprefix("Bearer ")
        job = await lw.create_job("J", classes=CLASSES)
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_CLIENT, server.target, key, job.name], stdout=subprocess.PIPE
        )
        try:
            await until(lambda: _is(staged(server), 100), "100 items staged")
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        await assert_unchanged_then_retry_adds_all_once(server, lw, job.name)


async def test_a_stream_that_promised_an_end_and_closed_without_it_adds_nothing(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)

    async def no_end() -> AsyncIterator[job_service_pb2.AddItemsRequest]:
        yield job_service_pb2.AddItemsRequest(job=job.name, items=items(10), explicit_end=True)

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lw.jobs.AddItems(no_end(), metadata=lw.metadata)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "explicit_end" in (
        err.value.details() or ""
    )

    async def after_end() -> AsyncIterator[job_service_pb2.AddItemsRequest]:
        yield job_service_pb2.AddItemsRequest(job=job.name, items=items(10), explicit_end=True, end=True)
        yield job_service_pb2.AddItemsRequest(items=items(1, "late"))

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lw.jobs.AddItems(after_end(), metadata=lw.metadata)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "end" in (err.value.details() or "")
    await until(lambda: nothing_left(server), "the refused uploads dropped")
    assert (await lw.get_job(job.name)).counters.total_items == 0
    await lw.close()


async def test_a_client_that_never_marks_the_end_still_adds_on_a_normal_close(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)

    async def plain() -> AsyncIterator[job_service_pb2.AddItemsRequest]:
        yield job_service_pb2.AddItemsRequest(job=job.name, items=items(50))
        yield job_service_pb2.AddItemsRequest(items=items(50, "more"))

    response = await lw.jobs.AddItems(plain(), metadata=lw.metadata)
    assert response.added_count == 100
    assert (await lw.get_job(job.name)).counters.total_items == 100
    await lw.close()


async def test_a_big_upload_publishes_in_chunks_with_duplicates_counted(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    await lw.add_items(job.name, items(1000))
    repeated = items(5000) + items(500)
    seen: list[tuple[int, int | None]] = []
    response = await lw.add_items(
        job.name, [*repeated, text_item("g", "x", gold="pos")], progress=lambda n, t: seen.append((n, t))
    )
    assert (response.added_count, response.duplicate_count, response.gold_count) == (4001, 1500, 1)
    counters = (await lw.get_job(job.name)).counters
    assert (counters.total_items, counters.gold_items) == (5000, 1)
    assert seen[-1] == (5501, 5501) and len(seen) > 1
    assert await nothing_left(server)
    await lw.close()


async def test_a_bad_item_in_a_later_message_leaves_nothing_staged(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lw.add_items(job.name, [*items(4500), item_pb2.Item(key="no-payload")])
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "message 5" in (err.value.details() or "")
    await until(lambda: nothing_left(server), "the refused upload dropped")
    assert (await lw.get_job(job.name)).counters.total_items == 0
    await lw.close()


async def test_items_of_an_upload_not_yet_published_are_invisible(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2, judgments=2)
    job_id = int(job.name.split("/")[1])
    _, token = await lw.create_worker(job.name, "w")
    async with WorkerClient(server.target, token) as worker:
        for _ in range(2):
            task = (await worker.next_task()).task
            await worker.submit(task.name, classification("pos"))
        store = server.running.core.store
        rows = [(f"h{i}", "text", f"hidden {i}", None, None, None, None) for i in range(10)]

        def publish_hidden(tx: Tx) -> int:
            upload = tx.begin_upload(job_id, 0.0)
            tx.stage_items(upload, rows, 0)
            assert tx.claim_publish(upload, job_id, 0.0)
            tx.publish_items(upload, job_id, 2, 0.0, 0, len(rows))
            return upload

        upload = await store.write(publish_hidden)
        assert not (await worker.next_task()).HasField("task")
        counters = (await lw.get_job(job.name)).counters
        assert (counters.total_items, counters.unlabeled_items, counters.in_progress_items) == (2, 2, 0)
        assert [lab async for lab in lw.list_labels(job.name)] == []
        assert await store.read(lambda tx: tx.item_by_key(job_id, "h0")) is None

        await store.write(lambda tx: tx.end_upload(upload))
        shown = await worker.next_task()
        assert shown.task.text == "hidden 0"
    await lw.close()


async def _is(value: Awaitable[Any], expected: Any) -> bool:
    return bool(await value == expected)


async def test_an_upload_cut_by_a_server_kill_leaves_nothing_after_restart(database: str) -> None:
    port = free_port()
    target = f"127.0.0.1:{port}"
    proc = await start(database, port)
    try:
        from labelwire.client.raw import AdminClient

        async with AdminClient(target, ADMIN) as admin:
            key = await admin.create_api_key("ml")
        async with Client(target, key) as lw:
            job = await lw.create_job("J", classes=CLASSES)
            job_id = int(job.name.split("/")[1])
            call = lw.jobs.AddItems(hundred_then_wait(job.name), metadata=lw.metadata)
            await asyncio.sleep(0.5)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            with pytest.raises(grpc.aio.AioRpcError):
                await call
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # A server that died half-way through publishing another upload.
    store = open_store(database)
    try:

        def half_published(tx: Tx) -> None:
            upload = tx.begin_upload(job_id, 0.0)
            tx.stage_items(upload, [(f"h{i}", "text", "x", None, None, None, None) for i in range(20)], 0)
            assert tx.claim_publish(upload, job_id, 0.0)
            tx.publish_items(upload, job_id, 3, 0.0, 0, 10)
            # Both servers are dead: their heartbeats have lapsed (PostgreSQL sweeps only those).
            tx.run("UPDATE uploads SET touched_at = 0")

        await store.write(half_published)
    finally:
        store.close()

    port = free_port()
    target = f"127.0.0.1:{port}"
    proc = await start(database, port)
    store = open_store(database)
    try:
        async with Client(target, key) as lw:
            await until(lambda: _swept(store), "the dead server's uploads swept")
            assert (await lw.get_job(job.name)).counters.total_items == 0
            response = await lw.add_items(job.name, items(100))
            assert response.added_count == 100
            assert (await lw.get_job(job.name)).counters.total_items == 100
    finally:
        store.close()
        proc.terminate()
        proc.wait()


async def _swept(store: Store) -> bool:
    row = await store.read(
        lambda tx: tx.one(
            "SELECT (SELECT COUNT(*) FROM uploads) + (SELECT COUNT(*) FROM items)"
            " + (SELECT COUNT(*) FROM jobs WHERE hidden_from IS NOT NULL)"
        )
    )
    return row is not None and int(row[0]) == 0


async def test_an_upload_to_a_job_cancelled_meanwhile_adds_nothing_and_leaves_nothing(
    server: Harness,
) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    cancelled = asyncio.Event()

    async def stream() -> AsyncIterator[job_service_pb2.AddItemsRequest]:
        yield job_service_pb2.AddItemsRequest(job=job.name, items=items(3000), explicit_end=True)
        await cancelled.wait()
        yield job_service_pb2.AddItemsRequest(end=True)

    call = lw.jobs.AddItems(stream(), metadata=lw.metadata)
    await until(lambda: _is(staged(server), 3000), "3000 items staged")
    await lw.cancel_job(job.name)
    cancelled.set()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "cancelled" in (
        err.value.details() or ""
    )
    assert await nothing_left(server)
    assert (await lw.get_job(job.name)).counters.total_items == 0
    await lw.close()


async def test_the_sdk_shows_a_progress_bar_and_the_server_logs_each_long_step(
    server: Harness, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="labelwire.server.core.jobs")
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    await lw.add_items(job.name, items(3000), progress=True)
    shown = capsys.readouterr().err  # tqdm's bar, the last state after its final refresh
    assert "AddItems: 100%" in shown and "3000/3000" in shown
    lines = [r.getMessage() for r in caplog.records]
    assert any("publishing 3000 staged items" in line for line in lines)
    assert any("published 3000 items (0 gold, 0 duplicates)" in line for line in lines)
    await lw.close()
