"""Tasks as a worker sees them, built from their rows (a bulk-verification
batch as its first task with every item in order)."""

from __future__ import annotations

import json
from dataclasses import replace

from labelwire.server.dispatch import batches
from labelwire.server.domain.model import Task, TaskPhase, TaskState
from labelwire.server.store import Tx
from labelwire.server.store.rows import ItemRow, TaskRow


def task_view(tx: Tx, row: TaskRow) -> Task:
    if row.batch_of is not None:
        return _batch_view(tx, row)
    item = tx.item(row.item_id)
    assert item is not None
    return task_of(
        row.id,
        row.job_id,
        item,
        row.worker_id,
        TaskPhase(row.phase),
        TaskState(row.state),
        row.expires_at,
    )


def task_of(
    task_id: int,
    job_id: int,
    item: ItemRow,
    worker_id: int,
    phase: TaskPhase,
    state: TaskState,
    expires_at: float,
) -> Task:
    return Task(
        id=task_id,
        job_id=job_id,
        item_id=item.id,
        worker_id=worker_id,
        phase=phase,
        state=state,
        expires_at=expires_at,
        payload_kind=item.payload_kind,
        payload=item.payload,
        metadata=json.loads(item.metadata) if item.metadata else None,
        prelabel=json.loads(item.prelabel) if item.prelabel else None,
        prelabel_confidence=(None if item.prelabel_confidence is None else float(item.prelabel_confidence)),
    )


def _batch_view(tx: Tx, row: TaskRow) -> Task:
    """A bulk-verification task as the worker sees it: its first row, with
    every item of the batch in order."""
    first = batches.first_of(tx, row)
    rows = batches.members(tx, first)
    items = [item for member in rows if (item := tx.item(member.item_id)) is not None]
    head = items[0]
    return replace(
        task_of(
            first.id,
            first.job_id,
            head,
            first.worker_id,
            TaskPhase(first.phase),
            TaskState(first.state),
            first.expires_at,
        ),
        batch=tuple(batches.batch_item(item) for item in items),
    )
