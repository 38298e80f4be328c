"""Dynamic judgments: ask for another answer only where it can change the outcome.

Five judgments on every item spend most of the budget on items the first two
workers already settled. The policy asks for more only while an item's posterior
confidence is below target, between a floor and a ceiling of judgments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelwire.server.consolidation.base import BoolArray


@dataclass(frozen=True)
class JudgmentPolicy:
    """Every item gets `min_judgments`; none gets more than `max_judgments`.

    In between, an item needs another judgment while its confidence is below
    `target_confidence`. The confidence must be a calibrated posterior (Dawid-Skene,
    one-coin, GLAD, or weighted vote with known skills): a raw vote share
    reaches 1.0 after one answer and would stop everything at the floor.
    """

    min_judgments: int = 2
    max_judgments: int = 5
    target_confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.min_judgments < 1:
            raise ValueError(f"min_judgments must be at least 1, got {self.min_judgments}")
        if self.max_judgments < self.min_judgments:
            raise ValueError(
                f"max_judgments must be at least min_judgments ({self.min_judgments}), got {self.max_judgments}"
            )
        if not 0.0 < self.target_confidence <= 1.0:
            raise ValueError(f"target_confidence must be in (0, 1], got {self.target_confidence}")

    def needs_more(self, confidence: npt.ArrayLike, n_judgments: npt.ArrayLike) -> BoolArray:
        """Element-wise over items; scalars in, 0-d array out (`bool()` it)."""
        conf = np.asarray(confidence, dtype=np.float64)
        n = np.asarray(n_judgments, dtype=np.int64)
        below_floor = n < self.min_judgments
        unsure = (n < self.max_judgments) & (conf < self.target_confidence)
        return np.asarray(below_floor | unsure, dtype=np.bool_)


def route(
    open_items: BoolArray,
    n_judgments: npt.ArrayLike,
    confidence: npt.ArrayLike,
    worker_skill: float,
    skill_cut: float,
    min_judgments: int,
) -> int | None:
    """The item to offer a worker who asks, or None to offer nothing.

    `open_items` marks the items that still need a judgment and that this worker has not
    answered. Items under `min_judgments` are anyone's, fewest judgments first. An item past
    its floor is still unsettled: its next judgment is worth most from a worker who is likely
    right, so it goes only to a worker whose estimated skill is at least `skill_cut` (the
    least confident such item first); a weaker worker gets an item under the floor, or nothing
    (a worker cannot be summoned, but one need not be given the contested items). With
    `skill_cut` at or below every skill (for example -1) every worker is offered the open
    item with the fewest judgments, as a dispatcher without routing does.
    """
    candidates = np.flatnonzero(open_items)
    if not candidates.size:
        return None
    counts = np.asarray(n_judgments)[candidates]
    fresh = candidates[counts < min_judgments]
    if worker_skill < skill_cut:
        if not fresh.size:
            return None
        return int(fresh[np.argmin(np.asarray(n_judgments)[fresh])])
    if skill_cut < 0 or not (contested := candidates[counts >= min_judgments]).size:
        return int(candidates[np.argmin(counts)])
    return int(contested[np.argmin(np.asarray(confidence)[contested])])
