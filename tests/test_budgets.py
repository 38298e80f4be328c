"""Budgets are never overspent: a lease reserves its price, push claims stay
within what is left, and a job whose budget pays for nothing more ends where
its client can see it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.server.transport.app import start_server
from labelwire.v1 import job_pb2
from tests.conftest import ADMIN_KEY, Clock, Harness
from tests.helpers import CLASSES, truth

PRICE = 1_000


async def budget_job(lw: Client, *, budget: int, items: int = 10, judgments: int = 1) -> job_pb2.Job:
    job = await lw.create_job(
        "Budgeted",
        classes=CLASSES,
        judgments_per_item=judgments,
        quiz_size=0,
        hidden_gold_share=0,
        price_per_judgment_micros=PRICE,
        budget_micros=budget,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(items)])
    return await lw.start_job(job.name)


async def labels_until_the_stream_ends(lw: Client, job: str) -> list[str]:
    """The stream's labels; a stream that does not end fails the test instead of hanging it."""

    async def read() -> list[str]:
        return [label.item_key async for label in lw.stream_labels(job)]

    return await asyncio.wait_for(read(), timeout=30)


async def test_eight_concurrent_workers_spend_no_more_than_the_budget(server: Harness) -> None:
    """The issue's case: 2,000 µ$ at 1,000 µ$ a judgment and 8 workers once spent 8,000 µ$."""
    lw = await server.client()
    job = await budget_job(lw, budget=2 * PRICE)
    tokens = [(await lw.create_worker(job.name, f"w{n}"))[1] for n in range(8)]
    workers = [server.worker(t) for t in tokens]
    leases = await asyncio.gather(*(w.next_task() for w in workers))
    holders = [(w, r.task) for w, r in zip(workers, leases, strict=True) if r.HasField("task")]
    mid = await lw.get_job(job.name)
    await asyncio.gather(*(w.submit(t.name, classification(truth(t.text))) for w, t in holders))
    streamed = await labels_until_the_stream_ends(lw, job.name)
    done = await lw.get_job(job.name)
    assert len(holders) == 2 and mid.counters.reserved_micros == 2 * PRICE
    assert done.counters.cost_micros == 2 * PRICE and done.counters.judgments == 2
    assert done.counters.reserved_micros == 0
    assert done.state == job_pb2.JOB_STATE_COMPLETED
    assert done.end_reason == job_pb2.JOB_END_REASON_BUDGET_EXHAUSTED
    assert done.counters.unlabeled_items == 8 and done.counters.labeled_items == 2
    assert len(streamed) == 2
    refused = await workers[0].next_task()
    assert not refused.HasField("task") and "complete" in refused.message
    for w in workers:
        await w.close()
    await lw.close()


async def test_a_released_lease_gives_its_price_back(server: Harness) -> None:
    lw = await server.client()
    job = await budget_job(lw, budget=PRICE)
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        held = await wa.next_task()
        waiting = await wb.next_task()
        await wa.release(held.task.name)
        taken = await wb.next_task()
        await wb.submit(taken.task.name, classification(truth(taken.task.text)))
    done = await lw.get_job(job.name)
    assert not waiting.HasField("task") and waiting.retry_after.seconds > 0
    assert taken.HasField("task")
    assert done.counters.cost_micros == PRICE and done.end_reason == job_pb2.JOB_END_REASON_BUDGET_EXHAUSTED
    await lw.close()


async def test_an_expired_lease_gives_its_price_back_and_the_job_ends(server: Harness, clock: Clock) -> None:
    """The last lease of a spent budget expires unanswered: nothing was paid, and
    the budget (one judgment) then buys the next worker's lease."""
    lw = await server.client()
    job = await budget_job(lw, budget=PRICE, items=2)
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        assert (await wa.next_task()).HasField("task")
        clock.advance(301)
        again = await wb.next_task()
        await wb.submit(again.task.name, classification(truth(again.task.text)))
    streamed = await labels_until_the_stream_ends(lw, job.name)
    done = await lw.get_job(job.name)
    assert again.HasField("task") and len(streamed) == 1
    assert done.counters.cost_micros == PRICE and done.counters.unlabeled_items == 1
    assert done.end_reason == job_pb2.JOB_END_REASON_BUDGET_EXHAUSTED
    await lw.close()


async def test_a_lease_held_when_the_budget_runs_out_may_still_be_submitted(server: Harness) -> None:
    """Its price was reserved when it was handed out; the job ends after it."""
    lw = await server.client()
    job = await budget_job(lw, budget=2 * PRICE)
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        first = await wa.next_task()
        second = await wb.next_task()
        await wa.submit(first.task.name, classification(truth(first.task.text)))
        between = await lw.get_job(job.name)
        ok = await wb.submit(second.task.name, classification(truth(second.task.text)))
    done = await lw.get_job(job.name)
    assert between.state == job_pb2.JOB_STATE_RUNNING
    assert ok.task == second.task.name
    assert done.state == job_pb2.JOB_STATE_COMPLETED and done.counters.cost_micros == 2 * PRICE
    await lw.close()


