"""PostgreSQL's transactions: the operations whose SQL differs from SQLite's
(`PostgresTx`); the writer's are in `postgres_write`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from labelwire.server.store.postgres_lease import lease_sql
from labelwire.server.store.postgres_session import Row
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
from labelwire.server.store.sql import SqlTx, shown

if TYPE_CHECKING:
    import psycopg


@functools.cache
def _row_factory(cls: type[R]) -> Callable[[Any], Callable[[Sequence[Any]], R]]:
    """A psycopg row factory building `cls` from the row's values (`rows.maker`)."""
    make = maker(cls)
    return lambda _cursor: make


def placeholders(sql: str) -> str:
    """The shared operations (`sql.SqlTx`) are written with SQLite's `?`;
    psycopg wants `%s`. Nothing in our SQL uses `?` otherwise."""
    return sql.replace("?", "%s")


class PostgresTx(SqlTx):
    """The store's operations, run inside one transaction (the same as `SqliteTx`)."""

    PICK_LOCK = " FOR NO KEY UPDATE SKIP LOCKED"

    def __init__(self, conn: psycopg.Connection[Row], cur: psycopg.Cursor[Row] | None = None) -> None:
        self.conn = conn
        # One cursor for every statement: `conn.execute` makes a cursor per statement,
        # which cost as much client CPU as the rest of a short statement's round trip.
        self.cur = cur if cur is not None else conn.cursor()
        self._typed_cursors: dict[type[Any], psycopg.Cursor[Any]] = {}

    def _direct(self, written: str) -> None:
        """Called before a statement sent past `one`/`all`/`run` that writes the
        table `written` (the writer sends its held writes, forgets kept rows)."""

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        return self.cur.execute(placeholders(sql), args).fetchone()

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self.cur.execute(placeholders(sql), args).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.cur.execute(placeholders(sql), args).rowcount

    def one_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> R | None:
        row: R | None = self._typed(cls, sql, args).fetchone()
        return row

    def all_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> list[R]:
        rows: list[R] = self._typed(cls, sql, args).fetchall()
        return rows

    def _typed(self, cls: type[R], sql: str, args: Sequence[Any]) -> Any:
        """The statement's cursor, its rows made as `cls`: one cursor per record
        type for the transaction, as `cur` is for plain rows (a cursor per
        statement cost as much client CPU as a short statement's round trip)."""
        cursor = self._typed_cursors.get(cls)
        if cursor is None:
            cursor = self._typed_cursors[cls] = self.conn.cursor(row_factory=_row_factory(cls))  # type: ignore[arg-type]
        return cursor.execute(placeholders(sql), args)

    # clients

    # jobs

    def jobs_in_states(self, states: Iterable[int]) -> list[JobRow]:
        return job_rows(self.all(f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = ANY(%s)", (list(states),)))

    # items

    def stage_items(self, upload_id: int, rows: Sequence[tuple[Any, ...]], start: int) -> int:
        """Stages rows (key, kind, payload, metadata, prelabel, prelabel_confidence, gold),
        numbered from `start` in the stream; returns how many keys the upload repeated.

        By `COPY` when no row can conflict, which one read asks with the upload's
        hold (`_hold_upload`): COPY cannot skip a repeated key, and a failed COPY
        would abort the writer's whole group. A repeated key goes the slow way,
        an insert per row that skips it. Stages nothing once the upload is gone."""
        staged = [(upload_id, start + i, *r, int(r[6] is not None)) for i, r in enumerate(rows)]
        keys = [r[0] for r in rows]
        clash = self.one(
            "SELECT (SELECT count(*) FROM upload_items s WHERE s.upload_id = u.id"
            " AND (s.key = ANY(%s) OR s.seq BETWEEN %s AND %s)) FROM uploads u WHERE u.id = %s FOR KEY SHARE",
            (keys, start, start + len(rows) - 1, upload_id),
        )
        if clash is None:
            return 0
        if not int(clash[0]) and len(set(keys)) == len(keys):
            from psycopg.rows import tuple_row

            # a cursor of plain tuples: `_rows` cannot name a COPY's result
            with (
                self.conn.cursor(row_factory=tuple_row) as plain,
                plain.copy(
                    "COPY upload_items (upload_id, seq, key, payload_kind, payload, metadata, prelabel,"
                    " prelabel_confidence, gold, is_gold) FROM STDIN"
                ) as copy,
            ):
                for row in staged:
                    copy.write_row(row)
            return 0
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO upload_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                staged,
            )
            return len(rows) - cur.rowcount

    def _hold_upload(self, upload_id: int) -> bool:
        """Whether the upload is still there, its row held until the commit: with
        several writers a stage or publish that a cancelled stream left running
        may still commit after the drop that follows it (`drop_upload`) began,
        which would leave its rows behind."""
        return self.one("SELECT 1 FROM uploads WHERE id = %s FOR KEY SHARE", (upload_id,)) is not None

    def publish_items(
        self, upload_id: int, job_id: int, target: int, now: float, first: int, end: int
    ) -> tuple[int, int]:
        """Moves the staged items numbered [first, end) into the job, keys it
        already has excepted; returns (added, gold added), none once the upload is gone."""
        if not self._hold_upload(upload_id):
            return 0, 0
        added = []
        for gold in (0, 1):
            added.append(
                self.run(
                    "INSERT INTO items (job_id, key, payload_kind, payload, metadata, prelabel,"
                    " prelabel_confidence, gold, is_gold, target, created_at)"
                    " SELECT %s, key, payload_kind, payload, metadata, prelabel, prelabel_confidence, gold,"
                    " is_gold, %s, %s FROM upload_items WHERE upload_id = %s AND seq >= %s AND seq < %s"
                    " AND is_gold = %s ORDER BY seq ON CONFLICT (job_id, key) DO NOTHING",
                    (job_id, target, now, upload_id, first, end, gold),
                )
            )
        self.run(
            "DELETE FROM upload_items WHERE upload_id = %s AND seq >= %s AND seq < %s",
            (upload_id, first, end),
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
        """`next_work_row`, `insert_task` and `count_item(leased=1)` in one round
        trip (`postgres_lease`); (task id, the item's row) or None."""
        self._direct("items")
        self._direct("tasks")
        row = self.cur.execute(
            lease_sql(pilot),
            (
                job_id,
                job_id,
                worker_id,
                job_id,
                worker_id,
                phase,
                state,
                now,
                expires_at,
                reserved_micros,
                job_id,
            ),
        ).fetchone()
        if row is None:
            return None
        task_id, *item = row
        return int(task_id), ItemRow._make(item)

    def unseen_gold(self, job_id: int, worker_id: int, pools: Sequence[int], max_exposures: int) -> list[int]:
        """Gold items of the given pools (GoldUse values) the worker has never
        been shown and that are not retired (shown to `max_exposures` workers
        already; 0 means never retired), by id; the dispatcher draws one."""
        rows = self.all(
            "SELECT id FROM items i WHERE job_id = %s AND is_gold = 1 AND gold_use = ANY(%s)"
            f" AND (%s = 0 OR exposures < %s) AND {shown('i.id')}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = %s AND t.item_id = i.id)"
            " ORDER BY id LIMIT 1000",
            (job_id, list(pools), max_exposures, max_exposures, job_id, worker_id),
        )
        return [int(r[0]) for r in rows]

    def count_item(self, item_id: int, **deltas: int) -> None:
        sets = ", ".join(f"{name} = GREATEST({name} + %s, 0)" for name in deltas)
        self.later(f"UPDATE items SET {sets} WHERE id = %s", (*deltas.values(), item_id))

    def mark_claimed(self, adapter: str, fee_micros: int, rows: list[ItemRow], reserve: list[int]) -> None:
        if rows:
            self.run(
                "UPDATE items SET claimed_by = %s, leased = target - done, claim_fee_micros = %s,"
                " reserved_micros = data.micros FROM unnest(%s::bigint[], %s::bigint[]) AS data(id, micros)"
                " WHERE items.id = data.id",
                (adapter, fee_micros, [r.id for r in rows], reserve),
            )

    # workers

    def skills_of(self, worker_ids: Sequence[int]) -> dict[int, tuple[float | None, int, int]]:
        """(pass skill, gold answered, gold right) of each worker."""
        if not worker_ids:
            return {}
        rows = self.all(
            "SELECT id, skill, gold_answered, gold_correct FROM workers WHERE id = ANY(%s)",
            (list(worker_ids),),
        )
        return {int(r["id"]): (r["skill"], int(r["gold_answered"]), int(r["gold_correct"])) for r in rows}

    def set_skills(self, skills: dict[int, float]) -> None:
        if skills:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "UPDATE workers SET skill = %s WHERE id = %s", [(v, k) for k, v in skills.items()]
                )

    # tasks

    def return_items(self, job_id: int, keys: Sequence[str]) -> None:
        if keys:
            self.run(
                "UPDATE items SET claimed_by = NULL, leased = 0 WHERE job_id = %s AND key = ANY(%s) AND state = 0",
                (job_id, list(keys)),
            )

    def fail_items(self, job_id: int, keys: Sequence[str], reason: str) -> int:
        if not keys:
            return 0
        return self.run(
            "UPDATE items SET state = 2, failure_reason = %s, leased = 0"
            " WHERE job_id = %s AND key = ANY(%s) AND state = 0",
            (reason, job_id, list(keys)),
        )

    def expired_leases(self, job_id: int, now: float) -> list[TaskRow]:
        """Locks the leases it returns: two replicas sweeping at once would otherwise
        both expire one lease and give its item's slot back twice."""
        return self.all_as(
            TaskRow,
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE job_id = %s AND state = 1 AND expires_at < %s FOR UPDATE SKIP LOCKED",
            (job_id, now),
        )

    # judgments

    # labels

    def put_reference_label(
        self, item_id: int, value: dict[str, Any], confidence: float | None, method: str
    ) -> None:
        self.run(
            "INSERT INTO reference_labels VALUES (%s, %s, %s, %s) ON CONFLICT (item_id) DO UPDATE"
            " SET value = EXCLUDED.value, confidence = EXCLUDED.confidence, method = EXCLUDED.method",
            (item_id, json.dumps(value), confidence, method),
        )

    # adapters

    def put_adapter_state(self, job_id: int, state: dict[str, Any]) -> None:
        self.run(
            "INSERT INTO adapter_state VALUES (%s, %s) ON CONFLICT (job_id) DO UPDATE SET state = EXCLUDED.state",
            (job_id, json.dumps(state)),
        )
