"""The dispatcher: which item a worker judges next, and what a judgment does.

Every function here runs inside one store transaction, so a lease, a
judgment, the worker's gold record, the item's counts and the label it may
complete are committed together or not at all.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

from labelwire.server.dispatch import batches
from labelwire.server.dispatch import gate as quality
from labelwire.server.domain.errors import FailedPrecondition, NotFound, PermissionDenied
from labelwire.server.domain.model import (
    MAJORITY_VOTE,
    Answer,
    EndReason,
    GoldUse,
    ItemState,
    JobSpec,
    JobState,
    NextTaskResult,
    QuizFeedback,
    SubmitResult,
    Task,
    TaskPhase,
    TaskState,
    WorkerStatus,
)
from labelwire.server.domain.tasks import task_kind, weighs_workers
from labelwire.server.labels import items as labeling
from labelwire.server.store import Tx

NO_WORK_RETRY_SECONDS = 5.0
_STATE_MESSAGES = {
    JobState.DRAFT: "the job has not started yet",
    JobState.PAUSED: "the job is paused",
    JobState.COMPLETED: "the job is complete",
    JobState.CANCELLED: "the job was cancelled",
    JobState.FAILED: "the job failed",
}


def task_view(tx: Tx, row: Any) -> Task:
    if row["batch_of"] is not None:
        return _batch_view(tx, row)
    item = tx.item(int(row["item_id"]))
    assert item is not None
    return _task(
        int(row["id"]),
        int(row["job_id"]),
        item,
        int(row["worker_id"]),
        TaskPhase(int(row["phase"])),
        TaskState(int(row["state"])),
        float(row["expires_at"]),
    )


def _task(
    task_id: int,
    job_id: int,
    item: Any,
    worker_id: int,
    phase: TaskPhase,
    state: TaskState,
    expires_at: float,
) -> Task:
    return Task(
        id=task_id,
        job_id=job_id,
        item_id=int(item["id"]),
        worker_id=worker_id,
        phase=phase,
        state=state,
        expires_at=expires_at,
        payload_kind=item["payload_kind"],
        payload=item["payload"],
        metadata=json.loads(item["metadata"]) if item["metadata"] else None,
        prelabel=json.loads(item["prelabel"]) if item["prelabel"] else None,
        prelabel_confidence=(
            None if item["prelabel_confidence"] is None else float(item["prelabel_confidence"])
        ),
    )


def _batch_view(tx: Tx, row: Any) -> Task:
    """A bulk-verification task as the worker sees it: its first row, with
    every item of the batch in order."""
    first = batches.first_of(tx, row)
    rows = batches.members(tx, first)
    items = [tx.item(int(member["item_id"])) for member in rows]
    head = items[0]
    assert head is not None
    return replace(
        _task(
            int(first["id"]),
            int(first["job_id"]),
            head,
            int(first["worker_id"]),
            TaskPhase(int(first["phase"])),
            TaskState(int(first["state"])),
            float(first["expires_at"]),
        ),
        batch=tuple(batches.batch_item(item) for item in items),
    )


def expire_leases(tx: Tx, job_id: int, now: float) -> int:
    """Returns expired leases' items to the queue and frees their reservations."""
    stale = tx.expired_leases(job_id, now)
    for task in stale:
        end_lease(tx, task, TaskState.EXPIRED, now)
    return len(stale)


def end_lease(tx: Tx, task: Any, state: TaskState, now: float, reason: str | None = None) -> None:
    """A lease ends unanswered: its item goes back to the queue and its price
    back to the budget."""
    tx.finish_task(int(task["id"]), state, now, reason)
    tx.count_item(int(task["item_id"]), leased=-1)
    free_reservation(tx, task)


def free_reservation(tx: Tx, task: Any) -> None:
    reserved = int(task["reserved_micros"])
    if reserved:
        tx.count_job(int(task["job_id"]), reserved_micros=-reserved)


