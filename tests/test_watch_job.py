"""WatchJob over a real port: a job's counters arrive as they change, the
stream ends with the job, the admin key watches read-only, heartbeats keep an
idle stream talking, and the streams count against the per-client limit on
both ports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import AdminClient, Client, classification
from labelwire.server.core import watch
from labelwire.server.transport.app import start_server
from labelwire.v1 import (
    job_pb2,
    job_service_pb2,
    job_service_pb2_grpc,
    label_service_pb2,
    label_service_pb2_grpc,
)
from tests.conftest import ADMIN_KEY, Harness
from tests.connect_client import CONNECT_JSON, Caller
from tests.helpers import STREAM_DEADLINE_SECONDS, drain, running_job, take, truth


@pytest.fixture
async def lw(server: Harness) -> AsyncIterator[Client]:
    client = await server.client()
    yield client
    await client.close()


async def until(stream: AsyncIterator[job_pb2.Job], holds: Callable[[job_pb2.Job], bool]) -> job_pb2.Job:
    """The first reading of the job for which `holds` is true; a bound against
    a hang, not a speed test."""

    async def read() -> job_pb2.Job:
        async for job in stream:
            if holds(job):
                return job
        raise AssertionError("the stream ended before the counters got there")

    return await asyncio.wait_for(read(), STREAM_DEADLINE_SECONDS)


async def test_counters_arrive_as_judgments_are_submitted_and_the_stream_ends_with_the_job(
    server: Harness, lw: Client
) -> None:
    job = await running_job(lw, items=3)
    watching = lw.watch_job(job.name)
    first = await until(watching, lambda j: True)
    assert (first.counters.total_items, first.counters.judgments, first.state) == (
        3,
        0,
        job_pb2.JOB_STATE_RUNNING,
    )
    _, token = await lw.create_worker(job.name, "Ada")
    async with server.worker(token) as ada:
        task = (await ada.next_task()).task
        leased = await until(watching, lambda j: j.counters.in_progress_items == 1)
        assert leased.counters.labeled_items == 0
        await ada.submit(task.name, classification(truth(task.text)))
        one = await until(watching, lambda j: j.counters.judgments == 1)
        assert (one.counters.labeled_items, one.counters.in_progress_items) == (1, 0)
        while (task := (await ada.next_task()).task).name:
            await ada.submit(task.name, classification(truth(task.text)))
    ended = await until(watching, lambda j: j.state == job_pb2.JOB_STATE_COMPLETED)
    assert ended.counters.labeled_items == 3 and ended.counters.judgments == 3
    assert await drain(watching) == []
    assert ended == await lw.get_job(job.name)


async def test_the_admin_key_watches_any_clients_job_and_another_client_does_not(
    server: Harness, lw: Client
) -> None:
    job = await running_job(lw, items=2)
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        stub = job_service_pb2_grpc.JobServiceStub(admin.channel)
        call = stub.WatchJob(job_service_pb2.WatchJobRequest(name=job.name), metadata=admin.metadata)
        [seen] = await take(aiter(call), 1)
        call.cancel()
    assert seen.job.name == job.name and seen.job.counters.total_items == 2
    other = await server.client("other")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await take(other.watch_job(job.name), 1)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await take(lw.watch_job("jobs/x"), 1)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "name" in (bad.value.details() or "")
    await other.close()


async def test_an_idle_watch_sends_heartbeats_without_a_job(
    server: Harness, lw: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "WATCH_HEARTBEAT_SECONDS", 0.0)
    job = await lw.create_job("Idle", classes=["a", "b"], judgments_per_item=1, quiz_size=0)
    stub = job_service_pb2_grpc.JobServiceStub(lw.channel)
    call = stub.WatchJob(job_service_pb2.WatchJobRequest(name=job.name), metadata=lw.metadata)
    first, beat = await take(aiter(call), 2)
    call.cancel()
    assert first.job.state == job_pb2.JOB_STATE_DRAFT
    assert not beat.HasField("job")


async def test_watch_streams_count_with_label_streams_on_both_ports(tmp_path: Path) -> None:
    """A WatchJob over Connect and one over gRPC fill a limit of 2; a
    StreamLabels call is then RESOURCE_EXHAUSTED naming the limit; both
    watches end when the owner cancels the job."""
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "watch.db"),
        admin_key=ADMIN_KEY,
        http_address="127.0.0.1:0",
        max_streams_per_client=2,
    )
    assert running.http is not None
    try:
        harness = Harness(running=running, target=f"127.0.0.1:{running.port}", database="")
        lw = await harness.client("watcher")
        job = await running_job(lw, items=1)
        key = lw.metadata[0][1].removeprefix("Bearer ")
        connect = Caller(f"http://127.0.0.1:{running.http.port}", CONNECT_JSON, key)
        over_http = connect.server_stream(
            "/labelwire.v1.JobService/WatchJob", job_service_pb2.WatchJobRequest(name=job.name)
        )
        [first] = await take(over_http, 1)
        second = lw.watch_job(job.name)
        await take(second, 1)
        third = label_service_pb2_grpc.LabelServiceStub(lw.channel).StreamLabels(
            label_service_pb2.StreamLabelsRequest(job=job.name), metadata=lw.metadata
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await third.read()
        await lw.cancel_job(job.name)
        rest = await drain(over_http)
        await drain(second)
        await lw.close()
    finally:
        await running.stop(grace=None)
    assert first.job.state == job_pb2.JOB_STATE_RUNNING
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "at most 2 streams" in (refused.value.details() or "")
    assert rest[-1].job.state == job_pb2.JOB_STATE_CANCELLED
