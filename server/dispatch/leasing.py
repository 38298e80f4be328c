"""Which item a worker judges next: held leases, quiz and hidden gold, routing
by confidence and skill, batches, and the budget each lease reserves."""

from __future__ import annotations

import random
from dataclasses import replace

from labelwire.server.dispatch import batches, contested
from labelwire.server.dispatch import gate as quality
from labelwire.server.dispatch.budget import affordable, end_if_budget_spent
from labelwire.server.dispatch.lease_ends import disqualify, expire_leases
from labelwire.server.dispatch.task_views import task_of, task_view
from labelwire.server.domain.errors import NotFound
from labelwire.server.domain.model import (
    GoldUse,
    JobSpec,
    JobState,
    NextTaskResult,
    Task,
    TaskPhase,
    TaskState,
    WorkerStatus,
)
from labelwire.server.store import Tx
from labelwire.server.store.rows import ItemRow, JobRow, WorkerRow

NO_WORK_RETRY_SECONDS = 5.0


_STATE_MESSAGES = {
    JobState.DRAFT: "the job has not started yet",
    JobState.PAUSED: "the job is paused",
    JobState.COMPLETED: "the job is complete",
    JobState.CANCELLED: "the job was cancelled",
    JobState.FAILED: "the job failed",
}


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
        row for row in tx.live_tasks_of(current.worker_id) if row.id != current.id and row.expires_at >= now
    ]
    if later:
        return task_view(tx, min(later, key=lambda row: row.id))
    job = tx.job(current.job_id)
    worker = tx.worker(current.worker_id)
    if job is None or worker is None or not affordable(job, spec):
        return None
    pilot = job.pilot_until is not None
    if _plain_work(spec, WorkerStatus.QUALIFIED):
        return _lease_plain(tx, spec, current.job_id, current.worker_id, now, pilot)
    item_id, phase, changes, row = _pick(
        tx,
        spec,
        current.job_id,
        worker,
        WorkerStatus.QUALIFIED,
        rng,
        pilot=pilot,
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
    row: ItemRow | None = None,
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
    if item.is_gold:
        tx.count_item(item_id, leased=1, exposures=1)
    else:
        tx.count_item(item_id, leased=1)
    if changes:
        tx.update_worker(worker_id, **changes)
    return task_of(task_id, job_id, item, worker_id, phase, TaskState.LEASED, expires)


def _next_task(tx: Tx, spec: JobSpec, worker_id: int, now: float, rng: random.Random) -> NextTaskResult:
    worker = tx.worker(worker_id)
    job = tx.job(worker.job_id) if worker else None
    if worker is None or job is None:
        raise NotFound(f"worker {worker_id} does not exist")
    status = worker.status
    state = job.state
    if status in (WorkerStatus.FAILED_QUIZ, WorkerStatus.DISQUALIFIED):
        word = "failed the quiz" if status == WorkerStatus.FAILED_QUIZ else "were disqualified"
        return NextTaskResult(status, message=f"you {word} on this job and get no more tasks")
    if state != JobState.RUNNING:
        retry = NO_WORK_RETRY_SECONDS if state in (JobState.DRAFT, JobState.PAUSED) else 0.0
        return NextTaskResult(status, retry_after=retry, message=_STATE_MESSAGES[state])
    job_id = job.id
    held = tx.live_task_of(worker_id)
    if held is not None and held.expires_at < now:
        expire_leases(tx, job_id, now)
        held = tx.live_task_of(worker_id)  # a lookahead lease still running, or none
    if held is not None:
        return NextTaskResult(status, task=task_view(tx, held))
    if not affordable(job, spec) and expire_leases(tx, job_id, now):
        job = tx.job(job_id) or job
    if not affordable(job, spec):
        if end_if_budget_spent(tx, spec, job_id, now):
            return NextTaskResult(status, message="the job's budget is spent; the job is complete")
        return NextTaskResult(
            status,
            retry_after=NO_WORK_RETRY_SECONDS,
            message="the job's budget is spent or reserved by tasks in flight",
        )
    pilot = job is not None and job.pilot_until is not None
    if _plain_work(spec, status):
        task = _lease_plain(tx, spec, job_id, worker_id, now, pilot)
        if task is not None:
            return NextTaskResult(status, task=task)
    item_id, phase, changes, row = _pick(tx, spec, job_id, worker, status, rng, pilot=pilot, now=now)
    if item_id is None and expire_leases(tx, job_id, now):
        item_id, phase, changes, row = _pick(tx, spec, job_id, worker, status, rng, pilot=pilot, now=now)
    if item_id is None:
        if status == WorkerStatus.QUALIFIED:
            judged, message = quality.after_checkpoint(
                spec.gold, status, worker.gold_answered, worker.gold_correct
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


def _plain_work(spec: JobSpec, status: WorkerStatus) -> bool:
    """Whether the worker's next lease is simply the store's next open item: past
    the quiz, with no hidden gold to plan, no routing by confidence and no batch.
    Then the store picks and leases it in one step (on PostgreSQL one statement,
    which may take an item a few places past the oldest: `postgres_lease`)."""
    return (
        status != WorkerStatus.QUIZ
        and spec.gold.hidden_gold_share <= 0
        and spec.target_confidence <= 0
        and batches.batch_size(spec) <= 1
    )


def _lease_plain(tx: Tx, spec: JobSpec, job_id: int, worker_id: int, now: float, pilot: bool) -> Task | None:
    """`_pick` then `_lease` for `_plain_work`; None when the store has no item
    for the worker (the caller then takes the full path, which expires stale
    leases and says why there is nothing)."""
    expires = now + spec.task_time_limit_seconds
    price = spec.price_per_judgment_micros
    leased = tx.lease_next_item(
        job_id, worker_id, TaskPhase.WORK, TaskState.LEASED, now, expires, price, pilot=pilot
    )
    if leased is None:
        return None
    task_id, item = leased
    if price:
        tx.count_job(job_id, reserved_micros=price)
    return task_of(task_id, job_id, item, worker_id, TaskPhase.WORK, TaskState.LEASED, expires)


def _lease_batch(
    tx: Tx,
    spec: JobSpec,
    job: JobRow,
    item_id: int,
    worker_id: int,
    changes: dict[str, int],
    now: float,
    row: ItemRow | None,
    rng: random.Random,
) -> Task:
    """Leases the picked item and up to `batch_size - 1` more of its class
    as one task (a single task when none share its class)."""
    job_id = job.id
    first = row if row is not None else tx.item(item_id)
    assert first is not None
    room = batches.room_in_budget(job, spec, batches.batch_size(spec) - 1)
    mates = batches.batch_mates(tx, spec, job_id, worker_id, first, room, pilot=job.pilot_until is not None)
    if not mates:
        return _lease(tx, spec, job_id, item_id, worker_id, TaskPhase.WORK, changes, now, first)
    items = batches.order([first, *mates], rng)
    tasks = [
        _lease(tx, spec, job_id, item.id, worker_id, TaskPhase.WORK, changes if i == 0 else {}, now, item)
        for i, item in enumerate(items)
    ]
    tx.set_batch([task.id for task in tasks], tasks[0].id)
    return replace(tasks[0], batch=tuple(batches.batch_item(item) for item in items))


def _pick(
    tx: Tx,
    spec: JobSpec,
    job_id: int,
    worker: WorkerRow,
    status: WorkerStatus,
    rng: random.Random,
    *,
    pilot: bool,
    now: float,
) -> tuple[int | None, TaskPhase, dict[str, int], ItemRow | None]:
    """The item a worker should judge next, its phase, what to record of
    the worker's block of tasks if it is leased, and the item's row when the
    pick read it whole: a quiz question during the
    quiz; at work, the oldest open item it has never seen, or hidden gold in
    its place when the block's plan has a slot due. Never hidden gold when
    there is no work for this worker: then nothing."""
    worker_id = worker.id
    policy = spec.gold
    if status == WorkerStatus.QUIZ:
        quiz = tx.unseen_gold(job_id, worker_id, (GoldUse.ANY, GoldUse.QUIZ), 0)
        return (rng.choice(quiz) if quiz else None), TaskPhase.QUIZ, {}, None
    row = contested.routed(
        tx, spec, job_id, worker, tx.next_work_row(job_id, worker_id, pilot=pilot), now, pilot
    )
    work = None if row is None else row.id
    if work is None or policy.hidden_gold_share <= 0:
        return work, TaskPhase.WORK, {}, row
    offered, plan, served = worker.offered, worker.gold_plan, worker.plan_hidden
    if offered % quality.gold_block(policy)[0] == 0:
        plan, served = quality.draw_plan(policy, rng), 0
    changes = {"offered": offered + 1, "gold_plan": plan, "plan_hidden": served}
    if quality.hidden_due(policy, offered, plan, served):
        hidden = tx.unseen_gold(job_id, worker_id, (GoldUse.ANY, GoldUse.HIDDEN), policy.max_gold_exposures)
        if hidden:
            changes["plan_hidden"] = served + 1
            return rng.choice(hidden), TaskPhase.WORK, changes, None
    return work, TaskPhase.WORK, changes, row
