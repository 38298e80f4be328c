"""Extra judgments go to the workers likely to settle the item (issue 13, wanted 2).

Two strong workers (4 of 4 on the quiz) and two weak ones (2 of 4) on a job with dynamic
judgments: an item whose two first answers disagree needs a third; the weak workers are
offered fresh items instead, and the extra judgment goes to a strong worker. An item no
present strong worker can take still finishes."""

from __future__ import annotations

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.v1 import item_pb2, job_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, truth

QUIZ = 4
WRONG = {"pos": "neg", "neg": "neutral", "neutral": "pos"}


async def dynamic_job(lw: Client, items: int) -> job_pb2.Job:
    job = await lw.create_job(
        "Routed",
        classes=CLASSES,
        judgments_per_item=2,
        max_judgments_per_item=3,
        target_confidence=0.99,
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
    first = await ws["strong1"].next_task()
    second = await ws["weak1"].next_task()
    assert first.task.text == second.task.text == "truth:pos"  # i0, the oldest item
    await ws["strong1"].submit(first.task.name, classification("pos"))
    await ws["weak1"].submit(second.task.name, classification("neg"))  # i0 is contested now

    offered_weak = await ws["weak2"].next_task()
    assert offered_weak.task.text == "truth:neg"  # i1, still under its floor, not i0
    offered_strong = await ws["strong2"].next_task()
    assert offered_strong.task.text == "truth:pos"  # the extra judgment of i0
    await ws["strong2"].submit(offered_strong.task.name, classification("pos"))
    latest = {lab.item_key: lab async for lab in lw.list_labels(job.name)}
    assert latest["i0"].judgment_count == 3
    assert latest["i0"].value.classification.class_name == "pos"
    for w in ws.values():
        await w.close()
    await lw.close()


async def test_a_weak_worker_waits_while_a_strong_one_can_take_the_item(server: Harness) -> None:
    lw = await server.client()
    job = await dynamic_job(lw, 1)
    ws = await workers(server, lw, job)
    a = await ws["strong1"].next_task()
    b = await ws["weak1"].next_task()
    await ws["strong1"].submit(a.task.name, classification("pos"))
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
    b = await ws["strong2"].next_task()
    await ws["strong1"].submit(a.task.name, classification("pos"))
    await ws["strong2"].submit(b.task.name, classification("neg"))
    fallback = await ws["weak1"].next_task()
    assert fallback.task.text == "truth:pos"  # nobody stronger can take it: not stranded
    await ws["weak1"].submit(fallback.task.name, classification("pos"))
    done = await lw.get_job(job.name)
    assert done.state == job_pb2.JOB_STATE_COMPLETED
    for w in ws.values():
        await w.close()
    await lw.close()
