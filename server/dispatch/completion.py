"""When a job stops taking judgments: its pilot is done, or every item is labeled."""

from __future__ import annotations

import json

from labelwire.server.domain.model import MAJORITY_VOTE, EndReason, JobState
from labelwire.server.domain.tasks import weighs_workers
from labelwire.server.store import Tx

PILOT_COMPLETE = "pilot complete"


def pause_if_pilot_done(tx: Tx, job_id: int, now: float) -> bool:
    """Pauses a running job whose pilot items all have their label (or
    failed), so its owner reviews them before ResumeJob runs the rest; the
    pilot's bound is dropped, so the rest is dispatched once resumed."""
    job = tx.job(job_id)
    if job is None or job.pilot_until is None or job.state != JobState.RUNNING:
        return False
    if tx.has_open_pilot_items(job_id, int(job.pilot_until)):
        return False
    job = tx.job(job_id)  # again: the check may have waited for another writer's commit
    if job is None or job.pilot_until is None or job.state != JobState.RUNNING:
        return False
    tx.set_pilot(job_id, None)
    tx.set_job_state(job_id, JobState.PAUSED, now, PILOT_COMPLETE)
    return True


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
    item in this transaction (`open_checked`), saves the reads.

    What is left is asked exactly against other writers closing the job's last
    items (`has_open_items`): near the end the store takes the job's row and
    waits for them, so the job's state is read after it."""
    if not after_pass and method is not None and weighs_workers(method):
        return False
    job = tx.job(job_id)
    if job is None or job.state != JobState.RUNNING:
        return False
    if (
        not after_pass
        and method is None
        and weighs_workers(json.loads(job.spec).get("consolidation_method", MAJORITY_VOTE))
    ):
        return False
    if not open_checked:
        if tx.has_open_items(job_id):
            return False
        job = tx.job(job_id)  # again: the check may have waited for another writer's commit
        if job is None or job.state != JobState.RUNNING:
            return False
    if json.loads(job.spec).get("routing_rules") and tx.has_routed_open(job_id):
        return False
    if job.total_items == 0:
        return False
    tx.set_job_state(job_id, JobState.COMPLETED, now)
    tx.set_end_reason(job_id, EndReason.ALL_LABELED)
    return True
