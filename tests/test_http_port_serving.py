"""The HTTP port as it is served: TLS with HTTP/2 by ALPN when a certificate is given,
`serve`'s flags for it, and long-lived label streams over it (the per-client limit,
a clean end when the server stops).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from connectrpc.errors import ConnectError

from labelwire.client.raw import text_item
from labelwire.server.transport.app import start_server
from labelwire.v1 import (
    job_service_pb2,
    label_service_pb2,
    label_service_pb2_grpc,
)
from tests.conftest import ADMIN_KEY
from tests.connect_client import CONNECT_BINARY, CONNECT_JSON
from tests.helpers import drain, take
from tests.serve_process import serve
from tests.test_http_port import ADMIN, JOBS, LABELS, Ports, client_key, job_spec, work
from tests.test_server_surface import self_signed


async def test_tls_on_the_http_port_when_a_certificate_is_given_with_http2_by_alpn(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "tls.db"),
        admin_key=ADMIN_KEY,
        tls_cert=cert,
        tls_key=key,
        http_address="127.0.0.1:0",
    )
    assert running.http is not None
    path = f"{ADMIN}/CreateApiKey"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        async with httpx.AsyncClient(
            verify=ssl.create_default_context(cafile=str(cert)), http2=True
        ) as https:
            secure = await https.post(
                f"https://localhost:{running.http.port}{path}", json={"clientName": "tls"}, headers=headers
            )
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.HTTPError):
                await http.post(f"http://127.0.0.1:{running.http.port}{path}", json={}, headers=headers)
    finally:
        await running.stop(grace=None)
    assert secure.status_code == 200 and secure.http_version == "HTTP/2"
    assert secure.json()["apiKey"].startswith("lwc_")


def test_serve_listens_on_the_http_port_unless_it_is_turned_off(tmp_path: Path) -> None:
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    with serve(tmp_path / "on", "--http-address", "127.0.0.1:0") as on:
        on.stop()
    with serve(tmp_path / "off", "--http-address", "") as off:
        off.stop()
    host, port = on.start["http_address"].split(":")
    assert host == "127.0.0.1" and int(port) > 0
    assert off.start["http_address"] is None


@pytest.mark.parametrize(
    "origin", ["console.example.com", "https://console.example.com/", "https://a.b/path"]
)
def test_serve_refuses_a_cors_origin_a_browser_would_never_send(tmp_path: Path, origin: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "labelwire.server.cli.main", "serve", "--http-cors-origin", origin],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--http-cors-origin" in done.stderr and repr(origin) in done.stderr


async def test_a_live_label_stream_over_http_counts_against_the_same_per_client_limit(
    tmp_path: Path,
) -> None:
    """One servicer behind both ports: a client with one stream open on the
    gRPC port may not open another on the HTTP port, and a live Connect
    stream delivers a label as soon as it is final."""
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "streams.db"),
        admin_key=ADMIN_KEY,
        http_address="127.0.0.1:0",
        max_streams_per_client=1,
    )
    assert running.http is not None
    ports = Ports(running, f"127.0.0.1:{running.port}", f"http://127.0.0.1:{running.http.port}")
    try:
        key = await client_key(ports, CONNECT_JSON, "streamer")
        lw = ports.caller(CONNECT_BINARY, key)
        job = (await lw.unary(f"{JOBS}/CreateJob", job_service_pb2.CreateJobRequest(job=job_spec()))).job
        await lw.unary(
            f"{JOBS}/AddItemBatch",
            job_service_pb2.AddItemBatchRequest(
                job=job.name, items=[text_item("i0", "truth:pos"), text_item("i1", "truth:neg")]
            ),
        )
        await lw.unary(f"{JOBS}/StartJob", job_service_pb2.StartJobRequest(name=job.name))
        live = lw.server_stream(f"{LABELS}/StreamLabels", label_service_pb2.StreamLabelsRequest(job=job.name))
        worker = await lw.unary(
            f"{JOBS}/CreateWorker", job_service_pb2.CreateWorkerRequest(job=job.name, display_name="w")
        )
        await work(lw.with_token(worker.token), limit=1)
        [first] = await take(live, 1)
        channel = grpc.aio.insecure_channel(ports.grpc_target)
        try:
            stub = label_service_pb2_grpc.LabelServiceStub(channel)
            second = stub.StreamLabels(
                label_service_pb2.StreamLabelsRequest(job=job.name),
                metadata=(("authorization", f"Bearer {key}"),),
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await second.read()
        finally:
            await channel.close()
            await live.aclose()  # type: ignore[attr-defined]
    finally:
        await running.stop(grace=None)
    assert [lab.item_key for lab in first.labels] == ["i0"]
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_stopping_ends_an_open_http_label_stream_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "stop.db"),
        admin_key=ADMIN_KEY,
        http_address="127.0.0.1:0",
    )
    assert running.http is not None
    ports = Ports(running, f"127.0.0.1:{running.port}", f"http://127.0.0.1:{running.http.port}")
    key = await client_key(ports, CONNECT_JSON, "stopper")
    lw = ports.caller(CONNECT_BINARY, key)
    job = (await lw.unary(f"{JOBS}/CreateJob", job_service_pb2.CreateJobRequest(job=job_spec()))).job
    caplog.set_level(logging.DEBUG, logger="labelwire.calls")
    live = lw.server_stream(f"{LABELS}/StreamLabels", label_service_pb2.StreamLabelsRequest(job=job.name))
    reading = asyncio.create_task(drain(live))
    for _ in range(600):  # until the server holds the stream open (a bound against a hang)
        if running.http._calls.tasks:
            break
        await asyncio.sleep(0.05)
    await running.stop(grace=None)
    with pytest.raises(ConnectError):
        await reading
    ended = [
        getattr(r, "status", "")
        for r in caplog.records
        if getattr(r, "method", "") == f"{LABELS}/StreamLabels"
    ]
    assert ended == ["CANCELLED"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
