"""What every part of one Mechanical Turk round shares: the job's settings,
its MTurk client, the adapter's saved state, and the few questions about a
HIT's life (has it expired, may it close, is a decision due) that reviewing
answers and managing HITs both ask.

A round is one call of `start`, `sync` or `cancel` for one job. Its parts are
layered, each in its own module and each using only those below it:
`RoundBase` here, fees and budget reservations (`budget.BudgetRound`),
reading and settling assignments (`review.ReviewRound`), making and growing
HITs (`hits.HitsRound`), and the round itself (`rounds.Round`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from labelwire.adapters.base import GoldItem, WorkforceContext, WorkItem
from labelwire.adapters.mturk.settings import LARGE_HIT_MIN, SMALL_HIT_MAX, parse_settings
from labelwire.adapters.mturk.state import CLOSED, OPEN, AdapterState, Hit

if TYPE_CHECKING:
    from labelwire.adapters.mturk.workforce import MTurkWorkforce

GOLD_LIMIT = 10_000
DECISION_MARGIN_SECONDS = 3600.0


class RoundBase:
    """What the parts of a round share: the job's settings, its MTurk client and the loaded state."""

    def __init__(self, workforce: MTurkWorkforce, ctx: WorkforceContext) -> None:
        self.wf = workforce
        self.ctx = ctx
        self.job = ctx.job
        self.settings = parse_settings(ctx.job)
        self.mturk = workforce.client(self.settings)
        self.classes = [c.name for c in self.job.classes]
        self.state = AdapterState()
        self.recorded = 0
        self.dispatched = 0
        self._gold: dict[str, GoldItem] | None = None
        self._claimed: dict[str, WorkItem] | None = None
        self.closing = False  # cancelling: settle everything now, nothing more will come

    async def load(self) -> None:
        self.state = AdapterState.from_json(await self.ctx.load_state())

    async def save(self) -> None:
        await self.ctx.save_state(self.state.to_json())

    async def call(self, operation: str, **kwargs: Any) -> Any:
        return await self.wf.retry.call(getattr(self.mturk, operation), **kwargs)

    async def claimed(self, refresh: bool = True) -> dict[str, WorkItem]:
        if self._claimed is None or refresh:
            self._claimed = {item.key: item for item in await self.ctx.claimed_items()}
        return self._claimed

    async def gold(self) -> dict[str, GoldItem]:
        if self._gold is None:
            self._gold = {g.key: g for g in await self.ctx.gold_items(GOLD_LIMIT)}
        return self._gold

    def decision_due(self, hit: Hit) -> bool:
        now = self.wf.now()
        return any(hit.answers[a].auto_approve_at - now <= DECISION_MARGIN_SECONDS for a in hit.undecided())

    def maybe_close(self, hit: Hit) -> None:
        """A HIT is closed (no more polling) once nothing more will come and everything is settled."""
        finished = hit.outstanding() == 0 or self.expired(hit)
        if hit.status == OPEN and finished and not hit.undecided():
            hit.status = CLOSED

    def expired(self, hit: Hit) -> bool:
        return hit.expired_by_us or (hit.expires_at > 0 and self.wf.now() >= hit.expires_at)

    @property
    def small_hit_limit(self) -> int:
        """The most assignments a HIT made with fewer than 10 may ever have."""
        return SMALL_HIT_MAX if self.settings.large_hits else self.settings.max_assignments_per_hit

    def per_hit_cap(self, wanted: int) -> int:
        """Assignments for a new HIT of an item wanting `wanted` judgments: 10 or more only in the
        >= 10 regime the job chose up front."""
        if self.settings.large_hits and wanted >= LARGE_HIT_MIN:
            return min(wanted, self.settings.max_assignments_per_hit)
        return min(wanted, self.small_hit_limit)


def epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return 0.0


def as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def seconds_between(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds())
    return None
