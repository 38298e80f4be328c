"""Dawid-Skene's workers keep their spread of skill, and its confidence between 0.6 and 0.9
is right where items differ in difficulty (`row_prior.py`): one shrinkage strength for every
confusion cell pulled each worker's accuracy most of the way to the crowd's, and the strong
workers' agreement on a hard item then read as more than it was."""

import numpy as np

from labelwire.server.consolidation import DawidSkene

from .conftest import PlantedCrowd, one_coin, planted_easiness


def test_fitted_accuracies_keep_the_spread_of_the_workers(planted_crowd: PlantedCrowd) -> None:
    """50 spammers and 150 workers of accuracy 0.45 to 0.9, 200 answers each: the fitted
    accuracies rose 0.64-0.66 per point of a worker's share of right answers (one strength
    for all cells), 0.81-0.82 with the three-level prior (seeds 1-3), and the spammers stood
    at 0.36 instead of 0.30 (true 0.25)."""
    accuracy = np.r_[np.full(50, 0.25), np.linspace(0.45, 0.9, 150)]
    judgments, truth = planted_crowd(one_coin(accuracy.tolist(), 4), n_items=10_000, per_item=4, seed=1)
    right = judgments.answers == truth[judgments.items]
    answered = np.bincount(judgments.workers, minlength=judgments.n_workers)
    share = np.bincount(judgments.workers, weights=right, minlength=judgments.n_workers) / answered

    skill = DawidSkene().fit(judgments).worker_skill

    assert np.polyfit(share, skill, 1)[0] > 0.75
    assert skill[:50].mean() < 0.33


def test_band_confidence_within_a_point_when_items_differ_in_difficulty() -> None:
    """GLAD's model with easiness sd 1.0, six crowds of 20,000 items and 500 workers (200 answers
    each), pooled: about 19,000 items in the band, so sampling noise is about 0.3 point. One
    strength for all cells left Dawid-Skene 1.5 points too sure there (+1.56 on seeds 1-3,
    +1.41 on 4-6); the three-level prior +0.74 and +0.16."""
    confidence, right = [], []
    for seed in range(1, 7):
        judgments, truth = planted_easiness(1.0, seed, n_items=20_000, n_workers=500)
        result = DawidSkene().fit(judgments)
        confidence.append(result.confidence)
        right.append(result.labels == truth)
    conf, ok = np.concatenate(confidence), np.concatenate(right)

    band = (conf >= 0.6) & (conf < 0.9)
    assert band.sum() > 15_000
    assert abs(conf[band].mean() - ok[band].mean()) < 0.01
    assert abs(conf.mean() - ok.mean()) < 0.005
