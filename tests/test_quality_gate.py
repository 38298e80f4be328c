"""Test questions: the entry quiz and hidden gold keep bad workers out."""

from __future__ import annotations

import pytest

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.v1 import task_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, drain, running_job, truth, work


async def test_spammer_fails_the_quiz_and_gets_no_tasks(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=5, gold=6, quiz_size=5)
    _, token = await lw.create_worker(job.name, "spammer")
    async with server.worker(token) as w:
        phases = []
        for _ in range(5):
            t = await w.next_task()
            phases.append(t.task.phase)
            last = await w.submit(t.task.name, classification("pos"))
        after = await w.next_task()
    assert phases == [task_pb2.TASK_PHASE_QUIZ] * 5
    assert last.status == task_pb2.WORKER_STATUS_FAILED_QUIZ and "quiz failed" in last.message
    assert not after.HasField("task") and after.status == task_pb2.WORKER_STATUS_FAILED_QUIZ
    assert after.message == "you failed the quiz on this job and get no more tasks"
    await lw.close()


@pytest.mark.parametrize(("share", "counts"), [(0.1, [1, 2, 3, 4, 5]), (0.3, [3, 6, 9, 12, 15])])
async def test_hidden_gold_takes_exactly_its_share_of_each_block_of_work(
    server: Harness, share: float, counts: list[int]
) -> None:
    """Exactly `share` of each block of ten tasks a worker is offered is hidden
    gold (at places drawn per block), as the owner's count shows; with several
    slots a block, each one served counts, so the block ends its gold on time."""
    lw = await server.client()
    job = await running_job(lw, items=60, gold=20, hidden=share)
    _, token = await lw.create_worker(job.name, "w")
    per_block = []
    async with server.worker(token) as w:
        for _ in range(5):
            for _ in range(10):
                t = await w.next_task()
                await w.submit(t.task.name, classification(truth(t.task.text)))
            (record,) = await lw.list_workers(job.name)
            per_block.append(record.gold_answered)
    assert per_block == counts
    await lw.close()


async def test_good_worker_passes_the_quiz_and_labels_everything(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=5, gold=6, quiz_size=5)
    _, token = await lw.create_worker(job.name, "good")
    async with server.worker(token) as w:
        done = await work(w)
        stats = await w.stats()
    assert done == 5 + 5
    assert stats.status == task_pb2.WORKER_STATUS_QUALIFIED and stats.gold_correct == 5
    assert len(await drain(lw.stream_labels(job.name))) == 5
    await lw.close()


async def test_hidden_gold_disqualifies_a_worker_and_reopens_what_it_labeled(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=40, gold=20, quiz_size=1, hidden=0.3, pass_accuracy=0.8)
    _, token = await lw.create_worker(job.name, "turns-bad")
    async with server.worker(token) as w:
        t = await w.next_task()
        await w.submit(t.task.name, classification(truth(t.task.text)))
        final = None
        for _ in range(60):
            t = await w.next_task()
            if not t.HasField("task"):
                break
            wrong = CLASSES[(CLASSES.index(truth(t.task.text)) + 1) % 3]
            final = await w.submit(t.task.name, classification(wrong))
        blocked = await w.next_task()
    (record,) = await lw.list_workers(job.name)
    work_judgments = record.judgments - record.gold_answered
    assert work_judgments >= 1, "the seed should let the worker label something before hidden gold catches it"
    assert final is not None and final.status == task_pb2.WORKER_STATUS_DISQUALIFIED
    assert blocked.status == task_pb2.WORKER_STATUS_DISQUALIFIED and not blocked.HasField("task")
    counters = (await lw.get_job(job.name)).counters
    assert counters.disqualified_workers == 1
    assert counters.excluded_judgments == work_judgments
    assert counters.unlabeled_items == 40
    await lw.close()


async def test_labels_fed_by_a_disqualified_worker_are_revised(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=4, gold=10, judgments=1, quiz_size=1, hidden=0.3)
    _, bad = await lw.create_worker(job.name, "bad")
    _, good = await lw.create_worker(job.name, "good")
    async with server.worker(bad) as w:
        await work(w, right=True, limit=1)
        await work(w, right=False)
        status = (await w.stats()).status
    wrong = await drain(lw.stream_labels(job.name, snapshot_only=True))
    async with server.worker(good) as w:
        await work(w)
    events = await drain(lw.stream_labels(job.name, after_sequence=wrong[-1].sequence))
    assert status == task_pb2.WORKER_STATUS_DISQUALIFIED
    assert wrong and all(lab.revision == 1 for lab in wrong)
    revised = [lab for lab in events if lab.item_key in {w.item_key for w in wrong}]
    assert sorted(lab.item_key for lab in revised) == sorted(lab.item_key for lab in wrong)
    for lab in revised:
        assert lab.revision == 2 and lab.judgment_count == 1
        assert lab.value.classification.class_name == CLASSES[int(lab.item_key[1:]) % 3]
    await lw.close()


