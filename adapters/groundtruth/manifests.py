"""Ground Truth's file formats: input manifest lines, the label category file,
and the augmented output manifest (read for Ground Truth's labels, written for
ExportLabels).

Every input line carries our item key under `labelwire-key`; Ground Truth
passes unknown keys through to its output, so a line can always be traced back
to its item, whichever job (ours or not) produced the file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from labelwire.adapters.base import KINDS, ReferenceLabel, WorkItem, groundtruth_confidence, kind_named
from labelwire.adapters.batches import proposed
from labelwire.adapters.groundtruth.responses import AnswerShape, answer_from_content
from labelwire.server.files.augmented import KEY_FIELD, creation_date
from labelwire.server.files.png import PngError, class_mask

MAX_LINE_CHARS = 100_000
MAX_VALUE_CHARS = 20_000
DOCUMENT_VERSION = "2018-11-28"
REFERENCE_METHOD = "groundtruth"
TASK_TYPE_OF_OUTPUT = {output: kind.name for kind in KINDS.values() for output in kind.groundtruth_outputs}
"""Ground Truth's output `type` (lower case) -> the task type whose labels it holds."""

BATCH_FIELD = "labelwire-batch"
KEYS_FIELD = "labelwire-keys"

BytesReader = Callable[[str], bytes]


class ItemRejected(ValueError):
    """An item Ground Truth cannot take as it is; the message says why, for fail_items."""


def input_line(item: WorkItem, *, media_type: str, prelabel_attribute: str | None = None) -> dict[str, Any]:
    """The manifest line for one item: `source` (inline text) or `source-ref` (an S3 object)."""
    line: dict[str, Any] = {}
    if media_type in ("image", "video", "audio") and item.payload_kind != "source_ref":
        raise ItemRejected(f"Ground Truth shows {media_type} items from S3 only: the item needs a source-ref")
    if item.payload_kind == "source_ref":
        if not item.payload.startswith("s3://"):
            raise ItemRejected(
                f"Ground Truth reads source-ref objects from S3 only, got {item.payload[:100]!r}"
            )
        line["source-ref"] = item.payload
    elif item.payload_kind == "json":
        line["source"] = item.payload
        try:
            line["labelwire-payload"] = json.loads(item.payload)
        except json.JSONDecodeError:
            raise ItemRejected("the item's JSON payload does not parse") from None
    else:
        line["source"] = item.payload
    line[KEY_FIELD] = item.key
    if item.metadata:
        line["labelwire-metadata"] = dict(item.metadata)
    if prelabel_attribute is not None:
        if item.prelabel is None:
            raise ItemRejected("a verification item needs the model's label (prelabel) to verify")
        line.update(prelabel_attribute_values(prelabel_attribute, item.prelabel))
    check_line_limits(line)
    return line


def batch_input_line(items: Sequence[WorkItem], *, media_type: str) -> dict[str, Any]:
    """One manifest line (one Ground Truth data object) holding a verification
    batch: each item's `source-ref` or `source` and the model's class under
    `labelwire-batch`, the item keys in that order under `labelwire-keys`.
    `source` only names the batch (Ground Truth wants one on every line); our
    pre-labeling Lambda hands the template the items as `task.input.sourceRef`."""
    entries = []
    for item in items:
        single = input_line(item, media_type=media_type)
        entry: dict[str, Any] = {k: single[k] for k in ("source-ref", "source") if k in single}
        entry["proposed"] = proposed(item.prelabel)
        entries.append(entry)
    line: dict[str, Any] = {
        "source": f"labelwire verification batch of {len(items)} items",
        BATCH_FIELD: entries,
        KEYS_FIELD: [item.key for item in items],
    }
    check_line_limits(line)
    return line


class DataObject(NamedTuple):
    """What one manifest line (one Ground Truth data object) holds: its item
    keys, several for a verification batch (`batch`), whose answers split per item."""

    keys: list[str]
    batch: bool


def data_object(line: Mapping[str, Any]) -> DataObject:
    keys = line.get(KEYS_FIELD)
    if isinstance(keys, list):
        return DataObject([str(k) for k in keys], True)
    return DataObject([str(line.get(KEY_FIELD, ""))], False)


def check_line_limits(line: Mapping[str, Any]) -> None:
    text = json.dumps(line, ensure_ascii=False)
    if len(text) > MAX_LINE_CHARS:
        raise ItemRejected(
            f"its manifest line has {len(text)} characters; Ground Truth allows {MAX_LINE_CHARS}"
        )
    for name, value in line.items():
        size = len(value) if isinstance(value, str) else len(json.dumps(value, ensure_ascii=False))
        if size > MAX_VALUE_CHARS:
            raise ItemRejected(
                f"its {name} has {size} characters; Ground Truth allows {MAX_VALUE_CHARS} per attribute value"
            )


