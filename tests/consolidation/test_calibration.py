"""Every latent-truth method's confidence is a probability: on a planted crowd, the items
it labels with confidence between 0.6 and 0.9 are right about that often."""

import numpy as np
import pytest

from labelwire.server.consolidation import GLAD, DawidSkene, OneCoinDawidSkene
from labelwire.server.consolidation.base import Classifier

from .conftest import PlantedCrowd, one_coin


@pytest.mark.parametrize("model", [DawidSkene, OneCoinDawidSkene, GLAD])
def test_confidence_between_0_6_and_0_9_matches_accuracy(
    planted_crowd: PlantedCrowd, model: type[Classifier]
) -> None:
    """60 workers of accuracy 0.45 to 0.85 over 4 classes, 3 answers on each of 6,000 items:
    a hard crowd, where a fixed smoothing and in-sample scoring made the band several points
    too sure. The band holds about 2,000 items, so sampling noise is about a point."""
    accuracy = np.linspace(0.45, 0.85, 60).tolist()
    judgments, truth = planted_crowd(one_coin(accuracy, 4), n_items=6000, per_item=3, seed=13)

    result = model().fit(judgments)

    band = (result.confidence >= 0.6) & (result.confidence < 0.9)
    right = result.labels[band] == truth[band]
    assert band.sum() > 1000
    assert abs(result.confidence[band].mean() - right.mean()) < 0.03
    assert abs(result.confidence.mean() - np.mean(result.labels == truth)) < 0.015
