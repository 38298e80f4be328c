"""The HTTP port: every service over Connect (JSON and binary, HTTP/1.1 and
HTTP/2) and gRPC-Web, beside the gRPC port of the same live server, with the
same auth, validation, statuses and error details."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from connectrpc.errors import ConnectError
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from labelwire.client.raw import classification, text_item
from labelwire.server.telemetry import metrics
from labelwire.server.transport.app import Running, start_server
from labelwire.v1 import (
    admin_service_pb2,
    job_pb2,
    job_service_pb2,
    job_service_pb2_grpc,
    label_service_pb2,
    worker_service_pb2,
)
from tests.conftest import ADMIN_KEY, Clock
from tests.connect_client import CONNECT_JSON, WIRES, Caller, Wire
from tests.helpers import CLASSES, drain, truth

ROOT = Path(__file__).resolve().parent.parent
BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"
JOBS = "/labelwire.v1.JobService"
LABELS = "/labelwire.v1.LabelService"
WORKERS = "/labelwire.v1.WorkerService"
ADMIN = "/labelwire.v1.AdminService"


@dataclass
class Ports:
    running: Running
    grpc_target: str
    url: str

    def caller(self, wire: Wire, token: str | None) -> Caller:
        return Caller(self.url, wire, token)


@pytest.fixture
async def ports(database: str, clock: Clock) -> AsyncIterator[Ports]:
    running = await start_server(
        address="127.0.0.1:0",
        database=database,
        admin_key=ADMIN_KEY,
        clock=clock,
        seed=0,
        http_address="127.0.0.1:0",
    )
    assert running.http is not None
    try:
        yield Ports(running, f"127.0.0.1:{running.port}", f"http://127.0.0.1:{running.http.port}")
    finally:
        await running.stop(grace=None)


def job_spec(judgments: int = 1) -> job_pb2.Job:
    return job_pb2.Job(
        display_name="Sentiment",
        media_type=job_pb2.MEDIA_TYPE_TEXT,
        task_config=job_pb2.TaskConfig(
            classification=job_pb2.ClassificationConfig(classes=[job_pb2.LabelClass(name=c) for c in CLASSES])
        ),
        judgment_policy=job_pb2.JudgmentPolicy(judgments_per_item=judgments),
        gold_policy=job_pb2.GoldPolicy(quiz_size=0),
    )


async def client_key(ports: Ports, wire: Wire, name: str) -> str:
    created = await ports.caller(wire, ADMIN_KEY).unary(
        f"{ADMIN}/CreateApiKey", admin_service_pb2.CreateApiKeyRequest(client_name=name)
    )
    return str(created.api_key)


async def work(worker: Caller, limit: int) -> int:
    done = 0
    while done < limit:
        offered = await worker.unary(f"{WORKERS}/NextTask", worker_service_pb2.NextTaskRequest())
        if not offered.HasField("task"):
            break
        await worker.unary(
            f"{WORKERS}/SubmitJudgment",
            worker_service_pb2.SubmitJudgmentRequest(
                task=offered.task.name, answer=classification(truth(offered.task.text))
            ),
        )
        done += 1
    return done


async def client_path(ports: Ports, wire: Wire) -> None:
    lw = ports.caller(wire, await client_key(ports, wire, wire.name))
    job = (await lw.unary(f"{JOBS}/CreateJob", job_service_pb2.CreateJobRequest(job=job_spec()))).job
    items = [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(4)]
    added = await lw.client_stream(
        f"{JOBS}/AddItems",
        [
            job_service_pb2.AddItemsRequest(job=job.name, items=items[:2], explicit_end=True),
            job_service_pb2.AddItemsRequest(items=items[2:], end=True),
        ],
    )
    assert (added.added_count, added.duplicate_count) == (4, 0), wire.name
    await lw.unary(f"{JOBS}/StartJob", job_service_pb2.StartJobRequest(name=job.name))
    worker = await lw.unary(
        f"{JOBS}/CreateWorker", job_service_pb2.CreateWorkerRequest(job=job.name, display_name="w")
    )
    w = lw.with_token(worker.token)
    assert await work(w, limit=2) == 2, wire.name

    def labels(after: int) -> AsyncIterator[Any]:
        request = label_service_pb2.StreamLabelsRequest(
            job=job.name, after_sequence=after, snapshot_only=True
        )
        return lw.server_stream(f"{LABELS}/StreamLabels", request)

    first = [lab for batch in await drain(labels(0)) for lab in batch.labels]
    assert await work(w, limit=10) == 2, wire.name
    rest = [lab for batch in await drain(labels(first[-1].sequence)) for lab in batch.labels]
    assert [lab.sequence for lab in first] == [1, 2], wire.name
    assert [lab.sequence for lab in rest] == [3, 4], wire.name
    assert sorted(lab.item_key for lab in first + rest) == ["i0", "i1", "i2", "i3"]
    for lab in first + rest:
        assert lab.value.classification.class_name == CLASSES[int(lab.item_key[1:]) % 3], wire.name
    done = (await lw.unary(f"{JOBS}/GetJob", job_service_pb2.GetJobRequest(name=job.name))).job
    assert done.state == job_pb2.JOB_STATE_COMPLETED and done.counters.labeled_items == 4, wire.name


async def test_client_path_runs_over_every_protocol_of_the_http_port_on_one_live_server(ports: Ports) -> None:
    for wire in WIRES:
        await client_path(ports, wire)


Outcome = tuple[str, str, list[tuple[str, str]]]


def grpc_outcome(exc: grpc.aio.AioRpcError) -> Outcome:
    status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    violations: list[tuple[str, str]] = []
    for detail in status.details if status else ():
        found = error_details_pb2.BadRequest()
        assert detail.Unpack(found)
        violations += [(v.field, v.description) for v in found.field_violations]
    return exc.code().name.lower(), exc.details() or "", violations


def connect_outcome(exc: ConnectError) -> Outcome:
    violations: list[tuple[str, str]] = []
    for detail in exc.details:
        assert detail.type_name == "google.rpc.BadRequest"
        found = error_details_pb2.BadRequest.FromString(detail.message_bytes)
        violations += [(v.field, v.description) for v in found.field_violations]
    return exc.code.value.replace("canceled", "cancelled"), exc.message, violations


async def test_refusals_are_identical_on_the_grpc_port_and_every_http_protocol(ports: Ports) -> None:
    key = await client_key(ports, CONNECT_JSON, "owner")
    other = await client_key(ports, CONNECT_JSON, "other")
    theirs = ports.caller(CONNECT_JSON, other)
    job = (await theirs.unary(f"{JOBS}/CreateJob", job_service_pb2.CreateJobRequest(job=job_spec()))).job
    bad_spec = job_spec(judgments=12)
    cases: list[tuple[str | None, str, Any]] = [
        (None, "ListJobs", job_service_pb2.ListJobsRequest()),
        ("not-a-key", "ListJobs", job_service_pb2.ListJobsRequest()),
        (key, "CreateJob", job_service_pb2.CreateJobRequest(job=bad_spec)),
        (key, "CreateJob", job_service_pb2.CreateJobRequest()),
        (key, "GetJob", job_service_pb2.GetJobRequest(name=job.name)),
        (key, "ListJobs", job_service_pb2.ListJobsRequest(page_size=-1)),
    ]
    channel = grpc.aio.insecure_channel(ports.grpc_target)
    stub = job_service_pb2_grpc.JobServiceStub(channel)
    outcomes: list[Outcome] = []
    try:
        for token, method, request in cases:
            metadata = () if token is None else (("authorization", f"Bearer {token}"),)
            try:
                await getattr(stub, method)(request, metadata=metadata)
                raise AssertionError(f"{method} must be refused")
            except grpc.aio.AioRpcError as exc:
                expected = grpc_outcome(exc)
            outcomes.append(expected)
            for wire in WIRES:
                try:
                    await ports.caller(wire, token).unary(f"{JOBS}/{method}", request)
                    raise AssertionError(f"{method} must be refused over {wire.name}")
                except ConnectError as exc:
                    assert connect_outcome(exc) == expected, (wire.name, method)
    finally:
        await channel.close()
    assert outcomes[2][0] == "invalid_argument" and "12" in outcomes[2][1]
    assert [f for f, _ in outcomes[2][2]] == ["job.judgment_policy.judgments_per_item"]
    assert [f for f, _ in outcomes[3][2]] == ["job"]
    assert [o[0] for o in outcomes] == [
        "unauthenticated",
        "unauthenticated",
        "invalid_argument",
        "invalid_argument",
        "not_found",
        "invalid_argument",
    ]


async def test_a_browser_fetch_of_a_connect_json_call_gets_cors_headers_only_when_allowed(
    tmp_path: Path,
) -> None:
    origin = "https://console.example.com"
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "cors.db"),
        admin_key=ADMIN_KEY,
        http_address="127.0.0.1:0",
        http_cors_origins=[origin],
    )
    assert running.http is not None
    url = f"http://127.0.0.1:{running.http.port}{ADMIN}/CreateApiKey"
    try:
        async with httpx.AsyncClient() as http:
            preflight = await http.options(
                url,
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type,connect-protocol-version",
                },
            )
            fetched = await http.post(
                url,
                content=json.dumps({"clientName": "browser"}),
                headers={
                    "Origin": origin,
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {ADMIN_KEY}",
                },
            )
            stranger = await http.post(
                url,
                content=b"{}",
                headers={"Origin": "https://evil.example", "Content-Type": "application/json"},
            )
            stranger_preflight = await http.options(
                url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
            )
    finally:
        await running.stop(grace=None)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "connect-protocol-version", "x-grpc-web"} <= allowed
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert fetched.status_code == 200 and fetched.json()["apiKey"].startswith("lwc_")
    assert fetched.headers["access-control-allow-origin"] == origin
    exposed = {h.strip().lower() for h in fetched.headers["access-control-expose-headers"].split(",")}
    assert {"grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"} <= exposed
    assert fetched.headers["x-request-id"]
    assert "access-control-allow-origin" not in stranger.headers and stranger.status_code == 401
    assert stranger_preflight.status_code == 400
    assert "access-control-allow-origin" not in stranger_preflight.headers


async def test_without_cors_origins_the_http_port_sends_no_cors_header(ports: Ports) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{ports.url}{ADMIN}/CreateApiKey",
            content=b'{"clientName": "x"}',
            headers={
                "Origin": "https://console.example.com",
                "Content-Type": "application/json",
                "Authorization": f"Bearer {ADMIN_KEY}",
            },
        )
        preflight = await http.options(
            f"{ports.url}{ADMIN}/CreateApiKey",
            headers={"Origin": "https://console.example.com", "Access-Control-Request-Method": "POST"},
        )
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]


async def test_http_calls_get_a_request_id_a_log_line_and_metrics(
    ports: Ports, caplog: pytest.LogCaptureFixture
) -> None:
    path = "/labelwire.v1.JobService/CreateJob"
    refused = metrics.RPC_REQUESTS.labels(path, "INVALID_ARGUMENT")
    before = refused._value.get()
    key = await client_key(ports, CONNECT_JSON, "logged")
    caplog.set_level(logging.DEBUG, logger="labelwire.calls")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{ports.url}{path}",
            content=b'{"job": {}}',
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        broken = await http.post(
            f"{ports.url}{path}",
            content=b'{"job": ',
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 400 and response.json()["code"] == "invalid_argument"
    assert broken.status_code == 400 and "CreateJobRequest" in broken.json()["message"]
    request_id = response.headers["x-request-id"]
    [record] = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert (record.method, record.status, record.caller) == (path, "INVALID_ARGUMENT", "client")  # type: ignore[attr-defined]
    # One interceptor logs and counts every call, so the request that does not decode
    # is counted too, as on the gRPC port.
    assert refused._value.get() == before + 2


async def test_buf_curl_reaches_the_server_with_connect_and_with_grpc_web(ports: Ports) -> None:
    key = await client_key(ports, CONNECT_JSON, "buf")
    outputs = []
    for protocol in ([], ["--protocol", "grpcweb"]):
        process = await asyncio.create_subprocess_exec(
            str(BUF),
            "curl",
            "--schema",
            str(ROOT / "proto"),
            *protocol,
            "-H",
            f"Authorization: Bearer {key}",
            "-d",
            json.dumps({"job": json.loads(_job_json())}),
            f"{ports.url}{JOBS}/CreateJob",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()
        outputs.append(json.loads(out))
    assert [o["job"]["state"] for o in outputs] == ["JOB_STATE_DRAFT", "JOB_STATE_DRAFT"]
    assert outputs[0]["job"]["name"] != outputs[1]["job"]["name"]


def _job_json() -> str:
    from google.protobuf import json_format

    return json_format.MessageToJson(job_spec())


async def test_a_browser_adds_a_batch_of_items_in_one_json_request_all_or_nothing(ports: Ports) -> None:
    key = await client_key(ports, CONNECT_JSON, "browser")
    lw = ports.caller(CONNECT_JSON, key)
    job = (await lw.unary(f"{JOBS}/CreateJob", job_service_pb2.CreateJobRequest(job=job_spec()))).job
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    url = f"{ports.url}{JOBS}/AddItemBatch"
    good = [{"key": f"k{n}", "text": "fine"} for n in range(3)]
    async with httpx.AsyncClient() as http:
        refused = await http.post(
            url, json={"job": job.name, "items": [*good, {"key": "", "text": "x"}]}, headers=headers
        )
        added = await http.post(url, json={"job": job.name, "items": good}, headers=headers)
        again = await http.post(url, json={"job": job.name, "items": good[:1]}, headers=headers)
        empty = await http.post(url, json={"job": job.name}, headers=headers)
    assert refused.status_code == 400, refused.text
    [violation] = error_details_pb2.BadRequest.FromString(
        base64.b64decode(refused.json()["details"][0]["value"] + "==")
    ).field_violations
    assert violation.field.startswith("items[3]")
    assert added.json() == {"addedCount": "3"}  # proto3 JSON leaves out zeros
    assert again.json() == {"duplicateCount": "1"}
    assert empty.status_code == 400 and "items must have at least 1 item" in empty.json()["message"]
    done = (await lw.unary(f"{JOBS}/GetJob", job_service_pb2.GetJobRequest(name=job.name))).job
    assert done.counters.total_items == 3


def _envelope(message: Any) -> bytes:
    data = message.SerializeToString()
    return b"\x00" + len(data).to_bytes(4, "big") + data


async def _raw_add_items(ports: Ports, key: str, job: str, *, whole: bool) -> bytes:
    """AddItems over HTTP/1.1 as a Connect streaming request, its body either
    whole or cut off (the client goes away before the end)."""
    body = _envelope(
        job_service_pb2.AddItemsRequest(job=job, items=[text_item("a", "x"), text_item("b", "y")])
    )
    length = len(body) if whole else len(body) + 1000
    host, port = ports.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST {JOBS}/AddItems HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/connect+proto\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {length}\r\n\r\n"
        ).encode()
        + body
    )
    await writer.drain()
    answer = b""
    if whole:
        answer = await asyncio.wait_for(reader.read(65536), 30)
    writer.close()
    await writer.wait_closed()
    return answer


async def test_an_add_items_stream_cut_off_over_http_adds_nothing(
    ports: Ports, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="labelwire.calls")
    key = await client_key(ports, CONNECT_JSON, "uploader")
    lw = ports.caller(CONNECT_JSON, key)
    job = (await lw.unary(f"{JOBS}/CreateJob", job_service_pb2.CreateJobRequest(job=job_spec()))).job
    await _raw_add_items(ports, key, job.name, whole=False)

    def ended() -> list[str]:
        return [
            getattr(r, "status", "") for r in caplog.records if getattr(r, "method", "") == f"{JOBS}/AddItems"
        ]

    for _ in range(600):  # a bound against a hang: the server ends the call once it sees the break
        if ended():
            break
        await asyncio.sleep(0.05)
    assert ended() == ["CANCELLED"]
    cut = (await lw.unary(f"{JOBS}/GetJob", job_service_pb2.GetJobRequest(name=job.name))).job
    answer = await _raw_add_items(ports, key, job.name, whole=True)
    whole = (await lw.unary(f"{JOBS}/GetJob", job_service_pb2.GetJobRequest(name=job.name))).job
    assert cut.counters.total_items == 0
    assert answer.startswith(b"HTTP/1.1 200") and whole.counters.total_items == 2
