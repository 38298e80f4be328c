"""The SQLite writer's job and worker rows, kept from one transaction to the next."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from labelwire.server.domain.model import TaskState
from labelwire.server.store.rows import ItemRow, TaskRow, columns, counted, maker, replaced, with_columns
from labelwire.server.store.sql import SqlTx
from labelwire.server.store.sql_base import forget_written, written_table
from labelwire.server.store.sql_tasks import TasksSql


class WriterRows:
    """The writer's job and worker rows, kept from one transaction to the next.

    A lease and a submit each read their job's row (the spec's revision, the
    budget, the pilot) and their worker's; with rows kept per transaction that
    was 4.3 reads and decodes a judgment. The writer is the only connection of
    this process that writes, so its rows stay true while it alone writes:
    every statement that writes a kept table drops that table's rows, except
    the counters a judgment moves, which the rows take too (`KeptRowsTx`); a
    rollback drops them all; and so does a commit by any other connection
    (another process on the same file), which `PRAGMA data_version` shows.
    """

    LIMIT = 4096  # rows: a job row holds its whole spec

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], Any] = {}
        self._version: int | None = None

    def begin(self, conn: sqlite3.Connection) -> None:
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if version != self._version or len(self.rows) > self.LIMIT:
            self.rows.clear()
            self._version = version

    def forget(self) -> None:
        self.rows.clear()


def _one_row_by_id(sql: str, args: Sequence[Any]) -> bool:
    """An UPDATE of one row whose id is its last argument."""
    return (
        sql.endswith(" WHERE id = ?")
        and sql.startswith("UPDATE ")
        and isinstance(args, tuple | list)
        and type(args[-1]) is int
    )


_INSERT_TASK = TasksSql.INSERT_TASK
_FINISH_TASK = TasksSql.FINISH_TASK
_TASK_FIELDS = len(TaskRow._fields)
_TASK_AND_ITEM = (
    f"SELECT {columns(TaskRow, 't')}, {columns(ItemRow, 'i')} FROM tasks t"
    " LEFT JOIN items i ON i.id = t.item_id WHERE t.id = ?"
)


class KeptRowsTx(SqlTx):
    """How `SqliteTx` keeps its job and worker rows (in `_rows`, the writer's
    `WriterRows.rows` or the reader's own for one transaction), and the item
    read with its task for the transaction's next `item` of it (`_task_items`)."""

    _rows: dict[tuple[str, int], Any]
    _task_items: dict[int, ItemRow]
    _task_workers: dict[int, int]  # task id: its worker, of the tasks this transaction read

    def _forget_kept(self) -> None:
        """Before a write that goes past `one`, `all` and `run`."""
        self._rows.clear()
        self._task_items.clear()

    def _written(self, sql: str, args: Sequence[Any]) -> None:
        if sql.startswith("SELECT"):
            return
        table = written_table(sql)
        if self._task_items and table in ("items", ""):
            self._task_items.clear()
        if table == "tasks":
            # Kept by worker id (its live lease, `live_task_of`): a lease's insert and
            # its end keep them true themselves; any other write may end any lease.
            if sql not in (_INSERT_TASK, _FINISH_TASK):
                forget_written(self._rows, sql)
        elif _one_row_by_id(sql, args):
            # One row by its id (a judgment's job and worker): the others stay kept.
            self._rows.pop((written_table(sql), args[-1]), None)
        else:
            forget_written(self._rows, sql)

    def task(self, task_id: int) -> TaskRow | None:
        """The task, its item read in the same statement: a submit reads both
        (one step of SQLite, one wait for the GIL, instead of two)."""
        found = self.one(_TASK_AND_ITEM, (task_id,))
        if found is None:
            return None
        row = tuple(found)
        task: TaskRow = maker(TaskRow)(row[:_TASK_FIELDS])
        self._task_workers[task_id] = task.worker_id
        if row[_TASK_FIELDS] is not None:
            self._task_items[task.item_id] = maker(ItemRow)(row[_TASK_FIELDS:])
        return task

    def item(self, item_id: int) -> ItemRow | None:
        """As `task` read it, once (until a write to items); else read."""
        kept = self._task_items.pop(item_id, None)
        return kept if kept is not None else super().item(item_id)

    # A worker's live lease is asked for before each lease: the kept rows say
    # when it has none (None) or one, a task id (`("tasks", worker id)`), as
    # the lease that made it and the submit that ended it leave it.

    def live_task_of(self, worker_id: int) -> TaskRow | None:
        key = ("tasks", worker_id)
        if key in self._rows and self._rows[key] is None:
            return None
        held = super().live_task_of(worker_id)
        if held is None:
            self._rows[key] = None
        return held

    def insert_task(
        self,
        job_id: int,
        item_id: int,
        worker_id: int,
        phase: int,
        state: int,
        now: float,
        expires_at: float,
        *,
        reserved_micros: int = 0,
    ) -> int:
        key = ("tasks", worker_id)
        had_none = key in self._rows and self._rows[key] is None
        task_id = super().insert_task(
            job_id, item_id, worker_id, phase, state, now, expires_at, reserved_micros=reserved_micros
        )
        if state == TaskState.LEASED:
            if had_none:
                self._rows[key] = task_id
            else:
                self._rows.pop(key, None)
        return task_id

    def finish_task(self, task_id: int, state: int, now: float, decline_reason: str | None = None) -> None:
        super().finish_task(task_id, state, now, decline_reason)
        worker_id = self._task_workers.get(task_id)
        if state == TaskState.LEASED or worker_id is None:
            forget_written(self._rows, "UPDATE tasks")
        elif self._rows.get(("tasks", worker_id), -1) == task_id:
            self._rows[("tasks", worker_id)] = None

    def _row(self, table: str, row_id: int) -> Any:
        key = (table, row_id)
        if key not in self._rows:
            self._rows[key] = super()._row(table, row_id)
        return self._rows[key]

    # Every judgment adds to its job's counters and sets its worker's; the kept
    # rows take the same change instead of being read again by the next lease.

    def count_job(self, job_id: int, **deltas: int) -> None:
        kept = self._rows.get(("jobs", job_id))
        super().count_job(job_id, **deltas)
        changed = None if kept is None else counted(kept, deltas)
        if changed is not None:
            self._rows[("jobs", job_id)] = changed

    def next_sequence(self, job_id: int) -> int:
        kept = self._rows.get(("jobs", job_id))
        sequence = super().next_sequence(job_id)
        if kept is not None:
            self._rows[("jobs", job_id)] = replaced(kept, {"last_sequence": sequence})
        return sequence

    def update_worker(self, worker_id: int, **values: Any) -> None:
        kept = self._rows.get(("workers", worker_id))
        super().update_worker(worker_id, **values)
        changed = None if kept is None else with_columns(kept, values)
        if changed is not None:
            self._rows[("workers", worker_id)] = changed
