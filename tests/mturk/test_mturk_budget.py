"""Hidden gold HITs within the job's budget: a gold HIT's answers are not judgments, so
no claim reserves them; the adapter reserves what all of its assignments can cost
before it makes the HIT, pays approved answers out of that, and gives the rest back."""

from __future__ import annotations

import json

from labelwire.adapters.base import GoldItem
from labelwire.adapters.mturk.requests import request_token

from .harness import MTurkContext, StubbedMTurk, assignment, clock_at, make_job, picked, workforce

HIT1 = "3HIT00000000000000001"
GOLD_HIT = "3HIT0000000000000GOLD"
SETTINGS = {"approval_policy": "reject_wrong_gold", "gold_hit_every": 1}
# 3 assignments x (5 cents reward + the 1 cent minimum fee)
GOLD_HIT_MICROS = 3 * 60_000
RESERVATION = "mturk:gold:" + request_token("jobs/7", "gold", "g1", 1)


def gold_job(budget_left: int | None) -> MTurkContext:
    ctx = MTurkContext(
        make_job(settings=SETTINGS),
        gold=[GoldItem("g1", "text", "woof", {"classification": {"class_name": "dog"}})],
        budget_left=budget_left,
    )
    ctx.add_items("i1")
    return ctx


def hit_kinds(ctx: MTurkContext) -> list[str]:
    return [h["kind"] for h in json.loads(ctx.saved_state)["hits"]]


async def test_no_gold_hit_is_made_when_the_budget_cannot_pay_all_its_answers(mturk: StubbedMTurk) -> None:
    ctx = gold_job(budget_left=GOLD_HIT_MICROS - 1)
    mturk.create_hit(HIT1)  # the item's HIT only: a CreateHIT for gold would find no stubbed answer
    await workforce(mturk, clock_at()).sync(ctx)
    mturk.assert_done()
    assert hit_kinds(ctx) == ["item"] and ctx.reserved == {}


async def test_a_gold_hit_reserves_its_cost_pays_answers_from_it_and_gives_the_rest_back(
    mturk: StubbedMTurk,
) -> None:
    ctx = gold_job(budget_left=GOLD_HIT_MICROS)
    wf = workforce(mturk, clock_at())
    mturk.create_hit(HIT1)
    mturk.create_hit(GOLD_HIT)
    await wf.sync(ctx)
    made = dict(ctx.reserved)
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.assignments(
        GOLD_HIT,
        [
            assignment("G1", "AW1", GOLD_HIT, picked("dog")),
            assignment("G2", "AW2", GOLD_HIT, picked("cat")),
            assignment("G3", "AW3", GOLD_HIT, picked("dog")),
        ],
    )
    mturk.approve("A1")
    mturk.approve("G1")
    mturk.reject("G2")
    mturk.approve("G3")
    await wf.sync(ctx)
    mturk.assert_done()
    assert hit_kinds(ctx) == ["item", "gold"] and made == {RESERVATION: GOLD_HIT_MICROS}
    assert set(ctx.costs) == {"mturk:G1", "mturk:G3"}
    # two answers paid out of the reservation; the rejected one's share comes back at close
    assert ctx.reserved == {RESERVATION: 0}
    assert ctx.budget_left == GOLD_HIT_MICROS - 2 * 60_000


# A job in the >= 10 assignments regime: 10 judgments per item, HITs of up to 12,
# a $1.00 reward. MTurk charges 20 cents on an approved assignment of a HIT with
# fewer than 10 assignments and 40 cents on one with 10 or more (aws.md 4.10).
LARGE = {"reward": "1.00", "max_assignments_per_hit": 12}
ITEM_RESERVATION = "mturk:item:" + request_token("jobs/7", "item", "i1", 1)


def large_job(budget_left: int | None) -> MTurkContext:
    ctx = MTurkContext(make_job(judgments=10, max_judgments=12, settings=LARGE), budget_left=budget_left)
    ctx.add_items("i1")
    return ctx


def max_assignments(ctx: MTurkContext) -> list[int]:
    return [h["max_assignments"] for h in json.loads(ctx.saved_state)["hits"]]


async def test_a_hit_of_10_or_more_assignments_reserves_the_higher_fee_and_charges_it(
    mturk: StubbedMTurk,
) -> None:
    """The claim reserves reward plus the plain 20% for each judgment; the HIT of 10
    reserves the other 20% for each assignment it may ever have (12) before it is
    made. An approved answer then costs the job 1.20 (charged with the judgment) plus
    0.20 (paid out of the HIT's reservation): the 40% MTurk bills, never more than
    what was reserved."""
    ctx = large_job(budget_left=None)
    wf = workforce(mturk, clock_at())
    mturk.create_hit(HIT1, max_assignments=10)
    await wf.start(ctx)
    await wf.sync(ctx)
    assert ctx.claim_fees == [200_000]
    assert max_assignments(ctx) == [10]
    assert ctx.reserved == {ITEM_RESERVATION: 12 * 200_000}
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.approve("A1")
    await wf.sync(ctx)
    mturk.assert_done()
    assert ctx.costs == {"mturk:A1": (200_000, "Mechanical Turk fee above the claimed rate")}
    assert ctx.reserved == {ITEM_RESERVATION: 11 * 200_000}
    assert 1_000_000 + ctx.claim_fees[0] + ctx.costs["mturk:A1"][0] == 1_400_000  # reward x 1.40


async def test_when_the_budget_cannot_pay_the_higher_fee_the_hit_has_at_most_9_assignments(
    mturk: StubbedMTurk,
) -> None:
    """Nine assignments pay the plain rate the claim reserved: the budget is never
    asked for a fee nobody reserved."""
    ctx = large_job(budget_left=12 * 200_000 - 1)
    wf = workforce(mturk, clock_at())
    mturk.create_hit(HIT1, max_assignments=9)
    await wf.start(ctx)
    await wf.sync(ctx)
    assert max_assignments(ctx) == [9] and ctx.reserved == {}
    mturk.assignments(HIT1, [assignment("A1", "AW1", HIT1, picked("cat"))])
    mturk.approve("A1")
    mturk.create_hit("3HIT00000000000000002", max_assignments=1)  # the tenth judgment: a HIT of its own
    await wf.sync(ctx)
    mturk.assert_done()
    assert max_assignments(ctx) == [9, 1] and ctx.reserved == {}
    assert ctx.costs == {}  # 20 cents, charged by the core with the judgment at the claimed rate