def affordable(job: Any, spec: JobSpec) -> bool:
    """Whether the budget pays one more judgment at the job's price, beyond
    what is spent and what leases and claims in flight reserve."""
    if not spec.budget_micros:
        return True
    left = spec.budget_micros - int(job["cost_micros"]) - int(job["reserved_micros"])
    return left > 0 and left >= spec.price_per_judgment_micros


def budget_spent(job: Any, spec: JobSpec) -> bool:
    """Whether the budget pays for no further judgment and none is in flight."""
    return bool(spec.budget_micros) and int(job["reserved_micros"]) == 0 and not affordable(job, spec)


def end_if_budget_spent(
    tx: Tx, spec: JobSpec, job_id: int, now: float, *, unaffordable: bool = False, after_pass: bool = False
) -> bool:
    """Completes a running job whose budget pays for no further judgment
    (`unaffordable`: the caller found it pays for no further claim) once no
    lease is in flight (a lease's price is reserved, so its answer is still
    taken): its open items stay unlabeled, counted in its counters. A job
    whose labels weigh workers ends only after its final pass
    (`after_pass`), as `complete_if_done` does."""
    if not spec.budget_micros or (labeling.uses_skill(spec) and not after_pass):
        return False
    job = tx.job(job_id)
    if job is None or int(job["state"]) != JobState.RUNNING or int(job["reserved_micros"]) > 0:
        return False
    if (affordable(job, spec) and not unaffordable) or not tx.has_open_items(job_id):
        return False
    tx.set_job_state(job_id, JobState.COMPLETED, now)
    tx.set_end_reason(job_id, EndReason.BUDGET_EXHAUSTED)
    return True


PILOT_COMPLETE = "pilot complete"


def pause_if_pilot_done(tx: Tx, job_id: int, now: float) -> bool:
    """Pauses a running job whose pilot items all have their label (or
    failed), so its owner reviews them before ResumeJob runs the rest; the
    pilot's bound is dropped, so the rest is dispatched once resumed."""
    job = tx.job(job_id)
    if job is None or job["pilot_until"] is None or int(job["state"]) != JobState.RUNNING:
        return False
    if tx.has_open_pilot_items(job_id, int(job["pilot_until"])):
        return False
    tx.set_pilot(job_id, None)
    tx.set_job_state(job_id, JobState.PAUSED, now, PILOT_COMPLETE)
    return True


def release_for_cancel(tx: Tx, job_id: int, now: float) -> None:
    """At cancel, leases in flight are released (their answers are refused)
    and every reservation of the job is freed."""
    for task in tx.live_tasks_of_job(job_id):
        end_lease(tx, task, TaskState.RELEASED, now)
    tx.clear_reservations(job_id)


def next_task(
    tx: Tx, spec: JobSpec, worker_id: int, now: float, rng: random.Random, *, lookahead: bool = False
) -> NextTaskResult:
    """The worker's task (the lease it holds, else a new one), or why there
    is none; with `lookahead`, past the quiz, also the lease after it."""
    result = _next_task(tx, spec, worker_id, now, rng)
    current = result.task
    if batches.batch_size(spec) > 1:  # a batch is already many items ahead
        return result
    if not lookahead or current is None or current.phase != TaskPhase.WORK:
        return result
    if result.status != WorkerStatus.QUALIFIED:
        return result
    return replace(result, upcoming=_upcoming(tx, spec, current, now, rng))


def _upcoming(tx: Tx, spec: JobSpec, current: Task, now: float, rng: random.Random) -> Task | None:
    """The worker's second lease: the one it holds after `current`, else a
    new one when there is work it may take and the budget allows. Never an
    occasion to end the job or judge the worker (the first lease's call did
    that): nothing to lease is simply no lookahead."""
    later = [
        row
        for row in tx.live_tasks_of(current.worker_id)
        if int(row["id"]) != current.id and float(row["expires_at"]) >= now
    ]
    if later:
        return task_view(tx, min(later, key=lambda row: int(row["id"])))
    job = tx.job(current.job_id)
    worker = tx.worker(current.worker_id)
    if job is None or worker is None or not affordable(job, spec):
        return None
    item_id, phase, changes, row = _pick(
        tx,
        spec,
        current.job_id,
        worker,
        WorkerStatus.QUALIFIED,
        rng,
        pilot=job["pilot_until"] is not None,
        now=now,
    )
    if item_id is None:
        return None
    return _lease(tx, spec, current.job_id, item_id, current.worker_id, phase, changes, now, row)


