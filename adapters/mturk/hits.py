"""Making, growing and expiring HITs: one HIT per claimed item with as many
assignments as the core wants judgments, more assignments (or a new HIT)
when it wants more, an expired HIT when it wants none, and a hidden gold HIT
after every `gold_hit_every` item HITs when asked.

A verification job with `batch_size` > 1 makes batch HITs instead: up to
`batch_size` items the model gave the same class on one page, one verdict
each, with a hidden gold item of that class inside every `gold_hit_every`-th
batch. A batch HIT never grows; an item that wants more judgments than its
batch gives goes into a new batch with others that do."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from labelwire.adapters.base import GoldItem, WorkItem
from labelwire.adapters.batches import batch_size, class_key, group, place
from labelwire.adapters.mturk import fees
from labelwire.adapters.mturk.budget import BudgetRound
from labelwire.adapters.mturk.questions import ItemRejected, batch_question, html_question
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
from labelwire.adapters.mturk.state import BATCH, CLOSED, CREATING, GOLD, ITEM, OPEN, Hit
from labelwire.adapters.retry import error_code

PAST = datetime(2015, 1, 1, tzinfo=UTC)  # UpdateExpirationForHIT to a past time expires a HIT at once
HIT_ID = re.compile(r"\b([A-Z0-9]{20,64})\b")


class HitsRound(BudgetRound):
    async def top_up(self, claimed: Mapping[str, WorkItem]) -> None:
        """Matches each item's open assignments to what the core still wants: more assignments (or a new
        HIT) when it wants more, an expired HIT when it wants none."""
        live_keys = [k for h in self.state.with_status(OPEN) for k in h.work_keys()]
        keys = dict.fromkeys([*live_keys, *claimed])
        rebatch: list[WorkItem] = []
        for key in keys:
            hits = self.state.item_hits(key)
            if any(h.status == CREATING for h in hits):
                continue
            item = claimed.get(key)
            if item is None:
                for hit in hits:
                    if any(k in claimed for k in hit.work_keys()):
                        continue  # a batch HIT still working for its other items
                    if hit.status == OPEN and hit.outstanding() and not self.expired(hit):
                        await self.expire(hit)
                    self.maybe_close(hit)
                continue
            live = [h for h in hits if h.hit_id and not self.expired(h)]
            need = item.judgments_wanted - sum(h.outstanding() for h in live)
            if need <= 0:
                continue
            if live and live[-1].kind == ITEM:
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
                rebatch.append(replace(item, judgments_wanted=need))
        planned = await self.plan(rebatch, with_gold=False)
        await self.save()
        for hit, question in planned:
            await self.create(hit, question)
        await self.retire_gold(claimed)

    async def retire_gold(self, claimed: Mapping[str, WorkItem]) -> None:
        """Hidden gold HITs exist to grade workers on this job's items; with no item left to work
        on they would only cost money, so they are expired."""
        if claimed or any(h.kind != GOLD for h in self.state.with_status(CREATING, OPEN)):
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
        """Claims items while fewer than max_open_hits item (or batch) HITs are open, and makes their
        HITs (with a hidden gold HIT, or a gold item inside a batch, after every gold_hit_every of them,
        when asked)."""
        open_items = sum(1 for h in self.state.with_status(CREATING, OPEN) if h.kind != GOLD)
        room = self.settings.max_open_hits - open_items
        if room <= 0:
            return
        fee = self.claimed_fee_micros()
        items = await self.ctx.claim_items(room * batch_size(self.job), fee_micros_per_judgment=fee)
        if not items:
            return
        planned = await self.plan(items, with_gold=True)
        await self.save()
        for hit, question in planned:
            await self.create(hit, question)

    async def plan(self, items: Sequence[WorkItem], *, with_gold: bool) -> list[tuple[Hit, str]]:
        """New HITs for `items` (each wanting `judgments_wanted` more), in the
        state as CREATING with their question: batches of one class in a
        batching job, else one HIT per item. Items no HIT can show are failed."""
        planned: list[tuple[Hit, str]] = []
        refused: dict[str, list[str]] = {}
        shown: list[WorkItem] = []
        for item in items:
            try:
                html_question(self.job, item.payload_kind, item.payload, item.prelabel)
            except ItemRejected as err:
                refused.setdefault(str(err), []).append(item.key)
                continue
            shown.append(item)
        for reason, keys in refused.items():
            await self.ctx.fail_items(keys, reason)
        for batch in group(shown, batch_size(self.job)):
            if len(batch) > 1:
                await self.plan_batch(batch, planned, with_gold=with_gold)
                continue
            item = batch[0]
            hit = self.new_hit(ITEM, item.key, self.per_hit_cap(max(1, item.judgments_wanted)))
            await self.reserve_surcharge(hit)
            planned.append((hit, html_question(self.job, item.payload_kind, item.payload, item.prelabel)))
            gold = await self.next_gold() if with_gold else None
            if gold is not None:
                hit = self.new_hit(GOLD, gold.key, min(SMALL_HIT_MAX, max(1, self.job.judgments_per_item)))
                if await self.ctx.reserve_cost(self.gold_hit_micros(hit), key=self.reservation(hit)):
                    planned.append(
                        (hit, html_question(self.job, gold.payload_kind, gold.payload, gold.prelabel))
                    )
                else:  # the budget cannot pay for its answers: no gold HIT this time
                    self.state.hits.remove(hit)
        return planned

    async def plan_batch(
        self, batch: list[WorkItem], planned: list[tuple[Hit, str]], *, with_gold: bool
    ) -> None:
        """One batch HIT for items of one class, as many assignments as the
        least of them wants (the others get theirs from later batches); a
        page too large for MTurk is split in two."""
        wanted = max(1, min(item.judgments_wanted for item in batch))
        hit = self.new_hit(BATCH, batch[0].key, self.per_hit_cap(wanted))
        hit.slots = [item.key for item in batch]
        gold = await self.next_batch_gold(class_key(batch[0].prelabel)) if with_gold else None
        if gold is not None:
            hit.slots = place(hit.slots, gold.key, hit.token)
            hit.gold_slots = [gold.key]
        sources: dict[str, WorkItem | GoldItem] = {item.key: item for item in batch}
        if gold is not None:
            sources[gold.key] = gold
        try:
            question = self.batch_page(hit, sources)
        except ItemRejected:
            self.state.hits.remove(hit)
            half = len(batch) // 2
            await self.plan_batch(batch[:half], planned, with_gold=with_gold)
            await self.plan_batch(batch[half:], planned, with_gold=False)
            return
        await self.reserve_batch(hit)
        if not hit.gold_slots and gold is not None:  # the budget could not pay for the gold item
            question = self.batch_page(hit, sources)
        planned.append((hit, question))

    def batch_page(self, hit: Hit, sources: Mapping[str, WorkItem | GoldItem]) -> str:
        entries = [(sources[k].payload_kind, sources[k].payload, sources[k].prelabel) for k in hit.slots]
        return batch_question(self.job, entries)

    async def next_batch_gold(self, key: str | None) -> GoldItem | None:
        """A gold item of the batch's class for every `gold_hit_every`-th batch
        (the next batch of a class that has gold when this one has none)."""
        if not self.settings.gold_hit_every or key is None:
            return None
        self.state.item_hits_since_gold += 1
        if self.state.item_hits_since_gold < self.settings.gold_hit_every:
            return None
        same = [g for g in (await self.gold()).values() if class_key(g.prelabel) == key]
        if not same:
            return None
        self.state.item_hits_since_gold = 0
        chosen = same[self.state.gold_cursor % len(same)]
        self.state.gold_cursor += 1
        return chosen

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
        request token makes the repeat safe. A batch one of whose items is gone is closed (its
        page could not be made the same again); its other items get new HITs."""
        pending = self.state.with_status(CREATING)
        if not pending:
            return
        claimed = await self.claimed()
        gold = await self.gold() if any(h.kind != ITEM for h in pending) else {}
        for hit in pending:
            sources: dict[str, WorkItem | GoldItem] = dict(gold) if hit.kind == GOLD else dict(claimed)
            if hit.kind == BATCH:
                sources.update({k: gold[k] for k in hit.gold_slots if k in gold})
            keys = hit.slots if hit.kind == BATCH else [hit.key]
            if not all(k in sources for k in keys):
                hit.status = CLOSED
                continue
            if hit.kind == BATCH:
                question = self.batch_page(hit, sources)
            else:
                source = sources[hit.key]
                question = html_question(self.job, source.payload_kind, source.payload, source.prelabel)
            await self.create(hit, question)

    async def create(self, hit: Hit, question: str) -> None:
        request = create_hit_request(
            self.settings,
            question=question,
            max_assignments=hit.max_assignments,
            requester_annotation=annotation(hit.kind, hit.key),
            token=hit.token,
            test_type_id=self.state.qualification_type_id,
            reward=fees.dollars(self.hit_reward_cents(hit)) if hit.kind == BATCH else None,
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
                if hit.kind != GOLD:
                    await self.ctx.fail_items(
                        hit.work_keys(), f"Mechanical Turk refused the HIT: {error_message(err)}"
                    )
                await self.save()
                return
            described = (await self.call("get_hit", HITId=existing))["HIT"]
        hit.hit_id = str(described["HITId"])
        hit.hit_type_id = str(described.get("HITTypeId", ""))
        hit.expires_at = epoch(described.get("Expiration")) or self.wf.now() + self.settings.lifetime_seconds
        hit.status = OPEN
        self.dispatched += len(hit.work_keys())
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
