"""The owner's calls on labels, raw judgments and reports: mixed into `AsyncClient`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar

from labelwire.client.aio.base import (
    _mapped,
    _name,
    _translated,
    _translated_stream,
)
from labelwire.client.items import answer as to_answer
from labelwire.client.models import Job, Judgment, Label, Worker
from labelwire.client.pages import AsyncPages
from labelwire.client.raw import Client as RawClient
from labelwire.client.reports import (
    Calibration,
    Exported,
    JobQuality,
    Reliability,
    VerificationReport,
    WorkerOutliers,
)
from labelwire.v1 import (
    answer_pb2,
    label_service_pb2,
)

T = TypeVar("T")


LABEL_COLUMNS = (
    "key",
    "value",
    "confidence",
    "judgments",
    "revision",
    "human_annotated",
    "sequence",
    "method",
    "tie",
    "metadata",
)

JUDGMENT_COLUMNS = (
    "key",
    "worker",
    "value",
    "time_spent",
    "submitted",
    "phase",
    "gold",
    "gold_correct",
    "excluded",
    "excluded_reason",
    "account",
    "external_worker_id",
    "task",
)


class LabelMethods:
    """Labels, judgments, exports and quality reports; needs the raw `Client` as `raw`."""

    raw: RawClient

    def labels(
        self,
        job: Job | str,
        *,
        class_name: str = "",
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        method: str = "",
        human_annotated: bool | None = None,
        revised: bool = False,
        contested: bool = False,
        key_contains: str = "",
    ) -> AsyncPages[Label]:
        """The job's labels as they are now (one per labeled item), page by page;
        `.to_pandas()` gives one row per label. The keyword filters are applied on
        the server (confidence bounds inclusive; `revised`: past their first
        revision; `contested`: a tie or workers who disagreed)."""
        where = label_service_pb2.LabelFilter(
            class_name=class_name,
            min_confidence=min_confidence,
            max_confidence=max_confidence,
            method=method,
            human_annotated=human_annotated,
            revised=revised,
            contested=contested,
            item_key_contains=key_contains,
        )
        return AsyncPages(
            lambda: _translated_stream(_mapped(self.raw.list_labels(_name(job), where), Label.from_proto)),
            Label.row,
            LABEL_COLUMNS,
        )

    @_translated
    async def label_history(self, job: Job | str, key: str) -> list[Label]:
        """Every revision of one item's label, oldest first."""
        return [Label.from_proto(label) for label in await self.raw.label_revisions(_name(job), key)]

    async def stream_labels(
        self, job: Job | str, *, after: int = 0, snapshot_only: bool = False
    ) -> AsyncIterator[Label]:
        """Every label event after sequence `after`, following the job until it
        ends (or, with `snapshot_only`, until the labels so far are sent). A
        dropped connection (UNAVAILABLE) is resumed after the last label yielded,
        so nothing is lost or repeated; pass the last `sequence` you kept as
        `after` to resume in a later run."""
        source = self.raw.stream_labels(_name(job), after_sequence=after, snapshot_only=snapshot_only)
        async for label in _translated_stream(source):
            yield Label.from_proto(label)

    def judgments(
        self, job: Job | str, *, key: str = "", worker: Worker | str = "", instructions_version: int = 0
    ) -> AsyncPages[Judgment]:
        """Every worker's raw answer, in submission order (gold and excluded ones
        marked), page by page; `key`, `worker` or `instructions_version` (the
        judgments given under that version of the instructions) narrow it.
        `.to_pandas()` gives one row per judgment, ready for crowd-kit or an
        offline rerun of consolidation."""
        return AsyncPages(
            lambda: _translated_stream(
                _mapped(
                    self.raw.list_judgments(
                        _name(job),
                        item_key=key,
                        worker=_name(worker) if worker else "",
                        instructions_version=instructions_version,
                    ),
                    Judgment.from_proto,
                )
            ),
            Judgment.row,
            JUDGMENT_COLUMNS,
        )

    @_translated
    async def export_judgments(
        self,
        job: Job | str,
        uri: str,
        *,
        ground_truth: bool = False,
        label_job_name: str = "",
        csv: bool = False,
    ) -> Exported:
        """Writes every raw judgment to `uri` (as `export_labels`): one JSON line per
        judgment (with `csv`, one CSV row under a header), or with `ground_truth` one line
        per item in the form Ground Truth hands answers to an annotation-consolidation Lambda."""
        written = await self.raw.export_judgments(
            _name(job), uri, ground_truth=ground_truth, label_job_name=label_job_name, csv=csv
        )
        return Exported.from_proto(written)

    @_translated
    async def correct_label(
        self,
        job: Job | str,
        item_key: str,
        value: str | Sequence[str] | Mapping[str, Any] | answer_pb2.Answer,
    ) -> Label:
        """Replaces a labeled item's label with your answer (a class name, a list
        of class names, a custom answer's dict, or an Answer): the item's next
        revision in the feed, method `owner_correction`, kept by later passes."""
        return Label.from_proto(await self.raw.correct_label(_name(job), item_key, to_answer(value)))

    async def label_manifest(self, job: Job | str, *, label_job_name: str = "") -> AsyncIterator[str]:
        """The Ground Truth augmented manifest export_labels would write, line by
        line (each a JSON object, no line break), streamed to you: nothing is
        written on the server, so no files root or S3 prefix is needed."""
        source = self.raw.stream_label_manifest(_name(job), label_job_name=label_job_name)
        async for line in _translated_stream(source):
            yield line

    @_translated
    async def export_labels(self, job: Job | str, uri: str, *, label_job_name: str = "") -> Exported:
        """Writes every item as a Ground Truth augmented manifest line to `uri` (a
        path in your folder under the server's files root, or an allowed s3:// URI)."""
        return Exported.from_proto(
            await self.raw.export_labels(_name(job), uri, label_job_name=label_job_name)
        )

    @_translated
    async def quality(self, job: Job | str) -> JobQuality:
        """Agreement, cost, declines, the split by instructions version, and every
        worker's record (`.to_pandas()`: one row per worker)."""
        return JobQuality.from_proto(await self.raw.job_quality(_name(job)))

    @_translated
    async def calibration(
        self, job: Job | str, *, buckets: int = 10, target_precision: float = 0.95
    ) -> Calibration:
        """How far the model's pre-labels can be trusted, per class and confidence
        bucket (`.to_pandas()`), with the model-routing report when the job routes."""
        response = await self.raw.calibration(_name(job), buckets=buckets, target_precision=target_precision)
        return Calibration.from_proto(response)

    @_translated
    async def reliability(self, job: Job | str, *, bins: int = 10) -> Reliability:
        """The reliability table of a classification job's label confidences, measured on
        its gold: per equal-width confidence bin, the items, their mean confidence and the
        share right (`.to_pandas()`), and the expected calibration error."""
        return Reliability.from_proto(await self.raw.reliability(_name(job), bins=bins))

    @_translated
    async def worker_outliers(self, job: Job | str, *, item_limit: int | None = None) -> WorkerOutliers:
        """A box, key-point or number job's workers: how often their annotations are
        outliers against the items' labels, shrunk towards the pool's rate, and who is
        drifting; and its `item_limit` items of widest spread (default 100)."""
        return WorkerOutliers.from_proto(await self.raw.worker_outliers(_name(job), item_limit=item_limit))

    @_translated
    async def verification_report(
        self,
        job: Job | str,
        *,
        bucket_edges: Sequence[float] = (),
        split_counts_as_correct: bool = False,
        target_precision: float = 0.95,
        interval_level: float = 0.95,
    ) -> VerificationReport:
        """A verification job's bulk-QA table: per class and model-confidence bucket, confirmed,
        disconfirmed, split and % correct (`.to_pandas()`), and per class a threshold
        for `target_precision` (`.thresholds`)."""
        response = await self.raw.verification_report(
            _name(job),
            bucket_edges=bucket_edges,
            split_counts_as_correct=split_counts_as_correct,
            target_precision=target_precision,
            interval_level=interval_level,
        )
        return VerificationReport.from_proto(response)