def _lease(
    tx: Tx,
    spec: JobSpec,
    job_id: int,
    item_id: int,
    worker_id: int,
    phase: TaskPhase,
    changes: dict[str, int],
    now: float,
    row: Any = None,
) -> Task:
    """Writes the lease of `item_id` to the worker, reserving its price;
    `row` is the item's row when the caller has just read it."""
    expires = now + spec.task_time_limit_seconds
    price = spec.price_per_judgment_micros
    task_id = tx.insert_task(
        job_id, item_id, worker_id, phase, TaskState.LEASED, now, expires, reserved_micros=price
    )
    if price:
        tx.count_job(job_id, reserved_micros=price)
    item = row if row is not None else tx.item(item_id)
    assert item is not None
    if int(item["is_gold"]):
        tx.count_item(item_id, leased=1, exposures=1)
    else:
        tx.count_item(item_id, leased=1)
    if changes:
        tx.update_worker(worker_id, **changes)
    return _task(task_id, job_id, item, worker_id, phase, TaskState.LEASED, expires)


def _next_task(tx: Tx, spec: JobSpec, worker_id: int, now: float, rng: random.Random) -> NextTaskResult:
    worker = tx.worker(worker_id)
    job = tx.job(int(worker["job_id"])) if worker else None
    if worker is None or job is None:
        raise NotFound(f"worker {worker_id} does not exist")
    status = WorkerStatus(int(worker["status"]))
    state = JobState(int(job["state"]))
    if status in (WorkerStatus.FAILED_QUIZ, WorkerStatus.DISQUALIFIED):
        word = "failed the quiz" if status == WorkerStatus.FAILED_QUIZ else "were disqualified"
        return NextTaskResult(status, message=f"you {word} on this job and get no more tasks")
    if state != JobState.RUNNING:
        retry = NO_WORK_RETRY_SECONDS if state in (JobState.DRAFT, JobState.PAUSED) else 0.0
        return NextTaskResult(status, retry_after=retry, message=_STATE_MESSAGES[state])
    job_id = int(job["id"])
    held = tx.live_task_of(worker_id)
    if held is not None and float(held["expires_at"]) < now:
        expire_leases(tx, job_id, now)
        held = tx.live_task_of(worker_id)  # a lookahead lease still running, or none
    if held is not None:
        return NextTaskResult(status, task=task_view(tx, held))
    if not affordable(job, spec) and expire_leases(tx, job_id, now):
        job = tx.job(job_id)
    if not affordable(job, spec):
        if end_if_budget_spent(tx, spec, job_id, now):
            return NextTaskResult(status, message="the job's budget is spent; the job is complete")
        return NextTaskResult(
            status,
            retry_after=NO_WORK_RETRY_SECONDS,
            message="the job's budget is spent or reserved by tasks in flight",
        )
    pilot = job is not None and job["pilot_until"] is not None
    item_id, phase, changes, row = _pick(tx, spec, job_id, worker, status, rng, pilot=pilot, now=now)
    if item_id is None and expire_leases(tx, job_id, now):
        item_id, phase, changes, row = _pick(tx, spec, job_id, worker, status, rng, pilot=pilot, now=now)
    if item_id is None:
        if status == WorkerStatus.QUALIFIED:
            judged, message = quality.after_checkpoint(
                spec.gold, status, int(worker["gold_answered"]), int(worker["gold_correct"])
            )
            if judged == WorkerStatus.DISQUALIFIED:
                tx.update_worker(worker_id, status=int(judged))
                disqualify(tx, spec, job_id, worker_id, now)
                return NextTaskResult(judged, message=message)
        return NextTaskResult(
            status, retry_after=NO_WORK_RETRY_SECONDS, message="no task is available right now"
        )
    if batches.batch_size(spec) > 1 and phase == TaskPhase.WORK:
        return NextTaskResult(
            status, task=_lease_batch(tx, spec, job, item_id, worker_id, changes, now, row, rng)
        )
    return NextTaskResult(status, task=_lease(tx, spec, job_id, item_id, worker_id, phase, changes, now, row))


