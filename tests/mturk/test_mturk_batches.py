"""Bulk verification on Mechanical Turk: a verification job with batch_size > 1
puts up to batch_size items the model gave the same class on one HIT, and each
item's verdict comes back as a judgment on that item."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from labelwire.adapters.base import GoldItem, WorkItem
from labelwire.adapters.mturk import cost_summary
from labelwire.adapters.mturk.workforce import FEEDBACK_GOLD, PAST

from .harness import MTurkContext, StubbedMTurk, assignment, clock_at, crowd_answer, make_job, workforce

HIT1 = "3HIT00000000000000001"
HIT2 = "3HIT00000000000000002"
HIT3 = "3HIT00000000000000003"
CORRECT = {"verification": {"correct": [True]}}
WRONG = {"verification": {"correct": [False]}}


def verify_job(
    batch_size: int, *, judgments: int = 1, settings: Mapping[str, Any] | None = None
) -> MTurkContext:
    job = make_job(
        "verification",
        classes=("car", "person"),
        judgments=judgments,
        task_config={"batch_size": batch_size},
        settings=settings,
    )
    return MTurkContext(job)


def model_said(ctx: MTurkContext, cls: str, *keys: str) -> None:
    for key in keys:
        ctx.add_work_item(
            WorkItem(
                key,
                "text",
                f"photo {key}",
                {},
                ctx.job.judgments_per_item,
                {"classification": {"class_name": cls}},
            )
        )


def verdicts(*marks: bool | None) -> str:
    """A batch page's answer: per item the radio button picked (None: the worker skipped it)."""
    fields: dict[str, Any] = {}
    for index, mark in enumerate(marks):
        if mark is not None:
            choice = "correct" if mark else "incorrect"
            fields[f"item-{index}-{choice}"] = {choice: True}
    return crowd_answer(fields)


