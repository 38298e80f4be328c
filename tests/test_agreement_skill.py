"""A majority-vote job with a target confidence learns its workers' skill from their work
(issue 13, wanted 2): such a job runs no pass, so without this a worker's skill is its quiz
record, and four workers who all passed the quiz 4 of 4 look alike however they work. The
colluder check sets each one's skill from its work answers' agreement with the others'
(`gate.agreement_skill`); then a lone answer from a worker whose work the others confirm
settles an item, and a worker whose work they contradict waits while a stronger one can take
the fresh item."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.server.core import service
from labelwire.server.store import Tx
from labelwire.v1 import job_pb2
from tests.conftest import Harness
from tests.helpers import truth
from tests.test_skill_routing import QUIZ, WRONG, dynamic_job, take_quiz

FIRST_ITEMS = 12


@pytest.fixture
def no_background_maintenance(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Leaves the colluder check to the test, so the run is the same every time."""
    monkeypatch.setattr(service, "MAINTENANCE_SECONDS", 3600.0)
    yield


async def _workers(server: Harness, lw: Client, job: job_pb2.Job) -> dict[str, WorkerClient]:
    """Four workers with the same quiz record, 4 of 4."""
    out = {}
    for name in ("a", "b", "c", "d"):
        _, token = await lw.create_worker(job.name, name)
        out[name] = server.worker(token)
        await take_quiz(out[name], QUIZ)
    return out


async def _work_until_done(lw: Client, job: job_pb2.Job, ws: dict[str, WorkerClient]) -> None:
    """a, b and c answer the truth, d a wrong class, in turn, until every item is labeled."""
    for _ in range(50):
        for name, w in ws.items():
            t = await w.next_task()
            if t.HasField("task"):
                right = truth(t.task.text)
                await w.submit(t.task.name, classification(WRONG[right] if name == "d" else right))
        if (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_COMPLETED:
            return
    raise AssertionError("the first items were never all labeled")


async def test_work_that_agrees_with_the_others_settles_an_item_alone(
    no_background_maintenance: None, server: Harness
) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, FIRST_ITEMS, target=0.95)
    ws = await _workers(server, lw, job)
    await _work_until_done(lw, job, ws)
    await server.running.core.check_workers()

    def skills(tx: Tx) -> dict[str, float | None]:
        return {str(r["display_name"]): r["skill"] for r in tx.all("SELECT display_name, skill FROM workers")}

    learned = await server.running.core.store.read(skills)
    quiz_only = (QUIZ + 1.4) / (QUIZ + 2)  # gate.estimated_skill of a 4-of-4 record
    assert all(learned[n] is not None and learned[n] > quiz_only for n in "abc"), learned
    assert learned["d"] is not None and learned["d"] < 0.5, learned

    await lw.add_items(job.name, [text_item("q0", "truth:pos"), text_item("q1", "truth:neg")])
    offered = await ws["d"].next_task()
    assert not offered.HasField("task")  # d waits: a stronger worker present can take q0
    alone = await ws["a"].next_task()
    assert alone.task.text == "truth:pos"  # q0, fresh
    await ws["a"].submit(alone.task.name, classification("pos"))
    labels = {lab.item_key: lab async for lab in lw.list_labels(job.name)}
    assert labels["q0"].judgment_count == 1  # on the quiz record alone (0.9) it would wait for another
    assert labels["q0"].confidence >= 0.95
    for w in ws.values():
        await w.close()
    await lw.close()
