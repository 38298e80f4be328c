"""The embedded store: one SQLite file in WAL mode.

One writer thread owns the only writing connection, so leasing is atomic
without row locks; a reader thread serves snapshots of committed data.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence, Set
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from labelwire.server.store.base import TransactionThread
from labelwire.server.store.rows import (
    JOB_COLUMNS,
    TASK_COLUMNS,
    ItemRow,
    JobRow,
    R,
    TaskRow,
    job_rows,
    maker,
)
from labelwire.server.store.sql import shown
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

    # jobs

    def jobs_in_states(self, states: Iterable[int]) -> list[JobRow]:
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        return job_rows(self.all(f"SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ({marks})", wanted))

    # items

    def stage_items(self, upload_id: int, rows: Sequence[tuple[Any, ...]], start: int) -> int:
        """Stages rows (key, kind, payload, metadata, prelabel, prelabel_confidence, gold),
        numbered from `start` in the stream; returns how many keys the upload repeated.

        One multi-row INSERT per 500 rows rather than a row at a time: each
        statement step gives up the GIL and must win it back, which under a
        busy event loop costs more than the insert."""
        staged = 0
        for first in range(0, len(rows), 500):
            chunk = rows[first : first + 500]
            values = [
                v for i, r in enumerate(chunk, start + first) for v in (upload_id, i, *r, r[6] is not None)
            ]
            marks = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            staged += self.conn.execute(f"INSERT OR IGNORE INTO upload_items VALUES {marks}", values).rowcount
        return len(rows) - staged

    def publish_items(
        self, upload_id: int, job_id: int, target: int, now: float, first: int, end: int
    ) -> tuple[int, int]:
        """Moves the staged items numbered [first, end) into the job, keys it
        already has excepted; returns (added, gold added)."""
        added = []
        for gold in (0, 1):
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO items (job_id, key, payload_kind, payload, metadata, prelabel,"
                " prelabel_confidence, gold, is_gold, target, created_at)"
                " SELECT ?, key, payload_kind, payload, metadata, prelabel, prelabel_confidence, gold, is_gold, ?, ?"
                " FROM upload_items WHERE upload_id = ? AND seq >= ? AND seq < ? AND is_gold = ? ORDER BY seq",
                (job_id, target, now, upload_id, first, end, gold),
            )
            added.append(cur.rowcount)
        self.run(
            "DELETE FROM upload_items WHERE upload_id = ? AND seq >= ? AND seq < ?", (upload_id, first, end)
        )
        return added[0] + added[1], added[1]

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

    def unseen_gold(self, job_id: int, worker_id: int, pools: Sequence[int], max_exposures: int) -> list[int]:
        """Gold items of the given pools (GoldUse values) the worker has never
        been shown and that are not retired (shown to `max_exposures` workers
        already; 0 means never retired), by id; the dispatcher draws one."""
        marks = ",".join("?" * len(pools))
        rows = self.all(
            f"SELECT id FROM items i WHERE job_id = ? AND is_gold = 1 AND gold_use IN ({marks})"
            f" AND (? = 0 OR exposures < ?) AND {shown('i.id')}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = ? AND t.item_id = i.id)"
            " ORDER BY id LIMIT 1000",
            (job_id, *pools, max_exposures, max_exposures, job_id, worker_id),
        )
        return [int(r[0]) for r in rows]

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

    def skills_of(self, worker_ids: Sequence[int]) -> dict[int, tuple[float | None, int, int]]:
        """(pass skill, gold answered, gold right) of each worker."""
        out: dict[int, tuple[float | None, int, int]] = {}
        for start in range(0, len(worker_ids), 500):
            chunk = list(worker_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for r in self.all(
                f"SELECT id, skill, gold_answered, gold_correct FROM workers WHERE id IN ({marks})", chunk
            ):
                out[int(r["id"])] = (r["skill"], int(r["gold_answered"]), int(r["gold_correct"]))
        return out

    def set_skills(self, skills: dict[int, float]) -> None:
        self._forget_kept()
        self.conn.executemany(
            "UPDATE workers SET skill = ? WHERE id = ?", [(v, k) for k, v in skills.items()]
        )

    # tasks

    def return_items(self, job_id: int, keys: Sequence[str]) -> None:
        self._forget_kept()
        self.conn.executemany(
            "UPDATE items SET claimed_by = NULL, leased = 0 WHERE job_id = ? AND key = ? AND state = 0",
            [(job_id, k) for k in keys],
        )

    def fail_items(self, job_id: int, keys: Sequence[str], reason: str) -> int:
        failed = 0
        for key in keys:
            failed += self.run(
                "UPDATE items SET state = 2, failure_reason = ?, leased = 0 WHERE job_id = ? AND key = ? AND state = 0",
                (reason, job_id, key),
            )
        return failed

    def expired_leases(self, job_id: int, now: float) -> list[TaskRow]:
        return self.all_as(
            TaskRow,
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE job_id = ? AND state = 1 AND expires_at < ?",
            (job_id, now),
        )

    # judgments

    # labels

    def put_reference_label(
        self, item_id: int, value: dict[str, Any], confidence: float | None, method: str
    ) -> None:
        self.run(
            "INSERT OR REPLACE INTO reference_labels VALUES (?, ?, ?, ?)",
            (item_id, json.dumps(value), confidence, method),
        )

    # adapters

    def put_adapter_state(self, job_id: int, state: dict[str, Any]) -> None:
        self.run("INSERT OR REPLACE INTO adapter_state VALUES (?, ?)", (job_id, json.dumps(state)))


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
