"""The reliability table a client reads to know how far a label's confidence can be trusted."""

from __future__ import annotations

import json

import grpc
import pytest

from labelwire.server.dispatch.gate import estimated_skill
from labelwire.server.domain.model import JobSpec, LabelClass
from labelwire.server.labels.reliability import gold_outcomes, table
from labelwire.server.store.rows import GoldJudgmentRow
from tests.conftest import Harness
from tests.helpers import CLASSES, running_job, work


def test_bins_and_expected_calibration_error() -> None:
    outcomes = [(0.95, True)] * 9 + [(0.95, False)] + [(0.62, True)] * 2 + [(0.62, False)] * 2 + [(1.0, True)]
    t = table(outcomes, 10)
    assert [b.items for b in t.bins] == [0, 0, 0, 0, 0, 0, 4, 0, 0, 11]
    top, six = t.bins[9], t.bins[6]
    assert (top.lower, top.upper, six.lower) == (0.9, 1.0, 0.6)  # 1.0 falls in the last bin
    assert top.accuracy == pytest.approx(10 / 11) and top.mean_confidence == pytest.approx((9.5 + 1) / 11)
    assert six.accuracy == 0.5 and six.mean_confidence == pytest.approx(0.62)
    gap = 11 * abs(10 / 11 - 10.5 / 11) + 4 * 0.12
    assert t.expected_calibration_error == pytest.approx(gap / 15)
    assert (t.items, t.accuracy) == (15, 12 / 15)
    empty = table([], 5)
    assert empty.items == 0 and empty.expected_calibration_error == 0.0 and len(empty.bins) == 5


def _spec() -> JobSpec:
    return JobSpec(
        display_name="J",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in CLASSES),
        task_config={"classes": [{"name": n} for n in CLASSES]},
        judgments_per_item=1,
    )


def test_a_workers_answer_on_a_gold_item_does_not_vouch_for_itself() -> None:
    """One judgment per item from a worker right on 1 of 1 gold: its skill for that item
    comes from a record with that item left out (no gold: 0.7), not 1.0's (2.4/3 = 0.8)."""
    rows = [GoldJudgmentRow(1, 7, json.dumps({"classification": {"class_name": "pos"}}), 1)]
    [(confidence, right)] = gold_outcomes(_spec(), rows, {7: (None, 1, 1)}, estimated_skill)
    assert right and confidence == pytest.approx(0.7)


def test_a_label_nobody_graded_tells_nothing() -> None:
    answer = {"classification": {"class_name": "neg"}}
    rows = [GoldJudgmentRow(1, 7, json.dumps(answer), 0)]
    wrong = gold_outcomes(_spec(), rows, {}, estimated_skill)
    assert wrong == [(pytest.approx(0.7), False)]


async def test_the_table_is_measured_on_gold_with_posteriors_not_shares(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=0, gold=6, judgments=3, quiz_size=6, pass_accuracy=0.0)
    for i in range(3):
        _, token = await lw.create_worker(job.name, f"w{i}")
        async with server.worker(token) as w:
            await work(w, right=i != 1)
    report = await lw.reliability(job.name)
    assert report.items == 6 and report.accuracy == 1.0
    assert len(report.bins) == 10 and sum(b.items for b in report.bins) == 6
    [held] = [b for b in report.bins if b.items]
    # Two right workers and a wrong one on each item: stated as a posterior at their
    # held-out gold records, not the share 2/3, and the table shows it is under-confident.
    assert 2 / 3 < held.mean_confidence < 1 and held.accuracy == 1.0
    assert report.expected_calibration_error == pytest.approx(1 - held.mean_confidence)
    assert len((await lw.reliability(job.name, bins=4)).bins) == 4
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await lw.reliability(job.name, bins=51)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "bins" in (
        refused.value.details() or ""
    )
    await lw.close()
