"""Ground Truth's augmented manifest, the one file format both the server (ExportLabels)
and the Ground Truth adapter write: the item's input line plus `<attribute>` and
`<attribute>-metadata`, as Ground Truth itself writes them.

It lives here rather than in the adapter because exports are the server's own
operation, whatever workforce labeled the job.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from labelwire.server.files.png import colour_mask

KEY_FIELD = "labelwire-key"
VERIFICATION_CATEGORIES = ("correct", "incorrect")
BACKGROUND = "BACKGROUND"
# d3's category10, the palette Ground Truth's segmentation tool paints with.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


MaskWriter = Callable[[bytes], str]


@dataclass(frozen=True)
class ExportLabel:
    """One item's label for an augmented manifest. `line` is the item as an input line
    (`source` or `source-ref`, plus any keys to pass through)."""

    line: Mapping[str, Any]
    answer: Mapping[str, Any]
    confidence: float | None
    human_annotated: bool = True
    created: datetime | None = None


@dataclass(frozen=True)
class ExportFormat:
    """What every line of one exported manifest shares."""

    attribute: str
    task_type: str
    media_type: str
    classes: tuple[str, ...]
    job_name: str


def creation_date(moment: datetime) -> str:
    """Ground Truth's format: ISO 8601 in UTC, microseconds, no zone suffix."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def augmented_line(
    label: ExportLabel, fmt: ExportFormat, write_mask: MaskWriter | None = None
) -> dict[str, Any]:
    """The item's line plus `<attribute>` and `<attribute>-metadata`, as Ground Truth writes them."""
    value, extra, gt_type = _label_value(label, fmt, write_mask)
    attribute = fmt.attribute
    if fmt.task_type == "segmentation" and not attribute.endswith("-ref"):
        attribute += "-ref"
    metadata: dict[str, Any] = {
        "type": gt_type,
        "job-name": fmt.job_name,
        "human-annotated": "yes" if label.human_annotated else "no",
        "creation-date": creation_date(label.created or datetime.now(UTC)),
    }
    if label.confidence is not None and "confidence" not in extra:
        metadata["confidence"] = round(float(label.confidence), 4)
    metadata.update(extra)
    line = {k: v for k, v in label.line.items() if k not in (attribute, attribute + "-metadata")}
    line[attribute] = value
    line[attribute + "-metadata"] = metadata
    return line


def _label_value(
    label: ExportLabel, fmt: ExportFormat, write_mask: MaskWriter | None
) -> tuple[Any, dict[str, Any], str]:
    answer, conf = label.answer, label.confidence
    media = "text" if fmt.media_type == "text" else "image"
    index = {name: i for i, name in enumerate(fmt.classes)}
    extra: dict[str, Any]
    value: dict[str, Any]
    if "classification" in answer:
        name = answer["classification"]["class_name"]
        return index.get(name, -1), {"class-name": name}, f"groundtruth/{media}-classification"
    if "multi_label" in answer:
        names = list(answer["multi_label"].get("class_names", []))
        ids = [index.get(n, -1) for n in names]
        extra = {
            "class-map": {str(i): n for i, n in zip(ids, names, strict=True)},
            "confidence-map": {str(i): round(float(conf or 0), 4) for i in ids},
        }
        return ids, extra, f"groundtruth/{media}-classification-multilabel"
    if "bounding_boxes" in answer:
        boxes = list(answer["bounding_boxes"].get("boxes", []))
        value = {
            "annotations": [
                {
                    "class_id": index.get(b["class_name"], -1),
                    "left": b.get("left", 0),
                    "top": b.get("top", 0),
                    "width": b.get("width", 0),
                    "height": b.get("height", 0),
                }
                for b in boxes
            ]
        }
        extra = {
            "class-map": {str(index.get(b["class_name"], -1)): b["class_name"] for b in boxes},
            "objects": [{"confidence": round(float(conf or 0), 4)} for _ in boxes],
        }
        return value, extra, "groundtruth/object-detection"
    if "spans" in answer:
        spans = list(answer["spans"].get("spans", []))
        value = {
            "annotations": {
                "labels": [{"label": c} for c in fmt.classes],
                "entities": [
                    {"label": s["entity_type"], "startOffset": s["start"], "endOffset": s["end"]}
                    for s in spans
                ],
            }
        }
        return (
            value,
            {"entities": [{"confidence": round(float(conf or 0), 4)} for _ in spans]},
            "groundtruth/text-span",
        )
    if "segmentation" in answer:
        if write_mask is None:
            raise ValueError("exporting segmentation labels needs somewhere to write the masks")
        colours = {i + 1: palette_colour(i) for i in range(len(fmt.classes))}
        uri = write_mask(colour_mask(base64.b64decode(answer["segmentation"]["mask_png"]), colours))
        colour_map = {
            "0": {"class-name": BACKGROUND, "hex-color": "#ffffff", "confidence": round(float(conf or 0), 4)}
        }
        for i, name in enumerate(fmt.classes):
            colour_map[str(i + 1)] = {
                "class-name": name,
                "hex-color": palette_colour(i),
                "confidence": round(float(conf or 0), 4),
            }
        return uri, {"internal-color-map": colour_map}, "groundtruth/semantic-segmentation"
    if "verification" in answer:
        verdicts = list(answer["verification"].get("correct", []))
        chosen = 0 if verdicts and all(verdicts) else 1
        return str(chosen), {"class-name": VERIFICATION_CATEGORIES[chosen]}, "groundtruth/label-verification"
    if "custom" in answer:
        return dict(answer["custom"]), {}, "groundTruth/custom"
    raise ValueError(f"not a labelwire answer: {sorted(answer)}")


def palette_colour(index: int) -> str:
    if index < len(PALETTE):
        return PALETTE[index]
    value = (index * 2654435761) & 0xFFFFFF
    return f"#{value:06x}"
