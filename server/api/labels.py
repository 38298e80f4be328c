"""LabelService: thin translation onto the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from labelwire.server.api import convert
from labelwire.server.api.context import caller, streaming, unary
from labelwire.server.core import Core
from labelwire.v1 import label_service_pb2 as pb
from labelwire.v1 import label_service_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class LabelServicer(label_service_pb2_grpc.LabelServiceServicer):
    def __init__(self, core: Core) -> None:
        self.core = core

    @streaming
    async def StreamLabels(
        self, request: pb.StreamLabelsRequest, context: Ctx
    ) -> AsyncIterator[pb.StreamLabelsResponse]:
        principal = await caller(self.core, context)
        stream = self.core.stream_labels(
            principal, request.job, request.after_sequence, request.snapshot_only
        )
        async for labels in stream:
            out = pb.StreamLabelsResponse()
            for label in labels:
                convert.label_message(label, request.job, out.labels.add())
            yield out

    @unary
    async def ListLabels(self, request: pb.ListLabelsRequest, context: Ctx) -> pb.ListLabelsResponse:
        principal = await caller(self.core, context)
        labels, token = await self.core.list_labels(
            principal, request.job, request.page_size, request.page_token
        )
        out = pb.ListLabelsResponse(next_page_token=token)
        for label in labels:
            convert.label_message(label, request.job, out.labels.add())
        return out

    @unary
    async def ExportLabels(self, request: pb.ExportLabelsRequest, context: Ctx) -> pb.ExportLabelsResponse:
        principal = await caller(self.core, context)
        lines, labeled = await self.core.export_labels(
            principal, request.job, request.uri, request.label_job_name
        )
        return pb.ExportLabelsResponse(uri=request.uri, label_count=labeled, line_count=lines)
