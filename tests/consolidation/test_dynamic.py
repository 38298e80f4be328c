import numpy as np
import pytest

from labelwire.server.consolidation import JudgmentPolicy, Judgments, WeightedMajorityVote


def test_policy_asks_until_the_floor_then_until_confident_or_the_ceiling() -> None:
    policy = JudgmentPolicy(min_judgments=2, max_judgments=5, target_confidence=0.95)

    needs = policy.needs_more([0.99, 0.99, 0.6, 0.6], [1, 2, 4, 5])

    assert needs.tolist() == [True, False, True, False]


def test_policy_rejects_a_ceiling_below_the_floor() -> None:
    with pytest.raises(ValueError, match="max_judgments"):
        JudgmentPolicy(min_judgments=3, max_judgments=2)


def test_dynamic_judgments_stop_early_on_easy_items_and_go_to_the_maximum_on_hard_ones() -> None:
    # Workers of known skill 0.9. Items 0-4 are easy (everyone answers 1); on items 5-9 answers alternate 0, 1, 0...
    policy = JudgmentPolicy(min_judgments=2, max_judgments=7, target_confidence=0.97)
    skill = np.full(20, 0.9)
    n_items = 10
    items: list[int] = []
    answers: list[int] = []
    count = np.zeros(n_items, dtype=int)
    confidence = np.zeros(n_items)
    while True:
        asking = np.flatnonzero(policy.needs_more(confidence, count))
        if not asking.size:
            break
        for item in asking:
            answers.append(1 if item < 5 else int(count[item] % 2))
            items.append(int(item))
            count[item] += 1
        workers = np.arange(len(items)) % 20
        j = Judgments.from_lists(items, workers, answers, n_classes=2, n_items=n_items, n_workers=20)
        confidence = WeightedMajorityVote().fit(j, worker_skill=skill).confidence

    assert count[:5].tolist() == [2] * 5
    assert count[5:].tolist() == [7] * 5
