"""The worker's async clients: `AsyncWorkerClient` on one job, `AsyncWorkerAccountClient` for an account."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import grpc

from labelwire.client import raw
from labelwire.client.aio.base import (
    DEFAULT_ADDRESS,
    DEFAULT_TIMEOUT,
    _Base,
    _name,
    _translated,
    _translated_stream,
)
from labelwire.client.items import answer as to_answer
from labelwire.client.models import Comment, Task, Worker, WorkerJob
from labelwire.client.pages import AsyncPages
from labelwire.client.reports import Instructions, WorkerHistory
from labelwire.v1 import (
    answer_pb2,
)

T = TypeVar("T")


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
    async def instructions(self) -> Instructions:
        """The job's instructions, classes and time limit, as the worker sees them."""
        return Instructions.from_proto(await self.raw.instructions())

    @_translated
    async def next_task(self, *, lookahead: bool = False) -> Task | None:
        """Leases the next task, or None when there is none for this worker now
        (its `stats()` say why: a failed quiz, or no work left). With `lookahead`
        the task after it is leased too and comes as the task's `upcoming` (None
        when there is none), so a tool can load its content early; the next call
        (or `submit(..., want_next=True)`) then returns that task."""
        response = await self.raw.next_task(lookahead=lookahead)
        if not response.HasField("task"):
            return None
        return Task.from_proto(response.task, response.upcoming if response.HasField("upcoming") else None)

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
    async def comment(self, task: Task | str, text: str) -> Comment:
        """Leaves the job's owner a comment on one of this worker's tasks (1 to 2,000 characters)."""
        return Comment.from_proto(await self.raw.comment(_name(task), text))

    @_translated
    async def extend(self, task: Task | str, seconds: float | None = None) -> float:
        """Renews the lease (by the job's time limit unless `seconds`); when it now ends (Unix time)."""
        response = await self.raw.extend(_name(task), seconds)
        return response.lease_expire_time.ToNanoseconds() / 1e9

    @_translated
    async def stats(self) -> Worker:
        """The worker's own record on the job (its quiz, never its hidden-gold score)."""
        return Worker.from_proto(await self.raw.stats())


class AsyncWorkerAccountClient(_Base):
    """For a worker who signs in with its account's token (`lwa_…`): the jobs the
    account may work on, its own record, and a worker client for each job.

        async with AsyncWorkerAccountClient.from_env() as me:   # LABELWIRE_ACCOUNT_TOKEN
            async for job in me.jobs():
                async with me.for_job(job) as work:
                    task = await work.next_task()
    """

    _env_key: ClassVar[str] = "LABELWIRE_ACCOUNT_TOKEN"

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        token: str = "",
        *,
        tls: bool = False,
        root_certificates: bytes | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: bool = True,
    ) -> None:
        """As `AsyncClient`, with the account's sign-in token."""
        super().__init__(address, tls, root_certificates, credentials, timeout, retries)
        self._token = token
        self._options = {
            "tls": tls,
            "root_certificates": root_certificates,
            "credentials": credentials,
            "timeout": timeout,
            "retries": retries,
        }
        self._raw = self.raw = raw.WorkerAccountClient(address, token, **self._channel)

    def jobs(self) -> AsyncPages[WorkerJob]:
        """Every job past its draft that names one of the account's teams, newest
        first, with the account's status on each (`.to_pandas()`: one row per job)."""

        async def each() -> AsyncIterator[WorkerJob]:
            for job in await self.raw.list_jobs():
                yield WorkerJob.from_proto(job)

        columns = ("job", "display_name", "status", "job_state", "judgments", "price_per_judgment_micros")
        return AsyncPages(
            lambda: _translated_stream(each()), lambda j: {c: getattr(j, c) for c in columns}, columns
        )

    @_translated
    async def history(self) -> WorkerHistory:
        """The account's own record on every job it worked on (`.to_pandas()`: one
        row per job) and its totals."""
        return WorkerHistory.from_proto(await self.raw.history())

    def for_job(self, job: WorkerJob | str) -> AsyncWorkerClient:
        """A worker client for one of the account's jobs (`jobs/{j}`), on its own
        connection with the same settings; close it when done, or open it with
        `async with me.for_job(job) as work:`."""
        name = job.job if isinstance(job, WorkerJob) else job
        return AsyncWorkerClient(self.address, self._token, job=name, **self._options)  # type: ignore[arg-type]
