"""The owner's calls on labels, judgments and quality, mixed into `Client`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc

from labelwire.v1 import (
    answer_pb2,
    judgment_pb2,
    label_pb2,
    label_service_pb2,
    label_service_pb2_grpc,
    quality_service_pb2,
    quality_service_pb2_grpc,
)

RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# A label stream reconnects this many times in a row (backoff doubling from the
# first delay up to the cap, about 40 s in all: enough for a server restart)
# before the error reaches the caller; each label received starts the count again.
MAX_RECONNECTS = 8
RECONNECT_FIRST_DELAY = 0.5
RECONNECT_MAX_DELAY = 8.0


class LabelCalls:
    """The owner's calls on labels, raw judgments and quality reports (LabelService,
    QualityService); needs `metadata`, a `labels` and a `quality` stub from the client."""

    metadata: Any
    labels: label_service_pb2_grpc.LabelServiceAsyncStub
    quality: quality_service_pb2_grpc.QualityServiceAsyncStub

    async def stream_labels(
        self, job: str, *, after_sequence: int = 0, snapshot_only: bool = False, reconnect: bool = True
    ) -> AsyncIterator[label_pb2.Label]:
        """Every label event after `after_sequence`, following the job until it
        ends. A dropped connection is resumed from the last label yielded, with
        backoff, up to `MAX_RECONNECTS` times in a row."""
        last = after_sequence
        failures = 0
        while True:
            request = label_service_pb2.StreamLabelsRequest(
                job=job, after_sequence=last, snapshot_only=snapshot_only
            )
            try:
                async for message in self.labels.StreamLabels(request, metadata=self.metadata):
                    for label in message.labels:
                        last = label.sequence
                        failures = 0
                        yield label
                return
            except grpc.aio.AioRpcError as exc:
                failures += 1
                if not reconnect or exc.code() not in RETRYABLE or failures > MAX_RECONNECTS:
                    raise
                await asyncio.sleep(min(RECONNECT_FIRST_DELAY * 2 ** (failures - 1), RECONNECT_MAX_DELAY))

    async def list_labels(
        self, job: str, where: label_service_pb2.LabelFilter | None = None, *, page_size: int = 0
    ) -> AsyncIterator[label_pb2.Label]:
        """Every current label, or those that pass `where` (filtered on the
        server; a filtered page may be short or empty before the end)."""
        token = ""
        while True:
            page = await self.labels.ListLabels(
                label_service_pb2.ListLabelsRequest(
                    job=job, page_token=token, filter=where, page_size=page_size
                ),
                metadata=self.metadata,
            )
            for label in page.labels:
                yield label
            token = page.next_page_token
            if not token:
                return

    async def label_revisions(self, job: str, item_key: str) -> list[label_pb2.Label]:
        """Every revision of the item's label, oldest first."""
        response = await self.labels.ListLabelRevisions(
            label_service_pb2.ListLabelRevisionsRequest(job=job, item_key=item_key), metadata=self.metadata
        )
        return list(response.labels)

    async def correct_label(self, job: str, item_key: str, value: answer_pb2.Answer) -> label_pb2.Label:
        """Replaces a labeled item's label with your answer: its next revision
        in the feed (method `owner_correction`), kept by later passes."""
        response = await self.labels.CorrectLabel(
            label_service_pb2.CorrectLabelRequest(job=job, item_key=item_key, value=value),
            metadata=self.metadata,
        )
        return response.label

    async def list_judgments(
        self, job: str, *, item_key: str = "", worker: str = "", instructions_version: int = 0
    ) -> AsyncIterator[judgment_pb2.Judgment]:
        """Every raw judgment of the job in submission order, gold and excluded
        ones marked; `item_key`, `worker` or `instructions_version` narrow it."""
        token = ""
        while True:
            page = await self.labels.ListJudgments(
                label_service_pb2.ListJudgmentsRequest(
                    job=job,
                    page_token=token,
                    item_key=item_key,
                    worker=worker,
                    instructions_version=instructions_version,
                ),
                metadata=self.metadata,
            )
            for judgment in page.judgments:
                yield judgment
            token = page.next_page_token
            if not token:
                return

    async def export_judgments(
        self, job: str, uri: str, *, ground_truth: bool = False, label_job_name: str = "", csv: bool = False
    ) -> label_service_pb2.ExportJudgmentsResponse:
        """Every raw judgment written to `uri`: one JSON line per judgment (with `csv`,
        one CSV row), or with `ground_truth` one line per item as Ground Truth hands
        answers to a consolidation Lambda."""
        form = (
            label_service_pb2.JUDGMENT_EXPORT_FORMAT_GROUND_TRUTH
            if ground_truth
            else label_service_pb2.JUDGMENT_EXPORT_FORMAT_CSV
            if csv
            else label_service_pb2.JUDGMENT_EXPORT_FORMAT_JSON_LINES
        )
        response: label_service_pb2.ExportJudgmentsResponse = await self.labels.ExportJudgments(
            label_service_pb2.ExportJudgmentsRequest(
                job=job, uri=uri, format=form, label_job_name=label_job_name
            ),
            metadata=self.metadata,
        )
        return response

    async def stream_label_manifest(self, job: str, *, label_job_name: str = "") -> AsyncIterator[str]:
        """The lines export_labels would write, each a JSON object, in item
        order, written nowhere on the server."""
        request = label_service_pb2.StreamLabelManifestRequest(job=job, label_job_name=label_job_name)
        async for message in self.labels.StreamLabelManifest(request, metadata=self.metadata):
            for line in message.lines:
                yield line

    async def export_labels(
        self, job: str, uri: str, *, label_job_name: str = ""
    ) -> label_service_pb2.ExportLabelsResponse:
        """Every item as a Ground Truth augmented manifest line, written to `uri`
        (a path in your folder under the server's files root, or an allowed s3:// URI)."""
        response: label_service_pb2.ExportLabelsResponse = await self.labels.ExportLabels(
            label_service_pb2.ExportLabelsRequest(job=job, uri=uri, label_job_name=label_job_name),
            metadata=self.metadata,
        )
        return response

    async def job_quality(self, job: str) -> quality_service_pb2.GetJobQualityResponse:
        """Agreement, cost and every worker's record."""
        response: quality_service_pb2.GetJobQualityResponse = await self.quality.GetJobQuality(
            quality_service_pb2.GetJobQualityRequest(job=job), metadata=self.metadata
        )
        return response

    async def calibration(
        self, job: str, *, buckets: int = 10, target_precision: float = 0.95
    ) -> quality_service_pb2.GetCalibrationResponse:
        """How far the model's pre-labels can be trusted, per class."""
        response: quality_service_pb2.GetCalibrationResponse = await self.quality.GetCalibration(
            quality_service_pb2.GetCalibrationRequest(
                job=job, buckets=buckets, target_precision=target_precision
            ),
            metadata=self.metadata,
        )
        return response

    async def reliability(self, job: str, *, bins: int = 10) -> quality_service_pb2.GetReliabilityResponse:
        """How often the job's labels are right at each stated confidence, on its gold."""
        response: quality_service_pb2.GetReliabilityResponse = await self.quality.GetReliability(
            quality_service_pb2.GetReliabilityRequest(job=job, bins=bins), metadata=self.metadata
        )
        return response

    async def worker_outliers(
        self, job: str, *, item_limit: int | None = None
    ) -> quality_service_pb2.GetWorkerOutliersResponse:
        """A box, key-point or number job's workers (outlier rate, shrunk rate,
        drifting) and its `item_limit` items of widest spread (server default 100)."""
        request = quality_service_pb2.GetWorkerOutliersRequest(job=job)
        if item_limit is not None:
            request.item_limit = item_limit
        response: quality_service_pb2.GetWorkerOutliersResponse = await self.quality.GetWorkerOutliers(
            request, metadata=self.metadata
        )
        return response

    async def verification_report(
        self,
        job: str,
        *,
        bucket_edges: Sequence[float] = (),
        split_counts_as_correct: bool = False,
        target_precision: float = 0.95,
        interval_level: float = 0.95,
    ) -> quality_service_pb2.GetVerificationReportResponse:
        """A verification job's bulk-QA table and per-class thresholds."""
        response: quality_service_pb2.GetVerificationReportResponse = (
            await self.quality.GetVerificationReport(
                quality_service_pb2.GetVerificationReportRequest(
                    job=job,
                    bucket_edges=list(bucket_edges),
                    split_counts_as_correct=split_counts_as_correct,
                    target_precision=target_precision,
                    interval_level=interval_level,
                ),
                metadata=self.metadata,
            )
        )
        return response
