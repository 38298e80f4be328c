"""Consolidation: judgments in, labels with calibrated confidence out.

Pure numpy over integer-coded arrays, shared by the server, the offline tools and
the benchmarks. One base per kind of answer, each with one `fit` signature, in the
manner of crowd-kit, so anyone who knows one method knows them all:

- classification (`Classifier`): `fit(Judgments, *, gold, worker_skill)` ->
  `ClassificationResult`; majority vote, weighted vote, Dawid-Skene, one-coin, GLAD
  (the last three share one EM loop, `em.EMClassifier`);
- multi-label (`MultiLabelClassifier`): `fit(MultiLabelJudgments, *, gold, worker_skill)`
  -> `MultiLabelResult`; binary relevance over any classifier;
- geometry (`GeometryMethod`): `fit(table, *, worker_skill)` on boxes, spans or masks,
  each with its own table and result;
- numbers and key points (`NumericMethod`): `fit(items, values, n_items)` -> `NumericResult`.
"""

from labelwire.server.consolidation.agreement import AgreementReport, agreement_report
from labelwire.server.consolidation.base import ClassificationResult, Classifier, Judgments
from labelwire.server.consolidation.boxes import BoxConsolidation, BoxJudgments, BoxResult
from labelwire.server.consolidation.dawid_skene import DawidSkene, OneCoinDawidSkene
from labelwire.server.consolidation.dynamic import JudgmentPolicy
from labelwire.server.consolidation.geometry import GeometryMethod
from labelwire.server.consolidation.glad import GLAD
from labelwire.server.consolidation.majority import MajorityVote, WeightedMajorityVote
from labelwire.server.consolidation.multilabel import (
    BinaryRelevance,
    MultiLabelClassifier,
    MultiLabelJudgments,
    MultiLabelResult,
)
from labelwire.server.consolidation.numeric import (
    NumericMethod,
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
    "Classifier",
    "DawidSkene",
    "GeometryMethod",
    "JudgmentPolicy",
    "Judgments",
    "MajorityVote",
    "MultiLabelClassifier",
    "MultiLabelJudgments",
    "MultiLabelResult",
    "NumericMethod",
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