async def test_workers_never_see_gold_answers(server: Harness) -> None:
    """The gold answer is a class no work item needs and no gold text names, so
    its name in a task-side response could only come from the gold itself."""
    secret = "quokka-7f3e"
    lw = await server.client()
    job = await lw.create_job(
        "Gate", classes=[*CLASSES, secret], judgments_per_item=1, quiz_size=0, hidden_gold_share=0.5
    )
    items = [text_item(f"w{n}", f"work:{CLASSES[n % 3]}") for n in range(10)]
    items += [
        text_item(f"g{n}", f"plain text {n}", gold=secret, metadata={"source": "batch 7"}) for n in range(10)
    ]
    for gold in items[10:]:  # the explanation is for the quiz's feedback alone
        gold.gold_explanation = f"{secret} is what this text says"
    await lw.add_items(job.name, items)
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    received: list[bytes] = []
    gold_tasks = 0
    async with server.worker(token) as w:
        instructions = await w.instructions()
        for _ in range(40):
            t = await w.next_task()
            received.append(t.SerializeToString())
            if not t.HasField("task"):
                break
            gold_tasks += t.task.text.startswith("plain")
            received.append((await w.extend(t.task.name, 60)).SerializeToString())
            result = await w.submit(t.task.name, classification("pos"))
            received.append(result.SerializeToString())
        received.append((await w.stats()).SerializeToString())
    assert gold_tasks >= 1, "the seed should hand the worker some hidden gold"
    assert secret.encode() in instructions.SerializeToString(), "the class list names every class"
    assert [r for r in received if secret.encode() in r] == []
    assert set(t.task.DESCRIPTOR.fields_by_name) == {
        "name",
        "phase",
        "text",
        "json",
        "source_ref",
        "metadata",
        "prelabel",
        "lease_expire_time",
        "prelabel_confidence",
        "batch",
        # Rendered from the task's own payload and metadata (gt_template.task_input), nothing else.
        "rendered_template",
    }
    # A bulk-verification batch's items carry what the model said, never whether they are gold.
    assert set(t.task.DESCRIPTOR.fields_by_name["batch"].message_type.fields_by_name) == {
        "text",
        "json",
        "source_ref",
        "metadata",
        "prelabel",
        "prelabel_confidence",
    }
    await lw.close()


async def gold_job(lw: Client, *, quiz: int, bar: float, hidden: float = 0.0, work_items: int = 1) -> str:
    """A running job whose gold texts start `gold:` and work texts `work:`,
    so that a scripted worker knows which answers grade it."""
    job = await lw.create_job(
        "Gate",
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=quiz,
        pass_accuracy=bar,
        hidden_gold_share=hidden,
    )
    items = [text_item(f"w{n}", f"work:{CLASSES[n % 3]}") for n in range(work_items)]
    items += [text_item(f"g{n}", f"gold:{CLASSES[n % 3]}", gold=CLASSES[n % 3]) for n in range(24)]
    await lw.add_items(job.name, items)
    await lw.start_job(job.name)
    return job.name


async def play_gold(w: WorkerClient, script: list[bool], *, limit: int = 400) -> list[int]:
    """Answers gold tasks right or wrong as `script` says (work tasks always
    right) until the script is played; the worker's status after each gold answer."""
    statuses: list[int] = []
    for _ in range(limit):
        if len(statuses) == len(script):
            return statuses
        t = await w.next_task()
        if not t.HasField("task"):
            continue
        kind, answer = t.task.text.split(":", 1)
        is_gold = kind == "gold"
        if is_gold and not script[len(statuses)]:
            answer = CLASSES[(CLASSES.index(answer) + 1) % 3]
        result = await w.submit(t.task.name, classification(answer))
        if is_gold:
            statuses.append(result.status)
    raise AssertionError(f"only {len(statuses)} of {len(script)} gold answers were asked for")


async def quiz_outcome(server: Harness, right: int, of: int, bar: float) -> tuple[int, bool]:
    lw = await server.client()
    job = await gold_job(lw, quiz=of, bar=bar)
    _, token = await lw.create_worker(job, "scripted")
    async with server.worker(token) as w:
        statuses = await play_gold(w, [False] * (of - right) + [True] * right)
        after = await w.next_task()
    await lw.close()
    return statuses[-1], after.HasField("task")


async def test_worker_exactly_at_the_pass_mark_passes_the_quiz(server: Harness) -> None:
    assert await quiz_outcome(server, right=6, of=8, bar=0.75) == (task_pb2.WORKER_STATUS_QUALIFIED, True)


async def test_worker_just_above_the_pass_mark_passes_the_quiz(server: Harness) -> None:
    assert await quiz_outcome(server, right=7, of=8, bar=0.75) == (task_pb2.WORKER_STATUS_QUALIFIED, True)


async def test_worker_just_below_the_pass_mark_fails_the_quiz(server: Harness) -> None:
    assert await quiz_outcome(server, right=5, of=8, bar=0.75) == (task_pb2.WORKER_STATUS_FAILED_QUIZ, False)


async def drift(server: Harness, script: list[bool]) -> int:
    """A worker that passes a 4-question quiz (bar 0.75), answers hidden gold as
    scripted, then declines any further gold and works until a checkpoint has
    judged its record (or no task is left); its status as the owner sees it."""
    lw = await server.client()
    job = await gold_job(lw, quiz=4, bar=0.75, hidden=0.5, work_items=60)
    _, token = await lw.create_worker(job, "drifter")
    async with server.worker(token) as w:
        await play_gold(w, [True] * 4 + script)
        for _ in range(200):
            t = await w.next_task()
            if not t.HasField("task"):
                break
            kind, answer = t.task.text.split(":", 1)
            if kind == "gold":
                await w.decline(t.task.name, "scripted: no more gold")
                continue
            result = await w.submit(t.task.name, classification(answer))
            if result.status == task_pb2.WORKER_STATUS_DISQUALIFIED:
                break
    [worker] = await lw.list_workers(job)
    await lw.close()
    return worker.status


async def test_worker_who_drifts_to_exactly_the_bar_keeps_working(server: Harness) -> None:
    assert await drift(server, [True, True, False, False]) == task_pb2.WORKER_STATUS_QUALIFIED  # 6 of 8


async def test_worker_who_drifts_just_under_the_bar_is_disqualified(server: Harness) -> None:
    status = await drift(server, [True, True, False, False, False])  # 6 of 9 < 0.75
    assert status == task_pb2.WORKER_STATUS_DISQUALIFIED
