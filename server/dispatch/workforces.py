"""The workforce registry: adapters found through the `labelwire.workforces`
entry-point group, and the core's side of the contract for each job."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, Protocol

from labelwire.adapters.base import (
    ExternalJudgment,
    GoldItem,
    JobView,
    LabelClassView,
    Mode,
    RecordOutcome,
    ReferenceLabel,
    SettingsError,
    Workforce,
    WorkItem,
)
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.dispatch import gate
from labelwire.server.domain import validation
from labelwire.server.domain.errors import InvalidArgument, LabelwireError
from labelwire.server.domain.model import EndReason, ItemInput, Job, JobSpec, JobState, WorkerStatus
from labelwire.server.labels import items as labeling
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import ItemRow, JobRow
from labelwire.server.store.sql import RESERVED_COST

log = logging.getLogger(__name__)
GROUP = "labelwire.workforces"


class JobReader(Protocol):
    """What the workforces use of the core: its store and clock, and a job's
    spec from its row (`core.base.JobReads` is one), so nothing here calls up."""

    store: Store
    clock: Callable[[], float]

    def spec_of_row(self, job_id: int, row: JobRow) -> JobSpec: ...


def job_view(spec: JobSpec, name: str = "") -> JobView:
    return JobView(
        name=name,
        display_name=spec.display_name,
        task_type=spec.task_type,
        classes=tuple(LabelClassView(c.name, c.description) for c in spec.classes),
        media_type=spec.media_type,
        instructions=spec.instructions,
        task_config=spec.task_config,
        judgments_per_item=spec.judgments_per_item,
        max_judgments_per_item=spec.max_judgments_per_item,
        task_time_limit_seconds=spec.task_time_limit_seconds,
        task_lifetime_seconds=spec.task_lifetime_seconds,
        price_per_judgment_micros=spec.price_per_judgment_micros,
        label_attribute_name=spec.label_attribute_name,
        settings=spec.settings,
    )


class Workforces:
    def __init__(self, adapters: dict[str, Workforce], *, lease_seconds: float = 120.0) -> None:
        self.adapters = adapters
        self.lease_seconds = lease_seconds
        self.owner = uuid.uuid4().hex

    @classmethod
    def discover(cls) -> Workforces:
        adapters: dict[str, Workforce] = {}
        for entry in entry_points(group=GROUP):
            try:
                factory: Any = entry.load()
                adapters[entry.name] = factory()
            except Exception:
                log.exception("workforce %s could not be loaded; jobs cannot use it", entry.name)
        return cls(adapters)

    def get(self, name: str) -> Workforce:
        adapter = self.adapters.get(name)
        if adapter is None:
            known = ", ".join(sorted(self.adapters)) or "none"
            raise InvalidArgument(
                f"job.workforce.adapter {validation.quote(name)} is not installed (installed: {known})",
                "job.workforce.adapter",
            )
        return adapter

    def validate(self, spec: JobSpec) -> None:
        adapter = self.get(spec.adapter)
        try:
            adapter.validate(job_view(spec))
        except SettingsError as exc:
            field = exc.field if exc.field.startswith(("job.", "workforce.")) else f"job.{exc.field}"
            raise InvalidArgument(f"{field}: {exc.message}", field) from None

    def validate_items(self, spec: JobSpec, items: Sequence[ItemInput], field: str) -> None:
        """The job's workforce checks each added work item (gold stays with the core)."""
        adapter = self.get(spec.adapter)
        if type(adapter).validate_item is Workforce.validate_item:
            return
        view = job_view(spec)
        for i, item in enumerate(items):
            if item.gold is not None:
                continue
            work = WorkItem(
                key=item.key,
                payload_kind=item.payload_kind,
                payload=item.payload,
                metadata=item.metadata or {},
                judgments_wanted=spec.judgments_per_item,
                prelabel=item.prelabel,
            )
            try:
                adapter.validate_item(view, work)
            except SettingsError as exc:
                raise InvalidArgument(f"{field}[{i}]: {exc.message}") from None

    def is_push(self, spec: JobSpec) -> bool:
        adapter = self.adapters.get(spec.adapter)
        return adapter is not None and adapter.capabilities.mode == Mode.PUSH

    async def cancel(self, core: JobReader, job: Job) -> None:
        """Push workforces stop their outside work; the pool needs nothing."""
        if self.is_push(job.spec):
            await self.get(job.spec.adapter).cancel(JobContext(core, job.id, job.spec))

    def syncs(self, spec: JobSpec) -> bool:
        """A push workforce with sync rounds of its own; one driven from outside
        the server (the remote workforce's adapter process) needs no loop."""
        return self.is_push(spec) and type(self.get(spec.adapter)).sync is not Workforce.sync

    async def run(self, core: JobReader, poll_seconds: float = 1.0) -> None:
        """Keeps one sync loop per running push job that syncs, across restarts."""
        loops: dict[int, asyncio.Task[None]] = {}
        try:
            while True:
                rows = await core.store.read(lambda tx: tx.jobs_in_states([JobState.RUNNING]))
                for row in rows:
                    job_id = row.id
                    spec = core.spec_of_row(job_id, row)
                    if self.syncs(spec) and (job_id not in loops or loops[job_id].done()):
                        loops[job_id] = asyncio.create_task(self._loop(core, job_id, spec))
                await asyncio.sleep(poll_seconds)
        finally:
            for task in loops.values():
                task.cancel()
            for task in loops.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _loop(self, core: JobReader, job_id: int, spec: JobSpec) -> None:
        """One replica at a time syncs a job (the one holding its sync lease, renewed
        every round), so an adapter's saved progress has a single writer."""
        adapter = self.get(spec.adapter)
        ctx = JobContext(core, job_id, spec)
        started = False
        failures = 0
        while True:
            row = await core.store.read(lambda tx: tx.job(job_id))
            if row is None or row.state != JobState.RUNNING:
                return
            ctx.refresh(core.spec_of_row(job_id, row))  # UpdateJob, on this replica or another
            if not await self._hold_lease(core, job_id):
                await asyncio.sleep(self.lease_seconds / 4)
                continue
            try:
                if not started:
                    await adapter.start(ctx)
                    started = True
                result = await adapter.sync(ctx)
                failures = 0
                delay = result.next_sync_seconds
            except Exception:
                failures += 1
                delay = min(300.0, 2.0**failures) * random.uniform(0.5, 1.0)
                log.exception("%s sync of jobs/%d failed; retrying in %.0f s", adapter.name, job_id, delay)
            await asyncio.sleep(max(delay, 0.05))

    async def _hold_lease(self, core: JobReader, job_id: int) -> bool:
        now = core.clock()
        return await core.store.write(
            lambda tx: tx.hold_sync_lease(job_id, self.owner, now, self.lease_seconds)
        )


