"""What a round charges and reserves of the job's budget beyond what the
core counts itself (each recorded judgment's price and claimed fee): MTurk's
surcharge on HITs with 10 or more assignments, and the rewards and fees of
hidden gold HITs, whose answers are not judgments."""

from __future__ import annotations

from labelwire.adapters.batches import batch_size
from labelwire.adapters.mturk import fees
from labelwire.adapters.mturk.round_base import RoundBase
from labelwire.adapters.mturk.settings import SMALL_HIT_MAX
from labelwire.adapters.mturk.state import BATCH, CLOSED, GOLD, ITEM, Hit

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
        extra = fee * MICROS_PER_CENT - self.claimed_fee_micros()
        if extra <= 0:
            return 0
        return extra * max(hit.created_max, self.settings.max_assignments_per_hit)

    def hit_reward_cents(self, hit: Hit) -> int:
        """The reward of one assignment: a batch HIT pays the job's reward for each item on its page."""
        return self.settings.reward_cents * (len(hit.slots) if hit.kind == BATCH else 1)

    def hit_fee_cents(self, hit: Hit) -> int:
        """MTurk's fee on one approved assignment, on the HIT's whole reward."""
        reward = fees.dollars(self.hit_reward_cents(hit))
        return fees.fee_cents(reward, hit.created_max, self.settings.masters)

    def batch_extra_micros(self, hit: Hit) -> int:
        """What one approved assignment of a batch HIT costs beyond what the
        core charges its items' judgments (each the job's price and the
        claimed fee): the reward of its gold items, whose answers are not
        judgments, and the HIT's fee less the claimed fee of its items (a
        short batch pays a higher share of MTurk's rounding and minimum)."""
        fee = self.hit_fee_cents(hit) * MICROS_PER_CENT
        gold = len(hit.gold_slots) * self.settings.reward_cents * MICROS_PER_CENT
        return max(0, fee + gold - len(hit.work_keys()) * self.claimed_fee_micros())

    async def reserve_batch(self, hit: Hit) -> None:
        """Reserves what a batch HIT's assignments may cost beyond its items'
        claims. When the budget cannot pay it, the hidden gold item leaves
        the batch (it would be paid for nothing the owner keeps); what is
        left is at most a few cents of fee rounding per assignment, charged
        unreserved."""
        extra = self.batch_extra_micros(hit) * hit.created_max
        if not extra or await self.ctx.reserve_cost(extra, key=self.reservation(hit)):
            return
        if hit.gold_slots:
            hit.slots = hit.work_keys()
            hit.gold_slots = []
            extra = self.batch_extra_micros(hit) * hit.created_max
            if extra:
                await self.ctx.reserve_cost(extra, key=self.reservation(hit))

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
            held = hit.kind in (GOLD, BATCH) or self.surcharge_micros(hit) > 0
            if held and hit.status == CLOSED and key not in self.wf.released:
                await self.ctx.release_cost(key=key)
                self.wf.released.add(key)

    def claimed_fee_micros(self) -> int:
        """The fee per judgment claims reserve and the core charges. In a
        batching job, a full batch HIT's fee shared among its items (MTurk
        charges its fee per assignment, on the batch's whole reward), rounded
        down: `batch_extra_micros` charges the rest per HIT."""
        size = batch_size(self.job)
        if size <= 1:
            return self.claimed_fee_cents() * MICROS_PER_CENT
        assignments = min(self.per_hit_cap(self.job.judgments_per_item), SMALL_HIT_MAX)
        reward = fees.dollars(self.settings.reward_cents * size)
        return fees.fee_cents(reward, assignments, self.settings.masters) * MICROS_PER_CENT // size

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
