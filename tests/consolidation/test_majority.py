import numpy as np
import pytest

from labelwire.server.consolidation import Judgments, MajorityVote, WeightedMajorityVote


def test_majority_vote_picks_most_frequent_answer_with_its_share_as_confidence() -> None:
    j = Judgments.from_lists([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [2, 2, 1, 0, 0], n_classes=3)

    result = MajorityVote().fit(j)

    assert result.labels.tolist() == [2, 0]
    assert result.confidence == pytest.approx([2 / 3, 1.0])
    assert result.worker_skill == pytest.approx([1.0, 1.0, 0.0])


def test_majority_vote_breaks_a_tie_towards_the_class_the_job_votes_for_more_and_says_so() -> None:
    # Item 0 is a 1-1 tie between classes 0 and 1; over the job class 1 is the commoner answer.
    j = Judgments.from_lists([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1], [0, 1, 1, 1, 1, 1], n_classes=2)

    result = MajorityVote().fit(j)

    assert result.labels.tolist() == [1, 1, 1]
    assert result.ties.tolist() == [True, False, False]


def test_majority_vote_of_one_item_breaks_its_tie_by_the_prior_it_is_given() -> None:
    j = Judgments.from_lists([0, 0], [0, 1], [0, 2], n_classes=3)

    assert MajorityVote().fit(j).labels.tolist() == [0]
    result = MajorityVote(class_priors=np.array([0.2, 0.3, 0.5])).fit(j)

    assert result.labels.tolist() == [2]
    assert result.ties.tolist() == [True]


def test_majority_vote_with_a_skill_states_a_probability_not_a_share() -> None:
    # One vote, two agreeing votes and a 2-1 split over four classes, workers of accuracy 0.7.
    j = Judgments.from_lists([0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2], [3, 2, 2, 1, 1, 0], n_classes=4)

    result = MajorityVote(skill=0.7).fit(j)

    odds = 0.7 * 3 / 0.3
    assert result.labels.tolist() == [3, 2, 1]
    assert result.confidence == pytest.approx([0.7, odds**2 / (odds**2 + 3), odds**2 / (odds**2 + odds + 2)])


def test_majority_vote_breaks_a_tie_of_equal_priors_towards_the_lowest_class_and_says_so() -> None:
    j = Judgments.from_lists([0, 0], [0, 1], [2, 1], n_classes=3)

    result = MajorityVote().fit(j)

    assert result.labels.tolist() == [1]
    assert result.ties.tolist() == [True]


def test_item_without_judgments_gets_no_label_and_a_uniform_posterior() -> None:
    j = Judgments.from_lists([0], [0], [1], n_classes=2, n_items=2)

    result = MajorityVote().fit(j)

    assert result.labels.tolist() == [1, -1]
    assert result.posteriors[1] == pytest.approx([0.5, 0.5])


def test_weighted_vote_posterior_is_the_bayes_posterior_of_known_skills() -> None:
    j = Judgments.from_lists([0, 0], [0, 1], [0, 1], n_classes=2)

    result = WeightedMajorityVote().fit(j, worker_skill=np.array([0.9, 0.6]))

    expected = 0.9 * 0.4 / (0.9 * 0.4 + 0.1 * 0.6)
    assert result.labels.tolist() == [0]
    assert result.confidence[0] == pytest.approx(expected)


def test_weighted_vote_trusts_the_worker_who_was_right_on_gold() -> None:
    # Items 0-3 are gold (truth 1); worker 0 always answers 1, workers 1 and 2 always answer 0.
    items = np.repeat(np.arange(8), 3)
    workers = np.tile([0, 1, 2], 8)
    answers = np.tile([1, 0, 0], 8)
    j = Judgments.from_lists(items, workers, answers, n_classes=2)

    plain = WeightedMajorityVote().fit(j)
    with_gold = WeightedMajorityVote().fit(j, gold={0: 1, 1: 1, 2: 1, 3: 1})

    assert plain.labels.tolist() == [0] * 8
    assert with_gold.labels.tolist() == [1] * 8
    assert with_gold.worker_skill[0] > 0.8 > 0.3 > with_gold.worker_skill[1]


def test_weighted_vote_can_estimate_unknown_skills_from_the_majority() -> None:
    # Workers 0-2 agree on everything; worker 3 disagrees everywhere and should count for little.
    items = np.repeat(np.arange(6), 4)
    workers = np.tile([0, 1, 2, 3], 6)
    answers = np.array([[t, t, t, 1 - t] for t in [0, 1, 0, 1, 0, 1]]).ravel()
    j = Judgments.from_lists(items, workers, answers, n_classes=2)

    result = WeightedMajorityVote(unknown_skill="majority").fit(j)

    assert result.labels.tolist() == [0, 1, 0, 1, 0, 1]
    assert result.worker_skill[3] < 0.5 < result.worker_skill[0]


def test_weighted_vote_rejects_an_unknown_fallback() -> None:
    with pytest.raises(ValueError, match="unknown_skill"):
        WeightedMajorityVote(unknown_skill="guess")


def test_weighted_vote_shrinks_gold_accuracy_towards_the_prior_skill() -> None:
    # Worker 0 answered one gold item wrongly; a strong prior keeps them ahead of worker 1,
    # and their agreement with the vote on item 1 counts as one more answer right.
    j = Judgments.from_lists([0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 0, 1], n_classes=2)

    result = WeightedMajorityVote(gold_smoothing=8.0).fit(j, worker_skill=np.array([0.95, 0.6]), gold={0: 1})

    assert result.worker_skill[0] == pytest.approx((0 + 1 + 8 * 0.95) / (2 + 8))
    assert result.labels.tolist() == [1, 0]


def test_weighted_vote_of_a_worker_perfect_on_gold_is_large_but_finite() -> None:
    """Without smoothing a worker right on every gold item has accuracy 1: its
    weight is capped (accuracy clipped to 1 - 1e-6) rather than infinite, and a
    worker wrong on all of them counts for the minimum weight, not against."""
    j = Judgments.from_lists([0, 0, 1, 1], [0, 1, 0, 1], [1, 0, 0, 1], n_classes=2)

    result = WeightedMajorityVote(gold_smoothing=0.0).fit(j, gold={0: 1})

    strong = np.log((1 - 1e-6) / 1e-6)
    assert result.worker_skill.tolist() == pytest.approx([1 - 1e-6, 1e-6])
    assert result.labels.tolist() == [1, 0]
    assert result.confidence[1] == pytest.approx(1 / (1 + np.exp(1e-3 - strong)), rel=1e-12)


def test_a_worker_without_answers_has_no_agreement_rather_than_none() -> None:
    j = Judgments.from_lists([0, 0], [0, 1], [1, 1], n_classes=2, n_workers=3)

    result = MajorityVote().fit(j)

    assert result.worker_skill[:2].tolist() == [1.0, 1.0]
    assert np.isnan(result.worker_skill[2])


def test_a_little_gold_does_not_undo_what_agreement_says_of_a_worker() -> None:
    """Worker 0 agrees with the crowd on items 1-8 but misses the one gold item; worker 3
    disagrees everywhere. Item 9 is worker 0 (class 1, the truth) against worker 3. Gold
    alone would judge worker 0 by one answer, rate them no better than worker 3 and lose
    item 9 to the tie rule; with their agreement counted too they stay the stronger."""
    items, workers, answers = [0, 0, 0, 0], [0, 1, 2, 3], [0, 1, 1, 0]
    for item in range(1, 9):
        items += [item] * 4
        workers += [0, 1, 2, 3]
        answers += [1, 1, 1, 0] if item % 2 else [0, 0, 0, 1]
    items += [9, 9]
    workers += [0, 3]
    answers += [1, 0]
    j = Judgments.from_lists(items, workers, answers, n_classes=2)
    vote = WeightedMajorityVote(unknown_skill="majority")

    without_gold = vote.fit(j)
    with_gold = vote.fit(j, gold={0: 1})

    assert without_gold.labels[9] == 1
    assert with_gold.labels[9] == 1
    assert with_gold.worker_skill[0] > 0.7 > 0.3 > with_gold.worker_skill[3]
