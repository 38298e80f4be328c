"""The async clients: the one definition of the SDK's calls.

`AsyncClient`, `AsyncWorkerClient` and `AsyncAdminClient` hold the logic;
the blocking `Client`, `WorkerClient` and `AdminClient` (`labelwire.client.sync`)
are generated from them by `scripts/gen_sync_client.py`, so the two cannot
drift (a test fails when the generated file is stale).

Each call has a deadline (`timeout`, 30 s unless changed; streams have none),
raises a `labelwire.client.errors.LabelwireError`, and the idempotent reads are
retried by gRPC itself on UNAVAILABLE and RESOURCE_EXHAUSTED with exponential
backoff (the channel's service config): a create or a submit is never retried
blindly, since the first attempt may have landed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, ParamSpec, Self, TypeVar

import grpc
from tqdm.auto import tqdm

from labelwire.client import raw
from labelwire.client.errors import from_rpc_error
from labelwire.client.items import ItemSource, items_from
from labelwire.client.items import answer as to_answer
from labelwire.client.models import Added, ApiKey, Job, Judgment, Label, Task, Team, Worker, WorkerAccount
from labelwire.client.pages import AsyncPages
from labelwire.v1 import (
    answer_pb2,
    job_pb2,
    label_service_pb2,
    quality_service_pb2,
    team_service_pb2,
    worker_service_pb2,
)

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_TIMEOUT",
    "IDEMPOTENT_METHODS",
    "AsyncAdminClient",
    "AsyncClient",
    "AsyncWorkerClient",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0

# Calls that change nothing, or change it to the same end whatever the
# attempts: only these may be retried without the caller knowing.
IDEMPOTENT_METHODS: dict[str, tuple[str, ...]] = {
    "labelwire.v1.JobService": ("GetJob", "ListJobs", "ListWorkers"),
    "labelwire.v1.LabelService": ("ListLabels", "StreamLabels"),
    "labelwire.v1.QualityService": ("GetJobQuality", "GetCalibration", "GetReliability"),
    "labelwire.v1.WorkerService": ("GetInstructions", "GetWorkerStats", "ListWorkerJobs", "GetWorkerHistory"),
    "labelwire.v1.AdminService": ("ListApiKeys",),
    "labelwire.v1.TeamService": (
        "GetWorkerAccount",
        "ListWorkerAccounts",
        "GetWorkerAccountHistory",
        "GetTeam",
        "ListTeams",
    ),
}

RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.2s",
    "maxBackoff": "5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
}


def service_config() -> str:
    """The channel's service config: the retry policy on the idempotent methods alone."""
    names = [{"service": s, "method": m} for s, methods in IDEMPOTENT_METHODS.items() for m in methods]
    return json.dumps({"methodConfig": [{"name": names, "retryPolicy": RETRY_POLICY}]})


