"""A seeded synthetic crowd with a planted truth, for benchmarking consolidation.

Every worker has a full confusion matrix (errors are not spread evenly, so the
methods that model them have something to find). Presets stress one weakness
each; all of them share the generator so the numbers are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelwire.server.consolidation import Judgments
from labelwire.server.consolidation.base import FloatArray, IntArray


@dataclass(frozen=True)
class Preset:
    n_classes: int = 4
    judgments_per_item: tuple[int, int] = (5, 5)
    accuracy: tuple[float, float] = (7.0, 3.0)
    spammer_share: float = 0.0
    swapper_share: float = 0.0
    class_priors: tuple[float, ...] | None = None
    activity_zipf: float = 0.0
    answers_per_worker: int = 200


PRESETS: dict[str, Preset] = {
    "baseline": Preset(),
    "spammers": Preset(spammer_share=0.3),
    "adversaries": Preset(swapper_share=0.2),
    "skewed": Preset(class_priors=(0.7, 0.15, 0.1, 0.05)),
    "overlap": Preset(judgments_per_item=(1, 9)),
    "long_tail": Preset(activity_zipf=1.1, answers_per_worker=50),
}


@dataclass(frozen=True)
class Crowd:
    judgments: Judgments
    truth: IntArray
    confusion: FloatArray
    worker_kind: IntArray
    """0 ordinary, 1 spammer, 2 class-swapper."""


def worker_confusions(
    preset: Preset, n_workers: int, rng: np.random.Generator
) -> tuple[FloatArray, IntArray]:
    k = preset.n_classes
    accuracy = np.clip(rng.beta(*preset.accuracy, size=n_workers), 1.0 / k + 0.05, 0.98)
    errors = rng.dirichlet(np.ones(k - 1), size=(n_workers, k))
    confusion = np.empty((n_workers, k, k))
    for t in range(k):
        others = [c for c in range(k) if c != t]
        confusion[:, t, t] = accuracy
        confusion[:, t, others] = (1 - accuracy)[:, None] * errors[:, t]
    kind = np.zeros(n_workers, dtype=np.int64)
    draw = rng.random(n_workers)
    spam = draw < preset.spammer_share
    swap = (draw >= preset.spammer_share) & (draw < preset.spammer_share + preset.swapper_share)
    kind[spam], kind[swap] = 1, 2
    confusion[spam] = 1.0 / k
    order = np.arange(k)
    order[[0, 1]] = [1, 0]
    confusion[swap] = confusion[swap][:, order]
    return confusion, kind


def generate(preset: Preset | str, n_judgments: int, seed: int = 0) -> Crowd:
    """About `n_judgments` judgments (a worker never answers one item twice)."""
    preset = PRESETS[preset] if isinstance(preset, str) else preset
    rng = np.random.default_rng(seed)
    k = preset.n_classes
    lo, hi = preset.judgments_per_item
    per_item_mean = (lo + hi) / 2
    n_items = max(int(n_judgments / per_item_mean), 1)
    n_workers = max(n_judgments // preset.answers_per_worker, 3 * hi)

    priors = np.asarray(preset.class_priors or np.full(k, 1.0 / k))
    truth = rng.choice(k, size=n_items, p=priors / priors.sum()).astype(np.int64)
    confusion, kind = worker_confusions(preset, n_workers, rng)

    per_item = rng.integers(lo, hi + 1, size=n_items)
    items = np.repeat(np.arange(n_items, dtype=np.int64), per_item)
    if preset.activity_zipf > 0:
        activity = 1.0 / np.arange(1, n_workers + 1) ** preset.activity_zipf
        workers = rng.choice(n_workers, size=items.size, p=activity / activity.sum()).astype(np.int64)
    else:
        workers = rng.integers(0, n_workers, size=items.size, dtype=np.int64)
    _, first = np.unique(items * n_workers + workers, return_index=True)
    items, workers = items[first], workers[first]

    cumulative = np.cumsum(confusion[workers, truth[items]], axis=1)
    answers = (rng.random(items.size)[:, None] > cumulative[:, :-1]).sum(axis=1).astype(np.int64)
    judgments = Judgments.from_lists(
        items, workers, answers, n_classes=k, n_items=n_items, n_workers=n_workers
    )
    return Crowd(judgments=judgments, truth=truth, confusion=confusion, worker_kind=kind)
