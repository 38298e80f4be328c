"""Retries and reconnects against a real gRPC server on a real port whose
services fail the first calls: idempotent reads are retried by gRPC's retry
policy, a create never is, and the label stream resumes after the last label."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from labelwire.client import AsyncClient, Client, FailedPrecondition, ResourceExhausted, Unavailable, raw
from labelwire.client.aio import RETRY_POLICY, service_config
from labelwire.v1 import (
    job_pb2,
    job_service_pb2,
    job_service_pb2_grpc,
    label_pb2,
    label_service_pb2,
    label_service_pb2_grpc,
)


class FlakyJobs(job_service_pb2_grpc.JobServiceServicer):
    """GetJob fails `failures` times with `code`, then answers; CreateJob always drops."""

    def __init__(self) -> None:
        self.failures = 0
        self.code = grpc.StatusCode.UNAVAILABLE
        self.get_calls = 0
        self.create_calls = 0
        self.deadlines: list[float | None] = []

    def GetJob(
        self, request: job_service_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.GetJobResponse:
        self.get_calls += 1
        self.deadlines.append(context.time_remaining())
        if self.get_calls <= self.failures:
            context.abort(self.code, f"failing call {self.get_calls} of {self.failures}")
        job = job_pb2.Job(name=request.name, display_name="flaky", state=job_pb2.JOB_STATE_RUNNING)
        return job_service_pb2.GetJobResponse(job=job)

    def CreateJob(
        self, request: job_service_pb2.CreateJobRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.CreateJobResponse:
        self.create_calls += 1
        context.abort(grpc.StatusCode.UNAVAILABLE, "dropped after the job may have been made")


class FlakyLabels(label_service_pb2_grpc.LabelServiceServicer):
    """The first stream sends labels 1 and 2 then drops; the next one sends what follows `after_sequence`."""

    def __init__(self) -> None:
        self.afters: list[int] = []
        self.always_fail = False

    def StreamLabels(
        self, request: label_service_pb2.StreamLabelsRequest, context: grpc.ServicerContext
    ) -> Iterator[label_service_pb2.StreamLabelsResponse]:
        self.afters.append(request.after_sequence)
        if self.always_fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "down for good")
        for sequence in range(request.after_sequence + 1, 5):
            yield label_service_pb2.StreamLabelsResponse(
                labels=[label_pb2.Label(job=request.job, item_key=f"k{sequence}", sequence=sequence)]
            )
            if len(self.afters) == 1 and sequence == 2:
                context.abort(grpc.StatusCode.UNAVAILABLE, "server going away")


@pytest.fixture
def flaky() -> Iterator[tuple[str, FlakyJobs, FlakyLabels]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    jobs, labels = FlakyJobs(), FlakyLabels()
    job_service_pb2_grpc.add_JobServiceServicer_to_server(jobs, server)
    label_service_pb2_grpc.add_LabelServiceServicer_to_server(labels, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", jobs, labels
    finally:
        server.stop(None)


def test_an_idempotent_read_is_retried_through_unavailable(flaky: tuple[str, FlakyJobs, FlakyLabels]) -> None:
    target, jobs, _ = flaky
    jobs.failures = 2
    with Client(target, "lwc_1_key") as lw:
        assert lw.get_job("jobs/1").display_name == "flaky"
    assert jobs.get_calls == 3


def test_resource_exhausted_is_retried_too_until_the_attempts_run_out(
    flaky: tuple[str, FlakyJobs, FlakyLabels],
) -> None:
    target, jobs, _ = flaky
    jobs.failures, jobs.code = 2, grpc.StatusCode.RESOURCE_EXHAUSTED
    with Client(target, "lwc_1_key") as lw:
        assert lw.get_job("jobs/1").state == "running"
        jobs.get_calls, jobs.failures = 0, 100
        with pytest.raises(ResourceExhausted, match="failing call"):
            lw.get_job("jobs/1")
    assert jobs.get_calls == RETRY_POLICY["maxAttempts"]


def test_other_statuses_and_turned_off_retries_fail_at_once(
    flaky: tuple[str, FlakyJobs, FlakyLabels],
) -> None:
    target, jobs, _ = flaky
    jobs.failures, jobs.code = 1, grpc.StatusCode.FAILED_PRECONDITION
    with Client(target, "lwc_1_key") as lw, pytest.raises(FailedPrecondition):
        lw.get_job("jobs/1")
    assert jobs.get_calls == 1
    jobs.get_calls, jobs.failures, jobs.code = 0, 1, grpc.StatusCode.UNAVAILABLE
    with Client(target, "lwc_1_key", retries=False) as lw, pytest.raises(Unavailable):
        lw.get_job("jobs/1")
    assert jobs.get_calls == 1


async def test_a_create_is_never_retried_blindly(flaky: tuple[str, FlakyJobs, FlakyLabels]) -> None:
    target, jobs, _ = flaky
    async with AsyncClient(target, "lwc_1_key") as lw:
        with pytest.raises(Unavailable, match="dropped"):
            await lw.create_job("once", classes=["a", "b"])
    assert jobs.create_calls == 1


def test_stream_labels_reconnects_after_the_last_label(flaky: tuple[str, FlakyJobs, FlakyLabels]) -> None:
    target, _, labels = flaky
    with Client(target, "lwc_1_key") as lw:
        streamed = [(label.sequence, label.key) for label in lw.stream_labels("jobs/1")]
    assert streamed == [(1, "k1"), (2, "k2"), (3, "k3"), (4, "k4")]
    assert labels.afters == [0, 2]


async def test_async_stream_labels_reconnects_too(flaky: tuple[str, FlakyJobs, FlakyLabels]) -> None:
    target, _, labels = flaky
    async with AsyncClient(target, "lwc_1_key") as lw:
        streamed = [label.sequence async for label in lw.stream_labels("jobs/1", after=1)]
    assert streamed == [2, 3, 4] and labels.afters == [1, 2]


def test_every_call_carries_the_default_deadline_the_user_can_change(
    flaky: tuple[str, FlakyJobs, FlakyLabels],
) -> None:
    target, jobs, _ = flaky
    with Client(target, "lwc_1_key") as lw:
        lw.get_job("jobs/1")
        lw.timeout = 3
        lw.get_job("jobs/1")
        lw.timeout = None
        lw.get_job("jobs/1")
    first, changed, unlimited = jobs.deadlines
    # what the server sees of the deadline the call carried (the wire rounds it up a little)
    assert first is not None and 10 < first <= 31
    assert changed is not None and 0 < changed <= 4
    assert unlimited is None or unlimited > 1e6  # no deadline sent


def test_a_stream_that_never_comes_back_fails_after_its_reconnects(
    flaky: tuple[str, FlakyJobs, FlakyLabels], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, _, labels = flaky
    monkeypatch.setattr(raw.labels, "RECONNECT_FIRST_DELAY", 0.01)
    labels.always_fail = True
    # gRPC's own retries off, to count the SDK's reconnects alone
    with Client(target, "lwc_1_key", retries=False) as lw, pytest.raises(Unavailable, match="down for good"):
        list(lw.stream_labels("jobs/1"))
    assert len(labels.afters) == raw.MAX_RECONNECTS + 1


def test_the_retry_policy_covers_every_read_and_no_change() -> None:
    """Every method the .proto files mark NO_SIDE_EFFECTS is retried (ListJudgments
    and GetVerificationReport too); calls that change something are not."""
    [config] = json.loads(service_config())["methodConfig"]
    retried = {(n["service"].rsplit(".", 1)[1], n["method"]) for n in config["name"]}
    for read in [
        ("LabelService", "ListJudgments"),
        ("QualityService", "GetVerificationReport"),
        ("LabelService", "StreamLabels"),
        ("JobService", "GetJob"),
        ("WorkerService", "GetWorkerStats"),
    ]:
        assert read in retried, read
    for change in [
        ("JobService", "CreateJob"),
        ("JobService", "AddItems"),
        ("JobService", "UpdateJob"),
        ("JobService", "SetJobTeams"),
        ("WorkerService", "SubmitJudgment"),
        ("WorkerService", "NextTask"),
        ("TeamService", "DeleteWorkerAccount"),
        ("LabelService", "CorrectLabel"),
    ]:
        assert change not in retried, change
