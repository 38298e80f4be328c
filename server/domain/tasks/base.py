"""What every task type answers for itself: the one interface behind `task_kind`.

A task kind knows its job configuration and answer shape, how an item's
judgments become its label (the consolidation library does the sums), which
job-level models and agreement figures apply to it, how its label reads in a
Ground Truth augmented manifest, and which worker-app component renders it.
Callers ask the kind instead of comparing task-type names, so adding a task
type is one module here (listed in `domain.tasks.KINDS`) and one component
under `web/src/tasks/`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from labelwire.server.domain.checks import MAX_CLASSES, require
from labelwire.server.domain.model import MAJORITY_VOTE, Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.crowd import CrowdPage, ItemRejected
from labelwire.server.domain.tasks.exports import Exported, ExportTo
from labelwire.server.domain.tasks.exports import MaskWriter as MaskWriter
from labelwire.server.domain.tasks.exports import groundtruth_confidence as groundtruth_confidence

Spread = tuple[float, list[bool]]
"""An item's spread across its workers, and per judgment whether it is an outlier."""

Judged = list[tuple[int, Answer]]
"""An item's judgments: (worker, answer) pairs."""

Skills = dict[int, float] | None
"""Workers' estimated accuracies by worker, when known."""

Priors = Callable[[], Sequence[float]] | None
"""The job's class frequencies, computed only when read."""

EXACT_METHOD = "majority_vote_exact"


def weighs_workers(method: str) -> bool:
    """Whether a consolidation method weighs workers by their estimated
    accuracy (every method but the plain vote): such a job's labels are revised
    by job-level passes, and it completes only after its final pass. The one
    place the plain vote's name is compared."""
    return method != MAJORITY_VOTE


def uses_skill(spec: JobSpec) -> bool:
    """Whether the job's labels weigh workers by their estimated accuracy."""
    return weighs_workers(spec.consolidation_method)


def json_float(value: Any) -> float:
    """A double of an answer's JSON form (protobuf writes NaN and infinity as
    strings); NaN for anything that is not a number, so a finiteness check refuses it."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def dense_workers(judgments: list[tuple[int, Answer]]) -> list[int]:
    index: dict[int, int] = {}
    return [index.setdefault(w, len(index)) for w, _ in judgments]


def item_label(
    value: Answer, confidence: float, method: str, judgments: Judged, tie: bool = False
) -> Consolidated:
    """A label without per-class probabilities (shapes, numbers, masks)."""
    return Consolidated(
        value=value,
        confidence=confidence,
        probabilities={},
        method=method,
        judgment_count=len(judgments),
        tie=tie,
    )


def vote_exact(judgments: Judged) -> Consolidated:
    """The most frequent identical answer (verification and custom answers);
    the earliest wins a tie."""
    texts = [json.dumps(a, sort_keys=True) for _, a in judgments]
    counts = Counter(texts)
    top = max(counts.values())
    winners = [t for t in dict.fromkeys(texts) if counts[t] == top]
    value: dict[str, Any] = json.loads(winners[0])
    return item_label(value, top / len(texts), EXACT_METHOD, judgments, tie=len(winners) > 1)


MAX_PARTS = 1000
"""Boxes, spans and the like one answer may hold."""


def classed_parts(
    spec: JobSpec, body: Mapping[str, Any], where: str, parts_key: str, class_key: str, classes: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The parts of an answer body that lists classed shapes (boxes, spans),
    each with its field path once its count and its class are checked; the
    caller checks the rest of each part in turn, so the first problem of the
    first bad part is the one reported."""
    names = set(spec.class_names)
    parts = body.get(parts_key, [])
    where = f"{where}.{parts_key}"
    require(
        len(parts) <= MAX_PARTS, f"{where} must have at most {MAX_PARTS} {parts_key}, got {len(parts)}", where
    )
    for i, part in enumerate(parts):
        at = f"{where}[{i}]"
        require(
            part.get(class_key, "") in names,
            f"{at}.{class_key} is not one of the job's {classes}",
            f"{at}.{class_key}",
        )
        yield at, part


