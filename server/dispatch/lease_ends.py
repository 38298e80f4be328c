"""How leases end: expiry, release, cancellation, a worker's disqualification;
and the checks that a task named in a request is the worker's own and live."""

from __future__ import annotations

from labelwire.server.dispatch import batches
from labelwire.server.dispatch.budget import free_item_reservation, free_reservation
from labelwire.server.domain.errors import FailedPrecondition, NotFound, PermissionDenied
from labelwire.server.domain.model import ItemState, JobSpec, JobState, TaskState
from labelwire.server.labels import items as labeling
from labelwire.server.store import Tx
from labelwire.server.store.rows import TaskRow


def expire_leases(tx: Tx, job_id: int, now: float) -> int:
    """Returns expired leases' items to the queue and frees their reservations."""
    stale = tx.expired_leases(job_id, now)
    for task in stale:
        end_lease(tx, task, TaskState.EXPIRED, now)
    return len(stale)


def end_lease(tx: Tx, task: TaskRow, state: TaskState, now: float, reason: str | None = None) -> None:
    """A lease ends unanswered: its item goes back to the queue and its price
    back to the budget."""
    tx.finish_task(task.id, state, now, reason)
    tx.count_item(task.item_id, leased=-1)
    free_reservation(tx, task)


def release_for_cancel(tx: Tx, job_id: int, now: float) -> None:
    """At cancel, leases in flight are released (their answers are refused)
    and every reservation of the job is freed."""
    for task in tx.live_tasks_of_job(job_id):
        end_lease(tx, task, TaskState.RELEASED, now)
    tx.clear_reservations(job_id)


def own_task(tx: Tx, worker_id: int, job_id: int, task_id: int) -> TaskRow:
    task = tx.task(task_id)
    if task is None or task.job_id != job_id:
        raise NotFound(f"task jobs/{job_id}/tasks/{task_id} does not exist")
    if task.worker_id != worker_id:
        raise PermissionDenied(f"task jobs/{job_id}/tasks/{task_id} is not leased to you")
    return task


def live_task(
    tx: Tx, worker_id: int, job_id: int, task_id: int, now: float, task: TaskRow | None = None
) -> TaskRow:
    task = task if task is not None else own_task(tx, worker_id, job_id, task_id)
    state = TaskState(task.state)
    if state == TaskState.LEASED and task.expires_at < now:
        end_lease(tx, task, TaskState.EXPIRED, now)
        state = TaskState.EXPIRED
    if state == TaskState.RELEASED:
        job = tx.job(job_id)
        if job is not None and job.state == JobState.CANCELLED:
            raise FailedPrecondition(
                f"jobs/{job_id} was cancelled: its tasks were released and take no more answers"
            )
    if state != TaskState.LEASED:
        raise FailedPrecondition(
            f"task jobs/{job_id}/tasks/{task_id} is {state.name.lower()}, not leased; ask NextTask for another"
        )
    return task


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
        if item.state == ItemState.FAILED:
            continue
        if item.label_sequence is not None:
            label = labeling.item_label(tx, spec, item_id, job_id, item)
            if label is not None:
                labeling.emit_label(tx, job_id, item, label, now, spec=spec)
        tx.update_item(item_id, state=int(ItemState.OPEN), claimed_by=None)
    job = tx.job(job_id)
    if job is not None and job.state == JobState.COMPLETED and items:
        tx.set_job_state(job_id, JobState.RUNNING, now)


def release(
    tx: Tx, worker_id: int, job_id: int, task_id: int, now: float, *, decline: bool, reason: str = ""
) -> None:
    task = live_task(tx, worker_id, job_id, task_id, now)
    for row in batches.members(tx, task):
        if batches.leased(row):
            end_lease(tx, row, TaskState.DECLINED if decline else TaskState.RELEASED, now, reason or None)


def extend(tx: Tx, worker_id: int, job_id: int, task_id: int, seconds: float, now: float) -> float:
    task = live_task(tx, worker_id, job_id, task_id, now)
    expires = now + seconds
    for row in batches.members(tx, task):
        tx.set_task_expiry(row.id, expires)
    return expires
