"""What the HTTP port offers beside the calls themselves, as the gRPC port
does: health checking, reflection (so `buf curl` needs no schema), Connect
GET for the methods marked free of side effects, and gRPC-Web's text mode."""

from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import quote

import httpx
import pytest
from grpc_health.v1 import health_pb2

from labelwire.server.telemetry import metrics
from labelwire.v1 import job_service_pb2
from tests.conftest import ADMIN_KEY
from tests.connect_client import CONNECT_BINARY, CONNECT_JSON, GRPC_WEB, WIRES
from tests.helpers import take
from tests.test_http_port import BUF, JOBS, ROOT, Ports, _envelope, _job_json, client_key, ports

__all__ = ["ports"]  # the fixture, shared with test_http_port.py
HEALTH = "/grpc.health.v1.Health"


@pytest.mark.parametrize("wire", WIRES, ids=lambda w: w.name)
async def test_health_check_answers_on_every_protocol_of_the_http_port(ports: Ports, wire: object) -> None:
    caller = ports.caller(wire, None)  # type: ignore[arg-type]
    whole = await caller.unary(f"{HEALTH}/Check", health_pb2.HealthCheckRequest())
    jobs = await caller.unary(
        f"{HEALTH}/Check", health_pb2.HealthCheckRequest(service="labelwire.v1.JobService")
    )
    assert whole.status == jobs.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_check_of_an_unknown_service_is_not_found_and_watch_streams(ports: Ports) -> None:
    async with httpx.AsyncClient() as http:
        unknown = await http.post(
            f"{ports.url}{HEALTH}/Check",
            json={"service": "labelwire.v1.NoSuchService"},
            headers={"Content-Type": "application/json"},
        )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    watch = ports.caller(CONNECT_BINARY, None).server_stream(
        f"{HEALTH}/Watch", health_pb2.HealthCheckRequest()
    )
    [first] = await take(watch, 1)
    assert first.status == health_pb2.HealthCheckResponse.SERVING


