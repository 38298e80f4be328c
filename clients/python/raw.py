"""The low-level async SDK: protobuf in, protobuf out, `grpc.RpcError` raised.

`labelwire.client` (the sync `Client` and `AsyncClient`, plain dataclasses, an
error hierarchy, retries) is built on it; this layer stays for code that wants
the messages themselves. It adds the bearer token, batches items into AddItems
messages, flattens the label stream and resumes it after a dropped connection
from the last sequence it handed out.

    async with Client("127.0.0.1:50051", api_key) as lw:
        job = await lw.create_job("Sentiment", classes=["positive", "negative"])
        await lw.add_items(job.name, [text_item("r1", "Great food")])
        await lw.start_job(job.name)
        async for label in lw.stream_labels(job.name):
            print(label.item_key, label.value.classification.class_name, label.confidence)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence, Sized
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf import duration_pb2, field_mask_pb2
from tqdm.auto import tqdm

from labelwire.client.teams import TeamCalls
from labelwire.v1 import (
    account_pb2,
    admin_service_pb2,
    admin_service_pb2_grpc,
    answer_pb2,
    item_pb2,
    job_pb2,
    job_service_pb2,
    job_service_pb2_grpc,
    judgment_pb2,
    label_pb2,
    label_service_pb2,
    label_service_pb2_grpc,
    quality_service_pb2,
    quality_service_pb2_grpc,
    task_pb2,
    team_service_pb2_grpc,
    worker_service_pb2,
    worker_service_pb2_grpc,
)

__all__ = [
    "AdminClient",
    "Client",
    "WorkerAccountClient",
    "WorkerClient",
    "classification",
    "multi_label",
    "source_item",
    "text_item",
]

T = TypeVar("T")

ITEMS_PER_MESSAGE = 1000
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# A label stream reconnects this many times in a row (backoff doubling from the
# first delay up to the cap, about 40 s in all: enough for a server restart)
# before the error reaches the caller; each label received starts the count again.
MAX_RECONNECTS = 8
RECONNECT_FIRST_DELAY = 0.5
RECONNECT_MAX_DELAY = 8.0


def classification(class_name: str) -> answer_pb2.Answer:
    return answer_pb2.Answer(classification=answer_pb2.ClassificationAnswer(class_name=class_name))


def multi_label(class_names: Iterable[str]) -> answer_pb2.Answer:
    return answer_pb2.Answer(multi_label=answer_pb2.MultiLabelAnswer(class_names=list(class_names)))


def _item(
    key: str,
    gold: str | answer_pb2.Answer | None,
    metadata: Mapping[str, Any] | None,
    gold_use: int = item_pb2.GOLD_USE_UNSPECIFIED,
) -> item_pb2.Item:
    item = item_pb2.Item(key=key)
    if gold is not None:
        item.gold_answer.CopyFrom(classification(gold) if isinstance(gold, str) else gold)
        item.gold_use = item_pb2.GoldUse.ValueType(gold_use)
    if metadata:
        item.metadata.update(dict(metadata))
    return item


def text_item(
    key: str,
    text: str,
    *,
    gold: str | answer_pb2.Answer | None = None,
    metadata: Mapping[str, Any] | None = None,
    gold_use: int = item_pb2.GOLD_USE_UNSPECIFIED,
) -> item_pb2.Item:
    """An inline-text item; `gold` (a class name or an Answer) makes it a test
    question, for the quiz or hidden gold as `gold_use` says (default: the
    server splits)."""
    item = _item(key, gold, metadata, gold_use)
    item.text = text
    return item


def source_item(
    key: str,
    uri: str,
    *,
    gold: str | answer_pb2.Answer | None = None,
    metadata: Mapping[str, Any] | None = None,
    gold_use: int = item_pb2.GOLD_USE_UNSPECIFIED,
) -> item_pb2.Item:
    """An item whose content is at a URI (an image, a document)."""
    item = _item(key, gold, metadata, gold_use)
    item.source_ref = uri
    return item


def _duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(int(seconds * 1e9))
    return out


async def _each(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


class _Progress:
    """Items sent so far: to a caller's callback, or to a tqdm bar (on stderr,
    or a widget in a notebook)."""

    def __init__(self, how: bool | Callable[[int, int | None], None], total: int | None) -> None:
        self._callback = how if callable(how) else None
        self._total = total
        self._done = 0
        self._bar: Any = None
        if how is True:
            self._bar = tqdm(total=total, unit=" items", desc="AddItems")

    def sent(self, count: int) -> None:
        self._done += count
        if self._callback is not None:
            self._callback(self._done, self._total)
        elif self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


ChannelOptions = Sequence[tuple[str, Any]]


class _Channel:
    """`options` and `interceptors` go to the grpc.aio channel as they are
    (the high-level client passes its retry policy and default deadline)."""

    def __init__(
        self,
        target: str,
        token: str,
        credentials: grpc.ChannelCredentials | None,
        options: ChannelOptions = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        self.metadata = (("authorization", f"Bearer {token}"),)
        settings = [("grpc.max_receive_message_length", 64 * 1024 * 1024), *options]
        self.channel = (
            grpc.aio.secure_channel(target, credentials, options=settings, interceptors=interceptors)
            if credentials
            else grpc.aio.insecure_channel(target, options=settings, interceptors=interceptors)
        )

    async def close(self) -> None:
        await self.channel.close(None)

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class Client(TeamCalls, _Channel):
    """For the service that owns jobs, and its worker accounts and teams
    (`TeamCalls`): needs a client API key."""

    def __init__(
        self,
        target: str,
        api_key: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: ChannelOptions = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        super().__init__(target, api_key, credentials, options, interceptors)
        self.jobs = job_service_pb2_grpc.JobServiceStub(self.channel)
        self.labels = label_service_pb2_grpc.LabelServiceStub(self.channel)
        self.quality = quality_service_pb2_grpc.QualityServiceStub(self.channel)
        self.team_service = team_service_pb2_grpc.TeamServiceStub(self.channel)

    async def create_job(
        self,
        display_name: str,
        *,
        classes: Sequence[str] | Mapping[str, str],
        task_type: str = "classification",
        judgments_per_item: int = 3,
        max_judgments_per_item: int = 0,
        target_confidence: float = 0.0,
        media_type: int = job_pb2.MEDIA_TYPE_TEXT,
        short_instructions: str = "",
        full_instructions: str = "",
        quiz_size: int | None = None,
        pass_accuracy: float | None = None,
        hidden_gold_share: float | None = None,
        max_gold_exposures: int | None = None,
        min_work_agreement: float | None = None,
        min_work_judgments: int | None = None,
        task_time_limit_seconds: int = 0,
        price_per_judgment_micros: int = 0,
        budget_micros: int = 0,
        workforce: str = "",
        workforce_settings: Mapping[str, Any] | None = None,
        consolidation_method: int = job_pb2.CONSOLIDATION_METHOD_UNSPECIFIED,
        teams: Sequence[str] = (),
        job: job_pb2.Job | None = None,
    ) -> job_pb2.Job:
        """Creates a job. The keyword arguments cover the common case; pass a
        full `job` message for everything else (its task config wins).
        `teams` (`teams/{t}`) are the teams whose worker accounts may work on it."""
        spec = job_pb2.Job()
        if job is not None:
            spec.CopyFrom(job)
        spec.display_name = spec.display_name or display_name
        if spec.task_config.WhichOneof("config") is None:
            described = classes.items() if isinstance(classes, Mapping) else ((c, "") for c in classes)
            listed = [job_pb2.LabelClass(name=n, description=d) for n, d in described]
            target = getattr(spec.task_config, task_type)
            (target.entity_types if task_type == "spans" else target.classes).extend(listed)
        if not spec.judgment_policy.judgments_per_item:
            spec.judgment_policy.judgments_per_item = judgments_per_item
            spec.judgment_policy.max_judgments_per_item = max_judgments_per_item
            spec.judgment_policy.target_confidence = target_confidence
        if not spec.media_type:
            spec.media_type = job_pb2.MediaType.ValueType(media_type)
        spec.instructions.short_instructions = spec.instructions.short_instructions or short_instructions
        spec.instructions.full_instructions = spec.instructions.full_instructions or full_instructions
        if quiz_size is not None:
            spec.gold_policy.quiz_size = quiz_size
        if pass_accuracy is not None:
            spec.gold_policy.pass_accuracy = pass_accuracy
        if hidden_gold_share is not None:
            spec.gold_policy.hidden_gold_share = hidden_gold_share
        if max_gold_exposures is not None:
            spec.gold_policy.max_gold_exposures = max_gold_exposures
        if min_work_agreement is not None:
            spec.gold_policy.min_work_agreement = min_work_agreement
        if min_work_judgments is not None:
            spec.gold_policy.min_work_judgments = min_work_judgments
        if task_time_limit_seconds:
            spec.task_time_limit.CopyFrom(duration_pb2.Duration(seconds=task_time_limit_seconds))
        spec.price_per_judgment_micros = spec.price_per_judgment_micros or price_per_judgment_micros
        spec.budget_micros = spec.budget_micros or budget_micros
        if workforce:
            spec.workforce.adapter = workforce
        if workforce_settings:
            spec.workforce.settings.update(dict(workforce_settings))
        spec.workforce.teams.extend(t for t in teams if t not in spec.workforce.teams)
        if consolidation_method and not spec.consolidation_method:
            spec.consolidation_method = job_pb2.ConsolidationMethod.ValueType(consolidation_method)
        response = await self.jobs.CreateJob(
            job_service_pb2.CreateJobRequest(job=spec), metadata=self.metadata
        )
        return response.job

    async def get_job(self, name: str) -> job_pb2.Job:
        response = await self.jobs.GetJob(job_service_pb2.GetJobRequest(name=name), metadata=self.metadata)
        return response.job

    async def list_jobs(self) -> AsyncIterator[job_pb2.Job]:
        token = ""
        while True:
            page = await self.jobs.ListJobs(
                job_service_pb2.ListJobsRequest(page_token=token), metadata=self.metadata
            )
            for job in page.jobs:
                yield job
            token = page.next_page_token
            if not token:
                return

    async def start_job(
        self, name: str, *, pilot_size: int = 0, pilot_seed: int | None = None
    ) -> job_pb2.Job:
        request = job_service_pb2.StartJobRequest(name=name, pilot_size=pilot_size, pilot_seed=pilot_seed)
        return (await self.jobs.StartJob(request, metadata=self.metadata)).job

    async def update_job(self, job: job_pb2.Job, paths: Sequence[str]) -> job_pb2.Job:
        """Changes the fields of `job` named in `paths` (a FieldMask); `job.name` names the job."""
        request = job_service_pb2.UpdateJobRequest(job=job, update_mask=field_mask_pb2.FieldMask(paths=paths))
        return (await self.jobs.UpdateJob(request, metadata=self.metadata)).job

    async def pause_job(self, name: str) -> job_pb2.Job:
        return (
            await self.jobs.PauseJob(job_service_pb2.PauseJobRequest(name=name), metadata=self.metadata)
        ).job

    async def resume_job(self, name: str) -> job_pb2.Job:
        return (
            await self.jobs.ResumeJob(job_service_pb2.ResumeJobRequest(name=name), metadata=self.metadata)
        ).job

    async def cancel_job(self, name: str) -> job_pb2.Job:
        return (
            await self.jobs.CancelJob(job_service_pb2.CancelJobRequest(name=name), metadata=self.metadata)
        ).job

    async def set_job_teams(self, job: str, teams: Sequence[str]) -> job_pb2.Job:
        """Replaces the teams whose worker accounts may work on a pool job;
        accounts that lose the job lose their leases on it at once."""
        return (
            await self.jobs.SetJobTeams(
                job_service_pb2.SetJobTeamsRequest(job=job, teams=list(teams)), metadata=self.metadata
            )
        ).job

    async def add_items(
        self,
        job: str,
        items: Iterable[item_pb2.Item] | AsyncIterable[item_pb2.Item],
        *,
        per_message: int = ITEMS_PER_MESSAGE,
        progress: bool | Callable[[int, int | None], None] = False,
        timeout: float | None = None,
    ) -> job_service_pb2.AddItemsResponse:
        """Streams items in messages of `per_message`; all or nothing. The
        final message says it is the last (`end`), so a stream cut anywhere
        before it adds nothing.

        `progress=True` shows a progress bar on stderr as items are sent
        (tqdm's when it is installed); a callable gets (items sent, total or
        None) after each message."""
        total = len(items) if isinstance(items, Sized) else None
        report = _Progress(progress, total)

        async def messages() -> AsyncIterator[job_service_pb2.AddItemsRequest]:
            batch = job_service_pb2.AddItemsRequest(job=job, explicit_end=True)
            async for item in _each(items):
                batch.items.append(item)
                if len(batch.items) >= per_message:
                    yield batch
                    report.sent(len(batch.items))
                    batch = job_service_pb2.AddItemsRequest()
            batch.end = True
            yield batch
            report.sent(len(batch.items))

        try:
            response: job_service_pb2.AddItemsResponse = await self.jobs.AddItems(
                messages(), metadata=self.metadata, timeout=timeout
            )
        finally:
            report.close()
        return response

    async def import_manifest(
        self, job: str, uri: str, *, key_field: str = "", gold_field: str = ""
    ) -> job_service_pb2.ImportManifestResponse:
        request = job_service_pb2.ImportManifestRequest(
            job=job, uri=uri, key_field=key_field, gold_field=gold_field
        )
        response: job_service_pb2.ImportManifestResponse = await self.jobs.ImportManifest(
            request, metadata=self.metadata
        )
        return response

    async def create_worker(
        self, job: str, display_name: str, *, token_ttl: float | None = None
    ) -> tuple[task_pb2.WorkerStats, str]:
        """A pool worker for the job, and its token (shown only now);
        `token_ttl` seconds makes the token expire."""
        request = job_service_pb2.CreateWorkerRequest(job=job, display_name=display_name)
        if token_ttl:
            request.token_ttl.CopyFrom(_duration(token_ttl))
        response = await self.jobs.CreateWorker(request, metadata=self.metadata)
        return response.worker, response.token

    async def revoke_worker_token(self, worker: str) -> task_pb2.WorkerStats:
        """Every token of the worker (`jobs/{j}/workers/{w}`) stops working."""
        response = await self.jobs.RevokeWorkerToken(
            job_service_pb2.RevokeWorkerTokenRequest(worker=worker), metadata=self.metadata
        )
        return response.worker

    async def disqualify_worker(self, worker: str) -> task_pb2.WorkerStats:
        """Disqualifies the worker (`jobs/{j}/workers/{w}`) by hand: no more
        tasks of the job, its judgments excluded and its items relabeled."""
        response = await self.jobs.DisqualifyWorker(
            job_service_pb2.DisqualifyWorkerRequest(worker=worker), metadata=self.metadata
        )
        return response.worker

    async def rotate_worker_token(
        self, worker: str, *, grace_period: float = 0.0, token_ttl: float | None = None
    ) -> str:
        """A new token for the worker; its other tokens work `grace_period` seconds more."""
        request = job_service_pb2.RotateWorkerTokenRequest(worker=worker)
        request.grace_period.CopyFrom(_duration(grace_period))
        if token_ttl:
            request.token_ttl.CopyFrom(_duration(token_ttl))
        response = await self.jobs.RotateWorkerToken(request, metadata=self.metadata)
        return response.token

    async def list_workers(self, job: str) -> list[task_pb2.WorkerStats]:
        out: list[task_pb2.WorkerStats] = []
        token = ""
        while True:
            page = await self.jobs.ListWorkers(
                job_service_pb2.ListWorkersRequest(job=job, page_token=token), metadata=self.metadata
            )
            out += page.workers
            token = page.next_page_token
            if not token:
                return out

    async def list_task_comments(self, job: str) -> list[task_pb2.TaskComment]:
        """Every comment the job's workers left on its tasks, newest first."""
        out: list[task_pb2.TaskComment] = []
        token = ""
        while True:
            page = await self.jobs.ListTaskComments(
                job_service_pb2.ListTaskCommentsRequest(job=job, page_token=token), metadata=self.metadata
            )
            out += page.comments
            token = page.next_page_token
            if not token:
                return out

    async def stream_labels(
        self, job: str, *, after_sequence: int = 0, snapshot_only: bool = False, reconnect: bool = True
    ) -> AsyncIterator[label_pb2.Label]:
        """Every label event after `after_sequence`, following the job until it
        ends. A dropped connection is resumed from the last label yielded, with
        backoff, up to `MAX_RECONNECTS` times in a row."""
        last = after_sequence
        failures = 0
        while True:
            request = label_service_pb2.StreamLabelsRequest(
                job=job, after_sequence=last, snapshot_only=snapshot_only
            )
            try:
                async for message in self.labels.StreamLabels(request, metadata=self.metadata):
                    for label in message.labels:
                        last = label.sequence
                        failures = 0
                        yield label
                return
            except grpc.aio.AioRpcError as exc:
                failures += 1
                if not reconnect or exc.code() not in RETRYABLE or failures > MAX_RECONNECTS:
                    raise
                await asyncio.sleep(min(RECONNECT_FIRST_DELAY * 2 ** (failures - 1), RECONNECT_MAX_DELAY))

    async def list_labels(self, job: str) -> AsyncIterator[label_pb2.Label]:
        token = ""
        while True:
            page = await self.labels.ListLabels(
                label_service_pb2.ListLabelsRequest(job=job, page_token=token), metadata=self.metadata
            )
            for label in page.labels:
                yield label
            token = page.next_page_token
            if not token:
                return

    async def correct_label(self, job: str, item_key: str, value: answer_pb2.Answer) -> label_pb2.Label:
        """Replaces a labeled item's label with your answer: its next revision
        in the feed (method `owner_correction`), kept by later passes."""
        response = await self.labels.CorrectLabel(
            label_service_pb2.CorrectLabelRequest(job=job, item_key=item_key, value=value),
            metadata=self.metadata,
        )
        return response.label

    async def list_judgments(
        self, job: str, *, item_key: str = "", worker: str = ""
    ) -> AsyncIterator[judgment_pb2.Judgment]:
        """Every raw judgment of the job in submission order, gold and excluded
        ones marked; `item_key` or `worker` narrow it."""
        token = ""
        while True:
            page = await self.labels.ListJudgments(
                label_service_pb2.ListJudgmentsRequest(
                    job=job, page_token=token, item_key=item_key, worker=worker
                ),
                metadata=self.metadata,
            )
            for judgment in page.judgments:
                yield judgment
            token = page.next_page_token
            if not token:
                return

    async def export_judgments(
        self, job: str, uri: str, *, ground_truth: bool = False, label_job_name: str = ""
    ) -> label_service_pb2.ExportJudgmentsResponse:
        """Every raw judgment written to `uri`: one JSON line per judgment, or with
        `ground_truth` one per item as Ground Truth hands answers to a consolidation Lambda."""
        form = (
            label_service_pb2.JUDGMENT_EXPORT_FORMAT_GROUND_TRUTH
            if ground_truth
            else label_service_pb2.JUDGMENT_EXPORT_FORMAT_JSON_LINES
        )
        response: label_service_pb2.ExportJudgmentsResponse = await self.labels.ExportJudgments(
            label_service_pb2.ExportJudgmentsRequest(
                job=job, uri=uri, format=form, label_job_name=label_job_name
            ),
            metadata=self.metadata,
        )
        return response

    async def export_labels(
        self, job: str, uri: str, *, label_job_name: str = ""
    ) -> label_service_pb2.ExportLabelsResponse:
        """Every item as a Ground Truth augmented manifest line, written to `uri`
        (a path in your folder under the server's files root, or an allowed s3:// URI)."""
        response: label_service_pb2.ExportLabelsResponse = await self.labels.ExportLabels(
            label_service_pb2.ExportLabelsRequest(job=job, uri=uri, label_job_name=label_job_name),
            metadata=self.metadata,
        )
        return response

    async def job_quality(self, job: str) -> quality_service_pb2.GetJobQualityResponse:
        """Agreement, cost and every worker's record."""
        response: quality_service_pb2.GetJobQualityResponse = await self.quality.GetJobQuality(
            quality_service_pb2.GetJobQualityRequest(job=job), metadata=self.metadata
        )
        return response

    async def calibration(
        self, job: str, *, buckets: int = 10, target_precision: float = 0.95
    ) -> quality_service_pb2.GetCalibrationResponse:
        """How far the model's pre-labels can be trusted, per class."""
        response: quality_service_pb2.GetCalibrationResponse = await self.quality.GetCalibration(
            quality_service_pb2.GetCalibrationRequest(
                job=job, buckets=buckets, target_precision=target_precision
            ),
            metadata=self.metadata,
        )
        return response

    async def reliability(self, job: str, *, bins: int = 10) -> quality_service_pb2.GetReliabilityResponse:
        """How often the job's labels are right at each stated confidence, on its gold."""
        response: quality_service_pb2.GetReliabilityResponse = await self.quality.GetReliability(
            quality_service_pb2.GetReliabilityRequest(job=job, bins=bins), metadata=self.metadata
        )
        return response

    async def verification_report(
        self,
        job: str,
        *,
        bucket_edges: Sequence[float] = (),
        split_counts_as_correct: bool = False,
        target_precision: float = 0.95,
        interval_level: float = 0.95,
    ) -> quality_service_pb2.GetVerificationReportResponse:
        """A verification job's bulk-QA table and per-class thresholds."""
        response: quality_service_pb2.GetVerificationReportResponse = (
            await self.quality.GetVerificationReport(
                quality_service_pb2.GetVerificationReportRequest(
                    job=job,
                    bucket_edges=list(bucket_edges),
                    split_counts_as_correct=split_counts_as_correct,
                    target_precision=target_precision,
                    interval_level=interval_level,
                ),
                metadata=self.metadata,
            )
        )
        return response


