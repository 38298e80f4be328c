"""LabelService: thin translation onto the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from labelwire.server.core import Core
from labelwire.server.core.labels import LabelFilter
from labelwire.server.files import judgment_exports
from labelwire.server.transport.grpc import convert
from labelwire.server.transport.grpc.context import caller, streaming, unary
from labelwire.server.transport.grpc.streams import StreamSlots
from labelwire.v1 import label_service_pb2 as pb
from labelwire.v1 import label_service_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
STREAM_MESSAGE_BYTES = 1024 * 1024
EXPORT_FORMS = {
    pb.JUDGMENT_EXPORT_FORMAT_JSON_LINES: judgment_exports.FLAT,
    pb.JUDGMENT_EXPORT_FORMAT_GROUND_TRUTH: judgment_exports.GROUND_TRUTH,
    pb.JUDGMENT_EXPORT_FORMAT_CSV: judgment_exports.CSV,
}


class LabelServicer(label_service_pb2_grpc.LabelServiceServicer):
    def __init__(self, core: Core, *, streams: StreamSlots | None = None) -> None:
        self.core = core
        self.streams = streams or StreamSlots()

    @streaming
    async def StreamLabels(
        self, request: pb.StreamLabelsRequest, context: Ctx
    ) -> AsyncIterator[pb.StreamLabelsResponse]:
        principal = await caller(self.core, context)
        stream = self.core.labels.stream_labels(
            principal, request.job, request.after_sequence, request.snapshot_only
        )
        with self.streams.held(principal):
            async for labels in stream:
                out, size = pb.StreamLabelsResponse(), 0
                for label in labels:
                    message = out.labels.add()
                    convert.label_message(label, request.job, message)
                    grown = size + message.ByteSize() + 8
                    if grown > STREAM_MESSAGE_BYTES and len(out.labels) > 1:
                        out.labels.pop()
                        yield out
                        out = pb.StreamLabelsResponse()
                        convert.label_message(label, request.job, out.labels.add())
                        grown = out.ByteSize()
                    size = grown
                yield out

    @unary
    async def ListLabels(self, request: pb.ListLabelsRequest, context: Ctx) -> pb.ListLabelsResponse:
        principal = await caller(self.core, context)
        f = request.filter
        where = LabelFilter(
            class_name=f.class_name,
            min_confidence=f.min_confidence if f.HasField("min_confidence") else None,
            max_confidence=f.max_confidence if f.HasField("max_confidence") else None,
            method=f.method,
            human=f.human_annotated if f.HasField("human_annotated") else None,
            revised=f.revised,
            contested=f.contested,
            key_contains=f.item_key_contains,
        )
        labels, token = await self.core.labels.list_labels(
            principal, request.job, request.page_size, request.page_token, where
        )
        out = pb.ListLabelsResponse(next_page_token=token)
        for label in labels:
            convert.label_message(label, request.job, out.labels.add())
        return out

    @unary
    async def ExportLabels(self, request: pb.ExportLabelsRequest, context: Ctx) -> pb.ExportLabelsResponse:
        principal = await caller(self.core, context)
        lines, labeled = await self.core.exports.export_labels(
            principal, request.job, request.uri, request.label_job_name
        )
        return pb.ExportLabelsResponse(uri=request.uri, label_count=labeled, line_count=lines)

    @streaming
    async def StreamLabelManifest(
        self, request: pb.StreamLabelManifestRequest, context: Ctx
    ) -> AsyncIterator[pb.StreamLabelManifestResponse]:
        principal = await caller(self.core, context)
        with self.streams.held(principal):
            async for lines in self.core.exports.manifest_lines(
                principal, request.job, request.label_job_name
            ):
                out, size = pb.StreamLabelManifestResponse(), 0
                for line in lines:
                    grown = size + len(line.encode()) + 8
                    if grown > STREAM_MESSAGE_BYTES and out.lines:
                        yield out
                        out, grown = pb.StreamLabelManifestResponse(), len(line.encode()) + 8
                    out.lines.append(line)
                    size = grown
                yield out

    @unary
    async def ListLabelRevisions(
        self, request: pb.ListLabelRevisionsRequest, context: Ctx
    ) -> pb.ListLabelRevisionsResponse:
        principal = await caller(self.core, context)
        labels, truncated = await self.core.labels.label_revisions(principal, request.job, request.item_key)
        out = pb.ListLabelRevisionsResponse(truncated=truncated)
        for label in labels:
            convert.label_message(label, request.job, out.labels.add())
        return out

    @unary
    async def CorrectLabel(self, request: pb.CorrectLabelRequest, context: Ctx) -> pb.CorrectLabelResponse:
        principal = await caller(self.core, context)
        value = convert.answer_dict(request.value, "value") if request.HasField("value") else {}
        label = await self.core.labels.correct_label(principal, request.job, request.item_key, value)
        out = pb.CorrectLabelResponse()
        convert.label_message(label, request.job, out.label)
        return out

    @unary
    async def ListJudgments(self, request: pb.ListJudgmentsRequest, context: Ctx) -> pb.ListJudgmentsResponse:
        principal = await caller(self.core, context)
        judgments, token = await self.core.labels.list_judgments(
            principal,
            request.job,
            request.page_size,
            request.page_token,
            item_key=request.item_key,
            worker=request.worker,
            instructions_version=request.instructions_version,
        )
        out = pb.ListJudgmentsResponse(next_page_token=token)
        for judgment in judgments:
            convert.judgment_message(judgment, out.judgments.add())
        return out

    @unary
    async def ExportJudgments(
        self, request: pb.ExportJudgmentsRequest, context: Ctx
    ) -> pb.ExportJudgmentsResponse:
        principal = await caller(self.core, context)
        form = EXPORT_FORMS.get(request.format, "")
        lines, judgments = await self.core.exports.export_judgments(
            principal, request.job, request.uri, form, request.label_job_name
        )
        return pb.ExportJudgmentsResponse(uri=request.uri, line_count=lines, judgment_count=judgments)
