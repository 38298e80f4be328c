"""Extra judgments go to the workers likely to settle the item (issue 13, wanted 2).

Two strong workers (4 of 4 on the quiz) and two weak ones (2 of 4) on a job with dynamic
judgments: with a target confidence an item opens with one judgment (`JobSpec.floor`) and gets
another only while its posterior is below the target; the weak workers are offered fresh items
instead, and the extra judgment goes to a strong worker. An item no present strong worker can
take still finishes. Without a target every item gets `judgments_per_item`."""

from __future__ import annotations

import numpy as np

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.server.dispatch.gate import ACTIVE_SECONDS
from labelwire.server.labels.pass_models import JobModel, save_model
from labelwire.server.store import Tx
from labelwire.v1 import item_pb2, job_pb2
from tests.conftest import Clock, Harness
from tests.helpers import CLASSES, truth

QUIZ = 4
WRONG = {"pos": "neg", "neg": "neutral", "neutral": "pos"}


async def dynamic_job(lw: Client, items: int, target: float = 0.99) -> job_pb2.Job:
    job = await lw.create_job(
        "Routed",
        classes=CLASSES,
        judgments_per_item=2,
        max_judgments_per_item=3,
        target_confidence=target,
        quiz_size=QUIZ,
        pass_accuracy=0.5,
        hidden_gold_share=0,
    )
    quiz = [
        text_item(f"g{n}", f"truth:{CLASSES[n % 3]}", gold=CLASSES[n % 3], gold_use=item_pb2.GOLD_USE_QUIZ)
        for n in range(QUIZ)
    ]
    work = [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(items)]
    await lw.add_items(job.name, work + quiz)
    return await lw.start_job(job.name)


async def take_quiz(w: WorkerClient, right: int) -> None:
    for n in range(QUIZ):
        t = await w.next_task()
        answer = truth(t.task.text) if n < right else WRONG[truth(t.task.text)]
        await w.submit(t.task.name, classification(answer))


async def workers(server: Harness, lw: Client, job: job_pb2.Job) -> dict[str, WorkerClient]:
    out = {}
    for name, right in (("strong1", 4), ("strong2", 4), ("weak1", 2), ("weak2", 2)):
        _, token = await lw.create_worker(job.name, name)
        out[name] = server.worker(token)
        await take_quiz(out[name], right)
    return out


async def test_the_extra_judgment_goes_to_the_strong_worker(server: Harness) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 2)
    ws = await workers(server, lw, job)
    first = await ws["weak1"].next_task()
    assert first.task.text == "truth:pos"  # i0, the oldest item
    await ws["weak1"].submit(first.task.name, classification("neg"))  # under target: i0 is contested

    offered_weak = await ws["weak2"].next_task()
    assert offered_weak.task.text == "truth:neg"  # i1, still under its floor, not i0
    offered_strong = await ws["strong1"].next_task()
    assert offered_strong.task.text == "truth:pos"  # the extra judgment of i0
    await ws["strong1"].submit(offered_strong.task.name, classification("pos"))
    third = await ws["strong2"].next_task()
    assert third.task.text == "truth:pos"  # still under target: i0's last judgment
    await ws["strong2"].submit(third.task.name, classification("pos"))
    latest = {lab.item_key: lab async for lab in lw.list_labels(job.name)}
    assert latest["i0"].judgment_count == 3
    assert latest["i0"].value.classification.class_name == "pos"
    for w in ws.values():
        await w.close()
    await lw.close()


async def test_an_item_whose_first_answer_reaches_the_target_gets_no_second(server: Harness) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 2, target=0.85)
    ws = await workers(server, lw, job)
    first = await ws["strong1"].next_task()
    await ws["strong1"].submit(first.task.name, classification("pos"))  # 0.9 from a 4-of-4 worker
    latest = {lab.item_key: lab async for lab in lw.list_labels(job.name)}
    assert latest["i0"].judgment_count == 1
    assert latest["i0"].value.classification.class_name == "pos"
    unsure = await ws["weak1"].next_task()
    await ws["weak1"].submit(unsure.task.name, classification("neg"))  # 0.57: i1 needs another
    assert "i1" not in {lab.item_key async for lab in lw.list_labels(job.name)}
    for w in ws.values():
        await w.close()
    await lw.close()


async def test_without_a_target_every_item_gets_judgments_per_item(server: Harness) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 1, target=0.0)
    ws = await workers(server, lw, job)
    a = await ws["strong1"].next_task()
    b = await ws["strong2"].next_task()
    assert a.task.text == b.task.text == "truth:pos"  # both of i0's judgments are open at once
    await ws["strong1"].submit(a.task.name, classification("pos"))
    assert not [lab async for lab in lw.list_labels(job.name)]
    await ws["strong2"].submit(b.task.name, classification("pos"))
    assert [lab.judgment_count async for lab in lw.list_labels(job.name)] == [2]
    for w in ws.values():
        await w.close()
    await lw.close()


