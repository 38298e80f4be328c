"""The owner's reports as plain Python: a job's quality, the model's calibration
(in `calibration`, re-exported here), a verification job's bulk-QA table, what
an export wrote, the instructions a worker reads and a worker account's history.
Each keeps its message in `.proto`; the tabular ones turn into a DataFrame with
`to_pandas()` (one row per worker, per class and bucket, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format

from labelwire.client.calibration import (
    BucketRow,
    Calibration,
    ClassThreshold,
    Reliability,
    ReliabilityBin,
    RoutingRow,
)
from labelwire.client.models import Worker
from labelwire.client.pages import _frame
from labelwire.client.values import _enum_name
from labelwire.v1 import job_pb2, label_service_pb2, quality_service_pb2, team_service_pb2, worker_service_pb2

if TYPE_CHECKING:
    import pandas

__all__ = [
    "BucketRow",
    "Calibration",
    "ClassThreshold",
    "Exported",
    "Instructions",
    "JobQuality",
    "JobRecord",
    "Reliability",
    "ReliabilityBin",
    "RoutingRow",
    "VerificationReport",
    "VerificationRow",
    "WorkerHistory",
    "WorkerQuality",
]


@dataclass(frozen=True)
class WorkerQuality:
    """One worker's record on a job: its stats, how often it agrees with the
    labels, its median time per task and the skill consolidation estimated."""

    worker: Worker
    agreement_with_label: float
    median_time_seconds: float
    estimated_skill: float
    declined: int
    work_skill: float | None

    def row(self) -> dict[str, Any]:
        """The record as one flat row."""
        return {
            "worker": self.worker.name,
            "display_name": self.worker.display_name,
            "status": self.worker.status,
            "judgments": self.worker.judgments,
            "gold_answered": self.worker.gold_answered,
            "gold_correct": self.worker.gold_correct,
            "agreement_with_label": self.agreement_with_label,
            "median_time_seconds": self.median_time_seconds,
            "estimated_skill": self.estimated_skill,
            "declined": self.declined,
            "work_skill": self.work_skill,
        }


@dataclass(frozen=True)
class JobQuality:
    """How far a job's workers agree, what it cost, and every worker's record
    (`to_pandas()`: one row per worker). `decline_reasons` maps a reason to how
    many declines gave it; `instructions_versions` maps a version to its
    judgments' agreement with the labels and gold accuracy."""

    items_measured: int
    fleiss_kappa: float
    krippendorff_alpha: float
    dissent_histogram: tuple[int, ...]
    cost_micros: int
    cost_per_label_micros: int
    declined_tasks: int
    decline_reasons: dict[str, int]
    instructions_versions: dict[int, dict[str, float]]
    workers: tuple[WorkerQuality, ...]
    proto: quality_service_pb2.GetJobQualityResponse = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: quality_service_pb2.GetJobQualityResponse) -> JobQuality:
        agreement = message.agreement
        return cls(
            items_measured=agreement.items_measured,
            fleiss_kappa=agreement.fleiss_kappa,
            krippendorff_alpha=agreement.krippendorff_alpha,
            dissent_histogram=tuple(agreement.dissent_histogram),
            cost_micros=message.cost_micros,
            cost_per_label_micros=message.cost_per_label_micros,
            declined_tasks=message.declined_tasks,
            decline_reasons={r.reason: r.count for r in message.decline_reasons},
            instructions_versions={
                v.instructions_version: {
                    "judgments": v.judgments,
                    "agreement_with_label": v.agreement_with_label,
                    "gold_judgments": v.gold_judgments,
                    "gold_accuracy": v.gold_accuracy,
                }
                for v in message.instructions_versions
            },
            workers=tuple(
                WorkerQuality(
                    worker=Worker.from_proto(w.stats),
                    agreement_with_label=w.agreement_with_label,
                    median_time_seconds=w.median_time_seconds,
                    estimated_skill=w.estimated_skill,
                    declined=w.declined,
                    work_skill=w.work_skill if w.HasField("work_skill") else None,
                )
                for w in message.workers
            ),
            proto=message,
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per worker (needs the `pandas` extra)."""
        rows = [w.row() for w in self.workers]
        return _frame(rows, WORKER_COLUMNS)


WORKER_COLUMNS = (
    "worker",
    "display_name",
    "status",
    "judgments",
    "gold_answered",
    "gold_correct",
    "agreement_with_label",
    "median_time_seconds",
    "estimated_skill",
    "declined",
    "work_skill",
)


@dataclass(frozen=True)
class VerificationRow:
    """Verdicts on one class's items in one model-confidence bucket; `lower` and
    `upper` are None on the class's own total row. `percent_correct` is a
    percentage (0 to 100), as the server reports it."""

    class_name: str
    lower: float | None
    upper: float | None
    total: int
    confirmed: int
    disconfirmed: int
    split: int
    percent_correct: float


VERIFICATION_COLUMNS = (
    "class_name",
    "lower",
    "upper",
    "total",
    "confirmed",
    "disconfirmed",
    "split",
    "percent_correct",
)


def _counts(
    name: str, lower: float | None, upper: float | None, c: quality_service_pb2.VerificationCounts
) -> VerificationRow:
    return VerificationRow(
        name, lower, upper, c.total, c.confirmed, c.disconfirmed, c.split, c.percent_correct
    )


@dataclass(frozen=True)
class VerificationReport:
    """A verification job's bulk-QA table: `rows` has per class one row per
    confidence bucket and one for the class (`lower` None); `thresholds` maps a
    class to its recommended threshold, whether it reaches the target, and the
    precision (with its interval) of the items above it; `total` counts all."""

    rows: tuple[VerificationRow, ...]
    thresholds: dict[str, dict[str, Any]]
    total: VerificationRow
    proto: quality_service_pb2.GetVerificationReportResponse = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: quality_service_pb2.GetVerificationReportResponse) -> VerificationReport:
        rows: list[VerificationRow] = []
        for c in message.classes:
            rows.extend(_counts(c.class_name, b.lower, b.upper, b.counts) for b in c.buckets)
            rows.append(_counts(c.class_name, None, None, c.counts))
        return cls(
            rows=tuple(rows),
            thresholds={
                c.class_name: {
                    "recommended_threshold": c.recommended_threshold,
                    "target_reached": c.target_reached,
                    "items_above": c.items_above,
                    "precision": c.precision,
                    "precision_lower": c.precision_lower,
                    "precision_upper": c.precision_upper,
                }
                for c in message.classes
            },
            total=_counts("", None, None, message.total),
            proto=message,
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per class and bucket, and a total row per class (needs the `pandas` extra)."""
        return _frame([vars(r) for r in self.rows], VERIFICATION_COLUMNS)


@dataclass(frozen=True)
class Exported:
    """What an export wrote: where, how many lines, and how many of them carry
    a label (`export_labels`) or how many judgments (`export_judgments`)."""

    uri: str
    lines: int
    labels: int
    judgments: int
    proto: label_service_pb2.ExportLabelsResponse | label_service_pb2.ExportJudgmentsResponse = field(
        repr=False, compare=False
    )

    @classmethod
    def from_proto(
        cls, message: label_service_pb2.ExportLabelsResponse | label_service_pb2.ExportJudgmentsResponse
    ) -> Exported:
        if isinstance(message, label_service_pb2.ExportLabelsResponse):
            return cls(message.uri, message.line_count, message.label_count, 0, message)
        return cls(message.uri, message.line_count, 0, message.judgment_count, message)


@dataclass(frozen=True)
class Instructions:
    """What a worker is shown for a job: its classes (name to description), the
    media, the short and full instructions, the time limit per task in seconds
    (0: the server's default) and the instructions' version."""

    job: str
    display_name: str
    task_type: str
    classes: dict[str, str]
    media: str
    short_instructions: str
    full_instructions: str
    time_limit: float
    version: int
    proto: worker_service_pb2.GetInstructionsResponse = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: worker_service_pb2.GetInstructionsResponse) -> Instructions:
        config = message.task_config
        kind = config.WhichOneof("config") or ""
        listed: Any = getattr(config, kind) if kind else None
        classes = listed.entity_types if kind == "spans" else getattr(listed, "classes", ())
        return cls(
            job=message.job,
            display_name=message.display_name,
            task_type=kind,
            classes={c.name: c.description for c in classes},
            media=_enum_name("MEDIA_TYPE_", job_pb2.MediaType.Name(message.media_type)),
            short_instructions=message.instructions.short_instructions,
            full_instructions=message.instructions.full_instructions,
            time_limit=message.task_time_limit.ToMilliseconds() / 1000,
            version=message.instructions_version,
            proto=message,
        )

    def as_dict(self) -> dict[str, Any]:
        """The whole message as JSON-ready Python (for a custom task config's details)."""
        return json_format.MessageToDict(self.proto, preserving_proto_field_name=True)