class TaskKind(ABC):
    """One task type. Subclasses set the class attributes and implement the
    abstract methods; the defaults suit a kind whose answers are compared
    whole (custom)."""

    name: ClassVar[str]
    """`JobSpec.task_type`: the TaskConfig oneof field."""
    answer_key: ClassVar[str]
    """The Answer oneof field its judgments fill."""
    component: ClassVar[str]
    """The worker-app module that renders its tasks: `web/src/tasks/<component>.ts`."""
    classes_key: ClassVar[str] = "classes"
    min_classes: ClassVar[int] = 1
    max_classes: ClassVar[int] = MAX_CLASSES
    reviewable: ClassVar[bool] = False
    """Whether its label can be the model's label a verification job reviews."""
    routable: ClassVar[bool] = False
    """Whether model routing may accept a pre-label without a human."""
    reviews_prelabel: ClassVar[bool] = False
    """Whether every item's pre-label is the label its workers review."""
    job_models: ClassVar[bool] = False
    """Whether the job-level models (Dawid-Skene, GLAD, ...) fit its judgments
    (`labels.passes`); other kinds are labeled per item only."""
    agreement_by_consensus: ClassVar[bool] = False
    """Whether a worker's work agreement (the colluder check in `dispatch.gate`)
    is measured on it."""
    routes_by_class: ClassVar[bool] = False
    """Whether a routing rule between jobs may name classes of its labels (`labels.chains`)."""
    single_class: ClassVar[bool] = False
    """Whether an answer names one class, so a label's probabilities are per class."""
    mask_reference: ClassVar[bool] = False
    """Whether its Ground Truth attribute holds a reference to a file
    (`<attribute>-ref`) rather than the label itself."""
    exports_labels: ClassVar[bool] = True
    """Whether ExportLabels writes its labels (masks need image files first)."""
    vote_share_methods: ClassVar[frozenset[str]] = frozenset()
    """Its item methods whose stored confidence is a share of the votes, not a probability."""
    class_field: ClassVar[str] = ""
    """The field of its answer body that names its class or classes, if that
    is all the body holds: protobuf conversion builds such answers directly,
    since they are the commonest and every judgment is converted."""
    struct_answer: ClassVar[bool] = False
    """Whether its answer body is free-form JSON (a protobuf Struct) rather than a message."""
    struct_config_fields: ClassVar[tuple[str, ...]] = ()
    """Its config fields holding free-form JSON, checked when a job is converted."""
    has_spread: ClassVar[bool] = False
    """Whether its answers have a spread and outliers (`spread`)."""
    counts_verdicts: ClassVar[bool] = False
    """Whether its labels carry confirm/disconfirm counts (a label's verification summary)."""
    own_template: ClassVar[bool] = False
    """Whether its tasks are rendered by the job's own template (custom): no
    workforce offers a built-in page for it."""
    groundtruth_tasks: ClassVar[Mapping[str, str]] = {}
    """Ground Truth's built-in task type for it, by media type (`TextMultiClass`
    for text classification); a media type not listed has none."""
    groundtruth_outputs: ClassVar[tuple[str, ...]] = ()
    """The `type`s Ground Truth writes into an output manifest's `-metadata`
    for its labels, so a manifest line is read back as this kind."""
    keywords: ClassVar[tuple[str, ...]] = ("labeling",)
    """Search words a marketplace lists its tasks under (after the media type)."""
    names_classes: ClassVar[bool] = False
    """Whether an answer picks among the job's classes by name (a class, boxes
    or spans of a class), so a workforce's page must offer the classes."""
    batches_items: ClassVar[bool] = False
    """Whether one task may hold a batch of items (`batch_size`)."""
    crowd_field: ClassVar[str] = ""
    """The field its element (`crowd_element`) posts its answer under in a hosted crowd form."""

    def batch_size(self, spec: JobSpec) -> int:
        """Items one task leases."""
        return 1

    def groundtruth_template(self, spec: JobSpec) -> str:
        """The Ground Truth template its tasks are rendered with, else ""."""
        return ""

    @property
    def classes_field(self) -> str:
        return f"job.task_config.{self.name}.{self.classes_key}"

    def validate_config(self, spec: JobSpec) -> None:
        """Checks of its own task_config beyond the classes; nothing by default."""
        return None

    @abstractmethod
    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        """Refuses an answer body (the value under `answer_key`) that breaks the job's rules."""

    def consolidate(
        self,
        spec: JobSpec,
        judgments: Judged,
        skills: Skills,
        class_priors: Priors = None,
    ) -> Consolidated:
        """One item's label from its (worker, answer) judgments. `skills` are
        the workers' estimated accuracies when the job weighs workers;
        `class_priors` the job's class frequencies, read only to break a tie.
        Kinds whose label depends on nothing but the judgments implement
        `label_item` instead."""
        return self.label_item(spec, judgments)

    def label_item(self, spec: JobSpec, judgments: Judged) -> Consolidated:
        """`consolidate` for a kind that neither weighs workers nor breaks ties
        by class priors: the most frequent identical answer by default."""
        return vote_exact(judgments)

    def spread(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Spread | None:
        """One item's spread across its workers and which of its judgments are
        outliers (`QualityService.GetWorkerOutliers`); None for kinds the
        report does not cover."""
        return None

    def bodies(self, answer: Answer, gold: Answer) -> tuple[dict[str, Any], dict[str, Any]]:
        """The bodies of an answer and a gold answer of this kind ({} when absent)."""
        return answer.get(self.answer_key) or {}, gold.get(self.answer_key) or {}

    def grade(self, spec: JobSpec, answer: Answer, gold: Answer) -> bool:
        """Whether an answer matches a gold answer: bodies equal as JSON always
        do; different ones only when the answer is of this kind and the kind's
        `bodies_match` forgives the difference (order, overlap)."""
        mine, right = self.bodies(answer, gold)
        if mine == right:
            return True
        return self.answer_key in answer and self.bodies_match(spec, mine, right)

    def bodies_match(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        """Whether two bodies of this kind that differ as JSON still say the same;
        never by default, which is exact for verification and custom tasks."""
        return False

    def label_classes(self, value: Answer, prelabel: str | None) -> set[str]:
        """The classes a label of this kind says, for a routing rule naming
        classes; `prelabel` is its item's pre-label JSON, if any. None by default."""
        return set()

    def names_class(self, body: Mapping[str, Any], name: str) -> bool:
        """Whether an answer body of this kind gives the class `name` anywhere in it
        (what a label filter on a class matches); False for kinds without classes."""
        return False

    def category(self, answer: Answer) -> str:
        """An answer as one nominal category, so agreement applies to any type."""
        return json.dumps(answer, sort_keys=True)

    def model_class(self, body: Mapping[str, Any]) -> str | None:
        """A label of this kind under review as one class name (a set of classes
        joined): what a verification batch groups its items by and its report
        splits by; None for kinds verified one item at a time."""
        return None

    def gold_from_cell(self, value: Any) -> Answer | None:
        """A gold answer from a manifest's plain cell, else None when the kind
        needs a JSON Answer."""
        return None

    def attribute(self, name: str) -> str:
        """The Ground Truth label attribute its labels are written under."""
        return name + "-ref" if self.mask_reference and not name.endswith("-ref") else name

    def label_from_groundtruth(
        self, value: Any, metadata: Mapping[str, Any], class_map: Mapping[str, str]
    ) -> tuple[Answer, float | None] | None:
        """The reverse of `export_value`: (answer, confidence) of a label Ground
        Truth (or `export_value`) wrote, from the attribute's value, its
        `-metadata` and that metadata's `class-map`; None when it holds none. By
        default the value is the answer body (custom tasks). A mask reference
        needs its file read, which the caller does."""
        body = value if isinstance(value, Mapping) else {"value": value}
        return {self.answer_key: body}, groundtruth_confidence(metadata.get("confidence"))

    def answer_from_crowd_element(self, element: Mapping[str, Any]) -> Answer | None:
        """The answer in one Crowd HTML Element's output (`crowd-classifier`'s
        `{"label": ...}`, `crowd-bounding-box`'s `{"boundingBoxes": [...]}`, ...)
        as Ground Truth hands a worker's form back; None when the element is not
        this kind's. None by default: free-form kinds take the whole form, and a
        mask needs its image decoded, which the caller does."""
        return None

    def own_page(self, task_config: Mapping[str, Any]) -> str | None:
        """The owner's own page for its tasks (`own_template` kinds), else None."""
        return None

    def crowd_element(self, page: CrowdPage) -> str:
        """The Crowd HTML element asking a worker for one item, on a page the
        workforce hosts (Mechanical Turk's HTMLQuestion); raises `ItemRejected`
        when the kind has none or the item cannot be shown in it."""
        raise ItemRejected(f"Mechanical Turk pages are not made for {self.name} tasks")

    def crowd_answer(self, fields: Mapping[str, Any], classes: Sequence[str]) -> Answer | None:
        """The answer in the fields a hosted crowd form posted (`crowd_element`'s),
        its classes among the job's; None when it holds none usable."""
        return None

    def export_value(
        self,
        body: Mapping[str, Any],
        confidence: float | None,
        classes: Sequence[str],
        media: str,
        write_mask: MaskWriter | None,
    ) -> Exported:
        """Its label in an augmented manifest (`media` is text or image)."""
        return self.export(body, ExportTo(confidence, classes, media, write_mask))

    @abstractmethod
    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        """Its label in an augmented manifest: the attribute's value, the extra
        `-metadata` fields, and Ground Truth's `type`."""
