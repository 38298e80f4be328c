"""Gold answers stay secret, and colluders who share what they learn are caught.

The collusion simulation: eight colluders keep one shared notebook of
everything the API returned to any of them (task payloads and phases, every
SubmitJudgment response, GetWorkerStats after every answer) on a two-class job
with 30 gold items and 400 work items, beside four honest workers. The
colluders answer the quiz honestly (they pass it) and spam the work, answering
from the notebook whatever it lets them infer.

How we score what the notebook reveals of a hidden-gold answer: after each
answer the colluder looks at what changed (the submit response's status and
message, every gold figure and the status in its stats). A rise of
gold_correct says its answer was right; a rise of gold_answered alone, a status
change or a message says it was wrong (in a two-class job, the other class is
the answer). With no change it can only guess, which counts as half right.
The share of the hidden-gold items they were shown whose answer they get right
this way must be no better than guessing: at most 0.5 plus two standard errors
of a fair coin over that many items.

The background checks are left to the test (`no_background_maintenance`), and
every worker draws from its own seeded generator, so each run is the same.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.server.core import service
from labelwire.server.dispatch.gate import work_skills
from labelwire.server.domain.model import GoldPolicy, JobSpec, LabelClass
from labelwire.server.store.rows import WorkAnswerRow
from labelwire.v1 import item_pb2, task_pb2
from tests.conftest import Harness

CLASSES = ["yes", "no"]
WORK_ITEMS, GOLD_ITEMS = 400, 30
Seen = tuple[int, str, tuple[bool, ...]]
NOTHING_MOVED: Seen = (task_pb2.WORKER_STATUS_QUALIFIED, "", (False,) * 5)


@pytest.fixture
def no_background_maintenance(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Leaves the colluder check to the test, so the run is the same every time."""
    monkeypatch.setattr(service, "MAINTENANCE_SECONDS", 3600.0)
    yield


def _stats_view(stats: task_pb2.WorkerStats) -> tuple[object, ...]:
    """Everything GetWorkerStats says but the judgment count and the time,
    which move with every answer alike."""
    return (stats.status, stats.gold_answered, stats.gold_correct, stats.gold_accuracy, stats.quiz_remaining)


def _other(answer: str) -> str:
    return CLASSES[1 - CLASSES.index(answer)]


def classification_answer(name: str) -> dict[str, dict[str, str]]:
    return {"classification": {"class_name": name}}


@dataclass
class Member:
    name: str
    worker: WorkerClient
    colluder: bool
    rng: random.Random
    last: tuple[object, ...] = ()
    done: bool = False
    work_is_gold: list[bool] = field(default_factory=list)


@dataclass
class Run:
    """Everything the simulation saw."""

    job: str
    truth: dict[str, str]
    gold: set[str]
    members: list[Member]
    notebook: list[tuple[str, str, str, str, Seen]] = field(default_factory=list)
    shown: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    honest_answers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


async def _simulate(server: Harness, lw: Client, *, colluders_know_gold: bool) -> Run:
    """Runs the job to its end, twelve workers taking turns; the colluder
    check runs every five turns, as the server's background would."""
    rng = random.Random(7)
    job = await lw.create_job(
        "Two classes",
        classes=CLASSES,
        judgments_per_item=3,
        quiz_size=5,
        pass_accuracy=0.8,
        hidden_gold_share=0.1,
        max_gold_exposures=3,
    )
    truth: dict[str, str] = {}
    gold: set[str] = set()
    items = []
    for n in range(WORK_ITEMS + GOLD_ITEMS):
        text = f"document {rng.getrandbits(48):012x}"
        truth[text] = rng.choice(CLASSES)
        is_gold = n % 43 == 0 or n >= WORK_ITEMS + 10
        if is_gold:
            gold.add(text)
        items.append(text_item(f"k{n}", text, gold=truth[text] if is_gold else None))
    await lw.add_items(job.name, items)
    await lw.start_job(job.name)
    members = []
    for n in range(12):
        name = f"{'colluder' if n < 8 else 'honest'}-{n}"
        _, token = await lw.create_worker(job.name, name)
        members.append(Member(name, server.worker(token), n < 8, random.Random(100 + n)))
    run = Run(job.name, truth, gold, members)
    quiz_notes: dict[str, str] = {}
    for m in members:
        m.last = _stats_view(await m.worker.stats())
    turns = 0
    while not all(m.done for m in members) and turns < 2000:
        turns += 1
        for m in members:
            if m.done:
                continue
            offered = await m.worker.next_task()
            if not offered.HasField("task"):
                m.done = True
                continue
            text = offered.task.text
            phase = "quiz" if offered.task.phase == task_pb2.TASK_PHASE_QUIZ else "work"
            run.shown[text].append((m.name, phase))
            if not m.colluder:
                answer = truth[text] if m.rng.random() < 0.96 else _other(truth[text])
            elif phase == "quiz" or (colluders_know_gold and text in gold):
                answer = truth[text]
            else:
                answer = quiz_notes.get(text) or m.rng.choice(CLASSES)
            response = await m.worker.submit(offered.task.name, classification(answer))
            after = _stats_view(await m.worker.stats())
            seen: Seen = (
                response.status,
                response.message,
                tuple(a != b for a, b in zip(m.last, after, strict=True)),
            )
            m.last = after
            if phase == "work":
                m.work_is_gold.append(text in gold)
            if m.colluder:
                run.notebook.append((m.name, text, phase, answer, seen))
                if phase == "quiz":
                    quiz_notes[text] = answer
            elif phase == "work":
                run.honest_answers[text].append(answer)
        if turns % 5 == 0:
            await server.running.core.check_workers()
    for m in members:
        await m.worker.close()
    return run


