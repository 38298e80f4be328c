"""What the accounts API answers with: an account, a team, a worker's job list,
its per-job records, totals and weekly trend. Plain values, built from store rows
by `accounts.py`, turned into messages by the transports."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from labelwire.server.domain.model import (
    ENDED,
    Job,
    JobState,
    Worker,
    WorkerStatus,
)
from labelwire.server.store.rows_callers import AccountTotalsRow


class JobStatus(enum.IntEnum):
    """Where an account stands on a job it may work on."""

    NOT_STARTED = 1
    QUIZ = 2
    QUALIFIED = 3
    FAILED_QUIZ = 4
    DISQUALIFIED = 5
    JOB_ENDED = 6


_FROM_WORKER = {
    WorkerStatus.QUIZ: JobStatus.QUIZ,
    WorkerStatus.QUALIFIED: JobStatus.QUALIFIED,
    WorkerStatus.FAILED_QUIZ: JobStatus.FAILED_QUIZ,
    WorkerStatus.DISQUALIFIED: JobStatus.DISQUALIFIED,
}


@dataclass(frozen=True)
class Account:
    id: int
    owner_id: int
    display_name: str
    created_at: float
    teams: tuple[int, ...] = ()
    active_tokens: int = 0

    @property
    def name(self) -> str:
        return f"workers/{self.id}"


@dataclass(frozen=True)
class Team:
    id: int
    owner_id: int
    display_name: str
    description: str
    created_at: float
    worker_count: int = 0

    @property
    def name(self) -> str:
        return f"teams/{self.id}"


@dataclass(frozen=True)
class WorkerJob:
    """A job as the worker sees it in its list; `worker` is None before it started."""

    job: Job
    status: JobStatus
    worker: Worker | None


@dataclass(frozen=True)
class JobRecord:
    """The worker's record on one job; `skill` is None in the worker's own view."""

    job_id: int
    display_name: str
    job_state: JobState
    price_per_judgment_micros: int
    worker: Worker
    started_at: float
    median_time_seconds: float
    skill: float | None


@dataclass(frozen=True)
class Totals:
    jobs: int = 0
    qualified_jobs: int = 0
    disqualified_jobs: int = 0
    judgments: int = 0
    gold_answered: int = 0
    gold_correct: int = 0
    last_active_at: float | None = None

    @property
    def gold_accuracy(self) -> float:
        return self.gold_correct / self.gold_answered if self.gold_answered else 0.0


@dataclass(frozen=True)
class TrendPoint:
    week_start: float
    gold_answered: int
    gold_correct: int

    @property
    def gold_accuracy(self) -> float:
        return self.gold_correct / self.gold_answered


@dataclass(frozen=True)
class History:
    worker_name: str
    jobs: list[JobRecord]
    totals: Totals
    next_page_token: str
    # The owner's view only (hidden gold never moves a figure the worker sees).
    trend: tuple[TrendPoint, ...] = ()


WEEK_SECONDS = 7 * 86400.0
# 1970-01-01 was a Thursday: weeks start on the Monday three days before it.
MONDAY_OFFSET_SECONDS = 3 * 86400.0
MAX_TREND_WEEKS = 104


def weekly_trend(answers: Sequence[tuple[float, bool]]) -> tuple[TrendPoint, ...]:
    """Gold answers (time, right or not) summed by week (Monday 00:00 UTC),
    the last MAX_TREND_WEEKS weeks that have any, oldest first."""
    weeks: dict[float, list[int]] = {}
    for at, correct in answers:
        start = (at + MONDAY_OFFSET_SECONDS) // WEEK_SECONDS * WEEK_SECONDS - MONDAY_OFFSET_SECONDS
        counts = weeks.setdefault(start, [0, 0])
        counts[0] += 1
        counts[1] += int(correct)
    kept = sorted(weeks.items())[-MAX_TREND_WEEKS:]
    return tuple(TrendPoint(start, answered, right) for start, (answered, right) in kept)


def job_status(state: JobState, worker: Worker | None) -> JobStatus:
    if state in ENDED:
        return JobStatus.JOB_ENDED
    if worker is None:
        return JobStatus.NOT_STARTED
    return _FROM_WORKER[worker.status]


def totals_of(row: AccountTotalsRow, *, own: bool) -> Totals:
    return Totals(
        jobs=int(row.jobs),
        qualified_jobs=int(row.qualified),
        disqualified_jobs=int(row.disqualified),
        judgments=int(row.judgments),
        gold_answered=int(row.quiz_answered if own else row.gold_answered),
        gold_correct=int(row.quiz_correct if own else row.gold_correct),
        last_active_at=None if row.last_active_at is None else float(row.last_active_at),
    )
