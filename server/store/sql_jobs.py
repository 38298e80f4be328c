"""Jobs: their rows, spec, state, pilot and counters."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from labelwire.server.store.rows import JOB_COLUMNS, TASK_COLUMNS, JobRow, TaskRow, job_rows
from labelwire.server.store.sql_base import RESERVED_COST, SqlBase, shown


class JobsSql(SqlBase):
    def live_counts(self, job_id: int) -> tuple[int, int, int, int]:
        """(unlabeled, in progress, qualified workers, disqualified workers)."""
        items = self.one(
            "SELECT COUNT(*) FILTER (WHERE leased = 0), COUNT(*) FILTER (WHERE leased > 0) FROM items"
            f" WHERE job_id = ? AND state = 0 AND is_gold = 0 AND {shown('items.id')}",
            (job_id, job_id),
        )
        workers = self.one(
            "SELECT COUNT(*) FILTER (WHERE status = 2), COUNT(*) FILTER (WHERE status IN (3, 4))"
            " FROM workers WHERE job_id = ?",
            (job_id,),
        )
        assert items is not None and workers is not None
        return int(items[0]), int(items[1]), int(workers[0]), int(workers[1])

    def job(self, job_id: int) -> JobRow | None:
        row: JobRow | None = self._row("jobs", job_id)
        return row

    def all_jobs(self, before_id: int, limit: int) -> list[JobRow]:
        return job_rows(
            self.all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE id < ? ORDER BY id DESC LIMIT ?", (before_id, limit)
            )
        )

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

    def set_pilot(self, job_id: int, until_item_id: int | None, size: int = 0) -> None:
        self.run(
            "UPDATE jobs SET pilot_until = ?, pilot_size = ? WHERE id = ?", (until_item_id, size, job_id)
        )

    def has_open_pilot_items(self, job_id: int, until_item_id: int) -> bool:
        """Exact against other writers closing the last ones, as `has_open_items`."""
        return self._any_left(
            job_id,
            "SELECT 1 FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 AND in_pilot = 1",
            (job_id,),
        )

    def set_end_reason(self, job_id: int, reason: int) -> None:
        self.run("UPDATE jobs SET end_reason = ? WHERE id = ?", (reason, job_id))

    def live_tasks_of_job(self, job_id: int) -> list[TaskRow]:
        return self.all_as(
            TaskRow, f"SELECT {TASK_COLUMNS} FROM tasks WHERE job_id = ? AND state = 1", (job_id,)
        )

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

    def jobs_in_states(self, states: Iterable[int]) -> list[JobRow]:
        where, args = self._one_of("state", tuple(states))
        return job_rows(self.all(f"SELECT {JOB_COLUMNS} FROM jobs WHERE {where}", args))

    def jobs_of(self, owner_id: int, before_id: int, limit: int) -> list[JobRow]:
        return job_rows(
            self.all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE owner_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                (owner_id, before_id, limit),
            )
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

    def insert_job(self, owner_id: int, spec: dict[str, Any], state: int, now: float) -> int:
        return self.insert(
            "INSERT INTO jobs (owner_id, spec, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (owner_id, json.dumps(spec), state, now, now),
        )