def _lease_batch(
    tx: Tx,
    spec: JobSpec,
    job: Any,
    item_id: int,
    worker_id: int,
    changes: dict[str, int],
    now: float,
    row: Any,
    rng: random.Random,
) -> Task:
    """Leases the picked item and up to `batch_size - 1` more of its class
    as one task (a single task when none share its class)."""
    job_id = int(job["id"])
    first = row if row is not None else tx.item(item_id)
    assert first is not None
    room = batches.room_in_budget(job, spec, batches.batch_size(spec) - 1)
    mates = batches.batch_mates(
        tx, spec, job_id, worker_id, first, room, pilot=job["pilot_until"] is not None
    )
    if not mates:
        return _lease(tx, spec, job_id, item_id, worker_id, TaskPhase.WORK, changes, now, first)
    items = batches.order([first, *mates], rng)
    tasks = [
        _lease(
            tx, spec, job_id, int(item["id"]), worker_id, TaskPhase.WORK, changes if i == 0 else {}, now, item
        )
        for i, item in enumerate(items)
    ]
    tx.set_batch([task.id for task in tasks], tasks[0].id)
    return replace(tasks[0], batch=tuple(batches.batch_item(item) for item in items))


def _pick(
    tx: Tx,
    spec: JobSpec,
    job_id: int,
    worker: Any,
    status: WorkerStatus,
    rng: random.Random,
    *,
    pilot: bool,
    now: float,
) -> tuple[int | None, TaskPhase, dict[str, int], Any]:
    """The item a worker should judge next, its phase, what to record of
    the worker's block of tasks if it is leased, and the item's row when the
    pick read it whole: a quiz question during the
    quiz; at work, the oldest open item it has never seen, or hidden gold in
    its place when the block's plan has a slot due. Never hidden gold when
    there is no work for this worker: then nothing."""
    worker_id = int(worker["id"])
    policy = spec.gold
    if status == WorkerStatus.QUIZ:
        quiz = tx.unseen_gold(job_id, worker_id, (GoldUse.ANY, GoldUse.QUIZ), 0)
        return (rng.choice(quiz) if quiz else None), TaskPhase.QUIZ, {}, None
    row = _routed(tx, spec, job_id, worker, tx.next_work_row(job_id, worker_id, pilot=pilot), now, pilot)
    work = None if row is None else int(row["id"])
    if work is None or policy.hidden_gold_share <= 0:
        return work, TaskPhase.WORK, {}, row
    offered, plan, served = int(worker["offered"]), int(worker["gold_plan"]), int(worker["plan_hidden"])
    if offered % quality.gold_block(policy)[0] == 0:
        plan, served = quality.draw_plan(policy, rng), 0
    changes = {"offered": offered + 1, "gold_plan": plan, "plan_hidden": served}
    if quality.hidden_due(policy, offered, plan, served):
        hidden = tx.unseen_gold(job_id, worker_id, (GoldUse.ANY, GoldUse.HIDDEN), policy.max_gold_exposures)
        if hidden:
            changes["plan_hidden"] = served + 1
            return rng.choice(hidden), TaskPhase.WORK, changes, None
    return work, TaskPhase.WORK, changes, row


ROUTING_SCAN = 20
"""Open items past the dispatcher's pick read to find a weaker worker an item under its floor."""


