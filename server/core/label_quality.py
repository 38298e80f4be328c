"""Quality of a job's workers and labels: disqualifying and requalifying a worker,
the quality report, calibration, reliability, outliers, verification and model routing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Sequence

from labelwire.server.core.base import JobReads, parse_pair, require, worker_from_row
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.dispatch import gate
from labelwire.server.domain import validation
from labelwire.server.domain.errors import FailedPrecondition, NotFound
from labelwire.server.domain.model import ENDED, Answer, Job, Principal, Worker, WorkerStatus
from labelwire.server.domain.tasks import KINDS, task_kind
from labelwire.server.labels import outliers, quality_report, reliability, routing, verification_report
from labelwire.server.labels.quality_report import JobQuality
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import CountedJudgmentRow, GoldJudgmentRow, WorkerRow


def _everything(tx: Tx, job_id: int) -> tuple[list[CountedJudgmentRow], dict[int, Answer], list[WorkerRow]]:
    labels = {r.item_id: json.loads(r.value) for r in tx.current_labels(job_id, 0, 2**62)}
    return tx.job_judgments(job_id), labels, tx.workers_of(job_id, 0, 2**62)


@dataclasses.dataclass(eq=False, kw_only=True)
class QualityService:
    """A job's quality reports and the owner's calls on its workers' standing."""

    store: Store
    reads: JobReads
    learned_thresholds: dict[int, tuple[int, dict[str, float]]]
    clock: Callable[[], float]

    async def disqualify_worker(self, principal: Principal, name: str) -> Worker:
        """The owner's verdict on a worker, with the consequences the gold
        checks' verdict has: no more tasks, judgments excluded, items
        relabeled and reopened."""
        require(principal, "client")
        job_id, worker_id = parse_pair(name, "workers", "worker")
        job = await self.reads.get_job(principal, f"jobs/{job_id}")
        now = self.clock()

        def write(tx: Tx) -> Worker:
            row = tx.worker(worker_id)
            if row is None or row.job_id != job_id:
                raise NotFound(f"{name} does not exist")
            if row.status != WorkerStatus.DISQUALIFIED:
                tx.update_worker(worker_id, status=int(WorkerStatus.DISQUALIFIED))
                dispatch.disqualify(tx, job.spec, job_id, worker_id, now)
            updated = tx.worker(worker_id)
            assert updated is not None
            return worker_from_row(updated)

        return await self.store.write(write)

    async def requalify_worker(self, principal: Principal, name: str) -> Worker:
        """The owner's second thoughts: the worker may work again. What the
        disqualification excluded stays out, since its items were judged
        again and counting both would over-judge them."""
        require(principal, "client")
        job_id, worker_id = parse_pair(name, "workers", "worker")
        job = await self.reads.get_job(principal, f"jobs/{job_id}")

        def write(tx: Tx) -> Worker:
            row = tx.worker(worker_id)
            if row is None or row.job_id != job_id:
                raise NotFound(f"{name} does not exist")
            state = tx.job(job_id)
            if state is not None and state.state in ENDED:
                raise FailedPrecondition(f"{job.name} has ended; its workers stay as they are")
            status = row.status
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

        return await self.store.write(write)

    async def job_quality(
        self, principal: Principal, job_name: str
    ) -> tuple[Job, JobQuality, list[Worker], quality_report.Declines, dict[int, list[float]]]:
        job = await self.reads.get_job(principal, job_name)
        judgments, labels, workers = await self.store.read(lambda tx: _everything(tx, job.id))
        declined = await self.store.read(lambda tx: tx.job_declines(job.id))
        trends = quality_report.accuracy_trends(await self.store.read(lambda tx: tx.gold_outcomes(job.id)))
        gold = await self.store.read(lambda tx: tx.gold_by_version(job.id))
        measured = await asyncio.to_thread(quality_report.measure, job.spec, judgments, labels)
        versions = quality_report.by_version(job.spec, judgments, labels, gold)
        measured = dataclasses.replace(measured, versions=versions)
        return job, measured, [worker_from_row(w) for w in workers], quality_report.declines(declined), trends

    async def calibration(
        self, principal: Principal, job_name: str, buckets: int, target_precision: float
    ) -> list[quality_report.ClassCalibration]:
        job = await self.reads.get_job(principal, job_name)
        buckets = buckets or 10
        target_precision = target_precision or 0.95
        validation.check_range("buckets", buckets, 2, 100)
        validation.check_range("target_precision", target_precision, 0.5, 1.0)
        rows = await self.store.read(lambda tx: tx.prelabeled(job.id))
        return quality_report.calibrate(job.spec, rows, buckets, target_precision)

    async def reliability(self, principal: Principal, job_name: str, bins: int) -> reliability.Table:
        """How often a classification job's labels are right at each stated confidence, on its gold."""
        job = await self.reads.get_job(principal, job_name)
        bins = bins or 10
        validation.check_range("bins", bins, 2, 50)
        if not task_kind(job.spec).single_class:
            raise FailedPrecondition(
                f"{job.name} is a {job.spec.task_type} job; the reliability table is for classification jobs"
            )

        def read(tx: Tx) -> tuple[list[GoldJudgmentRow], dict[int, tuple[float | None, int, int]]]:
            rows = tx.gold_judgments(job.id)
            return rows, tx.skills_of(sorted({int(r.worker_id) for r in rows}))

        rows, records = await self.store.read(read)
        outcomes = await asyncio.to_thread(
            reliability.gold_outcomes, job.spec, rows, records, gate.estimated_skill
        )
        return reliability.table(outcomes, bins)

    async def worker_outliers(
        self, principal: Principal, job_name: str, item_limit: int | None = None
    ) -> tuple[str, outliers.Report]:
        """Each worker's share of outlying annotations and the items of widest spread on a job
        whose answers have a spread (boxes, key points, numbers), and the job's name."""
        job = await self.reads.get_job(principal, job_name)
        limit = outliers.DEFAULT_ITEMS if item_limit is None else item_limit
        validation.check_range("item_limit", limit, 0, outliers.MAX_ITEMS)
        if not task_kind(job.spec).has_spread:
            covered = ", ".join(name for name, kind in KINDS.items() if kind.has_spread)
            raise FailedPrecondition(
                f"{job.name} is a {job.spec.task_type} job; the outlier report is for {covered} jobs"
            )
        rows = await self.store.read(lambda tx: tx.job_judgments(job.id))
        return job.name, await asyncio.to_thread(outliers.report, job.spec, rows, limit)

    async def verification_report(
        self,
        principal: Principal,
        job_name: str,
        edges: Sequence[float],
        split_is_correct: bool,
        target_precision: float,
        level: float,
    ) -> verification_report.Report:
        job = await self.reads.get_job(principal, job_name)
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
        job = await self.reads.get_job(principal, job_name)
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
