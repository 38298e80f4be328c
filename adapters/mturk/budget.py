"""What a round charges and reserves of the job's budget beyond what the
core counts itself (each recorded judgment's price and claimed fee): MTurk's
surcharge on HITs with 10 or more assignments, and the rewards and fees of
hidden gold HITs, whose answers are not judgments."""

from __future__ import annotations

from labelwire.adapters.mturk import fees
from labelwire.adapters.mturk.round_base import RoundBase
from labelwire.adapters.mturk.settings import SMALL_HIT_MAX
from labelwire.adapters.mturk.state import CLOSED, GOLD, ITEM, Hit

MICROS_PER_CENT = 10_000


class BudgetRound(RoundBase):
    def gold_hit_micros(self, hit: Hit) -> int:
        """The most a gold HIT can cost: every assignment approved, reward and
        fee. Its answers are not judgments, so no claim reserved them; this is
        reserved before the HIT is made, so hidden gold cannot overspend the
        budget, and what is not charged goes back once the HIT is closed."""
        fee = fees.fee_cents(self.settings.reward, hit.created_max, self.settings.masters)
        return hit.created_max * (self.settings.reward_cents + fee) * MICROS_PER_CENT

    def surcharge_micros(self, hit: Hit) -> int:
        """What an item HIT made with 10 or more assignments can cost above
        the claimed rate: MTurk's extra 20% of the reward on every assignment
        it may ever have (it can grow to `max_assignments_per_hit`). Claims
        reserve only the plain rate, so this is reserved before the HIT is
        made, and what approved answers do not use goes back at close."""
        if hit.kind != ITEM:
            return 0
        fee = fees.fee_cents(self.settings.reward, hit.created_max, self.settings.masters)
        extra = fee - self.claimed_fee_cents()
        if extra <= 0:
            return 0
        return extra * max(hit.created_max, self.settings.max_assignments_per_hit) * MICROS_PER_CENT

    async def reserve_surcharge(self, hit: Hit) -> None:
        """Reserves a large item HIT's surcharge; when the budget cannot pay
        it, the HIT is made with at most 9 assignments instead (the claimed
        rate), and the item's other judgments come from further HITs."""
        micros = self.surcharge_micros(hit)
        if micros and not await self.ctx.reserve_cost(micros, key=self.reservation(hit)):
            hit.max_assignments = hit.created_max = min(hit.created_max, SMALL_HIT_MAX)

    @staticmethod
    def reservation(hit: Hit) -> str:
        return f"mturk:{hit.kind}:{hit.token}"

    async def release_closed_gold(self) -> None:
        """Gives back what closed gold HITs, and closed large item HITs, still
        hold of their reservation (once per process; releasing again is
        harmless)."""
        for hit in self.state.hits:
            key = self.reservation(hit)
            held = hit.kind == GOLD or self.surcharge_micros(hit) > 0
            if held and hit.status == CLOSED and key not in self.wf.released:
                await self.ctx.release_cost(key=key)
                self.wf.released.add(key)

    def claimed_fee_cents(self) -> int:
        """The fee per judgment claims reserve and the core charges: MTurk's
        plain rate, that of a HIT with at most 9 assignments. A HIT made with
        10 or more reserves the surcharge itself (`reserve_surcharge`), so an
        item whose later judgments come from small HITs is not charged the
        large rate for them."""
        return fees.fee_cents(
            self.settings.reward,
            min(self.per_hit_cap(self.job.judgments_per_item), SMALL_HIT_MAX),
            self.settings.masters,
        )
