"""Open items' stored posteriors (the least-confident-first pick), a job's pass model and
its current labels counted by class (the prior a vote is weighed by)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from labelwire.server.store.rows import ITEM_COLUMNS, ItemRow
from labelwire.server.store.rows_upkeep import JOB_MODEL_COLUMNS, JobModelRow
from labelwire.server.store.sql_base import SqlBase, in_pilot, shown


class PosteriorsSql(SqlBase):
    def set_open_posterior(self, item_id: int, confidence: float, posterior: Sequence[float] | None) -> None:
        """Stores an open item's confidence and, for a single-class job, its posterior (class
        probabilities in the job's class order): the item joins the least-confident pick."""
        values = None if posterior is None else json.dumps([round(float(p), 6) for p in posterior])
        self.run(
            "UPDATE items SET open_confidence = ?, open_posterior = ? WHERE id = ?",
            (float(confidence), values, item_id),
        )

    def unsure_rows(self, job_id: int, worker_id: int, limit: int, *, pilot: bool) -> list[ItemRow]:
        """Up to `limit` open items with a stored posterior that the worker has never seen and
        whose judgments plus leases are under their target, least confident first (index
        `items_unsure`), whole. `+i.id`: with the id range usable, SQLite walked every open
        item of the job by `items_open` and sorted them, ~0.5 ms a lease on 6,000 items (a
        fifth of a target job's CPU; bench/README.md, "A target job's prior and pick")."""
        return self.all_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items i WHERE job_id = ? AND state = 0 AND is_gold = 0"
            " AND open_confidence IS NOT NULL AND claimed_by IS NULL"
            f" AND done + leased < target AND {shown('+i.id')}{in_pilot('i', pilot)}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = ? AND t.item_id = i.id)"
            f" ORDER BY open_confidence, id LIMIT ?{self.PICK_LOCK}",
            (job_id, job_id, worker_id, limit),
        )

    def save_job_model(
        self,
        job_id: int,
        stamp: int,
        method: str,
        classes: int,
        priors: bytes,
        workers: bytes,
        confusions: bytes,
    ) -> None:
        """Writes a job's pass model over the one before, under a new `stamp`."""
        self.run(
            "INSERT INTO job_models (job_id, stamp, method, classes, priors, workers, confusions)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET"
            " stamp = excluded.stamp, method = excluded.method, classes = excluded.classes,"
            " priors = excluded.priors, workers = excluded.workers, confusions = excluded.confusions",
            (job_id, stamp, method, classes, priors, workers, confusions),
        )

    def job_model_stamp(self, job_id: int) -> int | None:
        row = self.one("SELECT stamp FROM job_models WHERE job_id = ?", (job_id,))
        return None if row is None else int(row[0])

    def job_model_row(self, job_id: int) -> JobModelRow | None:
        return self.one_as(
            JobModelRow, f"SELECT {JOB_MODEL_COLUMNS} FROM job_models WHERE job_id = ?", (job_id,)
        )

    def count_classes(self, job_id: int, deltas: dict[str, int]) -> None:
        """Adds to the job's current labels counted by class (`job_class_counts`), in the
        transaction that changes them; in class order, so two writers lock the rows alike."""
        for name, delta in sorted(deltas.items()):
            if delta:
                self.run(CLASS_COUNT_UPSERT, (job_id, name, delta))

    def class_counts(self, job_id: int) -> dict[str, int]:
        """The job's current labels by class name, as this transaction sees them."""
        rows = self.all("SELECT class_name, labels FROM job_class_counts WHERE job_id = ?", (job_id,))
        return {str(r[0]): int(r[1]) for r in rows}


CLASS_COUNT_UPSERT = (
    "INSERT INTO job_class_counts (job_id, class_name, labels) VALUES (?, ?, ?)"
    " ON CONFLICT (job_id, class_name) DO UPDATE SET labels = job_class_counts.labels + excluded.labels"
)
"""One class's change of a job's label count; PostgreSQL's writer sends it at its flush."""
