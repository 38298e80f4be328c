import numpy as np
import pytest

from labelwire.server.consolidation import GLAD, Judgments, MajorityVote

from .conftest import planted_easiness


def difficult_crowd(seed: int) -> tuple[Judgments, np.ndarray, np.ndarray, np.ndarray]:
    """GLAD's own model: P(correct) = sigmoid(ability * easiness), errors spread evenly."""
    rng = np.random.default_rng(seed)
    n_items, n_workers, per_item, k = 2000, 30, 5, 3
    ability = rng.uniform(-0.5, 3.0, size=n_workers)
    easiness = np.exp(rng.normal(0.0, 1.0, size=n_items))
    truth = rng.integers(0, k, size=n_items)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    correct = rng.random(items.size) < 1 / (1 + np.exp(-ability[workers] * easiness[items]))
    wrong = (truth[items] + rng.integers(1, k, size=items.size)) % k
    answers = np.where(correct, truth[items], wrong)
    return Judgments.from_lists(items, workers, answers, n_classes=k), truth, ability, easiness


def test_glad_beats_majority_vote_and_ranks_workers_by_ability() -> None:
    judgments, truth, ability, _ = difficult_crowd(seed=1)

    result = GLAD().fit(judgments)

    assert np.mean(result.labels == truth) > np.mean(MajorityVote().fit(judgments).labels == truth) + 0.01
    rank_skill, rank_ability = np.argsort(np.argsort(result.worker_skill)), np.argsort(np.argsort(ability))
    assert np.corrcoef(rank_skill, rank_ability)[0, 1] > 0.9
    assert abs(result.confidence.mean() - np.mean(result.labels == truth)) < 0.03


def test_glad_finds_items_that_split_the_crowd_harder() -> None:
    # Items 0-5: all four workers agree. Items 6-11: two against two.
    items = np.repeat(np.arange(12), 4)
    workers = np.tile([0, 1, 2, 3], 12)
    answers = np.r_[np.zeros(24, dtype=int), np.tile([0, 0, 1, 1], 6)]
    j = Judgments.from_lists(items, workers, answers, n_classes=2)

    result = GLAD().fit(j)

    assert result.item_difficulty is not None
    assert result.item_difficulty[6:].min() > result.item_difficulty[:6].max()


def test_glad_gold_clamps_posteriors_and_steers_abilities() -> None:
    items = np.repeat(np.arange(10), 4)
    workers = np.tile([0, 1, 2, 3], 10)
    answers = np.tile([0, 0, 1, 1], 10)
    j = Judgments.from_lists(items, workers, answers, n_classes=2)

    result = GLAD().fit(j, gold={0: 1, 1: 1, 2: 1})

    assert result.labels.tolist() == [1] * 10
    assert result.posteriors[0].tolist() == [0.0, 1.0]
    assert result.worker_skill[2] > result.worker_skill[0]


@pytest.mark.parametrize(("sd", "seed"), [(0.0, 2), (1.0, 1)])
def test_glad_confidence_is_a_probability_with_or_without_item_difficulty(sd: float, seed: int) -> None:
    """With no item difficulty EM's crawling spread left the 0.6-0.9 band 3.5 points
    underconfident here; with much (sd 1) 4.7 points overconfident, and the mean 1.6."""
    judgments, truth = planted_easiness(sd, seed)

    result = GLAD().fit(judgments)

    band = (result.confidence >= 0.6) & (result.confidence < 0.9)
    assert band.sum() > 700
    assert abs(result.confidence[band].mean() - np.mean(result.labels[band] == truth[band])) < 0.025
    assert abs(result.confidence.mean() - np.mean(result.labels == truth)) < 0.01


@pytest.mark.parametrize(("sd", "seed"), [(0.0, 2), (1.0, 1)])
def test_glad_worker_skill_is_the_share_of_answers_right(sd: float, seed: int) -> None:
    """Abilities fitted beside one free easiness per item made every worker look 3-5 points
    better than the share of its answers that were right."""
    judgments, truth = planted_easiness(sd, seed)
    answered = np.bincount(judgments.workers, minlength=judgments.n_workers)
    right = np.bincount(judgments.workers, weights=judgments.answers == truth[judgments.items]) / answered

    skill = GLAD().fit(judgments).worker_skill

    assert abs(skill.mean() - right.mean()) < 0.01
    assert np.abs(skill - right).mean() < 0.02
