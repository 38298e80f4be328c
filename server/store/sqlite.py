"""The embedded store: one SQLite file in WAL mode.

One writer thread owns the only writing connection, so leasing is atomic
without row locks; a reader thread serves snapshots of committed data.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence, Set
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from labelwire.server.store.base import TransactionThread
from labelwire.server.store.rows import (
    ItemRow,
    R,
    maker,
)
from labelwire.server.store.sqlite_rows import KeptRowsTx, WriterRows

T = TypeVar("T")


MIGRATIONS = "labelwire.server.store.migrations.sqlite"


def migrate(conn: sqlite3.Connection) -> int:
    """Applies the numbered migrations the database has not seen; returns its version."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    folder = resources.files(MIGRATIONS)
    scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    for script in scripts:
        number = int(script.name.split("_", 1)[0])
        if number <= version:
            continue
        conn.executescript(f"BEGIN;\n{script.read_text()}\nPRAGMA user_version = {number};\nCOMMIT;")
        version = number
    return version


class SqliteTx(KeptRowsTx):
    """The store's operations, run inside one transaction.

    A lease or a submit reads its job's and its worker's row three to five times
    (the spec's revision, the worker's state, the budget, the pilot): a job row
    holds the whole spec, so each read costs more than most writes. Within one
    transaction (one caller's work) those rows are read once and kept until a
    statement writes them; the writer keeps them across transactions too
    (`sqlite_rows.WriterRows`).
    """

    def __init__(self, conn: sqlite3.Connection, kept: dict[tuple[str, int], Any] | None = None) -> None:
        self.conn = conn
        # Typed job and worker rows (`store.rows`): the writer's outlive the
        # transaction (`WriterRows`), the reader's do not.
        self._rows: dict[tuple[str, int], Any] = {} if kept is None else kept
        # The item read with its task (`task`), for this transaction's next `item` of it.
        self._task_items: dict[int, ItemRow] = {}
        self._task_workers: dict[int, int] = {}

    def one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        self._written(sql, args)
        row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
        return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        self._written(sql, args)
        return self.conn.execute(sql, args).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        self._written(sql, args)
        return self.conn.execute(sql, args).rowcount

    def one_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> R | None:
        self._written(sql, args)
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples, not `sqlite3.Row`
        row = cursor.execute(sql, args).fetchone()
        return None if row is None else maker(cls)(row)

    def all_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> list[R]:
        self._written(sql, args)
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return list(map(maker(cls), cursor.execute(sql, args).fetchall()))

    # items

    def lease_next_item(
        self,
        job_id: int,
        worker_id: int,
        phase: int,
        state: int,
        now: float,
        expires_at: float,
        reserved_micros: int,
        *,
        pilot: bool,
    ) -> tuple[int, ItemRow] | None:
        """The next work item leased to the worker: (task id, the item's row) or
        None. PostgreSQL does it in one statement; here the one writer makes it atomic."""
        row = self.next_work_row(job_id, worker_id, pilot=pilot)
        if row is None:
            return None
        task_id = self.insert_task(
            job_id, row.id, worker_id, phase, state, now, expires_at, reserved_micros=reserved_micros
        )
        self.count_item(row.id, leased=1)
        return task_id, row

    def count_item(self, item_id: int, **deltas: int) -> None:
        sets = ", ".join(f"{name} = MAX({name} + ?, 0)" for name in deltas)
        self.run(f"UPDATE items SET {sets} WHERE id = ?", (*deltas.values(), item_id))

    def mark_claimed(self, adapter: str, fee_micros: int, rows: list[ItemRow], reserve: list[int]) -> None:
        self._forget_kept()
        self.conn.executemany(
            "UPDATE items SET claimed_by = ?, leased = target - done, reserved_micros = ?, claim_fee_micros = ?"
            " WHERE id = ?",
            [(adapter, micros, fee_micros, r.id) for r, micros in zip(rows, reserve, strict=True)],
        )

    # workers

    def set_skills(self, skills: dict[int, float]) -> None:
        self._forget_kept()
        self.conn.executemany(
            "UPDATE workers SET skill = ? WHERE id = ?", [(v, k) for k, v in skills.items()]
        )


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA temp_store = FILE")
    conn.execute("PRAGMA cache_size = -65536")
    return conn


def _connect_writer(path: str) -> sqlite3.Connection:
    """The writer's connection, with the staging table of uploads: TEMP, so
    staging costs no disk flush and a crash leaves nothing staged behind."""
    conn = _connect(path)
    conn.execute(
        "CREATE TEMP TABLE upload_items (upload_id INTEGER NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL,"
        " payload_kind TEXT NOT NULL, payload TEXT NOT NULL, metadata TEXT, prelabel TEXT,"
        " prelabel_confidence REAL, gold TEXT, is_gold INTEGER NOT NULL,"
        " PRIMARY KEY (upload_id, seq), UNIQUE (upload_id, key)) WITHOUT ROWID"
    )
    return conn


class SqliteStore:
    """The SQLite store: `write` for transactions that change data, `read` for snapshots."""

    kind = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        boot = _connect(self.path)
        try:
            self.version = migrate(boot)
        finally:
            boot.close()
        kept = WriterRows()
        self._writer = TransactionThread(
            "labelwire-sqlite-writer",
            lambda: _connect_writer(self.path),
            lambda conn: SqliteTx(conn, kept.rows),
            begin="BEGIN IMMEDIATE",
            kept=kept,
        )
        self._reader = TransactionThread(
            "labelwire-sqlite-reader", lambda: _connect(self.path), SqliteTx, grouped=False
        )

    def on_commit(self, callback: Callable[[Set[int]], None]) -> None:
        """`callback(job_ids)` runs after each write that moved those jobs' label feeds."""
        self._writer.on_commit = callback

    async def write(self, fn: Callable[[SqliteTx], T]) -> T:
        return await self._writer.submit(fn)

    async def read(self, fn: Callable[[SqliteTx], T]) -> T:
        return await self._reader.submit(fn)

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
