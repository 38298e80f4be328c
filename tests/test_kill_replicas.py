"""Two replicas over one PostgreSQL database, each killed under load in turn: nothing either
acknowledged is lost, and the feed numbers every label once, without a gap (issue 15: the
kill -9 suite with two replicas)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest

from labelwire.client.raw import AdminClient, Client
from tests.helpers import drain, running_job, truth
from tests.test_kill_restart import ADMIN, acknowledged, acknowledged_in_store, free_port, judge, start

ITEMS = 300


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.timeout(300)  # four server starts and 120 s bounds on the load phases
async def test_two_replicas_killed_in_turn_lose_no_acknowledged_judgment_or_label(
    postgres_database: str,
) -> None:
    database = postgres_database
    first, second = free_port(), free_port()
    a = await start(database, first)
    b = await start(database, second)
    targets = [f"127.0.0.1:{first}", f"127.0.0.1:{second}"]
    try:
        async with AdminClient(targets[0], ADMIN) as admin:
            key = await admin.create_api_key("ml")
        lw = Client(targets[0], key)
        job = await running_job(lw, items=ITEMS)
        tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(8)]
        await lw.close()
        acked: list[tuple[str, str]] = []
        on_a = [asyncio.create_task(judge(targets[0], t, acked)) for t in tokens[:4]]
        on_b = [asyncio.create_task(judge(targets[1], t, acked)) for t in tokens[4:]]

        await asyncio.wait_for(acknowledged(acked, 60), 120)  # bounds against a hang, not speed tests
        kill(a)
        await asyncio.wait_for(asyncio.gather(*on_a), 10)
        await asyncio.wait_for(acknowledged(acked, len(acked) + 40), 120)  # b carries on alone
        kill(b)
        await asyncio.wait_for(asyncio.gather(*on_b), 10)

        a = await start(database, first)
        b = await start(database, second)
        stored = await acknowledged_in_store(database, acked)
        assert [(name, answer) for name, answer, _ in stored] == [
            (name, {"classification": {"class_name": truth(text)}}) for name, text in acked
        ]
        for target in targets:
            lw = Client(target, key)
            labels = await drain(lw.stream_labels(job.name, snapshot_only=True))
            await lw.close()
            assert [lab.sequence for lab in labels] == list(range(1, len(labels) + 1))
            labeled = {lab.item_key: lab.value.classification.class_name for lab in labels}
            for (_, text), (_, _, item_key) in zip(acked, stored, strict=True):
                assert labeled.get(item_key) == truth(text), (
                    f"the label of acknowledged item {item_key} is lost"
                )

        # Both replicas finish the job; the leases the dead held stay out until they expire.
        await asyncio.gather(*(judge(targets[n % 2], t, acked) for n, t in enumerate(tokens)))
        lw = Client(targets[1], key)
        final = await drain(lw.stream_labels(job.name, snapshot_only=True))
        keys = [lab.item_key for lab in final]
        assert len(keys) == len(set(keys)) and all(lab.revision == 1 for lab in final)
        assert [lab.sequence for lab in final] == list(range(1, len(final) + 1))
        leased_by_the_dead = (await lw.get_job(job.name)).counters.in_progress_items
        assert len(final) + leased_by_the_dead == ITEMS
        await lw.close()
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