def _routed(tx: Tx, spec: JobSpec, job_id: int, worker: Any, row: Any, now: float, pilot: bool) -> Any:
    """`consolidation.dynamic.route` on the dispatcher's pick. An extra judgment (an item past
    `judgments_per_item`, kept open by dynamic judgments) settles the item best from a likely
    right worker, so it goes only to workers at or above the skill cut of those present
    (`gate.skill_cut`); a weaker worker gets an item still under its floor instead, or nothing
    while a qualified worker who has not judged the item is present to take it. When none is
    (they left, or all judged it), the item goes to whoever asks: it is never stranded."""
    if row is None or spec.target_confidence <= 0 or int(row["done"]) < spec.judgments_per_item:
        return row
    worker_id = int(worker["id"])
    present = quality.present_skills(tx.workers_of(job_id, 0, quality.ROUTING_WORKER_SCAN), now)
    present[worker_id] = quality.worker_skill(worker)
    cut = quality.skill_cut(list(present.values()))
    if present[worker_id] >= cut:
        return row
    for later in tx.next_work_rows(job_id, worker_id, int(row["id"]), ROUTING_SCAN, pilot=pilot):
        if int(later["done"]) < spec.judgments_per_item:
            return later
    item_id = int(row["id"])
    waits = any(
        skill >= cut and other != worker_id and not tx.has_task(other, item_id)
        for other, skill in present.items()
    )
    return None if waits else row


def _own_task(tx: Tx, worker_id: int, job_id: int, task_id: int) -> Any:
    task = tx.task(task_id)
    if task is None or int(task["job_id"]) != job_id:
        raise NotFound(f"task jobs/{job_id}/tasks/{task_id} does not exist")
    if int(task["worker_id"]) != worker_id:
        raise PermissionDenied(f"task jobs/{job_id}/tasks/{task_id} is not leased to you")
    return task


def _live_task(tx: Tx, worker_id: int, job_id: int, task_id: int, now: float, task: Any = None) -> Any:
    task = task if task is not None else _own_task(tx, worker_id, job_id, task_id)
    state = TaskState(int(task["state"]))
    if state == TaskState.LEASED and float(task["expires_at"]) < now:
        end_lease(tx, task, TaskState.EXPIRED, now)
        state = TaskState.EXPIRED
    if state == TaskState.RELEASED:
        job = tx.job(job_id)
        if job is not None and int(job["state"]) == JobState.CANCELLED:
            raise FailedPrecondition(
                f"jobs/{job_id} was cancelled: its tasks were released and take no more answers"
            )
    if state != TaskState.LEASED:
        raise FailedPrecondition(
            f"task jobs/{job_id}/tasks/{task_id} is {state.name.lower()}, not leased; ask NextTask for another"
        )
    return task


def submit(
    tx: Tx,
    spec: JobSpec,
    worker_id: int,
    job_id: int,
    task_id: int,
    answer: Answer,
    time_spent_ms: int | None,
    now: float,
) -> SubmitResult:
    task = _own_task(tx, worker_id, job_id, task_id)
    if task["batch_of"] is not None:
        return _submit_batch(tx, spec, worker_id, job_id, task, answer, time_spent_ms, now)
    if task_kind(spec).reviews_prelabel:
        batches.verdicts(spec, answer, 1)
    name = f"jobs/{job_id}/tasks/{task_id}"
    if int(task["state"]) == TaskState.SUBMITTED:
        earlier = tx.judgment(task_id)
        if earlier is not None and json.loads(earlier["answer"]) == answer:
            worker = tx.worker(worker_id)
            assert worker is not None
            return SubmitResult(name, WorkerStatus(int(worker["status"])), quiz=_quiz_feedback(tx, task))
        raise FailedPrecondition(f"task {name} was already answered with a different answer")
    task = _live_task(tx, worker_id, job_id, task_id, now, task)
    spent = time_spent_ms if time_spent_ms is not None else int((now - float(task["leased_at"])) * 1000)
    tx.finish_task(task_id, TaskState.SUBMITTED, now)
    status, message = record_judgment(
        tx,
        spec,
        job_id,
        task_id,
        int(task["item_id"]),
        worker_id,
        answer,
        spent,
        now,
        freed_micros=int(task["reserved_micros"]),
    )
    end_if_budget_spent(tx, spec, job_id, now)
    return SubmitResult(name, status, message, quiz=_quiz_feedback(tx, task))


