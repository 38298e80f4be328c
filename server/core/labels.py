"""Labels out: the resumable stream, listing, export, and quality reports."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from labelwire.server.core.base import (
    PAGE_BYTES,
    CoreBase,
    fitting,
    page_cursor,
    parse_name,
    parse_pair,
    worker_from_row,
)
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.dispatch import gate
from labelwire.server.domain import validation
from labelwire.server.domain.errors import FailedPrecondition, NotFound
from labelwire.server.domain.model import (
    ENDED,
    Answer,
    Consolidated,
    GoldUse,
    ItemInput,
    ItemState,
    Job,
    JobState,
    Judgment,
    Label,
    Principal,
    TaskComment,
    TaskPhase,
    Worker,
    WorkerStatus,
)
from labelwire.server.domain.tasks import kind_of_answer, task_kind
from labelwire.server.files import exports, judgment_exports
from labelwire.server.files import policy as files_policy
from labelwire.server.files import storage as files
from labelwire.server.files.augmented import ExportFormat
from labelwire.server.labels import items as labeling
from labelwire.server.labels import outliers, quality_report, reliability, routing, verification_report
from labelwire.server.labels.quality_report import JobQuality
from labelwire.server.store import Tx

STREAM_BATCH = 1000
#: Rows a ListLabels call with a class or key condition reads at most, and
#: how many at a time.
FILTER_SCAN = 20_000
FILTER_BATCH = 1_000
REVISIONS_SHOWN = 1_000
ITEM_COMMENTS_SHOWN = 100


@dataclasses.dataclass(frozen=True)
class ItemView:
    """One item as its owner reads it: what was added (gold included), where
    it is, its current label and what workers said about it."""

    job_id: int
    item: ItemInput
    state: ItemState
    failure_reason: str
    label: Label | None
    comments: list[TaskComment]
    routed_from_job: int | None
    declines: list[ItemDecline]


@dataclasses.dataclass(frozen=True)
class ItemDecline:
    """A worker's "not this one" on one of the item's tasks, for its owner."""

    worker_id: int
    worker_display_name: str
    reason: str
    declined_at: float


def _names_class(value: Any, name: str) -> bool:
    kind = kind_of_answer(value) if isinstance(value, dict) else None
    return kind is not None and kind.names_class(value[kind.answer_key], name)


@dataclasses.dataclass(frozen=True)
class LabelFilter:
    """ListLabels' conditions; the defaults match every label."""

    class_name: str = ""
    min_confidence: float | None = None
    max_confidence: float | None = None
    method: str = ""
    human: bool | None = None
    revised: bool = False
    contested: bool = False
    key_contains: str = ""

    def check(self) -> None:
        for field, value in (
            ("filter.min_confidence", self.min_confidence),
            ("filter.max_confidence", self.max_confidence),
        ):
            if value is not None:
                validation.check_range(field, value, 0.0, 1.0)
        if self.min_confidence is not None and self.max_confidence is not None:
            validation.require(
                self.min_confidence <= self.max_confidence,
                f"filter.max_confidence ({self.max_confidence:g}) is under"
                f" filter.min_confidence ({self.min_confidence:g})",
                "filter.max_confidence",
            )
        validation.require(
            len(self.method) <= 64,
            f"filter.method must be at most 64 characters, got {len(self.method)}",
            "filter.method",
        )
        validation.require(
            len(self.class_name) <= 256,
            f"filter.class_name must be at most 256 characters, got {len(self.class_name)}",
            "filter.class_name",
        )
        validation.require(
            len(self.key_contains) <= 256,
            f"filter.item_key_contains must be at most 256 characters, got {len(self.key_contains)}",
            "filter.item_key_contains",
        )

    def sql(self) -> dict[str, Any]:
        return {
            "min_confidence": self.min_confidence,
            "max_confidence": self.max_confidence,
            "method": self.method,
            "human": self.human,
            "revised": self.revised,
            "contested": self.contested,
        }

    def in_python(self) -> bool:
        return bool(self.class_name or self.key_contains)

    def matches(self, row: Any) -> bool:
        if self.key_contains and self.key_contains not in row["item_key"]:
            return False
        return not self.class_name or _names_class(_shared_json(row["value"]), self.class_name)


STREAM_BATCH_BYTES = 512 * 1024


@functools.lru_cache(maxsize=8192)
def _shared_json(text: str) -> Any:
    """Label values and class probabilities repeat across a job's labels, so
    parsing each distinct text once keeps the label stream cheap. Callers only
    read the result."""
    return json.loads(text)


