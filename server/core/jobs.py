"""Jobs from their owner's side: create, list, start and stop them, add their
items, and create their workers."""

from __future__ import annotations

import asyncio
import json

from labelwire.server import (
    auth,
    dispatch,
    files,
    files_policy,
    manifest,
    specs,
    validation,
)
from labelwire.server.core.base import CoreBase, fitting, page_cursor, parse_name, worker_from_row
from labelwire.server.errors import (
    FailedPrecondition,
)
from labelwire.server.model import (
    AddResult,
    EndReason,
    GoldUse,
    ItemInput,
    Job,
    JobSpec,
    JobState,
    Principal,
    Worker,
)
from labelwire.server.quality import first_status, quiz_share_of_unmarked
from labelwire.server.store import Tx


class Upload:
    """An AddItems stream in progress: items are staged as they arrive and
    join the job only at `commit`, all at once, so a bad item anywhere in the
    stream leaves the job unchanged."""

    def __init__(self, core: CoreBase, job: Job, upload_id: int) -> None:
        self._core = core
        self.job = job
        self._id = upload_id
        self._received = 0
        self._repeats = 0
        self._messages = 0
        self._gold_uses: list[tuple[str, int]] = []

    async def add(self, items: list[ItemInput]) -> None:
        field = f"items (message {self._messages + 1})"
        validation.validate_items(self.job.spec, items, field)
        self._core.workforces.validate_items(self.job.spec, items, field)
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
        self._gold_uses += [(i.key, int(i.gold_use)) for i in items if i.gold is not None and i.gold_use]
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
            now = core.clock()
            added, gold = tx.commit_upload(self._id, job.id, job.spec.judgments_per_item, now)
            tx.count_job(job.id, total_items=added - gold, gold_items=gold)
            tx.mark_gold_use(job.id, self._gold_uses)
            if state != JobState.DRAFT:
                tx.hide_new_gold(job.id, now)
            if state == JobState.COMPLETED and added - gold > 0:
                tx.set_job_state(job.id, JobState.RUNNING, core.clock())
                tx.set_end_reason(job.id, EndReason.UNSPECIFIED)
                dispatch.end_if_budget_spent(tx, job.spec, job.id, core.clock())
            return AddResult(added=added, duplicates=self._received - added, gold=gold)

        result = await core.store.write(apply)
        core.feed.notify(job.id)
        return result

    async def abort(self) -> None:
        await self._core.store.write(lambda tx: tx.drop_upload(self._id))


def split_gold(tx: Tx, job_id: int, spec: JobSpec) -> None:
    """Splits the gold its owner left unmarked between the quiz and hidden
    gold, so that nothing learned in the quiz is ever met again as hidden
    gold; refuses a quiz pool smaller than quiz_size."""
    pools = tx.gold_pools(job_id)
    quiz, unmarked = pools.get(GoldUse.QUIZ, 0), pools.get(GoldUse.ANY, 0)
    to_quiz = quiz_share_of_unmarked(spec.gold, quiz, unmarked)
    if quiz + to_quiz < spec.gold.quiz_size:
        hidden = pools.get(GoldUse.HIDDEN, 0)
        raise FailedPrecondition(
            f"gold_policy.quiz_size is {spec.gold.quiz_size} but jobs/{job_id} has {quiz + unmarked} gold items"
            f" for the quiz ({hidden} more are marked GOLD_USE_HIDDEN); add gold items or lower quiz_size"
        )
    tx.split_gold(job_id, to_quiz)


class JobsCore(CoreBase):
    async def create_job(self, principal: Principal, spec: JobSpec) -> Job:
        self.require(principal, "client")
        validation.validate_job_spec(spec)
        self.workforces.validate(spec)
        now = self.clock()

        job_id = await self.store.write(
            lambda tx: tx.insert_job(principal.id, specs.to_json(spec), JobState.DRAFT, now)
        )
        return await self._read_job(job_id)

    async def list_jobs(self, principal: Principal, page_size: int, page_token: str) -> tuple[list[Job], str]:
        """The caller's jobs; with the admin key every client's (read-only)."""
        if principal.kind != "admin":
            self.require(principal, "client")
        size = page_size or 100
        validation.check_range("page_size", size, 1, 1000)
        before = page_cursor(page_token, default=2**62)

        def page(tx: Tx) -> tuple[list[Job], bool]:
            if principal.kind == "admin":
                rows = tx.all_jobs(before, size + 1)
            else:
                rows = tx.jobs_of(principal.id, before, size + 1)
            keep = min(size, fitting([500 + len(r["spec"]) for r in rows]))
            return [self._job(tx, r) for r in rows[:keep]], len(rows) > keep

        jobs, more = await self.store.read(page)
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
                split_gold(tx, job_id, spec)
            tx.set_job_state(job_id, target, now)
            if action == "cancel":
                dispatch.release_for_cancel(tx, job_id, now)
            if action in ("start", "resume") and not dispatch.complete_if_done(tx, job_id, now):
                dispatch.end_if_budget_spent(tx, spec, job_id, now)

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

        def check() -> files_policy.Target:
            target = files_policy.resolve(self.files_settings, principal.id, uri, "uri", write=False)
            for number, item in manifest.read_items(
                spec, files.read_rows(target, fmt), key_field, gold_field
            ):
                validation.validate_item(spec, item, f"manifest line {number}")
            return target

        try:
            target = await asyncio.to_thread(check)
            batch: list[ItemInput] = []
            for _, item in manifest.read_items(spec, files.read_rows(target, fmt), key_field, gold_field):
                batch.append(item)
                if len(batch) == validation.MAX_ITEMS_PER_MESSAGE:
                    await upload.add(batch)
                    batch = []
            await upload.add(batch)
        except BaseException:
            await upload.abort()
            raise
        return await upload.commit()

    async def create_worker(
        self, principal: Principal, job_name: str, display_name: str, ttl_seconds: float = 0.0
    ) -> tuple[Worker, str]:
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.check_text("display_name", display_name, low=1, high=200)
        expires = self.expiry(ttl_seconds, "token_ttl")
        now = self.clock()

        def create(tx: Tx) -> tuple[Worker, str]:
            row = self.require_job_row(tx, job_id, principal.id)
            status, quiz = first_status(self._spec_of(job_id, row).gold)
            worker_id = tx.insert_worker(job_id, display_name, None, status, quiz, now)
            _, token = self.issue_credential(tx, auth.WORKER_TOKEN, worker_id, now, expires)
            return worker_from_row(tx.worker(worker_id)), token

        return await self.store.write(create)

    async def list_workers(
        self, principal: Principal, job_name: str, page_size: int, page_token: str
    ) -> tuple[list[Worker], str]:
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        size = page_size or 100
        validation.check_range("page_size", size, 1, 1000)
        after = page_cursor(page_token, default=0)

        def page(tx: Tx) -> list[Worker]:
            self.require_job_row(tx, job_id, principal.id)
            return [worker_from_row(r) for r in tx.workers_of(job_id, after, size + 1)]

        workers = await self.store.read(page)
        more = len(workers) > size
        workers = workers[:size]
        return workers, (str(workers[-1].id) if more else "")
