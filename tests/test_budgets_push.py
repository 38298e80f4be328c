"""Budgets with a push workforce (an adapter that claims items, as Mechanical Turk and
Ground Truth do): a claim reserves what its judgments and fees cost, returned claims
and charged reservations settle it, and a job weighing its workers still ends on its
budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from labelwire.adapters.base import ExternalJudgment
from labelwire.adapters.pool import PoolWorkforce
from labelwire.client.raw import text_item
from labelwire.server.dispatch.workforces import JobContext, Workforces
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.transport.app import Running, start_server
from labelwire.v1 import job_pb2
from tests.conformance.test_workforce_contract import Vendor
from tests.conftest import ADMIN_KEY, Harness
from tests.test_budgets import PRICE, labels_until_the_stream_ends


@pytest.fixture
async def vendor_core(database: str) -> AsyncIterator[tuple[Harness, Running]]:
    """A server with a push workforce whose rounds the test drives itself."""
    running = await start_server(
        address="127.0.0.1:0",
        database=database,
        admin_key=ADMIN_KEY,
        workforces=Workforces({"pool": PoolWorkforce(), "vendor": Vendor()}),
        drive_workforces=False,
    )
    try:
        yield (
            Harness(running=running, target=f"127.0.0.1:{running.port}", database=database),
            running,
        )
    finally:
        await running.stop(grace=None)


async def test_a_push_workforce_claims_only_what_the_budget_pays_for_fees_included(
    vendor_core: tuple[Harness, Running],
) -> None:
    server, running = vendor_core
    lw = await server.client()
    job = await lw.create_job(
        "J",
        classes=["a", "b"],
        workforce="vendor",
        quiz_size=0,
        judgments_per_item=2,
        price_per_judgment_micros=PRICE,
        budget_micros=9_000,
    )
    await lw.add_items(job.name, [text_item(f"k{i}", "ab"[i % 2]) for i in range(10)])
    await lw.start_job(job.name)
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))
    fee = 200
    claimed = await ctx.claim_items(10, fee_micros_per_judgment=fee)
    held = await lw.get_job(job.name)
    more = await ctx.claim_items(10, fee_micros_per_judgment=fee)
    answers = [
        ExternalJudgment(item.key, f"v{n}", {"classification": {"class_name": item.payload}})
        for item in claimed
        for n in range(2)
    ]
    await ctx.record_judgments(answers)
    assert await ctx.record_cost(300, "a gold task", key="gold-1")
    assert not await ctx.record_cost(300, "a gold task", key="gold-1")
    last = await ctx.claim_items(10, fee_micros_per_judgment=fee)
    done = await lw.get_job(job.name)
    # 2 judgments x (1,000 + 200) = 2,400 an item: three items fit in 9,000, a fourth does not
    assert len(claimed) == 3 and held.counters.reserved_micros == 3 * 2_400 and more == []
    assert done.counters.cost_micros == 3 * 2_400 + 300 <= 9_000
    assert last == [] and done.counters.reserved_micros == 0
    assert done.state == job_pb2.JOB_STATE_COMPLETED
    assert done.end_reason == job_pb2.JOB_END_REASON_BUDGET_EXHAUSTED
    await lw.close()


async def test_returned_claims_give_their_reservation_back(vendor_core: tuple[Harness, Running]) -> None:
    server, running = vendor_core
    lw = await server.client()
    job = await lw.create_job(
        "J",
        classes=["a", "b"],
        workforce="vendor",
        quiz_size=0,
        judgments_per_item=1,
        price_per_judgment_micros=PRICE,
        budget_micros=2 * PRICE,
    )
    await lw.add_items(job.name, [text_item(f"k{i}", "a") for i in range(4)])
    await lw.start_job(job.name)
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))
    first = await ctx.claim_items(10)
    await ctx.return_items([first[0].key])
    await ctx.fail_items([first[1].key], "the vendor lost it")
    again = await ctx.claim_items(10)
    after = await lw.get_job(job.name)
    assert len(first) == 2 and len(again) == 2
    assert after.counters.reserved_micros == 2 * PRICE
    await lw.close()


async def test_a_push_job_weighing_its_workers_ends_on_its_budget_after_its_final_pass(
    vendor_core: tuple[Harness, Running],
) -> None:
    server, running = vendor_core
    lw = await server.client()
    job = await lw.create_job(
        "J",
        classes=["a", "b"],
        workforce="vendor",
        quiz_size=0,
        judgments_per_item=2,
        price_per_judgment_micros=PRICE,
        budget_micros=3 * PRICE,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE,
    )
    await lw.add_items(job.name, [text_item(f"k{i}", "a") for i in range(3)])
    await lw.start_job(job.name)
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))
    (item,) = await ctx.claim_items(10)
    await ctx.record_judgments(
        [ExternalJudgment(item.key, f"v{n}", {"classification": {"class_name": "a"}}) for n in range(2)]
    )
    # 1,000 left: a judgment's price, but not an item's two judgments
    assert await ctx.claim_items(10) == []
    await running.core.run_passes()
    streamed = await labels_until_the_stream_ends(lw, job.name)
    done = await lw.get_job(job.name)
    assert done.state == job_pb2.JOB_STATE_COMPLETED
    assert done.end_reason == job_pb2.JOB_END_REASON_BUDGET_EXHAUSTED
    assert done.counters.cost_micros == 2 * PRICE and streamed[-1] == item.key
    await lw.close()


async def test_items_reopened_by_a_discounted_worker_are_claimed_and_reserved_again(
    vendor_core: tuple[Harness, Running],
) -> None:
    server, running = vendor_core
    lw = await server.client()
    job = await lw.create_job(
        "J",
        classes=["a", "b"],
        workforce="vendor",
        quiz_size=0,
        judgments_per_item=1,
        price_per_judgment_micros=PRICE,
        budget_micros=3 * PRICE,
    )
    await lw.add_items(job.name, [text_item("k1", "a"), text_item("k2", "b")])
    await lw.start_job(job.name)
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))
    await ctx.claim_items(10)
    await ctx.record_judgments(
        [ExternalJudgment(k, "liar", {"classification": {"class_name": "b"}}) for k in ("k1", "k2")]
    )
    await ctx.discount_worker("liar", "failed the vendor's gold")
    again = await ctx.claim_items(10)
    held = await lw.get_job(job.name)
    # 2,000 spent on the liar; 1,000 left pays for one of the two reopened items
    assert [i.key for i in again] == ["k1"] and held.counters.reserved_micros == PRICE
    await ctx.record_judgments([ExternalJudgment("k1", "honest", {"classification": {"class_name": "a"}})])
    assert await ctx.claim_items(10) == []
    done = await lw.get_job(job.name)
    assert done.counters.cost_micros == 3 * PRICE and done.counters.reserved_micros == 0
    assert done.end_reason == job_pb2.JOB_END_REASON_BUDGET_EXHAUSTED
    await lw.close()


async def test_a_workforce_reservation_holds_budget_until_charged_or_released(
    vendor_core: tuple[Harness, Running],
) -> None:
    """A push workforce's own charges (a gold HIT's answers) reserve budget ahead, as leases do."""
    server, running = vendor_core
    lw = await server.client()
    job = await lw.create_job(
        "J",
        classes=["a", "b"],
        workforce="vendor",
        quiz_size=0,
        judgments_per_item=1,
        price_per_judgment_micros=PRICE,
        budget_micros=9 * PRICE,
    )
    await lw.add_items(job.name, [text_item(f"k{i}", "a") for i in range(10)])
    await lw.start_job(job.name)
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))
    assert await ctx.reserve_cost(5 * PRICE, key="gold-hit-1")
    assert await ctx.reserve_cost(5 * PRICE, key="gold-hit-1")  # a retried round: held once
    assert not await ctx.reserve_cost(5 * PRICE, key="gold-hit-2")  # 4,000 left
    claimed = await ctx.claim_items(10)
    assert await ctx.record_cost(2 * PRICE, "gold answers", key="answer-1", reservation="gold-hit-1")
    assert not await ctx.record_cost(2 * PRICE, "gold answers", key="answer-1", reservation="gold-hit-1")
    charged = await lw.get_job(job.name)
    await ctx.release_cost(key="gold-hit-1")
    await ctx.release_cost(key="gold-hit-1")
    released = await lw.get_job(job.name)
    await ctx.record_judgments(
        [ExternalJudgment(i.key, "v", {"classification": {"class_name": "a"}}) for i in claimed]
    )
    more = await ctx.claim_items(10)
    assert len(claimed) == 4 and len(more) == 3
    assert (
        charged.counters.cost_micros == 2 * PRICE
        and charged.counters.reserved_micros == 3 * PRICE + 4 * PRICE
    )
    assert released.counters.reserved_micros == 4 * PRICE
    with pytest.raises(InvalidArgument):
        await ctx.reserve_cost(PRICE, key="reserved:gold-hit-1")
    await lw.close()


async def answer_what_is_wanted(ctx: JobContext) -> int:
    """Plays a push workforce to the end: one more answer for every judgment its claims
    want, round after round, until nothing is wanted and nothing more can be claimed."""
    answered, round_ = 0, 0
    while True:
        wanted = await ctx.claimed_items() + await ctx.claim_items(50)
        if not wanted:
            return answered
        round_ += 1
        answers = [
            ExternalJudgment(item.key, f"r{round_}w{n}", {"classification": {"class_name": "ab"[n % 2]}})
            for item in wanted
            for n in range(item.judgments_wanted)
        ]
        answered += (await ctx.record_judgments(answers)).recorded


async def test_more_judgments_for_confidence_after_a_claim_stay_within_the_budget(
    vendor_core: tuple[Harness, Running],
) -> None:
    """A budget for exactly 5 judgments, and a target confidence that asks for more
    of every item: the third judgment of the first item fits, that of the second does not."""
    server, running = vendor_core
    lw = await server.client()
    job = await lw.create_job(
        "J",
        classes=["a", "b"],
        workforce="vendor",
        quiz_size=0,
        judgments_per_item=2,
        max_judgments_per_item=4,
        target_confidence=0.999,
        price_per_judgment_micros=PRICE,
        budget_micros=5 * PRICE,
    )
    await lw.add_items(job.name, [text_item(f"k{i}", "a") for i in range(2)])
    await lw.start_job(job.name)
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))
    answered = await answer_what_is_wanted(ctx)
    done = await lw.get_job(job.name)
    assert answered == 5 and done.counters.judgments == 5
    assert done.counters.cost_micros == 5 * PRICE and done.counters.reserved_micros == 0
    assert done.state == job_pb2.JOB_STATE_COMPLETED and done.counters.labeled_items == 2
    await lw.close()
