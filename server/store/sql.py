"""The store operations whose SQL is the same on every database.

Each store's transaction class inherits them and supplies `one`, `all`, `run`
and `insert` (PostgreSQL's translate the `?` placeholders), plus the operations
whose SQL differs (upserts, row locking, aggregates).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from labelwire.server.store.accounts import AccountsSql

Row = Any

# Items of a job at or past the job's `hidden_from` belong to an upload that is
# still publishing; every read of a job's items leaves them out. Takes the job
# id as one more argument.
NO_HIDDEN = 9223372036854775807
# job_costs rows whose key starts so are reservations a workforce made ahead of
# a charge (their micros: what they still hold), not costs.
RESERVED_COST = "reserved:"


def shown(column: str) -> str:
    return f"{column} < (SELECT COALESCE(hidden_from, {NO_HIDDEN}) FROM jobs WHERE jobs.id = ?)"


def in_pilot(alias: str, pilot: bool) -> str:
    """While a pilot runs (the caller read it from the job's row) only its
    items, drawn at StartJob, are dispatched; their own partial index finds
    them without walking the rest."""
    return f" AND {alias}.in_pilot = 1" if pilot else ""


def affordable_claims(
    rows: list[Any], per_judgment_micros: int, available_micros: int | None
) -> tuple[list[Any], list[int]]:
    """The first rows whose wanted judgments the budget pays for, and what each reserves."""
    out: list[Any] = []
    reserve: list[int] = []
    total = 0
    for row in rows:
        micros = per_judgment_micros * (int(row["target"]) - int(row["done"]))
        if available_micros is not None and (available_micros <= 0 or total + micros > available_micros):
            break
        total += micros
        out.append(row)
        reserve.append(micros)
    return out, reserve


class SqlTx(AccountsSql):
    """The shared operations, run inside one transaction (with those of
    worker accounts and teams, `AccountsSql`)."""

    # Jobs whose label feed this transaction moved (a label event, a change of
    # state that ends or reopens streams): the store wakes their streams once
    # it has committed, so no write path can forget to.
    moved_jobs: frozenset[int] = frozenset()

    def feed_moved(self, job_id: int) -> None:
        self.moved_jobs = self.moved_jobs | {job_id}

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        raise NotImplementedError

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Runs an INSERT and returns the new row's id (`RETURNING id`, which
        SQLite has had since 3.35 and PostgreSQL always)."""
        row = self.one(f"{sql} RETURNING id", args)
        assert row is not None
        return int(row[0])

    def client(self, client_id: int) -> Row | None:
        return self.one("SELECT * FROM clients WHERE id = ?", (client_id,))

    def insert_credential(
        self, kind: int, owner_id: int, secret_hash: bytes, now: float, expires_at: float | None
    ) -> int:
        return self.insert(
            "INSERT INTO credentials (kind, owner_id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (kind, owner_id, secret_hash, now, expires_at),
        )

    def credential(self, credential_id: int) -> Row | None:
        return self.one("SELECT * FROM credentials WHERE id = ?", (credential_id,))

    def credentials_named(self, kind: int, ident: int) -> list[Row]:
        """The credential a token's id names: the row with that id, or, for a
        token made before the credentials table, its owner's legacy row."""
        return self.all(
            "SELECT * FROM credentials WHERE kind = ? AND id = ?"
            " UNION ALL SELECT * FROM credentials WHERE kind = ? AND owner_id = ? AND legacy = 1",
            (kind, ident, kind, ident),
        )

    def credentials_of(self, kind: int, owner_id: int | None, after_id: int, limit: int) -> list[Row]:
        if owner_id is None:
            return self.all(
                "SELECT * FROM credentials WHERE kind = ? AND id > ? ORDER BY id LIMIT ?",
                (kind, after_id, limit),
            )
        return self.all(
            "SELECT * FROM credentials WHERE kind = ? AND owner_id = ? AND id > ? ORDER BY id LIMIT ?",
            (kind, owner_id, after_id, limit),
        )

    def live_credentials_of(self, kind: int, owner_id: int, now: float) -> list[Row]:
        return self.all(
            "SELECT * FROM credentials WHERE kind = ? AND owner_id = ? AND revoked_at IS NULL"
            " AND (expires_at IS NULL OR expires_at > ?)",
            (kind, owner_id, now),
        )

    def revoke_credential(self, credential_id: int, now: float) -> None:
        self.run(
            "UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, credential_id)
        )

    def expire_credential(self, credential_id: int, at: float) -> None:
        """Moves a credential's expiry earlier, never later."""
        self.run(
            "UPDATE credentials SET expires_at = ? WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)",
            (at, credential_id, at),
        )

    def reserve_job_cost(self, job_id: int, key: str, micros: int, budget_micros: int, now: float) -> bool:
        """Reserves `micros` of the job's budget for a workforce's charge to
        come, once per `key` (a retry finds it reserved); False, reserving
        nothing, when the budget (0: none) less what is spent and reserved
        cannot pay it. What a reservation still holds is its row in job_costs."""
        ledger = RESERVED_COST + key
        if self.one("SELECT 1 FROM job_costs WHERE job_id = ? AND key = ?", (job_id, ledger)) is not None:
            return True
        job = self.job(job_id)
        if job is None:
            return False
        left = budget_micros - int(job["cost_micros"]) - int(job["reserved_micros"])
        if budget_micros and micros > left:
            return False
        self.run(
            "INSERT INTO job_costs (job_id, key, micros, reason, created_at) VALUES (?, ?, ?, ?, ?)",
            (job_id, ledger, micros, "reserved", now),
        )
        if micros:
            self.count_job(job_id, reserved_micros=micros)
        return True

    def release_job_cost(self, job_id: int, key: str, micros: int | None = None) -> int:
        """Frees `micros` (None: all) of what the reservation `key` still
        holds, never more than the job still has reserved; returns it."""
        ledger = RESERVED_COST + key
        row = self.one("SELECT micros FROM job_costs WHERE job_id = ? AND key = ?", (job_id, ledger))
        held = 0 if row is None else int(row[0])
        take = held if micros is None else min(max(micros, 0), held)
        if take <= 0:
            return 0
        self.run(
            "UPDATE job_costs SET micros = ? WHERE job_id = ? AND key = ?", (held - take, job_id, ledger)
        )
        job = self.job(job_id)
        freed = 0 if job is None else min(take, int(job["reserved_micros"]))
        if freed:
            self.count_job(job_id, reserved_micros=-freed)
        return take

    def add_job_cost(self, job_id: int, key: str, micros: int, reason: str, now: float) -> bool:
        """Records a cost once per key; says whether it was new."""
        fresh = self.run(
            "INSERT INTO job_costs (job_id, key, micros, reason, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (job_id, key) DO NOTHING",
            (job_id, key, micros, reason, now),
        )
        if fresh:
            self.count_job(job_id, cost_micros=micros)
        return bool(fresh)

    def has_open_items(self, job_id: int) -> bool:
        return (
            self.one(
                f"SELECT 1 FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 AND {shown('items.id')} LIMIT 1",
                (job_id, job_id),
            )
            is not None
        )

    def has_claimable(self, job_id: int) -> bool:
        """Whether an item waits for a push workforce to claim it."""
        return (
            self.one(
                "SELECT 1 FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
                f" AND done + leased < target AND {shown('items.id')} LIMIT 1",
                (job_id, job_id),
            )
            is not None
        )

    def next_work_row(self, job_id: int, worker_id: int, *, pilot: bool) -> Row | None:
        """The oldest open item the worker has never seen whose judgments plus
        leases are under its target, whole: the lease that follows needs its
        payload, and reading it here saves reading it again."""
        raise NotImplementedError

    def next_work_item(self, job_id: int, worker_id: int, *, pilot: bool = False) -> int | None:
        row = self.next_work_row(job_id, worker_id, pilot=pilot)
        return None if row is None else int(row["id"])

    def _row(self, table: str, row_id: int) -> Row | None:
        """A job's or a worker's row by id (`SqliteTx` keeps them for the transaction)."""
        return self.one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))

    def job(self, job_id: int) -> Row | None:
        return self._row("jobs", job_id)

    def all_jobs(self, before_id: int, limit: int) -> list[Row]:
        return self.all("SELECT * FROM jobs WHERE id < ? ORDER BY id DESC LIMIT ?", (before_id, limit))

    def set_job_spec(self, job_id: int, spec: dict[str, Any]) -> None:
        self.run("UPDATE jobs SET spec = ? WHERE id = ?", (json.dumps(spec), job_id))

    def update_job_spec(
        self, job_id: int, spec: dict[str, Any], *, new_instructions: bool, now: float
    ) -> None:
        """UpdateJob's write: the new spec, a new revision (so every replica's
        cached copy is stale), and a new instructions version when asked."""
        bump = 1 if new_instructions else 0
        self.run(
            "UPDATE jobs SET spec = ?, spec_revision = spec_revision + 1,"
            " instructions_version = instructions_version + ?, updated_at = ? WHERE id = ?",
            (json.dumps(spec), bump, now, job_id),
        )

    def retarget_open_items(self, job_id: int, target: int) -> None:
        """A new judgments_per_item for the items still open: raises each
        target below it (an item given extra judgments keeps its higher one);
        lowering is only asked before any judgment, when every target is the old value."""
        self.run(
            "UPDATE items SET target = ? WHERE job_id = ? AND state = 0 AND is_gold = 0"
            " AND (target < ? OR done = 0)",
            (target, job_id, target),
        )

    def work_item_ids(self, job_id: int) -> list[int]:
        """The ids of the job's non-gold items, in the order they were added."""
        rows = self.all("SELECT id FROM items WHERE job_id = ? AND is_gold = 0 ORDER BY id", (job_id,))
        return [int(r[0]) for r in rows]

    def mark_pilot(self, item_ids: Sequence[int]) -> None:
        for first in range(0, len(item_ids), 500):
            chunk = item_ids[first : first + 500]
            self.run(f"UPDATE items SET in_pilot = 1 WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    def set_pilot(self, job_id: int, until_item_id: int | None, size: int = 0) -> None:
        self.run(
            "UPDATE jobs SET pilot_until = ?, pilot_size = ? WHERE id = ?", (until_item_id, size, job_id)
        )

    def has_open_pilot_items(self, job_id: int, until_item_id: int) -> bool:
        return (
            self.one(
                "SELECT 1 FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 AND in_pilot = 1 LIMIT 1",
                (job_id,),
            )
            is not None
        )

    def set_end_reason(self, job_id: int, reason: int) -> None:
        self.run("UPDATE jobs SET end_reason = ? WHERE id = ?", (reason, job_id))

    def live_tasks_of_job(self, job_id: int) -> list[Row]:
        return self.all("SELECT * FROM tasks WHERE job_id = ? AND state = 1", (job_id,))

    def clear_reservations(self, job_id: int) -> None:
        self.run("UPDATE items SET reserved_micros = 0 WHERE job_id = ? AND reserved_micros > 0", (job_id,))
        self.run(
            "UPDATE job_costs SET micros = 0 WHERE job_id = ? AND key LIKE ? AND micros > 0",
            (job_id, RESERVED_COST + "%"),
        )
        self.run("UPDATE jobs SET reserved_micros = 0 WHERE id = ?", (job_id,))

    def free_item_reservations(self, job_id: int, keys: Sequence[str] | None = None) -> None:
        """Frees what push claims reserve on the given items, or on every item
        of the job that is no longer open (labeled or failed)."""
        args: list[Any] = [job_id]
        if keys is None:
            where = "job_id = ? AND state <> 0 AND reserved_micros > 0"
        else:
            if not keys:
                return
            marks = ",".join("?" * len(keys))
            where = f"job_id = ? AND key IN ({marks}) AND reserved_micros > 0"
            args += keys
        row = self.one(f"SELECT COALESCE(SUM(reserved_micros), 0) FROM items WHERE {where}", args)
        freed = 0 if row is None else int(row[0])
        if freed:
            self.run(f"UPDATE items SET reserved_micros = 0 WHERE {where}", args)
            self.count_job(job_id, reserved_micros=-freed)

    def jobs_of(self, owner_id: int, before_id: int, limit: int) -> list[Row]:
        return self.all(
            "SELECT * FROM jobs WHERE owner_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (owner_id, before_id, limit),
        )

    def set_job_state(self, job_id: int, state: int, now: float, reason: str = "") -> None:
        self.feed_moved(job_id)
        self.run(
            "UPDATE jobs SET state = ?, updated_at = ?, failure_reason = ? WHERE id = ?",
            (state, now, reason, job_id),
        )

    def count_job(self, job_id: int, **deltas: int) -> None:
        sets = ", ".join(f"{name} = {name} + ?" for name in deltas)
        self.run(f"UPDATE jobs SET {sets} WHERE id = ?", (*deltas.values(), job_id))

    def job_state_totals(self) -> dict[int, tuple[int, int, int]]:
        """Per job state: (jobs, judgments, labeled items), from the jobs' counters."""
        rows = self.all(
            "SELECT state, COUNT(*), COALESCE(SUM(judgments), 0), COALESCE(SUM(labeled_items), 0)"
            " FROM jobs GROUP BY state"
        )
        return {int(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}

    def open_leases_by_job(self) -> dict[int, int]:
        """Live leases per job, from the partial index of live tasks."""
        rows = self.all("SELECT job_id, COUNT(*) FROM tasks WHERE state = 1 GROUP BY job_id")
        return {int(r[0]): int(r[1]) for r in rows}

    def mark_pass(self, job_id: int, judgments: int) -> None:
        self.run("UPDATE jobs SET judgments_at_pass = ? WHERE id = ?", (judgments, job_id))

    def next_sequence(self, job_id: int) -> int:
        row = self.one(
            "UPDATE jobs SET last_sequence = last_sequence + 1 WHERE id = ? RETURNING last_sequence",
            (job_id,),
        )
        assert row is not None
        return int(row[0])

    def item(self, item_id: int) -> Row | None:
        return self.one("SELECT * FROM items WHERE id = ?", (item_id,))

    def item_by_key(self, job_id: int, key: str) -> Row | None:
        return self.one(
            f"SELECT * FROM items WHERE job_id = ? AND key = ? AND {shown('items.id')}", (job_id, key, job_id)
        )

    def gold_pools(self, job_id: int) -> dict[int, int]:
        """Gold items of the job by GoldUse value."""
        rows = self.all(
            f"SELECT gold_use, COUNT(*) FROM items WHERE job_id = ? AND is_gold = 1 AND {shown('items.id')}"
            " GROUP BY gold_use",
            (job_id, job_id),
        )
        return {int(r[0]): int(r[1]) for r in rows}

    def mark_gold_use(self, job_id: int, marks: Sequence[tuple[str, int]]) -> None:
        """Puts gold items (by key) in the pool their owner chose, unless they
        are in one already."""
        for key, use in marks:
            self.run(
                "UPDATE items SET gold_use = ? WHERE job_id = ? AND key = ? AND is_gold = 1 AND gold_use = 0",
                (use, job_id, key),
            )

    def explain_gold(self, job_id: int, explanations: Sequence[tuple[str, str]]) -> None:
        """Keeps each gold item's explanation (by key), unless it has one: a
        key sent again changes nothing."""
        for key, text in explanations:
            self.run(
                "UPDATE items SET gold_explanation = ? WHERE job_id = ? AND key = ? AND is_gold = 1"
                " AND gold_explanation IS NULL",
                (text, job_id, key),
            )

    def split_gold(self, job_id: int, to_quiz: int) -> None:
        """Puts the first `to_quiz` unmarked gold items (by id) in the quiz
        pool and the other unmarked ones in the hidden pool."""
        self.run(
            "UPDATE items SET gold_use = 1 WHERE id IN (SELECT id FROM items WHERE job_id = ? AND is_gold = 1"
            f" AND gold_use = 0 AND {shown('items.id')} ORDER BY id LIMIT ?)",
            (job_id, job_id, to_quiz),
        )
        self.run(
            "UPDATE items SET gold_use = 2 WHERE job_id = ? AND is_gold = 1 AND gold_use = 0"
            f" AND {shown('items.id')}",
            (job_id, job_id),
        )

    def hide_new_gold(self, job_id: int) -> None:
        """Puts a started job's unmarked gold (only what was just published can
        be unmarked: StartJob split the rest) in the hidden pool."""
        self.run(
            f"UPDATE items SET gold_use = 2 WHERE job_id = ? AND is_gold = 1 AND gold_use = 0 AND {shown('items.id')}",
            (job_id, job_id),
        )

    def mark_check(self, job_id: int, judgments: int) -> None:
        self.run("UPDATE jobs SET judgments_at_check = ? WHERE id = ?", (judgments, job_id))

    # uploads

    def begin_upload(self, job_id: int, now: float) -> int:
        return self.insert("INSERT INTO uploads (job_id, state, touched_at) VALUES (?, 0, ?)", (job_id, now))

    def touch_upload(self, upload_id: int, now: float) -> bool:
        """Renews an upload's heartbeat; False when it was swept as abandoned."""
        return self.run("UPDATE uploads SET touched_at = ? WHERE id = ?", (now, upload_id)) > 0

    def uploads_touched_before(self, before: float) -> list[Row]:
        return self.all("SELECT * FROM uploads WHERE touched_at < ? ORDER BY id", (before,))

    def claim_publish(self, upload_id: int, job_id: int, now: float) -> bool:
        """Makes the upload the job's one publishing upload, hiding every item
        inserted into the job from now on; False while another upload holds it."""
        row = self.one("SELECT hidden_from FROM jobs WHERE id = ?", (job_id,))
        if row is None or row[0] is not None:
            return False
        top = self.one("SELECT COALESCE(MAX(id), 0) FROM items")
        assert top is not None
        self.run("UPDATE jobs SET hidden_from = ? WHERE id = ?", (int(top[0]) + 1, job_id))
        self.run("UPDATE uploads SET state = 1, touched_at = ? WHERE id = ?", (now, upload_id))
        return True

    def publishing(self, job_id: int) -> bool:
        row = self.one("SELECT hidden_from FROM jobs WHERE id = ?", (job_id,))
        return row is not None and row[0] is not None

    def end_upload(self, upload_id: int) -> None:
        """Forgets a published upload; if it held its job's publishing slot,
        the items it published become visible."""
        row = self.one("SELECT job_id, state FROM uploads WHERE id = ?", (upload_id,))
        if row is not None and int(row["state"]) == 1:
            self.run("UPDATE jobs SET hidden_from = NULL WHERE id = ?", (int(row["job_id"]),))
        self.run("DELETE FROM uploads WHERE id = ?", (upload_id,))

    def drop_upload(self, upload_id: int, limit: int) -> int:
        """Deletes up to `limit` rows of an abandoned upload: first the items it
        published (still hidden), then its staged items (even if the upload's
        row is gone), and when none are left, the upload itself. Returns the
        rows deleted; 0 means all gone."""
        row = self.one(
            "SELECT u.job_id, u.state, j.hidden_from FROM uploads u LEFT JOIN jobs j ON j.id = u.job_id"
            " WHERE u.id = ?",
            (upload_id,),
        )
        deleted = 0
        if row is not None and int(row["state"]) == 1 and row["hidden_from"] is not None:
            deleted = self.run(
                "DELETE FROM items WHERE id IN (SELECT id FROM items WHERE id >= ? AND +job_id = ?"
                " AND routed_from IS NULL ORDER BY id LIMIT ?)",
                (int(row["hidden_from"]), int(row["job_id"]), limit),
            )
        if deleted < limit:
            deleted += self.run(
                "DELETE FROM upload_items WHERE upload_id = ? AND seq IN"
                " (SELECT seq FROM upload_items WHERE upload_id = ? ORDER BY seq LIMIT ?)",
                (upload_id, upload_id, limit - deleted),
            )
        if deleted == 0:
            self.end_upload(upload_id)
        return deleted

    def update_item(self, item_id: int, **values: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self.run(f"UPDATE items SET {sets} WHERE id = ?", (*values.values(), item_id))

    def expire_stale_items(self, job_id: int, created_before: float, reason: str) -> int:
        return self.run(
            "UPDATE items SET state = 2, failure_reason = ? WHERE job_id = ? AND state = 0 AND is_gold = 0"
            f" AND created_at < ? AND {shown('items.id')}",
            (reason, job_id, created_before, job_id),
        )

    def worker(self, worker_id: int) -> Row | None:
        return self._row("workers", worker_id)

    def worker_by_external(self, job_id: int, external_id: str) -> Row | None:
        return self.one("SELECT * FROM workers WHERE job_id = ? AND external_id = ?", (job_id, external_id))

    def pass_input(self, job_id: int) -> list[Row]:
        """Every counted judgment of the job, gold included, with what the core
        needs to re-consolidate it."""
        return self.all(
            "SELECT j.item_id, j.worker_id, j.answer, i.is_gold, i.gold, i.state, i.label_sequence"
            " FROM judgments j JOIN items i ON i.id = j.item_id WHERE j.job_id = ? AND j.excluded = 0",
            (job_id,),
        )

    def update_worker(self, worker_id: int, **values: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self.run(f"UPDATE workers SET {sets} WHERE id = ?", (*values.values(), worker_id))

    def task(self, task_id: int) -> Row | None:
        return self.one("SELECT * FROM tasks WHERE id = ?", (task_id,))

    def has_task(self, worker_id: int, item_id: int) -> bool:
        return (
            self.one("SELECT 1 FROM tasks WHERE worker_id = ? AND item_id = ?", (worker_id, item_id))
            is not None
        )

    def open_items(self, job_id: int) -> list[Row]:
        return self.all(
            f"SELECT * FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 AND {shown('items.id')} ORDER BY id",
            (job_id, job_id),
        )

    def claimed_open(self, job_id: int, adapter: str) -> list[Row]:
        return self.all(
            "SELECT * FROM items WHERE job_id = ? AND state = 0 AND claimed_by = ? ORDER BY id",
            (job_id, adapter),
        )

    def gold_rows(self, job_id: int, limit: int) -> list[Row]:
        return self.all(
            f"SELECT * FROM items WHERE job_id = ? AND is_gold = 1 AND {shown('items.id')} ORDER BY id LIMIT ?",
            (job_id, job_id, limit),
        )

    def live_task_of(self, worker_id: int) -> Row | None:
        return self.one(
            "SELECT * FROM tasks WHERE worker_id = ? AND state = 1 ORDER BY id LIMIT 1", (worker_id,)
        )

    def live_tasks_of(self, worker_id: int) -> list[Row]:
        return self.all("SELECT * FROM tasks WHERE worker_id = ? AND state = 1", (worker_id,))

    def finish_task(self, task_id: int, state: int, now: float, decline_reason: str | None = None) -> None:
        self.run(
            "UPDATE tasks SET state = ?, finished_at = ?, decline_reason = ? WHERE id = ?",
            (state, now, decline_reason, task_id),
        )

    def job_declines(self, job_id: int) -> list[Row]:
        """(worker_id, decline_reason) of every declined task of the job."""
        return self.all(
            "SELECT worker_id, decline_reason FROM tasks WHERE job_id = ? AND state = 5 ORDER BY id",
            (job_id,),
        )

    def insert_task_comment(self, job_id: int, task_id: int, worker_id: int, body: str, now: float) -> int:
        return self.insert(
            "INSERT INTO task_comments (job_id, task_id, worker_id, body, created_at) VALUES (?, ?, ?, ?, ?)",
            (job_id, task_id, worker_id, body, now),
        )

    def task_comment_count(self, task_id: int) -> int:
        row = self.one("SELECT COUNT(*) FROM task_comments WHERE task_id = ?", (task_id,))
        return int(row[0]) if row is not None else 0

    def task_comments(self, job_id: int, before_id: int | None, limit: int) -> list[Row]:
        """A page of the job's comments, newest first, with the commenting
        worker's name and the task's item key."""
        return self.all(
            "SELECT c.id, c.task_id, c.worker_id, c.body, c.created_at, w.display_name, i.key AS item_key"
            " FROM task_comments c JOIN workers w ON w.id = c.worker_id"
            " JOIN tasks t ON t.id = c.task_id JOIN items i ON i.id = t.item_id"
            " WHERE c.job_id = ? AND c.id < ? ORDER BY c.id DESC LIMIT ?",
            (job_id, before_id if before_id is not None else 2**62, limit),
        )

    def item_declines(self, job_id: int, item_id: int, limit: int) -> list[Row]:
        """One item's declined tasks, newest first, with the worker's name
        (through the job's declined tasks: few, and indexed)."""
        return self.all(
            "SELECT t.worker_id, t.decline_reason, t.finished_at, w.display_name"
            " FROM tasks t JOIN workers w ON w.id = t.worker_id"
            " WHERE t.job_id = ? AND t.state = 5 AND t.item_id = ? ORDER BY t.id DESC LIMIT ?",
            (job_id, item_id, limit),
        )

    def item_comments(self, job_id: int, item_id: int, limit: int) -> list[Row]:
        """One item's comments, newest first, as task_comments gives them."""
        return self.all(
            "SELECT c.id, c.task_id, c.worker_id, c.body, c.created_at, w.display_name, i.key AS item_key"
            " FROM task_comments c JOIN workers w ON w.id = c.worker_id"
            " JOIN tasks t ON t.id = c.task_id JOIN items i ON i.id = t.item_id"
            " WHERE c.job_id = ? AND t.item_id = ? ORDER BY c.id DESC LIMIT ?",
            (job_id, item_id, limit),
        )

    def set_batch(self, task_ids: Sequence[int], first: int) -> None:
        """Marks tasks leased together as one bulk-verification batch."""
        for task_id in task_ids:
            self.run("UPDATE tasks SET batch_of = ? WHERE id = ?", (first, task_id))

    def batch_tasks(self, first: int) -> list[Row]:
        """A batch's task rows, in the order the worker sees its items."""
        return self.all("SELECT * FROM tasks WHERE batch_of = ? ORDER BY id", (first,))

    def set_task_expiry(self, task_id: int, expires_at: float) -> None:
        self.run("UPDATE tasks SET expires_at = ? WHERE id = ?", (expires_at, task_id))

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
            " created_at, instructions_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " COALESCE((SELECT instructions_version FROM tasks WHERE id = ?),"
            " (SELECT instructions_version FROM jobs WHERE id = ?)))",
            (
                task_id,
                job_id,
                item_id,
                worker_id,
                json.dumps(answer),
                time_spent_ms,
                gold_correct,
                now,
                task_id,
                job_id,
            ),
        )

    def judgment(self, task_id: int) -> Row | None:
        return self.one("SELECT * FROM judgments WHERE task_id = ?", (task_id,))

    def item_judgments(self, item_id: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self.all(
            "SELECT worker_id, answer FROM judgments WHERE item_id = ? AND excluded = 0 ORDER BY task_id",
            (item_id,),
        )
        return [(int(r[0]), json.loads(r[1])) for r in rows]

    def job_judgments(self, job_id: int) -> list[Row]:
        """Counted judgments of the job's non-gold items, by item."""
        return self.all(
            "SELECT j.item_id, j.worker_id, j.answer, j.time_spent_ms, j.instructions_version"
            " FROM judgments j JOIN items i ON i.id = j.item_id"
            " WHERE j.job_id = ? AND j.excluded = 0 AND i.is_gold = 0 ORDER BY j.item_id",
            (job_id,),
        )

    def gold_judgments(self, job_id: int) -> list[Row]:
        """Counted, graded judgments of the job's gold items (quiz and hidden), by item
        then submission: what the reliability table is measured on."""
        return self.all(
            "SELECT j.item_id, j.worker_id, j.answer, j.gold_correct FROM judgments j"
            " JOIN items i ON i.id = j.item_id"
            " WHERE j.job_id = ? AND j.excluded = 0 AND i.is_gold = 1 AND j.gold_correct IS NOT NULL"
            " ORDER BY j.item_id, j.task_id",
            (job_id,),
        )

    def gold_by_version(self, job_id: int) -> dict[int, tuple[int, int]]:
        """Gold judgments and how many were right, by instructions version."""
        rows = self.all(
            "SELECT instructions_version, COUNT(*), SUM(gold_correct)"
            " FROM judgments WHERE job_id = ? AND gold_correct IS NOT NULL GROUP BY instructions_version",
            (job_id,),
        )
        return {int(r[0]): (int(r[1]), int(r[2] or 0)) for r in rows}

    def work_answers(self, job_id: int) -> list[Row]:
        """(item_id, worker_id, answer) of the job's counted judgments of
        non-gold items, in no order: the colluder check reads them all each
        time it runs."""
        return self.all(
            "SELECT j.item_id, j.worker_id, j.answer FROM judgments j JOIN items i ON i.id = j.item_id"
            " WHERE j.job_id = ? AND j.excluded = 0 AND i.is_gold = 0",
            (job_id,),
        )

    def verified(self, job_id: int) -> list[Row]:
        """(prelabel, prelabel_confidence, value, tie) of a verification
        job's labeled items, gold left out."""
        return self.all(
            "SELECT i.prelabel, i.prelabel_confidence, e.value, e.tie FROM items i"
            " JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            " WHERE i.job_id = ? AND i.is_gold = 0 AND i.prelabel IS NOT NULL",
            (job_id,),
        )

    def prelabeled(self, job_id: int) -> list[Row]:
        """Items with both a model pre-label and a human label (a label the
        model gave itself is no evidence of its precision)."""
        return self.all(
            "SELECT i.prelabel, i.prelabel_confidence, e.value FROM items i"
            " JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            " WHERE i.job_id = ? AND i.prelabel IS NOT NULL AND e.human <> 0",
            (job_id,),
        )

    def routable_items(self, job_id: int, min_confidence: float, after_id: int, limit: int) -> list[Row]:
        """Open pre-labeled items no human has touched yet (no judgment, lease
        or claim, no label), at or above `min_confidence`, in id order."""
        return self.all(
            "SELECT id, key, prelabel, prelabel_confidence, label_sequence, label_revision, state, routed_from"
            " FROM items"
            " WHERE job_id = ? AND id > ? AND state = 0 AND is_gold = 0 AND prelabel IS NOT NULL"
            " AND prelabel_confidence >= ? AND label_sequence IS NULL AND done = 0 AND leased = 0"
            f" AND claimed_by IS NULL AND {shown('items.id')} ORDER BY id LIMIT ?",
            (job_id, after_id, min_confidence, job_id, limit),
        )

    def model_accepted(self, job_id: int) -> list[Row]:
        """Items the model labeled: their key, the model's label and the
        current one (a human's, once an audit labeled the item)."""
        return self.all(
            "SELECT i.key, m.value AS model_value, e.value, e.human FROM label_events m"
            " JOIN items i ON i.id = m.item_id"
            " JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            " WHERE m.job_id = ? AND m.method = 'model'",
            (job_id,),
        )

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
        self.feed_moved(job_id)
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

    def insert_routed_item(self, job_id: int, source: Row, metadata: str, target: int, now: float) -> bool:
        """Adds an item forwarded from another job's item (`source`, its
        row) unless the job has its key already; says whether it was new."""
        return bool(
            self.run(
                "INSERT INTO items (job_id, key, payload_kind, payload, metadata, is_gold, target, created_at,"
                " routed_from, routed_from_job) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)"
                " ON CONFLICT (job_id, key) DO NOTHING",
                (
                    job_id,
                    source["key"],
                    source["payload_kind"],
                    source["payload"],
                    metadata,
                    target,
                    now,
                    int(source["id"]),
                    int(source["job_id"]),
                ),
            )
        )

    def routed_from(self, item_id: int) -> int | None:
        row = self.one("SELECT routed_from FROM items WHERE id = ?", (item_id,))
        return None if row is None or row[0] is None else int(row[0])

    def has_routed_open(self, job_id: int) -> bool:
        """Whether an item the job forwarded waits for its label in a live
        downstream job (its label will come back as a revision)."""
        return (
            self.one(
                "SELECT 1 FROM items d JOIN jobs j ON j.id = d.job_id"
                " WHERE d.routed_from_job = ? AND d.state = 0 AND j.state IN (1, 2, 3) LIMIT 1",
                (job_id,),
            )
            is not None
        )

    def current_labels(
        self,
        job_id: int,
        after_item_id: int,
        limit: int,
        *,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        method: str = "",
        human: bool | None = None,
        revised: bool = False,
        contested: bool = False,
    ) -> list[Row]:
        """The current label of each labeled item after `after_item_id`, by
        item; the conditions on the label's own columns are the SQL's, so a
        filtered page reads only matching rows."""
        where = ["i.job_id = ?", "i.label_sequence IS NOT NULL", "i.id > ?"]
        args: list[Any] = [job_id, after_item_id]
        if min_confidence is not None:
            where.append("e.confidence >= ?")
            args.append(min_confidence)
        if max_confidence is not None:
            where.append("e.confidence <= ?")
            args.append(max_confidence)
        if method:
            where.append("e.method = ?")
            args.append(method)
        if human is not None:
            where.append("e.human = ?")
            args.append(int(human))
        if revised:
            where.append("e.revision > 1")
        if contested:
            where.append("(e.tie <> 0 OR (e.judgment_count > 1 AND e.confidence < 1))")
        return self.all(
            "SELECT e.*, i.key AS item_key, i.metadata AS item_metadata, i.payload_kind, i.payload, i.id AS item_id"
            " FROM items i JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            f" WHERE {' AND '.join(where)} ORDER BY i.id LIMIT ?",
            (*args, limit),
        )

    def label_revisions(self, job_id: int, item_id: int, up_to_sequence: int, limit: int) -> list[Row]:
        """An item's label events, newest first: no index leads from an item
        to its events, so the scan is bounded by the item's current sequence."""
        return self.all(
            "SELECT e.*, i.key AS item_key, i.metadata AS item_metadata FROM label_events e"
            " JOIN items i ON i.id = e.item_id"
            " WHERE e.job_id = ? AND e.sequence <= ? AND e.item_id = ? ORDER BY e.sequence DESC LIMIT ?",
            (job_id, up_to_sequence, item_id, limit),
        )

    def judgment_page(
        self,
        job_id: int,
        after_task_id: int,
        limit: int,
        *,
        item_id: int | None = None,
        worker_id: int | None = None,
        instructions_version: int | None = None,
    ) -> list[Row]:
        """Raw judgments in submission (task id) order, with what the owner
        needs to read each one alone."""
        where, args = ["j.job_id = ?", "j.task_id > ?"], [job_id, after_task_id]
        if instructions_version is not None:
            where.append("j.instructions_version = ?")
            args.append(instructions_version)
        if item_id is not None:
            where.append("j.item_id = ?")
            args.append(item_id)
        if worker_id is not None:
            where.append("j.worker_id = ?")
            args.append(worker_id)
        return self.all(
            "SELECT j.task_id, j.worker_id, j.answer, j.time_spent_ms, j.gold_correct, j.excluded,"
            " j.created_at, j.instructions_version, i.key AS item_key, i.is_gold, t.phase, w.external_id, w.account_id"
            " FROM judgments j JOIN items i ON i.id = j.item_id JOIN tasks t ON t.id = j.task_id"
            " JOIN workers w ON w.id = j.worker_id"
            f" WHERE {' AND '.join(where)} ORDER BY j.task_id LIMIT ?",
            (*args, limit),
        )

    def export_items(self, job_id: int, after_item_id: int, limit: int) -> list[Row]:
        """Every item of the job (gold, open and failed too) with its current
        label's columns, NULL where it has none."""
        return self.all(
            "SELECT i.id AS item_id, i.key AS item_key, i.metadata AS item_metadata, i.payload_kind, i.payload,"
            " i.is_gold, i.failure_reason, e.value, e.confidence, e.probabilities, e.method, e.judgment_count,"
            " e.human, e.created_at"
            " FROM items i LEFT JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            f" WHERE i.job_id = ? AND i.id > ? AND {shown('i.id')} ORDER BY i.id LIMIT ?",
            (job_id, after_item_id, job_id, limit),
        )

    def label_event(self, job_id: int, sequence: int) -> Row | None:
        return self.one("SELECT * FROM label_events WHERE job_id = ? AND sequence = ?", (job_id, sequence))

    def adapter_named(self, name: str) -> Row | None:
        return self.one("SELECT * FROM adapters WHERE name = ?", (name,))

    def adapter(self, adapter_id: int) -> Row | None:
        return self.one("SELECT * FROM adapters WHERE id = ?", (adapter_id,))

    def insert_adapter(self, name: str, now: float) -> int:
        return self.insert("INSERT INTO adapters (name, created_at) VALUES (?, ?)", (name, now))

    def set_adapter_capabilities(self, adapter_id: int, capabilities: dict[str, Any]) -> None:
        self.run("UPDATE adapters SET capabilities = ? WHERE id = ?", (json.dumps(capabilities), adapter_id))

    def adapter_request(self, job_id: int, kind: str, request_id: str) -> Any | None:
        """The saved outcome of an adapter's call with this id, decoded; None if new."""
        row = self.one(
            "SELECT response FROM adapter_requests WHERE job_id = ? AND kind = ? AND request_id = ?",
            (job_id, kind, request_id),
        )
        return None if row is None else json.loads(row[0])

    def put_adapter_request(self, job_id: int, kind: str, request_id: str, response: Any, now: float) -> None:
        self.run(
            "INSERT INTO adapter_requests (job_id, kind, request_id, response, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (job_id, kind, request_id, json.dumps(response), now),
        )

    def adapter_state(self, job_id: int) -> dict[str, Any]:
        row = self.one("SELECT state FROM adapter_state WHERE job_id = ?", (job_id,))
        return {} if row is None else dict(json.loads(row[0]))

    def hold_sync_lease(self, job_id: int, owner: str, now: float, seconds: float) -> bool:
        """Takes or renews the job's sync lease for `owner` unless another owner
        holds it unexpired; says whether `owner` holds it now."""
        return self._hold_lease("sync_leases", job_id, owner, now, seconds)

    def hold_pass_lease(self, job_id: int, owner: str, now: float, seconds: float) -> bool:
        """The same for the job's consolidation pass."""
        return self._hold_lease("pass_leases", job_id, owner, now, seconds)

    def drop_pass_lease(self, job_id: int, owner: str) -> None:
        """Gives the pass lease up, if `owner` holds it, for any replica to take next."""
        self.run("DELETE FROM pass_leases WHERE job_id = ? AND owner = ?", (job_id, owner))

    def _hold_lease(self, table: str, job_id: int, owner: str, now: float, seconds: float) -> bool:
        self.run(
            f"INSERT INTO {table} (job_id, owner, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (job_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
            f" WHERE {table}.owner = excluded.owner OR {table}.expires_at < ?",
            (job_id, owner, now + seconds, now),
        )
        row = self.one(f"SELECT owner FROM {table} WHERE job_id = ?", (job_id,))
        return row is not None and row[0] == owner

    def insert_client(self, name: str, key_hash: bytes, now: float) -> int:
        return self.insert(
            "INSERT INTO clients (name, key_hash, created_at) VALUES (?, ?, ?)", (name, key_hash, now)
        )

    def insert_job(self, owner_id: int, spec: dict[str, Any], state: int, now: float) -> int:
        return self.insert(
            "INSERT INTO jobs (owner_id, spec, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (owner_id, json.dumps(spec), state, now, now),
        )

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
        return self.insert(
            "INSERT INTO tasks (job_id, item_id, worker_id, phase, state, leased_at, expires_at, reserved_micros,"
            " instructions_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " (SELECT instructions_version FROM jobs WHERE id = ?))",
            (job_id, item_id, worker_id, phase, state, now, expires_at, reserved_micros, job_id),
        )
