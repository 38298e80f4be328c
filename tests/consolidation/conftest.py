from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from labelwire.server.consolidation import Judgments
from labelwire.server.consolidation.base import FloatArray, IntArray

PlantedCrowd = Callable[..., tuple[Judgments, IntArray]]


def _planted(
    confusion: FloatArray, n_items: int, per_item: int, seed: int = 0, priors: FloatArray | None = None
) -> tuple[Judgments, IntArray]:
    """Each item answered by `per_item` distinct workers drawn at random, answers drawn from their matrix."""
    rng = np.random.default_rng(seed)
    n_workers, k, _ = confusion.shape
    truth = rng.choice(k, size=n_items, p=priors).astype(np.int64)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    cumulative = np.cumsum(confusion[workers, truth[items]], axis=1)
    answers = (rng.random(items.size)[:, None] > cumulative[:, :-1]).sum(axis=1)
    return Judgments.from_lists(items, workers, answers, n_classes=k, n_workers=n_workers), truth


@pytest.fixture
def planted_crowd() -> PlantedCrowd:
    return _planted


def one_coin(accuracy: list[float], k: int) -> FloatArray:
    acc = np.asarray(accuracy)[:, None, None]
    eye = np.eye(k)[None]
    return np.asarray(acc * eye + (1 - acc) / (k - 1) * (1 - eye), dtype=np.float64)


def planted_easiness(
    sd: float, seed: int, n_items: int = 6000, n_workers: int = 60
) -> tuple[Judgments, np.ndarray]:
    """GLAD's model over 4 classes: `n_workers` workers of accuracy 0.5 to 0.9 on an average item,
    `n_items` items of easiness drawn from N(0, sd²), 5 answers each."""
    rng = np.random.default_rng(seed)
    per_item, k = 5, 4
    accuracy = np.linspace(0.5, 0.9, n_workers)
    ability = np.log(accuracy / (1 - accuracy))
    easiness = rng.normal(0.0, sd, size=n_items)
    truth = rng.integers(0, k, size=n_items)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    right = rng.random(items.size) < 1 / (1 + np.exp(-ability[workers] * np.exp(easiness[items])))
    answers = np.where(right, truth[items], (truth[items] + rng.integers(1, k, size=items.size)) % k)
    return Judgments.from_lists(items, workers, answers, n_classes=k), truth
