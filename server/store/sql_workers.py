"""A job's workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelwire.server.domain.model import WorkerStatus
from labelwire.server.store.rows import WORKER_COLUMNS, PassInputRow, WorkerRow, worker_row, worker_rows
from labelwire.server.store.rows_upkeep import ROUTING_WORKER_COLUMNS, RoutingWorkerRow
from labelwire.server.store.sql_base import SqlBase, chunked


class WorkersSql(SqlBase):
    def worker(self, worker_id: int) -> WorkerRow | None:
        row: WorkerRow | None = self._row("workers", worker_id)
        return row

    def worker_by_external(self, job_id: int, external_id: str) -> WorkerRow | None:
        return worker_row(
            self.one(
                f"SELECT {WORKER_COLUMNS} FROM workers WHERE job_id = ? AND external_id = ?",
                (job_id, external_id),
            )
        )

    def workers_of(self, job_id: int, after_id: int, limit: int) -> list[WorkerRow]:
        return worker_rows(
            self.all(
                f"SELECT {WORKER_COLUMNS} FROM workers WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
                (job_id, after_id, limit),
            )
        )

    def routing_workers(self, job_id: int, limit: int) -> list[RoutingWorkerRow]:
        """The job's first `limit` workers by id, as `workers_of` reads them, with only the
        columns skill routing weighs them by."""
        return self.all_as(
            RoutingWorkerRow,
            f"SELECT {ROUTING_WORKER_COLUMNS} FROM workers WHERE job_id = ? ORDER BY id LIMIT ?",
            (job_id, limit),
        )

    def gold_records(self, job_id: int, quiz: bool) -> list[tuple[tuple[int, int], int]]:
        """((answered, right), workers) for each distinct gold record of the job's workers
        (`gate.applicant_pool`): with `quiz`, every worker's quiz record whatever its status
        (a few rows however many workers: one quiz length); without, the qualified workers'
        whole gold records."""
        answered, right, which = (
            ("quiz_answered", "quiz_correct", "")
            if quiz
            else ("gold_answered", "gold_correct", f" AND status = {int(WorkerStatus.QUALIFIED)}")
        )
        return [
            ((int(a), int(c)), int(n))
            for a, c, n in self.all(
                f"SELECT {answered}, {right}, COUNT(*) FROM workers WHERE job_id = ? AND {answered} > 0{which}"
                f" GROUP BY {answered}, {right}",
                (job_id,),
            )
        ]

    def pass_input(self, job_id: int) -> list[PassInputRow]:
        """Every counted judgment of the job, gold included, with what the core
        needs to re-consolidate it."""
        return self.all_as(
            PassInputRow,
            "SELECT j.item_id, j.worker_id, j.answer, i.is_gold, i.gold, i.state, i.label_sequence"
            " FROM judgments j JOIN items i ON i.id = j.item_id WHERE j.job_id = ? AND j.excluded = 0",
            (job_id,),
        )

    def update_worker(self, worker_id: int, **values: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self.later(f"UPDATE workers SET {sets} WHERE id = ?", (*values.values(), worker_id))

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

    def skills_of(self, worker_ids: Sequence[int]) -> dict[int, tuple[float | None, int, int]]:
        """(pass skill, gold answered, gold right) of each worker."""
        out: dict[int, tuple[float | None, int, int]] = {}
        for some in chunked(worker_ids):
            where, args = self._one_of("id", some)
            for r in self.all(
                f"SELECT id, skill, gold_answered, gold_correct FROM workers WHERE {where}", args
            ):
                out[int(r[0])] = (r[1], int(r[2]), int(r[3]))
        return out
