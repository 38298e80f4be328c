"""Labels as a Ground Truth augmented manifest: the input line plus the label
attribute and its `-metadata` object, so tools that read Ground Truth output
read ours."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from labelwire.server.model import JobSpec

_TYPES = {
    ("classification", True): "groundtruth/text-classification",
    ("classification", False): "groundtruth/image-classification",
    ("multi_label", True): "groundtruth/text-classification-multilabel",
    ("multi_label", False): "groundtruth/image-classification-multilabel",
    ("bounding_box", False): "groundtruth/object-detection",
    ("spans", True): "groundtruth/text-span",
    ("segmentation", False): "groundtruth/semantic-segmentation",
    ("verification", False): "groundtruth/label-verification",
}


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def manifest_line(spec: JobSpec, job_name: str, row: Any) -> str:
    """One output line for one labeled item (a row of `current_labels`)."""
    line: dict[str, Any] = dict(json.loads(row["item_metadata"])) if row["item_metadata"] else {}
    line["source-ref" if row["payload_kind"] == "source_ref" else "source"] = row["payload"]
    value = json.loads(row["value"])
    attr = spec.label_attribute_name
    is_text = spec.media_type == "text"
    meta: dict[str, Any] = {
        "confidence": round(float(row["confidence"]), 4),
        "human-annotated": "yes" if row["human"] else "no",
        "creation-date": _date(float(row["created_at"])),
        "job-name": f"labeling-job/{job_name.replace('/', '-')}",
        "type": _TYPES.get((spec.task_type, is_text), "groundTruth/custom"),
        "method": row["method"],
        "judgment-count": int(row["judgment_count"]),
        "revision": int(row["revision"]),
    }
    names = list(spec.class_names)
    if "classification" in value:
        name = value["classification"]["class_name"]
        line[attr] = names.index(name)
        meta["class-name"] = name
    elif "multi_label" in value:
        chosen = value["multi_label"]["class_names"]
        probabilities = json.loads(row["probabilities"])
        line[attr] = [names.index(n) for n in chosen]
        meta["class-map"] = {str(names.index(n)): n for n in chosen}
        meta["confidence-map"] = {str(names.index(n)): round(probabilities.get(n, 0.0), 4) for n in chosen}
    else:
        line[attr] = value
    line[f"{attr}-metadata"] = meta
    return json.dumps(line, ensure_ascii=False)
