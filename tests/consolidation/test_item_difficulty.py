"""Dawid-Skene and one-coin on a crowd whose items differ in difficulty: an item whose answers
split is not as sure as its workers' average accuracies say, and the confidence says so."""

import numpy as np
import pytest

from labelwire.server.consolidation import DawidSkene, Judgments, OneCoinDawidSkene
from labelwire.server.consolidation.base import IntArray

from .conftest import PlantedCrowd, one_coin


def _difficult_crowd(sd: float, n_items: int, seed: int) -> tuple[Judgments, IntArray]:
    """GLAD's model: P(right) = sigmoid(ability * exp(easiness)), easiness ~ N(0, sd²), errors
    spread evenly over 4 classes; 5 answers per item from 150 workers of accuracy 0.55-0.9 on
    an average item."""
    rng = np.random.default_rng(seed)
    k, per_item, n_workers = 4, 5, 150
    accuracy = rng.uniform(0.55, 0.9, size=n_workers)
    ability = np.log(accuracy / (1 - accuracy))
    easiness = rng.normal(0.0, sd, size=n_items)
    truth = rng.integers(0, k, size=n_items)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    right = rng.random(items.size) < 1 / (1 + np.exp(-ability[workers] * np.exp(easiness[items])))
    answers = np.where(right, truth[items], (truth[items] + rng.integers(1, k, size=items.size)) % k)
    return Judgments.from_lists(items, workers, answers, n_classes=k, n_workers=n_workers), truth


@pytest.mark.parametrize(("model", "tolerance"), [(OneCoinDawidSkene, 0.02), (DawidSkene, 0.04)])
def test_band_confidence_matches_accuracy_when_items_differ_in_difficulty(
    model: type[DawidSkene] | type[OneCoinDawidSkene], tolerance: float
) -> None:
    """With easiness sd 1.0 both were 10 points too sure between 0.6 and 0.9 here (5-10 on
    seeds 7-9); integrating each item's difficulty out leaves one-coin within 1.6 points and
    Dawid-Skene (whose full matrices explain part of the agreement, so its fitted spread is
    smaller) within 2.1 on those seeds. The band holds about 1,100 items: a point of noise."""
    judgments, truth = _difficult_crowd(1.0, 8000, seed=7)

    result = model().fit(judgments)

    band = (result.confidence >= 0.6) & (result.confidence < 0.9)
    right = result.labels == truth
    assert band.sum() > 800
    assert abs(result.confidence[band].mean() - right[band].mean()) < tolerance
    assert abs(result.confidence.mean() - right.mean()) < 0.015


@pytest.mark.parametrize("model", [DawidSkene, OneCoinDawidSkene])
def test_a_crowd_without_difficulty_is_scored_as_before(
    planted_crowd: PlantedCrowd, model: type[DawidSkene]
) -> None:
    """No item difficulty planted: the fitted spread is none and the posteriors are the model's own."""
    judgments, _ = planted_crowd(
        one_coin(np.linspace(0.5, 0.9, 80).tolist(), 4), n_items=3000, per_item=5, seed=3
    )

    plain = model(item_difficulty=False).fit(judgments)
    integrated = model().fit(judgments)

    np.testing.assert_array_equal(integrated.posteriors, plain.posteriors)
