"""The store wakes label streams: a write that commits a label event moves its
job's feed with no call to `notify`, so a new write path cannot forget it.

The wait below is an hour long, so only the wake-up can end it; the bound
on it is against a hang, not a speed test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from labelwire.server.core import Core
from labelwire.server.domain.model import Consolidated
from labelwire.server.labels import items as labeling
from labelwire.server.store import Tx
from tests.conftest import Harness
from tests.helpers import running_job, take
from tests.test_feed import BOUND, HOUR, still_waiting


def label_by_hand(core: Core, job_id: int, key: str) -> Callable[[Tx], int]:
    """A write path no core method takes: it appends a label event itself and
    tells the feed nothing."""

    def write(tx: Tx) -> int:
        item = tx.item_by_key(job_id, key)
        assert item is not None
        label = Consolidated(
            value={"classification": {"class_name": "pos"}},
            confidence=1.0,
            probabilities={},
            method=labeling.CORRECTION_METHOD,
            judgment_count=0,
            tie=False,
        )
        return labeling.append_label(
            tx, job_id, item, label, core.clock(), spec=core.reads.fresh_spec(tx, job_id)
        )

    return write


async def test_a_new_write_path_that_commits_a_label_event_wakes_a_waiting_stream(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    core = server.running.core
    job_id = int(job.name.split("/")[1])
    reader = asyncio.create_task(take(lw.stream_labels(job.name), 1))
    waiter = asyncio.create_task(core.feed.wait(job_id, core.feed.version(job_id), timeout=HOUR))
    assert await still_waiting(waiter)

    await core.store.write(label_by_hand(core, job_id, "i0"))

    await asyncio.wait_for(waiter, BOUND)
    (label,) = await reader
    assert label.item_key == "i0"
    assert label.value.classification.class_name == "pos"
    await lw.close()


async def test_a_write_that_rolls_back_its_label_event_wakes_nobody(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    core = server.running.core
    job_id = int(job.name.split("/")[1])
    before = core.feed.version(job_id)
    write = label_by_hand(core, job_id, "i0")

    def fails(tx: Tx) -> None:
        write(tx)
        raise ValueError("refused after the label event was written")

    with pytest.raises(ValueError):
        await core.store.write(fails)

    assert core.feed.version(job_id) == before
    assert [label async for label in lw.list_labels(job.name)] == []
    await lw.close()
