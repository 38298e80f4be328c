"""A job's items: what is open and claimable, gold, pilot marks and expiry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from labelwire.server.store.rows import ITEM_COLUMNS, ItemRow
from labelwire.server.store.sql_base import SqlBase, affordable_claims, chunked, in_pilot, shown

OPEN_ITEM = f"job_id = ? AND state = 0 AND is_gold = 0 AND {shown('items.id')}"
"""An open item of a job that a worker may still judge; takes the job id twice."""


class ItemsSql(SqlBase):
    def has_open_items(self, job_id: int) -> bool:
        """In a writer's transaction, exact against other writers closing the last ones (`_any_left`)."""
        return self._any_left(job_id, f"SELECT 1 FROM items WHERE {OPEN_ITEM}", (job_id, job_id))

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

    def next_work_row(self, job_id: int, worker_id: int, *, pilot: bool) -> ItemRow | None:
        """The oldest open item the worker has never seen whose judgments plus
        leases are under its target, whole: the lease that follows needs its
        payload, and reading it here saves reading it again."""
        return self.one_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items i WHERE job_id = ? AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            f" AND done + leased < target AND {shown('i.id')}{in_pilot('i', pilot)}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = ? AND t.item_id = i.id)"
            f" ORDER BY id LIMIT 1{self.PICK_LOCK}",
            (job_id, job_id, worker_id),
        )

    def claim_items(
        self,
        job_id: int,
        adapter: str,
        limit: int,
        price_micros: int = 0,
        fee_micros: int = 0,
        available_micros: int | None = None,
    ) -> list[ItemRow]:
        """Claims up to `limit` items, only as many whole items as
        `available_micros` pays for (None: no budget), each reserving its
        wanted judgments at price plus fee; returns the claimed rows as they
        were before the claim."""
        rows = self.all_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            f" AND done + leased < target AND {shown('items.id')} ORDER BY id LIMIT ?{self.PICK_LOCK}",
            (job_id, job_id, limit),
        )
        rows, reserve = affordable_claims(rows, price_micros + fee_micros, available_micros)
        self.mark_claimed(adapter, fee_micros, rows, reserve)
        return rows

    def mark_claimed(self, adapter: str, fee_micros: int, rows: list[ItemRow], reserve: list[int]) -> None:
        """Marks `rows` claimed by `adapter`, each reserving its `reserve` micros:
        each store writes the batch its own way."""
        raise NotImplementedError

    def next_work_rows(
        self, job_id: int, worker_id: int, after_id: int, limit: int, *, pilot: bool
    ) -> list[ItemRow]:
        """Like `next_work_row`, up to `limit` rows past item `after_id`: the
        candidates a bulk-verification batch is filled from."""
        return self.all_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items i WHERE job_id = ? AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            f" AND id > ? AND done + leased < target AND {shown('i.id')}{in_pilot('i', pilot)}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = ? AND t.item_id = i.id)"
            f" ORDER BY id LIMIT ?{self.PICK_LOCK}",
            (job_id, after_id, job_id, worker_id, limit),
        )

    def next_work_item(self, job_id: int, worker_id: int, *, pilot: bool = False) -> int | None:
        row = self.next_work_row(job_id, worker_id, pilot=pilot)
        return None if row is None else row.id

    def retarget_open_items(self, job_id: int, target: int) -> None:
        """A new floor (`JobSpec.floor`) for the items still open: raises each
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

    def item(self, item_id: int) -> ItemRow | None:
        return self.one_as(ItemRow, f"SELECT {ITEM_COLUMNS} FROM items WHERE id = ?", (item_id,))

    def item_by_key(self, job_id: int, key: str) -> ItemRow | None:
        return self.one_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items WHERE job_id = ? AND key = ? AND {shown('items.id')}",
            (job_id, key, job_id),
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

    def update_item(self, item_id: int, **values: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self.later(f"UPDATE items SET {sets} WHERE id = ?", (*values.values(), item_id))

    def expire_stale_items(self, job_id: int, created_before: float, reason: str) -> int:
        return self.run(
            "UPDATE items SET state = 2, failure_reason = ? WHERE job_id = ? AND state = 0 AND is_gold = 0"
            f" AND created_at < ? AND {shown('items.id')}",
            (reason, job_id, created_before, job_id),
        )

    def open_items(self, job_id: int) -> list[ItemRow]:
        return self.all_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items WHERE job_id = ? AND state = 0 AND is_gold = 0 AND {shown('items.id')} ORDER BY id",
            (job_id, job_id),
        )

    def claimed_open(self, job_id: int, adapter: str) -> list[ItemRow]:
        return self.all_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items WHERE job_id = ? AND state = 0 AND claimed_by = ? ORDER BY id",
            (job_id, adapter),
        )

    def gold_rows(self, job_id: int, limit: int) -> list[ItemRow]:
        return self.all_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items WHERE job_id = ? AND is_gold = 1 AND {shown('items.id')} ORDER BY id LIMIT ?",
            (job_id, job_id, limit),
        )

    def unseen_gold(self, job_id: int, worker_id: int, pools: Sequence[int], max_exposures: int) -> list[int]:
        """Gold items of the given pools (GoldUse values) the worker has never
        been shown and that are not retired (shown to `max_exposures` workers
        already; 0 means never retired), by id; the dispatcher draws one."""
        in_pools, pool_args = self._one_of("gold_use", pools)
        rows = self.all(
            f"SELECT id FROM items i WHERE job_id = ? AND is_gold = 1 AND {in_pools}"
            f" AND (? = 0 OR exposures < ?) AND {shown('i.id')}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = ? AND t.item_id = i.id)"
            " ORDER BY id LIMIT 1000",
            (job_id, *pool_args, max_exposures, max_exposures, job_id, worker_id),
        )
        return [int(r[0]) for r in rows]

    def return_items(self, job_id: int, keys: Sequence[str]) -> None:
        """Gives a workforce's claims on these open items back to the queue."""
        for some in chunked(keys):
            where, args = self._one_of("key", some)
            self.run(
                f"UPDATE items SET claimed_by = NULL, leased = 0 WHERE job_id = ? AND {where} AND state = 0",
                (job_id, *args),
            )

    def fail_items(self, job_id: int, keys: Sequence[str], reason: str) -> int:
        """Fails these open items with `reason`; how many were open."""
        failed = 0
        for some in chunked(keys):
            where, args = self._one_of("key", some)
            failed += self.run(
                f"UPDATE items SET state = 2, failure_reason = ?, leased = 0 WHERE job_id = ? AND {where} AND state = 0",
                (reason, job_id, *args),
            )
        return failed

    def put_reference_label(
        self, item_id: int, value: dict[str, Any], confidence: float | None, method: str
    ) -> None:
        self.run(
            "INSERT INTO reference_labels VALUES (?, ?, ?, ?) ON CONFLICT (item_id) DO UPDATE"
            " SET value = excluded.value, confidence = excluded.confidence, method = excluded.method",
            (item_id, json.dumps(value), confidence, method),
        )
