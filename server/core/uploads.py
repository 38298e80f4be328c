"""Uploads of a job's items (AddItems, ImportManifest): staged in chunks,
hidden until published, dropped when abandoned; each chunk is one short
write transaction, so an upload never holds the single writer for long."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from labelwire.server.core.model_acceptance import accept_by_model
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.domain import validation
from labelwire.server.domain.errors import (
    FailedPrecondition,
)
from labelwire.server.domain.model import (
    AddResult,
    EndReason,
    ItemInput,
    Job,
    JobState,
)
from labelwire.server.labels import routing
from labelwire.server.store import Tx

# Uploads log under the jobs module's logger, the name operators (and the
# upload test) filter their progress by.
if TYPE_CHECKING:
    from labelwire.server.core.jobs import JobsService

log = logging.getLogger("labelwire.server.core.jobs")


# Items staged, and staged items moved into the job, per write transaction,
# and rows deleted per transaction when an upload is dropped: each such
# transaction holds the single writer for a few tens of milliseconds at most.
STAGE_CHUNK = 1_000


PUBLISH_CHUNK = 1_000


DROP_CHUNK = 5_000


# An upload whose server has not renewed its heartbeat (every maintenance pass)
# for this long belongs to a server that died; the sweep drops it.
UPLOAD_STALE_SECONDS = 60.0


LOG_EVERY = 100_000


# Drops under way, held here so that no task is lost while it runs.
_DROPPING: set[asyncio.Future[None]] = set()


def _stage_chunk(tx: Tx, *, upload_id: int, rows: list[tuple[Any, ...]], start: int) -> int:
    return tx.stage_items(upload_id, rows, start)


def drop_chunk(tx: Tx, *, upload_id: int) -> int:
    return tx.drop_upload(upload_id, DROP_CHUNK)


class Upload:
    """An AddItems stream (or a manifest import) in progress.

    Items are staged as they arrive, a slice at a time, each its own short
    write. At `commit` they are published into the job in chunks that stay
    hidden (the job's `hidden_from`), and one last small write shows them all
    and moves the counters. So a bad item anywhere, a broken stream or a dead server
    leaves the job unchanged, and no step holds the single writer for long.
    """

    def __init__(self, core: JobsService, job: Job, upload_id: int) -> None:
        self._core = core
        self.job = job
        self._id = upload_id
        self._received = 0
        self._repeats = 0
        self._messages = 0
        self._gold_uses: list[tuple[str, int]] = []
        self._explanations: list[tuple[str, str]] = []
        self._broken = threading.Event()
        self._dropped = False
        core.live_uploads.add(upload_id)

    def mark_broken(self) -> None:
        """The stream did not end normally. Read by the final step on the
        store thread, so a publish already queued still refuses."""
        self._broken.set()

    async def add(self, items: list[ItemInput], field: str = "") -> None:
        """Validates and stages a message's items a slice at a time, each slice
        its own write, so that neither the event loop nor the writer is held
        for long by one message. Errors name `field`, by default the items
        of the stream's message by number."""
        self._messages += 1
        field = field or f"items (message {self._messages})"
        if len(items) > validation.MAX_ITEMS_PER_MESSAGE:
            validation.validate_items(self.job.spec, items, field)
        for first in range(0, len(items), STAGE_CHUNK):
            chunk = items[first : first + STAGE_CHUNK]
            for number, item in enumerate(chunk, first):
                validation.validate_item(self.job.spec, item, f"{field}[{number}]")
            rows = [
                (
                    i.key,
                    i.payload_kind,
                    i.payload,
                    json.dumps(i.metadata) if i.metadata else None,
                    json.dumps(i.prelabel) if i.prelabel else None,
                    i.prelabel_confidence,
                    json.dumps(i.gold) if i.gold else None,
                )
                for i in chunk
            ]
            start = self._received
            self._received += len(rows)
            self._repeats += await self._core.store.write(
                functools.partial(_stage_chunk, upload_id=self._id, rows=rows, start=start)
            )
            self._gold_uses += [(i.key, int(i.gold_use)) for i in chunk if i.gold is not None and i.gold_use]
            self._explanations += [(i.key, i.gold_explanation) for i in chunk if i.gold_explanation]
            if self._received // LOG_EVERY > start // LOG_EVERY:
                log.info("upload %d to %s: %d items staged", self._id, self.job.name, self._received)
        self._core.workforces.validate_items(self.job.spec, items, field)

    def _check(self, tx: Tx) -> None:
        if self._broken.is_set():
            raise FailedPrecondition("the stream did not end normally; nothing was added")
        if not tx.touch_upload(self._id, self._core.clock()):
            raise FailedPrecondition(
                f"this upload to {self.job.name} was dropped as abandoned; send the whole stream again"
            )
        state = self._core.reads.require_job_row(tx, self.job.id).state
        if state in (JobState.CANCELLED, JobState.FAILED):
            raise FailedPrecondition(f"{self.job.name} is {state.name.lower()}; it takes no more items")

    def _show(self, tx: Tx, added: int, gold: int) -> AddResult:
        """The final step: the published items join the job and its counters."""
        self._check(tx)
        job_id = self.job.id
        tx.end_upload(self._id)
        tx.count_job(job_id, total_items=added - gold, gold_items=gold)
        tx.mark_gold_use(job_id, self._gold_uses)
        tx.explain_gold(job_id, self._explanations)
        state = self._core.reads.require_job_row(tx, job_id).state
        if state != JobState.DRAFT:
            tx.hide_new_gold(job_id)
        routing_spec = self.job.spec.routing
        if routing_spec is not None:
            learned = self._core.learned_thresholds.get(job_id, (0, {}))[1]
            routing.accept(
                tx, self.job.spec, job_id, routing.thresholds(routing_spec, learned), self._core.clock()
            )
        if state == JobState.COMPLETED and added - gold > 0:
            now = self._core.clock()
            tx.set_job_state(job_id, JobState.RUNNING, now)
            tx.set_end_reason(job_id, EndReason.UNSPECIFIED)
            dispatch.end_if_budget_spent(tx, self.job.spec, job_id, now)
        return AddResult(added=added, duplicates=self._received - added, gold=gold)

    async def commit(self) -> AddResult:
        """Publishes the upload; if that fails, drops it, so nothing stays behind."""
        try:
            result = await self._commit()
        except BaseException:
            await self.abort()
            raise
        try:
            await self._route()
        except Exception:  # the items are in; the maintenance pass routes them
            log.exception("routing by the model after upload %d to %s failed", self._id, self.job.name)
        return result

    async def _commit(self) -> AddResult:
        core, job = self._core, self.job
        target = job.spec.floor
        started = time.perf_counter()

        def at_once(tx: Tx) -> AddResult | None:
            if tx.publishing(job.id):
                return None
            self._check(tx)
            added, gold = tx.publish_items(self._id, job.id, target, core.clock(), 0, self._received)
            return self._show(tx, added, gold)

        result = await core.store.write(at_once) if self._received <= PUBLISH_CHUNK else None
        if result is None:
            result = await self._publish_in_chunks(target)
        core.live_uploads.discard(self._id)
        log.info(
            "upload %d to %s: published %d items (%d gold, %d duplicates) in %.0f ms",
            self._id,
            job.name,
            result.added,
            result.gold,
            result.duplicates,
            (time.perf_counter() - started) * 1000,
        )
        return result

    async def _route(self) -> None:
        """The model labels the items it is sure of as soon as they are visible."""
        spec = self.job.spec
        if spec.routing is not None:
            learned = self._core.learned_thresholds.get(self.job.id, (0, {}))[1]
            limits = routing.thresholds(spec.routing, learned)
            await accept_by_model(self._core, spec, self.job.id, limits)

    async def _publish_in_chunks(self, target: int) -> AddResult:
        core, job = self._core, self.job

        def claim(tx: Tx) -> bool:
            self._check(tx)
            return tx.claim_publish(self._id, job.id, core.clock())

        while not await core.store.write(claim):
            await asyncio.sleep(0.05)
        log.info(
            "upload %d to %s: publishing %d staged items", self._id, job.name, self._received - self._repeats
        )
        added = gold = 0
        for first in range(0, self._received, PUBLISH_CHUNK):
            end = first + PUBLISH_CHUNK
            a, g = await core.store.write(functools.partial(self._publish_chunk, target=target, first=first))
            added, gold = added + a, gold + g
            if end // LOG_EVERY > first // LOG_EVERY:
                log.info("upload %d to %s: %d items published, still hidden", self._id, job.name, added)
        return await core.store.write(lambda tx: self._show(tx, added, gold))

    def _publish_chunk(self, tx: Tx, *, target: int, first: int) -> tuple[int, int]:
        return tx.publish_items(
            self._id, self.job.id, target, self._core.clock(), first, first + PUBLISH_CHUNK
        )

    async def abort(self) -> None:
        """Drops what the upload staged or published, chunk by chunk, in a task
        of its own: grpc cancels the handler of a broken stream a moment after
        its end, and that must not cut the drop short. (If the server stops
        first, the sweep finishes it once the heartbeat has lapsed.)"""
        if self._dropped:
            return
        self._dropped = True
        self._broken.set()
        self._core.live_uploads.discard(self._id)
        task = asyncio.ensure_future(self._drop())
        _DROPPING.add(task)
        task.add_done_callback(_DROPPING.discard)
        await asyncio.shield(task)

    async def _drop(self) -> None:
        dropped = 0
        while step := await self._core.store.write(functools.partial(drop_chunk, upload_id=self._id)):
            dropped += step
        log.info("upload %d to %s: dropped (%d rows)", self._id, self.job.name, dropped)
