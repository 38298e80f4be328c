"""The adapter's rounds against a stubbed MTurk: collection, review, more judgments, restarts, cancel."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.stub import ANY

from labelwire.adapters.base import GoldItem
from labelwire.adapters.mturk import MTurkWorkforce, cost_summary
from labelwire.adapters.mturk.requests import extra_token, request_token
from labelwire.adapters.mturk.workforce import FEEDBACK_AGREEMENT, FEEDBACK_EMPTY, FEEDBACK_GOLD, PAST

from .harness import (
    T0,
    MTurkContext,
    Sleeps,
    StubbedMTurk,
    assignment,
    clock_at,
    make_job,
    picked,
    workforce,
)

HIT1 = "3HIT00000000000000001"
HIT2 = "3HIT00000000000000002"
GOLD_HIT = "3HIT0000000000000GOLD"


def state_of(ctx: MTurkContext) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ctx.saved_state)
    return loaded


async def started(mturk: StubbedMTurk, ctx: MTurkContext, wf: MTurkWorkforce, *hit_ids: str) -> None:
    """Runs the first round, in which each claimed item gets its HIT."""
    for hit_id in hit_ids:
        mturk.create_hit(hit_id)
    await wf.start(ctx)
    await wf.sync(ctx)


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


async def test_core_wanting_more_judgments_adds_assignments_to_the_hit(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job(max_judgments=5))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    ctx.targets["i1"] = 5  # three answers did not reach the target confidence
    three = [assignment(f"A{n}", f"AW{n}", HIT1, picked("cat")) for n in (1, 2, 3)]
    mturk.assignments(HIT1, three)
    for n in (1, 2, 3):
        mturk.approve(f"A{n}")
    mturk.expect(
        "create_additional_assignments_for_hit",
        {},
        {"HITId": HIT1, "NumberOfAdditionalAssignments": 2, "UniqueRequestToken": extra_token(HIT1, 5)},
    )
    await wf.sync(ctx)
    mturk.assert_done()
    hit = state_of(ctx)["hits"][0]
    assert (hit["max_assignments"], hit["status"]) == (5, "open")


async def test_item_wanting_more_than_nine_gets_a_second_hit_instead_of_crossing_ten(
    mturk: StubbedMTurk,
) -> None:
    ctx = MTurkContext(make_job(max_judgments=12))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    ctx.targets["i1"] = 12
    mturk.assignments(HIT1, [assignment(f"A{n}", f"AW{n}", HIT1, picked("cat")) for n in (1, 2, 3)])
    for n in (1, 2, 3):
        mturk.approve(f"A{n}")
    mturk.expect(
        "create_additional_assignments_for_hit",
        {},
        {"HITId": HIT1, "NumberOfAdditionalAssignments": 6, "UniqueRequestToken": extra_token(HIT1, 9)},
    )
    mturk.stub.add_response(
        "create_hit",
        {"HIT": {"HITId": HIT2, "HITTypeId": "3TYPE"}},
        {
            "MaxAssignments": 3,
            "AutoApprovalDelayInSeconds": 259200,
            "LifetimeInSeconds": 86400,
            "AssignmentDurationInSeconds": 600,
            "Reward": "0.05",
            "Title": "Animals",
            "Keywords": "text, classification, labeling",
            "Description": "Pick the animal",
            "Question": ANY,
            "RequesterAnnotation": "labelwire item:i1",
            "UniqueRequestToken": request_token("jobs/7", "item", "i1", 2),
        },
    )
    await wf.sync(ctx)
    mturk.assert_done()


async def test_ten_judgments_up_front_make_one_large_hit_that_pays_forty_percent(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job(judgments=10, max_judgments=10, settings={"reward": "1.00"}))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    mturk.stub.add_response("create_hit", {"HIT": {"HITId": HIT1}}, None)
    await wf.sync(ctx)
    assert state_of(ctx)["hits"][0]["max_assignments"] == 10
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.approve("A1")
    await wf.sync(ctx)
    assert state_of(ctx)["cost"] == {"approved": 1, "rejected": 0, "reward_cents": 100, "fee_cents": 40}


async def test_hit_is_expired_once_the_core_needs_no_more_judgments_for_its_item(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.approve("A1")
    ctx.final.add("i1")  # the core reached its target confidence early
    mturk.expect("update_expiration_for_hit", {}, {"HITId": HIT1, "ExpireAt": PAST})
    result = await wf.sync(ctx)
    mturk.assert_done()
    assert state_of(ctx)["hits"][0]["status"] == "closed" and result.finished


async def test_restart_mid_job_neither_records_nor_approves_twice(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1")
    await started(mturk, ctx, workforce(mturk, clock_at()), HIT1)
    a1, a2 = assignment("A1", "AW1", HIT1, picked("cat")), assignment("A2", "AW2", HIT1, picked("cat"))
    mturk.assignments(HIT1, [a1, a2])
    mturk.approve("A1")
    mturk.fail("approve_assignment", "ServiceFault", "internal error", 500)  # A2 stays undecided...
    wf = workforce(mturk, clock_at())
    wf.retry.attempts = 1
    await wf.sync(ctx)
    mturk.assert_done()

    restarted = workforce(mturk, clock_at())  # ...and the server restarts
    await restarted.start(ctx)
    mturk.assignments(
        HIT1,
        [{**a1, "AssignmentStatus": "Approved"}, a2, assignment("A3", "AW3", HIT1, picked("dog"))],
    )
    mturk.approve("A2")
    mturk.approve("A3")
    await restarted.sync(ctx)
    mturk.assert_done()
    assert [j.worker_id for j in ctx.offered] == ["AW1", "AW2", "AW3"]
    assert state_of(ctx)["cost"]["approved"] == 3


async def test_assignment_auto_approved_while_we_were_down_is_recorded_and_counted_not_approved(
    mturk: StubbedMTurk,
) -> None:
    ctx = MTurkContext(make_job(judgments=1))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("dog"), status="Approved")])
    await wf.sync(ctx)
    mturk.assert_done()
    assert ("i1", "AW1") in ctx.judgments and state_of(ctx)["cost"]["approved"] == 1


async def test_crash_after_create_hit_is_resumed_through_the_request_token(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    wf.retry.attempts = 1
    mturk.fail("create_hit", "ServiceFault", "timed out", 500)  # MTurk may have made the HIT anyway
    await wf.sync(ctx)
    assert state_of(ctx)["hits"][0]["status"] == "creating"
    mturk.stub.add_client_error(
        "create_hit",
        service_error_code="RequestError",
        service_message=f"The HIT with ID {HIT1} already exists.",
        http_status_code=400,
        modeled_fields={"TurkErrorCode": "AWS.MechanicalTurk.HitAlreadyExists"},
    )
    mturk.expect("get_hit", {"HIT": {"HITId": HIT1, "HITTypeId": "3TYPE"}}, {"HITId": HIT1})
    mturk.assignments(HIT1, [])
    await workforce(mturk, clock_at()).sync(ctx)
    mturk.assert_done()
    hit = state_of(ctx)["hits"][0]
    assert (hit["hit_id"], hit["status"]) == (HIT1, "open") and len(state_of(ctx)["hits"]) == 1


async def test_items_claimed_before_a_crash_without_a_hit_are_handed_back(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1", "i2")
    await ctx.claim_items(2)  # claimed, then the server died before the state was saved
    await workforce(mturk, clock_at()).start(ctx)
    assert ctx.returned == ["i1", "i2"]


async def test_cancel_expires_open_hits_and_keeps_what_was_submitted(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1", "i2")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1, HIT2)
    mturk.expect("update_expiration_for_hit", {}, {"HITId": HIT1, "ExpireAt": PAST})
    mturk.expect("update_expiration_for_hit", {}, {"HITId": HIT2, "ExpireAt": PAST})
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.assignments(HIT2, [])
    mturk.approve("A1")
    await wf.cancel(ctx)
    result = await wf.sync(ctx)
    mturk.assert_done()
    assert ("i1", "AW1") in ctx.judgments
    assert result.finished and all(h["status"] == "closed" for h in state_of(ctx)["hits"])


async def test_throttling_is_retried_with_jittered_backoff(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1")
    sleeps = Sleeps()
    wf = workforce(mturk, clock_at(), sleeps)
    mturk.fail("create_hit", "RequestError", "Rate exceeded")
    mturk.fail("create_hit", "RequestError", "This request was throttled. Please slow down.")
    mturk.fail("create_hit", "ServiceFault", "We encountered an internal error.", 500)
    mturk.create_hit(HIT1)
    result = await wf.sync(ctx)
    mturk.assert_done()
    assert result.dispatched == 1 and len(sleeps.calls) == 3
    assert all(0 <= s <= wf.retry.base_seconds * 2**n for n, s in enumerate(sleeps.calls))


async def test_request_error_that_is_not_throttling_fails_the_item_at_once(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1")
    sleeps = Sleeps()
    mturk.fail("create_hit", "RequestError", "Your account balance is insufficient.")
    await workforce(mturk, clock_at(), sleeps).sync(ctx)
    assert not sleeps.calls and "insufficient" in ctx.failed["i1"]


async def test_gold_hits_are_expired_once_no_item_is_left_to_work_on(mturk: StubbedMTurk) -> None:
    settings = {"approval_policy": "reject_wrong_gold", "gold_hit_every": 1}
    ctx = MTurkContext(
        make_job(judgments=1, settings=settings),
        gold=[GoldItem("g1", "text", "woof", {"classification": {"class_name": "dog"}})],
    )
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1, GOLD_HIT)
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.assignments(GOLD_HIT, [])
    mturk.approve("A1")
    mturk.expect("update_expiration_for_hit", {}, {"HITId": GOLD_HIT, "ExpireAt": PAST})
    result = await wf.sync(ctx)
    mturk.assert_done()
    assert result.finished


async def test_item_whose_hits_keep_expiring_unanswered_is_failed_after_max_hit_rounds(
    mturk: StubbedMTurk,
) -> None:
    ctx = MTurkContext(make_job(settings={"max_hit_rounds": 2}))
    ctx.add_items("i1")
    clock = clock_at()
    wf = workforce(mturk, clock)
    await started(mturk, ctx, wf, HIT1)
    clock.advance(86400)  # the HIT's lifetime ends with nobody working on it
    mturk.assignments(HIT1, [])
    mturk.create_hit(HIT2)
    await wf.sync(ctx)
    mturk.assert_done()
    clock.advance(86400)  # so does the second HIT's
    mturk.assignments(HIT2, [])
    await wf.sync(ctx)
    mturk.assert_done()
    assert "2 HITs" in ctx.failed["i1"]


async def test_approval_refused_for_funds_leaves_the_assignment_to_auto_approval_and_the_round_goes_on(
    mturk: StubbedMTurk,
) -> None:
    ctx = MTurkContext(make_job(judgments=1))
    ctx.add_items("i1", "i2")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1, HIT2)
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.assignments(HIT2, [])
    mturk.fail(
        "approve_assignment", "RequestError", "You do not have enough funds to approve this assignment."
    )
    await wf.sync(ctx)
    mturk.assert_done()
    hit = state_of(ctx)["hits"][0]
    assert ("i1", "AW1") in ctx.judgments and hit["decided"] == {} and hit["status"] == "open"


async def test_hit_that_mturk_no_longer_knows_is_closed_and_its_item_gets_a_new_one(
    mturk: StubbedMTurk,
) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    mturk.fail("list_assignments_for_hit", "RequestError", f"Hit {HIT1} does not exist. (1717239600000)")
    mturk.create_hit(HIT2)
    await wf.sync(ctx)
    mturk.assert_done()
    hits = state_of(ctx)["hits"]
    assert [(h["hit_id"], h["status"], h["round"]) for h in hits] == [(HIT1, "closed", 1), (HIT2, "open", 2)]


async def test_configured_per_hit_maximum_is_kept_when_adding_assignments(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job(max_judgments=6, settings={"max_assignments_per_hit": 4}))
    ctx.add_items("i1")
    wf = workforce(mturk, clock_at())
    await started(mturk, ctx, wf, HIT1)
    ctx.targets["i1"] = 6
    mturk.assignments(HIT1, [assignment(f"A{n}", f"AW{n}", HIT1, picked("cat")) for n in (1, 2, 3)])
    for n in (1, 2, 3):
        mturk.approve(f"A{n}")
    mturk.expect(
        "create_additional_assignments_for_hit",
        {},
        {"HITId": HIT1, "NumberOfAdditionalAssignments": 1, "UniqueRequestToken": extra_token(HIT1, 4)},
    )
    mturk.create_hit(HIT2)
    await wf.sync(ctx)
    mturk.assert_done()
    assert [h["max_assignments"] for h in state_of(ctx)["hits"]] == [4, 2]


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
