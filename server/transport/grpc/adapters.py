"""WorkforceAdapterService: what an adapter in its own process calls."""

from __future__ import annotations

from typing import Any

import grpc

from labelwire.server.core import Core
from labelwire.server.core.adapters import DUPLICATE, RECORDED
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import JobState
from labelwire.server.transport.grpc import convert
from labelwire.server.transport.grpc.context import caller, unary
from labelwire.v1 import adapter_service_pb2 as pb
from labelwire.v1 import adapter_service_pb2_grpc, job_pb2

Ctx = grpc.aio.ServicerContext[Any, Any]
OUTCOMES = {
    RECORDED: pb.JUDGMENT_OUTCOME_RECORDED,
    DUPLICATE: pb.JUDGMENT_OUTCOME_DUPLICATE,
}


def _states(values: Any) -> list[JobState]:
    states = []
    for i, value in enumerate(values):
        name = job_pb2.JobState.Name(value) if value in job_pb2.JobState.values() else ""
        if not name or value == job_pb2.JOB_STATE_UNSPECIFIED:
            raise InvalidArgument(f"states[{i}] {value} is not a job state", f"states[{i}]")
        states.append(JobState[name.removeprefix("JOB_STATE_")])
    return states


class AdapterServicer(adapter_service_pb2_grpc.WorkforceAdapterServiceServicer):
    def __init__(self, core: Core) -> None:
        self.core = core

    @unary
    async def AttachAdapter(self, request: pb.AttachAdapterRequest, context: Ctx) -> pb.AttachAdapterResponse:
        principal = await caller(self.core, context)
        adapter_id, name = await self.core.adapters.attach_adapter(
            principal, list(request.task_types), request.max_judgments_per_item
        )
        return pb.AttachAdapterResponse(adapter=f"adapters/{adapter_id}", adapter_name=name)

    @unary
    async def ListAdapterJobs(
        self, request: pb.ListAdapterJobsRequest, context: Ctx
    ) -> pb.ListAdapterJobsResponse:
        principal = await caller(self.core, context)
        jobs, token = await self.core.adapters.adapter_jobs(
            principal, _states(request.states), request.page_size, request.page_token
        )
        return pb.ListAdapterJobsResponse(jobs=[convert.job_message(j) for j in jobs], next_page_token=token)

    @unary
    async def GetAdapterJob(self, request: pb.GetAdapterJobRequest, context: Ctx) -> pb.GetAdapterJobResponse:
        job = await self.core.adapters.adapter_job(await caller(self.core, context), request.name)
        return pb.GetAdapterJobResponse(job=convert.job_message(job))

    @unary
    async def ClaimItems(self, request: pb.ClaimItemsRequest, context: Ctx) -> pb.ClaimItemsResponse:
        principal = await caller(self.core, context)
        items = await self.core.adapters.adapter_claim(
            principal, request.job, request.claim_id, request.max_items, request.fee_micros_per_judgment
        )
        return pb.ClaimItemsResponse(items=[convert.adapter_item_message(i) for i in items])

    @unary
    async def ListClaimedItems(
        self, request: pb.ListClaimedItemsRequest, context: Ctx
    ) -> pb.ListClaimedItemsResponse:
        items = await self.core.adapters.adapter_claimed(await caller(self.core, context), request.job)
        return pb.ListClaimedItemsResponse(items=[convert.adapter_item_message(i) for i in items])

    @unary
    async def ReturnItems(self, request: pb.ReturnItemsRequest, context: Ctx) -> pb.ReturnItemsResponse:
        await self.core.adapters.adapter_return(
            await caller(self.core, context), request.job, list(request.item_keys)
        )
        return pb.ReturnItemsResponse()

    @unary
    async def RecordJudgments(
        self, request: pb.RecordJudgmentsRequest, context: Ctx
    ) -> pb.RecordJudgmentsResponse:
        principal = await caller(self.core, context)
        judgments = [convert.adapter_judgment(j, f"judgments[{i}]") for i, j in enumerate(request.judgments)]
        results = await self.core.adapters.adapter_record(principal, request.job, judgments)
        return pb.RecordJudgmentsResponse(
            results=[
                pb.JudgmentResult(
                    judgment_id=r.judgment_id,
                    outcome=OUTCOMES.get(r.outcome, pb.JUDGMENT_OUTCOME_REJECTED),
                    reason=r.reason,
                )
                for r in results
            ]
        )

    @unary
    async def DiscountWorker(
        self, request: pb.DiscountWorkerRequest, context: Ctx
    ) -> pb.DiscountWorkerResponse:
        principal = await caller(self.core, context)
        await self.core.adapters.adapter_discount(principal, request.job, request.worker_id, request.reason)
        return pb.DiscountWorkerResponse()

    @unary
    async def FailItems(self, request: pb.FailItemsRequest, context: Ctx) -> pb.FailItemsResponse:
        principal = await caller(self.core, context)
        await self.core.adapters.adapter_fail_items(
            principal, request.job, list(request.item_keys), request.reason
        )
        return pb.FailItemsResponse()

    @unary
    async def FailJob(self, request: pb.FailJobRequest, context: Ctx) -> pb.FailJobResponse:
        await self.core.adapters.adapter_fail_job(
            await caller(self.core, context), request.job, request.reason
        )
        return pb.FailJobResponse()
