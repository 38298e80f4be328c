"""Reading MTurk's Answer XML back into labelwire answers, and grading them against gold.

MTurk guarantees only the QuestionFormAnswers schema, not that a worker filled
anything in: `Answer` may be empty, malformed, or name a class the job does not
have. So every step here returns None rather than raising; the adapter reports
None as "nothing usable" and the core records nothing for it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from labelwire.adapters.batches import VERIFICATION_CHOICES
from labelwire.adapters.mturk.questions import (
    BOXES_FIELD,
    CATEGORY_FIELD,
    SPANS_FIELD,
    VERIFICATION_FIELD,
)

ANSWERS_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"
)
NS = {"q": ANSWERS_NS}
BOX_MATCH_IOU = 0.5


def parse_answer_xml(xml_text: str | None) -> dict[str, Any]:
    """Fields of a QuestionFormAnswers document; a crowd-form's `taskAnswers` is unfolded.

    Accepts documents with or without the namespace (both are seen), several
    SelectionIdentifiers per answer, and OtherSelectionText.
    """
    out: dict[str, Any] = {}
    if not xml_text or not xml_text.strip():
        return out
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return out
    answers = root.findall("q:Answer", NS) or root.findall("Answer")
    for answer in answers:
        ns = NS if answer.tag.startswith("{") else {"q": ""}
        prefix = "q:" if ns["q"] else ""
        qid = answer.findtext(f"{prefix}QuestionIdentifier", namespaces=ns)
        if not qid:
            continue
        selections = [s.text or "" for s in answer.findall(f"{prefix}SelectionIdentifier", ns)]
        free = answer.findtext(f"{prefix}FreeText", namespaces=ns)
        other = answer.findtext(f"{prefix}OtherSelectionText", namespaces=ns)
        out[qid.strip()] = selections if selections else (free if free is not None else other)
    folded = out.get("taskAnswers")
    if isinstance(folded, str):
        try:
            decoded = json.loads(folded)
        except ValueError:
            return {}
        if isinstance(decoded, list) and decoded and isinstance(decoded[0], dict):
            return dict(decoded[0])
        return dict(decoded) if isinstance(decoded, dict) else {}
    return out


def to_answer(fields: Mapping[str, Any], task_type: str, classes: Sequence[str]) -> dict[str, Any] | None:
    """The labelwire Answer (JSON form, proto field names) in a worker's fields, or None."""
    known = set(classes)
    if task_type == "classification":
        label = _label(fields.get(CATEGORY_FIELD))
        return {"classification": {"class_name": label}} if label in known else None
    if task_type == "multi_label":
        labels = _labels(fields.get(CATEGORY_FIELD))
        if labels is None or not set(labels) <= known:
            return None
        return {"multi_label": {"class_names": sorted(set(labels))}}
    if task_type == "verification":
        label = _label(fields.get(VERIFICATION_FIELD))
        if label not in VERIFICATION_CHOICES:
            return None
        return {"verification": {"correct": [label == "correct"]}}
    if task_type == "bounding_box":
        return _boxes(fields.get(BOXES_FIELD), known)
    if task_type == "spans":
        return _spans(fields.get(SPANS_FIELD), known)
    if task_type == "custom":
        return {"custom": dict(fields)} if fields else None
    return None


def _label(value: Any) -> str | None:
    """A crowd-classifier's `{"label": x}`, a plain form's text, or a one-item selection list."""
    if isinstance(value, Mapping):
        value = value.get("label")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value.strip() if isinstance(value, str) and value.strip() else None


def _labels(value: Any) -> list[str] | None:
    if isinstance(value, Mapping):
        value = value.get("labels")
    if isinstance(value, str):
        value = [v for v in value.split("|") if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return [v.strip() for v in value]


def _boxes(value: Any, known: set[str]) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("boundingBoxes"), list):
        return None
    boxes = []
    for box in value["boundingBoxes"]:
        if not isinstance(box, Mapping) or box.get("label") not in known:
            return None
        try:
            left, top = float(box["left"]), float(box["top"])
            width, height = float(box["width"]), float(box["height"])
        except (KeyError, TypeError, ValueError):
            return None
        if width <= 0 or height <= 0:
            return None
        boxes.append({"class_name": box["label"], "left": left, "top": top, "width": width, "height": height})
    return {"bounding_boxes": {"boxes": boxes}}


def _spans(value: Any, known: set[str]) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("entities"), list):
        return None
    spans = []
    for entity in value["entities"]:
        if not isinstance(entity, Mapping) or entity.get("label") not in known:
            return None
        start, end = entity.get("startOffset"), entity.get("endOffset")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
            return None
        spans.append({"entity_type": entity["label"], "start": start, "end": end})
    spans.sort(key=lambda s: (s["start"], s["end"], s["entity_type"]))
    return {"spans": {"spans": spans}}


def same_answer(given: Mapping[str, Any] | None, expected: Mapping[str, Any]) -> bool:
    """Whether a worker's answer matches a gold answer: classes exactly, label sets as sets,
    spans exactly, boxes one-to-one of the same class at IoU >= 0.5."""
    if given is None:
        return False
    if "multi_label" in expected:
        want = set(expected["multi_label"].get("class_names", []))
        return "multi_label" in given and set(given["multi_label"].get("class_names", [])) == want
    if "spans" in expected:
        want_spans = sorted(_span_key(s) for s in expected["spans"].get("spans", []))
        got = given.get("spans", {}).get("spans", []) if "spans" in given else None
        return got is not None and sorted(_span_key(s) for s in got) == want_spans
    if "bounding_boxes" in expected:
        if "bounding_boxes" not in given:
            return False
        return boxes_match(
            given["bounding_boxes"].get("boxes", []), expected["bounding_boxes"].get("boxes", [])
        )
    return json.dumps(given, sort_keys=True) == json.dumps(dict(expected), sort_keys=True)


def _span_key(span: Mapping[str, Any]) -> tuple[str, int, int]:
    return str(span.get("entity_type", "")), int(span.get("start", 0)), int(span.get("end", 0))


def boxes_match(given: Sequence[Mapping[str, Any]], expected: Sequence[Mapping[str, Any]]) -> bool:
    if len(given) != len(expected):
        return False
    unused = list(given)
    for want in expected:
        best = max(
            (b for b in unused if b.get("class_name") == want.get("class_name")),
            key=lambda b: iou(b, want),
            default=None,
        )
        if best is None or iou(best, want) < BOX_MATCH_IOU:
            return False
        unused.remove(best)
    return True


def iou(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    ax, ay, aw, ah = (float(a[k]) for k in ("left", "top", "width", "height"))
    bx, by, bw, bh = (float(b[k]) for k in ("left", "top", "width", "height"))
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def answer_key(answer: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None) -> str:
    """A canonical text of an answer (or of a batch's verdicts), for counting agreement among a HIT's workers."""
    return json.dumps(answer, sort_keys=True) if answer is not None else ""