async def test_a_weak_worker_waits_while_a_strong_one_can_take_the_item(server: Harness) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 1)
    ws = await workers(server, lw, job)
    b = await ws["weak1"].next_task()
    await ws["weak1"].submit(b.task.name, classification("neg"))
    waiting = await ws["weak2"].next_task()
    assert not waiting.HasField("task")
    assert "no task is available" in waiting.message
    taken = await ws["strong2"].next_task()
    assert taken.task.text == "truth:pos"
    for w in ws.values():
        await w.close()
    await lw.close()


async def test_an_item_every_present_strong_worker_judged_still_finishes(server: Harness) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 1)
    ws = await workers(server, lw, job)
    a = await ws["strong1"].next_task()
    await ws["strong1"].submit(a.task.name, classification("pos"))
    b = await ws["strong2"].next_task()
    assert b.task.text == "truth:pos"
    await ws["strong2"].submit(b.task.name, classification("neg"))
    fallback = await ws["weak1"].next_task()
    assert fallback.task.text == "truth:pos"  # nobody stronger can take it: not stranded
    await ws["weak1"].submit(fallback.task.name, classification("pos"))
    done = await lw.get_job(job.name)
    assert done.state == job_pb2.JOB_STATE_COMPLETED
    for w in ws.values():
        await w.close()
    await lw.close()


async def test_the_least_confident_contested_item_is_offered_first(server: Harness) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 2)
    ws = await workers(server, lw, job)
    a = await ws["strong1"].next_task()
    assert a.task.text == "truth:pos"  # i0
    await ws["strong1"].submit(a.task.name, classification("pos"))  # 0.9: contested, fairly sure
    b = await ws["weak1"].next_task()
    assert b.task.text == "truth:neg"  # i1, under its floor
    await ws["weak1"].submit(b.task.name, classification("pos"))  # 0.57: contested, unsure

    offered = await ws["strong2"].next_task()
    assert offered.task.text == "truth:neg"  # i1, the less confident, before the older i0
    for w in ws.values():
        await w.close()
    await lw.close()


async def test_the_contested_item_goes_to_the_worker_strong_on_its_likely_class(server: Harness) -> None:
    """strong1 is reliable on pos only, strong2 on neg only (as a pass would have learned
    them); both have the same overall record. An item a weak worker called neg goes to
    strong2, and strong1, who would settle it worse, gets a fresh item."""
    lw = await server.client()
    job = await dynamic_job(lw, 2)
    ws = await workers(server, lw, job)
    store = server.running.core.store

    def plant_model(tx: Tx) -> None:
        rows = tx.all("SELECT id, display_name, job_id FROM workers ORDER BY id")
        by_name = {str(r["display_name"]): int(r["id"]) for r in rows}
        diagonals = {
            "strong1": (0.95, 0.6, 0.6),
            "strong2": (0.6, 0.95, 0.6),
            "weak1": (0.7,) * 3,
            "weak2": (0.7,) * 3,
        }
        confusions = {}
        for name, diagonal in diagonals.items():
            matrix = np.array([[(1 - d) / 2] * 3 for d in diagonal])
            np.fill_diagonal(matrix, diagonal)
            confusions[by_name[name]] = matrix
        model = JobModel(priors=np.full(3, 1 / 3), confusions=confusions, method="dawid_skene")
        save_model(tx, int(rows[0]["job_id"]), model)

    await store.write(plant_model)
    a = await ws["weak1"].next_task()
    assert a.task.text == "truth:pos"  # i0
    await ws["weak1"].submit(a.task.name, classification("neg"))  # i0 is contested, likely neg

    first = await ws["strong1"].next_task()
    assert first.task.text == "truth:neg"  # i1, fresh: strong1 is weak on neg
    second = await ws["strong2"].next_task()
    assert second.task.text == "truth:pos"  # i0's extra judgment
    for w in ws.values():
        await w.close()
    await lw.close()


async def _four(server: Harness, lw: Client, job: job_pb2.Job) -> dict[str, WorkerClient]:
    """Quiz records 4, 4, 3 and 2 of 4: the lowest quarter of the job's skills lies above
    the 2-of-4 worker's."""
    out = {}
    for name, right in (("strong1", 4), ("strong2", 4), ("mid", 3), ("weak", 2)):
        _, token = await lw.create_worker(job.name, name)
        out[name] = server.worker(token)
        await take_quiz(out[name], right)
    return out


async def test_the_weakest_quarter_waits_for_a_fresh_item_a_stronger_present_worker_can_take(
    server: Harness,
) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 1)
    ws = await _four(server, lw, job)
    waiting = await ws["weak"].next_task()
    assert not waiting.HasField("task")
    offered = await ws["mid"].next_task()
    assert offered.task.text == "truth:pos"  # i0, under its floor: the 3-of-4 worker is above the cut
    for w in ws.values():
        await w.close()
    await lw.close()


async def test_a_fresh_item_goes_to_the_weakest_quarter_when_nobody_stronger_is_present(
    server: Harness, clock: Clock
) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 1)
    ws = await _four(server, lw, job)
    clock.advance(ACTIVE_SECONDS + 1)  # the others have left
    offered = await ws["weak"].next_task()
    assert offered.task.text == "truth:pos"  # not stranded
    for w in ws.values():
        await w.close()
    await lw.close()
