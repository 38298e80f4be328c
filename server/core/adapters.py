"""Workforce adapters in their own process: their keys (the admin's) and the
adapter contract of `WorkforceContext` as calls an adapter makes with its key.

An adapter serves the jobs of the `remote` workforce whose
`workforce.settings.adapter` is its name; any other job is NOT_FOUND to it,
as another client's job is to a client. Claims and judgments carry the
adapter's own ids and their outcome is saved in the transaction that made
it (`adapter_requests`), so an adapter that crashes and repeats its last
calls changes nothing twice.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from labelwire.adapters.base import TASK_TYPES, ExternalJudgment, WorkItem
from labelwire.server.core import auth
from labelwire.server.core.base import (
    JobReads,
    checked_page_size,
    issue_credential,
    page_cursor,
    page_of,
    parse_name,
    parse_pair,
    require,
)
from labelwire.server.core.credentials import CredentialsService
from labelwire.server.dispatch.workforces import JobContext
from labelwire.server.domain import validation
from labelwire.server.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from labelwire.server.domain.model import Job, JobSpec, JobState, Principal
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import ItemRow, JobRow

# The workforce (entry point) whose jobs out-of-process adapters serve.
REMOTE = "remote"
ADAPTER_NAME = re.compile("[a-z][a-z0-9-]{0,62}")
MAX_BATCH = 1000
MAX_FEE_MICROS = 1_000_000_000
RECORDED, DUPLICATE, REJECTED = "recorded", "duplicate", "rejected"


@dataclass(frozen=True)
class AdapterJudgment:
    """A judgment as an adapter reports it: its own id beside the contract's fields."""

    judgment_id: str
    judgment: ExternalJudgment


@dataclass(frozen=True)
class JudgmentResult:
    judgment_id: str
    outcome: str  # RECORDED, DUPLICATE or REJECTED
    reason: str = ""


def check_adapter_name(name: str, field: str) -> None:
    if ADAPTER_NAME.fullmatch(name) is None:
        raise InvalidArgument(
            f"{field} must be 1 to 63 of [a-z0-9-] starting with a letter, got {validation.quote(name)}",
            field,
        )


def check_keys(keys: Sequence[str], field: str) -> None:
    validation.check_range(f"number of {field}", len(keys), 1, MAX_BATCH)
    for i, key in enumerate(keys):
        validation.check_text(f"{field}[{i}]", key, low=1, high=1000)


def check_remote_job(tx: Tx, spec: JobSpec) -> None:
    """A job of the remote workforce names an adapter the operator made, and
    one that runs its task type, as an in-process workforce's `validate` would
    check it; called in the transaction that creates the job."""
    if spec.adapter != REMOTE:
        return
    name = str(spec.settings.get("adapter", ""))
    row = tx.adapter_named(name)
    if row is None:
        raise InvalidArgument(
            f"job.workforce.settings.adapter: no adapter is named {validation.quote(name)};"
            " the operator makes one with AdminService.CreateAdapterKey",
            "job.workforce.settings.adapter",
        )
    caps = json.loads(row.capabilities) if row.capabilities else {}
    kinds = caps.get("task_types") or []
    if kinds and spec.task_type not in kinds:
        raise InvalidArgument(
            f"job.task_config: the {name} adapter cannot run {spec.task_type} tasks (it runs {', '.join(kinds)})",
            "job.task_config",
        )
    most = int(caps.get("max_judgments_per_item") or 0)
    if most and spec.max_judgments_per_item > most:
        raise InvalidArgument(
            f"job.judgment_policy.max_judgments_per_item: the {name} adapter allows at most {most},"
            f" got {spec.max_judgments_per_item}",
            "job.judgment_policy.max_judgments_per_item",
        )


