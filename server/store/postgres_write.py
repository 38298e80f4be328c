"""PostgreSQL's writer transaction (`PostgresWriteTx`): it locks only what must
be ordered against other replicas, keeps the rows a lease or a submit reads
again, and sends the writes nobody reads the result of together."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from typing import Any

from labelwire.server.store.postgres_session import CLASS_KEY, Row, Session
from labelwire.server.store.postgres_tx import PostgresTx, placeholders
from labelwire.server.store.rows import (
    ITEM_COLUMNS,
    JOB_COLUMNS,
    TASK_COLUMNS,
    ItemRow,
    JobRow,
    R,
    TaskRow,
    WorkerRow,
    columns,
    field_names,
    job_row,
    worker_row,
)
from labelwire.server.store.sql_base import forget_written, written_table
from labelwire.server.store.sql_items import OPEN_ITEM

_NAMED_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)")


@functools.lru_cache(maxsize=512)
def _tables(sql: str) -> frozenset[str]:
    """The tables a statement reads or writes (those it names after FROM, JOIN, INTO, UPDATE)."""
    return frozenset(_NAMED_TABLE.findall(sql))


_WORKER_FIELDS = len(field_names(WorkerRow))
_TASK_FIELDS = len(TaskRow._fields)
_ITEM_END = _TASK_FIELDS + len(ItemRow._fields)

_TASK_ITEM_WORKER = (
    f"SELECT {columns(TaskRow, 't')}, {columns(ItemRow, 'i')}, {columns(WorkerRow, 'w')}"
    " FROM tasks t JOIN items i ON i.id = t.item_id JOIN workers w ON w.id = t.worker_id"
    " WHERE t.id = %s FOR NO KEY UPDATE OF i, w"
)

_WORKER_LIVE_TASK = (
    f"SELECT {columns(WorkerRow, 'w')}, {columns(TaskRow, 't')} FROM workers w LEFT JOIN LATERAL"
    f" (SELECT {TASK_COLUMNS} FROM tasks WHERE worker_id = w.id AND state = 1 ORDER BY id LIMIT 1) t ON true"
    " WHERE w.id = %s FOR NO KEY UPDATE OF w"
)


_ITEM_JUDGMENTS = (
    "SELECT j.task_id, j.worker_id, j.answer, w.skill, w.gold_answered, w.gold_correct FROM judgments j"
    " JOIN workers w ON w.id = j.worker_id WHERE j.item_id = %s AND j.excluded = 0"
)


def _held_ctes(
    later: Sequence[tuple[str, str, Sequence[Any]]], returning: dict[int, str] | None = None
) -> tuple[str, list[Any]]:
    """Held writes as the parts of one `WITH` (`held0`, `held1`, ...), those named in
    `returning` returning those columns for the statement that follows, and their arguments."""
    returning = returning or {}
    ctes = ", ".join(
        f"held{n} AS ({held} RETURNING {returning[n]})" if n in returning else f"held{n} AS ({held})"
        for n, (_, held, _) in enumerate(later)
    )
    return ctes, [value for _, _, held_args in later for value in held_args]


class PostgresWriteTx(PostgresTx):
    """The writer's operations: what must be ordered against other replicas
    waits on a row lock, held to the commit, and nothing else waits.

    - An item or worker read to decide on it (is this the item's last judgment,
      what are the worker's counts) is locked (`FOR NO KEY UPDATE`, which the
      foreign-key checks of tasks and judgments pointing at it do not wait
      for): two replicas judging one item take turns on that item alone.
      Leasing skips locked items (`next_work_row`).
    - Jobs' counters are counted in memory and written at the commit (`Session.flush`),
      so the job's row is locked only from then to the commit; `job` adds
      what this transaction counted to the row it reads. A job with a budget
      is locked when read, so that replicas cannot both spend its last micros.
    - The label feed's sequences are allocated at the commit, on the job's row
      locked until the commit: a second transaction allocating on the job waits,
      so sequences commit in the order they were allocated and a reader that
      sees sequence N has every event before it (no gap behind it fills later).
      Until then `next_sequence` hands out stand-ins (`Session.placeholder`),
      which the flush rewrites in the events and items, and in what the
      caller's work returned (a correction answers with its sequence).
    """

    def __init__(self, session: Session) -> None:
        super().__init__(session.conn, session.cur)
        self.session = session
        self._rows = session.rows
        self._later: list[tuple[str, str, Sequence[Any]]] = []
        self._versions: dict[int, int] = {}  # task id: instructions_version, read by `task`
        self._skills: dict[int, tuple[float | None, int, int]] | None = None  # by `item_judgments`
        self._plus: dict[int, tuple[JobRow, dict[str, int], JobRow]] = {}  # `job`'s last row with deltas

    def later(self, sql: str, args: Sequence[Any] = ()) -> None:
        """Holds a write whose result nobody reads until the next statement that
        must go (or the end of the caller's work, `send_deferred`): writes held
        together go as one statement, each but the last in a `WITH` (PostgreSQL
        runs them on one snapshot, so two that touch one table, or one that
        reads a table another writes, are not held together). A submit's three
        or four writes are then one round trip."""
        table = written_table(sql)
        assert table, sql
        if table == "jobs":  # the job's counted deltas must be flushed into it first (`_written`)
            self.run(sql, args)
            return
        if any(held in _tables(sql) for held, _, _ in self._later):
            self.send_deferred()
        if table == "workers":
            self._skills = None
        forget_written(self._rows, sql)
        self._later.append((table, placeholders(sql), args))

    def send_deferred(self) -> None:
        """Sends the held writes (`later`); a failure is the caller's work's, as
        if the write had gone at once."""
        if not self._later:
            return
        later, self._later = self._later, []
        *first, (_, last, last_args) = later
        if first:
            ctes, args = _held_ctes(first)
            self.cur.execute(f"WITH {ctes} {last}", [*args, *last_args])
        else:
            self.cur.execute(last, last_args)

    def _written(self, sql: str) -> None:
        """Forgets the kept rows a write statement may change; a statement that
        writes the jobs table must also find the counts made so far in it."""
        if "UPDATE jobs" in sql and (self.session.pending or self.session.op_pending):
            self.session.flush()
        forget_written(self._rows, sql)

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        self.send_deferred()
        self._skills = None
        self._written(sql)
        return super().one(sql, args)

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        self.send_deferred()
        self._skills = None
        self._written(sql)
        return super().all(sql, args)

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        self.send_deferred()
        self._skills = None
        self._written(sql)
        return super().run(sql, args)

    def one_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> R | None:
        self.send_deferred()
        self._skills = None
        self._written(sql)
        return super().one_as(cls, sql, args)

    def all_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> list[R]:
        self.send_deferred()
        self._skills = None
        self._written(sql)
        return super().all_as(cls, sql, args)

    def set_skills(self, skills: dict[int, float]) -> None:
        self.send_deferred()
        self._rows.clear()
        self._skills = None
        super().set_skills(skills)

    def stage_items(self, upload_id: int, rows: Sequence[tuple[Any, ...]], start: int) -> int:
        self.send_deferred()
        return super().stage_items(upload_id, rows, start)

    def drop_upload(self, upload_id: int, limit: int) -> int:
        """Waits first for a stage or publish of the upload still running on another
        writer (each holds the upload's row), so that what they add is seen and dropped."""
        self.one("SELECT 1 FROM uploads WHERE id = %s FOR UPDATE", (upload_id,))
        return super().drop_upload(upload_id, limit)

    def _direct(self, written: str) -> None:
        self.send_deferred()
        self._skills = None
        forget_written(self._rows, f"UPDATE {written}")

    def task(self, task_id: int) -> TaskRow | None:
        """The task, its item's and its worker's rows locked and kept for `item`
        and `worker` (until a write to their table): a submit reads the task, then
        locks its item and its worker, three round trips, and the held write of
        the task's state would go alone before the worker's read."""
        self.send_deferred()
        row = self.cur.execute(_TASK_ITEM_WORKER, (task_id,)).fetchone()
        if row is None:
            return None
        values = tuple(row)
        task = TaskRow._make(values[:_TASK_FIELDS])
        item = ItemRow._make(values[_TASK_FIELDS:_ITEM_END])
        self._rows[("items", item.id)] = item
        self._rows[("workers", task.worker_id)] = worker_row(values[_ITEM_END:])
        self._versions[task_id] = task.instructions_version
        return task

    def known_version(self, task_id: int) -> int | None:
        """As `task` read it (a task's never changes): the judgment's insert then
        reads no table, and goes in one statement with the task's held update
        (`later` keeps apart a read of a table a held write changed)."""
        return self._versions.get(task_id)

    def live_task_of(self, worker_id: int) -> TaskRow | None:
        """The worker's live lease as `worker` read it with the worker's row, once
        (NextTask reads both, one round trip); else asked for."""
        key = ("tasks", worker_id)
        if key in self._rows:
            row: TaskRow | None = self._rows.pop(key)
            return row
        return super().live_task_of(worker_id)

    def item_judgments(self, item_id: int) -> list[tuple[int, dict[str, Any]]]:
        """With its judges' skills, kept for the `skills_of` that labeling the item
        asks next (one round trip where there were two); in one statement with the
        held writes of the submit that completed the item (`_with_held_judgments`)."""
        sql, args = self._with_held_judgments(item_id)
        if not sql:
            self.send_deferred()
            sql, args = f"{_ITEM_JUDGMENTS} ORDER BY j.task_id", [item_id]
        rows = self.cur.execute(sql, args).fetchall()
        self._skills = {int(r[1]): (r[3], int(r[4]), int(r[5])) for r in rows}
        return [(int(r[1]), json.loads(r[2])) for r in rows]

    def _with_held_judgments(self, item_id: int) -> tuple[str, list[Any]]:
        """The read of the item's judgments after the held writes, as one statement:
        each held write in a `WITH`, and the judgments a held insert adds (which the
        statement's own read of `judgments` does not see: every part of it reads one
        snapshot) taken from that insert's `RETURNING`. Only when no held write
        changes workers or changes judgments otherwise than by inserting them; else
        ("", []) and the held writes go first."""
        if not self._later:
            return "", []
        inserts = []
        for n, (table, held, _) in enumerate(self._later):
            if table == "judgments":
                if not held.startswith("INSERT INTO judgments") or "RETURNING" in held:
                    return "", []
                inserts.append(n)
            elif table == "workers":
                return "", []
        if not inserts:
            return "", []
        later, self._later = self._later, []
        ctes, args = _held_ctes(
            later, dict.fromkeys(inserts, "task_id, worker_id, answer, item_id, excluded")
        )
        added = "".join(
            f" UNION ALL SELECT h.task_id, h.worker_id, h.answer, w.skill, w.gold_answered, w.gold_correct"
            f" FROM held{n} h JOIN workers w ON w.id = h.worker_id WHERE h.item_id = %s AND h.excluded = 0"
            for n in inserts
        )
        sql = f"WITH {ctes} {_ITEM_JUDGMENTS}{added} ORDER BY 1"
        return sql, [*args, item_id, *([item_id] * len(inserts))]

    def has_open_items(self, job_id: int) -> bool:
        """In one statement with the held writes (a label's event and its item's
        update, which come just before): the items a held `UPDATE items` changed
        are read as it returns them, the others as the statement's snapshot has
        them. Only when the held writes touch no other table this reads. It
        counts up to `END_WATCH + 1` of them, for `_any_left`'s end-of-job check."""
        if not self._later or any(
            table == "jobs"
            or (table == "items" and (not held.startswith("UPDATE items SET") or "RETURNING" in held))
            for table, held, _ in self._later
        ):
            return super().has_open_items(job_id)
        later, self._later = self._later, []
        self._skills = None
        updated = [n for n, (table, _, _) in enumerate(later) if table == "items"]
        ctes, args = _held_ctes(
            later, dict.fromkeys(updated, "items.id, items.job_id, items.state, items.is_gold")
        )
        where = placeholders(OPEN_ITEM)
        untouched = "".join(f" AND items.id NOT IN (SELECT id FROM held{n})" for n in updated)
        changed = "".join(f" UNION ALL SELECT 1 FROM held{n} items WHERE {where}" for n in updated)
        row = self.cur.execute(
            f"WITH {ctes} SELECT COUNT(*) FROM (SELECT 1 FROM items WHERE {where}{untouched}{changed}"
            f" LIMIT {self.END_WATCH + 1}) AS left_rows",
            [*args, job_id, job_id, *([job_id, job_id] * len(updated))],
        ).fetchone()
        counted = 0 if row is None else int(row[0])
        return self._any_left(
            job_id, f"SELECT 1 FROM items WHERE {OPEN_ITEM}", (job_id, job_id), counted=counted
        )

    def skills_of(self, worker_ids: Sequence[int]) -> dict[int, tuple[float | None, int, int]]:
        kept, self._skills = self._skills, None
        if kept is not None and set(worker_ids) <= kept.keys() and not self._later:
            return {worker_id: kept[worker_id] for worker_id in worker_ids}
        return super().skills_of(worker_ids)

    def count_job(self, job_id: int, **deltas: int) -> None:
        held = self.session.op_pending.setdefault(job_id, {})
        for name, delta in deltas.items():
            held[name] = held.get(name, 0) + delta

    def count_classes(self, job_id: int, deltas: dict[str, int]) -> None:
        """Held with the job's counters to the commit's flush (`Session.flush`): written at
        once, a class's row would stay locked to the commit and the job's writers queue on it."""
        self.count_job(job_id, **{f"{CLASS_KEY}{name}": delta for name, delta in deltas.items()})

    def job_model_stamp(self, job_id: int) -> int | None:
        """Kept for the group as the job's row is: every lease of a target job asks (a round
        trip each); a write of `job_models` (a pass saving its model) drops it."""
        key = ("job_models", job_id)
        if key in self._rows:
            kept: int | None = self._rows[key]
            return kept
        stamp = self._rows[key] = super().job_model_stamp(job_id)
        return stamp

    def class_counts(self, job_id: int) -> dict[str, int]:
        """The committed counts are kept for the group as the job's row is (`Session.rows`, read
        as of the group's first read, dropped at a flush or a rollback): every vote of a target
        job reads them, and this transaction's own changes are added from its held counts."""
        key = ("job_class_counts", job_id)
        committed: dict[str, int] | None = self._rows.get(key)
        if committed is None:
            committed = self._rows[key] = super().class_counts(job_id)
        counts = dict(committed)
        for name, delta in self.session.class_deltas(job_id).items():
            counts[name] = counts.get(name, 0) + delta
        return counts

    def gold_records(self, job_id: int, quiz: bool) -> list[tuple[tuple[int, int], int]]:
        """Kept for the group as the job's class counts are (as of the group's first read):
        every item a majority-vote job labels asks (`labels.items.job_gold_pool`), a round
        trip each, and one gold answer moves the prior they give by a hair."""
        key = ("quiz_records" if quiz else "gold_records", job_id)
        kept: list[tuple[tuple[int, int], int]] | None = self._rows.get(key)
        if kept is None:
            kept = self._rows[key] = super().gold_records(job_id, quiz)
        return kept

    def job(self, job_id: int) -> JobRow | None:
        key = ("jobs", job_id)
        row: JobRow | None
        if key in self._rows:
            row = self._rows[key]
        else:
            self.send_deferred()
            row = job_row(
                self.cur.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = %s", (job_id,)).fetchone()
            )
            if row is not None and json.loads(row.spec).get("budget_micros"):
                row = job_row(
                    self.cur.execute(
                        f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = %s FOR NO KEY UPDATE", (job_id,)
                    ).fetchone()
                )
            self._rows[key] = row
        deltas = self.session.deltas(job_id)
        if row is None or not deltas:
            return row
        made = self._plus.get(job_id)  # a caller asks three times or more, counts mostly unchanged
        if made is not None and made[0] is row and made[1] == deltas:
            return made[2]
        plus = row.plus(deltas)
        self._plus[job_id] = (row, deltas, plus)
        return plus

    END_WATCH = 32

    def _hold_job_end(self, job_id: int) -> None:
        """Locks the job's row to the commit, read again for `job`: a write that
        ends the job decides on a state another writer may just have changed."""
        self.send_deferred()
        row = self.cur.execute(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = %s FOR NO KEY UPDATE", (job_id,)
        ).fetchone()
        self._rows[("jobs", job_id)] = job_row(row)

    def next_sequence(self, job_id: int) -> int:
        sequence = self.session.placeholder(job_id)
        self.count_job(job_id, last_sequence=1)
        return sequence

    def item(self, item_id: int) -> ItemRow | None:
        kept: ItemRow | None = self._rows.get(("items", item_id))
        if kept is not None:
            return kept
        return self.one_as(
            ItemRow, f"SELECT {ITEM_COLUMNS} FROM items WHERE id = %s FOR NO KEY UPDATE", (item_id,)
        )

    def worker(self, worker_id: int) -> WorkerRow | None:
        key = ("workers", worker_id)
        if key not in self._rows:
            self.send_deferred()
            row = self.cur.execute(_WORKER_LIVE_TASK, (worker_id,)).fetchone()
            if row is None:
                self._rows[key] = None
            else:
                values = tuple(row)
                split = _WORKER_FIELDS
                self._rows[key] = worker_row(values[:split])
                self._rows[("tasks", worker_id)] = (
                    None if values[split] is None else TaskRow._make(values[split:])
                )
        worker: WorkerRow | None = self._rows[key]
        return worker
