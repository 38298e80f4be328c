"""Tasks (a worker's lease on an item), their batches, declines and comments."""

from __future__ import annotations

from collections.abc import Sequence

from labelwire.server.store.rows import TASK_COLUMNS, CommentRow, DeclineRow, TaskRow
from labelwire.server.store.rows_upkeep import JobDeclineRow
from labelwire.server.store.sql_base import SqlBase


class TasksSql(SqlBase):
    FINISH_TASK = "UPDATE tasks SET state = ?, finished_at = ?, decline_reason = ? WHERE id = ?"
    INSERT_TASK = (
        "INSERT INTO tasks (job_id, item_id, worker_id, phase, state, leased_at, expires_at, reserved_micros,"
        " instructions_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
        " (SELECT instructions_version FROM jobs WHERE id = ?)) RETURNING id"
    )

    def task(self, task_id: int) -> TaskRow | None:
        return self.one_as(TaskRow, f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))

    def has_task(self, worker_id: int, item_id: int) -> bool:
        return (
            self.one("SELECT 1 FROM tasks WHERE worker_id = ? AND item_id = ?", (worker_id, item_id))
            is not None
        )

    def live_task_of(self, worker_id: int) -> TaskRow | None:
        return self.one_as(
            TaskRow,
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE worker_id = ? AND state = 1 ORDER BY id LIMIT 1",
            (worker_id,),
        )

    def live_tasks_of(self, worker_id: int) -> list[TaskRow]:
        return self.all_as(
            TaskRow, f"SELECT {TASK_COLUMNS} FROM tasks WHERE worker_id = ? AND state = 1", (worker_id,)
        )

    def finish_task(self, task_id: int, state: int, now: float, decline_reason: str | None = None) -> None:
        self.later(self.FINISH_TASK, (state, now, decline_reason, task_id))

    def expired_leases(self, job_id: int, now: float) -> list[TaskRow]:
        """Locks the leases it returns on PostgreSQL (`PICK_LOCK`): two replicas
        sweeping at once would otherwise both expire one lease and give its
        item's slot back twice."""
        return self.all_as(
            TaskRow,
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE job_id = ? AND state = 1 AND expires_at < ?{self.PICK_LOCK}",
            (job_id, now),
        )

    def job_declines(self, job_id: int) -> list[JobDeclineRow]:
        """Every declined task of the job."""
        return self.all_as(
            JobDeclineRow,
            "SELECT worker_id, decline_reason FROM tasks WHERE job_id = ? AND state = 5 ORDER BY id",
            (job_id,),
        )

    def insert_task_comment(self, job_id: int, task_id: int, worker_id: int, body: str, now: float) -> int:
        return self.insert(
            "INSERT INTO task_comments (job_id, task_id, item_id, worker_id, body, created_at)"
            " SELECT ?, id, item_id, ?, ?, ? FROM tasks WHERE id = ?",
            (job_id, worker_id, body, now, task_id),
        )

    def task_comment_count(self, task_id: int) -> int:
        row = self.one("SELECT COUNT(*) FROM task_comments WHERE task_id = ?", (task_id,))
        return int(row[0]) if row is not None else 0

    def task_comments(self, job_id: int, before_id: int | None, limit: int) -> list[CommentRow]:
        """A page of the job's comments, newest first, with the commenting
        worker's name and the task's item key."""
        return self.all_as(
            CommentRow,
            "SELECT c.id, c.task_id, c.worker_id, c.body, c.created_at, w.display_name, i.key AS item_key"
            " FROM task_comments c JOIN workers w ON w.id = c.worker_id"
            " JOIN tasks t ON t.id = c.task_id JOIN items i ON i.id = t.item_id"
            " WHERE c.job_id = ? AND c.id < ? ORDER BY c.id DESC LIMIT ?",
            (job_id, before_id if before_id is not None else 2**62, limit),
        )

    def item_declines(self, job_id: int, item_id: int, limit: int) -> list[DeclineRow]:
        """One item's declined tasks, newest first, with the worker's name
        (index tasks_declined_by_item)."""
        return self.all_as(
            DeclineRow,
            "SELECT t.id, t.worker_id, t.decline_reason, t.finished_at, w.display_name, '' AS item_key"
            " FROM tasks t JOIN workers w ON w.id = t.worker_id"
            " WHERE t.job_id = ? AND t.state = 5 AND t.item_id = ? ORDER BY t.id DESC LIMIT ?",
            (job_id, item_id, limit),
        )

    def task_declines(self, job_id: int, before_id: int | None, limit: int) -> list[DeclineRow]:
        """A page of the job's declined tasks, newest first, with the
        worker's name and the item's key."""
        return self.all_as(
            DeclineRow,
            "SELECT t.id, t.worker_id, t.decline_reason, t.finished_at, w.display_name, i.key AS item_key"
            " FROM tasks t JOIN workers w ON w.id = t.worker_id JOIN items i ON i.id = t.item_id"
            " WHERE t.job_id = ? AND t.state = 5 AND t.id < ? ORDER BY t.id DESC LIMIT ?",
            (job_id, before_id if before_id is not None else 2**62, limit),
        )

    def item_comments(self, job_id: int, item_id: int, limit: int) -> list[CommentRow]:
        """One item's comments, newest first, as task_comments gives them
        (index task_comments_by_item)."""
        return self.all_as(
            CommentRow,
            "SELECT c.id, c.task_id, c.worker_id, c.body, c.created_at, w.display_name, i.key AS item_key"
            " FROM task_comments c JOIN workers w ON w.id = c.worker_id JOIN items i ON i.id = c.item_id"
            " WHERE c.job_id = ? AND c.item_id = ? ORDER BY c.id DESC LIMIT ?",
            (job_id, item_id, limit),
        )

    def set_batch(self, task_ids: Sequence[int], first: int) -> None:
        """Marks tasks leased together as one bulk-verification batch."""
        for task_id in task_ids:
            self.run("UPDATE tasks SET batch_of = ? WHERE id = ?", (first, task_id))

    def batch_tasks(self, first: int) -> list[TaskRow]:
        """A batch's task rows, in the order the worker sees its items."""
        return self.all_as(
            TaskRow, f"SELECT {TASK_COLUMNS} FROM tasks WHERE batch_of = ? ORDER BY id", (first,)
        )

    def set_task_expiry(self, task_id: int, expires_at: float) -> None:
        self.run("UPDATE tasks SET expires_at = ? WHERE id = ?", (expires_at, task_id))

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
        row = self.one(
            self.INSERT_TASK,
            (job_id, item_id, worker_id, phase, state, now, expires_at, reserved_micros, job_id),
        )
        assert row is not None
        return int(row[0])