@dataclasses.dataclass(eq=False, kw_only=True)
class AdaptersService:
    """WorkforceAdapterService's side: adapters in their own process act on their jobs."""

    store: Store
    reads: JobReads
    credentials: CredentialsService
    clock: Callable[[], float]

    async def create_adapter_key(
        self, principal: Principal, adapter_name: str, ttl_seconds: float = 0.0
    ) -> tuple[int, int, str]:
        """A key for the adapter of this name (made on first use): (adapter
        id, key id, the key, shown once)."""
        require(principal, "admin")
        check_adapter_name(adapter_name, "adapter_name")
        expires = self.credentials.expiry(ttl_seconds, "ttl")
        now = self.clock()

        def create(tx: Tx) -> tuple[int, int, str]:
            row = tx.adapter_named(adapter_name)
            adapter_id = int(row.id) if row is not None else tx.insert_adapter(adapter_name, now)
            key_id, key = issue_credential(tx, auth.ADAPTER_KEY, adapter_id, now, expires)
            return adapter_id, key_id, key

        return await self.store.write(create)

    async def revoke_adapter_key(self, principal: Principal, name: str) -> None:
        require(principal, "admin")
        adapter_id, key_id = parse_pair(name, "adapterKeys", "name")
        now = self.clock()

        def revoke(tx: Tx) -> None:
            row = tx.credential(key_id)
            if row is None or int(row.kind) != auth.ADAPTER_KEY or int(row.owner_id) != adapter_id:
                raise NotFound(f"{name} does not exist")
            tx.revoke_credential(key_id, now)

        await self.store.write(revoke)
        self.credentials.forget_credentials({key_id})

    async def attach_adapter(
        self, principal: Principal, task_types: Sequence[str], max_judgments_per_item: int
    ) -> tuple[int, str]:
        """Records what the calling adapter runs: (its id, its name)."""
        for i, kind in enumerate(task_types):
            if kind not in TASK_TYPES:
                raise InvalidArgument(
                    f"task_types[{i}] {validation.quote(kind)} is not one of {', '.join(sorted(TASK_TYPES))}",
                    f"task_types[{i}]",
                )
        if max_judgments_per_item:
            validation.check_range("max_judgments_per_item", max_judgments_per_item, 1, MAX_BATCH)
        caps = {"task_types": sorted(set(task_types)), "max_judgments_per_item": max_judgments_per_item}

        def attach(tx: Tx) -> str:
            name = self._adapter_name(tx, principal)
            tx.set_adapter_capabilities(principal.id, caps)
            return name

        return principal.id, await self.store.write(attach)

    def _adapter_name(self, tx: Tx, principal: Principal) -> str:
        require(principal, "adapter")
        row = tx.adapter(principal.id)
        if row is None:
            raise NotFound(f"adapters/{principal.id} does not exist")
        return str(row.name)

    def _serves(self, tx: Tx, name: str, row: JobRow) -> bool:
        spec = self.reads.spec_of_row(row.id, row)
        return spec.adapter == REMOTE and spec.settings.get("adapter") == name

    def _served_job(self, tx: Tx, principal: Principal, job_id: int) -> JobRow:
        """The job's row if it names the calling adapter; NOT_FOUND otherwise."""
        name = self._adapter_name(tx, principal)
        row = tx.job(job_id)
        if row is None or not self._serves(tx, name, row):
            raise NotFound(f"jobs/{job_id} does not exist")
        return row

    def _context(self, row: JobRow) -> JobContext:
        job_id = row.id
        return JobContext(self.reads, job_id, self.reads.spec_of_row(job_id, row))

    async def adapter_jobs(
        self, principal: Principal, states: Sequence[JobState], page_size: int, page_token: str
    ) -> tuple[list[Job], str]:
        """The jobs naming this adapter in these states (default running), oldest first."""
        size = checked_page_size(page_size)
        after = page_cursor(page_token, default=0)
        wanted = [int(s) for s in states] or [int(JobState.RUNNING)]

        def page(tx: Tx) -> list[Job]:
            name = self._adapter_name(tx, principal)
            rows = sorted(
                (r for r in tx.jobs_in_states(wanted) if r.id > after and self._serves(tx, name, r)),
                key=lambda r: r.id,
            )
            return [self.reads.job(tx, r) for r in rows[: size + 1]]

        jobs = await self.store.read(page)
        return page_of(jobs, size, lambda r: r.id)

    async def adapter_job(self, principal: Principal, name: str) -> Job:
        job_id = parse_name(name, "jobs", "name")
        return await self.store.read(lambda tx: self.reads.job(tx, self._served_job(tx, principal, job_id)))

    async def adapter_claim(
        self, principal: Principal, job: str, claim_id: str, max_items: int, fee_micros: int
    ) -> list[WorkItem]:
        """Claims as `WorkforceContext.claim_items` does, once per claim_id:
        a repeated id gets the first claim's items that are still open."""
        job_id = parse_name(job, "jobs", "job")
        validation.check_text("claim_id", claim_id, low=1, high=200)
        validation.check_range("max_items", max_items, 1, MAX_BATCH)
        validation.check_range("fee_micros_per_judgment", fee_micros, 0, MAX_FEE_MICROS)
        now = self.clock()

        def claim(tx: Tx) -> list[ItemRow]:
            row = self._served_job(tx, principal, job_id)
            saved = tx.adapter_request(job_id, "claim", claim_id)
            if saved is not None:
                keys = set(saved)
                return [r for r in tx.claimed_open(job_id, REMOTE) if r.key in keys]
            if row.state != JobState.RUNNING:
                raise FailedPrecondition(
                    f"jobs/{job_id} is {row.state.name}; items are claimed only while it runs"
                )
            rows = self._context(row).claim_in(tx, max_items, fee_micros, now)
            tx.put_adapter_request(job_id, "claim", claim_id, [r.key for r in rows], now)
            return rows

        return JobContext.work_items(await self.store.write(claim))

    async def adapter_claimed(self, principal: Principal, job: str) -> list[WorkItem]:
        job_id = parse_name(job, "jobs", "job")

        def claimed(tx: Tx) -> list[ItemRow]:
            self._served_job(tx, principal, job_id)
            return list(tx.claimed_open(job_id, REMOTE))

        return JobContext.work_items(await self.store.read(claimed))

    async def _claimed_context(self, principal: Principal, job: str, keys: Sequence[str]) -> JobContext:
        """The job's context, once every key names an item this workforce holds."""
        job_id = parse_name(job, "jobs", "job")
        check_keys(keys, "item_keys")

        def check(tx: Tx) -> JobRow:
            row = self._served_job(tx, principal, job_id)
            held = {r.key for r in tx.claimed_open(job_id, REMOTE)}
            for i, key in enumerate(keys):
                if key not in held:
                    raise FailedPrecondition(
                        f"item_keys[{i}] {validation.quote(key)} is not an open item this workforce claimed"
                    )
            return row

        return self._context(await self.store.read(check))

    async def adapter_return(self, principal: Principal, job: str, keys: Sequence[str]) -> None:
        await (await self._claimed_context(principal, job, keys)).return_items(keys)

    async def adapter_fail_items(
        self, principal: Principal, job: str, keys: Sequence[str], reason: str
    ) -> None:
        validation.check_text("reason", reason, low=1, high=1000)
        await (await self._claimed_context(principal, job, keys)).fail_items(keys, reason)

    async def adapter_fail_job(self, principal: Principal, job: str, reason: str) -> None:
        job_id = parse_name(job, "jobs", "job")
        validation.check_text("reason", reason, low=1, high=1000)
        row = await self.store.read(lambda tx: self._served_job(tx, principal, job_id))
        if row.state not in (JobState.RUNNING, JobState.PAUSED):
            raise FailedPrecondition(f"jobs/{job_id} is {row.state.name}, not running")
        await self._context(row).fail_job(reason)

    async def adapter_discount(self, principal: Principal, job: str, worker_id: str, reason: str) -> None:
        job_id = parse_name(job, "jobs", "job")
        validation.check_text("worker_id", worker_id, low=1, high=200)
        validation.check_text("reason", reason, low=1, high=1000)
        row = await self.store.read(lambda tx: self._served_job(tx, principal, job_id))
        await self._context(row).discount_worker(worker_id, reason)

    async def adapter_record(
        self, principal: Principal, job: str, judgments: Sequence[AdapterJudgment]
    ) -> list[JudgmentResult]:
        """Records as `WorkforceContext.record_judgments` does, once per
        judgment_id, and only for items this workforce claimed."""
        job_id = parse_name(job, "jobs", "job")
        validation.check_range("number of judgments", len(judgments), 1, MAX_BATCH)
        for i, j in enumerate(judgments):
            validation.check_text(f"judgments[{i}].judgment_id", j.judgment_id, low=1, high=200)
            validation.check_text(f"judgments[{i}].item_key", j.judgment.item_key, low=1, high=1000)
            validation.check_text(f"judgments[{i}].worker_id", j.judgment.worker_id, low=1, high=200)
        now = self.clock()

        def record(tx: Tx) -> list[JudgmentResult]:
            ctx = self._context(self._served_job(tx, principal, job_id))
            results = []
            for j in judgments:
                saved = tx.adapter_request(job_id, "judgment", j.judgment_id)
                if saved is not None:
                    outcome = REJECTED if saved["outcome"] == REJECTED else DUPLICATE
                    results.append(JudgmentResult(j.judgment_id, outcome, saved["reason"]))
                    continue
                item = tx.item_by_key(job_id, j.judgment.item_key)
                if item is None or item.claimed_by != REMOTE:
                    fresh = False
                    reason = f"item {validation.quote(j.judgment.item_key)} was not claimed by this workforce"
                else:
                    fresh, reason = ctx.record_in(tx, j.judgment, now)
                outcome = REJECTED if reason else (RECORDED if fresh else DUPLICATE)
                tx.put_adapter_request(
                    job_id, "judgment", j.judgment_id, {"outcome": outcome, "reason": reason}, now
                )
                results.append(JudgmentResult(j.judgment_id, outcome, reason))
            return results

        return await self.store.write(record)
