"""Dawid-Skene's held-out E-step runs by rank layers on large jobs and per judgment on
small ones (`Judgments.by_rank`); both must give the same answer to the last bit."""

from __future__ import annotations

import numpy as np
import pytest

from labelwire.server.consolidation import DawidSkene, Judgments
from labelwire.server.consolidation import dawid_skene as ds
from labelwire.server.consolidation.base import ClassificationResult


def _uneven_crowd(n_items: int, seed: int) -> Judgments:
    """1 to 7 answers per item, in shuffled row order, 4 classes, workers of mixed skill."""
    rng = np.random.default_rng(seed)
    per_item = rng.integers(1, 8, n_items)
    items = np.repeat(np.arange(n_items), per_item)
    truth = rng.integers(0, 4, n_items)
    n_workers = 60
    workers = rng.integers(0, n_workers, items.size)
    skill = rng.uniform(0.3, 0.95, n_workers)
    right = rng.random(items.size) < skill[workers]
    answers = np.where(right, truth[items], rng.integers(0, 4, items.size))
    order = rng.permutation(items.size)
    return Judgments.from_lists(
        items[order], workers[order], answers[order], n_classes=4, n_workers=n_workers
    )


def _fit_with_layers_from(
    monkeypatch: pytest.MonkeyPatch, min_items: int, judgments: Judgments
) -> ClassificationResult:
    monkeypatch.setattr(ds, "LAYER_ITEMS", min_items)
    monkeypatch.setattr(ds, "PIECE", 97)
    return DawidSkene().fit(
        judgments, gold={3: 2, 10: 0}, worker_skill=np.where(np.arange(60) < 5, 0.9, np.nan)
    )


@pytest.mark.parametrize("min_items", [1, 400])
def test_layers_give_the_per_judgment_answer_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch, min_items: int
) -> None:
    j = _uneven_crowd(1500, seed=4)
    per_judgment = _fit_with_layers_from(monkeypatch, 10**9, j)
    layered = _fit_with_layers_from(monkeypatch, min_items, j)
    assert np.array_equal(per_judgment.labels, layered.labels)
    assert per_judgment.n_iter == layered.n_iter
    np.testing.assert_allclose(layered.posteriors, per_judgment.posteriors, rtol=0, atol=1e-12)
    np.testing.assert_allclose(layered.worker_skill, per_judgment.worker_skill, rtol=0, atol=1e-12)


def test_by_rank_puts_every_row_in_one_layer_or_the_tail() -> None:
    j = _uneven_crowd(300, seed=5).sorted_by_item()
    per_item = np.bincount(j.items, minlength=j.n_items)
    ranks = j.by_rank(50)
    rows = np.concatenate([*ranks.layers, ranks.tail])
    assert np.array_equal(np.sort(rows), np.arange(len(j)))
    assert all(layer.size >= 50 for layer in ranks.layers)
    assert np.count_nonzero(per_item > len(ranks.layers)) < 50
    for r, layer in enumerate(ranks.layers):
        assert np.array_equal(j.items[layer], ranks.order[: layer.size])
        first = np.cumsum(per_item) - per_item
        assert np.array_equal(layer - first[j.items[layer]], np.full(layer.size, r))
    assert np.all(np.diff(per_item[ranks.order]) <= 0)


def test_by_rank_of_no_judgments_is_empty() -> None:
    ranks = Judgments.from_lists([], [], [], n_classes=2, n_items=3, n_workers=1).by_rank(1)
    assert ranks.layers == [] and ranks.tail.size == 0
