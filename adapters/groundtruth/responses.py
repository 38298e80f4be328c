"""Worker-response files read into labelwire judgments.

A worker's `answerContent` is the submitted crowd form keyed by each element's
`name`, so its keys depend on the template. Answers are therefore found by
shape (a classifier's `label`, a bounding-box tool's `boundingBoxes`, ...),
with the built-in element names tried first; a custom template may also post a
labelwire Answer directly under the form field `labelwire`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labelwire.adapters.base import ExternalJudgment, kind_named
from labelwire.adapters.batches import batch_verdicts
from labelwire.server.files.png import PngError, class_mask

ANSWER_FIELD = "labelwire"
_PREFERRED = (
    "crowd-image-classifier",
    "crowd-classifier",
    "crowd-image-classifier-multi-select",
    "crowd-classifier-multi-select",
    "boundingBox",
    "crowd-bounding-box",
    "crowd-entity-annotation",
    "crowd-semantic-segmentation",
)
_RESPONSE_PATH = re.compile(r"/annotations/worker-response/iteration-(\d+)/([^/]+)/[^/]+\.json$")


@dataclass(frozen=True)
class AnswerShape:
    """What parsing needs to know of the job: its task type and class order."""

    task_type: str
    classes: tuple[str, ...]

    def class_value(self, name: str) -> int | None:
        """Mask value of a class: 0 is background, the i-th class (from 1) is i."""
        try:
            return self.classes.index(name) + 1
        except ValueError:
            return None


def dataset_object_id(uri: str) -> str | None:
    """The data object a worker-response file belongs to (its folder name), or None for other files."""
    match = _RESPONSE_PATH.search(uri)
    return match.group(2) if match else None


def worker_judgments(document: Any, item_key: str, shape: AnswerShape) -> list[ExternalJudgment]:
    """One judgment per worker in a worker-response file; unusable answers carry `answer=None`."""
    answers = document.get("answers", []) if isinstance(document, Mapping) else []
    out = []
    for entry in answers:
        if not isinstance(entry, Mapping) or not entry.get("workerId"):
            continue
        content = entry.get("answerContent")
        out.append(
            ExternalJudgment(
                item_key=item_key,
                worker_id=str(entry["workerId"]),
                answer=answer_from_content(content, shape) if isinstance(content, Mapping) else None,
                time_spent_seconds=_float(entry.get("timeSpentInSeconds")),
                submitted_at=parse_time(entry.get("submissionTime")),
            )
        )
    return out


def batch_judgments(document: Any, item_keys: Sequence[str]) -> list[ExternalJudgment]:
    """A batch data object's worker-response file split into one judgment per
    item and worker (a worker's time spread evenly over the items); a skipped
    item's judgment carries `answer=None`."""
    answers = document.get("answers", []) if isinstance(document, Mapping) else []
    out = []
    for entry in answers:
        if not isinstance(entry, Mapping) or not entry.get("workerId"):
            continue
        content = entry.get("answerContent")
        verdicts = (
            batch_verdicts(content, len(item_keys))
            if isinstance(content, Mapping)
            else [None] * len(item_keys)
        )
        spent = _float(entry.get("timeSpentInSeconds"))
        for key, verdict in zip(item_keys, verdicts, strict=True):
            out.append(
                ExternalJudgment(
                    item_key=key,
                    worker_id=str(entry["workerId"]),
                    answer=verdict,
                    time_spent_seconds=None if spent is None else spent / len(item_keys),
                    submitted_at=parse_time(entry.get("submissionTime")),
                )
            )
    return out


def answer_from_content(content: Mapping[str, Any], shape: AnswerShape) -> dict[str, Any] | None:
    """A worker's submitted form as a labelwire Answer, or None when it holds no answer of the job's type."""
    direct = _direct_answer(content.get(ANSWER_FIELD), shape.task_type)
    if direct is not None or ANSWER_FIELD in content:
        return direct
    kind = kind_named(shape.task_type)
    if kind.own_template:
        return {kind.answer_key: dict(content)}
    for element in _elements(content):
        answer = _from_element(element, shape)
        if answer is not None:
            return answer
    return None


def _direct_answer(value: Any, task_type: str) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    key = kind_named(task_type).answer_key
    if isinstance(value, Mapping) and set(value) == {key} and isinstance(value[key], Mapping):
        return {key: dict(value[key])}
    return None


def _elements(content: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for name in _PREFERRED:
        if isinstance(content.get(name), Mapping):
            yield content[name]
    for name, value in content.items():
        if name not in _PREFERRED and isinstance(value, Mapping):
            yield value


def _from_element(element: Mapping[str, Any], shape: AnswerShape) -> dict[str, Any] | None:
    kind = kind_named(shape.task_type)
    if kind.mask_reference:
        return _segmentation(element, shape) if isinstance(element.get("labeledImage"), Mapping) else None
    return kind.answer_from_crowd_element(element)


def _segmentation(element: Mapping[str, Any], shape: AnswerShape) -> dict[str, Any] | None:
    data = element["labeledImage"].get("pngImageData")
    mappings = element.get("labelMappings")
    if not isinstance(data, str) or not isinstance(mappings, Mapping):
        return None
    colours: dict[str, int] = {}
    for name, mapping in mappings.items():
        value = shape.class_value(str(name))
        if value is not None and isinstance(mapping, Mapping) and isinstance(mapping.get("color"), str):
            colours[mapping["color"]] = value
    try:
        mask = class_mask(base64.b64decode(data, validate=False), colours)
    except (PngError, binascii.Error, ValueError):
        return None
    return {"segmentation": {"mask_png": base64.b64encode(mask).decode()}}


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def class_names(classes: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(getattr(c, "name", c)) for c in classes)
