"""Crowd HTML Elements pages that a workforce hosts itself (Mechanical Turk's
HTMLQuestion): what each kind's element is made of, and how the form it posts
reads back. The workforce renders the item, the instructions and the page
around the element (`CrowdPage`); the kind picks the element and reads its
field (`TaskKind.crowd_element`, `TaskKind.crowd_answer`).

A worker's form guarantees nothing: every reading returns None rather than
raise when a field is missing, malformed or names a class the job lacks.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class ItemRejected(ValueError):
    """An item a workforce's page cannot show; the message says why."""


class CrowdClass(Protocol):
    """A class a page offers (`domain.model.LabelClass`, an adapter's `LabelClassView`)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...


@dataclass(frozen=True)
class CrowdPage:
    """One item's page as the workforce renders it: `target` is the item as
    HTML (called only by elements that show it, so an element that needs a URL
    says so first), `header` and `instructions` are HTML already escaped."""

    classes: Sequence[CrowdClass]
    header: str
    instructions: str
    payload_kind: str
    payload: str
    prelabel: Mapping[str, Any] | None
    task_config: Mapping[str, Any]
    target: Callable[[], str]

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]


def attr(value: str) -> str:
    return html.escape(value, quote=True)


def require_url(payload_kind: str, payload: str, why: str) -> str:
    if payload_kind != "source_ref" or not payload.startswith(("https://", "http://")):
        raise ItemRejected(f"{why}: Mechanical Turk needs an http(s) URL, got a {payload_kind} payload")
    return payload


def classifier(tag: str, field: str, categories: Sequence[str], page: CrowdPage, shown: str = "") -> str:
    """A `crowd-classifier` (or its multi-select) offering `categories`, the item
    (and `shown` below it) as its target."""
    return (
        f'<{tag} name="{field}" categories="{attr(json.dumps(list(categories)))}" header="{page.header}">'
        f"<classification-target>{page.target()}{shown}</classification-target>"
        f"{page.instructions}</{tag}>"
    )


def one_label(value: Any) -> str | None:
    """A crowd-classifier's `{"label": x}`, a plain form's text, or a one-item selection list."""
    if isinstance(value, Mapping):
        value = value.get("label")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value.strip() if isinstance(value, str) and value.strip() else None


def many_labels(value: Any) -> list[str] | None:
    """A multi-select classifier's `{"labels": [...]}`, or a plain form's `a|b` text."""
    if isinstance(value, Mapping):
        value = value.get("labels")
    if isinstance(value, str):
        value = [v for v in value.split("|") if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return [v.strip() for v in value]
