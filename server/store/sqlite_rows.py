"""The SQLite writer's job and worker rows, kept from one transaction to the next."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from labelwire.server.store.rows import counted, replaced, with_columns
from labelwire.server.store.sql import SqlTx
from labelwire.server.store.sql_base import forget_written, written_table


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


class KeptRowsTx(SqlTx):
    """How `SqliteTx` keeps its job and worker rows (in `_rows`, the writer's
    `WriterRows.rows` or the reader's own for one transaction)."""

    _rows: dict[tuple[str, int], Any]

    def _written(self, sql: str, args: Sequence[Any]) -> None:
        if _one_row_by_id(sql, args):
            # One row by its id (a judgment's job and worker): the others stay kept.
            self._rows.pop((written_table(sql), args[-1]), None)
        else:
            forget_written(self._rows, sql)

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
