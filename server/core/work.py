"""The worker's side: leasing tasks, submitting judgments, the worker's record."""

from __future__ import annotations

from dataclasses import replace

from labelwire.server.core.base import CoreBase, parse_task_name, worker_from_row
from labelwire.server.core.team_rules import require_member
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.domain import validation
from labelwire.server.domain.errors import (
    NotFound,
)
from labelwire.server.domain.model import (
    Answer,
    Job,
    NextTaskResult,
    Principal,
    SubmitResult,
    Worker,
)
from labelwire.server.store import Tx


class WorkCore(CoreBase):
    async def instructions(self, principal: Principal) -> Job:
        self.require(principal, "worker")
        return await self.store.read(lambda tx: self._job(tx, self.require_job_row(tx, principal.job_id)))

    async def next_task(self, principal: Principal, *, lookahead: bool = False) -> NextTaskResult:
        self.require(principal, "worker")

        def lease(tx: Tx) -> NextTaskResult:
            if principal.account_id:
                require_member(tx, principal.account_id, principal.job_id)
            spec = self.fresh_spec(tx, principal.job_id)
            return dispatch.next_task(tx, spec, principal.id, self.clock(), self._rng, lookahead=lookahead)

        return await self.store.write(lease)

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

        def run(tx: Tx) -> SubmitResult:
            now = self.clock()
            spec = self.fresh_spec(tx, job_id)
            result = dispatch.submit(tx, spec, principal.id, job_id, task_id, answer, time_spent_ms, now)
            if want_next:
                following = dispatch.next_task(tx, spec, principal.id, now, self._rng, lookahead=lookahead)
                result = replace(result, next=following)
            return result

        return await self.store.write(run)

    async def release(self, principal: Principal, task_name: str, *, decline: bool, reason: str = "") -> None:
        """Gives a leased task back; a decline keeps the worker's reason for the job's owner."""
        self.require(principal, "worker")
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
        self.require(principal, "worker")
        job_id, task_id = parse_task_name(task_name)
        if job_id != principal.job_id:
            raise NotFound(f"task {task_name} does not exist")

        def run(tx: Tx) -> float:
            limit = self.fresh_spec(tx, job_id).task_time_limit_seconds
            wanted = limit if seconds is None else seconds
            validation.check_range("extension (seconds)", wanted, 1, limit)
            return dispatch.extend(tx, principal.id, job_id, task_id, wanted, self.clock())

        return await self.store.write(run)

    async def worker_stats(self, principal: Principal) -> Worker:
        self.require(principal, "worker")
        row = await self.store.read(lambda tx: tx.worker(principal.id))
        if row is None:
            raise NotFound(f"worker {principal.id} does not exist")
        return worker_from_row(row)
