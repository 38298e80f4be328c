"""The core: every operation a caller can ask for, in domain terms.

The gRPC servicers call these methods and nothing else; so do the CLI and the
demo. Each method checks the caller's right to the resource, validates, runs
one store transaction, and says what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from labelwire.adapters.groundtruth.manifests import ExportFormat, ExportLabel, augmented_line
from labelwire.server import (
    auth,
    dispatch,
    files,
    labeling,
    manifest,
    passes,
    quality_report,
    specs,
    validation,
)
from labelwire.server.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from labelwire.server.feed import FeedSignal
from labelwire.server.model import (
    ENDED,
    AddResult,
    Answer,
    ItemInput,
    Job,
    JobCounters,
    JobSpec,
    JobState,
    Label,
    NextTaskResult,
    Principal,
    SubmitResult,
    Worker,
    WorkerStatus,
)
from labelwire.server.quality import first_status
from labelwire.server.quality_report import JobQuality
from labelwire.server.store import Store, Tx
from labelwire.server.workforces import Workforces

log = logging.getLogger(__name__)

ADMIN = Principal(kind="admin")
STREAM_BATCH = 1000
MAINTENANCE_SECONDS = 2.0


def parse_name(name: str, collection: str, field: str) -> int:
    """The numeric id in `jobs/12` (or `jobs/12/tasks/7` for collection `tasks`)."""
    parts = name.split("/")
    if len(parts) >= 2 and parts[-2] == collection and parts[-1].isdigit():
        return int(parts[-1])
    if not name:
        raise InvalidArgument(f"{field} is required")
    raise InvalidArgument(f"{field} must look like {collection}/<number>, got {name!r}")


def parse_task_name(name: str, field: str = "task") -> tuple[int, int]:
    parts = name.split("/")
    if (
        len(parts) == 4
        and parts[0] == "jobs"
        and parts[2] == "tasks"
        and parts[1].isdigit()
        and parts[3].isdigit()
    ):
        return int(parts[1]), int(parts[3])
    if not name:
        raise InvalidArgument(f"{field} is required")
    raise InvalidArgument(f"{field} must look like jobs/<number>/tasks/<number>, got {name!r}")


def _worker(row: Any) -> Worker:
    return Worker(
        id=int(row["id"]),
        job_id=int(row["job_id"]),
        display_name=row["display_name"],
        status=WorkerStatus(int(row["status"])),
        quiz_remaining=int(row["quiz_remaining"]),
        judgments=int(row["judgments"]),
        gold_answered=int(row["gold_answered"]),
        gold_correct=int(row["gold_correct"]),
        last_active_at=row["last_active_at"],
        external_id=row["external_id"],
        skill=row["skill"],
    )


@functools.lru_cache(maxsize=8192)
def _shared_json(text: str) -> Any:
    """Label values and class probabilities repeat across a job's labels, so
    parsing each distinct text once keeps the label stream cheap. Callers only
    read the result."""
    return json.loads(text)


def _label(job_id: int, row: Any) -> Label:
    return Label(
        job_id=job_id,
        item_key=row["item_key"],
        sequence=int(row["sequence"]),
        revision=int(row["revision"]),
        value=_shared_json(row["value"]),
        confidence=float(row["confidence"]),
        probabilities=_shared_json(row["probabilities"]),
        method=row["method"],
        judgment_count=int(row["judgment_count"]),
        human=bool(row["human"]),
        tie=bool(row["tie"]),
        created_at=float(row["created_at"]),
        item_metadata=json.loads(row["item_metadata"]) if row["item_metadata"] else None,
    )


class Upload:
    """An AddItems stream in progress: items are staged as they arrive and
    join the job only at `commit`, all at once, so a bad item anywhere in the
    stream leaves the job unchanged."""

    def __init__(self, core: Core, job: Job, upload_id: int) -> None:
        self._core = core
        self.job = job
        self._id = upload_id
        self._received = 0
        self._repeats = 0
        self._messages = 0

    async def add(self, items: list[ItemInput]) -> None:
        validation.validate_items(self.job.spec, items, f"items (message {self._messages + 1})")
        self._messages += 1
        if not items:
            return
        rows = [
            (
                i.key,
                i.payload_kind,
                i.payload,
                json.dumps(i.metadata) if i.metadata else None,
                json.dumps(i.prelabel) if i.prelabel else None,
                i.prelabel_confidence,
                json.dumps(i.gold) if i.gold else None,
            )
            for i in items
        ]
        start = self._received
        self._received += len(rows)
        self._repeats += await self._core.store.write(lambda tx: tx.stage_items(self._id, rows, start))

    async def commit(self) -> AddResult:
        core, job = self._core, self.job

        def apply(tx: Tx) -> AddResult:
            current = core.require_job_row(tx, job.id)
            state = JobState(int(current["state"]))
            if state in (JobState.CANCELLED, JobState.FAILED):
                tx.drop_upload(self._id)
                raise FailedPrecondition(f"{job.name} is {state.name.lower()}; it takes no more items")
            added, gold = tx.commit_upload(self._id, job.id, job.spec.judgments_per_item, core.clock())
            tx.count_job(job.id, total_items=added - gold, gold_items=gold)
            if state == JobState.COMPLETED and added - gold > 0:
                tx.set_job_state(job.id, JobState.RUNNING, core.clock())
            return AddResult(added=added, duplicates=self._received - added, gold=gold)

        result = await core.store.write(apply)
        core.feed.notify(job.id)
        return result

    async def abort(self) -> None:
        await self._core.store.write(lambda tx: tx.drop_upload(self._id))


class Core:
    def __init__(
        self,
        store: Store,
        *,
        admin_key: str,
        workforces: Workforces | None = None,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        drive_workforces: bool = True,
    ) -> None:
        self.store = store
        self._drive_workforces = drive_workforces
        self.clock = clock
        self.feed = FeedSignal()
        self.workforces = workforces or Workforces.discover()
        self._admin_hash = auth.digest(admin_key)
        self._principals: dict[str, Principal] = {}
        self._specs: dict[int, tuple[int, JobSpec]] = {}
        self._rng = random.Random(seed)
        self._tasks: list[asyncio.Task[None]] = []

    # lifecycle

    async def start_background(self) -> None:
        self._tasks.append(asyncio.create_task(self._maintain(), name="labelwire-maintenance"))
        if self._drive_workforces:
            self._tasks.append(asyncio.create_task(self.workforces.run(self), name="labelwire-workforces"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for adapter in self.workforces.adapters.values():
            with contextlib.suppress(Exception):
                await adapter.close()

    async def _maintain(self) -> None:
        """Returns expired leases to the queue and fails items past their
        lifetime, so that a quiet job still moves."""
        while True:
            await asyncio.sleep(MAINTENANCE_SECONDS)
            try:
                await self.maintain_once()
            except Exception:
                log.exception("maintenance pass failed")

    async def maintain_once(self) -> None:
        now = self.clock()

        def sweep(tx: Tx) -> list[int]:
            moved = []
            for job in tx.jobs_in_states([JobState.RUNNING, JobState.PAUSED]):
                job_id = int(job["id"])
                spec = specs.from_json(json.loads(job["spec"]))
                dispatch.expire_leases(tx, job_id, now)
                if spec.task_lifetime_seconds:
                    failed = tx.expire_stale_items(
                        job_id, now - spec.task_lifetime_seconds, "no judgments within the task lifetime"
                    )
                    if failed:
                        tx.count_job(job_id, failed_items=failed)
                        dispatch.complete_if_done(tx, job_id, now)
                        moved.append(job_id)
            return moved

        for job_id in await self.store.write(sweep):
            self.feed.notify(job_id)
        await self.run_passes()

    async def run_passes(self) -> None:
        """Job-level consolidation for every job that weighs its workers and
        has grown since its last pass, or is waiting for its final one."""
        rows = await self.store.read(lambda tx: tx.jobs_in_states([JobState.RUNNING, JobState.COMPLETED]))
        for row in rows:
            spec = self._spec_of(int(row["id"]), row)
            if labeling.uses_skill(spec):
                await self._pass(int(row["id"]), spec, row)

    async def _pass(self, job_id: int, spec: JobSpec, row: Any) -> None:
        judgments, at_pass = int(row["judgments"]), int(row["judgments_at_pass"])
        running = int(row["state"]) == JobState.RUNNING
        open_items = running and await self.store.read(lambda tx: tx.has_open_items(job_id))
        final = running and not open_items and int(row["total_items"]) > 0
        if not (final or passes.due(judgments, at_pass)):
            return
        result = passes.PassResult()
        if judgments != at_pass:
            inputs = await self.store.read(lambda tx: tx.pass_input(job_id))
            result = await asyncio.to_thread(passes.compute, spec, inputs)
        now = self.clock()
        await self.store.write(lambda tx: passes.apply(tx, job_id, result, judgments, now))
        self.feed.notify(job_id)

    # auth

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("missing bearer token in the authorization metadata")
        cached = self._principals.get(token)
        if cached is not None:
            return cached
        if auth.matches(token, self._admin_hash):
            return ADMIN
        parsed = auth.parse(token)
        if parsed is None:
            raise Unauthenticated("the bearer token is not a labelwire key")
        prefix, ident, secret = parsed
        if prefix == auth.CLIENT_PREFIX:
            stored = await self.store.read(lambda tx: tx.client_key_hash(ident))
            principal = Principal(kind="client", id=ident)
        else:
            row = await self.store.read(lambda tx: tx.worker(ident))
            stored = None if row is None or row["token_hash"] is None else bytes(row["token_hash"])
            principal = Principal(kind="worker", id=ident, job_id=0 if row is None else int(row["job_id"]))
        if not auth.matches(secret, stored):
            raise Unauthenticated("the bearer token is not valid")
        if len(self._principals) > 100_000:
            self._principals.clear()
        self._principals[token] = principal
        return principal

    @staticmethod
    def require(principal: Principal, kind: str) -> None:
        if principal.kind != kind:
            raise PermissionDenied(f"this call needs a {kind} key, not a {principal.kind} key")

    async def create_api_key(self, principal: Principal, client_name: str) -> tuple[int, str]:
        self.require(principal, "admin")
        validation.check_text("client_name", client_name, low=1, high=200)

        def create(tx: Tx) -> tuple[int, str]:
            client_id = tx.insert_client(client_name, b"", self.clock())
            token, hashed = auth.new_token(auth.CLIENT_PREFIX, client_id)
            tx.set_client_key(client_id, hashed)
            return client_id, token

        return await self.store.write(create)

    # jobs

    def require_job_row(self, tx: Tx, job_id: int, owner_id: int | None = None) -> Any:
        row = tx.job(job_id)
        if row is None or (owner_id is not None and int(row["owner_id"]) != owner_id):
            raise NotFound(f"jobs/{job_id} does not exist")
        return row

    def _job(self, tx: Tx, row: Any, *, counted: bool = True) -> Job:
        """A job from its row; `counted=False` skips the counters that need a
        scan of the job's open items."""
        job_id = int(row["id"])
        unlabeled, in_progress, qualified, disqualified = tx.live_counts(job_id) if counted else (0, 0, 0, 0)
        return Job(
            id=job_id,
            owner_id=int(row["owner_id"]),
            spec=self._spec_of(job_id, row),
            state=JobState(int(row["state"])),
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
            failure_reason=row["failure_reason"],
            last_sequence=int(row["last_sequence"]),
            counters=JobCounters(
                total_items=int(row["total_items"]),
                gold_items=int(row["gold_items"]),
                labeled_items=int(row["labeled_items"]),
                unlabeled_items=unlabeled,
                in_progress_items=in_progress,
                failed_items=int(row["failed_items"]),
                judgments=int(row["judgments"]),
                excluded_judgments=int(row["excluded_judgments"]),
                qualified_workers=qualified,
                disqualified_workers=disqualified,
                cost_micros=int(row["cost_micros"]),
            ),
        )

    def spec_of_row(self, job_id: int, row: Any) -> JobSpec:
        return self._spec_of(job_id, row)

    def _spec_of(self, job_id: int, row: Any) -> JobSpec:
        cached = self._specs.get(job_id)
        if cached is None:
            cached = (int(row["owner_id"]), specs.from_json(json.loads(row["spec"])))
            self._specs[job_id] = cached
        return cached[1]

    async def spec_of_job(self, job_id: int) -> JobSpec:
        cached = self._specs.get(job_id)
        if cached is not None:
            return cached[1]
        row = await self.store.read(lambda tx: tx.job(job_id))
        if row is None:
            raise NotFound(f"jobs/{job_id} does not exist")
        return self._spec_of(job_id, row)

    async def create_job(self, principal: Principal, spec: JobSpec) -> Job:
        self.require(principal, "client")
        validation.validate_job_spec(spec)
        self.workforces.validate(spec)
        now = self.clock()

        job_id = await self.store.write(
            lambda tx: tx.insert_job(principal.id, specs.to_json(spec), JobState.DRAFT, now)
        )
        return await self._read_job(job_id)

    async def _read_job(self, job_id: int) -> Job:
        """A job with its counters, read outside the writer: counting a large
        job's open items must not hold up judgments."""
        return await self.store.read(lambda tx: self._job(tx, self.require_job_row(tx, job_id)))

    async def get_job(self, principal: Principal, name: str) -> Job:
        self.require(principal, "client")
        job_id = parse_name(name, "jobs", "name")
        return await self.store.read(lambda tx: self._job(tx, self.require_job_row(tx, job_id, principal.id)))

    async def list_jobs(self, principal: Principal, page_size: int, page_token: str) -> tuple[list[Job], str]:
        self.require(principal, "client")
        size = page_size or 100
        validation.check_range("page_size", size, 1, 1000)
        before = _page_cursor(page_token, default=2**62)

        def page(tx: Tx) -> list[Job]:
            return [self._job(tx, r) for r in tx.jobs_of(principal.id, before, size + 1)]

        jobs = await self.store.read(page)
        more = len(jobs) > size
        jobs = jobs[:size]
        return jobs, (str(jobs[-1].id) if more else "")

    async def change_state(self, principal: Principal, name: str, action: str) -> Job:
        """start, pause, resume or cancel."""
        self.require(principal, "client")
        job_id = parse_name(name, "jobs", "name")
        allowed = {
            "start": ({JobState.DRAFT}, JobState.RUNNING),
            "pause": ({JobState.RUNNING}, JobState.PAUSED),
            "resume": ({JobState.PAUSED}, JobState.RUNNING),
            "cancel": ({JobState.DRAFT, JobState.RUNNING, JobState.PAUSED}, JobState.CANCELLED),
        }
        sources, target = allowed[action]
        now = self.clock()

        def change(tx: Tx) -> None:
            row = self.require_job_row(tx, job_id, principal.id)
            state = JobState(int(row["state"]))
            if state not in sources:
                raise FailedPrecondition(f"cannot {action} jobs/{job_id}: it is {state.name.lower()}")
            spec = self._spec_of(job_id, row)
            if action == "start":
                gold = tx.count_gold(job_id)
                if gold < spec.gold.quiz_size:
                    raise FailedPrecondition(
                        f"gold_policy.quiz_size is {spec.gold.quiz_size} but jobs/{job_id} has {gold} gold items;"
                        " add gold items or lower quiz_size"
                    )
            tx.set_job_state(job_id, target, now)
            if action == "start":
                dispatch.complete_if_done(tx, job_id, now)

        await self.store.write(change)
        self.feed.notify(job_id)
        job = await self._read_job(job_id)
        if action == "cancel":
            await self.workforces.cancel(self, job)
        return job

    async def begin_upload(self, principal: Principal, name: str, field: str = "job") -> Upload:
        self.require(principal, "client")
        job_id = parse_name(name, "jobs", field)
        job = await self.store.read(
            lambda tx: self._job(tx, self.require_job_row(tx, job_id, principal.id), counted=False)
        )
        if job.state in (JobState.CANCELLED, JobState.FAILED):
            raise FailedPrecondition(f"{job.name} is {job.state.name.lower()}; it takes no more items")
        upload_id = self.store.new_upload_id()
        await self.store.write(lambda tx: tx.begin_upload(upload_id))
        return Upload(self, job, upload_id)

    async def import_manifest(
        self, principal: Principal, name: str, uri: str, fmt: str, key_field: str, gold_field: str
    ) -> AddResult:
        """Checks every line first, then adds them all in one upload."""
        upload = await self.begin_upload(principal, name)
        spec = upload.job.spec
        fmt = manifest.detect_format(uri, fmt)

        def check() -> None:
            for number, item in manifest.read_items(spec, files.read_rows(uri, fmt), key_field, gold_field):
                validation.validate_item(spec, item, f"manifest line {number}")

        try:
            await asyncio.to_thread(check)
            batch: list[ItemInput] = []
            for _, item in manifest.read_items(spec, files.read_rows(uri, fmt), key_field, gold_field):
                batch.append(item)
                if len(batch) == validation.MAX_ITEMS_PER_MESSAGE:
                    await upload.add(batch)
                    batch = []
            await upload.add(batch)
        except BaseException:
            await upload.abort()
            raise
        return await upload.commit()

    # workers, from the job owner's side

    async def create_worker(
        self, principal: Principal, job_name: str, display_name: str
    ) -> tuple[Worker, str]:
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.check_text("display_name", display_name, low=1, high=200)

        def create(tx: Tx) -> tuple[Worker, str]:
            row = self.require_job_row(tx, job_id, principal.id)
            status, quiz = first_status(self._spec_of(job_id, row).gold)
            worker_id = tx.insert_worker(job_id, display_name, b"", status, quiz, self.clock())
            token, hashed = auth.new_token(auth.WORKER_PREFIX, worker_id)
            tx.update_worker(worker_id, token_hash=hashed)
            return _worker(tx.worker(worker_id)), token

        return await self.store.write(create)

    async def list_workers(
        self, principal: Principal, job_name: str, page_size: int, page_token: str
    ) -> tuple[list[Worker], str]:
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        size = page_size or 100
        validation.check_range("page_size", size, 1, 1000)
        after = _page_cursor(page_token, default=0)

        def page(tx: Tx) -> list[Worker]:
            self.require_job_row(tx, job_id, principal.id)
            return [_worker(r) for r in tx.workers_of(job_id, after, size + 1)]

        workers = await self.store.read(page)
        more = len(workers) > size
        workers = workers[:size]
        return workers, (str(workers[-1].id) if more else "")

    # the worker's side

    async def instructions(self, principal: Principal) -> Job:
        self.require(principal, "worker")
        return await self.store.read(lambda tx: self._job(tx, self.require_job_row(tx, principal.job_id)))

    async def next_task(self, principal: Principal) -> NextTaskResult:
        self.require(principal, "worker")
        spec = await self.spec_of_job(principal.job_id)
        return await self.store.write(
            lambda tx: dispatch.next_task(tx, spec, principal.id, self.clock(), self._rng)
        )

    async def submit(
        self, principal: Principal, task_name: str, answer: Answer, time_spent_ms: int | None
    ) -> SubmitResult:
        self.require(principal, "worker")
        job_id, task_id = parse_task_name(task_name)
        if job_id != principal.job_id:
            raise NotFound(f"task {task_name} does not exist")
        spec = await self.spec_of_job(job_id)
        validation.validate_answer(spec, answer, "answer")
        if time_spent_ms is not None:
            validation.check_range(
                "time_spent (seconds)", time_spent_ms / 1000, 0, spec.task_time_limit_seconds
            )
        result = await self.store.write(
            lambda tx: dispatch.submit(
                tx, spec, principal.id, job_id, task_id, answer, time_spent_ms, self.clock()
            )
        )
        self.feed.notify(job_id)
        return result

    async def release(self, principal: Principal, task_name: str, *, decline: bool) -> None:
        self.require(principal, "worker")
        job_id, task_id = parse_task_name(task_name)
        if job_id != principal.job_id:
            raise NotFound(f"task {task_name} does not exist")
        await self.store.write(
            lambda tx: dispatch.release(tx, principal.id, job_id, task_id, self.clock(), decline=decline)
        )

    async def extend(self, principal: Principal, task_name: str, seconds: float | None) -> float:
        self.require(principal, "worker")
        job_id, task_id = parse_task_name(task_name)
        if job_id != principal.job_id:
            raise NotFound(f"task {task_name} does not exist")
        spec = await self.spec_of_job(job_id)
        limit = spec.task_time_limit_seconds
        wanted = limit if seconds is None else seconds
        validation.check_range("extension (seconds)", wanted, 1, limit)
        return await self.store.write(
            lambda tx: dispatch.extend(tx, principal.id, job_id, task_id, wanted, self.clock())
        )

    async def worker_stats(self, principal: Principal) -> Worker:
        self.require(principal, "worker")
        row = await self.store.read(lambda tx: tx.worker(principal.id))
        if row is None:
            raise NotFound(f"worker {principal.id} does not exist")
        return _worker(row)

    # labels

    async def stream_labels(
        self, principal: Principal, job_name: str, after_sequence: int, snapshot_only: bool
    ) -> AsyncIterator[list[Label]]:
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.require(after_sequence >= 0, f"after_sequence must be >= 0, got {after_sequence}")
        await self.store.read(lambda tx: self.require_job_row(tx, job_id, principal.id))
        after = after_sequence
        while True:
            seen = self.feed.version(job_id)

            def batch(tx: Tx, after: int = after) -> tuple[list[Any], int]:
                row = self.require_job_row(tx, job_id)
                return tx.label_events(job_id, after, STREAM_BATCH), int(row["state"])

            rows, state = await self.store.read(batch)
            if rows:
                labels = [_label(job_id, r) for r in rows]
                after = labels[-1].sequence
                yield labels
                continue
            if snapshot_only or JobState(state) in ENDED:
                return
            await self.feed.wait(job_id, seen, timeout=1.0)

    async def list_labels(
        self, principal: Principal, job_name: str, page_size: int, page_token: str
    ) -> tuple[list[Label], str]:
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        size = page_size or 1000
        validation.check_range("page_size", size, 1, 10_000)
        after = _page_cursor(page_token, default=0)

        def page(tx: Tx) -> list[Any]:
            self.require_job_row(tx, job_id, principal.id)
            return tx.current_labels(job_id, after, size + 1)

        rows = await self.store.read(page)
        more = len(rows) > size
        rows = rows[:size]
        return [_label(job_id, r) for r in rows], (str(rows[-1]["item_id"]) if more else "")

    async def job_quality(self, principal: Principal, job_name: str) -> tuple[Job, JobQuality, list[Worker]]:
        job = await self.get_job(principal, job_name)
        judgments, labels, workers = await self.store.read(lambda tx: _everything(tx, job.id))
        measured = await asyncio.to_thread(quality_report.measure, job.spec, judgments, labels)
        return job, measured, [_worker(w) for w in workers]

    async def calibration(
        self, principal: Principal, job_name: str, buckets: int, target_precision: float
    ) -> list[quality_report.ClassCalibration]:
        job = await self.get_job(principal, job_name)
        buckets = buckets or 10
        target_precision = target_precision or 0.95
        validation.check_range("buckets", buckets, 2, 100)
        validation.check_range("target_precision", target_precision, 0.5, 1.0)
        rows = await self.store.read(lambda tx: tx.prelabeled(job.id))
        return quality_report.calibrate(job.spec, rows, buckets, target_precision)

    async def export_labels(self, principal: Principal, job_name: str, uri: str) -> int:
        """Writes the current labels as a Ground Truth augmented manifest to a
        local path or S3; returns the line count."""
        job = await self.get_job(principal, job_name)
        validation.require(bool(uri), "uri is required")
        fmt = ExportFormat(
            attribute=job.spec.label_attribute_name,
            task_type=job.spec.task_type,
            media_type=job.spec.media_type,
            classes=job.spec.class_names,
            job_name=f"labeling-job/{job.name.replace('/', '-')}",
        )
        rows: list[Any] = []
        after = 0
        while True:

            def page(tx: Tx, after: int = after) -> list[Any]:
                return tx.current_labels(job.id, after, 5000)

            batch = await self.store.read(page)
            if not batch:
                break
            rows += batch
            after = int(batch[-1]["item_id"])

        def lines() -> Iterator[dict[str, Any]]:
            for row in rows:
                line = dict(json.loads(row["item_metadata"])) if row["item_metadata"] else {}
                line["source-ref" if row["payload_kind"] == "source_ref" else "source"] = row["payload"]
                label = ExportLabel(
                    line=line,
                    answer=json.loads(row["value"]),
                    confidence=float(row["confidence"]),
                    human_annotated=bool(row["human"]),
                    created=datetime.fromtimestamp(float(row["created_at"]), UTC),
                )
                yield augmented_line(label, fmt)

        return await asyncio.to_thread(files.write_lines, uri, lines())


def _everything(tx: Tx, job_id: int) -> tuple[list[Any], dict[int, Answer], list[Any]]:
    labels = {int(r["item_id"]): json.loads(r["value"]) for r in tx.current_labels(job_id, 0, 2**62)}
    return tx.job_judgments(job_id), labels, tx.workers_of(job_id, 0, 2**62)


def _page_cursor(token: str, default: int) -> int:
    if not token:
        return default
    if not token.isdigit():
        raise InvalidArgument("page_token is not one this server gave out")
    return int(token)
