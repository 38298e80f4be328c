"""QualityService: thin translation onto the core."""

from __future__ import annotations

from typing import Any

import grpc

from labelwire.server.core import Core
from labelwire.server.dispatch.gate import estimated_skill
from labelwire.server.labels import verification_report
from labelwire.server.transport.grpc import convert
from labelwire.server.transport.grpc.context import caller, unary
from labelwire.v1 import quality_service_pb2 as pb
from labelwire.v1 import quality_service_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class QualityServicer(quality_service_pb2_grpc.QualityServiceServicer):
    def __init__(self, core: Core) -> None:
        self.core = core

    @unary
    async def GetJobQuality(self, request: pb.GetJobQualityRequest, context: Ctx) -> pb.GetJobQualityResponse:
        job, measured, workers, declines, trends = await self.core.quality.job_quality(
            await caller(self.core, context), request.job
        )
        labeled = job.counters.labeled_items
        out = pb.GetJobQualityResponse(
            agreement=pb.Agreement(
                items_measured=measured.items_measured,
                dissent_histogram=measured.dissent_histogram,
                fleiss_kappa=measured.fleiss_kappa,
                krippendorff_alpha=measured.krippendorff_alpha,
            ),
            cost_micros=job.counters.cost_micros,
            cost_per_label_micros=job.counters.cost_micros // labeled if labeled else 0,
            declined_tasks=declines.total,
        )
        for reason, count in declines.reasons:
            out.decline_reasons.add(reason=reason, count=count)
        for v in measured.versions:
            out.instructions_versions.add(
                instructions_version=v.version,
                judgments=v.judgments,
                agreement_with_label=v.agreement_with_label,
                gold_judgments=v.gold_judgments,
                gold_accuracy=v.gold_accuracy,
            )
        for worker in workers:
            record = measured.workers.get(worker.id)
            entry = out.workers.add(
                stats=convert.worker_message(worker),
                agreement_with_label=record.agreement_with_label if record else 0.0,
                median_time_seconds=record.median_time_seconds if record else 0.0,
                estimated_skill=estimated_skill(worker.skill, worker.gold_answered, worker.gold_correct),
                declined=declines.by_worker.get(worker.id, 0),
                gold_accuracy_trend=trends.get(worker.id, ()),
            )
            if worker.work_skill is not None:
                entry.work_skill = worker.work_skill
        return out

    @unary
    async def GetCalibration(
        self, request: pb.GetCalibrationRequest, context: Ctx
    ) -> pb.GetCalibrationResponse:
        classes = await self.core.quality.calibration(
            await caller(self.core, context), request.job, request.buckets, request.target_precision
        )
        principal = await caller(self.core, context)
        routed, saved = await self.core.quality.model_routing(principal, request.job)
        out = pb.GetCalibrationResponse(human_judgments_saved=saved)
        for r in routed:
            lower, upper = r.interval
            out.routing.add(
                class_name=r.class_name,
                threshold=r.threshold,
                learned=r.learned,
                auto_accepted=r.auto_accepted,
                audited=r.audited,
                audit_agreed=r.audit_agreed,
                audit_precision=r.precision,
                audit_precision_lower=lower,
                audit_precision_upper=upper,
            )
        for c in classes:
            entry = out.classes.add(
                class_name=c.class_name, accept_threshold=c.accept_threshold, items=c.items
            )
            for b in c.buckets:
                entry.buckets.add(lower=b.lower, upper=b.upper, count=b.count, accuracy=b.accuracy)
        return out

    @unary
    async def GetReliability(
        self, request: pb.GetReliabilityRequest, context: Ctx
    ) -> pb.GetReliabilityResponse:
        table = await self.core.quality.reliability(
            await caller(self.core, context), request.job, request.bins
        )
        out = pb.GetReliabilityResponse(
            items=table.items,
            mean_confidence=table.mean_confidence,
            accuracy=table.accuracy,
            expected_calibration_error=table.expected_calibration_error,
        )
        for b in table.bins:
            out.bins.add(
                lower=b.lower,
                upper=b.upper,
                items=b.items,
                mean_confidence=b.mean_confidence,
                accuracy=b.accuracy,
            )
        return out

    @unary
    async def GetWorkerOutliers(
        self, request: pb.GetWorkerOutliersRequest, context: Ctx
    ) -> pb.GetWorkerOutliersResponse:
        limit = request.item_limit if request.HasField("item_limit") else None
        job, report = await self.core.quality.worker_outliers(
            await caller(self.core, context), request.job, limit
        )
        out = pb.GetWorkerOutliersResponse(pool_rate=report.pool_rate, items_checked=report.items)
        for item in report.spreads:
            out.items.add(
                item_key=item.key, annotations=item.annotations, spread=item.spread, outliers=item.outliers
            )
        for w in report.workers:
            out.workers.add(
                worker=f"{job}/workers/{w.worker_id}",
                checked=w.checked,
                flagged=w.flagged,
                outlier_rate=w.rate,
                shrunk_rate=w.shrunk_rate,
                drifting=w.drifting,
            )
        return out

    @unary
    async def GetVerificationReport(
        self, request: pb.GetVerificationReportRequest, context: Ctx
    ) -> pb.GetVerificationReportResponse:
        report = await self.core.quality.verification_report(
            await caller(self.core, context),
            request.job,
            list(request.bucket_edges),
            request.split_counts_as_correct,
            request.target_precision,
            request.interval_level,
        )
        split = request.split_counts_as_correct
        out = pb.GetVerificationReportResponse()
        _counts(report.total, split, out.total)
        for c in report.classes:
            entry = out.classes.add(
                class_name=c.class_name,
                target_reached=c.target_reached,
                recommended_threshold=c.threshold,
                items_above=c.items_above,
                precision=c.precision,
                precision_lower=c.lower,
                precision_upper=c.upper,
            )
            _counts(c.counts, split, entry.counts)
            for lower, upper, counts in c.buckets:
                _counts(counts, split, entry.buckets.add(lower=lower, upper=upper).counts)
        return out


def _counts(counts: verification_report.Counts, split: bool, into: pb.VerificationCounts) -> None:
    into.total = counts.total
    into.confirmed = counts.confirmed
    into.disconfirmed = counts.disconfirmed
    into.split = counts.split
    into.percent_correct = counts.percent_correct(split)
