"""Before a job's first pass a judge is weighed by its quiz record, shrunk towards the accuracy
the job's pool of workers shows on gold (issue 13: every confidence a probability). Towards a
fixed 0.7 as if from 2 answers, a 5/5 quiz made any worker 0.91 sure, and such labels were
7-21 points overconfident."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from labelwire.server.dispatch.gate import estimated_skill, gold_pool
from labelwire.server.domain.model import JobSpec, LabelClass, WorkerStatus
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
    """What `item_label` reads before a job's first pass."""

    def __init__(self, judge_record: tuple[int, int], pool_records: list[tuple[int, int]]) -> None:
        self.judge = judge_record
        self.pool = pool_records

    def item_judgments(self, item_id: int) -> list[tuple[int, dict[str, Any]]]:
        return [(1, {"classification": {"class_name": "b"}})]

    def skills_of(self, ids: list[int]) -> dict[int, tuple[float | None, int, int]]:
        return {1: (None, *self.judge)}

    def routing_workers(self, job_id: int, limit: int) -> list[Any]:
        return [
            SimpleNamespace(gold_answered=a, gold_correct=c, status=WorkerStatus.QUALIFIED)
            for a, c in self.pool
        ]

    def job_model_stamp(self, job_id: int) -> None:
        return None


def test_a_lone_judgment_before_the_first_pass_is_as_sure_as_the_pool_allows() -> None:
    spec = JobSpec(
        display_name="J",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in NAMES),
        task_config={"classes": [{"name": n} for n in NAMES]},
        judgments_per_item=1,
        consolidation_method="dawid_skene",
    )
    pool = [(5, 3)] * 20 + [(5, 2)] * 10 + [(5, 4)] * 10  # the pool is right 0.6 of the time
    tx: Any = _Tx((5, 5), pool)

    label = item_label(tx, spec, 7, job_id=1)

    assert label is not None and label.value["classification"]["class_name"] == "b"
    assert label.confidence < 0.75
    assert item_label(tx, spec, 7) is not None  # without the job, the fixed prior (no pool read)