async def _assert_colluders_caught_and_labels_honest(lw: Client, run: Run) -> None:
    """Every colluder passed the quiz and was disqualified, no honest worker
    was, and every label is the honest workers' majority over their three
    judgments alone."""
    records = {r.display_name: r for r in await lw.list_workers(run.job)}
    for m in run.members:
        record = records[m.name]
        if m.colluder:
            assert record.status == task_pb2.WORKER_STATUS_DISQUALIFIED, record
            assert record.gold_correct >= 4, record
        else:
            assert record.status == task_pb2.WORKER_STATUS_QUALIFIED, record
    current = {lab.item_key: lab async for lab in lw.stream_labels(run.job, snapshot_only=True)}
    texts = {f"k{n}": text for n, text in enumerate(run.truth)}
    assert len(current) == WORK_ITEMS
    for key, label in current.items():
        votes = run.honest_answers[texts[key]]
        assert label.judgment_count == len(votes) == 3, (key, label.judgment_count, votes)
        assert label.value.classification.class_name == Counter(votes).most_common(1)[0][0]
    assert (await lw.get_job(run.job)).counters.excluded_judgments > 0


async def test_colluders_sharing_notes_infer_no_hidden_gold_and_are_disqualified(
    no_background_maintenance: None, server: Harness
) -> None:
    lw = await server.client()
    run = await _simulate(server, lw, colluders_know_gold=False)

    quiz_seen = {t for t, views in run.shown.items() if any(p == "quiz" for _, p in views)}
    hidden_seen = {
        t for t, views in run.shown.items() if t in run.gold and any(p == "work" for _, p in views)
    }
    # Separate pools: nothing seen in the quiz comes back as hidden gold.
    assert quiz_seen <= run.gold and hidden_seen and not quiz_seen & hidden_seen
    # Retirement: no hidden-gold item was shown to more than max_gold_exposures workers.
    assert max(len(run.shown[t]) for t in hidden_seen) <= 3
    # Hidden gold is at most the job's share of every block of ten tasks a worker is offered.
    for m in run.members:
        assert all(sum(m.work_is_gold[i : i + 10]) <= 1 for i in range(0, len(m.work_is_gold), 10)), m.name

    # Every work answer looked the same from outside, gold or not, but for the
    # one that ended a colluder's run by disqualifying it (a checkpoint).
    work_seen = [(member, seen) for member, _, phase, _, seen in run.notebook if phase == "work"]
    for n, (member, seen) in enumerate(work_seen):
        if seen != NOTHING_MOVED:
            assert seen[0] == task_pb2.WORKER_STATUS_DISQUALIFIED, seen
            assert all(other != member for other, _ in work_seen[n + 1 :])

    # What the notebook lets them infer about the hidden gold they were shown
    # is a coin flip: an item with no signal counts as half right (a guess).
    noted = {text for _, text, phase, _, _ in run.notebook if phase == "work" and text in run.gold}
    inferred_right = 0.0
    for text in noted:
        guesses = []
        for _, seen_text, phase, answer, (status, message, moved) in run.notebook:
            if seen_text != text or phase != "work":
                continue
            if moved[2]:
                guesses.append(answer)
            elif moved[1] or moved[0] or message or status != task_pb2.WORKER_STATUS_QUALIFIED:
                guesses.append(_other(answer))
        votes = Counter(guesses).most_common()
        if not votes or (len(votes) == 2 and votes[0][1] == votes[1][1]):
            inferred_right += 0.5
        else:
            inferred_right += votes[0][0] == run.truth[text]
    share = inferred_right / len(noted)
    assert share <= 0.5 + 2 * math.sqrt(0.25 / len(noted)), (share, len(noted))

    await _assert_colluders_caught_and_labels_honest(lw, run)
    await lw.close()