def _label(job_id: int, row: Any) -> Label:
    return Label(
        job_id=job_id,
        item_key=row["item_key"],
        sequence=int(row["sequence"]),
        revision=int(row["revision"]),
        value=_shared_json(row["value"]),
        confidence=float(row["confidence"]),
        probabilities=_shared_json(row["probabilities"]),
        method=row["method"],
        judgment_count=int(row["judgment_count"]),
        human=bool(row["human"]),
        tie=bool(row["tie"]),
        created_at=float(row["created_at"]),
        item_metadata=json.loads(row["item_metadata"]) if row["item_metadata"] else None,
    )


def _judgment(job_id: int, row: Any) -> Judgment:
    return Judgment(
        job_id=job_id,
        task_id=int(row["task_id"]),
        item_key=row["item_key"],
        worker_id=int(row["worker_id"]),
        answer=json.loads(row["answer"]),
        time_spent_ms=int(row["time_spent_ms"]),
        created_at=float(row["created_at"]),
        phase=TaskPhase(int(row["phase"])),
        gold=bool(row["is_gold"]),
        gold_correct=None if row["gold_correct"] is None else bool(row["gold_correct"]),
        excluded=bool(row["excluded"]),
        account_id=None if row["account_id"] is None else int(row["account_id"]),
        external_worker_id=row["external_id"],
        instructions_version=int(row["instructions_version"]),
    )


def _row_bytes(row: Any) -> int:
    """About what a label row takes as a message."""
    return (
        200
        + len(row["item_key"])
        + len(row["value"])
        + len(row["probabilities"])
        + len(row["item_metadata"] or "")
    )