def capture_create_hit(mturk: StubbedMTurk) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def remember(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    mturk.client.meta.events.register("before-parameter-build.mturk.CreateHIT", remember)
    return seen


def hits_of(ctx: MTurkContext) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = json.loads(ctx.saved_state)["hits"]
    return hits


async def test_items_of_one_model_class_share_a_hit_that_pays_for_each_of_them(mturk: StubbedMTurk) -> None:
    ctx = verify_job(3)
    model_said(ctx, "car", "c1", "c2")
    model_said(ctx, "person", "p1")
    model_said(ctx, "car", "c3", "c4")
    requests = capture_create_hit(mturk)
    for hit_id in (HIT1, HIT2, HIT3):
        mturk.create_hit(hit_id, max_assignments=1)
    await workforce(mturk, clock_at()).sync(ctx)
    mturk.assert_done()
    assert [(h["kind"], h["slots"] or [h["key"]]) for h in hits_of(ctx)] == [
        ("batch", ["c1", "c2", "c3"]),
        ("item", ["p1"]),
        ("item", ["c4"]),
    ]
    batch = requests[0]
    assert batch["Reward"] == "0.15" and requests[1]["Reward"] == "0.05"
    page = batch["Question"]
    assert all(f"photo {k}" in page for k in ("c1", "c2", "c3")) and "photo p1" not in page
    assert page.count("<crowd-radio-group>") == 3 and 'name="item-2-incorrect"' in page
    assert "Proposed label: <b>car</b>" in page
    assert (
        "<short-instructions>" not in page and "<p>Pick the animal</p>" in page
    )  # no crowd element holds them


async def test_each_verdict_is_a_judgment_on_its_own_item_and_a_skipped_item_gets_another_hit(
    mturk: StubbedMTurk,
) -> None:
    ctx = verify_job(3)
    model_said(ctx, "car", "c1", "c2", "c3")
    wf = workforce(mturk, clock_at())
    mturk.create_hit(HIT1, max_assignments=1)
    await wf.sync(ctx)
    mturk.assignments(HIT1, [assignment("A1", "W1", HIT1, verdicts(True, None, False))])
    mturk.approve("A1")
    mturk.create_hit(HIT2, max_assignments=1)  # c2 still wants its verdict
    result = await wf.sync(ctx)
    mturk.assert_done()
    assert ctx.answers_of("c1") == {"W1": CORRECT}
    assert ctx.answers_of("c3") == {"W1": WRONG}
    assert ctx.answers_of("c2") == {}
    assert ctx.judgments[("c1", "W1")].time_spent_seconds == 14.0  # a third of the 42 s spent
    assert result.recorded == 2
    assert [(h["kind"], h["key"]) for h in hits_of(ctx)][1] == ("item", "c2")


async def test_an_assignment_read_again_after_a_restart_records_nothing_twice(mturk: StubbedMTurk) -> None:
    ctx = verify_job(2)
    model_said(ctx, "car", "c1", "c2")
    mturk.create_hit(HIT1, max_assignments=1)
    await workforce(mturk, clock_at()).sync(ctx)
    before_collect = ctx.saved_state
    answered = [assignment("A1", "W1", HIT1, verdicts(False, True))]
    mturk.assignments(HIT1, answered)
    mturk.approve("A1")
    await workforce(mturk, clock_at()).sync(ctx)
    ctx.saved_state = before_collect  # a crash lost the state that marked A1 read
    mturk.assignments(HIT1, [assignment("A1", "W1", HIT1, verdicts(False, True), status="Approved")])
    await workforce(mturk, clock_at()).sync(ctx)
    mturk.assert_done()
    assert ctx.answers_of("c1") == {"W1": WRONG} and ctx.answers_of("c2") == {"W1": CORRECT}
    assert len(ctx.offered) == 4 and len(ctx.judgments) == 2


async def test_hidden_gold_inside_a_batch_grades_the_worker_and_is_never_a_judgment(
    mturk: StubbedMTurk,
) -> None:
    ctx = verify_job(2, settings={"gold_hit_every": 1, "approval_policy": "reject_wrong_gold"})
    ctx.gold = [
        GoldItem("gp", "text", "photo gp", WRONG, {"classification": {"class_name": "person"}}),
        GoldItem("gc", "text", "photo gc", WRONG, {"classification": {"class_name": "car"}}),
    ]
    model_said(ctx, "car", "c1", "c2")
    requests = capture_create_hit(mturk)
    mturk.create_hit(HIT1, max_assignments=1)
    wf = workforce(mturk, clock_at())
    await wf.sync(ctx)
    (hit,) = hits_of(ctx)
    assert sorted(hit["slots"]) == ["c1", "c2", "gc"] and hit["gold_slots"] == ["gc"]
    page = requests[0]["Question"]
    assert "photo gc" in page and "photo gp" not in page and "correct&quot;: [false]" not in page
    assert requests[0]["Reward"] == "0.15"
    marks = [key != "c2" for key in hit["slots"]]  # the worker calls the gold car a car: wrong
    mturk.assignments(HIT1, [assignment("A1", "W1", HIT1, verdicts(*marks))])
    mturk.reject("A1", FEEDBACK_GOLD)
    await wf.sync(ctx)
    mturk.assert_done()
    assert set(ctx.judgments) == {("c1", "W1"), ("c2", "W1")}
    assert ctx.answers_of("c2") == {"W1": WRONG}
    state = json.loads(ctx.saved_state)
    assert state["workers"]["W1"] == {"gold_right": 0, "gold_wrong": 1, "rejected": 1}


async def test_fees_are_claimed_per_item_at_the_batch_rate_and_a_short_batch_pays_the_rest(
    mturk: StubbedMTurk,
) -> None:
    """Reward 0.07 per item: a full batch of 3 pays 0.21 and a fee of 0.04 per
    assignment, claimed as 13,333 micros per judgment; a batch of 2 pays 0.14
    and 0.03, so 3,334 micros more per approved assignment reach the job's cost,
    reserved before the HIT was made."""
    ctx = verify_job(3, settings={"reward": "0.07"})
    model_said(ctx, "car", "c1", "c2")
    mturk.create_hit(HIT1, max_assignments=1)
    wf = workforce(mturk, clock_at())
    await wf.sync(ctx)
    assert ctx.claim_fees == [13_333]
    (hit,) = hits_of(ctx)
    key = f"mturk:batch:{hit['token']}"
    assert ctx.reserved == {key: 3_334}
    mturk.assignments(HIT1, [assignment("A1", "W1", HIT1, verdicts(True, True))])
    mturk.approve("A1")
    await wf.sync(ctx)
    mturk.assert_done()
    assert ctx.costs == {
        "mturk:A1": (
            3_334,
            "Mechanical Turk fee of a batch HIT above the claimed rate, and its gold items' reward",
        )
    }
    assert cost_summary(json.loads(ctx.saved_state))["rewards_usd"] == "0.14"
    assert cost_summary(json.loads(ctx.saved_state))["fees_usd"] == "0.03"


async def test_a_gold_item_the_budget_cannot_pay_for_leaves_the_batch(mturk: StubbedMTurk) -> None:
    ctx = verify_job(2, settings={"gold_hit_every": 1})
    ctx.gold = [GoldItem("gc", "text", "photo gc", WRONG, {"classification": {"class_name": "car"}})]
    ctx.budget_left = 1_000
    model_said(ctx, "car", "c1", "c2")
    mturk.create_hit(HIT1, max_assignments=1)
    await workforce(mturk, clock_at()).sync(ctx)
    mturk.assert_done()
    (hit,) = hits_of(ctx)
    assert hit["slots"] == ["c1", "c2"] and hit["gold_slots"] == []


def test_batching_needs_a_verification_job() -> None:
    from labelwire.adapters.batches import batch_size

    assert batch_size(make_job("classification", task_config={"batch_size": 5})) == 1
    assert batch_size(make_job("verification", task_config={"batch_size": 5})) == 5
    assert batch_size(make_job("verification")) == 10


async def test_items_of_a_batch_hit_that_expired_unanswered_share_a_new_one(mturk: StubbedMTurk) -> None:
    ctx = verify_job(2)
    model_said(ctx, "car", "c1", "c2")
    clock = clock_at()
    wf = workforce(mturk, clock)
    mturk.create_hit(HIT1, max_assignments=1)
    await wf.sync(ctx)
    clock.advance(2 * 86400)  # past the HIT's one-day lifetime
    mturk.assignments(HIT1, [])
    mturk.create_hit(HIT2, max_assignments=1)
    await wf.sync(ctx)
    mturk.assert_done()
    first, second = hits_of(ctx)
    assert first["status"] == "closed"
    assert (second["kind"], second["slots"], second["hit_id"]) == ("batch", ["c1", "c2"], HIT2)


async def test_a_batch_hit_is_expired_only_once_none_of_its_items_wants_more(mturk: StubbedMTurk) -> None:
    ctx = verify_job(2, judgments=2)
    model_said(ctx, "car", "c1", "c2")
    wf = workforce(mturk, clock_at())
    mturk.create_hit(HIT1, max_assignments=2)
    await wf.sync(ctx)
    ctx.final.add("c1")  # labeled already (say, by the model); c2 still wants its verdicts
    mturk.assignments(HIT1, [])
    await wf.sync(ctx)
    mturk.assert_done()
    ctx.final.add("c2")
    mturk.assignments(HIT1, [])
    mturk.expect("update_expiration_for_hit", {}, {"HITId": HIT1, "ExpireAt": PAST})
    await wf.sync(ctx)
    mturk.assert_done()
