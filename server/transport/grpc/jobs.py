"""JobService: thin translation onto the core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from labelwire.server.core import Core
from labelwire.server.core.jobs import Upload
from labelwire.server.core.labels import ItemView
from labelwire.server.domain import validation
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import ItemInput, ItemState
from labelwire.server.transport.grpc import convert
from labelwire.server.transport.grpc.context import caller, streaming, unary
from labelwire.server.transport.grpc.streams import StreamSlots
from labelwire.v1 import job_service_pb2 as pb
from labelwire.v1 import job_service_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
# How long a stream that ended without `end` waits for grpc to report a break
# before its end counts as the client's half-close.
BREAK_NOTICE_SECONDS = 0.02
CONVERT_SLICE = 100
ITEM_STATES = {
    ItemState.OPEN: pb.ITEM_STATE_OPEN,
    ItemState.LABELED: pb.ITEM_STATE_LABELED,
    ItemState.FAILED: pb.ITEM_STATE_FAILED,
}
FORMATS = {pb.MANIFEST_FORMAT_JSON_LINES: "jsonl", pb.MANIFEST_FORMAT_CSV: "csv"}


async def _items_of(request: pb.AddItemsRequest | pb.AddItemBatchRequest, field: str) -> list[ItemInput]:
    """Converts a message's items a slice at a time, letting other calls in
    between: 10,000 items take tens of milliseconds."""
    out: list[ItemInput] = []
    for first in range(0, len(request.items), CONVERT_SLICE):
        if first:
            await asyncio.sleep(0)
        out += [
            convert.item_input(item, f"{field}[{n}]")
            for n, item in enumerate(request.items[first : first + CONVERT_SLICE], first)
        ]
    return out


class JobServicer(job_service_pb2_grpc.JobServiceServicer):
    def __init__(self, core: Core, *, streams: StreamSlots | None = None) -> None:
        self.core = core
        self.streams = streams or StreamSlots()

    @unary
    async def CreateJob(self, request: pb.CreateJobRequest, context: Ctx) -> pb.CreateJobResponse:
        principal = await caller(self.core, context)
        if not request.HasField("job"):
            raise InvalidArgument("job is required", "job")
        job = await self.core.jobs.create_job(principal, convert.job_spec(request.job))
        return pb.CreateJobResponse(job=convert.job_message(job))

    @unary
    async def GetJob(self, request: pb.GetJobRequest, context: Ctx) -> pb.GetJobResponse:
        principal = await caller(self.core, context)
        job = await self.core.jobs.view_job(principal, request.name)
        return pb.GetJobResponse(job=convert.job_message(job))

    @streaming
    async def WatchJob(self, request: pb.WatchJobRequest, context: Ctx) -> AsyncIterator[pb.WatchJobResponse]:
        principal = await caller(self.core, context)
        with self.streams.held(principal):
            async for job in self.core.watch.watch_job(principal, request.name):
                yield (
                    pb.WatchJobResponse()
                    if job is None
                    else pb.WatchJobResponse(job=convert.job_message(job))
                )

    @unary
    async def UpdateJob(self, request: pb.UpdateJobRequest, context: Ctx) -> pb.UpdateJobResponse:
        principal = await caller(self.core, context)
        paths = convert.mask_paths(request.update_mask)
        job = await self.core.jobs.update_job(
            principal,
            request.job.name,
            paths,
            lambda current: convert.merged_job_spec(current, request.job, request.update_mask),
        )
        return pb.UpdateJobResponse(job=convert.job_message(job))

    @unary
    async def ListJobs(self, request: pb.ListJobsRequest, context: Ctx) -> pb.ListJobsResponse:
        principal = await caller(self.core, context)
        jobs, token = await self.core.jobs.list_jobs(principal, request.page_size, request.page_token)
        return pb.ListJobsResponse(jobs=[convert.job_message(j) for j in jobs], next_page_token=token)

    @unary
    async def StartJob(self, request: pb.StartJobRequest, context: Ctx) -> pb.StartJobResponse:
        principal = await caller(self.core, context)
        job = await self.core.jobs.change_state(
            principal,
            request.name,
            "start",
            pilot_size=request.pilot_size,
            pilot_seed=request.pilot_seed if request.HasField("pilot_seed") else None,
        )
        return pb.StartJobResponse(job=convert.job_message(job))

    @unary
    async def PauseJob(self, request: pb.PauseJobRequest, context: Ctx) -> pb.PauseJobResponse:
        job = await self.core.jobs.change_state(await caller(self.core, context), request.name, "pause")
        return pb.PauseJobResponse(job=convert.job_message(job))

    @unary
    async def ResumeJob(self, request: pb.ResumeJobRequest, context: Ctx) -> pb.ResumeJobResponse:
        job = await self.core.jobs.change_state(await caller(self.core, context), request.name, "resume")
        return pb.ResumeJobResponse(job=convert.job_message(job))

    @unary
    async def CancelJob(self, request: pb.CancelJobRequest, context: Ctx) -> pb.CancelJobResponse:
        job = await self.core.jobs.change_state(await caller(self.core, context), request.name, "cancel")
        return pb.CancelJobResponse(job=convert.job_message(job))

    @unary
    async def AddItems(
        self, requests: AsyncIterator[pb.AddItemsRequest], context: Ctx
    ) -> pb.AddItemsResponse:
        """All or nothing. grpc.aio ends the request iterator the same way when
        the client half-closes and when the stream breaks; a break reaches this
        task a moment later as a cancellation. So the items are published only
        after a message with `end` (when the client promised one) or after that
        moment has passed, and the final step refuses once the stream broke."""
        principal = await caller(self.core, context)
        upload: Upload | None = None
        explicit = ended = False
        messages = 0
        try:
            async for request in requests:
                messages += 1
                if ended:
                    raise InvalidArgument("no AddItems message may follow the one with end set", "end")
                if upload is None:
                    upload = await self.core.jobs.begin_upload(principal, request.job)
                    explicit = request.explicit_end
                elif request.job and request.job != upload.job.name:
                    raise InvalidArgument(
                        f"job must be the same in every message: {upload.job.name},"
                        f" got {validation.quote(request.job)}",
                        "job",
                    )
                await upload.add(await _items_of(request, f"items (message {messages})"))
                ended = request.end
            if upload is None:
                raise InvalidArgument("job is required in the first AddItems message", "job")
            if explicit and not ended:
                raise InvalidArgument(
                    "the stream set explicit_end but closed without a message with end set; nothing was added",
                    "end",
                )
            if not ended:
                await asyncio.sleep(BREAK_NOTICE_SECONDS)
            if context.cancelled() or context.done():
                raise asyncio.CancelledError()
            result = await upload.commit()
        except BaseException:
            if upload is not None:
                upload.mark_broken()
                await upload.abort()
            raise
        return pb.AddItemsResponse(
            added_count=result.added, duplicate_count=result.duplicates, gold_count=result.gold
        )

    @unary
    async def AddItemBatch(self, request: pb.AddItemBatchRequest, context: Ctx) -> pb.AddItemBatchResponse:
        """AddItems in one request, for callers that cannot stream one (a browser)."""
        principal = await caller(self.core, context)
        if not request.items:
            raise InvalidArgument("items must have at least 1 item", "items")
        upload = await self.core.jobs.begin_upload(principal, request.job)
        try:
            await upload.add(await _items_of(request, "items"), "items")
            result = await upload.commit()
        except BaseException:
            upload.mark_broken()
            await upload.abort()
            raise
        return pb.AddItemBatchResponse(
            added_count=result.added, duplicate_count=result.duplicates, gold_count=result.gold
        )

    @unary
    async def ImportManifest(
        self, request: pb.ImportManifestRequest, context: Ctx
    ) -> pb.ImportManifestResponse:
        principal = await caller(self.core, context)
        if not request.uri:
            raise InvalidArgument("uri is required", "uri")
        if request.format not in (pb.MANIFEST_FORMAT_UNSPECIFIED, *FORMATS):
            known = ", ".join(pb.ManifestFormat.Name(f) for f in FORMATS)
            raise InvalidArgument(f"format {request.format} is not one of {known}", "format")
        result = await self.core.jobs.import_manifest(
            principal,
            request.job,
            request.uri,
            FORMATS.get(request.format, ""),
            request.key_field,
            request.gold_field,
            request.gold_explanation_field,
        )
        return pb.ImportManifestResponse(
            added_count=result.added, duplicate_count=result.duplicates, gold_count=result.gold
        )

    @unary
    async def CreateWorker(self, request: pb.CreateWorkerRequest, context: Ctx) -> pb.CreateWorkerResponse:
        principal = await caller(self.core, context)
        ttl = convert.seconds_of(request.token_ttl, "token_ttl")
        worker, token = await self.core.jobs.create_worker(principal, request.job, request.display_name, ttl)
        return pb.CreateWorkerResponse(worker=convert.worker_message(worker), token=token)

    @unary
    async def ListTaskComments(
        self, request: pb.ListTaskCommentsRequest, context: Ctx
    ) -> pb.ListTaskCommentsResponse:
        principal = await caller(self.core, context)
        comments, token = await self.core.jobs.task_comments(
            principal, request.job, request.page_size, request.page_token
        )
        return pb.ListTaskCommentsResponse(
            comments=[convert.comment_message(c) for c in comments], next_page_token=token
        )

    @unary
    async def ListTaskDeclines(
        self, request: pb.ListTaskDeclinesRequest, context: Ctx
    ) -> pb.ListTaskDeclinesResponse:
        principal = await caller(self.core, context)
        declines, token = await self.core.jobs.task_declines(
            principal, request.job, request.page_size, request.page_token
        )
        out = pb.ListTaskDeclinesResponse(next_page_token=token)
        for d in declines:
            out.declines.add(
                worker=f"{request.job}/workers/{d.worker_id}",
                worker_display_name=d.worker_display_name,
                reason=d.reason,
                decline_time=convert.timestamp(d.declined_at),
                item_key=d.item_key,
            )
        return out

    @unary
    async def GetItem(self, request: pb.GetItemRequest, context: Ctx) -> pb.GetItemResponse:
        principal = await caller(self.core, context)
        return _item_response(await self.core.labels.item_view(principal, request.job, request.item_key))

    @unary
    async def ListWorkers(self, request: pb.ListWorkersRequest, context: Ctx) -> pb.ListWorkersResponse:
        principal = await caller(self.core, context)
        workers, token = await self.core.jobs.list_workers(
            principal, request.job, request.page_size, request.page_token
        )
        return pb.ListWorkersResponse(
            workers=[convert.worker_message(w) for w in workers], next_page_token=token
        )

    @unary
    async def RevokeWorkerToken(
        self, request: pb.RevokeWorkerTokenRequest, context: Ctx
    ) -> pb.RevokeWorkerTokenResponse:
        worker = await self.core.credentials.revoke_worker_token(
            await caller(self.core, context), request.worker
        )
        return pb.RevokeWorkerTokenResponse(worker=convert.worker_message(worker))

    @unary
    async def RotateWorkerToken(
        self, request: pb.RotateWorkerTokenRequest, context: Ctx
    ) -> pb.RotateWorkerTokenResponse:
        principal = await caller(self.core, context)
        grace = convert.seconds_of(request.grace_period, "grace_period")
        ttl = convert.seconds_of(request.token_ttl, "token_ttl")
        worker, token = await self.core.credentials.rotate_worker_token(principal, request.worker, grace, ttl)
        return pb.RotateWorkerTokenResponse(worker=convert.worker_message(worker), token=token)

    @unary
    async def SetJobTeams(self, request: pb.SetJobTeamsRequest, context: Ctx) -> pb.SetJobTeamsResponse:
        job = await self.core.accounts.set_job_teams(
            await caller(self.core, context), request.job, list(request.teams)
        )
        return pb.SetJobTeamsResponse(job=convert.job_message(job))

    @unary
    async def DisqualifyWorker(
        self, request: pb.DisqualifyWorkerRequest, context: Ctx
    ) -> pb.DisqualifyWorkerResponse:
        worker = await self.core.quality.disqualify_worker(await caller(self.core, context), request.worker)
        return pb.DisqualifyWorkerResponse(worker=convert.worker_message(worker))

    @unary
    async def RequalifyWorker(
        self, request: pb.RequalifyWorkerRequest, context: Ctx
    ) -> pb.RequalifyWorkerResponse:
        worker = await self.core.quality.requalify_worker(await caller(self.core, context), request.worker)
        return pb.RequalifyWorkerResponse(worker=convert.worker_message(worker))


def _item_response(view: ItemView) -> pb.GetItemResponse:
    out = pb.GetItemResponse(
        state=ITEM_STATES[view.state],
        failure_reason=view.failure_reason,
        comments=[convert.comment_message(c) for c in view.comments],
        routed_from_job=f"jobs/{view.routed_from_job}" if view.routed_from_job is not None else "",
        source_url=view.source_url,
    )
    job = f"jobs/{view.job_id}"
    for d in view.declines:
        out.declines.add(
            worker=f"{job}/workers/{d.worker_id}",
            worker_display_name=d.worker_display_name,
            reason=d.reason,
            decline_time=convert.timestamp(d.declined_at),
        )
    convert.item_message(view.item, out.item)
    if view.label is not None:
        convert.label_message(view.label, f"jobs/{view.label.job_id}", out.label)
    return out
