"""An item's label at completion is the majority vote the job-level library
gives: the writer's plain-Python vote must never drift from `MajorityVote`
(the label, its confidence, its probabilities and the tie flag a client reads)."""

from __future__ import annotations

import random

from labelwire.server.consolidation import Judgments, MajorityVote
from labelwire.server.domain.model import JobSpec, LabelClass
from labelwire.server.labels.items import consolidate_item


def _spec(n_classes: int) -> JobSpec:
    names = [f"c{i}" for i in range(n_classes)]
    return JobSpec(
        display_name="J",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in names),
        task_config={"classes": [{"name": n} for n in names]},
    )


def test_item_vote_matches_the_library_majority_vote_bit_for_bit() -> None:
    rng = random.Random(7)
    ties = 0
    for _ in range(3000):
        k = rng.randint(2, 7)
        n = rng.randint(1, 11)
        answers = [rng.randrange(k) for _ in range(n)]
        spec = _spec(k)
        label = consolidate_item(
            spec, [(w, {"classification": {"class_name": f"c{a}"}}) for w, a in enumerate(answers)]
        )
        result = MajorityVote().fit(Judgments.from_lists([0] * n, list(range(n)), answers, n_classes=k))
        assert label is not None
        expected = int(result.labels[0])
        assert label.value == {"classification": {"class_name": f"c{expected}"}}
        assert label.confidence == float(result.confidence[0])
        assert label.probabilities == {f"c{i}": float(p) for i, p in enumerate(result.posteriors[0]) if p > 0}
        assert label.tie == bool(result.ties[0])
        assert label.method == "majority_vote" and label.judgment_count == n
        ties += label.tie
    assert ties > 100  # the lowest class wins a tie, as in the library


def test_a_two_one_split_is_the_majority_with_two_thirds() -> None:
    spec = _spec(3)
    votes = [(1, "c2"), (2, "c0"), (3, "c2")]
    label = consolidate_item(spec, [(w, {"classification": {"class_name": c}}) for w, c in votes])
    assert label is not None
    assert label.value == {"classification": {"class_name": "c2"}}
    assert label.confidence == 2 / 3 and not label.tie
    assert label.probabilities == {"c0": 1 / 3, "c2": 2 / 3}
