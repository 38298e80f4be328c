"""Jobs from their owner's side: create, list, start and stop them, add their
items, and create their workers.

Uploads of items are in `uploads` (`Upload`), accepting items a model
labeled confidently in `model_acceptance`; both are re-exported here."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
from collections.abc import Callable
from typing import TypeVar

from labelwire.server.core import auth, team_rules
from labelwire.server.core.adapters import check_remote_job
from labelwire.server.core.base import (
    JobReads,
    checked_page_size,
    fitting,
    issue_credential,
    page_cursor,
    page_of,
    parse_name,
    require,
    worker_from_row,
)
from labelwire.server.core.credentials import CredentialsService
from labelwire.server.core.label_rows import ItemDecline, comment_of, decline_of
from labelwire.server.core.model_acceptance import accept_by_model
from labelwire.server.core.uploads import UPLOAD_STALE_SECONDS, Upload, drop_chunk
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.dispatch.gate import first_status, quiz_share_of_unmarked
from labelwire.server.dispatch.workforces import Workforces
from labelwire.server.domain import job_updates, specs, validation
from labelwire.server.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
)
from labelwire.server.domain.model import (
    AddResult,
    GoldUse,
    ItemInput,
    Job,
    JobSpec,
    JobState,
    Principal,
    TaskComment,
    Worker,
)
from labelwire.server.files import manifest
from labelwire.server.files import policy as files_policy
from labelwire.server.files import storage as files
from labelwire.server.files.policy import FilesSettings
from labelwire.server.labels import chains
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import JobRow

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["JobsService", "Upload", "accept_by_model", "split_gold", "start_pilot"]


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


def start_pilot(tx: Tx, job_id: int, spec: JobSpec, row: JobRow, size: int, seed: int | None) -> None:
    """Bounds dispatch to a random sample of `size` items, drawn with `seed`
    (the job's id by default, so a rerun draws the same), until they are
    labeled (`dispatch.pause_if_pilot_done`). A sample rather than the first
    items: an upload is often ordered (by source, by date, by class)."""
    if spec.adapter != "pool":
        raise InvalidArgument(
            f"pilot_size works with the pool workforce only; jobs/{job_id} uses {spec.adapter}", "pilot_size"
        )
    items = row.total_items
    ids = tx.work_item_ids(job_id) if size < items else []
    if size >= len(ids):
        raise FailedPrecondition(
            f"pilot_size must be less than the job's items: it is {size} and jobs/{job_id} has {items}"
        )
    sample = sorted(random.Random(job_id if seed is None else seed).sample(ids, size))
    tx.mark_pilot(sample)
    tx.set_pilot(job_id, sample[-1], size)


@dataclasses.dataclass(eq=False, kw_only=True)
class JobsService:
    """The owner's side of jobs: create, update, start and stop them, uploads and workers."""

    store: Store
    reads: JobReads
    credentials: CredentialsService
    workforces: Workforces
    files_settings: FilesSettings
    learned_thresholds: dict[int, tuple[int, dict[str, float]]]
    clock: Callable[[], float]
    live_uploads: set[int] = dataclasses.field(default_factory=set, init=False)

    async def view_job(self, principal: Principal, name: str) -> Job:
        """GetJob: the owner's job, or with the admin key any job (the
        operator's read-only view; every other call refuses the admin key)."""
        if principal.kind != "admin":
            return await self.reads.get_job(principal, name)
        job_id = parse_name(name, "jobs", "name")
        return await self.store.read(lambda tx: self.reads.job(tx, self.reads.require_job_row(tx, job_id)))

    async def update_job(
        self, principal: Principal, name: str, paths: list[str], merge: Callable[[Job], JobSpec]
    ) -> Job:
        """UpdateJob: `merge` lays the fields the mask names over the job as
        the transaction reads it, so concurrent updates never lose each
        other's fields; what may change is `job_updates`' to say."""
        require(principal, "client")
        job_id = parse_name(name, "jobs", "job.name")
        job_updates.check_paths(paths)
        now = self.clock()

        def change(tx: Tx) -> None:
            row = self.reads.require_job_row(tx, job_id, principal.id)
            state = row.state
            if state in (JobState.CANCELLED, JobState.FAILED):
                raise FailedPrecondition(f"jobs/{job_id} is {state.name.lower()}; it cannot change")
            old = self.reads.job(tx, row, counted=False)
            new = job_updates.carry_defaults(old.spec, merge(old))
            validation.validate_job_spec(new)
            self.workforces.validate(new)
            chains.check_rules(tx, principal.id, job_id, new)
            judged = row.judgments > 0
            new_instructions = job_updates.check_change(old.spec, new, judged=judged)
            if new.floor != old.spec.floor:
                tx.retarget_open_items(job_id, new.floor)
            if state != JobState.DRAFT and new.gold.quiz_size > old.spec.gold.quiz_size:
                quiz = tx.gold_pools(job_id).get(GoldUse.QUIZ, 0)
                if quiz < new.gold.quiz_size:
                    raise FailedPrecondition(
                        f"job.gold_policy.quiz_size must be at most the {quiz} quiz gold items of jobs/{job_id}"
                        f" once it has started, got {new.gold.quiz_size}; add gold items marked GOLD_USE_QUIZ first"
                    )
            tx.update_job_spec(job_id, specs.to_json(new), new_instructions=new_instructions, now=now)
            if state == JobState.RUNNING:
                dispatch.end_if_budget_spent(tx, new, job_id, now)

        await self.store.write(change)
        self.reads.forget_spec(job_id)
        return await self.reads.read_job(job_id)

    async def create_job(self, principal: Principal, spec: JobSpec) -> Job:
        require(principal, "client")
        validation.validate_job_spec(spec)
        team_rules.check_job_teams(spec)
        self.workforces.validate(spec)
        now = self.clock()

        def create(tx: Tx) -> int:
            check_remote_job(tx, spec)
            chains.check_rules(tx, principal.id, None, spec)
            job_id = tx.insert_job(principal.id, specs.to_json(spec), JobState.DRAFT, now)
            team_rules.name_job_teams(tx, principal.id, job_id, spec.teams)
            return job_id

        job_id = await self.store.write(create)
        return await self.reads.read_job(job_id)

    async def list_jobs(self, principal: Principal, page_size: int, page_token: str) -> tuple[list[Job], str]:
        """The caller's jobs; with the admin key every client's (read-only)."""
        if principal.kind != "admin":
            require(principal, "client")
        size = checked_page_size(page_size)
        before = page_cursor(page_token, default=2**62)

        def page(tx: Tx) -> tuple[list[Job], bool]:
            if principal.kind == "admin":
                rows = tx.all_jobs(before, size + 1)
            else:
                rows = tx.jobs_of(principal.id, before, size + 1)
            keep = min(size, fitting([500 + len(r.spec) for r in rows]))
            return [self.reads.job(tx, r) for r in rows[:keep]], len(rows) > keep

        jobs, more = await self.store.read(page)
        return jobs, (str(jobs[-1].id) if more else "")

    async def change_state(
        self,
        principal: Principal,
        name: str,
        action: str,
        *,
        pilot_size: int = 0,
        pilot_seed: int | None = None,
    ) -> Job:
        """start (with `pilot_size`, a pilot first), pause, resume or cancel."""
        require(principal, "client")
        job_id = parse_name(name, "jobs", "name")
        validation.check_range("pilot_size", pilot_size, 0, 2**62)
        allowed = {
            "start": ({JobState.DRAFT}, JobState.RUNNING),
            "pause": ({JobState.RUNNING}, JobState.PAUSED),
            "resume": ({JobState.PAUSED}, JobState.RUNNING),
            "cancel": ({JobState.DRAFT, JobState.RUNNING, JobState.PAUSED}, JobState.CANCELLED),
        }
        sources, target = allowed[action]
        now = self.clock()

        def change(tx: Tx) -> None:
            row = self.reads.require_job_row(tx, job_id, principal.id)
            state = row.state
            if state not in sources:
                raise FailedPrecondition(f"cannot {action} jobs/{job_id}: it is {state.name.lower()}")
            spec = self.reads.spec_of_row(job_id, row)
            if action == "start":
                split_gold(tx, job_id, spec)
                if pilot_size:
                    start_pilot(tx, job_id, spec, row, pilot_size, pilot_seed)
            tx.set_job_state(job_id, target, now)
            if action == "cancel":
                dispatch.release_for_cancel(tx, job_id, now)
            if action in ("start", "resume") and not dispatch.complete_if_done(tx, job_id, now):
                dispatch.end_if_budget_spent(tx, spec, job_id, now)

        await self.store.write(change)
        job = await self.reads.read_job(job_id)
        if action == "cancel":
            await self.workforces.cancel(self.reads, job)
        return job

    async def begin_upload(self, principal: Principal, name: str, field: str = "job") -> Upload:
        require(principal, "client")
        job_id = parse_name(name, "jobs", field)
        job = await self.store.read(
            lambda tx: self.reads.job(tx, self.reads.require_job_row(tx, job_id, principal.id), counted=False)
        )
        if job.state in (JobState.CANCELLED, JobState.FAILED):
            raise FailedPrecondition(f"{job.name} is {job.state.name.lower()}; it takes no more items")
        now = self.clock()
        upload_id = await self.store.write(lambda tx: tx.begin_upload(job_id, now))
        return Upload(self, job, upload_id)

    async def sweep_uploads(self, *, everything: bool = False) -> None:
        """Renews the heartbeat of this server's uploads, then drops the uploads
        of servers that died (`everything`: every upload this server does not
        own, which is right at start-up when this is the only server)."""
        now = self.clock()
        live = sorted(self.live_uploads)
        if live:
            await self.store.write(lambda tx: [tx.touch_upload(i, now) for i in live])
        before = float("inf") if everything else now - UPLOAD_STALE_SECONDS
        rows = await self.store.read(lambda tx: tx.uploads_touched_before(before))
        for row in rows:
            upload_id = int(row.id)
            if upload_id in self.live_uploads:
                continue
            dropped = 0
            while step := await self.store.write(functools.partial(drop_chunk, upload_id=upload_id)):
                dropped += step
            log.info("swept abandoned upload %d to jobs/%d (%d rows)", upload_id, int(row.job_id), dropped)

    async def import_manifest(
        self,
        principal: Principal,
        name: str,
        uri: str,
        fmt: str,
        key_field: str,
        gold_field: str,
        explanation_field: str = "",
    ) -> AddResult:
        """Checks every line first, then adds them all in one upload."""
        upload = await self.begin_upload(principal, name)
        spec = upload.job.spec
        fmt = manifest.detect_format(uri, fmt)

        def check() -> files_policy.Target:
            target = files_policy.resolve(self.files_settings, principal.id, uri, "uri", write=False)
            for number, item in manifest.read_items(
                spec, files.read_rows(target, fmt), key_field, gold_field, explanation_field
            ):
                validation.validate_item(spec, item, f"manifest line {number}")
            return target

        try:
            target = await asyncio.to_thread(check)
            batch: list[ItemInput] = []
            rows = files.read_rows(target, fmt)
            for _, item in manifest.read_items(spec, rows, key_field, gold_field, explanation_field):
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
        require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.check_text("display_name", display_name, low=1, high=200)
        expires = self.credentials.expiry(ttl_seconds, "token_ttl")
        now = self.clock()

        def create(tx: Tx) -> tuple[Worker, str]:
            row = self.reads.require_job_row(tx, job_id, principal.id)
            status, quiz = first_status(self.reads.spec_of_row(job_id, row).gold)
            worker_id = tx.insert_worker(job_id, display_name, None, status, quiz, now)
            _, token = issue_credential(tx, auth.WORKER_TOKEN, worker_id, now, expires)
            worker = tx.worker(worker_id)
            assert worker is not None
            return worker_from_row(worker), token

        return await self.store.write(create)

    async def task_comments(
        self, principal: Principal, job_name: str, page_size: int, page_token: str
    ) -> tuple[list[TaskComment], str]:
        """The job's comments from its workers, newest first."""

        def read(tx: Tx, job_id: int, before: int, limit: int) -> list[TaskComment]:
            return [comment_of(job_id, r) for r in tx.task_comments(job_id, before or None, limit)]

        return await self._job_page(principal, job_name, page_size, page_token, read, lambda c: c.id)

    async def task_declines(
        self, principal: Principal, job_name: str, page_size: int, page_token: str
    ) -> tuple[list[ItemDecline], str]:
        """The job's declined tasks with their reasons, newest first."""

        def read(tx: Tx, job_id: int, before: int, limit: int) -> list[tuple[int, ItemDecline]]:
            rows = tx.task_declines(job_id, before or None, limit)
            return [(int(r.id), decline_of(r)) for r in rows]

        rows, token = await self._job_page(principal, job_name, page_size, page_token, read, lambda r: r[0])
        return [d for _, d in rows], token

    async def list_workers(
        self, principal: Principal, job_name: str, page_size: int, page_token: str
    ) -> tuple[list[Worker], str]:
        def read(tx: Tx, job_id: int, after: int, limit: int) -> list[Worker]:
            return [worker_from_row(r) for r in tx.workers_of(job_id, after, limit)]

        return await self._job_page(principal, job_name, page_size, page_token, read, lambda w: w.id)

    async def _job_page(
        self,
        principal: Principal,
        job_name: str,
        page_size: int,
        page_token: str,
        read: Callable[[Tx, int, int, int], list[T]],
        last_id: Callable[[T], int],
    ) -> tuple[list[T], str]:
        """A page of one of the caller's jobs' lists: `read(tx, job id, cursor
        (0 on the first page), rows to read)` once the job is known to be the caller's."""
        require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        size = checked_page_size(page_size)
        cursor = page_cursor(page_token, default=0)

        def page(tx: Tx) -> list[T]:
            self.reads.require_job_row(tx, job_id, principal.id)
            return read(tx, job_id, cursor, size + 1)

        return page_of(await self.store.read(page), size, last_id)