def _submit_batch(
    tx: Tx,
    spec: JobSpec,
    worker_id: int,
    job_id: int,
    task: Any,
    answer: Answer,
    time_spent_ms: int | None,
    now: float,
) -> SubmitResult:
    """One verdict per item, each recorded as a judgment on its own item;
    the time spent is shared evenly. A verdict that disqualifies the worker
    releases the rest of the batch (their items go back to the queue)."""
    first = batches.first_of(tx, task)
    rows = batches.members(tx, first)
    name = f"jobs/{job_id}/tasks/{int(first['id'])}"
    answers = [batches.per_item(v) for v in batches.verdicts(spec, answer, len(rows))]
    if all(int(row["state"]) == TaskState.SUBMITTED for row in rows):
        batches.check_resubmission(tx, rows, answers, name)
        return batches.submitted_result(tx, worker_id, name)
    rows = [_live_task(tx, worker_id, job_id, int(row["id"]), now, row) for row in rows]
    spent = time_spent_ms if time_spent_ms is not None else int((now - float(first["leased_at"])) * 1000)
    share = spent // len(rows)
    status, message = WorkerStatus.QUALIFIED, ""
    for row, item_answer in zip(rows, answers, strict=True):
        current = tx.task(int(row["id"]))
        if current is None or not batches.leased(current):
            continue  # released by a disqualification earlier in this batch
        tx.finish_task(int(row["id"]), TaskState.SUBMITTED, now)
        status, said = record_judgment(
            tx,
            spec,
            job_id,
            int(row["id"]),
            int(row["item_id"]),
            worker_id,
            item_answer,
            share,
            now,
            freed_micros=int(row["reserved_micros"]),
        )
        message = said or message
    end_if_budget_spent(tx, spec, job_id, now)
    return SubmitResult(name, status, message)


def _quiz_feedback(tx: Tx, task: Any) -> QuizFeedback | None:
    """Figure Eight's test-question feedback: after an entry-quiz answer the
    worker sees whether it was right and the known answer. Only for the quiz:
    a quiz item is never offered to the same worker again nor used as hidden
    gold, while a hidden-gold answer must look exactly like work."""
    if int(task["phase"]) != TaskPhase.QUIZ:
        return None
    judgment = tx.judgment(int(task["id"]))
    item = tx.item(int(task["item_id"]))
    if judgment is None or item is None or not item["gold"] or judgment["gold_correct"] is None:
        return None
    return QuizFeedback(
        correct=bool(judgment["gold_correct"]),
        expected=json.loads(item["gold"]),
        explanation=item["gold_explanation"] or "",
    )


