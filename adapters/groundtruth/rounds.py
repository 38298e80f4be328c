"""One sync or cancel of a Ground Truth-backed job: fill batches with claimed items,
create a labeling job per full batch, read worker responses while it runs, close it.

A round lives for one call, so its settings, clients and loaded state are never stale;
what outlives it (the adapter state) is saved through the workforce context.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from labelwire.adapters.base import (
    ExternalJudgment,
    ReferenceLabel,
    SyncResult,
    WorkforceContext,
    WorkItem,
)
from labelwire.adapters.batches import batch_size, group
from labelwire.adapters.groundtruth.manifests import (
    ItemRejected,
    batch_input_line,
    failure_reason,
    input_line,
    label_category_config,
    reference_label,
)
from labelwire.adapters.groundtruth.requests import (
    create_labeling_job_request,
    gt_task_type,
)
from labelwire.adapters.groundtruth.responses import (
    AnswerShape,
    batch_judgments,
    dataset_object_id,
    worker_judgments,
)
from labelwire.adapters.groundtruth.settings import (
    MAX_WORKERS_PER_OBJECT,
    custom_template_text,
    parse_settings,
)
from labelwire.adapters.groundtruth.state import CREATING, DONE, FILLING, RUNNING, AdapterState, Batch
from labelwire.adapters.groundtruth.templates import batch_verification_template, builtin_template
from labelwire.adapters.retry import error_code, is_retryable
from labelwire.server.files import s3io
from labelwire.server.files.augmented import KEY_FIELD

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

    from labelwire.adapters.groundtruth.workforce import GroundTruthWorkforce
else:
    S3Client = Any
    SageMakerClient = Any

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})


class Round:
    """One call of sync or cancel for one job: its settings, clients and loaded state."""

    def __init__(self, workforce: GroundTruthWorkforce, ctx: WorkforceContext) -> None:
        self.wf = workforce
        self.ctx = ctx
        self.job = ctx.job
        self.settings = parse_settings(ctx.job)
        self.s3, self.sm = workforce.clients(self.settings)
        self.shape = AnswerShape(self.job.task_type, tuple(c.name for c in self.job.classes))
        self.gt_type = gt_task_type(self.settings, self.job)
        self.state = AdapterState()
        self.recorded = 0
        self.dispatched = 0
        self.changed = False

    @property
    def prelabel_attribute(self) -> str:
        """Where a verification line carries the model's label; Ground Truth wants it under a
        name other than the job's own label attribute."""
        return self.settings.label_attribute_name + "-prelabel"

    @property
    def batch_size(self) -> int:
        """Items per data object: a verification job's `batch_size` on our own
        (custom) task, where one manifest line can carry several items; 1 on
        Ground Truth's built-in bounding-box verification, which shows one image."""
        return batch_size(self.job) if self.gt_type is None else 1

    async def save(self) -> None:
        await self.ctx.save_state(self.state.to_json())

    async def sync(self) -> SyncResult:
        self.state = AdapterState.from_json(await self.ctx.load_state())
        if self.state.cancelled:
            return SyncResult(next_sync_seconds=self.settings.max_poll_seconds, finished=True)
        for batch in self.state.with_status(CREATING):
            await self.create(batch)
        for batch in self.state.with_status(RUNNING):
            await self.poll(batch)
        await self.claim()
        for batch in self.state.with_status(FILLING):
            if self.wf.now() - batch.opened_at >= self.settings.batch_wait_seconds:
                await self.create(batch)
        self.state.poll_seconds = self.next_poll()
        await self.save()
        return SyncResult(
            next_sync_seconds=self.next_sync(),
            dispatched=self.dispatched,
            recorded=self.recorded,
            finished=not any(b.active for b in self.state.batches),
        )

    async def cancel(self) -> None:
        self.state = AdapterState.from_json(await self.ctx.load_state())
        for batch in self.state.with_status(FILLING):
            written = await asyncio.to_thread(s3io.exists, self.s3, batch.manifest_uri)
            keys = await self.wf.manifest_keys(self.s3, batch.manifest_uri) if written else []
            if keys:
                await self.ctx.return_items(keys)
            batch.status, batch.outcome = DONE, "returned on cancel"
        for batch in self.state.with_status(CREATING, RUNNING):
            await self.stop(batch)
            await self.read_responses(batch)
            batch.status, batch.outcome = DONE, "stopped on cancel"
            self.wf.forget_manifest(batch.manifest_uri)
        self.state.cancelled = True
        await self.save()

    # --- dispatch ------------------------------------------------------------------------------------------------

    async def claim(self) -> None:
        """Claims new items into filling batches while labeling jobs can be created."""
        limit = self.settings.max_concurrent_task_count
        while not self.state.with_status(CREATING):
            items = await self.ctx.claim_items(limit)
            if not items:
                return
            await self.add(items)
            if len(items) < limit:
                return

    async def add(self, items: Sequence[WorkItem]) -> None:
        lines_by_workers: dict[int, list[dict[str, Any]]] = defaultdict(list)
        rejected: dict[str, list[str]] = defaultdict(list)
        prelabel_attribute = self.prelabel_attribute if self.gt_type == "VerificationBoundingBox" else None
        shown: list[WorkItem] = []
        for item in items:
            try:
                line = input_line(item, media_type=self.job.media_type, prelabel_attribute=prelabel_attribute)
            except ItemRejected as err:
                rejected[str(err)].append(item.key)
                continue
            if self.batch_size > 1:
                shown.append(item)
                continue
            workers = min(MAX_WORKERS_PER_OBJECT, max(1, item.judgments_wanted))
            lines_by_workers[workers].append(line)
        for reason, keys in rejected.items():
            await self.ctx.fail_items(keys, reason)
        for items_of_line in group(shown, self.batch_size):
            for line_items, line in self.batch_lines(items_of_line):
                wanted = min(item.judgments_wanted for item in line_items)
                lines_by_workers[min(MAX_WORKERS_PER_OBJECT, max(1, wanted))].append(line)
        for workers, lines in sorted(lines_by_workers.items()):
            while lines:
                batch = self.filling_batch(workers)
                room = self.settings.max_concurrent_task_count - batch.size
                taken, lines = lines[:room], lines[room:]
                await self.append(batch, taken)
                self.dispatched += sum(len(line.get("labelwire-keys", [None])) for line in taken)
                if batch.size >= self.settings.max_concurrent_task_count:
                    await self.create(batch)

    def batch_lines(self, items: list[WorkItem]) -> list[tuple[list[WorkItem], dict[str, Any]]]:
        """Manifest lines for items of one class: one batch line (a lone item is a
        batch of one, so the batch page shows it), or (a line over Ground Truth's
        size limits) lines of half as many items each."""
        try:
            return [(items, batch_input_line(items, media_type=self.job.media_type))]
        except ItemRejected:
            if len(items) == 1:
                return [(items, input_line(items[0], media_type=self.job.media_type))]
            half = len(items) // 2
            return [*self.batch_lines(items[:half]), *self.batch_lines(items[half:])]

    def filling_batch(self, workers: int) -> Batch:
        for batch in self.state.with_status(FILLING):
            if batch.workers == workers and batch.size < self.settings.max_concurrent_task_count:
                return batch
        number = self.state.next_number
        self.state.next_number += 1
        name = f"{self.settings.job_name_prefix}-{number}"
        batch = Batch(
            name=name,
            number=number,
            workers=workers,
            manifest_uri=s3io.join(self.settings.input_s3_prefix, name, "input.manifest"),
            opened_at=self.wf.now(),
        )
        self.state.batches.append(batch)
        return batch

    async def append(self, batch: Batch, lines: Sequence[Mapping[str, Any]]) -> None:
        """Adds lines to a filling batch's manifest. The manifest, not the state, is the record of
        which items a batch holds, so it is written before the state is saved."""
        s3, uri = self.s3, batch.manifest_uri

        def write() -> int:
            existing = list(s3io.read_manifest(uri, s3=s3)) if batch.size or s3io.exists(s3, uri) else []
            return s3io.write_lines(s3, uri, [*existing, *lines])

        batch.size = await asyncio.to_thread(write)
        self.wf.forget_manifest(uri)
        await self.save()

    async def create(self, batch: Batch) -> None:
        """Starts the labeling job of a batch; safe to repeat after a crash at any point."""
        if batch.status == FILLING:
            batch.status = CREATING
            await self.save()
        folder = batch.manifest_uri.rsplit("/", 1)[0]
        labels_uri = s3io.join(folder, "labels.json") if self.job.classes else None
        template_uri = await self.write_inputs(folder, labels_uri)
        request = create_labeling_job_request(
            self.settings,
            self.job,
            name=batch.name,
            manifest_uri=batch.manifest_uri,
            label_category_uri=labels_uri,
            template_uri=template_uri,
            workers_per_object=batch.workers,
        )
        try:
            await self.wf.retry.call(self.sm.create_labeling_job, **request)
        except ClientError as err:
            code = error_code(err)
            if code == "ResourceLimitExceeded" or is_retryable(err):
                return
            if code != "ResourceInUse" or not await self.is_ours(batch):
                batch.status, batch.outcome = DONE, f"CreateLabelingJob failed: {err}"
                keys = await self.wf.manifest_keys(self.s3, batch.manifest_uri)
                await self.ctx.fail_items(keys, f"Ground Truth refused the labeling job {batch.name}: {err}")
                await self.save()
                return
        batch.status = RUNNING
        self.changed = True
        await self.save()

    async def is_ours(self, batch: Batch) -> bool:
        """Whether an existing job of this name is the one we created before a crash (names are never reused)."""
        described = await self.wf.retry.call(self.sm.describe_labeling_job, LabelingJobName=batch.name)
        source = described["InputConfig"]["DataSource"].get("S3DataSource", {})
        return source.get("ManifestS3Uri") == batch.manifest_uri

    async def write_inputs(self, folder: str, labels_uri: str | None) -> str | None:
        """Writes the label category file (custom jobs may have no classes) and, unless the user
        gave one, the worker template."""
        classes = [c.name for c in self.job.classes]
        config = label_category_config(classes, gt_type=self.gt_type, instructions=self.job.instructions)
        template: str | None = None
        template_uri = self.settings.ui_template_s3_uri
        if template_uri is None:
            if self.gt_type:
                template = builtin_template(self.gt_type, self.job, self.prelabel_attribute)
            elif self.batch_size > 1:
                template = custom_template_text(self.job) or batch_verification_template(self.job)
            else:
                template = custom_template_text(self.job)
            template_uri = s3io.join(folder, "template.liquid") if template is not None else None
        s3 = self.s3

        def write() -> None:
            if labels_uri is not None:
                s3io.put_json(s3, labels_uri, config)
            if template is not None and template_uri is not None:
                s3io.put_bytes(s3, template_uri, template.encode(), content_type="text/html")

        await asyncio.to_thread(write)
        return template_uri

    # --- collection ----------------------------------------------------------------------------------------------

    async def poll(self, batch: Batch) -> None:
        try:
            described = await self.wf.retry.call(self.sm.describe_labeling_job, LabelingJobName=batch.name)
        except ClientError as err:
            if is_retryable(err):
                return
            if error_code(err) != "ResourceNotFound":
                raise
            await self.read_responses(batch)
            await self.close(
                batch, "Stopped", f"the labeling job {batch.name} no longer exists", described=None
            )
            return
        status = str(described["LabelingJobStatus"])
        raw_counters: Mapping[str, Any] = described.get("LabelCounters", {})
        counters = {k: int(v) for k, v in raw_counters.items()}
        if status != batch.gt_status or counters != batch.counters:
            batch.gt_status, batch.counters = status, counters
            self.changed = True
        await self.read_responses(batch)
        if status in TERMINAL:
            reason = str(described.get("FailureReason") or "")
            await self.close(batch, status, reason, described=described)

    async def read_responses(self, batch: Batch) -> None:
        """Records the answers in worker-response files not read before."""
        prefix = s3io.join(self.settings.output_s3_prefix, batch.name, "annotations", "worker-response") + "/"
        objects = await self.wf.data_objects(self.s3, batch.manifest_uri)
        already = set(batch.read)
        s3 = self.s3

        def fetch() -> list[tuple[str, Any]]:
            return [(uri, s3io.get_json(s3, uri)) for uri in s3io.list_uris(s3, prefix) if uri not in already]

        documents = await asyncio.to_thread(fetch)
        if not documents:
            return
        judgments: list[ExternalJudgment] = []
        for uri, document in documents:
            object_id = dataset_object_id(uri)
            if object_id is None or not object_id.isdigit() or int(object_id) >= len(objects):
                continue
            seen = set(batch.answered.get(object_id, []))
            obj = objects[int(object_id)]
            read = (
                batch_judgments(document, obj.keys)
                if obj.batch
                else worker_judgments(document, obj.keys[0], self.shape)
            )
            fresh = {j.worker_id for j in read if j.worker_id not in seen}
            for judgment in read:
                if judgment.worker_id in fresh:
                    judgments.append(judgment)
            seen |= fresh
            batch.answered[object_id] = sorted(seen)
        if judgments:
            outcome = await self.ctx.record_judgments(judgments)
            self.recorded += outcome.recorded
        batch.read.extend(uri for uri, _ in documents)
        self.changed = True
        await self.save()

    async def close(
        self, batch: Batch, status: str, reason: str, *, described: Mapping[str, Any] | None
    ) -> None:
        """Settles a finished labeling job's items: Ground Truth's labels kept, the unanswered failed or returned."""
        objects = await self.wf.data_objects(self.s3, batch.manifest_uri)
        keys = [key for obj in objects for key in obj.keys]
        reasons: dict[str, str] = {}
        if status == "Completed" and described is not None:
            reasons = await self.read_output(batch, keys, described)
        short = [
            (str(i), key)
            for i, obj in enumerate(objects)
            if len(batch.answered.get(str(i), [])) < batch.workers
            for key in obj.keys
            if key
        ]
        if short and status == "Stopped" and not batch.stopped_by_us:
            await self.ctx.return_items([key for _, key in short])
        elif short and status in ("Completed", "Failed"):
            by_reason: dict[str, list[str]] = defaultdict(list)
            for object_id, key in short:
                why = reasons.get(key) or reason or "Ground Truth ended the object without every answer"
                answered = len(batch.answered.get(object_id, []))
                by_reason[f"{why} ({answered} of {batch.workers} answers, labeling job {batch.name})"].append(
                    key
                )
            for why, failed in by_reason.items():
                await self.ctx.fail_items(failed, why)
        batch.status, batch.gt_status, batch.outcome = DONE, status, reason or status
        batch.read, batch.answered = [], {}
        self.wf.forget_manifest(batch.manifest_uri)
        self.changed = True
        await self.save()

    async def read_output(
        self, batch: Batch, keys: Sequence[str], described: Mapping[str, Any]
    ) -> dict[str, str]:
        """Records Ground Truth's consolidated labels; returns its failure reason per item without one."""
        output = described.get("LabelingJobOutput", {}).get("OutputDatasetS3Uri") or s3io.join(
            self.settings.output_s3_prefix, batch.name, "manifests", "output", "output.manifest"
        )
        attribute = self.settings.label_attribute_name
        s3, shape = self.s3, self.shape
        known = set(keys)

        def parse() -> tuple[list[ReferenceLabel], dict[str, str]]:
            labels: list[ReferenceLabel] = []
            failures: dict[str, str] = {}
            try:
                for line in s3io.read_manifest(output, s3=s3):
                    key = str(line.get(KEY_FIELD, ""))
                    if key not in known:
                        continue
                    label = reference_label(line, attribute, key, shape, lambda uri: s3io.get_bytes(s3, uri))
                    if label is not None:
                        labels.append(label)
                    why = failure_reason(line, attribute)
                    if why:
                        failures[key] = why
            except ClientError as err:
                if error_code(err) not in ("NoSuchKey", "404"):
                    raise
            return labels, failures

        labels, failures = await asyncio.to_thread(parse)
        if labels:
            await self.ctx.record_reference_labels(labels)
        return failures

    async def stop(self, batch: Batch) -> None:
        try:
            await self.wf.retry.call(self.sm.stop_labeling_job, LabelingJobName=batch.name)
        except ClientError as err:
            if error_code(err) not in ("ResourceNotFound", "ValidationException"):
                raise
        batch.stopped_by_us = True

    # --- pacing --------------------------------------------------------------------------------------------------

    def next_poll(self) -> float:
        """Polls back off while nothing changes and snap back when something does."""
        floor, ceiling = self.settings.poll_seconds, self.settings.max_poll_seconds
        if self.changed or not self.state.poll_seconds:
            return floor
        return min(ceiling, max(floor, self.state.poll_seconds * 2))

    def next_sync(self) -> float:
        delays = [self.state.poll_seconds]
        for batch in self.state.with_status(FILLING):
            delays.append(max(1.0, batch.opened_at + self.settings.batch_wait_seconds - self.wf.now()))
        return min(delays)
