"""Before a job's first pass a judge is weighed by its quiz record, shrunk towards the accuracy
the job's pool of workers shows on gold (issue 13: every confidence a probability). Towards a
fixed 0.7 as if from 2 answers, a 5/5 quiz made any worker 0.91 sure, and such labels were
7-21 points overconfident."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from labelwire.server.dispatch.gate import estimated_skill, gold_pool
from labelwire.server.domain.model import GoldPolicy, JobSpec, LabelClass
from labelwire.server.labels.items import item_label

NAMES = ("a", "b", "c")


def test_a_perfect_quiz_is_worth_what_such_workers_are_right() -> None:
    """400 workers with accuracies drawn from Beta(3, 2), 5 quiz questions each: those with 5/5
    are right about 0.8 of the time, not the 0.91 the fixed prior said."""
    rng = np.random.default_rng(4)
    accuracy = rng.beta(3.0, 2.0, size=400)
    right = rng.binomial(5, accuracy)
    pool = gold_pool([(5, int(r)) for r in right])
    assert pool is not None

    perfect = right == 5
    assert perfect.sum() > 20
    assert estimated_skill(None, 5, 5, pool) == pytest.approx(accuracy[perfect].mean(), abs=0.04)
    assert estimated_skill(None, 5, 5) - accuracy[perfect].mean() > 0.1  # the fixed prior
    assert estimated_skill(0.42, 5, 5, pool) == 0.42  # a pass's skill still comes first


def test_a_pool_needs_workers_with_a_record() -> None:
    assert gold_pool([(5, 5)] * 9 + [(0, 0)] * 30) is None
    assert gold_pool([(5, 3)] * 10) is not None


class _Tx:
    """What `item_label` reads before a job's first pass: the judges' records, the qualified
    workers' gold records (`pool_records`) and every applicant's quiz record (`quizzes`)."""

    def __init__(
        self,
        judge_record: tuple[int, int],
        pool_records: list[tuple[int, int]],
        quizzes: list[tuple[int, int]] = (),  # type: ignore[assignment]
        votes: tuple[str, ...] = ("b",),
        judges: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.judges = judges or (judge_record,) * len(votes)
        self.pool = pool_records
        self.quizzes = list(quizzes)
        self.votes = votes

    def item_judgments(self, item_id: int) -> list[tuple[int, dict[str, Any]]]:
        return [(w, {"classification": {"class_name": c}}) for w, c in enumerate(self.votes, 1)]

    def skills_of(self, ids: list[int]) -> dict[int, tuple[float | None, int, int]]:
        return {w: (None, *self.judges[w - 1]) for w in ids}

    def gold_records(self, job_id: int, quiz: bool) -> list[tuple[tuple[int, int], int]]:
        return list(Counter(self.quizzes if quiz else self.pool).items())

    def job_model_stamp(self, job_id: int) -> None:
        return None


def _job(method: str) -> JobSpec:
    return JobSpec(
        display_name="J",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in NAMES),
        task_config={"classes": [{"name": n} for n in NAMES]},
        judgments_per_item=3,
        consolidation_method=method,
    )


def test_a_lone_judgment_before_the_first_pass_is_as_sure_as_the_pool_allows() -> None:
    spec = _job("dawid_skene")
    pool = [(5, 3)] * 20 + [(5, 2)] * 10 + [(5, 4)] * 10  # the pool is right 0.6 of the time
    tx: Any = _Tx((5, 5), [], pool)

    label = item_label(tx, spec, 7, job_id=1)

    assert label is not None and label.value["classification"]["class_name"] == "b"
    assert label.confidence < 0.75
    assert item_label(tx, spec, 7) is not None  # without the job, the fixed prior (no pool read)


def test_without_a_quiz_the_qualified_workers_gold_records_are_the_pool() -> None:
    """A job with hidden gold and no quiz has no unselected records: its qualified workers'
    are the best it has; a job with no gold at all reads none."""
    base = _job("dawid_skene")
    hidden = replace(base, gold=GoldPolicy(quiz_size=0, hidden_gold_share=0.1))
    pool = [(20, 12)] * 40  # right 0.6 of the time
    label = item_label(_Tx((5, 5), pool), hidden, 7, job_id=1)
    assert label is not None and label.confidence < 0.75
    none = replace(base, gold=GoldPolicy(quiz_size=0, hidden_gold_share=0.0))
    assert item_label(_Tx((5, 5), pool), none, 7, job_id=1) == item_label(_Tx((5, 5), pool), none, 7)


def test_a_majority_votes_confidence_is_not_fooled_by_the_quiz_it_chose_judges_by() -> None:
    """20 applicants all right 0.7 of the time take a 5-question quiz (the binomial's shares:
    3 get 5/5, 7 get 4/5, the rest fail). The three judges of an item are passers, 5/5, 4/5 and
    4/5, and split 2-1: the true posterior is that of three 0.7 workers over three classes,
    0.79. Their records alone (shrunk towards a fixed 0.7, or towards the passers' records)
    make them 0.82-0.86 workers and the label 0.89 sure (towards the passers' records,
    surer still); the prior fitted to every applicant's quiz, those who failed included,
    does not."""
    quizzes = [(5, 5)] * 3 + [(5, 4)] * 7 + [(5, 3)] * 6 + [(5, 2)] * 3 + [(5, 1)]
    passers = [q for q in quizzes if q[1] >= 4]
    judges = ((5, 5), (5, 4), (5, 4))
    odds = 0.7 * 2 / 0.3
    true_posterior = odds**2 / (odds**2 + odds + 1)

    tx: Any = _Tx((5, 5), passers, quizzes, votes=("b", "b", "a"), judges=judges)
    label = item_label(tx, _job("majority_vote"), 7, job_id=1)
    naive = item_label(tx, _job("majority_vote"), 7)  # without the job: records and the fixed prior

    assert label is not None and naive is not None
    assert label.value["classification"]["class_name"] == "b" and not label.tie
    assert label.confidence == pytest.approx(true_posterior, abs=0.03)
    assert naive.confidence - label.confidence > 0.07


def test_a_job_that_weighs_workers_is_shrunk_towards_every_applicants_quiz_too() -> None:
    """The same pool for a job weighed by skill before its first pass: its lone 5/5 judge is
    worth what the whole crowd's quiz says (0.7), not what the passers' records say, which
    main shrank towards (their gold records, the `_Tx`'s second argument)."""
    quizzes = [(5, 5)] * 3 + [(5, 4)] * 7 + [(5, 3)] * 6 + [(5, 2)] * 3 + [(5, 1)]
    passers = [q for q in quizzes if q[1] >= 4]
    label = item_label(_Tx((5, 5), passers, quizzes), _job("dawid_skene"), 7, job_id=1)
    by_passers = item_label(_Tx((5, 5), passers), _job("dawid_skene"), 7, job_id=1)
    assert label is not None and by_passers is not None
    assert label.confidence == pytest.approx(0.7, abs=0.03)
    assert by_passers.confidence - label.confidence > 0.1
