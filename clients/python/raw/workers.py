"""The worker's side: `WorkerClient` on one job, `WorkerAccountClient` for an account's jobs."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from labelwire.client.raw.channel import ChannelOptions, _Channel
from labelwire.v1 import (
    account_pb2,
    answer_pb2,
    task_pb2,
    worker_service_pb2,
    worker_service_pb2_grpc,
)


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

    async def next_task(self, *, lookahead: bool = False) -> worker_service_pb2.NextTaskResponse:
        """With `lookahead`, the response's `upcoming` holds the task after
        `task`, leased too, so a tool can load its content while `task` is worked."""
        response: worker_service_pb2.NextTaskResponse = await self.stub.NextTask(
            worker_service_pb2.NextTaskRequest(job=self.job, lookahead=lookahead), metadata=self.metadata
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
        self,
        target: str,
        token: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: ChannelOptions = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        super().__init__(target, token, credentials, options, interceptors)
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
