"""The model's calibration as plain Python: how often its confidence is
right (reliability bins), per class and confidence bucket, and the thresholds
model routing would use; both turn into DataFrames with `to_pandas()`.
`labelwire.client.reports` re-exports them with the other reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labelwire.client.pages import _frame
from labelwire.v1 import quality_service_pb2

if TYPE_CHECKING:
    import pandas

__all__ = ["BucketRow", "Calibration", "ClassThreshold", "Reliability", "ReliabilityBin", "RoutingRow"]


@dataclass(frozen=True)
class ReliabilityBin:
    """Gold items whose label confidence is in [lower, upper): how many, their mean
    confidence and the share whose label is the gold answer."""

    lower: float
    upper: float
    items: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class Reliability:
    """The reliability table of a job's label confidences, measured on its gold
    (`to_pandas()`: one row per bin), and its expected calibration error."""

    bins: tuple[ReliabilityBin, ...]
    items: int
    mean_confidence: float
    accuracy: float
    expected_calibration_error: float
    proto: quality_service_pb2.GetReliabilityResponse = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: quality_service_pb2.GetReliabilityResponse) -> Reliability:
        return cls(
            bins=tuple(
                ReliabilityBin(b.lower, b.upper, b.items, b.mean_confidence, b.accuracy) for b in message.bins
            ),
            items=message.items,
            mean_confidence=message.mean_confidence,
            accuracy=message.accuracy,
            expected_calibration_error=message.expected_calibration_error,
            proto=message,
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per confidence bin."""
        return _frame(
            [vars(b) for b in self.bins], ("lower", "upper", "items", "mean_confidence", "accuracy")
        )


@dataclass(frozen=True)
class BucketRow:
    """Pre-labels of one class whose model confidence is in [lower, upper), and
    the share of them the human label agreed with."""

    class_name: str
    lower: float
    upper: float
    count: int
    accuracy: float


@dataclass(frozen=True)
class ClassThreshold:
    """Per class: the lowest confidence from which pre-labels reach the target
    precision (`accept_threshold`), over how many labeled items."""

    class_name: str
    accept_threshold: float
    items: int


@dataclass(frozen=True)
class RoutingRow:
    """A class under model routing: its threshold (given or `learned`), labels
    accepted from the model, audits and the precision the audits measured."""

    class_name: str
    threshold: float
    learned: bool
    auto_accepted: int
    audited: int
    audit_agreed: int
    audit_precision: float
    audit_precision_lower: float
    audit_precision_upper: float


@dataclass(frozen=True)
class Calibration:
    """How far the model's pre-labels can be trusted: `to_pandas()` gives one row
    per class and confidence bucket; `routing` is the model-routing report and
    `human_judgments_saved` what it has saved so far."""

    buckets: tuple[BucketRow, ...]
    thresholds: tuple[ClassThreshold, ...]
    routing: tuple[RoutingRow, ...]
    human_judgments_saved: int
    proto: quality_service_pb2.GetCalibrationResponse = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: quality_service_pb2.GetCalibrationResponse) -> Calibration:
        return cls(
            buckets=tuple(
                BucketRow(c.class_name, b.lower, b.upper, b.count, b.accuracy)
                for c in message.classes
                for b in c.buckets
            ),
            thresholds=tuple(
                ClassThreshold(c.class_name, c.accept_threshold, c.items) for c in message.classes
            ),
            routing=tuple(
                RoutingRow(
                    r.class_name,
                    r.threshold,
                    r.learned,
                    r.auto_accepted,
                    r.audited,
                    r.audit_agreed,
                    r.audit_precision,
                    r.audit_precision_lower,
                    r.audit_precision_upper,
                )
                for r in message.routing
            ),
            human_judgments_saved=message.human_judgments_saved,
            proto=message,
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per class and confidence bucket (needs the `pandas` extra)."""
        return _frame([vars(b) for b in self.buckets], ("class_name", "lower", "upper", "count", "accuracy"))
