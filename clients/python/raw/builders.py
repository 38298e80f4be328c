"""Items and answers as messages, for `Client.add_items` and `WorkerClient.submit`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from labelwire.v1 import (
    answer_pb2,
    item_pb2,
    job_pb2,
)


def classification(class_name: str) -> answer_pb2.Answer:
    return answer_pb2.Answer(classification=answer_pb2.ClassificationAnswer(class_name=class_name))


def multi_label(class_names: Iterable[str]) -> answer_pb2.Answer:
    return answer_pb2.Answer(multi_label=answer_pb2.MultiLabelAnswer(class_names=list(class_names)))


def number(value: float) -> answer_pb2.Answer:
    return answer_pb2.Answer(number=answer_pb2.NumberAnswer(value=value))


def keypoints(points: Mapping[str, tuple[float, float] | None]) -> answer_pb2.Answer:
    """Each of the job's key points by name: its (x, y) in image pixels, or None
    when it is not visible."""
    answer = answer_pb2.Answer(keypoints=answer_pb2.KeypointAnswer())
    for name, place in points.items():
        if place is None:
            answer.keypoints.points.add(name=name, not_visible=True)
        else:
            answer.keypoints.points.add(name=name, x=place[0], y=place[1])
    return answer


def number_config(
    *, min_value: float | None = None, max_value: float | None = None, step: float = 0.0, unit: str = ""
) -> job_pb2.Job:
    """A job message holding a number task's config, for `create_job(job=...)`."""
    config = job_pb2.NumberConfig(step=step, unit=unit)
    if min_value is not None:
        config.min_value = min_value
    if max_value is not None:
        config.max_value = max_value
    return job_pb2.Job(task_config=job_pb2.TaskConfig(number=config))


def _item(
    key: str,
    gold: str | answer_pb2.Answer | None,
    metadata: Mapping[str, Any] | None,
    gold_use: int = item_pb2.GOLD_USE_UNSPECIFIED,
) -> item_pb2.Item:
    item = item_pb2.Item(key=key)
    if gold is not None:
        item.gold_answer.CopyFrom(classification(gold) if isinstance(gold, str) else gold)
        item.gold_use = item_pb2.GoldUse.ValueType(gold_use)
    if metadata:
        item.metadata.update(dict(metadata))
    return item


def text_item(
    key: str,
    text: str,
    *,
    gold: str | answer_pb2.Answer | None = None,
    metadata: Mapping[str, Any] | None = None,
    gold_use: int = item_pb2.GOLD_USE_UNSPECIFIED,
) -> item_pb2.Item:
    """An inline-text item; `gold` (a class name or an Answer) makes it a test
    question, for the quiz or hidden gold as `gold_use` says (default: the
    server splits)."""
    item = _item(key, gold, metadata, gold_use)
    item.text = text
    return item


def source_item(
    key: str,
    uri: str,
    *,
    gold: str | answer_pb2.Answer | None = None,
    metadata: Mapping[str, Any] | None = None,
    gold_use: int = item_pb2.GOLD_USE_UNSPECIFIED,
) -> item_pb2.Item:
    """An item whose content is at a URI (an image, a document)."""
    item = _item(key, gold, metadata, gold_use)
    item.source_ref = uri
    return item
