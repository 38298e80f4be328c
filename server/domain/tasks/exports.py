"""A task kind's label as a Ground Truth augmented manifest states it, and
back: what `TaskKind.export` and `TaskKind.label_from_groundtruth` share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

MaskWriter = Callable[[bytes], str]
"""Writes a colour mask PNG somewhere a manifest can point at; returns its URI."""

Exported = tuple[Any, dict[str, Any], str]
"""A label in an augmented manifest: the attribute's value, the extra
`-metadata` fields, and Ground Truth's `type`."""


@dataclass(frozen=True)
class ExportTo:
    """What a label's manifest form depends on besides its body, so each kind's
    `export` takes one argument for all of it."""

    confidence: float | None
    classes: Sequence[str]
    media: str
    """text or image"""
    write_mask: MaskWriter | None

    @property
    def score(self) -> float:
        """The confidence as Ground Truth's metadata states it."""
        return round(float(self.confidence or 0), 4)

    @cached_property
    def index(self) -> dict[str, int]:
        """The job's class ids by name."""
        return {name: i for i, name in enumerate(self.classes)}


def groundtruth_confidence(value: Any) -> float | None:
    """A confidence as a Ground Truth manifest writes it (a number), else None."""
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def lowest_confidence(values: Any) -> float | None:
    """A label made of parts is only as sure as its least sure part."""
    numbers = [c for c in (groundtruth_confidence(v) for v in values) if c is not None]
    return min(numbers) if numbers else None
