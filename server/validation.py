"""Checks on everything a caller sends, before anything is stored.

Each failure is an InvalidArgument naming the field as the caller wrote it and
the limit it broke, so the caller knows what to change.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from labelwire.server import answer_schema, geometry
from labelwire.server.errors import InvalidArgument
from labelwire.server.model import Answer, ItemInput, JobSpec

MAX_PAYLOAD_BYTES = 1 << 20
MAX_CLASSES = 10_000
MAX_KEY_CHARS = 256
MAX_ITEMS_PER_MESSAGE = 10_000
MAX_JUDGMENTS = 9
MAX_DYNAMIC_JUDGMENTS = 25
MIN_TASK_SECONDS, MAX_TASK_SECONDS = 30, 8 * 3600
MAX_LIFETIME_SECONDS = 30 * 24 * 3600
MAX_DECLINE_REASON_CHARS = 1000
ATTRIBUTE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$")
PAYLOAD_KINDS = ("text", "json", "source_ref")
SOURCE_SCHEMES = ("s3://", "https://", "http://", "file://", "gs://")
REVIEWED_KINDS = ("classification", "multi_label", "bounding_boxes", "spans", "segmentation")


def require(ok: bool, message: str) -> None:
    if not ok:
        raise InvalidArgument(message)


def check_text(field: str, value: str, *, low: int, high: int) -> None:
    require(
        low <= len(value) <= high,
        f"{field} must be {low} to {high} characters, got {len(value)}"
        if value or low == 0
        else f"{field} is required",
    )


def check_range(field: str, value: float, low: float, high: float) -> None:
    require(
        not math.isnan(value) and low <= value <= high,
        f"{field} must be between {low:g} and {high:g}, got {value:g}",
    )


def validate_job_spec(spec: JobSpec) -> None:
    check_text("job.display_name", spec.display_name, low=1, high=200)
    classes_field = f"job.task_config.{spec.task_type}.{_classes_key(spec.task_type)}"
    need = 2 if spec.task_type == "classification" else (0 if spec.task_type == "custom" else 1)
    top = 255 if spec.task_type == "segmentation" else MAX_CLASSES
    require(
        need <= len(spec.classes) <= top,
        f"{classes_field} must have {need} to {top} entries, got {len(spec.classes)}",
    )
    seen: set[str] = set()
    for i, cls in enumerate(spec.classes):
        check_text(f"{classes_field}[{i}].name", cls.name, low=1, high=256)
        check_text(f"{classes_field}[{i}].description", cls.description, low=0, high=4096)
        require(cls.name not in seen, f"{classes_field}[{i}].name {cls.name!r} is not unique")
        seen.add(cls.name)
    policy = "job.judgment_policy"
    check_range(f"{policy}.judgments_per_item", spec.judgments_per_item, 1, MAX_JUDGMENTS)
    check_range(
        f"{policy}.max_judgments_per_item",
        spec.max_judgments_per_item,
        spec.judgments_per_item,
        MAX_DYNAMIC_JUDGMENTS,
    )
    check_range(f"{policy}.target_confidence", spec.target_confidence, 0.0, 1.0)
    check_range("job.gold_policy.quiz_size", spec.gold.quiz_size, 0, 100)
    check_range("job.gold_policy.pass_accuracy", spec.gold.pass_accuracy, 0.0, 1.0)
    check_range("job.gold_policy.hidden_gold_share", spec.gold.hidden_gold_share, 0.0, 0.5)
    check_range("job.gold_policy.max_gold_exposures", spec.gold.max_gold_exposures, 0, 1_000_000)
    check_range("job.gold_policy.min_work_agreement", spec.gold.min_work_agreement, -1.0, 1.0)
    check_range("job.gold_policy.min_work_judgments", spec.gold.min_work_judgments, 1, 100_000)
    check_range("job.price_per_judgment_micros", spec.price_per_judgment_micros, 0, 10**12)
    check_range("job.budget_micros", spec.budget_micros, 0, 10**15)
    check_range(
        "job.task_time_limit (seconds)", spec.task_time_limit_seconds, MIN_TASK_SECONDS, MAX_TASK_SECONDS
    )
    check_range("job.task_lifetime (seconds)", spec.task_lifetime_seconds, 0, MAX_LIFETIME_SECONDS)
    require(
        bool(ATTRIBUTE_NAME.match(spec.label_attribute_name))
        and not spec.label_attribute_name.endswith("-metadata"),
        "job.label_attribute_name must be 1 to 127 of [a-zA-Z0-9-], starting and ending with a letter or digit,"
        f" and must not end in -metadata; got {spec.label_attribute_name!r}",
    )
    if spec.task_type == "verification":
        size = int(spec.task_config.get("batch_size", 10) or 10)
        check_range("job.task_config.verification.batch_size", size, 1, 100)
    schema = answer_schema.schema_of(spec.task_config) if spec.task_type == "custom" else None
    if schema is not None:
        problem = answer_schema.schema_problem(schema)
        require(
            problem is None, f"job.task_config.custom.answer_schema is not a valid JSON Schema: {problem}"
        )
    text_len = len(json.dumps(spec.instructions))
    require(
        text_len <= 2_000_000, f"job.instructions must be at most 2,000,000 bytes as JSON, got {text_len}"
    )


def _classes_key(task_type: str) -> str:
    return "entity_types" if task_type == "spans" else "classes"


def validate_item(spec: JobSpec, item: ItemInput, field: str) -> None:
    check_text(f"{field}.key", item.key, low=1, high=MAX_KEY_CHARS)
    require(item.payload_kind in PAYLOAD_KINDS, f"{field}.payload is required (text, json or source_ref)")
    size = len(item.payload.encode("utf-8"))
    require(
        size <= MAX_PAYLOAD_BYTES, f"{field}.payload must be at most {MAX_PAYLOAD_BYTES} bytes, got {size}"
    )
    if item.payload_kind == "json":
        try:
            parsed = json.loads(item.payload)
        except ValueError as exc:
            raise InvalidArgument(f"{field}.json is not valid JSON: {exc}") from None
        require(isinstance(parsed, dict), f"{field}.json must be a JSON object")
    if item.payload_kind == "source_ref":
        require(
            item.payload.startswith(SOURCE_SCHEMES),
            f"{field}.source_ref must be a URI starting with one of {', '.join(SOURCE_SCHEMES)}; got {item.payload[:80]!r}",
        )
    elif spec.media_type != "text":
        raise InvalidArgument(f"{field}.source_ref is required for {spec.media_type} jobs")
    if spec.task_type == "verification":
        require(item.prelabel is not None, f"{field}.prelabel is required: it is the label to verify")
    if item.prelabel is not None:
        if spec.task_type == "verification":
            validate_reviewed_label(spec, item.prelabel, f"{field}.prelabel")
        else:
            validate_answer(spec, item.prelabel, f"{field}.prelabel")
    if item.prelabel_confidence is not None:
        check_range(f"{field}.prelabel_confidence", item.prelabel_confidence, 0.0, 1.0)
    if item.gold is not None:
        validate_answer(spec, item.gold, f"{field}.gold_answer")
    require(
        item.gold is not None or not item.gold_use, f"{field}.gold_use is set but {field}.gold_answer is not"
    )


def validate_items(spec: JobSpec, items: Sequence[ItemInput], field: str) -> None:
    require(
        len(items) <= MAX_ITEMS_PER_MESSAGE,
        f"{field} must have at most {MAX_ITEMS_PER_MESSAGE} items per message, got {len(items)}",
    )
    for i, item in enumerate(items):
        validate_item(spec, item, f"{field}[{i}]")


def validate_answer(spec: JobSpec, answer: Answer, field: str) -> None:
    """An answer must be of the job's task type and name only the job's classes."""
    kind = next(iter(answer), None) if len(answer) == 1 else None
    expected = answer_key(spec.task_type)
    require(
        kind == expected,
        f"{field} must be a {expected} answer for a {spec.task_type} job, got {kind or 'none'}",
    )
    _validate_body(spec, expected, answer[expected] or {}, field)


def validate_reviewed_label(spec: JobSpec, answer: Answer, field: str) -> None:
    """A verification item's pre-label is the label under review (a model's class, boxes,
    spans or mask), not a verdict: it may be of any labeling kind, naming the job's classes."""
    kind = next(iter(answer), None) if len(answer) == 1 else None
    require(
        kind in REVIEWED_KINDS,
        f"{field} of a verification job is the label to verify: one of {', '.join(REVIEWED_KINDS)},"
        f" got {kind or 'none'}",
    )
    assert kind is not None
    _validate_body(spec, kind, answer[kind] or {}, field)


