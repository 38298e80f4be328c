import numpy as np
import pytest

from labelwire.server.consolidation import BinaryRelevance, MajorityVote, MultiLabelJudgments


def test_binary_relevance_vote_keeps_the_classes_most_workers_ticked() -> None:
    # Item 0: three workers tick {cat}, {cat, dog}, {cat}; item 1: {dog}, {dog, fox}, {}.
    selected = [[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0]]
    j = MultiLabelJudgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], selected)

    result = BinaryRelevance(MajorityVote()).fit(j)

    assert result.labels.tolist() == [[True, False, False], [False, True, False]]
    assert result.posteriors[0] == pytest.approx([1.0, 1 / 3, 0.0])
    assert result.confidence[1] == pytest.approx([1.0, 2 / 3, 2 / 3])


def test_binary_relevance_dawid_skene_learns_a_per_class_skill() -> None:
    # Five workers answer every item on two classes; worker 0 is careful on the first, careless on the second.
    rng = np.random.default_rng(7)
    accuracy = np.array([[0.95, 0.55], [0.8, 0.8], [0.8, 0.8], [0.8, 0.8], [0.8, 0.8]])
    items, workers = np.repeat(np.arange(1500), 5), np.tile(np.arange(5), 1500)
    truth = rng.random((1500, 2)) < 0.4
    correct = rng.random((items.size, 2)) < accuracy[workers]
    j = MultiLabelJudgments.from_lists(items, workers, np.where(correct, truth[items], ~truth[items]))

    result = BinaryRelevance().fit(j)

    assert result.worker_skill[0] == pytest.approx([0.95, 0.55], abs=0.04)
    assert np.mean(result.labels == truth) > 0.93


def test_binary_relevance_gold_fixes_the_known_classes() -> None:
    selected = [[1, 0], [1, 0], [0, 1], [0, 1]]
    j = MultiLabelJudgments.from_lists([0, 0, 1, 1], [0, 1, 0, 1], selected)

    result = BinaryRelevance().fit(j, gold=([1], [[1, 1]]))

    assert result.labels[1].tolist() == [True, True]
    assert result.posteriors[1] == pytest.approx([1.0, 1.0])
