"""What a judgment does: the worker's gold record and quiz feedback, the
item's counts, and the label it may complete (from this server's workers or
an external workforce's)."""

from __future__ import annotations

import json
from typing import Any

from labelwire.server.dispatch import batches
from labelwire.server.dispatch import gate as quality
from labelwire.server.dispatch.budget import end_if_budget_spent, free_item_reservation
from labelwire.server.dispatch.completion import complete_if_done, pause_if_pilot_done
from labelwire.server.dispatch.lease_ends import disqualify, live_task, own_task
from labelwire.server.domain.errors import FailedPrecondition, NotFound
from labelwire.server.domain.model import (
    Answer,
    ItemState,
    JobSpec,
    QuizFeedback,
    SubmitResult,
    TaskPhase,
    TaskState,
    WorkerStatus,
)
from labelwire.server.domain.tasks import task_kind
from labelwire.server.labels import items as labeling
from labelwire.server.store import Tx
from labelwire.server.store.rows import TaskRow


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
    task = own_task(tx, worker_id, job_id, task_id)
    if task.batch_of is not None:
        return _submit_batch(tx, spec, worker_id, job_id, task, answer, time_spent_ms, now)
    if task_kind(spec).reviews_prelabel:
        batches.verdicts(spec, answer, 1)
    name = f"jobs/{job_id}/tasks/{task_id}"
    if task.state == TaskState.SUBMITTED:
        earlier = tx.judgment(task_id)
        if earlier is not None and json.loads(earlier.answer) == answer:
            worker = tx.worker(worker_id)
            assert worker is not None
            return SubmitResult(name, worker.status, quiz=_quiz_feedback(tx, task))
        raise FailedPrecondition(f"task {name} was already answered with a different answer")
    task = live_task(tx, worker_id, job_id, task_id, now, task)
    spent = time_spent_ms if time_spent_ms is not None else int((now - task.leased_at) * 1000)
    tx.finish_task(task_id, TaskState.SUBMITTED, now)
    status, message = record_judgment(
        tx,
        spec,
        job_id,
        task_id,
        task.item_id,
        worker_id,
        answer,
        spent,
        now,
        freed_micros=task.reserved_micros,
    )
    end_if_budget_spent(tx, spec, job_id, now)
    return SubmitResult(name, status, message, quiz=_quiz_feedback(tx, task))


def _submit_batch(
    tx: Tx,
    spec: JobSpec,
    worker_id: int,
    job_id: int,
    task: TaskRow,
    answer: Answer,
    time_spent_ms: int | None,
    now: float,
) -> SubmitResult:
    """One verdict per item, each recorded as a judgment on its own item;
    the time spent is shared evenly. A verdict that disqualifies the worker
    releases the rest of the batch (their items go back to the queue)."""
    first = batches.first_of(tx, task)
    rows = batches.members(tx, first)
    name = f"jobs/{job_id}/tasks/{first.id}"
    answers = [batches.per_item(v) for v in batches.verdicts(spec, answer, len(rows))]
    if all(row.state == TaskState.SUBMITTED for row in rows):
        batches.check_resubmission(tx, rows, answers, name)
        return batches.submitted_result(tx, worker_id, name)
    rows = [live_task(tx, worker_id, job_id, row.id, now, row) for row in rows]
    spent = time_spent_ms if time_spent_ms is not None else int((now - first.leased_at) * 1000)
    share = spent // len(rows)
    status, message = WorkerStatus.QUALIFIED, ""
    for row, item_answer in zip(rows, answers, strict=True):
        current = tx.task(row.id)
        if current is None or not batches.leased(current):
            continue  # released by a disqualification earlier in this batch
        tx.finish_task(row.id, TaskState.SUBMITTED, now)
        status, said = record_judgment(
            tx,
            spec,
            job_id,
            row.id,
            row.item_id,
            worker_id,
            item_answer,
            share,
            now,
            freed_micros=row.reserved_micros,
        )
        message = said or message
    end_if_budget_spent(tx, spec, job_id, now)
    return SubmitResult(name, status, message)


def _quiz_feedback(tx: Tx, task: TaskRow) -> QuizFeedback | None:
    """Figure Eight's test-question feedback: after an entry-quiz answer the
    worker sees whether it was right and the known answer. Only for the quiz:
    a quiz item is never offered to the same worker again nor used as hidden
    gold, while a hidden-gold answer must look exactly like work."""
    if task.phase != TaskPhase.QUIZ:
        return None
    judgment = tx.judgment(task.id)
    item = tx.item(task.item_id)
    if judgment is None or item is None or not item.gold or judgment.gold_correct is None:
        return None
    return QuizFeedback(
        correct=bool(judgment.gold_correct),
        expected=json.loads(item.gold),
        explanation=item.gold_explanation or "",
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
    gold = json.loads(item.gold) if item.gold else None
    correct = quality.grade(spec, answer, gold) if gold is not None else None
    tx.insert_judgment(task_id, job_id, item_id, worker_id, answer, time_spent_ms, correct, now)
    if freed_micros:
        tx.count_job(
            job_id, judgments=1, cost_micros=spec.price_per_judgment_micros, reserved_micros=-freed_micros
        )
    else:
        tx.count_job(job_id, judgments=1, cost_micros=spec.price_per_judgment_micros)
    status = new_status = worker.status
    message = ""
    judgments = worker.judgments + 1
    answered, right = worker.gold_answered, worker.gold_correct
    changes: dict[str, Any] = {"judgments": judgments, "last_active_at": now}
    if correct is not None:
        answered, right = answered + 1, right + int(correct)
        changes.update(gold_answered=answered, gold_correct=right)
        if status == WorkerStatus.QUIZ:
            quiz_answered = worker.quiz_answered + 1
            quiz_correct = worker.quiz_correct + int(correct)
            new_status, quiz_left, message = quality.after_gold(
                spec.gold, status, worker.quiz_remaining, quiz_answered, quiz_correct
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
    finished = correct is None and item.done + 1 >= item.target and item.state == ItemState.OPEN
    last = False
    if finished:
        labeling.finish_item(tx, spec, job_id, item_id, now, item)
        if item.reserved_micros:  # only a push workforce's claim reserves on the item
            after = tx.item(item_id)
            if after is not None and after.state != ItemState.OPEN:
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
        worker_id = worker.id
        if tx.has_task(worker_id, item.id):
            return False
    task_id = tx.insert_task(job_id, item.id, worker_id, TaskPhase.WORK, TaskState.SUBMITTED, now, now)
    tx.finish_task(task_id, TaskState.SUBMITTED, now)
    fee = item.claim_fee_micros if item.claimed_by is not None else 0
    free_item_reservation(tx, job_id, item, spec.price_per_judgment_micros + fee)
    if fee:
        tx.count_job(job_id, cost_micros=fee)
    record_judgment(tx, spec, job_id, task_id, item.id, worker_id, answer, time_spent_ms, now)
    return True