def prelabel_attribute_values(attribute: str, prelabel: Mapping[str, Any]) -> dict[str, Any]:
    """A model's bounding boxes in the shape of a Ground Truth object-detection label, to be verified."""
    boxes = prelabel.get("bounding_boxes", {}).get("boxes") if isinstance(prelabel, Mapping) else None
    if not isinstance(boxes, list):
        raise ItemRejected("the prelabel to verify must hold bounding boxes")
    names = list(dict.fromkeys(str(b.get("class_name", "")) for b in boxes))
    return {
        attribute: {
            "annotations": [
                {
                    "class_id": names.index(str(b.get("class_name", ""))),
                    "left": b.get("left", 0),
                    "top": b.get("top", 0),
                    "width": b.get("width", 0),
                    "height": b.get("height", 0),
                }
                for b in boxes
            ]
        },
        attribute + "-metadata": {
            "class-map": {str(i): n for i, n in enumerate(names)},
            "objects": [{"confidence": 0} for _ in boxes],
            "type": "groundtruth/object-detection",
            "human-annotated": "no",
            "creation-date": creation_date(datetime.now(UTC)),
            "job-name": "labelwire-prelabel",
        },
    }


def label_category_config(
    classes: Sequence[str], *, gt_type: str | None, instructions: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The label category file. NER also carries its worker instructions here, having no template."""
    config: dict[str, Any] = {"document-version": DOCUMENT_VERSION, "labels": [{"label": c} for c in classes]}
    if gt_type == "NamedEntityRecognition":
        short = str((instructions or {}).get("short_instructions") or "Mark every entity.")
        full = str((instructions or {}).get("full_instructions") or short)
        config["instructions"] = {
            "shortInstruction": f"<p>{_escape(short)}</p>",
            "fullInstruction": _paragraphs(full),
        }
    return config


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{_escape(p)}</p>" for p in text.split("\n\n") if p.strip())


# --- reading Ground Truth's output -------------------------------------------------------------------------------


def task_type_of(metadata: Mapping[str, Any]) -> str | None:
    value = metadata.get("type")
    return TASK_TYPE_OF_OUTPUT.get(value.lower()) if isinstance(value, str) else None


def failure_reason(line: Mapping[str, Any], attribute: str) -> str | None:
    """Why Ground Truth gave an object no label, when its metadata says so."""
    metadata = line.get(attribute + "-metadata")
    if isinstance(metadata, Mapping) and metadata.get("failure-reason"):
        return str(metadata["failure-reason"])
    return None


def reference_label(
    line: Mapping[str, Any], attribute: str, item_key: str, shape: AnswerShape, read: BytesReader
) -> ReferenceLabel | None:
    """Ground Truth's consolidated label of one output line, or None when the line has none."""
    if attribute not in line:
        return None
    value = line[attribute]
    raw_metadata = line.get(attribute + "-metadata")
    metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, Mapping) else {}
    parsed = _parse_label(value, metadata, shape, read)
    if parsed is None:
        return None
    answer, confidence = parsed
    return ReferenceLabel(item_key=item_key, answer=answer, confidence=confidence, method=REFERENCE_METHOD)


def _parse_label(
    value: Any, metadata: Mapping[str, Any], shape: AnswerShape, read: BytesReader
) -> tuple[dict[str, Any], float | None] | None:
    """(answer, confidence) of a label. A label our post Lambda wrote carries every worker's form
    and the most common one, whatever the task type, so it is read as a worker's form."""
    if isinstance(value, Mapping) and "workerAnswers" in value:
        label = value.get("label")
        answer = answer_from_content(label, shape) if isinstance(label, Mapping) else None
        return (answer, groundtruth_confidence(value.get("confidence"))) if answer else None
    kind = kind_named(shape.task_type)
    if kind.mask_reference:
        return _segmentation_label(value, metadata, shape, read)
    class_map = {str(k): str(v) for k, v in (metadata.get("class-map") or {}).items()}
    return kind.label_from_groundtruth(value, metadata, class_map)


def _segmentation_label(
    value: Any, metadata: Mapping[str, Any], shape: AnswerShape, read: BytesReader
) -> tuple[dict[str, Any], float | None] | None:
    colour_map = metadata.get("internal-color-map")
    if not isinstance(value, str) or not isinstance(colour_map, Mapping):
        return None
    colours: dict[str, int] = {}
    confidence: float | None = None
    for entry in colour_map.values():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("hex-color"), str):
            continue
        class_value = shape.class_value(str(entry.get("class-name")))
        if class_value is not None:
            colours[entry["hex-color"]] = class_value
        if confidence is None:
            confidence = groundtruth_confidence(entry.get("confidence"))
    try:
        mask = class_mask(read(value), colours)
    except PngError:
        return None
    return {"segmentation": {"mask_png": base64.b64encode(mask).decode()}}, confidence