def _validate_body(spec: JobSpec, expected: str, body: dict[str, Any], field: str) -> None:
    names = set(spec.class_names)
    if expected == "classification":
        name = body.get("class_name", "")
        require(name in names, f"{field}.classification.class_name {name!r} is not one of the job's classes")
    elif expected == "multi_label":
        chosen = list(body.get("class_names", []))
        for name in chosen:
            require(
                name in names, f"{field}.multi_label.class_names {name!r} is not one of the job's classes"
            )
        require(len(set(chosen)) == len(chosen), f"{field}.multi_label.class_names must not repeat a class")
    elif expected == "bounding_boxes":
        boxes = body.get("boxes", [])
        require(
            len(boxes) <= 1000, f"{field}.bounding_boxes.boxes must have at most 1000 boxes, got {len(boxes)}"
        )
        for i, box in enumerate(boxes):
            where = f"{field}.bounding_boxes.boxes[{i}]"
            require(box.get("class_name", "") in names, f"{where}.class_name is not one of the job's classes")
            require(box.get("left", 0) >= 0 and box.get("top", 0) >= 0, f"{where} left and top must be >= 0")
            require(
                box.get("width", 0) > 0 and box.get("height", 0) > 0, f"{where} width and height must be > 0"
            )
    elif expected == "spans":
        spans = body.get("spans", [])
        require(len(spans) <= 1000, f"{field}.spans.spans must have at most 1000 spans, got {len(spans)}")
        for i, span in enumerate(spans):
            where = f"{field}.spans.spans[{i}]"
            require(
                span.get("entity_type", "") in names,
                f"{where}.entity_type is not one of the job's entity types",
            )
            require(0 <= span.get("start", 0) < span.get("end", 0), f"{where} must have 0 <= start < end")
    elif expected == "segmentation":
        require(bool(body.get("mask_png")), f"{field}.segmentation.mask_png is required")
        try:
            mask = geometry.decode_mask(str(body["mask_png"]))
        except ValueError as err:
            raise InvalidArgument(
                f"{field}.segmentation.{err}; it must be a greyscale (or palette) PNG of at most"
                f" {geometry.MAX_MASK_PIXELS} pixels whose values are class indexes"
            ) from None
        top = int(mask.max()) if mask.size else 0
        require(
            top <= len(spec.classes),
            f"{field}.segmentation.mask_png has pixel value {top}; values are class indexes from 0"
            f" (background) to {len(spec.classes)}",
        )
    elif expected == "verification":
        require(bool(body.get("correct")), f"{field}.verification.correct needs one verdict per batch item")
    elif expected == "custom":
        schema = answer_schema.schema_of(spec.task_config)
        problem = None if schema is None else answer_schema.answer_problem(schema, body, f"{field}.custom")
        require(problem is None, str(problem))


def answer_key(task_type: str) -> str:
    """The Answer oneof field for a task type."""
    return {"bounding_box": "bounding_boxes"}.get(task_type, task_type)
