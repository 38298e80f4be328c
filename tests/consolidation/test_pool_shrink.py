"""A worker's fitted matrix counts for as much as its answers: with none it is the pool's,
with many nearly its own."""

from __future__ import annotations

import numpy as np

from labelwire.server.consolidation import Judgments
from labelwire.server.consolidation.pool_shrink import POOL_STRENGTH, item_posteriors, shrink_to_pool


def test_a_worker_is_weighed_by_its_answers_between_its_fit_and_the_pool() -> None:
    sure = np.array([[0.98, 0.02], [0.02, 0.98]])
    pool = np.array([[0.6, 0.4], [0.4, 0.6]])
    shrunk = shrink_to_pool(np.stack([sure] * 3), np.array([0, POOL_STRENGTH, 100 * POOL_STRENGTH]), 0.6)
    assert np.allclose(shrunk[0], pool)
    assert np.allclose(shrunk[1], (sure + pool) / 2)
    assert abs(shrunk[2][0, 0] - 0.98) < 0.01
    assert np.allclose(shrunk.sum(axis=2), 1)


def test_item_posteriors_are_the_prior_times_each_answers_likelihood() -> None:
    j = Judgments.from_lists([0, 0, 1], [0, 1, 0], [1, 1, 0], n_classes=2, n_items=3)
    matrices = np.stack([[[0.8, 0.2], [0.2, 0.8]], [[0.6, 0.4], [0.4, 0.6]]])
    post = item_posteriors(j, matrices, np.array([0.5, 0.5]))
    assert np.allclose(post[0], np.array([0.2 * 0.4, 0.8 * 0.6]) / (0.2 * 0.4 + 0.8 * 0.6))
    assert np.allclose(post[1], [0.8, 0.2])
    assert np.allclose(post[2], [0.5, 0.5])  # no judgment: the prior
