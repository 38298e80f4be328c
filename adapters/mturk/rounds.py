"""One round of the Mechanical Turk workforce for one job: `start` makes the
qualification test and hands back orphaned claims, `sync` reads notifications,
collects and settles answers, tops up and dispatches HITs, and `cancel`
expires what is open and settles what came in."""

from __future__ import annotations

import asyncio
from typing import Any

from botocore.exceptions import ClientError

from labelwire.adapters.base import SyncResult
from labelwire.adapters.mturk.hits import HitsRound
from labelwire.adapters.mturk.notifications import fresh_events, hits_to_poll, parse_body
from labelwire.adapters.mturk.qualification import TestNotPossible, build_test, type_name
from labelwire.adapters.mturk.requests import create_qualification_type_request
from labelwire.adapters.mturk.retry import error_message
from labelwire.adapters.mturk.review import ReviewRound
from labelwire.adapters.mturk.round_base import GOLD_LIMIT
from labelwire.adapters.mturk.state import CLOSED, CREATING, OPEN, Hit


class Round(ReviewRound, HitsRound):
    """One call of start, sync or cancel for one job, and the order of its steps;
    reading and settling answers is `ReviewRound`'s, making and growing HITs
    `HitsRound`'s."""

    async def create_qualification_type(self) -> None:
        """Makes the job's test from its gold once; a retry after a crash finds the type by name."""
        gold = await self.ctx.gold_items(GOLD_LIMIT)
        try:
            test = build_test(self.job, self.settings, gold)
        except TestNotPossible as err:
            await self.ctx.fail_job(f"workforce.settings.qualification_test: {err}")
            return
        request = create_qualification_type_request(self.job, self.settings, test)
        try:
            response = await self.call("create_qualification_type", **request)
            type_id = str(response["QualificationType"]["QualificationTypeId"])
        except ClientError as err:
            if "already" not in error_message(err).lower():
                raise
            found = await self.find_qualification_type()
            if found is None:
                raise
            type_id = found
        self.state.qualification_type_id = type_id
        await self.save()

    async def find_qualification_type(self) -> str | None:
        name = type_name(self.job.name)
        token: str | None = None
        while True:
            page: dict[str, Any] = {"Query": name, "MustBeRequestable": False, "MustBeOwnedByCaller": True}
            if token:
                page["NextToken"] = token
            response = await self.call("list_qualification_types", MaxResults=100, **page)
            for qualification in response.get("QualificationTypes", []):
                if qualification.get("Name") == name:
                    return str(qualification["QualificationTypeId"])
            token = response.get("NextToken")
            if not token:
                return None

    async def recover_orphans(self) -> None:
        """Hands back items claimed before a crash that no HIT (made or being made) holds."""
        held = {k for h in self.state.hits for k in h.work_keys()}
        orphans = [item.key for item in await self.ctx.claimed_items() if item.key not in held]
        if orphans:
            await self.ctx.return_items(orphans)

    async def sync(self) -> SyncResult:
        if self.state.cancelled:
            return SyncResult(next_sync_seconds=self.settings.poll_seconds, finished=True)
        if self.settings.qualification_test and self.state.qualification_type_id is None:
            await self.create_qualification_type()
            if self.state.qualification_type_id is None:
                return SyncResult(next_sync_seconds=self.settings.poll_seconds, finished=True)
        await self.resume_creating()
        receipts = await self.read_notifications()
        await self.collect(self.hits_to_poll())
        claimed = await self.claimed(refresh=False)
        await self.top_up(claimed)
        await self.dispatch()
        await self.save()
        await self.release_closed_gold()
        if receipts:
            notifications = self.wf.notifications(self.settings)
            if notifications is not None:
                await asyncio.to_thread(notifications.delete, receipts)
        open_hits = self.state.with_status(CREATING, OPEN)
        return SyncResult(
            next_sync_seconds=self.settings.poll_seconds,
            dispatched=self.dispatched,
            recorded=self.recorded,
            finished=not open_hits and not await self.ctx.claimed_items(),
        )

    async def read_notifications(self) -> list[str]:
        """Moves the HITs named by new notification events to the front of the polling order;
        returns the receipts to delete once the state that remembers them is saved."""
        notifications = self.wf.notifications(self.settings)
        if notifications is None:
            return []
        messages = await asyncio.to_thread(notifications.receive)
        events = [event for _, body in messages for event in parse_body(body)]
        new = fresh_events(events, self.state.events_seen)
        self.state.remember_events([e.key for e in new])
        self.state.priority = list(dict.fromkeys([*self.state.priority, *hits_to_poll(new)]))
        return [receipt for receipt, _ in messages]

    def hits_to_poll(self) -> list[Hit]:
        """Notified HITs first. Without notifications every open HIT is polled each round; with
        them, the others only on a full sweep, or when a decision is due before auto-approval."""
        open_hits = self.state.with_status(OPEN)
        by_id = {h.hit_id: h for h in open_hits}
        first = [by_id[i] for i in self.state.priority if i in by_id]
        self.state.priority = []
        now = self.wf.now()
        sweep = self.settings.notification_queue_url is None or (
            now - self.state.last_sweep >= self.settings.sweep_seconds
        )
        if sweep:
            self.state.last_sweep = now
            rest = [h for h in open_hits if h not in first]
        else:
            rest = [h for h in open_hits if h not in first and self.decision_due(h)]
        return [*first, *rest]

    async def cancel(self) -> None:
        """Expires every open HIT; what workers already submitted is still read and settled."""
        for hit in self.state.with_status(CREATING):
            hit.status = CLOSED
        for hit in self.state.with_status(OPEN):
            if not self.expired(hit):
                await self.expire(hit)
        await self.save()
        self.closing = True
        await self.collect(self.state.with_status(OPEN))
        self.state.cancelled = True
        await self.save()
        await self.release_closed_gold()
