"""A job's spending: reservations a workforce makes ahead of a charge, and the charges."""

from __future__ import annotations

from labelwire.server.store.sql_base import RESERVED_COST
from labelwire.server.store.sql_jobs import JobsSql


class CostsSql(JobsSql):
    """Reads the job's budget and counters (`JobsSql`) under the same transaction."""

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
        left = budget_micros - job.cost_micros - job.reserved_micros
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
        freed = 0 if job is None else min(take, job.reserved_micros)
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
