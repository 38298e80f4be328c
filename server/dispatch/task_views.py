"""Tasks as a worker sees them, built from their rows (a bulk-verification
batch as its first task with every item in order)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from labelwire.server.dispatch import batches
from labelwire.server.domain.model import Task, TaskPhase, TaskState
from labelwire.server.store import Tx


def task_view(tx: Tx, row: Any) -> Task:
    if row["batch_of"] is not None:
        return _batch_view(tx, row)
    item = tx.item(int(row["item_id"]))
    assert item is not None
    return task_of(
        int(row["id"]),
        int(row["job_id"]),
        item,
        int(row["worker_id"]),
        TaskPhase(int(row["phase"])),
        TaskState(int(row["state"])),
        float(row["expires_at"]),
    )


def task_of(
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
        task_of(
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
