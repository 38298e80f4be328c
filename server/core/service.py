"""The core wired from its services, plus the background work that keeps jobs
moving: expired leases, item lifetimes, job-level consolidation passes.

Each service is built with what it uses (store, clock, the shared `JobReads`,
the feed, the other services it calls); transports reach them as
`core.jobs.create_job(...)`, `core.work.submit(...)` and so on."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import time
import uuid
from collections.abc import Callable

from labelwire.server.core.account_work import AccountWorkService
from labelwire.server.core.accounts import AccountsService
from labelwire.server.core.adapters import AdaptersService
from labelwire.server.core.base import DEFAULT_CREDENTIAL_CACHE_SECONDS, JobReads
from labelwire.server.core.credentials import CredentialsService
from labelwire.server.core.jobs import JobsService, accept_by_model
from labelwire.server.core.label_exports import ExportsService
from labelwire.server.core.label_quality import QualityService
from labelwire.server.core.labels import LabelsService
from labelwire.server.core.watch import WatchService
from labelwire.server.core.work import WorkService
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.dispatch import gate as quality
from labelwire.server.dispatch.workforces import Workforces
from labelwire.server.domain import specs
from labelwire.server.domain.model import (
    EndReason,
    JobSpec,
    JobState,
    WorkerStatus,
)
from labelwire.server.files.policy import FilesSettings
from labelwire.server.labels import items as labeling
from labelwire.server.labels import passes, routing
from labelwire.server.labels.feed import FeedSignal
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import JobRow, PrelabeledRow
from labelwire.server.telemetry import metrics

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 2.0
PASS_LEASE_SECONDS = 60.0
"""How long a replica's claim on a job's pass lasts unless renewed (every third of it)."""


def _prelabeled(tx: Tx, *, job_id: int) -> list[PrelabeledRow]:
    return tx.prelabeled(job_id)


class Core:
    """The services of one replica, wired once, and the background work over them."""

    def __init__(
        self,
        store: Store,
        *,
        admin_key: str,
        workforces: Workforces | None = None,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        drive_workforces: bool = True,
        files: FilesSettings | None = None,
        credential_cache_seconds: float = DEFAULT_CREDENTIAL_CACHE_SECONDS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.feed = FeedSignal()
        store.on_commit(self.feed.notify_all)
        self.workforces = workforces or Workforces.discover()
        self.files_settings = files or FilesSettings()
        self._drive_workforces = drive_workforces
        self._tasks: list[asyncio.Task[None]] = []
        # Names this replica in the leases replicas take turns on (a job's consolidation pass).
        self.replica_id = uuid.uuid4().hex
        # Per job routing by the model: its judgments when its thresholds were
        # last learned, and those thresholds (learned again from the store after a restart).
        self.learned_thresholds: dict[int, tuple[int, dict[str, float]]] = {}
        self.reads = JobReads(store, clock)
        self.credentials = CredentialsService(
            store, self.reads, clock=clock, admin_key=admin_key, cache_seconds=credential_cache_seconds
        )
        self.jobs = JobsService(
            store=store,
            reads=self.reads,
            credentials=self.credentials,
            workforces=self.workforces,
            files_settings=self.files_settings,
            learned_thresholds=self.learned_thresholds,
            clock=clock,
        )
        self.work = WorkService(
            store=store,
            reads=self.reads,
            files_settings=self.files_settings,
            rng=random.Random(seed),
            clock=clock,
        )
        self.labels = LabelsService(
            store=store, reads=self.reads, feed=self.feed, files_settings=self.files_settings, clock=clock
        )
        self.watch = WatchService(reads=self.reads, jobs=self.jobs, feed=self.feed)
        self.quality = QualityService(
            store=store, reads=self.reads, learned_thresholds=self.learned_thresholds, clock=clock
        )
        self.exports = ExportsService(store=store, reads=self.reads, files_settings=self.files_settings)
        self.account_work = AccountWorkService(store=store, reads=self.reads, clock=clock)
        self.accounts = AccountsService(
            store=store,
            reads=self.reads,
            credentials=self.credentials,
            account_work=self.account_work,
            clock=clock,
        )
        self.adapters = AdaptersService(
            store=store, reads=self.reads, credentials=self.credentials, clock=clock
        )

    async def start_background(self) -> None:
        self._tasks.append(asyncio.create_task(self._maintain(), name="labelwire-maintenance"))
        if self._drive_workforces:
            self._tasks.append(
                asyncio.create_task(self.workforces.run(self.reads), name="labelwire-workforces")
            )

    async def store_answers(self, timeout: float) -> bool:
        """Whether the database answers a query within `timeout` seconds: what health
        checking reports, so that a load balancer stops sending this replica calls it
        cannot serve while its database is gone, and sends them again once it is back."""
        try:
            await asyncio.wait_for(self.store.read(lambda tx: tx.one("SELECT 1")), timeout)
        except Exception:
            return False
        return True

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
            await self.jobs.sweep_uploads(everything=self.store.kind == "sqlite")
        except Exception:
            log.exception("sweeping abandoned uploads failed")
        while True:
            await asyncio.sleep(MAINTENANCE_SECONDS)
            try:
                await self.jobs.sweep_uploads()
                await self.maintain_once()
            except Exception:
                log.exception("maintenance pass failed")
            try:
                await self.refresh_metrics()
            except Exception:
                log.exception("reading the job metrics failed")

    async def maintain_once(self) -> None:
        """Also ends the running jobs whose last items' judgments did not: once
        what a job forwarded came back, and where more items closed during one
        writer's transaction than a writer looks at (`has_open_items`)."""
        now = self.clock()

        def sweep(tx: Tx) -> None:
            for job in tx.jobs_in_states([JobState.RUNNING, JobState.PAUSED]):
                job_id = job.id
                spec = specs.from_json(json.loads(job.spec))
                dispatch.expire_leases(tx, job_id, now)
                if spec.task_lifetime_seconds:
                    failed = tx.expire_stale_items(
                        job_id, now - spec.task_lifetime_seconds, "no judgments within the task lifetime"
                    )
                    if failed:
                        tx.count_job(job_id, failed_items=failed)
                        tx.free_item_reservations(job_id)
                        if not dispatch.complete_if_done(tx, job_id, now):
                            dispatch.pause_if_pilot_done(tx, job_id, now)
                dispatch.end_if_budget_spent(tx, spec, job_id, now)
                if job.state == JobState.RUNNING and not dispatch.complete_if_done(
                    tx, job_id, now, method=spec.consolidation_method
                ):
                    dispatch.pause_if_pilot_done(tx, job_id, now)

        await self.store.write(sweep)
        await self.route_by_model()
        await self.run_passes()
        await self.check_workers()

    async def route_by_model(self) -> None:
        """Learns the thresholds of jobs that learn them again once human labels
        have arrived since, then labels the waiting items those thresholds
        (or the owner's) now accept."""
        rows = await self.store.read(lambda tx: tx.jobs_in_states([JobState.RUNNING, JobState.PAUSED]))
        for row in rows:
            job_id = row.id
            spec = self.reads.spec_of_row(job_id, row)
            if spec.routing is None:
                continue
            judgments = row.judgments
            seen, learned = self.learned_thresholds.get(job_id, (-1, {}))
            if spec.routing.learn_thresholds and judgments != seen:
                labeled = await self.store.read(functools.partial(_prelabeled, job_id=job_id))
                learned = await asyncio.to_thread(routing.learn, spec, labeled)
                self.learned_thresholds[job_id] = (judgments, learned)
            limits = routing.thresholds(spec.routing, learned)
            if accepted := await accept_by_model(self.jobs, spec, job_id, limits):
                log.info(
                    "jobs/%d: the model labeled %d items over its thresholds %s", job_id, accepted, limits
                )

    async def check_workers(self) -> None:
        """The colluder check of every running (or just completed) job that
        has grown since its last one: it runs in the background, so a
        disqualification it makes points at no task."""
        rows = await self.store.read(lambda tx: tx.jobs_in_states([JobState.RUNNING, JobState.COMPLETED]))
        for row in rows:
            judgments, at_check = row.judgments, row.judgments_at_check
            if passes.due(judgments, at_check):
                await self._check_workers(row.id, self.reads.spec_of_row(row.id, row), judgments)

    async def _check_workers(self, job_id: int, spec: JobSpec, judgments: int) -> None:
        rows = await self.store.read(lambda tx: tx.work_answers(job_id))
        checks = await asyncio.to_thread(quality.work_checks, spec, rows)
        now = self.clock()
        by_agreement = quality.skill_by_agreement(spec)

        def apply(tx: Tx) -> int:
            caught = 0
            agreed: dict[int, float] = {}
            for worker_id, check in checks.items():
                tx.update_worker(worker_id, work_skill=check.work_skill)
                worker = tx.worker(worker_id)
                if by_agreement and worker is not None:
                    agreed[worker_id] = quality.agreement_skill(
                        check, worker.gold_answered, worker.gold_correct
                    )
                if (
                    worker is not None
                    and worker.external_id is None
                    and worker.status == WorkerStatus.QUALIFIED
                    and quality.is_colluder(spec.gold, check.work_skill, check.counted)
                ):
                    tx.update_worker(worker_id, status=int(WorkerStatus.DISQUALIFIED))
                    dispatch.disqualify(tx, spec, job_id, worker_id, now)
                    caught += 1
            if agreed:  # PostgreSQL's writer drops its kept rows on any call
                tx.set_skills(agreed)
            tx.mark_check(job_id, judgments)
            return caught

        if await self.store.write(apply):
            log.info("jobs/%d: disqualified workers whose work agrees with others at chance", job_id)

    async def refresh_metrics(self) -> None:
        """The per-job series, from counters the store keeps: one read of the
        jobs in flight and of the live leases, whatever the scrape rate."""

        def read(tx: Tx) -> tuple[dict[int, tuple[int, int, int]], list[JobRow], dict[int, int]]:
            active = tx.jobs_in_states([JobState.RUNNING, JobState.PAUSED])
            return tx.job_state_totals(), active, tx.open_leases_by_job()

        states, rows, leases = await self.store.read(read)
        metrics.JOBS.update(
            (
                metrics.JobRow(
                    name=f"jobs/{row.id}",
                    state=row.state.name.lower(),
                    total_items=row.total_items,
                    labeled_items=row.labeled_items,
                    failed_items=row.failed_items,
                    judgments=row.judgments,
                    open_leases=leases.get(row.id, 0),
                )
                for row in rows
            ),
            {JobState(state).name.lower(): metrics.StateTotals(*totals) for state, totals in states.items()},
        )

    async def run_passes(self) -> None:
        """Job-level consolidation for every job that weighs its workers and
        has grown since its last pass, or is waiting for its final one."""
        rows = await self.store.read(lambda tx: tx.jobs_in_states([JobState.RUNNING, JobState.COMPLETED]))
        for row in rows:
            spec = self.reads.spec_of_row(row.id, row)
            if labeling.uses_skill(spec):
                await self._pass(row.id, spec, row)

    async def _pass_due(self, job_id: int, spec: JobSpec, row: JobRow) -> bool:
        """Whether the job has grown enough since its last pass, or waits for its final one."""
        running = row.state == JobState.RUNNING
        open_items = running and await self.store.read(lambda tx: tx.has_open_items(job_id))
        claims_spent = row.end_reason == EndReason.BUDGET_EXHAUSTED
        spent = running and (claims_spent or dispatch.budget_spent(row, spec))
        final = running and (not open_items or spent) and row.total_items > 0
        return final or passes.due(row.judgments, row.judgments_at_pass)

    async def _pass(self, job_id: int, spec: JobSpec, row: JobRow) -> None:
        """One pass, by whichever replica takes the job's pass lease first; the
        others skip it. The job's row is read again under the lease, so a replica
        that saw it before another's pass finished does not repeat that pass."""
        if not await self._pass_due(job_id, spec, row):
            return
        if not await self._hold_pass_lease(job_id):
            return
        renewing = asyncio.create_task(self._renew_pass_lease(job_id))
        try:
            again = await self.store.read(lambda tx: tx.job(job_id))
            if again is not None and await self._pass_due(job_id, spec, again):
                await self._run_pass(job_id, spec, again)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await self.store.write(lambda tx: tx.drop_pass_lease(job_id, self.replica_id))

    async def _hold_pass_lease(self, job_id: int) -> bool:
        now = self.clock()
        return await self.store.write(
            lambda tx: tx.hold_pass_lease(job_id, self.replica_id, now, PASS_LEASE_SECONDS)
        )

    async def _renew_pass_lease(self, job_id: int) -> None:
        """Keeps the lease while a long pass computes (a 50M-judgment fit takes minutes)."""
        while True:
            await asyncio.sleep(PASS_LEASE_SECONDS / 3)
            await self._hold_pass_lease(job_id)

    async def _run_pass(self, job_id: int, spec: JobSpec, row: JobRow) -> None:
        judgments, at_pass = row.judgments, row.judgments_at_pass
        claims_spent = row.end_reason == EndReason.BUDGET_EXHAUSTED
        started = time.perf_counter()
        result = passes.PassResult()
        if judgments != at_pass:
            inputs, pool = await self.store.read(lambda tx: passes.read_input(tx, job_id))
            result = await asyncio.to_thread(passes.compute, spec, inputs, pool)
        now = self.clock()

        def write(tx: Tx) -> None:
            passes.apply(tx, job_id, result, judgments, now)
            dispatch.end_if_budget_spent(tx, spec, job_id, now, after_pass=True, unaffordable=claims_spent)

        await self.store.write(write)
        metrics.PASS_SECONDS.labels(spec.consolidation_method).observe(time.perf_counter() - started)