class JobContext:
    """The core's side of the adapter contract for one job."""

    def __init__(self, core: JobReader, job_id: int, spec: JobSpec, *, namespace: str | None = None) -> None:
        self._core = core
        self._job_id = job_id
        self._spec = spec
        self._namespace = namespace or spec.adapter
        self._view = job_view(spec, f"jobs/{job_id}")

    @property
    def job(self) -> JobView:
        return self._view

    def refresh(self, spec: JobSpec) -> None:
        """Takes the job's spec after an UpdateJob, so a sync loop's next
        round (and what it prices, shows and checks) follows the change
        without the loop restarting."""
        if spec is not self._spec:
            self._spec = spec
            self._view = job_view(spec, f"jobs/{self._job_id}")

    async def claim_items(self, limit: int, *, fee_micros_per_judgment: int = 0) -> list[WorkItem]:
        """Claims only what the budget pays for, counting what is spent and
        reserved; each claimed item reserves its wanted judgments' price."""
        now = self._core.clock()
        rows = await self._core.store.write(lambda tx: self.claim_in(tx, limit, fee_micros_per_judgment, now))
        return self.work_items(rows)

    def claim_in(self, tx: Tx, limit: int, fee_micros_per_judgment: int, now: float) -> list[ItemRow]:
        """`claim_items` inside the caller's transaction: the item rows claimed."""
        spec = self._spec
        price, fee = spec.price_per_judgment_micros, max(0, fee_micros_per_judgment)
        job = tx.job(self._job_id)
        if job is None:
            return []
        available = None
        if spec.budget_micros:
            available = spec.budget_micros - job.cost_micros - job.reserved_micros
        rows = tx.claim_items(self._job_id, self._namespace, limit, price, fee, available)
        reserved = sum((price + fee) * (r.target - r.done) for r in rows)
        if reserved:
            tx.count_job(self._job_id, reserved_micros=reserved)
        if not rows and available is not None and tx.has_claimable(self._job_id):
            dispatch.end_if_budget_spent(tx, spec, self._job_id, now, unaffordable=True)
            if labeling.uses_skill(spec) and job.reserved_micros == 0:
                tx.set_end_reason(self._job_id, EndReason.BUDGET_EXHAUSTED)  # ends after its final pass
        return list(rows)

    async def claimed_items(self) -> list[WorkItem]:
        rows = await self._core.store.read(lambda tx: tx.claimed_open(self._job_id, self._namespace))
        return self.work_items(rows)

    @staticmethod
    def work_items(rows: list[ItemRow]) -> list[WorkItem]:
        return [
            WorkItem(
                key=r.key,
                payload_kind=r.payload_kind,
                payload=r.payload,
                metadata=json.loads(r.metadata) if r.metadata else {},
                judgments_wanted=r.target - r.done,
                prelabel=json.loads(r.prelabel) if r.prelabel else None,
            )
            for r in rows
        ]

    async def return_items(self, keys: Sequence[str]) -> None:
        def give_back(tx: Tx) -> None:
            tx.free_item_reservations(self._job_id, list(keys))
            tx.return_items(self._job_id, keys)

        await self._core.store.write(give_back)

    @staticmethod
    def _check_key(key: str) -> None:
        validation.check_text("key", key, low=1, high=200)
        if key.startswith(RESERVED_COST):
            raise InvalidArgument(f"key must not start with {RESERVED_COST!r}", "key")

    async def reserve_cost(self, micros: int, *, key: str) -> bool:
        """Holds `micros` of the budget for a charge of the workforce's own
        that may come later, as a lease holds its price; False (nothing held)
        when the budget, less what is spent and reserved, cannot pay it."""
        if micros < 0:
            raise InvalidArgument(f"micros must be >= 0, got {micros}")
        self._check_key(key)
        budget, now = self._spec.budget_micros, self._core.clock()
        return await self._core.store.write(
            lambda tx: tx.reserve_job_cost(self._job_id, key, micros, budget, now)
        )

    async def release_cost(self, *, key: str) -> None:
        """Gives back to the budget what the reservation `key` still holds."""
        self._check_key(key)
        await self._core.store.write(lambda tx: tx.release_job_cost(self._job_id, key))

    async def record_cost(self, micros: int, reason: str, *, key: str, reservation: str = "") -> bool:
        """Adds a workforce's own charge to the job's cost, once per `key`,
        paid first out of the reservation it names, if any."""
        if micros < 0:
            raise InvalidArgument(f"micros must be >= 0, got {micros}")
        self._check_key(key)
        if reservation:
            self._check_key(reservation)
        now = self._core.clock()

        def charge(tx: Tx) -> bool:
            fresh = tx.add_job_cost(self._job_id, key, micros, reason, now)
            if fresh and reservation:
                tx.release_job_cost(self._job_id, reservation, micros)
            return fresh

        return await self._core.store.write(charge)

    async def record_judgments(self, judgments: Sequence[ExternalJudgment]) -> RecordOutcome:
        now = self._core.clock()

        def record(tx: Tx) -> RecordOutcome:
            outcome = RecordOutcome()
            for j in judgments:
                fresh, reason = self.record_in(tx, j, now)
                if reason:
                    outcome.rejected.append((j.item_key, reason))
                elif fresh:
                    outcome.recorded += 1
                else:
                    outcome.duplicates += 1
            return outcome

        outcome = await self._core.store.write(record)
        return outcome

    def record_in(self, tx: Tx, j: ExternalJudgment, now: float) -> tuple[bool, str]:
        """One judgment inside the caller's transaction: (recorded now, why
        it was rejected or "")."""
        if j.answer is None:
            return False, "the worker submitted no usable answer"
        try:
            validation.validate_answer(self._spec, dict(j.answer), "answer")
            spent = int((j.time_spent_seconds or 0) * 1000)
            fresh = dispatch.record_external(
                tx,
                self._spec,
                self._job_id,
                self._namespace,
                j.item_key,
                j.worker_id,
                dict(j.answer),
                spent,
                now,
            )
        except LabelwireError as exc:
            return False, exc.message
        return fresh, ""

    async def record_reference_labels(self, labels: Sequence[ReferenceLabel]) -> None:
        def put(tx: Tx) -> None:
            for label in labels:
                item = tx.item_by_key(self._job_id, label.item_key)
                if item is not None:
                    tx.put_reference_label(item.id, dict(label.answer), label.confidence, label.method)

        await self._core.store.write(put)

    async def fail_items(self, keys: Sequence[str], reason: str) -> None:
        now = self._core.clock()

        def fail(tx: Tx) -> None:
            failed = tx.fail_items(self._job_id, keys, reason)
            tx.count_job(self._job_id, failed_items=failed)
            tx.free_item_reservations(self._job_id, list(keys))
            dispatch.complete_if_done(tx, self._job_id, now)

        await self._core.store.write(fail)

    async def fail_job(self, reason: str) -> None:
        now = self._core.clock()

        def fail(tx: Tx) -> None:
            tx.set_job_state(self._job_id, JobState.FAILED, now, reason)
            tx.clear_reservations(self._job_id)

        await self._core.store.write(fail)

    async def discount_worker(self, worker_id: str, reason: str) -> None:
        now = self._core.clock()
        external = f"{self._namespace}:{worker_id}"

        def discount(tx: Tx) -> None:
            row = tx.worker_by_external(self._job_id, external)
            if row is None or row.status == WorkerStatus.DISQUALIFIED:
                return
            tx.update_worker(row.id, status=int(WorkerStatus.DISQUALIFIED))
            dispatch.disqualify(tx, self._spec, self._job_id, row.id, now)

        log.info("jobs/%d: %s discounted: %s", self._job_id, external, reason)
        await self._core.store.write(discount)

    async def grade_gold(self, answers: Sequence[ExternalJudgment]) -> list[bool | None]:
        """Grades by the quality gate (`gate.grade`), as pool workers' gold is graded."""
        keys = list(dict.fromkeys(a.item_key for a in answers))
        rows = await self._core.store.read(lambda tx: {k: tx.item_by_key(self._job_id, k) for k in keys})
        grades: list[bool | None] = []
        for answer in answers:
            row = rows.get(answer.item_key)
            if row is None or not row.gold:
                grades.append(None)
            else:
                given = dict(answer.answer) if answer.answer is not None else {}
                grades.append(gate.grade(self._spec, given, json.loads(row.gold)))
        return grades

    async def judge_gold_record(
        self, worker_id: str, answered: int, right: int, *, pass_accuracy: float, min_answered: int = 1
    ) -> bool:
        """The quality gate's bar (`gate.below_bar`, the rule a pool worker's
        checkpoints apply) over a record the workforce keeps."""
        validation.check_range("pass_accuracy", pass_accuracy, 0.0, 1.0)
        validation.check_range("right", right, 0, max(answered, 0))
        if not gate.below_bar(pass_accuracy, answered, right, min_answered):
            return False
        await self.discount_worker(
            worker_id, f"{right} of {answered} gold answers right, below the bar of {pass_accuracy:.0%}"
        )
        return True

    async def gold_items(self, limit: int) -> list[GoldItem]:
        rows = await self._core.store.read(lambda tx: tx.gold_rows(self._job_id, limit))
        return [
            GoldItem(
                r.key,
                r.payload_kind,
                r.payload,
                json.loads(r.gold or "null"),
                json.loads(r.prelabel) if r.prelabel else None,
            )
            for r in rows
        ]

    async def load_state(self) -> dict[str, Any]:
        return await self._core.store.read(lambda tx: tx.adapter_state(self._job_id))

    async def save_state(self, state: Mapping[str, Any]) -> None:
        snapshot = json.loads(json.dumps(dict(state)))
        await self._core.store.write(lambda tx: tx.put_adapter_state(self._job_id, snapshot))
