"""The core assembled from its parts, plus the background work that keeps jobs
moving: expired leases, item lifetimes, job-level consolidation passes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from labelwire.server import (
    dispatch,
    labeling,
    passes,
    specs,
)
from labelwire.server.core.jobs import JobsCore
from labelwire.server.core.labels import LabelsCore
from labelwire.server.core.work import WorkCore
from labelwire.server.model import (
    JobSpec,
    JobState,
)
from labelwire.server.store import Tx

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 2.0


class Core(JobsCore, WorkCore, LabelsCore):
    async def start_background(self) -> None:
        self._tasks.append(asyncio.create_task(self._maintain(), name="labelwire-maintenance"))
        if self._drive_workforces:
            self._tasks.append(asyncio.create_task(self.workforces.run(self), name="labelwire-workforces"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for adapter in self.workforces.adapters.values():
            with contextlib.suppress(Exception):
                await adapter.close()

    async def _maintain(self) -> None:
        """Returns expired leases to the queue and fails items past their
        lifetime, so that a quiet job still moves. First drops the uploads a
        previous run left behind (on SQLite this server is the only one)."""
        try:
            await self.sweep_uploads(everything=self.store.kind == "sqlite")
        except Exception:
            log.exception("sweeping abandoned uploads failed")
        while True:
            await asyncio.sleep(MAINTENANCE_SECONDS)
            try:
                await self.sweep_uploads()
                await self.maintain_once()
            except Exception:
                log.exception("maintenance pass failed")

    async def maintain_once(self) -> None:
        now = self.clock()

        def sweep(tx: Tx) -> list[int]:
            moved = []
            for job in tx.jobs_in_states([JobState.RUNNING, JobState.PAUSED]):
                job_id = int(job["id"])
                spec = specs.from_json(json.loads(job["spec"]))
                dispatch.expire_leases(tx, job_id, now)
                if spec.task_lifetime_seconds:
                    failed = tx.expire_stale_items(
                        job_id, now - spec.task_lifetime_seconds, "no judgments within the task lifetime"
                    )
                    if failed:
                        tx.count_job(job_id, failed_items=failed)
                        dispatch.complete_if_done(tx, job_id, now)
                        moved.append(job_id)
            return moved

        for job_id in await self.store.write(sweep):
            self.feed.notify(job_id)
        await self.run_passes()

    async def run_passes(self) -> None:
        """Job-level consolidation for every job that weighs its workers and
        has grown since its last pass, or is waiting for its final one."""
        rows = await self.store.read(lambda tx: tx.jobs_in_states([JobState.RUNNING, JobState.COMPLETED]))
        for row in rows:
            spec = self._spec_of(int(row["id"]), row)
            if labeling.uses_skill(spec):
                await self._pass(int(row["id"]), spec, row)

    async def _pass(self, job_id: int, spec: JobSpec, row: Any) -> None:
        judgments, at_pass = int(row["judgments"]), int(row["judgments_at_pass"])
        running = int(row["state"]) == JobState.RUNNING
        open_items = running and await self.store.read(lambda tx: tx.has_open_items(job_id))
        final = running and not open_items and int(row["total_items"]) > 0
        if not (final or passes.due(judgments, at_pass)):
            return
        result = passes.PassResult()
        if judgments != at_pass:
            inputs = await self.store.read(lambda tx: tx.pass_input(job_id))
            result = await asyncio.to_thread(passes.compute, spec, inputs)
        now = self.clock()
        await self.store.write(lambda tx: passes.apply(tx, job_id, result, judgments, now))
        self.feed.notify(job_id)
