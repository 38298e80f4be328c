"""Exports of a job's labels and judgments to storage, in the job's format."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from labelwire.server.core.base import JobReads
from labelwire.server.core.label_rows import judgment_of
from labelwire.server.domain import validation
from labelwire.server.domain.errors import FailedPrecondition
from labelwire.server.domain.model import Job, Judgment, Principal
from labelwire.server.domain.tasks import task_kind
from labelwire.server.files import exports, judgment_exports
from labelwire.server.files import policy as files_policy
from labelwire.server.files import storage as files
from labelwire.server.files.augmented import ExportFormat
from labelwire.server.files.policy import FilesSettings
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import ExportItemRow, JudgmentPageRow

#: Items a manifest download reads at a time: each line may carry up to
#: 64 KiB of metadata, so a page holds at most a few tens of MB.
MANIFEST_PAGE = 500


@dataclasses.dataclass(eq=False, kw_only=True)
class ExportsService:
    """Labels and judgments written out to the files root or S3."""

    store: Store
    reads: JobReads
    files_settings: FilesSettings

    async def export_labels(
        self, principal: Principal, job_name: str, uri: str, label_job_name: str = ""
    ) -> tuple[int, int]:
        """Writes every item of the job, with its current label where it has
        one, as a Ground Truth augmented manifest to the client's files folder
        or S3; returns (lines, lines with a label)."""
        job = await self.reads.get_job(principal, job_name)
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

    async def manifest_lines(
        self, principal: Principal, job_name: str, label_job_name: str = ""
    ) -> AsyncIterator[list[str]]:
        """ExportLabels' lines, a page of items at a time, for a caller that
        saves them itself: no server path is involved, and only a page is
        held at once."""
        job = await self.reads.get_job(principal, job_name)
        if not task_kind(job.spec).exports_labels:
            raise FailedPrecondition(
                f"{job.name} is a segmentation job: its manifest would need mask images, which are"
                " not exported yet; read its labels with ListLabels"
            )
        fmt = self._export_format(job, label_job_name)
        after = 0
        while True:

            def page(tx: Tx, after: int = after) -> list[ExportItemRow]:
                return tx.export_items(job.id, after, MANIFEST_PAGE)

            batch = await self.store.read(page)
            if not batch:
                return
            yield [json.dumps(exports.export_line(row, fmt)[0], ensure_ascii=False) for row in batch]
            after = int(batch[-1].item_id)

    async def export_judgments(
        self, principal: Principal, job_name: str, uri: str, form: str, label_job_name: str = ""
    ) -> tuple[int, int]:
        """Writes every raw judgment of the job to the client's files folder or
        S3, flat or grouped by item as Ground Truth gives them to a
        consolidation Lambda; returns (lines, judgments written)."""
        job = await self.reads.get_job(principal, job_name)
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

            def page(tx: Tx, after: int = after) -> list[JudgmentPageRow]:
                return tx.judgment_page(job.id, after, 5000)

            batch = await self.store.read(page)
            if not batch:
                break
            judgments += [judgment_of(job.id, r) for r in batch]
            after = int(batch[-1].task_id)
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

    async def _export_items(self, job_id: int) -> list[ExportItemRow]:
        """Every item of the job with its current label, in item order."""
        rows: list[ExportItemRow] = []
        after = 0
        while True:

            def page(tx: Tx, after: int = after) -> list[ExportItemRow]:
                return tx.export_items(job_id, after, 5000)

            batch = await self.store.read(page)
            if not batch:
                return rows
            rows += batch
            after = int(batch[-1].item_id)
