"""An item's label at completion is the majority vote the job-level library
gives: the writer's plain-Python vote must never drift from
`MajorityVote(skill=..., class_priors=...)` (the label, its confidence, its
probabilities and the tie flag a client reads), and its confidence is a
probability, not a share of the votes."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from labelwire.server.consolidation import Judgments, MajorityVote
from labelwire.server.domain.model import Consolidated, JobSpec, LabelClass
from labelwire.server.files.exports import reported_confidence
from labelwire.server.labels.items import PRIOR_SAMPLE, consolidate_item, job_class_frequencies


def _spec(n_classes: int) -> JobSpec:
    names = [f"c{i}" for i in range(n_classes)]
    return JobSpec(
        display_name="J",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in names),
        task_config={"classes": [{"name": n} for n in names]},
    )


def _vote(
    k: int, answers: list[int], skills: list[float] | None = None, priors: list[float] | None = None
) -> Consolidated:
    judgments = [(w, {"classification": {"class_name": f"c{a}"}}) for w, a in enumerate(answers)]
    label = consolidate_item(
        _spec(k),
        judgments,
        None if skills is None else dict(enumerate(skills)),
        None if priors is None else (lambda: priors),
    )
    assert label is not None
    return label


def test_item_vote_matches_the_library_majority_vote() -> None:
    rng = random.Random(7)
    ties = prior_decided = 0
    for _ in range(3000):
        k = rng.randint(2, 7)
        n = rng.randint(1, 11)
        answers = [rng.randrange(k) for _ in range(n)]
        skills = [rng.uniform(0.3, 0.95) for _ in range(n)]
        priors = [float(rng.randint(0, 50)) for _ in range(k)]
        label = _vote(k, answers, skills, priors)
        skill = sum(skills) / n
        result = MajorityVote(skill=skill, class_priors=np.array(priors)).fit(
            Judgments.from_lists([0] * n, list(range(n)), answers, n_classes=k)
        )
        expected = int(result.labels[0])
        assert label.value == {"classification": {"class_name": f"c{expected}"}}
        assert label.confidence == pytest.approx(float(result.confidence[0]), rel=1e-12)
        assert label.probabilities == pytest.approx(
            {f"c{i}": float(p) for i, p in enumerate(result.posteriors[0]) if p > 0}, rel=1e-12
        )
        assert label.tie == bool(result.ties[0])
        assert label.method == "majority_vote_posterior" and label.judgment_count == n
        ties += label.tie
        prior_decided += label.tie and expected != min(
            i for i in range(k) if answers.count(i) == max(answers.count(j) for j in range(k))
        )
    assert ties > 100 and prior_decided > 50  # ties happen, and the prior, not the index, decides many


def test_a_tie_goes_to_the_class_the_job_sees_more_often() -> None:
    label = _vote(3, [0, 2], priors=[10.0, 3.0, 40.0])
    assert label.value == {"classification": {"class_name": "c2"}}
    assert label.tie
    lowest = _vote(3, [0, 2], priors=[0.0, 0.0, 0.0])
    assert lowest.value == {"classification": {"class_name": "c0"}} and lowest.tie


def test_a_tie_the_prior_breaks_is_as_sure_as_the_prior_makes_it() -> None:
    """The class frequencies that broke a tie weigh its posterior: a tie the job's commonest
    class wins is right more often than a coin among the tied (on a crowd whose commonest class
    is half the items, 0.66 of such ties were right while the vote stated 0.46)."""
    odds = 0.7 * 2 / 0.3
    label = _vote(3, [0, 2], priors=[10.0, 3.0, 40.0])
    assert label.value == {"classification": {"class_name": "c2"}} and label.tie
    assert label.confidence == pytest.approx(41 * odds / (11 * odds + 4 + 41 * odds))
    assert label.probabilities["c0"] == pytest.approx(11 * odds / (11 * odds + 4 + 41 * odds))
    even = _vote(3, [0, 2], priors=[5.0, 5.0, 5.0])
    assert even.confidence == pytest.approx(odds / (2 * odds + 1))  # a prior that cannot tell: a coin


def test_with_a_target_the_jobs_class_frequencies_are_the_posteriors_prior() -> None:
    """A job with a target confidence stops asking on the vote's posterior: a lone vote for
    the class the job seldom sees is less sure than one for its commonest class, and the
    label stays the majority's."""
    spec = replace(_spec(3), target_confidence=0.8)
    frequencies = [2.0, 0.0, 40.0]  # c2 common, c1 rare

    def vote(answers: list[str]) -> Consolidated:
        judged = [(w, {"classification": {"class_name": c}}) for w, c in enumerate(answers)]
        label = consolidate_item(spec, judged, None, lambda: frequencies)
        assert label is not None
        return label

    rare, common = vote(["c1"]), vote(["c2"])
    odds = 0.7 * 2 / 0.3
    assert rare.value == {"classification": {"class_name": "c1"}} and not rare.tie
    assert rare.confidence == pytest.approx(odds / (odds + 3 + 41))
    assert common.confidence == pytest.approx(odds * 41 / (odds * 41 + 3 + 1))
    assert rare.confidence < _vote(3, [1]).confidence < common.confidence
    split = vote(["c1", "c2"])
    assert split.value == {"classification": {"class_name": "c2"}} and split.tie


