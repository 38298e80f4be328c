"""A job's budget: whether it pays for another judgment, ending the job when
it is spent, and freeing what leases and items reserved of it."""

from __future__ import annotations

from labelwire.server.domain.model import EndReason, JobSpec, JobState
from labelwire.server.labels import items as labeling
from labelwire.server.store import Tx
from labelwire.server.store.rows import ItemRow, JobRow, TaskRow


def free_reservation(tx: Tx, task: TaskRow) -> None:
    reserved = task.reserved_micros
    if reserved:
        tx.count_job(task.job_id, reserved_micros=-reserved)


def affordable(job: JobRow, spec: JobSpec) -> bool:
    """Whether the budget pays one more judgment at the job's price, beyond
    what is spent and what leases and claims in flight reserve."""
    if not spec.budget_micros:
        return True
    left = spec.budget_micros - job.cost_micros - job.reserved_micros
    return left > 0 and left >= spec.price_per_judgment_micros


def budget_spent(job: JobRow, spec: JobSpec) -> bool:
    """Whether the budget pays for no further judgment and none is in flight."""
    return bool(spec.budget_micros) and job.reserved_micros == 0 and not affordable(job, spec)


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
    if job is None or job.state != JobState.RUNNING or job.reserved_micros > 0:
        return False
    if (affordable(job, spec) and not unaffordable) or not tx.has_open_items(job_id):
        return False
    tx.set_job_state(job_id, JobState.COMPLETED, now)
    tx.set_end_reason(job_id, EndReason.BUDGET_EXHAUSTED)
    return True


def free_item_reservation(tx: Tx, job_id: int, item: ItemRow, micros: int | None = None) -> None:
    """Frees what a push workforce's claim of the item still reserves (all of
    it, or `micros` of it when one judgment of the claim is paid)."""
    reserved = item.reserved_micros
    freed = reserved if micros is None else min(micros, reserved)
    if freed:
        tx.update_item(item.id, reserved_micros=reserved - freed)
        tx.count_job(job_id, reserved_micros=-freed)