def record_judgment(
    tx: Tx,
    spec: JobSpec,
    job_id: int,
    task_id: int,
    item_id: int,
    worker_id: int,
    answer: Answer,
    time_spent_ms: int,
    now: float,
    *,
    freed_micros: int = 0,
) -> tuple[WorkerStatus, str]:
    """What any judgment does, pulled or pushed: it is stored, grades the
    worker when the item is gold, and may complete (and label) the item.
    Returns the worker's status afterwards and a sentence when it changed.

    A hidden-gold answer changes only the worker's gold record, which the
    worker never sees; its standing is judged at checkpoints (every block of
    judgments, gold or not), so no answer on its own moves what it sees.
    `freed_micros` is what the answered lease reserved, released in the same
    update of the job's counters that charges the judgment."""
    item = tx.item(item_id)
    worker = tx.worker(worker_id)
    assert item is not None and worker is not None
    gold = json.loads(item["gold"]) if item["gold"] else None
    correct = quality.grade(spec, answer, gold) if gold is not None else None
    tx.insert_judgment(task_id, job_id, item_id, worker_id, answer, time_spent_ms, correct, now)
    if freed_micros:
        tx.count_job(
            job_id, judgments=1, cost_micros=spec.price_per_judgment_micros, reserved_micros=-freed_micros
        )
    else:
        tx.count_job(job_id, judgments=1, cost_micros=spec.price_per_judgment_micros)
    status = new_status = WorkerStatus(int(worker["status"]))
    message = ""
    judgments = int(worker["judgments"]) + 1
    answered, right = int(worker["gold_answered"]), int(worker["gold_correct"])
    changes: dict[str, Any] = {"judgments": judgments, "last_active_at": now}
    if correct is not None:
        answered, right = answered + 1, right + int(correct)
        changes.update(gold_answered=answered, gold_correct=right)
        if status == WorkerStatus.QUIZ:
            quiz_answered = int(worker["quiz_answered"]) + 1
            quiz_correct = int(worker["quiz_correct"]) + int(correct)
            new_status, quiz_left, message = quality.after_gold(
                spec.gold, status, int(worker["quiz_remaining"]), quiz_answered, quiz_correct
            )
            changes.update(
                quiz_answered=quiz_answered,
                quiz_correct=quiz_correct,
                quiz_remaining=quiz_left,
                status=int(new_status),
            )
        tx.count_item(item_id, leased=-1)
    else:
        tx.count_item(item_id, leased=-1, done=1)
    finished = (
        correct is None
        and int(item["done"]) + 1 >= int(item["target"])
        and int(item["state"]) == ItemState.OPEN
    )
    last = False
    if finished:
        labeling.finish_item(tx, spec, job_id, item_id, now, item)
        if int(item["reserved_micros"]):  # only a push workforce's claim reserves on the item
            after = tx.item(item_id)
            if after is not None and int(after["state"]) != ItemState.OPEN:
                free_item_reservation(tx, job_id, after)
        last = not tx.has_open_items(job_id)
        if not last:
            pause_if_pilot_done(tx, job_id, now)
    if status == WorkerStatus.QUALIFIED and (quality.at_checkpoint(spec.gold, judgments) or last):
        new_status, message = quality.after_checkpoint(spec.gold, status, answered, right)
        changes["status"] = int(new_status)
    tx.update_worker(worker_id, **changes)
    if new_status == WorkerStatus.DISQUALIFIED and status != WorkerStatus.DISQUALIFIED:
        disqualify(tx, spec, job_id, worker_id, now)
    elif last:
        complete_if_done(tx, job_id, now, method=spec.consolidation_method, open_checked=True)
    return new_status, message


def free_item_reservation(tx: Tx, job_id: int, item: Any, micros: int | None = None) -> None:
    """Frees what a push workforce's claim of the item still reserves (all of
    it, or `micros` of it when one judgment of the claim is paid)."""
    reserved = int(item["reserved_micros"])
    freed = reserved if micros is None else min(micros, reserved)
    if freed:
        tx.update_item(int(item["id"]), reserved_micros=reserved - freed)
        tx.count_job(job_id, reserved_micros=-freed)