async def test_colluders_right_on_every_gold_item_are_caught_by_their_work(
    no_background_maintenance: None, server: Harness
) -> None:
    """The old leak's end state: the colluders know every gold answer, so gold
    alone never catches them; their work, at chance against the others', does."""
    lw = await server.client()
    run = await _simulate(server, lw, colluders_know_gold=True)
    records = {r.display_name: r for r in await lw.list_workers(run.job)}
    skills = {w.stats.display_name: w for w in (await lw.job_quality(run.job)).workers}
    for m in run.members:
        assert skills[m.name].HasField("work_skill")
        if m.colluder:
            assert records[m.name].gold_accuracy == 1.0
            assert skills[m.name].work_skill <= 0.05
        else:
            assert skills[m.name].work_skill > 0.05
    await _assert_colluders_caught_and_labels_honest(lw, run)
    await lw.close()


async def _job(lw: Client, *, work: int, quiz: list[int], hidden: list[int], **policy: float) -> str:
    """A two-class job whose item `w<n>` has truth CLASSES[n % 2] and whose gold
    `q<n>` (quiz) and `h<n>` (hidden) items are marked for their pools."""
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, **policy)  # type: ignore[arg-type]
    items = [text_item(f"w{n}", f"w{n}") for n in range(work)]
    items += [text_item(f"q{n}", f"q{n}", gold="yes", gold_use=item_pb2.GOLD_USE_QUIZ) for n in quiz]
    items += [text_item(f"h{n}", f"h{n}", gold="yes", gold_use=item_pb2.GOLD_USE_HIDDEN) for n in hidden]
    await lw.add_items(job.name, items)
    return job.name


async def _answer_all(worker: WorkerClient, limit: int = 100) -> tuple[list[tuple[str, int]], str]:
    """Answers `yes` until no task is left; the tasks seen and the last message."""
    seen = []
    while len(seen) < limit:
        response = await worker.next_task()
        if not response.HasField("task"):
            return seen, response.message
        seen.append((response.task.text, response.task.phase))
        await worker.submit(response.task.name, classification("yes"))
    return seen, ""


async def test_worker_with_no_work_left_gets_no_task_rather_than_gold(server: Harness) -> None:
    lw = await server.client()
    job = await _job(lw, work=3, quiz=[], hidden=list(range(20)), quiz_size=0, hidden_gold_share=0.5)
    await lw.start_job(job)
    _, token = await lw.create_worker(job, "w")
    async with server.worker(token) as w:
        seen, message = await _answer_all(w)
    texts = [text for text, _ in seen]
    assert sorted(t for t in texts if t.startswith("w")) == ["w0", "w1", "w2"]
    assert sum(t.startswith("h") for t in texts) <= 3
    assert message in ("no task is available right now", "the job is complete")
    await lw.close()


async def test_quiz_gold_and_hidden_gold_come_from_their_own_pools(server: Harness) -> None:
    lw = await server.client()
    job = await _job(lw, work=30, quiz=[0, 1, 2], hidden=[0, 1, 2, 3], quiz_size=3, hidden_gold_share=0.3)
    await lw.start_job(job)
    _, token = await lw.create_worker(job, "w")
    async with server.worker(token) as w:
        seen, _ = await _answer_all(w)
        stats = await w.stats()
    quiz = {text for text, phase in seen if phase == task_pb2.TASK_PHASE_QUIZ}
    hidden = {
        text for text, phase in seen if phase == task_pb2.TASK_PHASE_WORK and text.startswith(("q", "h"))
    }
    assert quiz == {"q0", "q1", "q2"}
    assert hidden and all(text.startswith("h") for text in hidden)
    assert (stats.gold_answered, stats.gold_correct) == (3, 3), "the worker sees its quiz record alone"
    (record,) = await lw.list_workers(job)
    assert record.gold_answered == 3 + len(hidden), "the owner sees hidden gold too"
    await lw.close()