def _translated(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """The call, raising the SDK's exceptions instead of grpc's."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc

    return call


async def _translated_stream(source: AsyncIterator[T]) -> AsyncIterator[T]:
    try:
        async for item in source:
            yield item
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from exc


class _DefaultDeadline(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc, type-arg]
    """Gives each unary call the client's current `timeout` unless it has its own."""

    def __init__(self, owner: _Base) -> None:
        self._owner = owner

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        if client_call_details.timeout is None and self._owner.timeout is not None:
            client_call_details = client_call_details._replace(timeout=self._owner.timeout)
        return await continuation(client_call_details, request)


def _name(thing: Any) -> str:
    return thing if isinstance(thing, str) else str(thing.name)


class _Base:
    """Connection settings shared by the three clients."""

    _env_key: ClassVar[str] = "LABELWIRE_API_KEY"

    def __init__(
        self,
        address: str,
        tls: bool,
        root_certificates: bytes | None,
        credentials: grpc.ChannelCredentials | None,
        timeout: float | None,
        retries: bool,
    ) -> None:
        self.address = address
        self.timeout = timeout
        if credentials is None and (tls or root_certificates):
            credentials = grpc.ssl_channel_credentials(root_certificates)
        self._channel: dict[str, Any] = {
            "credentials": credentials,
            "options": [("grpc.enable_retries", 1), ("grpc.service_config", service_config())]
            if retries
            else [("grpc.enable_retries", 0)],
            "interceptors": [_DefaultDeadline(self)],
        }
        self._raw: raw._Channel

    @classmethod
    def _from_environment(cls) -> tuple[str, str]:
        key = os.environ.get(cls._env_key, "")
        if not key:
            raise ValueError(f"{cls._env_key} is not set")
        return os.environ.get("LABELWIRE_ADDRESS") or DEFAULT_ADDRESS, key

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """A client for `LABELWIRE_ADDRESS` (default 127.0.0.1:50051) with the key in
        the environment (`LABELWIRE_API_KEY`; `LABELWIRE_WORKER_TOKEN` for a worker,
        `LABELWIRE_ADMIN_KEY` for the admin); `LABELWIRE_TLS=1` turns TLS on."""
        address, key = cls._from_environment()
        options.setdefault("tls", os.environ.get("LABELWIRE_TLS", "") in ("1", "true", "yes"))
        # Each subclass takes (address, key, **options); this base's own signature is internal.
        return cls(address, key, **options)  # type: ignore[arg-type]

    async def close(self) -> None:
        """Closes the connection; calls in flight are cancelled."""
        await self._raw.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AsyncClient(_Base):
    """For the service that owns jobs: needs a client API key.

    async with AsyncClient.from_env() as lw:
        job = await lw.create_job("cats", classes=["cat", "dog"], judgments=3)
    """

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        api_key: str = "",
        *,
        tls: bool = False,
        root_certificates: bytes | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: bool = True,
    ) -> None:
        """`tls` (or `root_certificates`, PEM) for a server with TLS; `timeout` is each
        unary call's deadline in seconds (None: none); `retries=False` turns gRPC's
        retries of idempotent calls off."""
        super().__init__(address, tls, root_certificates, credentials, timeout, retries)
        self._raw = self.raw = raw.Client(address, api_key, **self._channel)

    @_translated
    async def create_job(
        self,
        display_name: str,
        *,
        classes: Sequence[str] | Mapping[str, str],
        judgments: int = 3,
        task_type: str = "classification",
        max_judgments: int = 0,
        target_confidence: float = 0.0,
        media: str = "text",
        instructions: str = "",
        full_instructions: str = "",
        quiz_size: int | None = None,
        pass_accuracy: float | None = None,
        hidden_gold_share: float | None = None,
        price_per_judgment_micros: int = 0,
        budget_micros: int = 0,
        workforce: str = "",
        workforce_settings: Mapping[str, Any] | None = None,
        teams: Sequence[str] = (),
        consolidation: str = "",
        job: job_pb2.Job | None = None,
    ) -> Job:
        """A new job in the draft state, ready for items.

        `classes` are the class names (or a mapping of name to description);
        `judgments` the judgments each item gets, up to `max_judgments` while
        the label's confidence is below `target_confidence`. `media` is text,
        image, document, audio or video; `consolidation` a method such as
        majority_vote or dawid_skene (the server's default when empty).
        `quiz_size`, `pass_accuracy` and `hidden_gold_share` set the gold
        policy. Anything else: pass a full `job` message, whose fields win."""
        method = (
            job_pb2.ConsolidationMethod.Value(f"CONSOLIDATION_METHOD_{consolidation.upper()}")
            if consolidation
            else 0
        )
        created = await self.raw.create_job(
            display_name,
            classes=classes,
            task_type=task_type,
            judgments_per_item=judgments,
            max_judgments_per_item=max_judgments,
            target_confidence=target_confidence,
            media_type=job_pb2.MediaType.Value(f"MEDIA_TYPE_{media.upper()}"),
            short_instructions=instructions,
            full_instructions=full_instructions,
            quiz_size=quiz_size,
            pass_accuracy=pass_accuracy,
            hidden_gold_share=hidden_gold_share,
            price_per_judgment_micros=price_per_judgment_micros,
            budget_micros=budget_micros,
            workforce=workforce,
            workforce_settings=workforce_settings,
            consolidation_method=method,
            teams=teams,
            job=job,
        )
        return Job.from_proto(created)

    @_translated
    async def get_job(self, job: Job | str) -> Job:
        """The job as it is now (its state and counters)."""
        return Job.from_proto(await self.raw.get_job(_name(job)))

    def jobs(self) -> AsyncPages[Job]:
        """Your jobs, newest first, fetched page by page."""
        return AsyncPages(
            lambda: _translated_stream(_mapped(self.raw.list_jobs(), Job.from_proto)),
            Job.row,
            ("name", "display_name", "state", "total_items", "labeled_items", "cost_micros"),
        )

    @_translated
    async def start_job(self, job: Job | str, *, pilot_size: int = 0, pilot_seed: int | None = None) -> Job:
        """Opens the job to workers; items can still be added. With
        `pilot_size`, only a random sample of that many items (drawn with
        `pilot_seed`, by default the job's id) is dispatched; the job then
        pauses itself (`state_reason` "pilot complete") until `resume_job`."""
        return Job.from_proto(
            await self.raw.start_job(_name(job), pilot_size=pilot_size, pilot_seed=pilot_seed)
        )

    @_translated
    async def update_job(
        self,
        job: Job | str,
        *,
        display_name: str | None = None,
        short_instructions: str | None = None,
        full_instructions: str | None = None,
        class_descriptions: Mapping[str, str] | None = None,
        pass_accuracy: float | None = None,
        hidden_gold_share: float | None = None,
        judgments_per_item: int | None = None,
        price_per_judgment_micros: int | None = None,
        budget_micros: int | None = None,
    ) -> Job:
        """Changes the settings given, and only those (UpdateJob's field
        mask). A change of the instructions or the classes' descriptions
        makes a new `instructions_version`."""
        name = _name(job)
        change = job_pb2.Job(name=name)
        paths: list[str] = []
        if display_name is not None:
            change.display_name = display_name
            paths.append("display_name")
        if short_instructions is not None:
            change.instructions.short_instructions = short_instructions
            paths.append("instructions.short_instructions")
        if full_instructions is not None:
            change.instructions.full_instructions = full_instructions
            paths.append("instructions.full_instructions")
        if class_descriptions is not None:
            current = await self.raw.get_job(name)
            change.task_config.CopyFrom(current.task_config)
            kind = change.task_config.WhichOneof("config") or ""
            config: Any = getattr(change.task_config, kind)
            for label_class in config.entity_types if kind == "spans" else config.classes:
                label_class.description = class_descriptions.get(label_class.name, label_class.description)
            paths.append("task_config")
        if pass_accuracy is not None:
            change.gold_policy.pass_accuracy = pass_accuracy
            paths.append("gold_policy.pass_accuracy")
        if hidden_gold_share is not None:
            change.gold_policy.hidden_gold_share = hidden_gold_share
            paths.append("gold_policy.hidden_gold_share")
        if judgments_per_item is not None:
            change.judgment_policy.judgments_per_item = judgments_per_item
            paths.append("judgment_policy.judgments_per_item")
        if price_per_judgment_micros is not None:
            change.price_per_judgment_micros = price_per_judgment_micros
            paths.append("price_per_judgment_micros")
        if budget_micros is not None:
            change.budget_micros = budget_micros
            paths.append("budget_micros")
        return Job.from_proto(await self.raw.update_job(change, paths))

    @_translated
    async def pause_job(self, job: Job | str) -> Job:
        """Stops handing out tasks; leased tasks may still be submitted."""
        return Job.from_proto(await self.raw.pause_job(_name(job)))

    @_translated
    async def resume_job(self, job: Job | str) -> Job:
        """Hands out tasks again after `pause_job`."""
        return Job.from_proto(await self.raw.resume_job(_name(job)))

    @_translated
    async def cancel_job(self, job: Job | str) -> Job:
        """Ends the job for good; its labels so far stay readable."""
        return Job.from_proto(await self.raw.cancel_job(_name(job)))

    @_translated
    async def add_items(
        self,
        job: Job | str,
        items: ItemSource,
        *,
        progress: bool = False,
        per_message: int = 1000,
        timeout: float | None = None,
    ) -> Added:
        """Adds items, all or nothing: a list of dicts (`key`, `text` or `source_ref`,
        `gold`, other keys as metadata; see `labelwire.client.items`), a pandas
        DataFrame with those columns, a .csv or .jsonl path, or Item messages.
        `progress=True` shows a tqdm bar. The upload has no deadline unless `timeout`."""
        listed, _ = items_from(items)
        response = await self.raw.add_items(
            _name(job), listed, per_message=per_message, progress=progress, timeout=timeout
        )
        return Added.from_proto(response)

    @_translated
    async def import_manifest(
        self, job: Job | str, uri: str, *, key_field: str = "", gold_field: str = ""
    ) -> Added:
        """Adds the items of a JSON Lines manifest the server reads (a path under
        its files root, or an allowed s3:// URI)."""
        response = await self.raw.import_manifest(_name(job), uri, key_field=key_field, gold_field=gold_field)
        return Added.from_proto(response)

    @_translated
    async def create_worker(
        self, job: Job | str, display_name: str, *, token_ttl: float | None = None
    ) -> tuple[Worker, str]:
        """A pool worker for the job and its token (shown only now; hand it to the
        person). `token_ttl` seconds makes the token expire."""
        worker, token = await self.raw.create_worker(_name(job), display_name, token_ttl=token_ttl)
        return Worker.from_proto(worker), token

    def workers(self, job: Job | str) -> AsyncPages[Worker]:
        """The job's workers and their records, fetched page by page."""

        async def each() -> AsyncIterator[Worker]:
            for worker in await self.raw.list_workers(_name(job)):
                yield Worker.from_proto(worker)

        return AsyncPages(
            lambda: _translated_stream(each()),
            lambda w: {
                "name": w.name,
                "display_name": w.display_name,
                "status": w.status,
                "judgments": w.judgments,
                "gold_answered": w.gold_answered,
                "gold_correct": w.gold_correct,
            },
            ("name", "display_name", "status", "judgments", "gold_answered", "gold_correct"),
        )

    @_translated
    async def revoke_worker_token(self, worker: Worker | str) -> Worker:
        """Every token of the worker (`jobs/{j}/workers/{w}`) stops working at once."""
        return Worker.from_proto(await self.raw.revoke_worker_token(_name(worker)))

    @_translated
    async def disqualify_worker(self, worker: Worker | str) -> Worker:
        """Disqualifies the worker (`jobs/{j}/workers/{w}`) by hand: it gets no
        more tasks of the job, its judgments are dropped and its items judged again."""
        return Worker.from_proto(await self.raw.disqualify_worker(_name(worker)))

    @_translated
    async def rotate_worker_token(
        self, worker: Worker | str, *, grace_period: float = 0.0, token_ttl: float | None = None
    ) -> str:
        """A new token for the worker; its old ones work `grace_period` seconds more."""
        return await self.raw.rotate_worker_token(
            _name(worker), grace_period=grace_period, token_ttl=token_ttl
        )

    def labels(self, job: Job | str) -> AsyncPages[Label]:
        """The job's labels as they are now (one per labeled item), page by page;
        `.to_pandas()` gives one row per label."""
        return AsyncPages(
            lambda: _translated_stream(_mapped(self.raw.list_labels(_name(job)), Label.from_proto)),
            Label.row,
            LABEL_COLUMNS,
        )

    async def stream_labels(
        self, job: Job | str, *, after: int = 0, snapshot_only: bool = False
    ) -> AsyncIterator[Label]:
        """Every label event after sequence `after`, following the job until it
        ends (or, with `snapshot_only`, until the labels so far are sent). A
        dropped connection (UNAVAILABLE) is resumed after the last label yielded,
        so nothing is lost or repeated; pass the last `sequence` you kept as
        `after` to resume in a later run."""
        source = self.raw.stream_labels(_name(job), after_sequence=after, snapshot_only=snapshot_only)
        async for label in _translated_stream(source):
            yield Label.from_proto(label)

    def judgments(self, job: Job | str, *, key: str = "", worker: Worker | str = "") -> AsyncPages[Judgment]:
        """Every worker's raw answer, in submission order (gold and excluded ones
        marked), page by page; `key` or `worker` narrow it. `.to_pandas()` gives one
        row per judgment, ready for crowd-kit or an offline rerun of consolidation."""
        return AsyncPages(
            lambda: _translated_stream(
                _mapped(
                    self.raw.list_judgments(_name(job), item_key=key, worker=_name(worker) if worker else ""),
                    Judgment.from_proto,
                )
            ),
            Judgment.row,
            JUDGMENT_COLUMNS,
        )

    @_translated
    async def export_judgments(
        self, job: Job | str, uri: str, *, ground_truth: bool = False, label_job_name: str = ""
    ) -> label_service_pb2.ExportJudgmentsResponse:
        """Writes every raw judgment to `uri` (as `export_labels`): one JSON line per
        judgment, or with `ground_truth` one line per item in the form Ground Truth hands
        answers to an annotation-consolidation Lambda."""
        return await self.raw.export_judgments(
            _name(job), uri, ground_truth=ground_truth, label_job_name=label_job_name
        )

    @_translated
    async def correct_label(
        self,
        job: Job | str,
        item_key: str,
        value: str | Sequence[str] | Mapping[str, Any] | answer_pb2.Answer,
    ) -> Label:
        """Replaces a labeled item's label with your answer (a class name, a list
        of class names, a custom answer's dict, or an Answer): the item's next
        revision in the feed, method `owner_correction`, kept by later passes."""
        return Label.from_proto(await self.raw.correct_label(_name(job), item_key, to_answer(value)))

    @_translated
    async def export_labels(
        self, job: Job | str, uri: str, *, label_job_name: str = ""
    ) -> label_service_pb2.ExportLabelsResponse:
        """Writes every item as a Ground Truth augmented manifest line to `uri` (a
        path in your folder under the server's files root, or an allowed s3:// URI)."""
        return await self.raw.export_labels(_name(job), uri, label_job_name=label_job_name)

    @_translated
    async def quality(self, job: Job | str) -> quality_service_pb2.GetJobQualityResponse:
        """Agreement, cost and every worker's record (the message: many nested figures)."""
        return await self.raw.job_quality(_name(job))

    @_translated
    async def calibration(
        self, job: Job | str, *, buckets: int = 10, target_precision: float = 0.95
    ) -> quality_service_pb2.GetCalibrationResponse:
        """How far the model's pre-labels can be trusted, per class."""
        return await self.raw.calibration(_name(job), buckets=buckets, target_precision=target_precision)

    @_translated
    async def reliability(
        self, job: Job | str, *, bins: int = 10
    ) -> quality_service_pb2.GetReliabilityResponse:
        """The reliability table of a classification job's label confidences, measured on its gold:
        per equal-width confidence bin, the items, their mean confidence and the share right,
        and the expected calibration error."""
        return await self.raw.reliability(_name(job), bins=bins)

    @_translated
    async def verification_report(
        self,
        job: Job | str,
        *,
        bucket_edges: Sequence[float] = (),
        split_counts_as_correct: bool = False,
        target_precision: float = 0.95,
        interval_level: float = 0.95,
    ) -> quality_service_pb2.GetVerificationReportResponse:
        """A verification job's bulk-QA table: per class and model-confidence bucket, confirmed,
        disconfirmed, split and % correct, and per class a threshold for `target_precision`."""
        return await self.raw.verification_report(
            _name(job),
            bucket_edges=bucket_edges,
            split_counts_as_correct=split_counts_as_correct,
            target_precision=target_precision,
            interval_level=interval_level,
        )

    # Worker accounts and teams: people who work on many of your jobs with one sign-in.

    @_translated
    async def create_worker_account(self, display_name: str) -> WorkerAccount:
        """A worker who can work on every job of yours that names one of its teams,
        once it has a token (`issue_worker_account_token`)."""
        return WorkerAccount.from_proto(await self.raw.create_worker_account(display_name))

    @_translated
    async def get_worker_account(self, worker: WorkerAccount | str) -> WorkerAccount:
        """The account (`workers/{w}`) with its teams and how many tokens are active."""
        return WorkerAccount.from_proto(await self.raw.get_worker_account(_name(worker)))

    def worker_accounts(self, *, team: Team | str = "") -> AsyncPages[WorkerAccount]:
        """Your worker accounts, or one team's, oldest first."""

        async def each() -> AsyncIterator[WorkerAccount]:
            for account in await self.raw.list_worker_accounts(team=_name(team)):
                yield WorkerAccount.from_proto(account)

        columns = ("name", "display_name", "teams", "active_tokens")
        return AsyncPages(
            lambda: _translated_stream(each()), lambda a: {c: getattr(a, c) for c in columns}, columns
        )

    @_translated
    async def issue_worker_account_token(
        self, worker: WorkerAccount | str, *, grace_period: float = 0.0, token_ttl: float | None = None
    ) -> str:
        """A sign-in token for the account (shown only now); its other tokens work
        `grace_period` seconds more."""
        return await self.raw.issue_worker_account_token(
            _name(worker), grace_period=grace_period, token_ttl=token_ttl
        )

    @_translated
    async def revoke_worker_account_token(self, worker: WorkerAccount | str) -> WorkerAccount:
        """Every sign-in token of the account stops working at once."""
        return WorkerAccount.from_proto(await self.raw.revoke_worker_account_token(_name(worker)))

    @_translated
    async def worker_account_history(
        self, worker: WorkerAccount | str
    ) -> team_service_pb2.GetWorkerAccountHistoryResponse:
        """The account's record on every job of yours, and its totals (the message)."""
        return await self.raw.worker_account_history(_name(worker))

    @_translated
    async def create_team(self, display_name: str, *, description: str = "") -> Team:
        """A new, empty team; name it on a job (`create_job(..., teams=[team.name])`)."""
        return Team.from_proto(await self.raw.create_team(display_name, description=description))

    @_translated
    async def get_team(self, team: Team | str) -> Team:
        """The team (`teams/{t}`) and how many accounts are in it."""
        return Team.from_proto(await self.raw.get_team(_name(team)))

    def teams(self) -> AsyncPages[Team]:
        """Your teams, oldest first."""

        async def each() -> AsyncIterator[Team]:
            for team in await self.raw.list_teams():
                yield Team.from_proto(team)

        columns = ("name", "display_name", "description", "worker_count")
        return AsyncPages(
            lambda: _translated_stream(each()), lambda t: {c: getattr(t, c) for c in columns}, columns
        )

    @_translated
    async def delete_team(self, team: Team | str) -> None:
        """Deletes the team; its accounts lose the jobs it gave them."""
        await self.raw.delete_team(_name(team))

    @_translated
    async def add_team_member(self, team: Team | str, worker: WorkerAccount | str) -> Team:
        """Puts the account in the team: it may work on the team's jobs."""
        return Team.from_proto(await self.raw.add_team_member(_name(team), _name(worker)))

    @_translated
    async def remove_team_member(self, team: Team | str, worker: WorkerAccount | str) -> Team:
        """Takes the account out of the team, and its leases on the team's jobs at once."""
        return Team.from_proto(await self.raw.remove_team_member(_name(team), _name(worker)))

    @_translated
    async def wait(
        self,
        job: Job | str,
        *,
        progress: bool = False,
        timeout: float | None = None,
        poll_interval: float = 1.0,
    ) -> Job:
        """Returns the job once it is completed, cancelled or failed, checking every
        `poll_interval` seconds; `progress=True` shows labeled items on a tqdm bar
        (a widget in a notebook). Raises TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar: Any = None
        try:
            while True:
                current = Job.from_proto(await self.raw.get_job(_name(job)))
                if progress:
                    bar = bar or tqdm(
                        total=current.counters.total_items, unit=" items", desc=current.display_name
                    )
                    bar.total = current.counters.total_items
                    bar.n = current.counters.labeled_items
                    bar.refresh()
                if current.done:
                    return current
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"{current.name} is still {current.state} after {timeout:g} s")
                pause = (
                    poll_interval
                    if deadline is None
                    else min(poll_interval, max(deadline - time.monotonic(), 0))
                )
                await asyncio.sleep(pause)
        finally:
            if bar is not None:
                bar.close()


LABEL_COLUMNS = (
    "key",
    "value",
    "confidence",
    "judgments",
    "revision",
    "human_annotated",
    "sequence",
    "method",
    "tie",
    "metadata",
)

JUDGMENT_COLUMNS = (
    "key",
    "worker",
    "value",
    "time_spent",
    "submitted",
    "phase",
    "gold",
    "gold_correct",
    "excluded",
    "excluded_reason",
    "account",
    "external_worker_id",
    "task",
)


async def _mapped(source: AsyncIterator[Any], convert: Callable[[Any], T]) -> AsyncIterator[T]:
    async for message in source:
        yield convert(message)


class AsyncWorkerClient(_Base):
    """For a worker (or the tool it uses) on one job: needs its worker token
    (`lww_…`), or a worker account's token (`lwa_…`) with the `job` to work on."""

    _env_key: ClassVar[str] = "LABELWIRE_WORKER_TOKEN"

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        token: str = "",
        *,
        job: str = "",
        tls: bool = False,
        root_certificates: bytes | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: bool = True,
    ) -> None:
        """As `AsyncClient`; `job` (`jobs/{j}`) is needed with an account token only."""
        super().__init__(address, tls, root_certificates, credentials, timeout, retries)
        self._raw = self.raw = raw.WorkerClient(address, token, job=job, **self._channel)

    @_translated
    async def instructions(self) -> worker_service_pb2.GetInstructionsResponse:
        """The job's instructions and task config, as the worker sees them."""
        return await self.raw.instructions()

    @_translated
    async def next_task(self) -> Task | None:
        """Leases the next task, or None when there is none for this worker now
        (its `stats()` say why: a failed quiz, or no work left)."""
        response = await self.raw.next_task()
        return Task.from_proto(response.task) if response.HasField("task") else None

    @_translated
    async def submit(
        self,
        task: Task | str,
        answer: str | Sequence[str] | Mapping[str, Any] | answer_pb2.Answer,
        *,
        time_spent_seconds: float | None = None,
        want_next: bool = False,
    ) -> Task | None:
        """Records the answer (a class name, a list of names for multi-label, a dict
        for a custom answer, or an Answer). With `want_next`, leases the next task
        in the same call and returns it (None when there is none)."""
        response = await self.raw.submit(
            _name(task), to_answer(answer), time_spent_seconds=time_spent_seconds, want_next=want_next
        )
        following = response.next
        return Task.from_proto(following.task) if want_next and following.HasField("task") else None

    @_translated
    async def release(self, task: Task | str) -> None:
        """Gives the task back unanswered, for someone else."""
        await self.raw.release(_name(task))

    @_translated
    async def decline(self, task: Task | str, reason: str = "") -> None:
        """Gives the task back and says why (it shows in the job's quality report)."""
        await self.raw.decline(_name(task), reason)

    @_translated
    async def extend(self, task: Task | str, seconds: float | None = None) -> float:
        """Renews the lease (by the job's time limit unless `seconds`); when it now ends (Unix time)."""
        response = await self.raw.extend(_name(task), seconds)
        return response.lease_expire_time.ToNanoseconds() / 1e9

    @_translated
    async def stats(self) -> Worker:
        """The worker's own record on the job (its quiz, never its hidden-gold score)."""
        return Worker.from_proto(await self.raw.stats())


