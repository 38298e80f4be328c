"""Making, growing and expiring HITs: one HIT per claimed item with as many
assignments as the core wants judgments, more assignments (or a new HIT)
when it wants more, an expired HIT when it wants none, and a hidden gold HIT
after every `gold_hit_every` item HITs when asked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from labelwire.adapters.base import GoldItem, WorkItem
from labelwire.adapters.mturk.budget import MICROS_PER_CENT, BudgetRound
from labelwire.adapters.mturk.questions import ItemRejected, html_question
from labelwire.adapters.mturk.requests import (
    annotation,
    create_hit_request,
    extra_token,
    notification_request,
    request_token,
)
from labelwire.adapters.mturk.retry import error_message, is_retryable, turk_error_code
from labelwire.adapters.mturk.round_base import epoch
from labelwire.adapters.mturk.settings import LARGE_HIT_MIN, SMALL_HIT_MAX
from labelwire.adapters.mturk.state import CLOSED, CREATING, GOLD, ITEM, OPEN, Hit
from labelwire.adapters.retry import error_code

PAST = datetime(2015, 1, 1, tzinfo=UTC)  # UpdateExpirationForHIT to a past time expires a HIT at once
HIT_ID = re.compile(r"\b([A-Z0-9]{20,64})\b")


class HitsRound(BudgetRound):
    async def top_up(self, claimed: Mapping[str, WorkItem]) -> None:
        """Matches each item's open assignments to what the core still wants: more assignments (or a new
        HIT) when it wants more, an expired HIT when it wants none."""
        keys = dict.fromkeys([*(h.key for h in self.state.with_status(OPEN) if h.kind == ITEM), *claimed])
        for key in keys:
            hits = self.state.item_hits(key)
            if any(h.status == CREATING for h in hits):
                continue
            item = claimed.get(key)
            if item is None:
                for hit in hits:
                    if hit.status == OPEN and hit.outstanding() and not self.expired(hit):
                        await self.expire(hit)
                    self.maybe_close(hit)
                continue
            live = [h for h in hits if h.hit_id and not self.expired(h)]
            need = item.judgments_wanted - sum(h.outstanding() for h in live)
            if need <= 0:
                continue
            if live:
                need -= await self.add_assignments(live[-1], need)
            if need > 0:
                lapsed = [h for h in self.state.item_hits(key) if self.expired(h) and not h.expired_by_us]
                if len(lapsed) >= self.settings.max_hit_rounds:
                    await self.ctx.fail_items(
                        [key],
                        f"Mechanical Turk workers gave {sum(len(h.answers) for h in lapsed)} answers in "
                        f"{len(lapsed)} HITs before they expired; the item still wanted {need} more",
                    )
                    continue
                hit = self.new_hit(ITEM, key, self.per_hit_cap(need))
                await self.reserve_surcharge(hit)
                await self.save()
                await self.create(hit, item.payload_kind, item.payload, item.prelabel)
        await self.retire_gold(claimed)

    async def retire_gold(self, claimed: Mapping[str, WorkItem]) -> None:
        """Hidden gold HITs exist to grade workers on this job's items; with no item left to work
        on they would only cost money, so they are expired."""
        if claimed or any(h.kind == ITEM for h in self.state.with_status(CREATING, OPEN)):
            return
        for hit in self.state.with_status(OPEN):
            if not self.expired(hit):
                await self.expire(hit)
            self.maybe_close(hit)

    async def add_assignments(self, hit: Hit, need: int) -> int:
        """CreateAdditionalAssignmentsForHIT within MTurk's rule: a HIT made with fewer than 10
        assignments never reaches 10. Returns how many were added."""
        large = hit.created_max >= LARGE_HIT_MIN
        limit = self.settings.max_assignments_per_hit if large else self.small_hit_limit
        add = min(need, limit - hit.max_assignments)
        if add <= 0:
            return 0
        total = hit.max_assignments + add
        try:
            await self.call(
                "create_additional_assignments_for_hit",
                HITId=hit.hit_id,
                NumberOfAdditionalAssignments=add,
                UniqueRequestToken=extra_token(hit.hit_id, total),
            )
        except ClientError as err:
            if is_retryable(err) or "InvalidMaximumAssignmentsIncrease" in turk_error_code(
                err
            ) + error_message(err):
                return 0
            if "already" not in error_message(err).lower():
                raise
        hit.max_assignments = total
        hit.status = OPEN
        await self.save()
        return add

    async def expire(self, hit: Hit) -> None:
        try:
            await self.call("update_expiration_for_hit", HITId=hit.hit_id, ExpireAt=PAST)
        except ClientError as err:
            if is_retryable(err):
                return
            if error_code(err) != "RequestError":
                raise
        hit.expired_by_us = True

    async def dispatch(self) -> None:
        """Claims items while fewer than max_open_hits item HITs are open, and makes their HITs
        (with a hidden gold HIT after every gold_hit_every of them, when asked)."""
        open_items = sum(1 for h in self.state.with_status(CREATING, OPEN) if h.kind == ITEM)
        room = self.settings.max_open_hits - open_items
        if room <= 0:
            return
        fee = self.claimed_fee_cents() * MICROS_PER_CENT
        items = await self.ctx.claim_items(room, fee_micros_per_judgment=fee)
        if not items:
            return
        planned: list[tuple[Hit, str, str, Mapping[str, Any] | None]] = []
        refused: dict[str, list[str]] = {}
        for item in items:
            try:
                html_question(self.job, item.payload_kind, item.payload, item.prelabel)
            except ItemRejected as err:
                refused.setdefault(str(err), []).append(item.key)
                continue
            wanted = max(1, item.judgments_wanted)
            hit = self.new_hit(ITEM, item.key, self.per_hit_cap(wanted))
            await self.reserve_surcharge(hit)
            planned.append((hit, item.payload_kind, item.payload, item.prelabel))
            gold = await self.next_gold()
            if gold is not None:
                hit = self.new_hit(GOLD, gold.key, min(SMALL_HIT_MAX, max(1, self.job.judgments_per_item)))
                if await self.ctx.reserve_cost(self.gold_hit_micros(hit), key=self.reservation(hit)):
                    planned.append((hit, gold.payload_kind, gold.payload, None))
                else:  # the budget cannot pay for its answers: no gold HIT this time
                    self.state.hits.remove(hit)
        await self.save()
        for reason, keys in refused.items():
            await self.ctx.fail_items(keys, reason)
        for hit, kind, payload, prelabel in planned:
            await self.create(hit, kind, payload, prelabel)

    async def next_gold(self) -> GoldItem | None:
        if not self.settings.gold_hit_every:
            return None
        self.state.item_hits_since_gold += 1
        if self.state.item_hits_since_gold < self.settings.gold_hit_every:
            return None
        gold = list((await self.gold()).values())
        if not gold:
            return None
        self.state.item_hits_since_gold = 0
        chosen = gold[self.state.gold_cursor % len(gold)]
        self.state.gold_cursor += 1
        return chosen

    def new_hit(self, kind: str, key: str, assignments: int) -> Hit:
        number = 1 + sum(1 for h in self.state.hits if h.kind == kind and h.key == key)
        token = request_token(self.job.name, kind, key, number)
        hit = Hit(
            kind=kind,
            key=key,
            round=number,
            token=token,
            max_assignments=assignments,
            created_max=assignments,
        )
        self.state.hits.append(hit)
        return hit

    async def resume_creating(self) -> None:
        """Finishes HITs whose CreateHIT may or may not have reached MTurk before a crash; the
        request token makes the repeat safe."""
        pending = self.state.with_status(CREATING)
        if not pending:
            return
        claimed = await self.claimed()
        gold = await self.gold() if any(h.kind == GOLD for h in pending) else {}
        for hit in pending:
            source: WorkItem | GoldItem | None = (
                claimed.get(hit.key) if hit.kind == ITEM else gold.get(hit.key)
            )
            if source is None:
                hit.status = CLOSED
                continue
            prelabel = source.prelabel if isinstance(source, WorkItem) else None
            await self.create(hit, source.payload_kind, source.payload, prelabel)

    async def create(
        self, hit: Hit, payload_kind: str, payload: str, prelabel: Mapping[str, Any] | None
    ) -> None:
        request = create_hit_request(
            self.settings,
            question=html_question(self.job, payload_kind, payload, prelabel),
            max_assignments=hit.max_assignments,
            requester_annotation=annotation(hit.kind, hit.key),
            token=hit.token,
            test_type_id=self.state.qualification_type_id,
        )
        try:
            response = await self.call("create_hit", **request)
            described: Mapping[str, Any] = response["HIT"]
        except ClientError as err:
            if is_retryable(err):
                return
            existing = self.existing_hit_id(err)
            if existing is None:
                hit.status = CLOSED
                if hit.kind == ITEM:
                    await self.ctx.fail_items(
                        [hit.key], f"Mechanical Turk refused the HIT: {error_message(err)}"
                    )
                await self.save()
                return
            described = (await self.call("get_hit", HITId=existing))["HIT"]
        hit.hit_id = str(described["HITId"])
        hit.hit_type_id = str(described.get("HITTypeId", ""))
        hit.expires_at = epoch(described.get("Expiration")) or self.wf.now() + self.settings.lifetime_seconds
        hit.status = OPEN
        if hit.kind == ITEM:
            self.dispatched += 1
        await self.notify_on(hit.hit_type_id)
        await self.save()

    def existing_hit_id(self, err: ClientError) -> str | None:
        text = turk_error_code(err) + " " + error_message(err)
        if "HitAlreadyExists" not in text and "already exists" not in text.lower():
            return None
        match = HIT_ID.search(error_message(err))
        return match.group(1) if match else None

    async def notify_on(self, hit_type_id: str) -> None:
        queue = self.settings.notification_queue_url
        if queue is None or not hit_type_id or hit_type_id in self.state.notified_hit_types:
            return
        await self.call("update_notification_settings", **notification_request(hit_type_id, queue))
        self.state.notified_hit_types.append(hit_type_id)