def _next_limit(rows: list[Any]) -> int:
    """Rows per read, so that what a stream holds while its client is slow
    stays near STREAM_BATCH_BYTES however large each label's metadata is."""
    size = sum(_row_bytes(r) for r in rows)
    return max(1, min(STREAM_BATCH, STREAM_BATCH_BYTES * len(rows) // size))


def _everything(tx: Tx, job_id: int) -> tuple[list[Any], dict[int, Answer], list[Any]]:
    labels = {int(r["item_id"]): json.loads(r["value"]) for r in tx.current_labels(job_id, 0, 2**62)}
    return tx.job_judgments(job_id), labels, tx.workers_of(job_id, 0, 2**62)


class LabelsCore(CoreBase):
    async def stream_labels(
        self, principal: Principal, job_name: str, after_sequence: int, snapshot_only: bool
    ) -> AsyncIterator[list[Label]]:
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.require(
            after_sequence >= 0, f"after_sequence must be >= 0, got {after_sequence}", "after_sequence"
        )
        await self.store.read(lambda tx: self.require_job_row(tx, job_id, principal.id))
        after = after_sequence
        limit = STREAM_BATCH_BYTES // 2048
        while True:
            seen = self.feed.version(job_id)

            def batch(tx: Tx, after: int = after, limit: int = limit) -> tuple[list[Any], int]:
                row = self.require_job_row(tx, job_id)
                return tx.label_events(job_id, after, limit), int(row["state"])

            rows, state = await self.store.read(batch)
            if rows:
                labels = [_label(job_id, r) for r in rows]
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
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        size = page_size or 1000
        validation.check_range("page_size", size, 1, 10_000)
        after = page_cursor(page_token, default=0)
        where = where or LabelFilter()
        where.check()
        if not where.in_python():

            def page(tx: Tx) -> list[Any]:
                self.require_job_row(tx, job_id, principal.id)
                return tx.current_labels(job_id, after, size + 1, **where.sql())

            rows = await self.store.read(page)
            keep = min(size, fitting([_row_bytes(r) for r in rows]))
            more = len(rows) > keep
            rows = rows[:keep]
            return [_label(job_id, r) for r in rows], (str(rows[-1]["item_id"]) if more else "")

        def scan(tx: Tx) -> tuple[list[Any], int, bool]:
            """The class and key conditions look inside the label's JSON and
            the key, the same on every store, so they are checked here over at
            most FILTER_SCAN rows; the token then points past the last row
            read, matched or not."""
            self.require_job_row(tx, job_id, principal.id)
            hits: list[Any] = []
            cursor, sizes = after, 0
            for _ in range(FILTER_SCAN // FILTER_BATCH):
                rows = tx.current_labels(job_id, cursor, FILTER_BATCH, **where.sql())
                for row in rows:
                    if where.matches(row):
                        sizes += _row_bytes(row)
                        if len(hits) == size or (hits and sizes > PAGE_BYTES):
                            return hits, cursor, True
                        hits.append(row)
                    cursor = int(row["item_id"])
                if len(rows) < FILTER_BATCH:
                    return hits, cursor, False
            return hits, cursor, bool(tx.current_labels(job_id, cursor, 1, **where.sql()))

        rows, cursor, more = await self.store.read(scan)
        return [_label(job_id, r) for r in rows], (str(cursor) if more else "")

    async def correct_label(self, principal: Principal, job_name: str, item_key: str, value: Answer) -> Label:
        """The owner's answer becomes the item's next revision: a person who
        owns the job overrides the crowd and every later pass
        (labeling.emit_label keeps it), and clients following the feed see
        it like any other revision."""
        job = await self.get_job(principal, job_name)
        validation.require(bool(item_key), "item_key is required", "item_key")
        validation.validate_answer(job.spec, value, "value")
        now = self.clock()

        def write(tx: Tx) -> int:
            item = tx.item_by_key(job.id, item_key)
            if item is None:
                raise NotFound(f"{job.name} has no item {validation.quote(item_key)}")
            if item["is_gold"]:
                raise FailedPrecondition(
                    f"item {validation.quote(item_key)} is gold: its answer is known, not labeled"
                )
            if item["label_sequence"] is None:
                raise FailedPrecondition(
                    f"item {validation.quote(item_key)} has no label yet; correct it once it is labeled"
                )
            current = tx.label_event(job.id, int(item["label_sequence"]))
            assert current is not None
            label = Consolidated(
                value=value,
                confidence=1.0,
                probabilities={},
                method=labeling.CORRECTION_METHOD,
                judgment_count=int(current["judgment_count"]),
                tie=False,
            )
            return labeling.append_label(tx, job.id, item, label, now, spec=job.spec)

        sequence = await self.store.write(write)
        self.feed.notify(job.id)
        rows = await self.store.read(lambda tx: tx.label_events(job.id, sequence - 1, 1))
        return _label(job.id, rows[0])

    async def disqualify_worker(self, principal: Principal, name: str) -> Worker:
        """The owner's verdict on a worker, with the consequences the gold
        checks' verdict has: no more tasks, judgments excluded, items
        relabeled and reopened."""
        self.require(principal, "client")
        job_id, worker_id = parse_pair(name, "workers", "worker")
        job = await self.get_job(principal, f"jobs/{job_id}")
        now = self.clock()

        def write(tx: Tx) -> Worker:
            row = tx.worker(worker_id)
            if row is None or int(row["job_id"]) != job_id:
                raise NotFound(f"{name} does not exist")
            if int(row["status"]) != WorkerStatus.DISQUALIFIED:
                tx.update_worker(worker_id, status=int(WorkerStatus.DISQUALIFIED))
                dispatch.disqualify(tx, job.spec, job_id, worker_id, now)
            updated = tx.worker(worker_id)
            assert updated is not None
            return worker_from_row(updated)

        worker = await self.store.write(write)
        self.feed.notify(job_id)
        return worker

    async def label_revisions(
        self, principal: Principal, job_name: str, item_key: str
    ) -> tuple[list[Label], bool]:
        """An item's history as the feed told it, for the owner reading one
        item; the newest REVISIONS_SHOWN when there are more."""
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.check_text("item_key", item_key, low=1, high=validation.MAX_KEY_CHARS)

        def read(tx: Tx) -> list[Any]:
            self.require_job_row(tx, job_id, principal.id)
            item = tx.item_by_key(job_id, item_key)
            if item is None:
                raise NotFound(f"{job_name} has no item {validation.quote(item_key)}")
            if item["label_sequence"] is None:
                return []
            return tx.label_revisions(
                job_id, int(item["id"]), int(item["label_sequence"]), REVISIONS_SHOWN + 1
            )

        rows = await self.store.read(read)
        truncated = len(rows) > REVISIONS_SHOWN
        return [_label(job_id, r) for r in reversed(rows[:REVISIONS_SHOWN])], truncated

    async def item_view(self, principal: Principal, job_name: str, item_key: str) -> ItemView:
        """The owner's look at one item, gold and all: only the owner's key
        reaches it (require rejects the admin and workers)."""
        self.require(principal, "client")
        job_id = parse_name(job_name, "jobs", "job")
        validation.check_text("item_key", item_key, low=1, high=validation.MAX_KEY_CHARS)

        def read(tx: Tx) -> ItemView:
            self.require_job_row(tx, job_id, principal.id)
            item = tx.item_by_key(job_id, item_key)
            if item is None:
                raise NotFound(f"{job_name} has no item {validation.quote(item_key)}")
            label = None
            if item["label_sequence"] is not None:
                event = tx.label_event(job_id, int(item["label_sequence"]))
                if event is not None:
                    row = dict(event) | {"item_key": item["key"], "item_metadata": item["metadata"]}
                    label = _label(job_id, row)
            comments = [
                TaskComment(
                    id=int(r["id"]),
                    job_id=job_id,
                    task_id=int(r["task_id"]),
                    worker_id=int(r["worker_id"]),
                    worker_display_name=r["display_name"],
                    item_key=r["item_key"],
                    text=r["body"],
                    created_at=float(r["created_at"]),
                )
                for r in tx.item_comments(job_id, int(item["id"]), ITEM_COMMENTS_SHOWN)
            ]
            routed = item["routed_from_job"]
            declines = [
                ItemDecline(
                    worker_id=int(r["worker_id"]),
                    worker_display_name=r["display_name"],
                    reason=r["decline_reason"] or "",
                    declined_at=float(r["finished_at"] or 0.0),
                )
                for r in tx.item_declines(job_id, int(item["id"]), ITEM_COMMENTS_SHOWN)
            ]
            return ItemView(
                job_id=job_id,
                item=ItemInput(
                    key=item["key"],
                    payload_kind=item["payload_kind"],
                    payload=item["payload"],
                    metadata=json.loads(item["metadata"]) if item["metadata"] else None,
                    prelabel=json.loads(item["prelabel"]) if item["prelabel"] else None,
                    prelabel_confidence=item["prelabel_confidence"],
                    gold=json.loads(item["gold"]) if item["gold"] else None,
                    gold_use=GoldUse(int(item["gold_use"])),
                    gold_explanation=item["gold_explanation"] or "",
                ),
                state=ItemState(int(item["state"])),
                failure_reason=item["failure_reason"] or "",
                label=label,
                comments=comments,
                routed_from_job=int(routed) if routed is not None else None,
                declines=declines,
            )

        return await self.store.read(read)

    async def requalify_worker(self, principal: Principal, name: str) -> Worker:
        """The owner's second thoughts: the worker may work again. What the
        disqualification excluded stays out, since its items were judged
        again and counting both would over-judge them."""
        self.require(principal, "client")
        job_id, worker_id = parse_pair(name, "workers", "worker")
        job = await self.get_job(principal, f"jobs/{job_id}")

        def write(tx: Tx) -> Worker:
            row = tx.worker(worker_id)
            if row is None or int(row["job_id"]) != job_id:
                raise NotFound(f"{name} does not exist")
            state = tx.job(job_id)
            if state is not None and JobState(int(state["state"])) in ENDED:
                raise FailedPrecondition(f"{job.name} has ended; its workers stay as they are")
            status = WorkerStatus(int(row["status"]))
            if status in (WorkerStatus.QUIZ, WorkerStatus.FAILED_QUIZ):
                raise FailedPrecondition(
                    f"{name} is {'in' if status == WorkerStatus.QUIZ else 'failed at'} the quiz;"
                    " only a disqualified worker can be requalified"
                )
            if status == WorkerStatus.DISQUALIFIED:
                tx.update_worker(worker_id, status=int(WorkerStatus.QUALIFIED))
            updated = tx.worker(worker_id)
            assert updated is not None
            return worker_from_row(updated)

        worker = await self.store.write(write)
        self.feed.notify(job_id)
        return worker

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
        self.require(principal, "client")
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

        def page(tx: Tx) -> list[Any]:
            self.require_job_row(tx, job_id, principal.id)
            item_id = None
            if item_key:
                item = tx.item_by_key(job_id, item_key)
                if item is None:
                    raise NotFound(f"{job_name} has no item with key {validation.quote(item_key)}")
                item_id = int(item["id"])
            return tx.judgment_page(
                job_id, after, size + 1, item_id=item_id, worker_id=worker_id, instructions_version=version
            )

        rows = await self.store.read(page)
        keep = min(size, fitting([300 + len(r["answer"]) + len(r["item_key"]) for r in rows]))
        more = len(rows) > keep
        rows = rows[:keep]
        return [_judgment(job_id, r) for r in rows], (str(rows[-1]["task_id"]) if more else "")

    async def job_quality(
        self, principal: Principal, job_name: str
    ) -> tuple[Job, JobQuality, list[Worker], quality_report.Declines]:
        job = await self.get_job(principal, job_name)
        judgments, labels, workers = await self.store.read(lambda tx: _everything(tx, job.id))
        declined = await self.store.read(lambda tx: tx.job_declines(job.id))
        gold = await self.store.read(lambda tx: tx.gold_by_version(job.id))
        measured = await asyncio.to_thread(quality_report.measure, job.spec, judgments, labels)
        versions = quality_report.by_version(job.spec, judgments, labels, gold)
        measured = dataclasses.replace(measured, versions=versions)
        return job, measured, [worker_from_row(w) for w in workers], quality_report.declines(declined)

    async def calibration(
        self, principal: Principal, job_name: str, buckets: int, target_precision: float
    ) -> list[quality_report.ClassCalibration]:
        job = await self.get_job(principal, job_name)
        buckets = buckets or 10
        target_precision = target_precision or 0.95
        validation.check_range("buckets", buckets, 2, 100)
        validation.check_range("target_precision", target_precision, 0.5, 1.0)
        rows = await self.store.read(lambda tx: tx.prelabeled(job.id))
        return quality_report.calibrate(job.spec, rows, buckets, target_precision)

    async def reliability(self, principal: Principal, job_name: str, bins: int) -> reliability.Table:
        """How often a classification job's labels are right at each stated confidence, on its gold."""
        job = await self.get_job(principal, job_name)
        bins = bins or 10
        validation.check_range("bins", bins, 2, 50)
        if not task_kind(job.spec).single_class:
            raise FailedPrecondition(
                f"{job.name} is a {job.spec.task_type} job; the reliability table is for classification jobs"
            )

        def read(tx: Tx) -> tuple[list[Any], dict[int, tuple[float | None, int, int]]]:
            rows = tx.gold_judgments(job.id)
            return rows, tx.skills_of(sorted({int(r["worker_id"]) for r in rows}))

        rows, records = await self.store.read(read)
        outcomes = await asyncio.to_thread(
            reliability.gold_outcomes, job.spec, rows, records, gate.estimated_skill
        )
        return reliability.table(outcomes, bins)

    async def worker_outliers(self, principal: Principal, job_name: str) -> tuple[str, outliers.Report]:
        """Each worker's share of outlying annotations on a bounding-box job, and the job's name."""
        job = await self.get_job(principal, job_name)
        if job.spec.task_type not in outliers.TASK_TYPES:
            raise FailedPrecondition(
                f"{job.name} is a {job.spec.task_type} job; the outlier report is for bounding_box jobs"
            )
        rows = await self.store.read(lambda tx: tx.job_judgments(job.id))
        return job.name, await asyncio.to_thread(outliers.report, job.spec, rows)

    async def verification_report(
        self,
        principal: Principal,
        job_name: str,
        edges: Sequence[float],
        split_is_correct: bool,
        target_precision: float,
        level: float,
    ) -> verification_report.Report:
        job = await self.get_job(principal, job_name)
        if not task_kind(job.spec).reviews_prelabel:
            raise FailedPrecondition(
                f"{job.name} is a {job.spec.task_type} job; the report is for verification jobs"
            )
        cuts = tuple(edges) or verification_report.DEFAULT_EDGES
        validation.require(
            2 <= len(cuts) <= 101, f"bucket_edges must have 2 to 101 edges, got {len(cuts)}", "bucket_edges"
        )
        for i, edge in enumerate(cuts):
            validation.check_range(f"bucket_edges[{i}]", edge, 0.0, 1.0)
            validation.require(
                i == 0 or edge > cuts[i - 1],
                f"bucket_edges must ascend: bucket_edges[{i}] is {edge:g} after {cuts[i - 1]:g}",
                f"bucket_edges[{i}]",
            )
        target_precision = target_precision or 0.95
        level = level or 0.95
        validation.check_range("target_precision", target_precision, 0.5, 1.0)
        validation.check_range("interval_level", level, 0.5, 0.999)
        rows = await self.store.read(lambda tx: tx.verified(job.id))
        return verification_report.build(
            rows, cuts, split_is_correct=split_is_correct, target=target_precision, level=level
        )

    async def model_routing(
        self, principal: Principal, job_name: str
    ) -> tuple[list[routing.ClassRouting], int]:
        """What routing by the model accepted per class, how its audits
        agreed, and the human judgments it saved."""
        job = await self.get_job(principal, job_name)
        if job.spec.routing is None:
            return [], 0
        rows = await self.store.read(lambda tx: tx.model_accepted(job.id))
        learned: dict[str, float] = {}
        if job.spec.routing.learn_thresholds:
            cached = self.learned_thresholds.get(job.id)
            if cached is not None:
                learned = cached[1]
            else:
                labeled = await self.store.read(lambda tx: tx.prelabeled(job.id))
                learned = await asyncio.to_thread(routing.learn, job.spec, labeled)
        return routing.report(job.spec, job.id, rows, learned)

    async def export_labels(
        self, principal: Principal, job_name: str, uri: str, label_job_name: str = ""
    ) -> tuple[int, int]:
        """Writes every item of the job, with its current label where it has
        one, as a Ground Truth augmented manifest to the client's files folder
        or S3; returns (lines, lines with a label)."""
        job = await self.get_job(principal, job_name)
        validation.require(bool(uri), "uri is required", "uri")
        if not task_kind(job.spec).exports_labels:
            raise FailedPrecondition(
                f"{job.name} is a segmentation job: ExportLabels does not write mask images yet;"
                " read its labels with ListLabels"
            )
        fmt = self._export_format(job, label_job_name)
        target = files_policy.resolve(self.files_settings, principal.id, uri, "uri", write=True)
        rows = await self._export_items(job.id)
        labeled = 0

        def lines() -> Iterator[dict[str, Any]]:
            nonlocal labeled
            for row in rows:
                line, has_label = exports.export_line(row, fmt)
                labeled += has_label
                yield line

        written = await asyncio.to_thread(files.write_lines, target, lines())
        return written, labeled

    async def export_judgments(
        self, principal: Principal, job_name: str, uri: str, form: str, label_job_name: str = ""
    ) -> tuple[int, int]:
        """Writes every raw judgment of the job to the client's files folder or
        S3, flat or grouped by item as Ground Truth gives them to a
        consolidation Lambda; returns (lines, judgments written)."""
        job = await self.get_job(principal, job_name)
        validation.require(bool(uri), "uri is required", "uri")
        validation.require(
            form in judgment_exports.FORMS,
            "format must be JUDGMENT_EXPORT_FORMAT_JSON_LINES, JUDGMENT_EXPORT_FORMAT_GROUND_TRUTH"
            " or JUDGMENT_EXPORT_FORMAT_CSV",
            "format",
        )
        if form == judgment_exports.GROUND_TRUTH and not task_kind(job.spec).exports_labels:
            raise FailedPrecondition(
                f"{job.name} is a segmentation job: its labels' mask images are not exported yet;"
                " export its judgments as JSON Lines"
            )
        fmt = self._export_format(job, label_job_name)
        target = files_policy.resolve(self.files_settings, principal.id, uri, "uri", write=True)
        judgments: list[Judgment] = []
        after = 0
        while True:

            def page(tx: Tx, after: int = after) -> list[Any]:
                return tx.judgment_page(job.id, after, 5000)

            batch = await self.store.read(page)
            if not batch:
                break
            judgments += [_judgment(job.id, r) for r in batch]
            after = int(batch[-1]["task_id"])
        if form == judgment_exports.CSV:
            written = await asyncio.to_thread(
                files.write_csv,
                target,
                judgment_exports.CSV_COLUMNS,
                (judgment_exports.csv_row(j) for j in judgments),
            )
            return written, len(judgments)
        if form == judgment_exports.FLAT:
            written = await asyncio.to_thread(
                files.write_lines, target, (judgment_exports.flat_line(j) for j in judgments)
            )
            return written, len(judgments)
        rows = await self._export_items(job.id)
        lines = judgment_exports.ground_truth_lines(rows, judgments, fmt)
        written = await asyncio.to_thread(files.write_lines, target, lines)
        return written, sum(not j.excluded for j in judgments)

    def _export_format(self, job: Job, label_job_name: str) -> ExportFormat:
        return ExportFormat(
            attribute=job.spec.label_attribute_name,
            task_type=job.spec.task_type,
            media_type=job.spec.media_type,
            classes=job.spec.class_names,
            job_name=exports.job_name(label_job_name, job.spec.display_name, job.id),
        )

    async def _export_items(self, job_id: int) -> list[Any]:
        """Every item of the job with its current label, in item order."""
        rows: list[Any] = []
        after = 0
        while True:

            def page(tx: Tx, after: int = after) -> list[Any]:
                return tx.export_items(job_id, after, 5000)

            batch = await self.store.read(page)
            if not batch:
                return rows
            rows += batch
            after = int(batch[-1]["item_id"])