async def test_gold_is_retired_after_max_gold_exposures(server: Harness) -> None:
    lw = await server.client()
    job = await _job(
        lw, work=40, quiz=[], hidden=[0], quiz_size=0, hidden_gold_share=0.5, max_gold_exposures=2
    )
    await lw.start_job(job)
    shown_to = 0
    for n in range(5):
        _, token = await lw.create_worker(job, f"w{n}")
        async with server.worker(token) as w:
            seen, _ = await _answer_all(w, limit=6)
        shown_to += any(text == "h0" for text, _ in seen)
    assert shown_to == 2
    await lw.close()


async def test_start_refuses_a_quiz_pool_smaller_than_quiz_size(server: Harness) -> None:
    lw = await server.client()
    job = await _job(lw, work=5, quiz=[0], hidden=[0, 1, 2, 3, 4], quiz_size=3)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await lw.start_job(job)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "quiz_size is 3" in (refused.value.details() or "") and "GOLD_USE_HIDDEN" in (
        refused.value.details() or ""
    )
    assert (await lw.get_job(job)).state == 1  # still a draft
    await lw.close()


async def test_gold_use_without_a_gold_answer_is_refused(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    item = text_item("x", "x")
    item.gold_use = item_pb2.GOLD_USE_QUIZ
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await lw.add_items(job.name, [item])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "gold_use" in (refused.value.details() or "")
    await lw.close()


async def test_gold_policy_fields_out_of_range_are_refused(server: Harness) -> None:
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await lw.create_job("J", classes=CLASSES, min_work_agreement=1.5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "job.gold_policy.min_work_agreement must be between -1 and 1" in (refused.value.details() or "")
    await lw.close()


async def test_a_failing_worker_learns_it_only_at_a_checkpoint(server: Harness) -> None:
    """Hidden gold answered wrong shows nowhere until the worker's tenth
    judgment (the block of a 0.1 share), whichever task that is."""
    lw = await server.client()
    job = await _job(lw, work=40, quiz=[0], hidden=list(range(10)), quiz_size=1, hidden_gold_share=0.1)
    await lw.start_job(job)
    _, token = await lw.create_worker(job, "w")
    statuses = []
    async with server.worker(token) as w:
        while (t := await w.next_task()).HasField("task"):
            answer = "yes" if t.task.phase == task_pb2.TASK_PHASE_QUIZ else "no"
            statuses.append((await w.submit(t.task.name, classification(answer))).status)
    assert statuses[:9] == [task_pb2.WORKER_STATUS_QUALIFIED] * 9
    assert statuses[9:] == [task_pb2.WORKER_STATUS_DISQUALIFIED]
    (record,) = await lw.list_workers(job)
    assert record.gold_answered >= 2 and record.gold_correct == 1
    await lw.close()


def test_work_skill_tells_guessers_from_workers_even_when_they_are_the_many() -> None:
    """Eight guessers and four workers right 96% of the time, three answers an
    item, plus a worker who swaps the classes on every fourth item: the
    guessers score at chance, the others above the default bar."""
    rng = random.Random(1)
    spec = JobSpec("J", "classification", (LabelClass("yes"), LabelClass("no")), {})
    rows = []
    for item in range(400):
        right = rng.choice(CLASSES)
        for worker in [*rng.sample(range(12), 3), *([12] if item % 4 == 0 else [])]:
            if worker < 8:
                answer = rng.choice(CLASSES)
            elif worker < 12:
                answer = right if rng.random() < 0.96 else _other(right)
            else:
                answer = _other(right)
            rows.append(WorkAnswerRow(item, worker, json.dumps(classification_answer(answer))))
    skills = work_skills(spec, rows)
    bar = GoldPolicy().min_work_agreement
    assert all(skills[w][0] <= bar and skills[w][1] >= 20 for w in range(8)), skills
    assert all(skills[w][0] > bar for w in range(8, 13)), [skills[w] for w in range(8, 13)]


async def test_gold_added_to_a_started_job_is_hidden_gold(server: Harness) -> None:
    lw = await server.client()
    job = await _job(lw, work=20, quiz=[0], hidden=[], quiz_size=1, hidden_gold_share=0.5)
    await lw.start_job(job)
    await lw.add_items(job, [text_item(f"late{n}", f"late{n}", gold="yes") for n in range(5)])
    quizzes, hidden = set(), set()
    for n in range(3):
        _, token = await lw.create_worker(job, f"w{n}")
        async with server.worker(token) as w:
            seen, _ = await _answer_all(w, limit=8)
        quizzes |= {text for text, phase in seen if phase == task_pb2.TASK_PHASE_QUIZ}
        hidden |= {
            text for text, phase in seen if phase == task_pb2.TASK_PHASE_WORK and text.startswith("late")
        }
    assert quizzes == {"q0"} and hidden
    await lw.close()
