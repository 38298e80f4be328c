"""A push workforce's sync loop follows UpdateJob from its next round: the
instructions and price it hands the outside service are the job's current
ones, and the loop is not restarted for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from labelwire.adapters.base import Capabilities, Mode, SyncResult, Workforce, WorkforceContext
from labelwire.adapters.pool import PoolWorkforce
from labelwire.client.raw import text_item
from labelwire.server.dispatch.workforces import Workforces
from labelwire.server.transport.app import start_server
from labelwire.v1 import job_pb2
from tests.conftest import ADMIN_KEY, Harness


class Watcher(Workforce):
    """Claims nothing; notes what each round is told about its job."""

    name = "watcher"
    capabilities = Capabilities(task_types=frozenset({"classification"}), mode=Mode.PUSH, gates_by_gold=False)

    def __init__(self) -> None:
        self.starts = 0
        self.seen: list[tuple[str, int]] = []

    async def start(self, ctx: WorkforceContext) -> None:
        self.starts += 1

    async def sync(self, ctx: WorkforceContext) -> SyncResult:
        job = ctx.job
        self.seen.append((str(job.instructions.get("short_instructions", "")), job.price_per_judgment_micros))
        return SyncResult(next_sync_seconds=0.05)

    async def until(self, wanted: tuple[str, int]) -> None:
        while wanted not in self.seen:
            await asyncio.sleep(0.02)


@pytest.fixture
async def watched(database: str) -> AsyncIterator[tuple[Harness, Watcher]]:
    watcher = Watcher()
    running = await start_server(
        address="127.0.0.1:0",
        database=database,
        admin_key=ADMIN_KEY,
        workforces=Workforces({"pool": PoolWorkforce(), "watcher": watcher}),
    )
    try:
        yield Harness(running=running, target=f"127.0.0.1:{running.port}", database=database), watcher
    finally:
        await running.stop(grace=None)


async def test_a_running_sync_loop_takes_up_an_update_at_its_next_round(
    watched: tuple[Harness, Watcher],
) -> None:
    server, watcher = watched
    lw = await server.client()
    job = await lw.create_job(
        "J", classes=["a", "b"], workforce="watcher", quiz_size=0, price_per_judgment_micros=10_000
    )
    await lw.add_items(job.name, [text_item("k1", "a")])
    await lw.start_job(job.name)
    await asyncio.wait_for(watcher.until(("", 10_000)), 30)  # a bound against a hang, not a speed test
    change = job_pb2.Job(name=job.name, price_per_judgment_micros=20_000)
    change.instructions.short_instructions = "Look twice."
    await lw.update_job(change, ["instructions.short_instructions", "price_per_judgment_micros"])
    await asyncio.wait_for(watcher.until(("Look twice.", 20_000)), 30)
    assert watcher.starts == 1, "the loop went on; it was not started again"
    after = watcher.seen[watcher.seen.index(("Look twice.", 20_000)) :]
    assert set(after) == {("Look twice.", 20_000)}, "no round after the change sees the old job"
