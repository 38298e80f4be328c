"""PostgreSQL's transactions: the operations whose SQL differs from SQLite's
(`PostgresTx`); the writer's are in `postgres_write`."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labelwire.server.store.postgres_cursor import LeanCursor
from labelwire.server.store.postgres_lease import lease_sql
from labelwire.server.store.postgres_session import Row
from labelwire.server.store.rows import (
    ItemRow,
    R,
    maker,
)
from labelwire.server.store.sql import SqlTx

if TYPE_CHECKING:
    import psycopg


_maker = functools.cache(maker)


def placeholders(sql: str) -> str:
    """The shared operations (`sql.SqlTx`) are written with SQLite's `?`;
    psycopg wants `%s`. Nothing in our SQL uses `?` otherwise."""
    return sql.replace("?", "%s")


class PostgresTx(SqlTx):
    """The store's operations, run inside one transaction (the same as `SqliteTx`)."""

    PICK_LOCK = " FOR NO KEY UPDATE SKIP LOCKED"

    def __init__(self, conn: psycopg.Connection[Row], cur: LeanCursor) -> None:
        self.conn = conn
        # One cursor for every statement: `conn.execute` makes a cursor per statement,
        # which cost as much client CPU as the rest of a short statement's round trip.
        self.cur = cur

    def _one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def _direct(self, written: str) -> None:
        """Called before a statement sent past `one`/`all`/`run` that writes the
        table `written` (the writer sends its held writes, forgets kept rows)."""

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.cur.execute(placeholders(sql), args).fetchone()
        return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self.cur.execute(placeholders(sql), args).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.cur.execute(placeholders(sql), args).rowcount

    def one_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> R | None:
        row: R | None = self.cur.execute(placeholders(sql), args).fetchone(_maker(cls))
        return row

    def all_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> list[R]:
        rows: list[R] = self.cur.execute(placeholders(sql), args).fetchall(_maker(cls))
        return rows

    # items

    def _stage_fast(self, upload_id: int, rows: Sequence[tuple[Any, ...]], start: int) -> int | None:
        """By `COPY` when no row can conflict, which one read asks with the upload's
        hold (`_hold_upload`): COPY cannot skip a repeated key, and a failed COPY
        would abort the writer's whole group. A repeated key goes the shared way
        (None), inserts that skip it. Stages nothing once the upload is gone."""
        keys = [r[0] for r in rows]
        clash = self.one(
            "SELECT (SELECT count(*) FROM upload_items s WHERE s.upload_id = u.id"
            " AND (s.key = ANY(?) OR s.seq BETWEEN ? AND ?)) FROM uploads u WHERE u.id = ? FOR KEY SHARE",
            (keys, start, start + len(rows) - 1, upload_id),
        )
        if clash is None:
            return 0
        if int(clash[0]) or len(set(keys)) != len(keys):
            return None
        from psycopg.rows import tuple_row

        # a cursor of plain tuples: `_rows` cannot name a COPY's result
        with (
            self.conn.cursor(row_factory=tuple_row) as plain,
            plain.copy(
                "COPY upload_items (upload_id, seq, key, payload_kind, payload, metadata, prelabel,"
                " prelabel_confidence, gold, is_gold) FROM STDIN"
            ) as copy,
        ):
            for i, r in enumerate(rows):
                copy.write_row((upload_id, start + i, *r, int(r[6] is not None)))
        return 0

    def _hold_upload(self, upload_id: int) -> bool:
        """Whether the upload is still there, its row held until the commit: with
        several writers a stage or publish that a cancelled stream left running
        may still commit after the drop that follows it (`drop_upload`) began,
        which would leave its rows behind."""
        return self.one("SELECT 1 FROM uploads WHERE id = ? FOR KEY SHARE", (upload_id,)) is not None

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

    def set_skills(self, skills: dict[int, float]) -> None:
        if skills:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "UPDATE workers SET skill = %s WHERE id = %s", [(v, k) for k, v in skills.items()]
                )
