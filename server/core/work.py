"""The worker's side: leasing tasks, submitting judgments, the worker's record."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Callable
from dataclasses import replace

from labelwire.server.core.base import JobReads, parse_task_name, require, worker_from_row
from labelwire.server.core.team_rules import require_member
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.domain import gt_template, validation
from labelwire.server.domain.errors import (
    NotFound,
    ResourceExhausted,
)
from labelwire.server.domain.model import (
    Answer,
    Job,
    JobSpec,
    NextTaskResult,
    Principal,
    SubmitResult,
    Task,
    TaskComment,
    Worker,
)
from labelwire.server.domain.tasks import task_kind
from labelwire.server.files import presign
from labelwire.server.files.policy import FilesSettings
from labelwire.server.store import Store, Tx

log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False, kw_only=True)
class WorkService:
    """The worker's side: tasks out, judgments in."""

    store: Store
    reads: JobReads
    files_settings: FilesSettings
    rng: random.Random
    clock: Callable[[], float]

    async def instructions(self, principal: Principal) -> Job:
        require(principal, "worker")
        return await self.store.read(
            lambda tx: self.reads.job(tx, self.reads.require_job_row(tx, principal.job_id))
        )

    async def next_task(self, principal: Principal, *, lookahead: bool = False) -> NextTaskResult:
        require(principal, "worker")

        def lease(tx: Tx) -> NextTaskResult:
            if principal.account_id:
                require_member(tx, principal.account_id, principal.job_id)
            spec = self.reads.fresh_spec(tx, principal.job_id)
            return dispatch.next_task(tx, spec, principal.id, self.clock(), self.rng, lookahead=lookahead)

        result = await self.store.write(lease)
        # The template is task_config, which UpdateJob never changes: the cached spec has it.
        return await self._with_pages(
            principal.job_id, await self.reads.spec_of_job(principal.job_id), result
        )

    async def submit(
        self,
        principal: Principal,
        task_name: str,
        answer: Answer,
        time_spent_ms: int | None,
        *,
        want_next: bool = False,
        lookahead: bool = False,
    ) -> SubmitResult:
        """With `want_next`, the worker's next task is leased in the same
        transaction, so one round trip and one commit carry both."""
        require(principal, "worker")
        job_id, task_id = parse_task_name(task_name)
        if job_id != principal.job_id:
            raise NotFound(f"task {task_name} does not exist")
        spec = await self.reads.spec_of_job(job_id)
        validation.validate_answer(spec, answer, "answer")
        if time_spent_ms is not None:
            validation.check_range(
                "time_spent (seconds)", time_spent_ms / 1000, 0, spec.task_time_limit_seconds
            )

        def run(tx: Tx) -> SubmitResult:
            now = self.clock()
            spec = self.reads.fresh_spec(tx, job_id)
            result = dispatch.submit(tx, spec, principal.id, job_id, task_id, answer, time_spent_ms, now)
            if want_next:
                following = dispatch.next_task(tx, spec, principal.id, now, self.rng, lookahead=lookahead)
                result = replace(result, next=following)
            return result

        result = await self.store.write(run)
        if result.next is not None:
            result = replace(result, next=await self._with_pages(job_id, spec, result.next))
        return result

    async def _with_pages(self, job_id: int, spec: JobSpec, result: NextTaskResult) -> NextTaskResult:
        """The leased tasks with their Ground Truth template rendered, when the
        job has one. Rendered after the commit, outside the store thread:
        it presigns, and a template that fails for one item shows the worker
        why instead of failing the call."""
        source = _groundtruth_template(spec)
        if not source:
            return result
        owner_id = await self.reads.owner_of_job(job_id)
        # Off the event loop: a page of 25 presigned images takes some milliseconds.
        task = await asyncio.to_thread(self._page, source, owner_id, result.task)
        upcoming = await asyncio.to_thread(self._page, source, owner_id, result.upcoming)
        return replace(result, task=task, upcoming=upcoming)

    def _page(self, source: str, owner_id: int, task: Task | None) -> Task | None:
        if task is None:
            return None
        task_input = gt_template.task_input(task.payload_kind, task.payload, task.metadata)
        grant = presign.s3_grant(self.files_settings, owner_id, task.expires_at - self.clock())
        try:
            page = gt_template.render(source, {"input": task_input}, grant)
        except gt_template.TemplateError as err:
            log.warning("%s: the Ground Truth template failed: %s", task.name, err)
            page = gt_template.failed_page(str(err))
        return replace(task, rendered_template=page)

    async def release(self, principal: Principal, task_name: str, *, decline: bool, reason: str = "") -> None:
        """Gives a leased task back; a decline keeps the worker's reason for the job's owner."""
        require(principal, "worker")
        limit = validation.MAX_DECLINE_REASON_CHARS
        validation.require(
            len(reason) <= limit, f"reason must be at most {limit} characters, got {len(reason)}"
        )
        job_id, task_id = parse_task_name(task_name)
        if job_id != principal.job_id:
            raise NotFound(f"task {task_name} does not exist")
        kept = reason.strip()
        await self.store.write(
            lambda tx: dispatch.release(
                tx, principal.id, job_id, task_id, self.clock(), decline=decline, reason=kept
            )
        )

    async def extend(self, principal: Principal, task_name: str, seconds: float | None) -> float:
        require(principal, "worker")
        job_id, task_id = parse_task_name(task_name)
        if job_id != principal.job_id:
            raise NotFound(f"task {task_name} does not exist")

        def run(tx: Tx) -> float:
            limit = self.reads.fresh_spec(tx, job_id).task_time_limit_seconds
            wanted = limit if seconds is None else seconds
            validation.check_range("extension (seconds)", wanted, 1, limit)
            return dispatch.extend(tx, principal.id, job_id, task_id, wanted, self.clock())

        return await self.store.write(run)

    async def comment(self, principal: Principal, task_name: str, text: str) -> TaskComment:
        """Keeps a worker's comment on a task it was given, for the job's
        owner. Not only on the current lease: a worker may write after
        answering (a quiz question's feedback, say)."""
        require(principal, "worker")
        limit = validation.MAX_COMMENT_CHARS
        kept = text.strip()
        validation.require(kept != "", "text is required: write the comment (1 to 2000 characters)")
        validation.require(len(text) <= limit, f"text must be at most {limit} characters, got {len(text)}")
        job_id, task_id = parse_task_name(task_name)
        if job_id != principal.job_id:
            raise NotFound(f"task {task_name} does not exist")

        def run(tx: Tx) -> TaskComment:
            task = tx.task(task_id)
            if task is None or task.job_id != job_id or task.worker_id != principal.id:
                raise NotFound(f"task {task_name} does not exist")
            most = validation.MAX_COMMENTS_PER_TASK
            if tx.task_comment_count(task_id) >= most:
                raise ResourceExhausted(f"a task takes at most {most} comments; {task_name} has them")
            now = self.clock()
            comment_id = tx.insert_task_comment(job_id, task_id, principal.id, kept, now)
            worker, item = tx.worker(principal.id), tx.item(task.item_id)
            assert worker is not None and item is not None
            return TaskComment(
                comment_id, job_id, task_id, principal.id, worker.display_name, item.key, kept, now
            )

        return await self.store.write(run)

    async def worker_stats(self, principal: Principal) -> Worker:
        require(principal, "worker")
        row = await self.store.read(lambda tx: tx.worker(principal.id))
        if row is None:
            raise NotFound(f"worker {principal.id} does not exist")
        return worker_from_row(row)


def _groundtruth_template(spec: JobSpec) -> str:
    return task_kind(spec).groundtruth_template(spec)
