"""Labels out: the resumable stream, listing, export, and quality reports.

`LabelsCore` reads and corrects labels here; it takes the quality reports
from `label_quality.QualityCore` and the exports from
`label_exports.ExportsCore`. The API's views of rows are in `label_rows`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable

from labelwire.server.core.base import (
    PAGE_BYTES,
    JobReads,
    fitting,
    page_cursor,
    page_of,
    parse_name,
    parse_pair,
    require,
)
from labelwire.server.core.label_rows import (
    STREAM_BATCH,
    STREAM_BATCH_BYTES,
    ItemDecline,
    ItemView,
    LabelFilter,
    _next_limit,
    comment_of,
    decline_of,
    judgment_of,
    label_of,
    row_bytes,
)
from labelwire.server.domain import validation
from labelwire.server.domain.errors import FailedPrecondition, NotFound
from labelwire.server.domain.model import (
    ENDED,
    Answer,
    Consolidated,
    GoldUse,
    ItemInput,
    ItemState,
    JobState,
    Judgment,
    Label,
    Principal,
)
from labelwire.server.files import presign
from labelwire.server.files.policy import FilesSettings
from labelwire.server.labels import items as labeling
from labelwire.server.labels.feed import FeedSignal
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import JudgmentPageRow, LabelRow

__all__ = [
    "STREAM_BATCH",
    "STREAM_BATCH_BYTES",
    "ItemDecline",
    "ItemView",
    "LabelFilter",
    "LabelsService",
    "_next_limit",
]

#: Rows a ListLabels call with a class or key condition reads at most, and
#: how many at a time.
FILTER_SCAN = 20_000
FILTER_BATCH = 1_000
REVISIONS_SHOWN = 1_000
ITEM_COMMENTS_SHOWN = 100


@dataclasses.dataclass(eq=False, kw_only=True)
class LabelsService:
    """Labels out: the stream, listings, corrections, an item's page, judgments."""

    store: Store
    reads: JobReads
    feed: FeedSignal
    files_settings: FilesSettings
    clock: Callable[[], float]

    async def stream_labels(
        self, principal: Principal, job_name: str, after_sequence: int, snapshot_only: bool
    ) -> AsyncIterator[list[Label]]:
        require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.require(
            after_sequence >= 0, f"after_sequence must be >= 0, got {after_sequence}", "after_sequence"
        )
        await self.store.read(lambda tx: self.reads.require_job_row(tx, job_id, principal.id))
        after = after_sequence
        limit = STREAM_BATCH_BYTES // 2048
        while True:
            seen = self.feed.version(job_id)

            def batch(tx: Tx, after: int = after, limit: int = limit) -> tuple[list[LabelRow], int]:
                row = self.reads.require_job_row(tx, job_id)
                return tx.label_events(job_id, after, limit), row.state

            rows, state = await self.store.read(batch)
            if rows:
                labels = [label_of(job_id, r) for r in rows]
                after = labels[-1].sequence
                limit = _next_limit(rows)
                del rows
                yield labels
                continue
            if snapshot_only or JobState(state) in ENDED:
                return
            await self.feed.wait(job_id, seen, timeout=1.0)

    async def list_labels(
        self,
        principal: Principal,
        job_name: str,
        page_size: int,
        page_token: str,
        where: LabelFilter | None = None,
    ) -> tuple[list[Label], str]:
        require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        size = page_size or 1000
        validation.check_range("page_size", size, 1, 10_000)
        after = page_cursor(page_token, default=0)
        where = where or LabelFilter()
        where.check()
        if not where.in_python():

            def page(tx: Tx) -> list[LabelRow]:
                self.reads.require_job_row(tx, job_id, principal.id)
                return tx.current_labels(job_id, after, size + 1, **where.sql())

            rows = await self.store.read(page)
            keep = min(size, fitting([row_bytes(r) for r in rows]))
            rows, token = page_of(rows, keep, lambda r: r.item_id)
            return [label_of(job_id, r) for r in rows], token

        def scan(tx: Tx) -> tuple[list[LabelRow], int, bool]:
            """The class and key conditions look inside the label's JSON and
            the key, the same on every store, so they are checked here over at
            most FILTER_SCAN rows; the token then points past the last row
            read, matched or not."""
            self.reads.require_job_row(tx, job_id, principal.id)
            hits: list[LabelRow] = []
            cursor, sizes = after, 0
            for _ in range(FILTER_SCAN // FILTER_BATCH):
                rows = tx.current_labels(job_id, cursor, FILTER_BATCH, **where.sql())
                for row in rows:
                    if where.matches(row):
                        sizes += row_bytes(row)
                        if len(hits) == size or (hits and sizes > PAGE_BYTES):
                            return hits, cursor, True
                        hits.append(row)
                    cursor = row.item_id
                if len(rows) < FILTER_BATCH:
                    return hits, cursor, False
            return hits, cursor, bool(tx.current_labels(job_id, cursor, 1, **where.sql()))

        rows, cursor, more = await self.store.read(scan)
        return [label_of(job_id, r) for r in rows], (str(cursor) if more else "")

    async def correct_label(self, principal: Principal, job_name: str, item_key: str, value: Answer) -> Label:
        """The owner's answer becomes the item's next revision: a person who
        owns the job overrides the crowd and every later pass
        (labeling.emit_label keeps it), and clients following the feed see
        it like any other revision."""
        job = await self.reads.get_job(principal, job_name)
        validation.require(bool(item_key), "item_key is required", "item_key")
        validation.validate_answer(job.spec, value, "value")
        now = self.clock()

        def write(tx: Tx) -> int:
            item = tx.item_by_key(job.id, item_key)
            if item is None:
                raise NotFound(f"{job.name} has no item {validation.quote(item_key)}")
            if item.is_gold:
                raise FailedPrecondition(
                    f"item {validation.quote(item_key)} is gold: its answer is known, not labeled"
                )
            if item.label_sequence is None:
                raise FailedPrecondition(
                    f"item {validation.quote(item_key)} has no label yet; correct it once it is labeled"
                )
            current = tx.label_event(job.id, item.label_sequence)
            assert current is not None
            label = Consolidated(
                value=value,
                confidence=1.0,
                probabilities={},
                method=labeling.CORRECTION_METHOD,
                judgment_count=current.judgment_count,
                tie=False,
            )
            return labeling.append_label(tx, job.id, item, label, now, spec=job.spec)

        sequence = await self.store.write(write)
        rows = await self.store.read(lambda tx: tx.label_events(job.id, sequence - 1, 1))
        return label_of(job.id, rows[0])

    async def label_revisions(
        self, principal: Principal, job_name: str, item_key: str
    ) -> tuple[list[Label], bool]:
        """An item's history as the feed told it, for the owner reading one
        item; the newest REVISIONS_SHOWN when there are more."""
        require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.check_text("item_key", item_key, low=1, high=validation.MAX_KEY_CHARS)

        def read(tx: Tx) -> list[LabelRow]:
            self.reads.require_job_row(tx, job_id, principal.id)
            item = tx.item_by_key(job_id, item_key)
            if item is None:
                raise NotFound(f"{job_name} has no item {validation.quote(item_key)}")
            if item.label_sequence is None:
                return []
            return tx.label_revisions(job_id, item.id, REVISIONS_SHOWN + 1)

        rows = await self.store.read(read)
        truncated = len(rows) > REVISIONS_SHOWN
        return [label_of(job_id, r) for r in reversed(rows[:REVISIONS_SHOWN])], truncated

    async def item_view(self, principal: Principal, job_name: str, item_key: str) -> ItemView:
        """The owner's look at one item, gold and all: only the owner's key
        reaches it (require rejects the admin and workers)."""
        require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.check_text("item_key", item_key, low=1, high=validation.MAX_KEY_CHARS)

        def read(tx: Tx) -> ItemView:
            self.reads.require_job_row(tx, job_id, principal.id)
            item = tx.item_by_key(job_id, item_key)
            if item is None:
                raise NotFound(f"{job_name} has no item {validation.quote(item_key)}")
            label = None
            if item.label_sequence is not None:
                event = tx.label_event(job_id, item.label_sequence)
                if event is not None:
                    label = label_of(job_id, event)
            comments = [comment_of(job_id, r) for r in tx.item_comments(job_id, item.id, ITEM_COMMENTS_SHOWN)]
            routed = item.routed_from_job
            declines = [decline_of(r) for r in tx.item_declines(job_id, item.id, ITEM_COMMENTS_SHOWN)]
            return ItemView(
                job_id=job_id,
                item=ItemInput(
                    key=item.key,
                    payload_kind=item.payload_kind,
                    payload=item.payload,
                    metadata=json.loads(item.metadata) if item.metadata else None,
                    prelabel=json.loads(item.prelabel) if item.prelabel else None,
                    prelabel_confidence=item.prelabel_confidence,
                    gold=json.loads(item.gold) if item.gold else None,
                    gold_use=GoldUse(item.gold_use),
                    gold_explanation=item.gold_explanation or "",
                ),
                state=ItemState(item.state),
                failure_reason=item.failure_reason or "",
                label=label,
                comments=comments,
                routed_from_job=int(routed) if routed is not None else None,
                declines=declines,
            )

        view = await self.store.read(read)
        if view.item.payload_kind == "source_ref" and view.item.payload.startswith("s3://"):
            # Off the event loop: the first presign makes a boto3 client.
            url = await asyncio.to_thread(
                presign.owner_link, self.files_settings, principal.id, view.item.payload
            )
            view = dataclasses.replace(view, source_url=url)
        return view

    async def list_judgments(
        self,
        principal: Principal,
        job_name: str,
        page_size: int,
        page_token: str,
        *,
        item_key: str = "",
        worker: str = "",
        instructions_version: int = 0,
    ) -> tuple[list[Judgment], str]:
        """The job's raw judgments for its owner, in submission order; the
        token is the last task id, so a page survives judgments arriving."""
        require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        size = page_size or 1000
        validation.check_range("page_size", size, 1, 10_000)
        after = page_cursor(page_token, default=0)
        validation.check_text("item_key", item_key, low=0, high=validation.MAX_KEY_CHARS)
        validation.check_range("instructions_version", instructions_version, 0, 2**31 - 1)
        version = instructions_version or None
        worker_id = None
        if worker:
            worker_job, worker_id = parse_pair(worker, "workers", "worker")
            validation.require(
                worker_job == job_id,
                f"worker must be a worker of {job_name}, got {validation.quote(worker)}",
                "worker",
            )

        def page(tx: Tx) -> list[JudgmentPageRow]:
            self.reads.require_job_row(tx, job_id, principal.id)
            item_id = None
            if item_key:
                item = tx.item_by_key(job_id, item_key)
                if item is None:
                    raise NotFound(f"{job_name} has no item with key {validation.quote(item_key)}")
                item_id = item.id
            return tx.judgment_page(
                job_id, after, size + 1, item_id=item_id, worker_id=worker_id, instructions_version=version
            )

        rows = await self.store.read(page)
        keep = min(size, fitting([300 + len(r.answer) + len(r.item_key) for r in rows]))
        rows, token = page_of(rows, keep, lambda r: r.task_id)
        return [judgment_of(job_id, r) for r in rows], token