async def test_a_lease_held_at_cancel_is_released_and_its_answer_refused(server: Harness) -> None:
    lw = await server.client()
    job = await budget_job(lw, budget=5 * PRICE)
    _, a = await lw.create_worker(job.name, "a")
    async with server.worker(a) as wa:
        held = await wa.next_task()
        cancelled = await lw.cancel_job(job.name)
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await wa.submit(held.task.name, classification(truth(held.task.text)))
    done = await lw.get_job(job.name)
    assert cancelled.counters.reserved_micros == 0
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "cancelled" in (
        late.value.details() or ""
    )
    assert done.counters.cost_micros == 0 and done.counters.judgments == 0
    assert done.end_reason == job_pb2.JOB_END_REASON_UNSPECIFIED
    await lw.close()


async def test_a_job_without_a_budget_is_never_held_back(server: Harness) -> None:
    lw = await server.client()
    job = await budget_job(lw, budget=0, items=3)
    _, a = await lw.create_worker(job.name, "a")
    async with server.worker(a) as wa:
        for _ in range(3):
            t = await wa.next_task()
            await wa.submit(t.task.name, classification(truth(t.task.text)))
    done = await lw.get_job(job.name)
    assert done.counters.cost_micros == 3 * PRICE and done.end_reason == job_pb2.JOB_END_REASON_ALL_LABELED
    await lw.close()


async def overspend_across_replicas(database: str, clock: Clock) -> None:
    """8 workers, half on each of two replicas of one database, on a budget of 2."""
    a = await start_server(address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock)
    b = await start_server(address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock)
    try:
        one = Harness(running=a, target=f"127.0.0.1:{a.port}", database=database)
        lw = await one.client()
        job = await budget_job(lw, budget=2 * PRICE)
        tokens = [(await lw.create_worker(job.name, f"w{n}"))[1] for n in range(8)]
        workers = [WorkerClient(f"127.0.0.1:{(a, b)[n % 2].port}", t) for n, t in enumerate(tokens)]
        leases = await asyncio.gather(*(w.next_task() for w in workers))
        holders = [(w, r.task) for w, r in zip(workers, leases, strict=True) if r.HasField("task")]
        await asyncio.gather(*(w.submit(t.name, classification(truth(t.text))) for w, t in holders))
        await labels_until_the_stream_ends(lw, job.name)
        done = await lw.get_job(job.name)
        assert len(holders) == 2 and done.counters.cost_micros == 2 * PRICE
        assert done.end_reason == job_pb2.JOB_END_REASON_BUDGET_EXHAUSTED
        for w in workers:
            await w.close()
        await lw.close()
    finally:
        await a.stop(grace=None)
        await b.stop(grace=None)


async def test_two_replicas_on_one_sqlite_file_spend_no_more_than_the_budget(
    tmp_path: Path, clock: Clock
) -> None:
    await overspend_across_replicas(str(tmp_path / "shared.db"), clock)


async def test_two_replicas_on_postgres_spend_no_more_than_the_budget(
    postgres_database: str, clock: Clock
) -> None:
    await overspend_across_replicas(postgres_database, clock)


async def test_a_job_weighing_its_workers_ends_on_its_budget_after_its_final_pass(server: Harness) -> None:
    """Its labels may still be revised by the job-level pass, so the stream ends after that."""
    lw = await server.client()
    job = await lw.create_job(
        "Weighted",
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=0,
        hidden_gold_share=0,
        price_per_judgment_micros=PRICE,
        budget_micros=2 * PRICE,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(5)])
    await lw.start_job(job.name)
    _, a = await lw.create_worker(job.name, "a")
    async with server.worker(a) as wa:
        for _ in range(2):
            t = await wa.next_task()
            await wa.submit(t.task.name, classification(truth(t.task.text)))
        refused = await wa.next_task()
    await server.running.core.run_passes()
    streamed = await labels_until_the_stream_ends(lw, job.name)
    done = await lw.get_job(job.name)
    assert not refused.HasField("task")
    assert done.state == job_pb2.JOB_STATE_COMPLETED
    assert done.end_reason == job_pb2.JOB_END_REASON_BUDGET_EXHAUSTED
    assert done.counters.cost_micros == 2 * PRICE and len({k for k in streamed}) == 2
    await lw.close()


async def test_more_judgments_for_confidence_from_pool_workers_stay_within_the_budget(
    server: Harness,
) -> None:
    """The same with pool workers: the second item is labeled with the judgments it has
    rather than left waiting for one the budget cannot pay."""
    lw = await server.client()
    job = await lw.create_job(
        "Budgeted",
        classes=CLASSES,
        judgments_per_item=2,
        max_judgments_per_item=3,
        target_confidence=0.999,
        quiz_size=0,
        hidden_gold_share=0,
        price_per_judgment_micros=PRICE,
        budget_micros=5 * PRICE,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(2)])
    await lw.start_job(job.name)
    tokens = [(await lw.create_worker(job.name, f"w{n}"))[1] for n in range(4)]
    workers = [server.worker(t) for t in tokens]
    for _ in range(3):
        for n, w in enumerate(workers):
            lease = await w.next_task()
            if lease.HasField("task"):
                await w.submit(lease.task.name, classification(CLASSES[n % 2]))
    streamed = await labels_until_the_stream_ends(lw, job.name)
    done = await lw.get_job(job.name)
    assert done.counters.judgments == 5 and done.counters.cost_micros == 5 * PRICE
    assert done.counters.reserved_micros == 0 and done.state == job_pb2.JOB_STATE_COMPLETED
    assert sorted(streamed) == ["i0", "i1"] and done.counters.unlabeled_items == 0
    for w in workers:
        await w.close()
    await lw.close()
