"""Dawid-Skene and one-coin on a crowd whose items differ in difficulty: an item whose answers
split is not as sure as its workers' average accuracies say, and the confidence says so."""

import numpy as np
import pytest

from labelwire.server.consolidation import DawidSkene, OneCoinDawidSkene

from .conftest import PlantedCrowd, one_coin, planted_easiness


@pytest.mark.parametrize(("model", "tolerance"), [(OneCoinDawidSkene, 0.02), (DawidSkene, 0.03)])
def test_band_confidence_matches_accuracy_when_items_differ_in_difficulty(
    model: type[DawidSkene] | type[OneCoinDawidSkene], tolerance: float
) -> None:
    """GLAD's model with easiness sd 1.0: both were 7.6-9 points too sure between 0.6 and 0.9
    here (4.5-9 on seeds 1, 2, 3 and 7); integrating each item's difficulty out leaves one-coin
    within 1 point and Dawid-Skene within 2 on those seeds. The band holds about 950 items: a
    point of noise."""
    judgments, truth = planted_easiness(1.0, seed=1)

    result = model().fit(judgments)

    band = (result.confidence >= 0.6) & (result.confidence < 0.9)
    right = result.labels == truth
    assert band.sum() > 700
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
