"""The embedded store: one SQLite file in WAL mode.

One writer thread owns the only writing connection, so leasing is atomic
without row locks; a reader thread serves snapshots of committed data.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from labelwire.server.store.base import TransactionThread

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


class SqliteTx:
    """The store's operations, run inside one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
        return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, args).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, args).rowcount

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        rowid = self.conn.execute(sql, args).lastrowid
        assert rowid is not None
        return rowid

    # clients

    def insert_client(self, name: str, key_hash: bytes, now: float) -> int:
        return self.insert(
            "INSERT INTO clients (name, key_hash, created_at) VALUES (?, ?, ?)", (name, key_hash, now)
        )

    def set_client_key(self, client_id: int, key_hash: bytes) -> None:
        self.run("UPDATE clients SET key_hash = ? WHERE id = ?", (key_hash, client_id))

    def has_open_items(self, job_id: int) -> bool:
        return (
            self.one("SELECT 1 FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 LIMIT 1", (job_id,))
            is not None
        )

    def client_key_hash(self, client_id: int) -> bytes | None:
        row = self.one("SELECT key_hash FROM clients WHERE id = ?", (client_id,))
        return None if row is None else bytes(row[0])

    # jobs

    def insert_job(self, owner_id: int, spec: dict[str, Any], state: int, now: float) -> int:
        return self.insert(
            "INSERT INTO jobs (owner_id, spec, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (owner_id, json.dumps(spec), state, now, now),
        )

    def job(self, job_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM jobs WHERE id = ?", (job_id,))

    def jobs_of(self, owner_id: int, before_id: int, limit: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT * FROM jobs WHERE owner_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (owner_id, before_id, limit),
        )

    def jobs_in_states(self, states: Iterable[int]) -> list[sqlite3.Row]:
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        return self.all(f"SELECT * FROM jobs WHERE state IN ({marks})", wanted)

    def set_job_state(self, job_id: int, state: int, now: float, reason: str = "") -> None:
        self.run(
            "UPDATE jobs SET state = ?, updated_at = ?, failure_reason = ? WHERE id = ?",
            (state, now, reason, job_id),
        )

    def count_job(self, job_id: int, **deltas: int) -> None:
        sets = ", ".join(f"{name} = {name} + ?" for name in deltas)
        self.run(f"UPDATE jobs SET {sets} WHERE id = ?", (*deltas.values(), job_id))

    def mark_pass(self, job_id: int, judgments: int) -> None:
        self.run("UPDATE jobs SET judgments_at_pass = ? WHERE id = ?", (judgments, job_id))

    def next_sequence(self, job_id: int) -> int:
        row = self.one(
            "UPDATE jobs SET last_sequence = last_sequence + 1 WHERE id = ? RETURNING last_sequence",
            (job_id,),
        )
        assert row is not None
        return int(row[0])

    def live_counts(self, job_id: int) -> tuple[int, int, int, int]:
        """(unlabeled, in progress, qualified workers, disqualified workers)."""
        items = self.one(
            "SELECT COALESCE(SUM(leased = 0), 0), COALESCE(SUM(leased > 0), 0) FROM items"
            " WHERE job_id = ? AND state = 0 AND is_gold = 0",
            (job_id,),
        )
        workers = self.one(
            "SELECT COALESCE(SUM(status = 2), 0), COALESCE(SUM(status IN (3, 4)), 0) FROM workers WHERE job_id = ?",
            (job_id,),
        )
        assert items is not None and workers is not None
        return int(items[0]), int(items[1]), int(workers[0]), int(workers[1])

    # items

    def begin_upload(self, upload_id: int) -> None:
        self.conn.execute(
            f"CREATE TEMP TABLE upload_{upload_id} (key TEXT PRIMARY KEY, payload_kind TEXT, payload TEXT,"
            " metadata TEXT, prelabel TEXT, prelabel_confidence REAL, gold TEXT, is_gold INTEGER, seq INTEGER)"
        )

    def stage_items(self, upload_id: int, rows: Sequence[tuple[Any, ...]], start: int) -> int:
        """Stages rows (key, kind, payload, metadata, prelabel, prelabel_confidence, gold);
        returns how many keys the upload repeated."""
        cur = self.conn.executemany(
            f"INSERT OR IGNORE INTO temp.upload_{upload_id} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*r, r[6] is not None, start + i) for i, r in enumerate(rows)],
        )
        return len(rows) - cur.rowcount

    def commit_upload(self, upload_id: int, job_id: int, target: int, now: float) -> tuple[int, int]:
        """Moves staged items into the job; returns (added, gold added)."""
        added = []
        for gold in (0, 1):
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO items (job_id, key, payload_kind, payload, metadata, prelabel,"
                " prelabel_confidence, gold, is_gold, target, created_at)"
                f" SELECT ?, key, payload_kind, payload, metadata, prelabel, prelabel_confidence, gold, is_gold, ?, ?"
                f" FROM temp.upload_{upload_id} WHERE is_gold = ? ORDER BY seq",
                (job_id, target, now, gold),
            )
            added.append(cur.rowcount)
        self.drop_upload(upload_id)
        return added[0] + added[1], added[1]

    def drop_upload(self, upload_id: int) -> None:
        self.conn.execute(f"DROP TABLE IF EXISTS temp.upload_{upload_id}")

    def item(self, item_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM items WHERE id = ?", (item_id,))

    def item_by_key(self, job_id: int, key: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM items WHERE job_id = ? AND key = ?", (job_id, key))

    def next_work_item(self, job_id: int, worker_id: int) -> int | None:
        row = self.one(
            "SELECT id FROM items i WHERE job_id = ? AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            " AND done + leased < target"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = ? AND t.item_id = i.id)"
            " ORDER BY id LIMIT 1",
            (job_id, worker_id),
        )
        return None if row is None else int(row[0])

    def random_unseen_gold(self, job_id: int, worker_id: int) -> int | None:
        row = self.one(
            "SELECT id FROM items i WHERE job_id = ? AND is_gold = 1"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = ? AND t.item_id = i.id)"
            " ORDER BY random() LIMIT 1",
            (job_id, worker_id),
        )
        return None if row is None else int(row[0])

    def count_gold(self, job_id: int) -> int:
        row = self.one("SELECT COUNT(*) FROM items WHERE job_id = ? AND is_gold = 1", (job_id,))
        return 0 if row is None else int(row[0])

    def update_item(self, item_id: int, **values: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self.run(f"UPDATE items SET {sets} WHERE id = ?", (*values.values(), item_id))

    def count_item(self, item_id: int, **deltas: int) -> None:
        sets = ", ".join(f"{name} = MAX({name} + ?, 0)" for name in deltas)
        self.run(f"UPDATE items SET {sets} WHERE id = ?", (*deltas.values(), item_id))

    def claim_items(self, job_id: int, adapter: str, limit: int) -> list[sqlite3.Row]:
        rows = self.all(
            "SELECT * FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            " AND done + leased < target ORDER BY id LIMIT ?",
            (job_id, limit),
        )
        self.conn.executemany(
            "UPDATE items SET claimed_by = ?, leased = target - done WHERE id = ?",
            [(adapter, r["id"]) for r in rows],
        )
        return rows

    def open_items_of(self, job_id: int, keys: Sequence[str]) -> list[sqlite3.Row]:
        out: list[sqlite3.Row] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out += self.all(f"SELECT * FROM items WHERE job_id = ? AND key IN ({marks})", (job_id, *chunk))
        return out

    def expire_stale_items(self, job_id: int, created_before: float, reason: str) -> int:
        return self.run(
            "UPDATE items SET state = 2, failure_reason = ? WHERE job_id = ? AND state = 0 AND is_gold = 0"
            " AND created_at < ?",
            (reason, job_id, created_before),
        )

    # workers

    def insert_worker(
        self,
        job_id: int,
        display_name: str,
        token_hash: bytes | None,
        status: int,
        quiz: int,
        now: float,
        external_id: str | None = None,
    ) -> int:
        return self.insert(
            "INSERT INTO workers (job_id, display_name, external_id, token_hash, status, quiz_remaining, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, display_name, external_id, token_hash, status, quiz, now),
        )

    def worker(self, worker_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM workers WHERE id = ?", (worker_id,))

    def worker_by_external(self, job_id: int, external_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM workers WHERE job_id = ? AND external_id = ?", (job_id, external_id))

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
        self.conn.executemany(
            "UPDATE workers SET skill = ? WHERE id = ?", [(v, k) for k, v in skills.items()]
        )

    def pass_input(self, job_id: int) -> list[sqlite3.Row]:
        """Every counted judgment of the job, gold included, with what the core
        needs to re-consolidate it."""
        return self.all(
            "SELECT j.item_id, j.worker_id, j.answer, i.is_gold, i.gold, i.state, i.label_sequence"
            " FROM judgments j JOIN items i ON i.id = j.item_id WHERE j.job_id = ? AND j.excluded = 0",
            (job_id,),
        )

    def workers_of(self, job_id: int, after_id: int, limit: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT * FROM workers WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?", (job_id, after_id, limit)
        )

    def update_worker(self, worker_id: int, **values: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self.run(f"UPDATE workers SET {sets} WHERE id = ?", (*values.values(), worker_id))

    # tasks

    def insert_task(
        self, job_id: int, item_id: int, worker_id: int, phase: int, state: int, now: float, expires_at: float
    ) -> int:
        return self.insert(
            "INSERT INTO tasks (job_id, item_id, worker_id, phase, state, leased_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, item_id, worker_id, phase, state, now, expires_at),
        )

    def task(self, task_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM tasks WHERE id = ?", (task_id,))

    def has_task(self, worker_id: int, item_id: int) -> bool:
        return (
            self.one("SELECT 1 FROM tasks WHERE worker_id = ? AND item_id = ?", (worker_id, item_id))
            is not None
        )

    def return_items(self, job_id: int, keys: Sequence[str]) -> None:
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

    def open_items(self, job_id: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT * FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 ORDER BY id", (job_id,)
        )

    def claimed_open(self, job_id: int, adapter: str) -> list[sqlite3.Row]:
        return self.all(
            "SELECT * FROM items WHERE job_id = ? AND state = 0 AND claimed_by = ? ORDER BY id",
            (job_id, adapter),
        )

    def gold_rows(self, job_id: int, limit: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT * FROM items WHERE job_id = ? AND is_gold = 1 ORDER BY id LIMIT ?", (job_id, limit)
        )

    def live_task_of(self, worker_id: int) -> sqlite3.Row | None:
        return self.one(
            "SELECT * FROM tasks WHERE worker_id = ? AND state = 1 ORDER BY id LIMIT 1", (worker_id,)
        )

    def live_tasks_of(self, worker_id: int) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM tasks WHERE worker_id = ? AND state = 1", (worker_id,))

    def finish_task(self, task_id: int, state: int, now: float) -> None:
        self.run("UPDATE tasks SET state = ?, finished_at = ? WHERE id = ?", (state, now, task_id))

    def set_task_expiry(self, task_id: int, expires_at: float) -> None:
        self.run("UPDATE tasks SET expires_at = ? WHERE id = ?", (expires_at, task_id))

    def expired_leases(self, job_id: int, now: float) -> list[sqlite3.Row]:
        return self.all(
            "SELECT * FROM tasks WHERE job_id = ? AND state = 1 AND expires_at < ?", (job_id, now)
        )

    # judgments

    def insert_judgment(
        self,
        task_id: int,
        job_id: int,
        item_id: int,
        worker_id: int,
        answer: dict[str, Any],
        time_spent_ms: int,
        gold_correct: bool | None,
        now: float,
    ) -> None:
        self.run(
            "INSERT INTO judgments (task_id, job_id, item_id, worker_id, answer, time_spent_ms, gold_correct,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, job_id, item_id, worker_id, json.dumps(answer), time_spent_ms, gold_correct, now),
        )

    def judgment(self, task_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM judgments WHERE task_id = ?", (task_id,))

    def item_judgments(self, item_id: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self.all(
            "SELECT worker_id, answer FROM judgments WHERE item_id = ? AND excluded = 0 ORDER BY task_id",
            (item_id,),
        )
        return [(int(r[0]), json.loads(r[1])) for r in rows]

    def exclude_judgments_of(self, worker_id: int) -> list[int]:
        """Marks a worker's judgments excluded; returns the non-gold items they fed."""
        rows = self.all(
            "UPDATE judgments SET excluded = 1 WHERE worker_id = ? AND excluded = 0 RETURNING item_id, gold_correct",
            (worker_id,),
        )
        return [int(r[0]) for r in rows if r[1] is None]

    def job_judgments(self, job_id: int) -> list[sqlite3.Row]:
        """Counted judgments of the job's non-gold items, by item."""
        return self.all(
            "SELECT j.item_id, j.worker_id, j.answer, j.time_spent_ms FROM judgments j JOIN items i ON i.id = j.item_id"
            " WHERE j.job_id = ? AND j.excluded = 0 AND i.is_gold = 0 ORDER BY j.item_id",
            (job_id,),
        )

    def prelabeled(self, job_id: int) -> list[sqlite3.Row]:
        """Items with both a model pre-label and a human label."""
        return self.all(
            "SELECT i.prelabel, i.prelabel_confidence, e.value FROM items i"
            " JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            " WHERE i.job_id = ? AND i.prelabel IS NOT NULL",
            (job_id,),
        )

    # labels

    def insert_label(
        self,
        job_id: int,
        sequence: int,
        item_id: int,
        revision: int,
        value: dict[str, Any],
        confidence: float,
        probabilities: dict[str, float],
        method: str,
        judgment_count: int,
        human: bool,
        tie: bool,
        now: float,
    ) -> None:
        self.run(
            "INSERT INTO label_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                sequence,
                item_id,
                revision,
                json.dumps(value),
                confidence,
                json.dumps(probabilities),
                method,
                judgment_count,
                human,
                tie,
                now,
            ),
        )

    def label_events(self, job_id: int, after_sequence: int, limit: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT e.*, i.key AS item_key, i.metadata AS item_metadata FROM label_events e"
            " JOIN items i ON i.id = e.item_id WHERE e.job_id = ? AND e.sequence > ? ORDER BY e.sequence LIMIT ?",
            (job_id, after_sequence, limit),
        )

    def current_labels(self, job_id: int, after_item_id: int, limit: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT e.*, i.key AS item_key, i.metadata AS item_metadata, i.payload_kind, i.payload, i.id AS item_id"
            " FROM items i JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            " WHERE i.job_id = ? AND i.label_sequence IS NOT NULL AND i.id > ? ORDER BY i.id LIMIT ?",
            (job_id, after_item_id, limit),
        )

    def label_event(self, job_id: int, sequence: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM label_events WHERE job_id = ? AND sequence = ?", (job_id, sequence))

    def put_reference_label(
        self, item_id: int, value: dict[str, Any], confidence: float | None, method: str
    ) -> None:
        self.run(
            "INSERT OR REPLACE INTO reference_labels VALUES (?, ?, ?, ?)",
            (item_id, json.dumps(value), confidence, method),
        )

    # adapters

    def adapter_state(self, job_id: int) -> dict[str, Any]:
        row = self.one("SELECT state FROM adapter_state WHERE job_id = ?", (job_id,))
        return {} if row is None else dict(json.loads(row[0]))

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
        self._writer = TransactionThread(
            "labelwire-sqlite-writer", lambda: _connect(self.path), SqliteTx, begin="BEGIN IMMEDIATE"
        )
        self._reader = TransactionThread(
            "labelwire-sqlite-reader", lambda: _connect(self.path), SqliteTx, grouped=False
        )
        self._uploads = itertools.count(1)

    def new_upload_id(self) -> int:
        return next(self._uploads)

    async def write(self, fn: Callable[[SqliteTx], T]) -> T:
        return await self._writer.submit(fn)

    async def read(self, fn: Callable[[SqliteTx], T]) -> T:
        return await self._reader.submit(fn)

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
