"""Prometheus metrics as an operator scrapes them: a real `labelwire serve`
with `--metrics-address`, real calls, `/metrics` read over HTTP."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from botocore.exceptions import ClientError
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from labelwire.adapters.mturk.retry import MTurkRetrier
from labelwire.adapters.retry import Retrier
from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from tests.conftest import Harness
from tests.helpers import running_job, work
from tests.serve_process import Served, serve
from tests.test_job_consolidation import run_dawid_skene_job

ADMIN = "metrics-admin-key"
REFRESH_SECONDS = 20.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(served: Served) -> Samples:
    url = f"http://{served.start['metrics_address']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape_until(served: Served, name: str, **labels: str) -> Samples:
    """The per-job series change once a maintenance round (2 s): scrape until
    the wanted one shows, within a bound."""
    deadline = time.monotonic() + REFRESH_SECONDS
    while True:
        samples = await asyncio.to_thread(scrape, served)
        if value(samples, name, **labels) is not None or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.2)


async def test_metrics_count_calls_store_commits_and_job_progress(tmp_path: Path) -> None:
    with serve(tmp_path, "--admin-key", ADMIN, "--metrics-address", "127.0.0.1:0") as served:
        async with AdminClient(served.target, ADMIN) as admin:
            key = await admin.create_api_key("ml")
        async with Client(served.target, key) as lw:
            job = await lw.create_job("Sentiment", classes=["pos", "neg"], judgments_per_item=1, quiz_size=0)
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await lw.get_job("jobs/999")
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
            await lw.add_items(job.name, [text_item(f"i{n}", f"text {n}") for n in range(3)])
            await lw.start_job(job.name)
            _, token = await lw.create_worker(job.name, "w")
        async with WorkerClient(served.target, token) as worker:
            first = await worker.next_task()
            await worker.submit(first.task.name, classification("pos"))
            await worker.next_task()  # a second lease, left open

        job_labels = {"job": job.name, "state": "running"}
        samples = await scrape_until(served, "labelwire_job_judgments", **job_labels)
        assert served.stop() == 0

    create = "/labelwire.v1.JobService/CreateJob"
    assert value(samples, "labelwire_rpc_requests_total", method=create, code="OK") == 1.0
    assert (
        value(
            samples,
            "labelwire_rpc_requests_total",
            method="/labelwire.v1.JobService/GetJob",
            code="NOT_FOUND",
        )
        == 1.0
    )
    assert (
        value(samples, "labelwire_rpc_requests_total", method="/labelwire.v1.JobService/AddItems", code="OK")
        == 1.0
    )
    assert (
        value(
            samples, "labelwire_rpc_requests_total", method="/labelwire.v1.WorkerService/NextTask", code="OK"
        )
        == 2.0
    )
    assert value(samples, "labelwire_rpc_duration_seconds_count", method=create) == 1.0
    assert value(samples, "labelwire_rpc_duration_seconds_bucket", method=create, le="+Inf") == 1.0

    writer = {"thread": "labelwire-sqlite-writer"}
    commits = value(samples, "labelwire_store_commit_seconds_count", **writer)
    assert commits is not None and commits >= 6  # each write above committed
    grouped = value(samples, "labelwire_store_group_size_sum", **writer)
    assert grouped is not None and grouped >= commits

    assert value(samples, "labelwire_jobs", state="running") == 1.0
    assert value(samples, "labelwire_jobs_judgments", state="running") == 1.0
    assert value(samples, "labelwire_jobs_labeled_items", state="running") == 1.0
    assert value(samples, "labelwire_job_items", **job_labels, item_state="total") == 3.0
    assert value(samples, "labelwire_job_items", **job_labels, item_state="labeled") == 1.0
    assert value(samples, "labelwire_job_judgments", **job_labels) == 1.0
    assert value(samples, "labelwire_job_open_items", **job_labels) == 2.0
    assert value(samples, "labelwire_job_open_leases", **job_labels) == 1.0


async def test_job_series_follow_the_stores_counters_and_drop_ended_jobs(server: Harness) -> None:
    def job_value(name: str, job: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"job": job, "state": "running", **labels})

    lw = await server.client()
    job = await running_job(lw, items=4, judgments=2)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as worker:
        assert await work(worker, limit=3) == 3
        await worker.next_task()
    await server.running.core.refresh_metrics()
    assert job_value("labelwire_job_judgments", job.name) == 3.0
    assert job_value("labelwire_job_items", job.name, item_state="total") == 4.0
    assert job_value("labelwire_job_items", job.name, item_state="labeled") == 0.0
    assert job_value("labelwire_job_open_items", job.name) == 4.0
    assert job_value("labelwire_job_open_leases", job.name) == 1.0
    assert REGISTRY.get_sample_value("labelwire_jobs", {"state": "running"}) == 1.0

    await lw.cancel_job(job.name)
    await server.running.core.refresh_metrics()
    assert job_value("labelwire_job_judgments", job.name) is None
    assert REGISTRY.get_sample_value("labelwire_jobs", {"state": "cancelled"}) == 1.0
    assert REGISTRY.get_sample_value("labelwire_jobs_judgments", {"state": "cancelled"}) == 3.0
    await lw.close()


async def test_a_label_stream_the_client_drops_counts_as_cancelled(server: Harness) -> None:
    method = "/labelwire.v1.LabelService/StreamLabels"

    def streams(code: str) -> float:
        return (
            REGISTRY.get_sample_value("labelwire_rpc_requests_total", {"method": method, "code": code}) or 0.0
        )

    lw = await server.client()
    job = await running_job(lw, items=2)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as worker:
        assert await work(worker, limit=1) == 1
    cancelled, ok = streams("CANCELLED"), streams("OK")
    following = lw.stream_labels(job.name, reconnect=False)
    await anext(following)  # the first label: the server is in the call, waiting for the next
    await following.aclose()
    await lw.close()
    deadline = time.monotonic() + REFRESH_SECONDS
    while streams("CANCELLED") == cancelled and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert streams("CANCELLED") == cancelled + 1
    assert streams("OK") == ok


def test_metrics_refuse_a_public_address_unless_allowed(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "labelwire.server.cli.main", "serve", "--metrics-address", "0.0.0.0:0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "--metrics-address 0.0.0.0:0 is not a loopback address" in out.stderr
    assert "--metrics-allow-remote" in out.stderr
    assert not (tmp_path / "labelwire-data").exists()


def test_a_taken_metrics_port_stops_the_server_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "labelwire.server.cli.main",
                "serve",
                "--address",
                "127.0.0.1:0",
                "--metrics-address",
                address,
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    assert out.stderr.strip().endswith(f"cannot serve metrics on {address}: Address already in use")


async def test_consolidation_pass_time_is_observed_by_method(server: Harness) -> None:
    def passes() -> float:
        return (
            REGISTRY.get_sample_value("labelwire_consolidation_pass_seconds_count", {"method": "dawid_skene"})
            or 0.0
        )

    lw = await server.client()
    await run_dawid_skene_job(server, lw)
    before = passes()
    await server.running.core.maintain_once()
    # the server's own maintenance loop may run a pass of its own meanwhile
    assert passes() >= before + 1
    await lw.close()


def throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, operation)


def refused(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}}, operation)


async def no_sleep(_: float) -> None:
    return None


def adapter_sample(name: str, adapter: str, operation: str) -> float:
    return REGISTRY.get_sample_value(name, {"adapter": adapter, "operation": operation}) or 0.0


@pytest.mark.parametrize(
    ("retrier", "adapter"),
    [(Retrier(sleep=no_sleep, rng=random.Random(0)), "groundtruth"), (MTurkRetrier(sleep=no_sleep), "mturk")],
)
async def test_adapter_retries_and_errors_are_counted_by_adapter_and_operation(
    retrier: Retrier, adapter: str
) -> None:
    failures = [throttled("DescribeThing"), throttled("DescribeThing")]

    def describe_thing() -> str:
        if failures:
            raise failures.pop()
        return "done"

    def create_thing() -> str:
        raise refused("CreateThing")

    retries = adapter_sample("labelwire_adapter_retries_total", adapter, "describe_thing")
    errors = adapter_sample("labelwire_adapter_errors_total", adapter, "create_thing")
    assert await retrier.call(describe_thing) == "done"
    with pytest.raises(ClientError):
        await retrier.call(create_thing)
    assert adapter_sample("labelwire_adapter_retries_total", adapter, "describe_thing") == retries + 2
    assert adapter_sample("labelwire_adapter_errors_total", adapter, "create_thing") == errors + 1