def test_the_prior_is_not_read_when_the_vote_does_not_tie() -> None:
    def refuse() -> list[float]:
        raise AssertionError("class frequencies read for an untied vote")

    label = consolidate_item(
        _spec(3),
        [(w, {"classification": {"class_name": c}}) for w, c in enumerate(["c1", "c1", "c0"])],
        None,
        refuse,
    )
    assert label is not None and label.value == {"classification": {"class_name": "c1"}} and not label.tie


def test_a_two_one_split_states_the_posterior_at_the_workers_accuracy() -> None:
    label = _vote(3, [2, 0, 2])
    # Workers of unknown record count at 0.7: weight log(0.7 * 2 / 0.3) per vote.
    odds = 0.7 * 2 / 0.3
    assert label.value == {"classification": {"class_name": "c2"}}
    assert label.confidence == pytest.approx(odds**2 / (odds**2 + odds + 1))
    assert label.confidence != 2 / 3 and not label.tie
    unanimous = _vote(2, [1, 1], skills=[0.9, 0.9])
    assert unanimous.confidence == pytest.approx(0.81 / 0.82)


def test_the_confidence_matches_the_accuracy_on_a_crafted_crowd() -> None:
    """Workers of accuracy 0.75 over four classes, errors spread evenly, three votes
    an item: the mean stated confidence is within a point of the accuracy, where the
    vote share is several points off."""
    rng = random.Random(11)
    k, skill = 4, 0.75
    right = stated = share = 0.0
    n_items = 4000
    for _ in range(n_items):
        truth = rng.randrange(k)
        answers = [
            truth if rng.random() < skill else rng.choice([c for c in range(k) if c != truth])
            for _ in range(3)
        ]
        label = _vote(k, answers, skills=[skill] * 3, priors=[1.0] * k)
        chosen = int(label.value["classification"]["class_name"][1:])
        right += chosen == truth
        stated += label.confidence
        share += answers.count(chosen) / 3
    accuracy, confidence, vote_share = right / n_items, stated / n_items, share / n_items
    assert abs(confidence - accuracy) < 0.01
    assert abs(vote_share - accuracy) > 0.03


class _Tx:
    """The reads `job_class_frequencies` makes, from a job whose labels are mostly c2 and c0,
    one of the c0 labels being item 5's own."""

    def __init__(self, scale: int = 1) -> None:
        self.scale = scale

    def item(self, item_id: int) -> SimpleNamespace:
        return SimpleNamespace(id=item_id, job_id=1, label_sequence=7 if item_id == 5 else None)

    def class_counts(self, job_id: int) -> dict[str, int]:
        return {"c0": 3 * self.scale, "c1": 1 * self.scale, "c2": 3 * self.scale, "other": 4}

    def label_event(self, job_id: int, sequence: int) -> SimpleNamespace:
        assert sequence == 7
        return SimpleNamespace(item_id=5, value=json.dumps({"classification": {"class_name": "c0"}}))


def test_the_prior_is_the_jobs_other_current_labels() -> None:
    # Item 5's own (earlier) label is left out: it would vote for itself; a class the job
    # does not have (a label routed back from a downstream job) is not counted.
    assert job_class_frequencies(_Tx(), _spec(3), 5) == [2.0, 1.0, 3.0]  # type: ignore[arg-type]
    assert job_class_frequencies(_Tx(), _spec(3), 6) == [3.0, 1.0, 3.0]  # type: ignore[arg-type]


def test_a_large_jobs_prior_weighs_as_a_sample_of_its_labels() -> None:
    # 7,000 labels weigh as 200 (PRIOR_SAMPLE): the add-one smoothing keeps its strength.
    prior = job_class_frequencies(_Tx(1000), _spec(3), 6)  # type: ignore[arg-type]
    assert sum(prior) == pytest.approx(PRIOR_SAMPLE)
    assert prior[0] / prior[1] == pytest.approx(3.0) and prior[0] == pytest.approx(prior[2])


def test_a_posterior_vote_is_exported_as_it_is() -> None:
    chosen = {"classification": {"class_name": "c0"}}
    probabilities = {"c0": 0.7935, "c1": 0.1700, "c2": 0.0365}
    assert (
        reported_confidence("majority_vote_posterior", 0.7935, 3, probabilities, chosen, ("c0", "c1", "c2"))
        == 0.7935
    )
