"""WorkerService: thin translation onto the core."""

from __future__ import annotations

from typing import Any

import grpc

from labelwire.server.core import Core
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import NextTaskResult
from labelwire.server.transport.grpc import convert
from labelwire.server.transport.grpc.accounts import WorkerAccountMethods, worker_caller
from labelwire.server.transport.grpc.context import unary
from labelwire.v1 import worker_service_pb2 as pb
from labelwire.v1 import worker_service_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class WorkerServicer(WorkerAccountMethods, worker_service_pb2_grpc.WorkerServiceServicer):
    def __init__(self, core: Core) -> None:
        self.core = core

    @unary
    async def GetInstructions(
        self, request: pb.GetInstructionsRequest, context: Ctx
    ) -> pb.GetInstructionsResponse:
        job = await self.core.work.instructions(await worker_caller(self.core, context, job=request.job))
        full = convert.job_message(job)
        return pb.GetInstructionsResponse(
            job=full.name,
            display_name=full.display_name,
            task_config=full.task_config,
            media_type=full.media_type,
            instructions=full.instructions,
            task_time_limit=full.task_time_limit,
            instructions_version=full.instructions_version,
        )

    @unary
    async def NextTask(self, request: pb.NextTaskRequest, context: Ctx) -> pb.NextTaskResponse:
        result = await self.core.work.next_task(
            await worker_caller(self.core, context, job=request.job, start=True), lookahead=request.lookahead
        )
        return _next_task_response(result)

    @unary
    async def SubmitJudgment(
        self, request: pb.SubmitJudgmentRequest, context: Ctx
    ) -> pb.SubmitJudgmentResponse:
        principal = await worker_caller(self.core, context, task=request.task)
        if not request.HasField("answer") or request.answer.WhichOneof("value") is None:
            raise InvalidArgument("answer is required", "answer")
        spent = convert.duration_seconds(request.time_spent)
        result = await self.core.work.submit(
            principal,
            request.task,
            convert.answer_dict(request.answer),
            None if spent is None else int(spent * 1000),
            want_next=request.want_next,
            lookahead=request.lookahead,
        )
        out = pb.SubmitJudgmentResponse(
            task=result.task_name, status=convert.worker_status(result.status), message=result.message
        )
        if result.quiz is not None:
            out.quiz_feedback.correct = result.quiz.correct
            out.quiz_feedback.expected_answer.CopyFrom(convert.answer_message(result.quiz.expected))
            out.quiz_feedback.explanation = result.quiz.explanation
        if result.next is not None:
            _next_task_response(result.next, out.next)
        return out

    @unary
    async def ReleaseTask(self, request: pb.ReleaseTaskRequest, context: Ctx) -> pb.ReleaseTaskResponse:
        await self.core.work.release(
            await worker_caller(self.core, context, task=request.task), request.task, decline=False
        )
        return pb.ReleaseTaskResponse()

    @unary
    async def DeclineTask(self, request: pb.DeclineTaskRequest, context: Ctx) -> pb.DeclineTaskResponse:
        if len(request.reason) > 1000:
            raise InvalidArgument(
                f"reason must be at most 1000 characters, got {len(request.reason)}", "reason"
            )
        await self.core.work.release(
            await worker_caller(self.core, context, task=request.task),
            request.task,
            decline=True,
            reason=request.reason,
        )
        return pb.DeclineTaskResponse()

    @unary
    async def ExtendLease(self, request: pb.ExtendLeaseRequest, context: Ctx) -> pb.ExtendLeaseResponse:
        principal = await worker_caller(self.core, context, task=request.task)
        expires = await self.core.work.extend(
            principal, request.task, convert.duration_seconds(request.extension)
        )
        return pb.ExtendLeaseResponse(lease_expire_time=convert.timestamp(expires))

    @unary
    async def GetWorkerStats(
        self, request: pb.GetWorkerStatsRequest, context: Ctx
    ) -> pb.GetWorkerStatsResponse:
        worker = await self.core.work.worker_stats(
            await worker_caller(self.core, context, job=request.job, start=True)
        )
        return pb.GetWorkerStatsResponse(stats=convert.worker_message(worker, own=True))

    @unary
    async def CommentOnTask(self, request: pb.CommentOnTaskRequest, context: Ctx) -> pb.CommentOnTaskResponse:
        principal = await worker_caller(self.core, context, task=request.task)
        comment = await self.core.work.comment(principal, request.task, request.text)
        return pb.CommentOnTaskResponse(comment=convert.comment_message(comment))


def _next_task_response(
    result: NextTaskResult, out: pb.NextTaskResponse | None = None
) -> pb.NextTaskResponse:
    """Built in place (in `out`, SubmitJudgment's `next`, when given): no message is copied."""
    out = pb.NextTaskResponse() if out is None else out
    out.status = convert.worker_status(result.status)
    out.message = result.message
    if result.task is not None:
        convert.task_message(result.task, out.task)
    if result.upcoming is not None:
        convert.task_message(result.upcoming, out.upcoming)
    if result.retry_after:
        out.retry_after.CopyFrom(convert.duration(result.retry_after))
    return out