class AsyncAdminClient(_Base):
    """For the operator: needs the server's admin key."""

    _env_key: ClassVar[str] = "LABELWIRE_ADMIN_KEY"

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        admin_key: str = "",
        *,
        tls: bool = False,
        root_certificates: bytes | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: bool = True,
    ) -> None:
        """As `AsyncClient`."""
        super().__init__(address, tls, root_certificates, credentials, timeout, retries)
        self._raw = self.raw = raw.AdminClient(address, admin_key, **self._channel)

    @_translated
    async def create_api_key(self, client_name: str, *, ttl: float | None = None) -> str:
        """A new client and its API key (shown only now); `ttl` seconds makes it expire."""
        return await self.raw.create_api_key(client_name, ttl=ttl)

    def api_keys(self, client: str = "clients/-") -> AsyncPages[ApiKey]:
        """The keys of one client (`clients/{c}`) or of every client, without secrets."""

        async def each() -> AsyncIterator[ApiKey]:
            for key in await self.raw.list_api_keys(client):
                yield ApiKey.from_proto(key)

        columns = ("name", "client", "client_name", "key_prefix", "state")
        return AsyncPages(
            lambda: _translated_stream(each()), lambda k: {c: getattr(k, c) for c in columns}, columns
        )

    @_translated
    async def revoke_api_key(self, name: str) -> ApiKey:
        """The key (`clients/{c}/apiKeys/{k}`) stops working at once."""
        return ApiKey.from_proto(await self.raw.revoke_api_key(name))

    @_translated
    async def rotate_api_key(self, name: str, *, grace_period: float = 0.0, ttl: float | None = None) -> str:
        """A new key for the same client (shown only now); the old one works `grace_period` seconds more."""
        response = await self.raw.rotate_api_key(name, grace_period=grace_period, ttl=ttl)
        return response.secret

    @_translated
    async def create_adapter_key(self, adapter_name: str, *, ttl: float | None = None) -> tuple[str, str]:
        """A key for a workforce adapter in its own process, serving the `remote`
        jobs that name `adapter_name`: (the key, shown only now; its name
        `adapters/{a}/keys/{k}`, for `revoke_adapter_key`)."""
        response = await self.raw.create_adapter_key(adapter_name, ttl=ttl)
        return response.adapter_key, response.adapter_key_name

    @_translated
    async def revoke_adapter_key(self, name: str) -> None:
        """The adapter key (`adapters/{a}/keys/{k}`) stops working at once."""
        await self.raw.revoke_adapter_key(name)
