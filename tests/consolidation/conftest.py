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