@dataclass(frozen=True)
class JobRecord:
    """A worker's record on one job: its stats there (`worker`), median time per
    task, estimated skill, and when it started (Unix time; 0 if unknown)."""

    job: str
    display_name: str
    job_state: str
    worker: Worker
    median_time_seconds: float
    estimated_skill: float
    start_time: float
    price_per_judgment_micros: int

    def row(self) -> dict[str, Any]:
        """The record as one flat row."""
        return {
            "job": self.job,
            "display_name": self.display_name,
            "job_state": self.job_state,
            "status": self.worker.status,
            "judgments": self.worker.judgments,
            "gold_answered": self.worker.gold_answered,
            "gold_correct": self.worker.gold_correct,
            "median_time_seconds": self.median_time_seconds,
            "estimated_skill": self.estimated_skill,
            "start_time": self.start_time,
            "price_per_judgment_micros": self.price_per_judgment_micros,
        }


HISTORY_COLUMNS = (
    "job",
    "display_name",
    "job_state",
    "status",
    "judgments",
    "gold_answered",
    "gold_correct",
    "median_time_seconds",
    "estimated_skill",
    "start_time",
    "price_per_judgment_micros",
)


@dataclass(frozen=True)
class WorkerHistory:
    """A worker account's record on every job (`to_pandas()`: one row per job),
    its totals (`judgments`, `jobs`, `gold_accuracy`, ...) and, for the owner, its
    weekly gold accuracy (`trend`: week start as Unix time, answered, correct, accuracy)."""

    worker: str
    jobs: tuple[JobRecord, ...]
    totals: dict[str, Any]
    trend: tuple[tuple[float, int, int, float], ...]
    proto: worker_service_pb2.GetWorkerHistoryResponse | team_service_pb2.GetWorkerAccountHistoryResponse = (
        field(repr=False, compare=False)
    )

    @classmethod
    def from_proto(
        cls,
        message: worker_service_pb2.GetWorkerHistoryResponse
        | team_service_pb2.GetWorkerAccountHistoryResponse,
    ) -> WorkerHistory:
        totals = message.totals
        trend = getattr(message, "trend", ())
        return cls(
            worker=message.worker,
            jobs=tuple(
                JobRecord(
                    job=r.job,
                    display_name=r.display_name,
                    job_state=_enum_name("JOB_STATE_", job_pb2.JobState.Name(r.job_state)),
                    worker=Worker.from_proto(r.stats),
                    median_time_seconds=r.median_time_seconds,
                    estimated_skill=r.estimated_skill,
                    start_time=r.start_time.ToNanoseconds() / 1e9,
                    price_per_judgment_micros=r.price_per_judgment_micros,
                )
                for r in message.jobs
            ),
            totals={
                "jobs": totals.jobs,
                "qualified_jobs": totals.qualified_jobs,
                "disqualified_jobs": totals.disqualified_jobs,
                "judgments": totals.judgments,
                "gold_answered": totals.gold_answered,
                "gold_correct": totals.gold_correct,
                "gold_accuracy": totals.gold_accuracy,
                "last_active_time": totals.last_active_time.ToNanoseconds() / 1e9,
            },
            trend=tuple(
                (p.week_start.ToNanoseconds() / 1e9, p.gold_answered, p.gold_correct, p.gold_accuracy)
                for p in trend
            ),
            proto=message,
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per job (needs the `pandas` extra)."""
        return _frame([r.row() for r in self.jobs], HISTORY_COLUMNS)


@dataclass(frozen=True)
class WorkerOutliers:
    """How often each worker's annotations of a box, key-point or number job are
    outliers against the item's label (`to_pandas()`: one row per worker): the raw
    rate, the rate shrunk towards the pool's, and whether the worker is drifting;
    `items`, the items of widest spread (`item_key`, `annotations`, `spread`, `outliers`)."""

    workers: tuple[dict[str, Any], ...]
    pool_rate: float
    items_checked: int
    items: tuple[dict[str, Any], ...]
    proto: quality_service_pb2.GetWorkerOutliersResponse = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: quality_service_pb2.GetWorkerOutliersResponse) -> WorkerOutliers:
        return cls(
            workers=tuple(
                {
                    "worker": w.worker,
                    "checked": w.checked,
                    "flagged": w.flagged,
                    "outlier_rate": w.outlier_rate,
                    "shrunk_rate": w.shrunk_rate,
                    "drifting": w.drifting,
                }
                for w in message.workers
            ),
            pool_rate=message.pool_rate,
            items_checked=message.items_checked,
            items=tuple(
                {
                    "item_key": i.item_key,
                    "annotations": i.annotations,
                    "spread": i.spread,
                    "outliers": i.outliers,
                }
                for i in message.items
            ),
            proto=message,
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per worker."""
        return _frame(
            list(self.workers), ("worker", "checked", "flagged", "outlier_rate", "shrunk_rate", "drifting")
        )