def record_external(
    tx: Tx,
    spec: JobSpec,
    job_id: int,
    adapter: str,
    item_key: str,
    external_worker: str,
    answer: Answer,
    time_spent_ms: int,
    now: float,
) -> bool:
    """Records an outside worker's judgment; False when that worker already
    judged the item (a workforce may report the same answer twice)."""
    item = tx.item_by_key(job_id, item_key)
    if item is None:
        raise NotFound(f"item {item_key!r} is not in jobs/{job_id}")
    external_id = f"{adapter}:{external_worker}"
    worker = tx.worker_by_external(job_id, external_id)
    if worker is None:
        worker_id = tx.insert_worker(
            job_id, external_worker, None, WorkerStatus.QUALIFIED, 0, now, external_id
        )
    else:
        worker_id = int(worker["id"])
        if tx.has_task(worker_id, int(item["id"])):
            return False
    task_id = tx.insert_task(
        job_id, int(item["id"]), worker_id, TaskPhase.WORK, TaskState.SUBMITTED, now, now
    )
    tx.finish_task(task_id, TaskState.SUBMITTED, now)
    fee = int(item["claim_fee_micros"]) if item["claimed_by"] is not None else 0
    free_item_reservation(tx, job_id, item, spec.price_per_judgment_micros + fee)
    if fee:
        tx.count_job(job_id, cost_micros=fee)
    record_judgment(tx, spec, job_id, task_id, int(item["id"]), worker_id, answer, time_spent_ms, now)
    return True


def disqualify(tx: Tx, spec: JobSpec, job_id: int, worker_id: int, now: float) -> None:
    """Drops a worker's judgments from consolidation: every item they fed loses
    that judgment, gets its label recomputed (a new revision when it changes)
    and goes back to the queue for a replacement judgment."""
    for task in tx.live_tasks_of(worker_id):
        end_lease(tx, task, TaskState.RELEASED, now)
    items = tx.exclude_judgments_of(worker_id)
    tx.count_job(job_id, excluded_judgments=len(items))
    for item_id in items:
        tx.count_item(item_id, done=-1)
        item = tx.item(item_id)
        assert item is not None
        free_item_reservation(tx, job_id, item)
        if int(item["state"]) == ItemState.FAILED:
            continue
        if item["label_sequence"] is not None:
            label = labeling.item_label(tx, spec, item_id)
            if label is not None:
                labeling.emit_label(tx, job_id, item, label, now, spec=spec)
        tx.update_item(item_id, state=int(ItemState.OPEN), claimed_by=None)
    job = tx.job(job_id)
    if job is not None and int(job["state"]) == JobState.COMPLETED and items:
        tx.set_job_state(job_id, JobState.RUNNING, now)


def complete_if_done(
    tx: Tx,
    job_id: int,
    now: float,
    *,
    after_pass: bool = False,
    method: str | None = None,
    open_checked: bool = False,
) -> bool:
    """Completes a running job with no open item. A job whose labels weigh
    workers completes only after its final job-level pass (`after_pass`), so
    that the revisions of that pass reach streams before they end. A caller
    that knows the job's consolidation `method`, or has just found no open
    item in this transaction (`open_checked`), saves the reads."""
    if not after_pass and method is not None and weighs_workers(method):
        return False
    job = tx.job(job_id)
    if job is None or int(job["state"]) != JobState.RUNNING:
        return False
    if (
        not after_pass
        and method is None
        and weighs_workers(json.loads(job["spec"]).get("consolidation_method", MAJORITY_VOTE))
    ):
        return False
    if not open_checked and tx.has_open_items(job_id):
        return False
    if json.loads(job["spec"]).get("routing_rules") and tx.has_routed_open(job_id):
        return False
    if int(job["total_items"]) == 0:
        return False
    tx.set_job_state(job_id, JobState.COMPLETED, now)
    tx.set_end_reason(job_id, EndReason.ALL_LABELED)
    return True


def release(
    tx: Tx, worker_id: int, job_id: int, task_id: int, now: float, *, decline: bool, reason: str = ""
) -> None:
    task = _live_task(tx, worker_id, job_id, task_id, now)
    for row in batches.members(tx, task):
        if batches.leased(row):
            end_lease(tx, row, TaskState.DECLINED if decline else TaskState.RELEASED, now, reason or None)


def extend(tx: Tx, worker_id: int, job_id: int, task_id: int, seconds: float, now: float) -> float:
    task = _live_task(tx, worker_id, job_id, task_id, now)
    expires = now + seconds
    for row in batches.members(tx, task):
        tx.set_task_expiry(int(row["id"]), expires)
    return expires