class WorkerClient(_Channel):
    """For an in-house worker (or the tool it uses) on one job: needs a worker
    token (`lww_…`), or a worker account's token (`lwa_…`) with the `job`
    to work on (`WorkerAccountClient.for_job` makes one)."""

    def __init__(
        self,
        target: str,
        token: str,
        *,
        job: str = "",
        credentials: grpc.ChannelCredentials | None = None,
        options: ChannelOptions = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        super().__init__(target, token, credentials, options, interceptors)
        self.job = job
        self.stub = worker_service_pb2_grpc.WorkerServiceStub(self.channel)

    async def instructions(self) -> worker_service_pb2.GetInstructionsResponse:
        response: worker_service_pb2.GetInstructionsResponse = await self.stub.GetInstructions(
            worker_service_pb2.GetInstructionsRequest(job=self.job), metadata=self.metadata
        )
        return response

    async def next_task(self) -> worker_service_pb2.NextTaskResponse:
        response: worker_service_pb2.NextTaskResponse = await self.stub.NextTask(
            worker_service_pb2.NextTaskRequest(job=self.job), metadata=self.metadata
        )
        return response

    async def submit(
        self,
        task: str,
        answer: answer_pb2.Answer,
        *,
        time_spent_seconds: float | None = None,
        want_next: bool = False,
    ) -> worker_service_pb2.SubmitJudgmentResponse:
        """With `want_next`, the response's `next` holds the next task (as
        `next_task()` would return it), leased in the same call."""
        request = worker_service_pb2.SubmitJudgmentRequest(task=task, answer=answer, want_next=want_next)
        if time_spent_seconds is not None:
            request.time_spent.FromNanoseconds(int(time_spent_seconds * 1e9))
        response: worker_service_pb2.SubmitJudgmentResponse = await self.stub.SubmitJudgment(
            request, metadata=self.metadata
        )
        return response

    async def release(self, task: str) -> None:
        await self.stub.ReleaseTask(worker_service_pb2.ReleaseTaskRequest(task=task), metadata=self.metadata)

    async def decline(self, task: str, reason: str = "") -> None:
        await self.stub.DeclineTask(
            worker_service_pb2.DeclineTaskRequest(task=task, reason=reason), metadata=self.metadata
        )

    async def comment(self, task: str, text: str) -> task_pb2.TaskComment:
        """A comment on one of this worker's tasks, for the job's owner."""
        response = await self.stub.CommentOnTask(
            worker_service_pb2.CommentOnTaskRequest(task=task, text=text), metadata=self.metadata
        )
        return response.comment

    async def extend(self, task: str, seconds: float | None = None) -> worker_service_pb2.ExtendLeaseResponse:
        request = worker_service_pb2.ExtendLeaseRequest(task=task)
        if seconds is not None:
            request.extension.FromNanoseconds(int(seconds * 1e9))
        response: worker_service_pb2.ExtendLeaseResponse = await self.stub.ExtendLease(
            request, metadata=self.metadata
        )
        return response

    async def stats(self) -> task_pb2.WorkerStats:
        response = await self.stub.GetWorkerStats(
            worker_service_pb2.GetWorkerStatsRequest(job=self.job), metadata=self.metadata
        )
        return response.stats


class WorkerAccountClient(_Channel):
    """For a worker who signs in with its account token (`lwa_…`): the jobs it
    may work on, its history, and a `WorkerClient` for each job.

        async with WorkerAccountClient(target, token) as me:
            for job in await me.list_jobs():
                async with me.for_job(job.job) as work:
                    task = await work.next_task()
    """

    def __init__(
        self, target: str, token: str, *, credentials: grpc.ChannelCredentials | None = None
    ) -> None:
        super().__init__(target, token, credentials)
        self._target = target
        self._token = token
        self._credentials = credentials
        self.stub = worker_service_pb2_grpc.WorkerServiceStub(self.channel)

    async def list_jobs(self) -> list[account_pb2.WorkerJob]:
        """Every job past its draft that names one of the account's teams,
        newest first, with the account's status on each."""
        out: list[account_pb2.WorkerJob] = []
        token = ""
        while True:
            page = await self.stub.ListWorkerJobs(
                worker_service_pb2.ListWorkerJobsRequest(page_token=token), metadata=self.metadata
            )
            out += page.jobs
            token = page.next_page_token
            if not token:
                return out

    async def history(self) -> worker_service_pb2.GetWorkerHistoryResponse:
        """The account's own record on every job (all pages in one response) and its totals."""
        merged = worker_service_pb2.GetWorkerHistoryResponse()
        token = ""
        while True:
            page = await self.stub.GetWorkerHistory(
                worker_service_pb2.GetWorkerHistoryRequest(page_token=token), metadata=self.metadata
            )
            merged.worker = page.worker
            merged.jobs.extend(page.jobs)
            merged.totals.CopyFrom(page.totals)
            token = page.next_page_token
            if not token:
                return merged

    def for_job(self, job: str) -> WorkerClient:
        """A worker client for one of the account's jobs (`jobs/{j}`), on its own connection."""
        return WorkerClient(self._target, self._token, job=job, credentials=self._credentials)


class AdminClient(_Channel):
    """For the operator: needs the server's admin key."""

    def __init__(
        self,
        target: str,
        admin_key: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: ChannelOptions = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        super().__init__(target, admin_key, credentials, options, interceptors)
        self.stub = admin_service_pb2_grpc.AdminServiceStub(self.channel)

    async def create_api_key(self, client_name: str, *, ttl: float | None = None) -> str:
        """A new client's API key (shown only now); `ttl` seconds makes it expire."""
        request = admin_service_pb2.CreateApiKeyRequest(client_name=client_name)
        if ttl:
            request.ttl.CopyFrom(_duration(ttl))
        response = await self.stub.CreateApiKey(request, metadata=self.metadata)
        return response.api_key

    async def list_api_keys(self, parent: str = "clients/-") -> list[admin_service_pb2.ApiKey]:
        """The keys of one client (`clients/{c}`) or of every client, without secrets."""
        out: list[admin_service_pb2.ApiKey] = []
        token = ""
        while True:
            page = await self.stub.ListApiKeys(
                admin_service_pb2.ListApiKeysRequest(parent=parent, page_token=token), metadata=self.metadata
            )
            out += page.api_keys
            token = page.next_page_token
            if not token:
                return out

    async def revoke_api_key(self, name: str) -> admin_service_pb2.ApiKey:
        response = await self.stub.RevokeApiKey(
            admin_service_pb2.RevokeApiKeyRequest(name=name), metadata=self.metadata
        )
        return response.api_key

    async def rotate_api_key(
        self, name: str, *, grace_period: float = 0.0, ttl: float | None = None
    ) -> admin_service_pb2.RotateApiKeyResponse:
        """A new key for the key's client (`.secret`, shown only now); the old
        one works `grace_period` seconds more."""
        request = admin_service_pb2.RotateApiKeyRequest(name=name)
        request.grace_period.CopyFrom(_duration(grace_period))
        if ttl:
            request.ttl.CopyFrom(_duration(ttl))
        response: admin_service_pb2.RotateApiKeyResponse = await self.stub.RotateApiKey(
            request, metadata=self.metadata
        )
        return response

    async def create_adapter_key(
        self, adapter_name: str, *, ttl: float | None = None
    ) -> admin_service_pb2.CreateAdapterKeyResponse:
        """A key for a workforce adapter in its own process (`.adapter_key`,
        shown only now); it serves the `remote` jobs naming `adapter_name`."""
        request = admin_service_pb2.CreateAdapterKeyRequest(adapter_name=adapter_name)
        if ttl:
            request.ttl.CopyFrom(_duration(ttl))
        response: admin_service_pb2.CreateAdapterKeyResponse = await self.stub.CreateAdapterKey(
            request, metadata=self.metadata
        )
        return response

    async def revoke_adapter_key(self, name: str) -> None:
        await self.stub.RevokeAdapterKey(
            admin_service_pb2.RevokeAdapterKeyRequest(name=name), metadata=self.metadata
        )
