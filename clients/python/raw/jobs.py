"""The owner's JobService calls, mixed into `Client`."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence, Sized
from typing import Any

from google.protobuf import duration_pb2, field_mask_pb2
from tqdm.auto import tqdm

from labelwire.client.raw.channel import _duration, _each
from labelwire.v1 import (
    item_pb2,
    job_pb2,
    job_service_pb2,
    job_service_pb2_grpc,
    task_pb2,
)

ITEMS_PER_MESSAGE = 1000
_CLASS_LISTS = {"spans": "entity_types", "keypoints": "keypoints"}
"""Task types whose named choices are not called `classes` (number jobs have none)."""


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


class JobCalls:
    """The owner's calls on jobs, their items and their workers (JobService);
    needs `metadata` and a `jobs` stub from the client it is mixed into."""

    metadata: Any
    jobs: job_service_pb2_grpc.JobServiceAsyncStub

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
        model_routing: job_pb2.ModelRouting | None = None,
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
            target.SetInParent()
            if listed:
                getattr(target, _CLASS_LISTS.get(task_type, "classes")).extend(listed)
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
        if model_routing is not None and not spec.HasField("model_routing"):
            spec.model_routing.CopyFrom(model_routing)
        if consolidation_method and not spec.consolidation_method:
            spec.consolidation_method = job_pb2.ConsolidationMethod.ValueType(consolidation_method)
        response = await self.jobs.CreateJob(
            job_service_pb2.CreateJobRequest(job=spec), metadata=self.metadata
        )
        return response.job

    async def get_job(self, name: str) -> job_pb2.Job:
        response = await self.jobs.GetJob(job_service_pb2.GetJobRequest(name=name), metadata=self.metadata)
        return response.job

    async def watch_job(self, name: str) -> AsyncIterator[job_pb2.Job]:
        """The job now and after each change of its state or counters, until
        it ends; the stream's heartbeats are skipped."""
        request = job_service_pb2.WatchJobRequest(name=name)
        async for message in self.jobs.WatchJob(request, metadata=self.metadata):
            if message.HasField("job"):
                yield message.job

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

    async def requalify_worker(self, worker: str) -> task_pb2.WorkerStats:
        """Undoes a disqualification: the worker gets tasks of the job again
        (its excluded judgments stay excluded)."""
        response = await self.jobs.RequalifyWorker(
            job_service_pb2.RequalifyWorkerRequest(worker=worker), metadata=self.metadata
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

    async def get_item(self, job: str, item_key: str) -> job_service_pb2.GetItemResponse:
        """One item as its owner reads it: payload, metadata, gold, state,
        current label and the workers' comments on it."""
        return await self.jobs.GetItem(
            job_service_pb2.GetItemRequest(job=job, item_key=item_key), metadata=self.metadata
        )

    async def list_task_declines(self, job: str) -> list[job_service_pb2.ItemDecline]:
        """Every time the job's workers declined a task, with the item's key
        and the reason, newest first."""
        out: list[job_service_pb2.ItemDecline] = []
        token = ""
        while True:
            page = await self.jobs.ListTaskDeclines(
                job_service_pb2.ListTaskDeclinesRequest(job=job, page_token=token), metadata=self.metadata
            )
            out += page.declines
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
