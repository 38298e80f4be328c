"""The adapter's rounds against a stubbed MTurk: collection, review by gold and by
agreement, fees. More judgments, restarts and cancel: test_mturk_workforce_rounds.py."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from labelwire.adapters.base import GoldItem
from labelwire.adapters.mturk import cost_summary
from labelwire.adapters.mturk.requests import extra_token, request_token
from labelwire.adapters.mturk.workforce import FEEDBACK_AGREEMENT, FEEDBACK_EMPTY, FEEDBACK_GOLD

from .harness import (
    T0,
    MTurkContext,
    StubbedMTurk,
    assignment,
    clock_at,
    make_job,
    picked,
    workforce,
)
from .rounds import GOLD_HIT, HIT1, HIT2, started, state_of


async def test_assignments_over_several_pages_are_recorded_approved_and_paid(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    mturk.assignments(
        HIT1,
        [assignment("A1", "AW1", HIT1, picked("cat")), assignment("A2", "AW2", HIT1, picked("cat"))],
        token="p2",
    )
    mturk.assignments(HIT1, [assignment("A3", "AW3", HIT1, picked("dog"))], after="p2")
    for aid in ("A1", "A2", "A3"):
        mturk.approve(aid)
    result = await wf.sync(ctx)
    mturk.assert_done()
    assert ctx.answers_of("i1") == {
        "AW1": {"classification": {"class_name": "cat"}},
        "AW2": {"classification": {"class_name": "cat"}},
        "AW3": {"classification": {"class_name": "dog"}},
    }
    assert ctx.judgments[("i1", "AW1")].time_spent_seconds == 42.0
    assert result.recorded == 3 and result.finished
    assert cost_summary(state_of(ctx)) == {
        "approved_assignments": 3,
        "rejected_assignments": 0,
        "rewards_usd": "0.15",
        "fees_usd": "0.03",
        "total_usd": "0.18",
    }


async def test_unusable_answer_is_paid_under_approve_all_and_replaced_by_another_assignment(
    mturk: StubbedMTurk,
) -> None:
    ctx = MTurkContext(make_job(judgments=1))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, "")])
    mturk.approve("A1")
    mturk.expect(
        "create_additional_assignments_for_hit",
        {},
        {"HITId": HIT1, "NumberOfAdditionalAssignments": 1, "UniqueRequestToken": extra_token(HIT1, 2)},
    )
    await wf.sync(ctx)
    mturk.assert_done()
    assert ctx.offered[-1].answer is None and not ctx.judgments


async def test_unusable_answer_is_rejected_under_a_rejecting_policy(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job(settings={"approval_policy": "reject_below_agreement"}))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, "<QuestionFormAnswers")])
    mturk.reject("A1", FEEDBACK_EMPTY)
    mturk.expect(  # one replacement: the HIT goes from its 3 assignments to 4
        "create_additional_assignments_for_hit",
        {},
        {"HITId": HIT1, "NumberOfAdditionalAssignments": 1, "UniqueRequestToken": extra_token(HIT1, 4)},
    )
    await wf.sync(ctx)
    mturk.assert_done()


async def test_wrong_answer_on_a_hidden_gold_hit_is_rejected_and_not_recorded(mturk: StubbedMTurk) -> None:
    settings = {"approval_policy": "reject_wrong_gold", "gold_hit_every": 1}
    ctx = MTurkContext(
        make_job(settings=settings),
        gold=[GoldItem("g1", "text", "woof", {"classification": {"class_name": "dog"}})],
    )
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1, GOLD_HIT)
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.assignments(
        GOLD_HIT,
        [assignment("G1", "AW1", GOLD_HIT, picked("dog")), assignment("G2", "AW2", GOLD_HIT, picked("cat"))],
    )
    mturk.approve("A1")
    mturk.approve("G1")
    mturk.reject("G2", FEEDBACK_GOLD)
    await wf.sync(ctx)
    mturk.assert_done()
    assert set(ctx.judgments) == {("i1", "AW1")}  # gold answers grade workers; they are not judgments
    state = state_of(ctx)
    assert state["workers"]["AW1"] == {"gold_right": 1, "gold_wrong": 0, "rejected": 0}
    assert state["workers"]["AW2"] == {"gold_right": 0, "gold_wrong": 1, "rejected": 1}
    assert state["cost"]["rejected"] == 1 and state["cost"]["approved"] == 2
    # the approved gold answer is not a judgment: its reward and fee reach the job's cost this way
    assert ctx.costs == {"mturk:G1": (60_000, "Mechanical Turk reward and fee of a gold HIT")}


async def test_fees_are_reserved_with_the_claim_and_a_higher_rate_is_charged_on_approval(
    mturk: StubbedMTurk,
) -> None:
    """Claims reserve the fee of the HIT an item needs (3 assignments: 20%, at least
    a cent); an item HIT grown to 10 assignments pays 40%, and the difference is
    charged once its assignment is approved."""
    ctx = MTurkContext(make_job(judgments=3, max_judgments=12, settings={"reward": "1.00"}))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    assert ctx.claim_fees == [200_000]
    hit = wf_round_hit(ctx)
    hit["created_max"] = 10
    ctx.saved_state = json.dumps({**state_of(ctx), "hits": [hit]})
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.approve("A1")
    await wf.sync(ctx)
    assert ctx.costs == {"mturk:A1": (200_000, "Mechanical Turk fee above the claimed rate")}


def wf_round_hit(ctx: MTurkContext) -> dict[str, object]:
    (hit,) = state_of(ctx)["hits"]
    return dict(hit)


async def test_gold_hit_request_names_the_gold_item_and_has_its_own_token(mturk: StubbedMTurk) -> None:
    settings = {"approval_policy": "reject_wrong_gold", "gold_hit_every": 2}
    ctx = MTurkContext(
        make_job(settings=settings),
        gold=[GoldItem("g1", "text", "woof", {"classification": {"class_name": "dog"}})],
    )
    ctx.add_items("i1", "i2", "i3")
    for hit_id in (HIT1, HIT2):
        mturk.create_hit(hit_id)
    mturk.stub.add_response("create_hit", {"HIT": {"HITId": GOLD_HIT}}, None)
    mturk.create_hit("3HIT00000000000000003")
    await workforce(mturk, clock_at()).sync(ctx)
    hits = state_of(ctx)["hits"]
    assert [(h["kind"], h["key"]) for h in hits] == [
        ("item", "i1"),
        ("item", "i2"),
        ("gold", "g1"),
        ("item", "i3"),
    ]
    gold_hit = hits[2]
    assert gold_hit["token"] == request_token("jobs/7", "gold", "g1", 1) and gold_hit["hit_id"] == GOLD_HIT


async def test_answer_against_a_clear_majority_is_rejected_once_all_answers_are_in(
    mturk: StubbedMTurk,
) -> None:
    ctx = MTurkContext(make_job(settings={"approval_policy": "reject_below_agreement"}))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    first_two = [assignment("A1", "AW1", HIT1, picked("cat")), assignment("A2", "AW2", HIT1, picked("cat"))]
    mturk.assignments(HIT1, first_two)
    await wf.sync(ctx)  # two of three answers: nothing decided yet
    mturk.assert_done()
    mturk.assignments(HIT1, [*first_two, assignment("A3", "AW3", HIT1, picked("dog"))])
    mturk.approve("A1")
    mturk.approve("A2")
    mturk.reject("A3", FEEDBACK_AGREEMENT)
    await wf.sync(ctx)
    mturk.assert_done()
    assert len(ctx.judgments) == 3  # the dissenting answer is still a judgment; only payment is refused


async def test_without_a_clear_majority_everyone_is_approved(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(
        make_job(classes=("cat", "dog", "cow"), settings={"approval_policy": "reject_below_agreement"})
    )
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    mturk.assignments(
        HIT1,
        [
            assignment("A1", "AW1", HIT1, picked("cat")),
            assignment("A2", "AW2", HIT1, picked("dog")),
            assignment("A3", "AW3", HIT1, picked("cow")),
        ],
    )
    for aid in ("A1", "A2", "A3"):
        mturk.approve(aid)
    await wf.sync(ctx)
    mturk.assert_done()


async def test_agreement_decision_is_made_before_mturk_would_auto_approve(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job(settings={"approval_policy": "reject_below_agreement"}))
    ctx.add_items("i1")
    clock = clock_at()
    wf = workforce(mturk, clock)
    await started(mturk, ctx, wf, HIT1)
    soon = {"AutoApprovalTime": T0 + timedelta(hours=6)}  # the HIT's auto-approval delay is six hours
    two = [{**assignment(f"A{n}", f"AW{n}", HIT1, picked("cat")), **soon} for n in (1, 2)]
    mturk.assignments(HIT1, two)
    await wf.sync(ctx)
    mturk.assert_done()
    clock.advance(5.5 * 3600)  # half an hour before MTurk would approve them by itself
    mturk.assignments(HIT1, two)
    mturk.approve("A1")
    mturk.approve("A2")
    await wf.sync(ctx)
    mturk.assert_done()


async def test_a_worker_below_the_passing_score_on_hidden_gold_stops_counting(mturk: StubbedMTurk) -> None:
    from labelwire.adapters.mturk.workforce import _Round

    settings = {"approval_policy": "reject_wrong_gold", "gold_hit_every": 5, "passing_score": 80}
    ctx = MTurkContext(make_job(settings=settings))
    round_ = _Round(workforce(mturk, clock_at()), ctx)
    record = round_.state.worker("AW9")
    record.gold_right, record.gold_wrong = 1, 1
    await round_.discount_if_below_bar("AW9")
    assert ctx.discounted == {}
    record.gold_wrong = 2
    await round_.discount_if_below_bar("AW9")
    assert ctx.discounted == {"AW9": "1 of 3 hidden gold answers right"}


@pytest.mark.parametrize(
    ("wrong", "discounted"),
    [(2, False), (3, True)],
    ids=["exactly-at-the-passing-score", "just-under-the-passing-score"],
)
async def test_a_worker_at_the_passing_score_counts_and_one_just_under_stops(
    mturk: StubbedMTurk, wrong: int, discounted: bool
) -> None:
    """6 of 8 right is exactly 75%; 6 of 9 is the nearest score under it."""
    from labelwire.adapters.mturk.workforce import _Round

    settings = {"approval_policy": "reject_wrong_gold", "gold_hit_every": 5, "passing_score": 75}
    ctx = MTurkContext(make_job(settings=settings))
    round_ = _Round(workforce(mturk, clock_at()), ctx)
    record = round_.state.worker("AW9")
    record.gold_right, record.gold_wrong = 6, wrong
    await round_.discount_if_below_bar("AW9")
    assert ctx.discounted == ({"AW9": f"6 of {6 + wrong} hidden gold answers right"} if discounted else {})
