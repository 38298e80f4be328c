"""The adapter's HIT rounds against a stubbed MTurk: more judgments as assignments or a
second HIT, expiring HITs, restarts and crashes resumed without doing anything twice,
cancel, throttling and MTurk's refusals."""

from __future__ import annotations

from botocore.stub import ANY

from labelwire.adapters.base import GoldItem
from labelwire.adapters.mturk.requests import extra_token, request_token
from labelwire.adapters.mturk.workforce import PAST

from .harness import (
    MTurkContext,
    Sleeps,
    StubbedMTurk,
    assignment,
    clock_at,
    make_job,
    picked,
    workforce,
)
from .rounds import GOLD_HIT, HIT1, HIT2, started, state_of


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
