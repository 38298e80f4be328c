"""Every bad request gets a status naming the problem (never UNKNOWN with an
exception's text), with the field in google.rpc.BadRequest details, a request
id, and nothing changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_status import rpc_status

from labelwire.client.raw import Client, classification, text_item
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.transport.app import start_server
from labelwire.v1 import (
    job_pb2,
    job_service_pb2,
    label_service_pb2,
    label_service_pb2_grpc,
    worker_service_pb2,
    worker_service_pb2_grpc,
)
from tests.conftest import ADMIN_KEY, Harness
from tests.helpers import CLASSES, running_job


async def failure(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


def violations(exc: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    """(field, description) of the BadRequest detail, if any."""
    status = rpc_status.from_call(exc)
    out: list[tuple[str, str]] = []
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            out += [(v.field, v.description) for v in bad.field_violations]
    return out


def request_id(exc: grpc.aio.AioRpcError) -> str:
    return dict(exc.trailing_metadata() or ()).get("x-request-id", "")  # type: ignore[arg-type]


def job_request(**changes: Any) -> job_service_pb2.CreateJobRequest:
    job = job_pb2.Job(
        display_name="J",
        task_config=job_pb2.TaskConfig(
            classification=job_pb2.ClassificationConfig(classes=[job_pb2.LabelClass(name=c) for c in CLASSES])
        ),
        judgment_policy=job_pb2.JudgmentPolicy(judgments_per_item=1),
    )
    for key, value in changes.items():
        setattr(job, key, value)
    return job_service_pb2.CreateJobRequest(job=job)


@pytest.fixture
async def lw(server: Harness) -> AsyncIterator[Client]:
    client = await server.client()
    try:
        yield client
    finally:
        await client.close()


@pytest.mark.parametrize(
    "name", ["jobs/99999999999999999999", "jobs/²", "jobs/١", "x/y/jobs/1", "jobs/1/", "jobs/+1", "jobs/ 1"]
)
async def test_a_malformed_job_name_is_invalid_and_names_the_field(lw: Client, name: str) -> None:
    await lw.create_job("J", classes=CLASSES)  # jobs/1 exists: no name may alias it
    exc = await failure(lw.get_job(name))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "name must look like jobs/<number>" in (exc.details() or "")
    assert [field for field, _ in violations(exc)] == ["name"]


async def test_a_huge_name_is_quoted_by_a_short_prefix_only(lw: Client) -> None:
    exc = await failure(lw.get_job("jobs/" + "9" * (3 << 20)))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(exc.details() or "") < 300 and "3,145,733 characters" in (exc.details() or "")


async def test_a_page_token_past_64_bits_is_invalid(lw: Client) -> None:
    request = job_service_pb2.ListJobsRequest(page_token="99999999999999999999")
    exc = await failure(lw.jobs.ListJobs(request, metadata=lw.metadata))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc)[0][0] == "page_token"


@pytest.mark.parametrize("token", ["lwc_99999999999999999999_x", "lww_1e3_x", "lwc_1_", "lwc_1_a b"])
async def test_a_token_with_a_malformed_id_is_unauthenticated(server: Harness, token: str) -> None:
    async with Client(server.target, token) as lw:
        exc = await failure(lw.get_job("jobs/1"))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_task_name_past_64_bits_is_invalid(server: Harness, lw: Client) -> None:
    job = await running_job(lw, items=1)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as worker:
        exc = await failure(worker.submit(f"{job.name}/tasks/99999999999999999999", classification("pos")))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc)[0][0] == "task"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consolidation_method": 99}, "job.consolidation_method"),
        ({"media_type": 7}, "job.media_type"),
    ],
)
async def test_an_unknown_enum_value_is_invalid(lw: Client, change: dict[str, int], field: str) -> None:
    exc = await failure(lw.jobs.CreateJob(job_request(**change), metadata=lw.metadata))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc)[0][0] == field
    assert [j async for j in lw.list_jobs()] == []


async def test_an_unknown_manifest_format_is_invalid(lw: Client, tmp_path: Path) -> None:
    job = await lw.create_job("J", classes=CLASSES)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"source": "a"}\n')
    request = job_service_pb2.ImportManifestRequest(job=job.name, uri=str(manifest), format=5)  # type: ignore[arg-type]
    exc = await failure(lw.jobs.ImportManifest(request, metadata=lw.metadata))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and violations(exc)[0][0] == "format"


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
async def test_nan_or_infinity_in_workforce_settings_is_invalid(lw: Client, number: float) -> None:
    request = job_request()
    request.job.workforce.settings.update({"deep": {"x": [1, number]}})
    exc = await failure(lw.jobs.CreateJob(request, metadata=lw.metadata))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc)[0][0] == "job.workforce.settings"


async def test_deeply_nested_json_in_an_item_is_invalid_and_adds_nothing(lw: Client) -> None:
    job = await lw.create_job("J", classes=CLASSES)
    deep = "[" * 100_000 + "]" * 100_000
    item = text_item("a", "x")
    item.json = '{"a": ' + deep + "}"
    exc = await failure(lw.add_items(job.name, [text_item("ok", "fine"), item]))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc)[0][0] == "items (message 1)[1].json"
    assert "at most 64 levels" in (exc.details() or "")
    assert (await lw.get_job(job.name)).counters.total_items == 0


async def test_item_metadata_over_64_kib_is_invalid(lw: Client) -> None:
    job = await lw.create_job("J", classes=CLASSES)
    exc = await failure(lw.add_items(job.name, [text_item("a", "x", metadata={"blob": "x" * 70_000})]))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc)[0][0] == "items (message 1)[0].metadata"
    assert "65,536 bytes" in (exc.details() or "")


async def test_a_request_with_invalid_utf8_is_invalid_not_unknown(lw: Client) -> None:
    raw = lw.channel.unary_unary(
        "/labelwire.v1.JobService/GetJob",
        request_serializer=lambda b: b,
        response_deserializer=job_service_pb2.GetJobResponse.FromString,
    )
    exc = await failure(raw(b"\x0a\x02\xff\xfe", metadata=lw.metadata))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid labelwire.v1.GetJobRequest" in (exc.details() or "")
    assert request_id(exc)


async def test_an_add_items_message_with_invalid_utf8_adds_nothing(lw: Client) -> None:
    job = await lw.create_job("J", classes=CLASSES)
    good = job_service_pb2.AddItemsRequest(job=job.name, items=[text_item("a", "x")]).SerializeToString()
    raw = lw.channel.stream_unary(
        "/labelwire.v1.JobService/AddItems",
        request_serializer=lambda b: b,
        response_deserializer=job_service_pb2.AddItemsResponse.FromString,
    )

    async def messages() -> AsyncIterator[bytes]:
        yield good
        yield b"\x12\x05\x0a\x03\xff\xfe\xfd"

    exc = await failure(raw(messages(), metadata=lw.metadata))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (await lw.get_job(job.name)).counters.total_items == 0


async def test_an_unexpected_error_is_internal_with_a_request_id_in_the_log(
    server: Harness, lw: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail at /srv/labelwire/data")

    monkeypatch.setattr(server.running.core.reads, "get_job", broken)
    with caplog.at_level(logging.DEBUG, logger="labelwire"):
        exc = await failure(lw.get_job("jobs/1"))
    assert exc.code() == grpc.StatusCode.INTERNAL
    rid = request_id(exc)
    assert len(rid) == 12 and exc.details() == f"internal error; request id {rid}"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and getattr(errors[0], "request_id", None) == rid and errors[0].exc_info
    lines = [r for r in caplog.records if getattr(r, "duration_ms", None) is not None]
    assert [(r.method, r.caller, r.status, r.request_id) for r in lines] == [  # type: ignore[attr-defined]
        ("/labelwire.v1.JobService/GetJob", "client", "INTERNAL", rid)
    ]


@pytest.mark.parametrize(
    ("length", "shown"),
    [(999, "x" * 999), (1000, "x" * 1000), (1001, "x" * 1000 + "…"), (5000, "x" * 1000 + "…")],
)
async def test_an_error_message_is_cut_at_1000_characters_with_an_ellipsis(
    server: Harness, lw: Client, monkeypatch: pytest.MonkeyPatch, length: int, shown: str
) -> None:
    """A status message is bounded (it travels in a header); one that fits is never touched."""

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise InvalidArgument("x" * length, "name")

    monkeypatch.setattr(server.running.core.reads, "get_job", refuse)
    exc = await failure(lw.get_job("jobs/1"))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert exc.details() == shown
    assert violations(exc) == [("name", shown)]


async def test_an_unexpected_error_in_a_stream_is_internal(
    server: Harness, lw: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise OSError("/srv/labelwire/data is gone")
        yield

    monkeypatch.setattr(server.running.core.labels, "stream_labels", broken)
    exc = await failure(lw.stream_labels("jobs/1", reconnect=False).__anext__())
    assert exc.code() == grpc.StatusCode.INTERNAL and "/srv" not in (exc.details() or "")
    assert exc.details() == f"internal error; request id {request_id(exc)}"


async def test_grpc_services_own_errors_keep_their_status_and_are_logged(
    server: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="labelwire"):
        async with grpc.aio.insecure_channel(server.target) as channel:
            exc = await failure(
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="nope"))
            )
    assert exc.code() == grpc.StatusCode.NOT_FOUND
    lines = [r for r in caplog.records if getattr(r, "duration_ms", None) is not None]
    assert [(r.status, r.caller, r.levelno) for r in lines] == [("NOT_FOUND", "none", logging.INFO)]  # type: ignore[attr-defined]


def _field(number: int, body: bytes) -> bytes:
    """A length-delimited protobuf field, encoded by hand: the Python
    runtime refuses to build messages nested this deep."""
    size, length = len(body), b""
    while True:
        byte, size = size & 0x7F, size >> 7
        length += bytes([byte | (0x80 if size else 0)])
        if not size:
            return bytes([number << 3 | 2]) + length + body


async def test_a_struct_nested_past_what_protobuf_decodes_is_invalid(lw: Client) -> None:
    job = await lw.create_job("J", classes=CLASSES)
    struct = b""
    for _ in range(150):
        struct = _field(1, _field(1, b"a") + _field(2, _field(5, struct)))
    item = _field(1, b"a") + _field(2, b"x") + _field(5, struct)
    raw = lw.channel.stream_unary(
        "/labelwire.v1.JobService/AddItems",
        request_serializer=lambda b: b,
        response_deserializer=job_service_pb2.AddItemsResponse.FromString,
    )

    async def messages() -> AsyncIterator[bytes]:
        yield _field(1, job.name.encode()) + _field(2, item)

    exc = await failure(raw(messages(), metadata=lw.metadata))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid labelwire.v1.AddItemsRequest" in (exc.details() or "")
    assert (await lw.get_job(job.name)).counters.total_items == 0


async def test_every_call_logs_one_line_and_returns_its_request_id(
    lw: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="labelwire"):
        call = lw.jobs.ListJobs(job_service_pb2.ListJobsRequest(), metadata=lw.metadata)
        await call
        trailing = dict(await call.trailing_metadata() or ())
    lines = [r for r in caplog.records if getattr(r, "duration_ms", None) is not None]
    assert len(lines) == 1
    line: Any = lines[0]
    assert (line.method, line.caller, line.status, line.levelno) == (
        "/labelwire.v1.JobService/ListJobs",
        "client",
        "OK",
        logging.DEBUG,
    )
    assert trailing["x-request-id"] == line.request_id


async def test_health_list_names_every_service(server: Harness) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        listed = await health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest())
    assert listed.statuses["labelwire.v1.JobService"].status == health_pb2.HealthCheckResponse.SERVING
    assert "" in listed.statuses


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_answers_as_v1_and_v1alpha(server: Harness, version: str) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol=f"grpc.reflection.{version}.ServerReflection"
            ),
        ]
        answers = [answer async for answer in call(iter(requests))]
    names = {s.name for s in answers[0].list_services_response.service}
    assert {"labelwire.v1.JobService", "grpc.reflection.v1.ServerReflection"} <= names
    assert answers[1].file_descriptor_response.file_descriptor_proto


async def test_streams_past_the_per_client_limit_are_resource_exhausted(tmp_path: Path) -> None:
    running = await start_server(
        address="127.0.0.1:0", database=str(tmp_path / "db"), admin_key=ADMIN_KEY, max_streams_per_client=2
    )
    try:
        harness = Harness(running=running, target=f"127.0.0.1:{running.port}", database="")
        lw, other = await harness.client("a"), await harness.client("b")
        job = await running_job(lw, items=1)
        other_job = await running_job(other, items=1)
        stub = label_service_pb2_grpc.LabelServiceStub(lw.channel)
        request = label_service_pb2.StreamLabelsRequest(job=job.name)
        open_calls = [stub.StreamLabels(request, metadata=lw.metadata) for _ in range(2)]
        await asyncio.sleep(0.5)
        third = stub.StreamLabels(request, metadata=lw.metadata)
        exc = await failure(third.read())
        assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "at most 2" in (exc.details() or "")
        other_stream = label_service_pb2_grpc.LabelServiceStub(other.channel).StreamLabels(
            label_service_pb2.StreamLabelsRequest(job=other_job.name, snapshot_only=True),
            metadata=other.metadata,
        )
        assert [m async for m in other_stream] == []
        open_calls[0].cancel()
        await asyncio.sleep(0.5)
        again = stub.StreamLabels(
            label_service_pb2.StreamLabelsRequest(job=job.name, snapshot_only=True), metadata=lw.metadata
        )
        assert [m async for m in again] == []
        open_calls[1].cancel()
        await lw.close()
        await other.close()
    finally:
        await running.stop(grace=None)


async def test_label_messages_and_pages_are_cut_by_size(server: Harness, lw: Client) -> None:
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0)
    blob = "m" * 60_000
    await lw.add_items(job.name, [text_item(f"i{n}", f"t{n}", metadata={"blob": blob}) for n in range(40)])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as worker:
        while (task := await worker.next_task()).HasField("task"):
            await worker.submit(task.task.name, classification("pos"))
    stub = label_service_pb2_grpc.LabelServiceStub(lw.channel)
    request = label_service_pb2.StreamLabelsRequest(job=job.name, snapshot_only=True)
    messages = [m async for m in stub.StreamLabels(request, metadata=lw.metadata)]
    assert sum(len(m.labels) for m in messages) == 40
    assert len(messages) >= 3 and all(m.ByteSize() <= 1024 * 1024 for m in messages)
    pages, token = [], ""
    while True:
        page = await lw.labels.ListLabels(
            label_service_pb2.ListLabelsRequest(job=job.name, page_size=10_000, page_token=token),
            metadata=lw.metadata,
        )
        pages.append(page)
        if not (token := page.next_page_token):
            break
    assert sorted(label.item_key for p in pages for label in p.labels) == sorted(f"i{n}" for n in range(40))
    assert len(pages) >= 2 and all(p.ByteSize() <= 4 * 1024 * 1024 for p in pages)


async def test_worker_service_rejects_a_malformed_task_for_every_call(server: Harness, lw: Client) -> None:
    job = await running_job(lw, items=1)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as worker:
        stub = worker_service_pb2_grpc.WorkerServiceStub(worker.channel)
        for call in (
            stub.ReleaseTask(
                worker_service_pb2.ReleaseTaskRequest(task="jobs/1/tasks/²"), metadata=worker.metadata
            ),
            stub.ExtendLease(
                worker_service_pb2.ExtendLeaseRequest(task="x/jobs/1/tasks/1"), metadata=worker.metadata
            ),
        ):
            exc = await failure(call)
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and violations(exc)[0][0] == "task"
