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

from labelwire.server.domain.checks import MAX_CLASSES as MAX_CLASSES
from labelwire.server.domain.checks import QUOTE_CHARS as QUOTE_CHARS
from labelwire.server.domain.checks import check_range as check_range
from labelwire.server.domain.checks import check_text as check_text
from labelwire.server.domain.checks import quote as quote
from labelwire.server.domain.checks import require as require
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import Answer, ItemInput, JobSpec
from labelwire.server.domain.tasks import KINDS, REVIEWED_KEYS, kind_of_answer, task_kind

MAX_PAYLOAD_BYTES = 1 << 20
MAX_KEY_CHARS = 256
MAX_ITEMS_PER_MESSAGE = 10_000
MAX_JUDGMENTS = 9
MAX_DYNAMIC_JUDGMENTS = 25
MIN_TASK_SECONDS, MAX_TASK_SECONDS = 30, 8 * 3600
MAX_LIFETIME_SECONDS = 30 * 24 * 3600
MAX_DECLINE_REASON_CHARS = 1000
MAX_GOLD_EXPLANATION_CHARS = 4000
MAX_COMMENT_CHARS = 2000
MAX_COMMENTS_PER_TASK = 20
ATTRIBUTE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$")
PAYLOAD_KINDS = ("text", "json", "source_ref")
SOURCE_SCHEMES = ("s3://", "https://", "http://", "file://", "gs://")
MAX_METADATA_BYTES = 64 * 1024
MAX_JSON_DEPTH = 64
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def check_json_text(field: str, text: str) -> Any:
    """Parses a caller's JSON, refusing nesting deeper than MAX_JSON_DEPTH
    before the parser (or anything after it) can recurse that deep."""
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        depth = 0
        for token in _NESTING.finditer(text):
            mark = token.group()
            if mark in "[{":
                depth += 1
                require(
                    depth <= MAX_JSON_DEPTH, f"{field} must nest at most {MAX_JSON_DEPTH} levels deep", field
                )
            elif mark in "]}":
                depth -= 1
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidArgument(f"{field} is not valid JSON: {quote(exc, 120)}", field) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_json_value(field: str, value: Any, *, max_bytes: int | None = None) -> None:
    """A JSON value (item metadata, a workforce's settings) must be finite,
    at most MAX_JSON_DEPTH levels deep, and, given `max_bytes`, that small as
    JSON. Walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, float):
            require(math.isfinite(node), f"{field} must not contain NaN or infinity", field)
        elif isinstance(node, dict | list):
            require(depth <= MAX_JSON_DEPTH, f"{field} must nest at most {MAX_JSON_DEPTH} levels deep", field)
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    if max_bytes is not None:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        require(
            size <= max_bytes, f"{field} must be at most {max_bytes:,} bytes as JSON, got {size:,}", field
        )


def _validate_routing(spec: JobSpec) -> None:
    routing = spec.routing
    assert routing is not None
    require(
        task_kind(spec).routable,
        f"job.model_routing applies to classification jobs only; this job is {spec.task_type}",
        "job.model_routing",
    )
    for name, threshold in routing.class_thresholds.items():
        field = f"job.model_routing.class_thresholds[{quote(name)}]"
        require(
            name in spec.class_names,
            f"{field} names no class of the job (classes: {', '.join(spec.class_names)})",
            field,
        )
        check_range(field, threshold, 0.0, 1.0)
    check_range("job.model_routing.audit_share", routing.audit_share, 0.0, 1.0)
    check_range("job.model_routing.target_precision", routing.target_precision, 0.5, 1.0)
    check_range("job.model_routing.min_learning_items", routing.min_learning_items, 10, 1_000_000)
    require(
        bool(routing.class_thresholds) or routing.learn_thresholds,
        "job.model_routing needs class_thresholds or learn_thresholds",
        "job.model_routing",
    )


MAX_ROUTING_RULES = 10
MAX_RULE_CLASSES = 100
VERDICTS = ("confirmed", "disconfirmed", "split")
CLASS_RULE_TYPES = tuple(kind.name for kind in KINDS.values() if kind.routes_by_class)


def _validate_chain_rules(spec: JobSpec) -> None:
    """What a routing rule between jobs can say without the store: the
    target's ownership, state and cycles are checked in the transaction
    that saves the job (`core.chains`)."""
    rules = spec.routing_rules
    require(
        len(rules) <= MAX_ROUTING_RULES,
        f"job.routing_rules must have at most {MAX_ROUTING_RULES} entries, got {len(rules)}",
        "job.routing_rules",
    )
    for i, rule in enumerate(rules):
        field = f"job.routing_rules[{i}]"
        require(
            bool(rule.classes) or rule.confidence_below is not None or bool(rule.verdict),
            f"{field} needs a condition: classes, confidence_below or verdict",
            field,
        )
        require(
            len(rule.classes) <= MAX_RULE_CLASSES,
            f"{field}.classes must have at most {MAX_RULE_CLASSES} entries, got {len(rule.classes)}",
            f"{field}.classes",
        )
        if rule.classes:
            require(
                task_kind(spec).routes_by_class,
                f"{field}.classes applies to {', '.join(CLASS_RULE_TYPES)} jobs only; this job is {spec.task_type}",
                f"{field}.classes",
            )
        for j, name in enumerate(rule.classes):
            require(
                name in spec.class_names,
                f"{field}.classes[{j}] {quote(name)} names no class of the job"
                f" (classes: {', '.join(spec.class_names)})",
                f"{field}.classes[{j}]",
            )
        if rule.confidence_below is not None:
            require(
                not math.isnan(rule.confidence_below) and 0.0 < rule.confidence_below <= 1.0,
                f"{field}.confidence_below must be greater than 0 and at most 1, got {rule.confidence_below:g}",
                f"{field}.confidence_below",
            )
        if rule.verdict:
            require(
                task_kind(spec).reviews_prelabel,
                f"{field}.verdict applies to verification jobs only; this job is {spec.task_type}",
                f"{field}.verdict",
            )
            require(rule.verdict in VERDICTS, f"{field}.verdict must be one of {', '.join(VERDICTS)}", field)


def validate_job_spec(spec: JobSpec) -> None:
    check_text("job.display_name", spec.display_name, low=1, high=200)
    kind = task_kind(spec)
    classes_field = kind.classes_field
    need, top = kind.min_classes, kind.max_classes
    require(
        need <= len(spec.classes) <= top,
        f"{classes_field} must have {need} to {top} entries, got {len(spec.classes)}",
        classes_field,
    )
    seen: set[str] = set()
    for i, cls in enumerate(spec.classes):
        check_text(f"{classes_field}[{i}].name", cls.name, low=1, high=256)
        check_text(f"{classes_field}[{i}].description", cls.description, low=0, high=4096)
        require(
            cls.name not in seen,
            f"{classes_field}[{i}].name {quote(cls.name)} is not unique",
            f"{classes_field}[{i}].name",
        )
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
    check_range("job.gold_policy.min_segmentation_iou", spec.gold.min_segmentation_iou, 0.0, 1.0)
    check_range("job.gold_policy.number_tolerance", spec.gold.number_tolerance, 0.0, 1e300)
    check_range("job.gold_policy.keypoint_tolerance", spec.gold.keypoint_tolerance, 0.0, 1.0)
    check_range("job.price_per_judgment_micros", spec.price_per_judgment_micros, 0, 10**12)
    check_range("job.budget_micros", spec.budget_micros, 0, 10**15)
    require(
        MIN_TASK_SECONDS <= spec.task_time_limit_seconds <= MAX_TASK_SECONDS,
        f"job.task_time_limit (seconds) must be between {MIN_TASK_SECONDS} and {MAX_TASK_SECONDS},"
        f" got {spec.task_time_limit_seconds:g}",
        "job.task_time_limit",
    )
    require(
        0 <= spec.task_lifetime_seconds <= MAX_LIFETIME_SECONDS,
        f"job.task_lifetime (seconds) must be between 0 and {MAX_LIFETIME_SECONDS},"
        f" got {spec.task_lifetime_seconds:g}",
        "job.task_lifetime",
    )
    require(
        bool(ATTRIBUTE_NAME.match(spec.label_attribute_name))
        and not spec.label_attribute_name.endswith("-metadata"),
        "job.label_attribute_name must be 1 to 127 of [a-zA-Z0-9-], starting and ending with a letter or digit,"
        f" and must not end in -metadata; got {quote(spec.label_attribute_name)}",
        "job.label_attribute_name",
    )
    if spec.routing is not None:
        _validate_routing(spec)
    _validate_chain_rules(spec)
    kind.validate_config(spec)
    text_len = len(json.dumps(spec.instructions))
    require(
        text_len <= 2_000_000,
        f"job.instructions must be at most 2,000,000 bytes as JSON, got {text_len}",
        "job.instructions",
    )


def validate_item(spec: JobSpec, item: ItemInput, field: str) -> None:
    check_text(f"{field}.key", item.key, low=1, high=MAX_KEY_CHARS)
    require(
        item.payload_kind in PAYLOAD_KINDS,
        f"{field}.payload is required (text, json or source_ref)",
        f"{field}.payload",
    )
    size = len(item.payload.encode("utf-8"))
    require(
        size <= MAX_PAYLOAD_BYTES,
        f"{field}.payload must be at most {MAX_PAYLOAD_BYTES} bytes, got {size}",
        f"{field}.{item.payload_kind}",
    )
    if item.payload_kind == "json":
        parsed = check_json_text(f"{field}.json", item.payload)
        require(isinstance(parsed, dict), f"{field}.json must be a JSON object", f"{field}.json")
    if item.payload_kind == "source_ref":
        require(
            item.payload.startswith(SOURCE_SCHEMES),
            f"{field}.source_ref must be a URI starting with one of {', '.join(SOURCE_SCHEMES)};"
            f" got {quote(item.payload)}",
            f"{field}.source_ref",
        )
    elif spec.media_type != "text":
        raise InvalidArgument(
            f"{field}.source_ref is required for {spec.media_type} jobs", f"{field}.source_ref"
        )
    reviews = task_kind(spec).reviews_prelabel
    if reviews:
        require(item.prelabel is not None, f"{field}.prelabel is required: it is the label to verify")
    if item.metadata is not None:
        check_json_value(f"{field}.metadata", item.metadata, max_bytes=MAX_METADATA_BYTES)
    if item.prelabel is not None:
        if reviews:
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
    require(
        item.gold is not None or not item.gold_explanation,
        f"{field}.gold_explanation is set but {field}.gold_answer is not",
    )
    require(
        len(item.gold_explanation) <= MAX_GOLD_EXPLANATION_CHARS,
        f"{field}.gold_explanation must be at most {MAX_GOLD_EXPLANATION_CHARS} characters,"
        f" got {len(item.gold_explanation)}",
    )


def validate_items(spec: JobSpec, items: Sequence[ItemInput], field: str) -> None:
    require(
        len(items) <= MAX_ITEMS_PER_MESSAGE,
        f"{field} must have at most {MAX_ITEMS_PER_MESSAGE} items per message, got {len(items)}",
        field,
    )
    for i, item in enumerate(items):
        validate_item(spec, item, f"{field}[{i}]")


def validate_answer(spec: JobSpec, answer: Answer, field: str) -> None:
    """An answer must be of the job's task type and name only the job's classes."""
    key = next(iter(answer), None) if len(answer) == 1 else None
    kind = task_kind(spec)
    expected = kind.answer_key
    require(
        key == expected,
        f"{field} must be a {expected} answer for a {spec.task_type} job, got {key or 'none'}",
        field,
    )
    kind.validate_body(spec, answer[expected] or {}, field)


def validate_reviewed_label(spec: JobSpec, answer: Answer, field: str) -> None:
    """A verification item's pre-label is the label under review (a model's class, boxes,
    spans or mask), not a verdict: it may be of any labeling kind, naming the job's classes."""
    key = next(iter(answer), None) if len(answer) == 1 else None
    require(
        key in REVIEWED_KEYS,
        f"{field} of a verification job is the label to verify: one of {', '.join(REVIEWED_KEYS)},"
        f" got {key or 'none'}",
    )
    kind = kind_of_answer(answer)
    assert kind is not None
    kind.validate_body(spec, answer[kind.answer_key] or {}, field)


def answer_key(task_type: str) -> str:
    """The Answer oneof field for a task type."""
    kind = KINDS.get(task_type)
    return kind.answer_key if kind is not None else task_type
