"""Consolidation: judgments in, labels with calibrated confidence out.

Pure numpy over integer-coded arrays, shared by the server, the offline tools and
the benchmarks. Every classification method takes a `Judgments` table and returns
a `ClassificationResult`, configured in its constructor and run with `fit`, in the
manner of crowd-kit, so anyone who knows one method knows them all. The other
answer types (multi-label, boxes, spans, masks, numbers) follow the same shape
with a table and result type of their own.
"""

from labelwire.server.consolidation.agreement import AgreementReport, agreement_report
from labelwire.server.consolidation.base import ClassificationResult, Judgments
from labelwire.server.consolidation.boxes import BoxConsolidation, BoxJudgments, BoxResult
from labelwire.server.consolidation.dawid_skene import DawidSkene, OneCoinDawidSkene
from labelwire.server.consolidation.dynamic import JudgmentPolicy
from labelwire.server.consolidation.glad import GLAD
from labelwire.server.consolidation.majority import MajorityVote, WeightedMajorityVote
from labelwire.server.consolidation.multilabel import BinaryRelevance, MultiLabelJudgments, MultiLabelResult
from labelwire.server.consolidation.numeric import (
    NumericResult,
    RobustCentre,
    WorkerOutliers,
    worker_outliers,
)
from labelwire.server.consolidation.segmentation import PixelVote, SegmentationResult
from labelwire.server.consolidation.spans import SpanJudgments, SpanResult, SpanVote

__all__ = [
    "GLAD",
    "AgreementReport",
    "BinaryRelevance",
    "BoxConsolidation",
    "BoxJudgments",
    "BoxResult",
    "ClassificationResult",
    "DawidSkene",
    "JudgmentPolicy",
    "Judgments",
    "MajorityVote",
    "MultiLabelJudgments",
    "MultiLabelResult",
    "NumericResult",
    "OneCoinDawidSkene",
    "PixelVote",
    "RobustCentre",
    "SegmentationResult",
    "SpanJudgments",
    "SpanResult",
    "SpanVote",
    "WeightedMajorityVote",
    "WorkerOutliers",
    "agreement_report",
    "worker_outliers",
]
