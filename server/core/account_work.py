"""Worker accounts, the worker's side: which jobs an account may work on,
the per-job worker row its calls act as (made the first time it starts a
job), and its record across jobs, as it sees it and as its client does."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable

from labelwire.server.core.account_records import (
    History,
    JobRecord,
    Totals,
    WorkerJob,
    job_status,
    totals_of,
)
from labelwire.server.core.base import (
    JobReads,
    checked_page_size,
    fitting,
    page_cursor,
    page_of,
    parse_name,
    parse_task_name,
    require,
    worker_from_row,
)
from labelwire.server.core.team_rules import require_member
from labelwire.server.dispatch.gate import estimated_skill, first_status
from labelwire.server.domain import validation
from labelwire.server.domain.errors import InvalidArgument, NotFound, PermissionDenied
from labelwire.server.domain.model import Principal, Worker, WorkerStatus
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import JobRow, WorkerRow


@dataclasses.dataclass(eq=False, kw_only=True)
class AccountWorkService:
    """An account's calls on a job act as its worker row there; its jobs and history."""

    store: Store
    reads: JobReads
    clock: Callable[[], float]

    def _admit(self, tx: Tx, account_id: int, job_id: int) -> JobRow:
        """The job's row, if the account may work on it. A job of another
        client does not exist for the account; one of its own client that
        names none of its teams is refused, naming the job."""
        job = tx.job(job_id)
        account = tx.account(account_id)
        if job is None or account is None or job.owner_id != int(account.owner_id):
            raise NotFound(f"jobs/{job_id} does not exist")
        require_member(tx, account_id, job_id)
        return job

    async def act_as(
        self, principal: Principal, *, job: str = "", task: str = "", start: bool = False
    ) -> Principal:
        """The per-job worker a WorkerService call acts as. A worker token is
        one already (and `job`, when given, must be its job). An account token
        names the job (`job`, or the job of `task`); the account's row in that
        job is made when `start` asks for it, and until then it is worker 0,
        which holds no task."""
        if principal.kind == "worker":
            if job and parse_name(job, "jobs", "job") != principal.job_id:
                raise PermissionDenied(
                    f"this worker token is for jobs/{principal.job_id} only, not {validation.quote(job)}"
                )
            return principal
        if principal.kind != "account":
            require(principal, "worker")
        if task:
            job_id = parse_task_name(task)[0]
        elif job:
            job_id = parse_name(job, "jobs", "job")
        else:
            raise InvalidArgument("job is required with a worker account token: jobs/<number>", "job")
        account_id = principal.id

        def look(tx: Tx) -> WorkerRow | None:
            self._admit(tx, account_id, job_id)
            return tx.account_worker(account_id, job_id)

        row = await self.store.read(look)
        if row is not None:
            worker_id = row.id
        elif start:
            worker_id = await self.store.write(lambda tx: self._start(tx, account_id, job_id))
        else:
            worker_id = 0
        return Principal(kind="worker", id=worker_id, job_id=job_id, account_id=account_id)

    def _start(self, tx: Tx, account_id: int, job_id: int) -> int:
        """The account's row in the job, made now if it has none: a new
        worker of the job, with the job's quiz ahead of it."""
        job = self._admit(tx, account_id, job_id)
        row = tx.account_worker(account_id, job_id)
        if row is not None:
            return row.id
        account = tx.account(account_id)
        assert account is not None
        status, quiz = first_status(self.reads.spec_of_row(job_id, job).gold)
        worker_id = tx.insert_worker(job_id, account.display_name, None, status, quiz, self.clock())
        tx.update_worker(worker_id, account_id=account_id)
        return worker_id

    async def worker_jobs(
        self, principal: Principal, page_size: int, page_token: str
    ) -> tuple[list[WorkerJob], str]:
        """What the caller may work on, newest first: an account's teams' jobs
        past their draft; a worker token's one job."""
        if principal.kind != "account":
            require(principal, "worker")
        size = checked_page_size(page_size)
        before = page_cursor(page_token, default=2**62)

        def page(tx: Tx) -> tuple[list[WorkerJob], bool]:
            if principal.kind == "worker":
                worker = tx.worker(principal.id)
                job = tx.job(principal.job_id)
                if worker is None or job is None or principal.job_id >= before:
                    return [], False
                return [self._worker_job(tx, job, worker_from_row(worker))], False
            rows = tx.jobs_of_account(principal.id, before, size + 1)
            keep = min(size, fitting([500 + len(r.spec) for r in rows]))
            out = []
            for row in rows[:keep]:
                mine = tx.account_worker(principal.id, row.id)
                out.append(self._worker_job(tx, row, None if mine is None else worker_from_row(mine)))
            return out, len(rows) > keep

        jobs, more = await self.store.read(page)
        return jobs, (str(jobs[-1].job.id) if more else "")

    def _worker_job(self, tx: Tx, row: JobRow, worker: Worker | None) -> WorkerJob:
        job = self.reads.job(tx, row, counted=False)
        return WorkerJob(job=job, status=job_status(job.state, worker), worker=worker)

    async def own_history(self, principal: Principal, page_size: int, page_token: str) -> History:
        """The caller's record on each job, as it may see it (its quizzes' gold alone)."""
        if principal.kind != "account":
            require(principal, "worker")
        size = checked_page_size(page_size)
        after = page_cursor(page_token, default=0)
        if principal.kind == "account":
            return await self.store.read(
                lambda tx: self.history(tx, principal.id, None, own=True, size=size, after=after)
            )
        return await self.store.read(
            lambda tx: self.history(tx, None, principal.id, own=True, size=size, after=after)
        )

    def history(
        self, tx: Tx, account_id: int | None, worker_id: int | None, *, own: bool, size: int, after: int
    ) -> History:
        if account_id is not None:
            rows = tx.account_workers(account_id, after, size + 1)
            name = f"workers/{account_id}"
            totals = totals_of(tx.account_totals(account_id), own=own)
        else:
            assert worker_id is not None
            single = tx.worker(worker_id)
            if single is None:
                raise NotFound(f"worker {worker_id} does not exist")
            only = worker_from_row(single)
            rows = [single] if worker_id > after else []
            name = only.name
            totals = Totals(
                jobs=1,
                qualified_jobs=int(only.status == WorkerStatus.QUALIFIED),
                disqualified_jobs=int(only.status in (WorkerStatus.FAILED_QUIZ, WorkerStatus.DISQUALIFIED)),
                judgments=only.judgments,
                gold_answered=only.quiz_answered if own else only.gold_answered,
                gold_correct=only.quiz_correct if own else only.gold_correct,
                last_active_at=only.last_active_at,
            )
        rows, token = page_of(rows, size, lambda r: r.id)
        records = [self._record(tx, row, own=own) for row in rows]
        return History(worker_name=name, jobs=records, totals=totals, next_page_token=token)

    def _record(self, tx: Tx, row: WorkerRow, *, own: bool) -> JobRecord:
        worker = worker_from_row(row)
        job = tx.job(worker.job_id)
        assert job is not None
        spec = self.reads.spec_of_row(worker.job_id, job)
        times = tx.work_times(worker.id)
        return JobRecord(
            job_id=worker.job_id,
            display_name=spec.display_name,
            job_state=job.state,
            price_per_judgment_micros=spec.price_per_judgment_micros,
            worker=worker,
            started_at=row.created_at,
            median_time_seconds=statistics.median(times) / 1000 if times else 0.0,
            skill=None if own else estimated_skill(worker.skill, worker.gold_answered, worker.gold_correct),
        )