async def _buf(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        str(BUF),
        "curl",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_buf_curl_finds_the_schema_by_reflection_on_the_http_port(ports: Ports) -> None:
    key = await client_key(ports, CONNECT_JSON, "reflected")
    listed = await _buf("--list-services", ports.url)
    created = [
        json.loads(
            await _buf(
                *protocol,
                "-H",
                f"Authorization: Bearer {key}",
                "-d",
                json.dumps({"job": json.loads(_job_json())}),
                f"{ports.url}{JOBS}/CreateJob",
            )
        )
        for protocol in ([], ["--protocol", "grpcweb"], ["--protocol", "grpc", "--http2-prior-knowledge"])
    ]
    assert {"labelwire.v1.JobService", "grpc.health.v1.Health"} <= set(listed.split())
    assert [c["job"]["state"] for c in created] == ["JOB_STATE_DRAFT"] * 3


async def test_a_side_effect_free_method_answers_a_plain_http_get(ports: Ports) -> None:
    key = await client_key(ports, CONNECT_JSON, "getter")
    auth = {"Authorization": f"Bearer {key}"}
    job = json.loads(_job_json())
    async with httpx.AsyncClient(headers=auth) as http:
        created = (await http.post(f"{ports.url}{JOBS}/CreateJob", json={"job": job})).json()["job"]
        message = quote(json.dumps({"name": created["name"]}))
        got = await http.get(f"{ports.url}{JOBS}/GetJob?message={message}&encoding=json")
        binary = base64.urlsafe_b64encode(job_service_pb2.ListJobsRequest().SerializeToString()).decode()
        listed = await http.get(f"{ports.url}{JOBS}/ListJobs?message={binary}&base64=1&encoding=proto")
        unsafe = await http.get(
            f"{ports.url}{JOBS}/CreateJob?message={quote(json.dumps({'job': job}))}&encoding=json"
        )
        anonymous = await http.get(
            f"{ports.url}{JOBS}/GetJob?message={message}&encoding=json", headers={"Authorization": ""}
        )
        jobs = (await http.post(f"{ports.url}{JOBS}/ListJobs", json={})).json()["jobs"]
    assert got.status_code == 200 and got.json()["job"]["name"] == created["name"]
    assert listed.status_code == 200
    assert [j.name for j in job_service_pb2.ListJobsResponse.FromString(listed.content).jobs] == [
        created["name"]
    ]
    # A GET never creates anything: a method with side effects refuses it.
    assert unsafe.status_code == 405 and unsafe.headers["allow"] == "POST"
    assert len(jobs) == 1
    assert anonymous.json()["code"] == "unauthenticated"


def _text_frames(body: bytes) -> list[tuple[int, bytes]]:
    """The frames of a gRPC-Web text body: base64 segments, each padded."""
    data = b"".join(base64.b64decode(body[i : i + 4]) for i in range(0, len(body), 4))
    frames = []
    while data:
        length = int.from_bytes(data[1:5], "big")
        frames.append((data[0], data[5 : 5 + length]))
        data = data[5 + length :]
    return frames


async def test_grpc_web_text_mode_carries_calls_and_statuses_in_base64(ports: Ports) -> None:
    key = await client_key(ports, GRPC_WEB, "texter")
    path = f"{ports.url}{JOBS}/ListJobs"
    refused = metrics.RPC_REQUESTS.labels(f"{JOBS}/ListJobs", "UNAUTHENTICATED")
    before = refused._value.get()
    body = base64.b64encode(_envelope(job_service_pb2.ListJobsRequest(page_size=5)))
    headers = {
        "Content-Type": "application/grpc-web-text",
        "Accept": "application/grpc-web-text",
        "X-Grpc-Web": "1",
    }
    async with httpx.AsyncClient() as http:
        answered = await http.post(path, content=body, headers={**headers, "Authorization": f"Bearer {key}"})
        anonymous = await http.post(path, content=body, headers=headers)
    assert answered.status_code == 200
    assert answered.headers["content-type"].startswith("application/grpc-web-text")
    [(data_flag, message), (trailer_flag, trailer)] = _text_frames(answered.content)
    assert (data_flag, trailer_flag) == (0, 0x80)
    assert list(job_service_pb2.ListJobsResponse.FromString(message).jobs) == []
    assert b"grpc-status:0" in trailer.lower().replace(b" ", b"")
    statuses = anonymous.headers.get("grpc-status") or _text_frames(anonymous.content)[-1][1].decode()
    assert "16" in statuses  # UNAUTHENTICATED
    assert refused._value.get() == before + 1


async def test_an_admin_get_of_a_list_method_works_from_a_browser_url(ports: Ports) -> None:
    """The admin key reads every client's jobs with a GET, as `curl` would."""
    async with httpx.AsyncClient() as http:
        listed = await http.get(
            f"{ports.url}{JOBS}/ListJobs?message=%7B%7D&encoding=json",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
    assert listed.status_code == 200 and "jobs" not in listed.json()


async def test_grpc_web_text_streams_each_message_as_it_is_sent(ports: Ports) -> None:
    """A server stream in text mode: each message arrives decodable on its
    own, while the stream stays open (health Watch never ends by itself)."""
    body = base64.b64encode(_envelope(health_pb2.HealthCheckRequest()))
    headers = {"Content-Type": "application/grpc-web-text", "X-Grpc-Web": "1"}
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream("POST", f"{ports.url}{HEALTH}/Watch", content=body, headers=headers) as response,
    ):
        received = b""
        async for chunk in response.aiter_bytes():
            received += chunk
            if len(received) % 4 == 0 and _text_frames(received):
                break
    [(flag, message)] = _text_frames(received)
    assert flag == 0
    assert health_pb2.HealthCheckResponse.FromString(message).status == health_pb2.HealthCheckResponse.SERVING
