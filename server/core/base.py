"""What every service of the core shares: resource names, pages, the caller
check, and reading jobs (`JobReads`, one per core, holding the spec cache).

The core is every operation a caller can ask for, in domain terms, in plain
services built with what they need (`service.Core` wires them). The gRPC
servicers call these methods and nothing else; so do the CLI and the demo. Each
method checks the caller's right to the resource, validates, runs one store
transaction, and says what changed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable
from typing import TypeVar

from labelwire.server.core import auth
from labelwire.server.domain import specs, validation
from labelwire.server.domain.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from labelwire.server.domain.model import (
    Job,
    JobCounters,
    JobSpec,
    Principal,
    Worker,
)
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import JobRow, WorkerRow

log = logging.getLogger(__name__)
T = TypeVar("T")

ADMIN = Principal(kind="admin")
# How long a replica trusts a key it has checked before checking it again: the
# bound on how late a revocation made on another replica takes effect here.
DEFAULT_CREDENTIAL_CACHE_SECONDS = 2.0
MIN_TTL_SECONDS = 60.0
MAX_TTL_SECONDS = 3650 * 86400.0


ID = "[0-9]{1,18}"
_NAMES = {
    "jobs": re.compile(f"jobs/({ID})"),
    "tasks": re.compile(f"jobs/({ID})/tasks/({ID})"),
    "workers": re.compile(f"jobs/({ID})/workers/({ID})"),
    "clients": re.compile(f"clients/({ID})"),
    "apiKeys": re.compile(f"clients/({ID})/apiKeys/({ID})"),
    "teams": re.compile(f"teams/({ID})"),
    "workerAccounts": re.compile(f"workers/({ID})"),
    "adapterKeys": re.compile(f"adapters/({ID})/keys/({ID})"),
}
_NAME_FORMS = {
    "jobs": "jobs/<number>",
    "tasks": "jobs/<number>/tasks/<number>",
    "workers": "jobs/<number>/workers/<number>",
    "clients": "clients/<number>",
    "apiKeys": "clients/<number>/apiKeys/<number>",
    "teams": "teams/<number>",
    "workerAccounts": "workers/<number>",
    "adapterKeys": "adapters/<number>/keys/<number>",
}
_PAGE_TOKEN = re.compile(ID)
_KEY_NAMES = {
    "client": "a client API key",
    "worker": "a worker token",
    "account": "a worker account token",
    "adapter": "an adapter key",
    "admin": "the admin key",
}


def _match(name: str, collection: str, field: str) -> re.Match[str]:
    """Names match their pattern whole, with ASCII digits that fit in 63 bits,
    so `x/jobs/1` or `jobs/١` is never taken for `jobs/1`."""
    found = _NAMES[collection].fullmatch(name)
    if found is None:
        if not name:
            raise InvalidArgument(f"{field} is required", field)
        raise InvalidArgument(
            f"{field} must look like {_NAME_FORMS[collection]} (at most 18 digits each),"
            f" got {validation.quote(name)}",
            field,
        )
    return found


def parse_name(name: str, collection: str, field: str) -> int:
    """The numeric id in `jobs/12`."""
    return int(_match(name, collection, field).group(1))


def parse_pair(name: str, collection: str, field: str) -> tuple[int, int]:
    """The two ids in `jobs/12/tasks/7`, `jobs/12/workers/3` or `clients/4/apiKeys/9`."""
    found = _match(name, collection, field)
    return int(found.group(1)), int(found.group(2))


def parse_task_name(name: str, field: str = "task") -> tuple[int, int]:
    return parse_pair(name, "tasks", field)


def worker_from_row(row: WorkerRow) -> Worker:
    return Worker(
        id=row.id,
        job_id=row.job_id,
        display_name=row.display_name,
        status=row.status,
        quiz_remaining=row.quiz_remaining,
        judgments=row.judgments,
        gold_answered=row.gold_answered,
        gold_correct=row.gold_correct,
        last_active_at=row.last_active_at,
        external_id=row.external_id,
        skill=row.skill,
        quiz_answered=row.quiz_answered,
        quiz_correct=row.quiz_correct,
        work_skill=row.work_skill,
        account_id=None if row.account_id is None else int(row.account_id),
    )


PAGE_BYTES = 2 * 1024 * 1024


def fitting(sizes: list[int], budget: int = PAGE_BYTES) -> int:
    """How many of a page's rows, of these sizes, fit in `budget` bytes (at
    least one), so a list response stays under gRPC's message limit (and the
    4 MiB a default client accepts) however large each row is."""
    total = 0
    for count, size in enumerate(sizes):
        total += size
        if total > budget and count > 0:
            return count
    return len(sizes)


def page_cursor(token: str, default: int) -> int:
    if not token:
        return default
    if _PAGE_TOKEN.fullmatch(token) is None:
        raise InvalidArgument("page_token is not one this server gave out", "page_token")
    return int(token)


def checked_page_size(page_size: int) -> int:
    size = page_size or 100
    validation.check_range("page_size", size, 1, 1000)
    return size


def page_of(rows: list[T], size: int, last_id: Callable[[T], int]) -> tuple[list[T], str]:
    """A page of `rows`, read one past `size` to know whether more follow,
    and the token of the next page ("" on the last)."""
    more = len(rows) > size
    rows = rows[:size]
    return rows, (str(last_id(rows[-1])) if more else "")


def require(principal: Principal, kind: str) -> None:
    if principal.kind != kind:
        raise PermissionDenied(f"this call needs {_KEY_NAMES[kind]}, not {_KEY_NAMES[principal.kind]}")


def issue_credential(tx: Tx, kind: int, owner_id: int, now: float, expires: float | None) -> tuple[int, str]:
    """A new key or token for an owner: its id, and the token, shown once."""
    secret = auth.new_secret()
    credential_id = tx.insert_credential(kind, owner_id, auth.digest(secret), now, expires)
    return credential_id, f"{auth.PREFIXES[kind]}_{credential_id}_{secret}"


def retire_credentials(tx: Tx, kind: int, owner_id: int, now: float, grace_seconds: float) -> set[int]:
    """Ends the owner's live credentials of `kind` after the grace period (0:
    at once), as a rotation does; their ids, for the caller to forget."""
    ids = {int(c.id) for c in tx.live_credentials_of(kind, owner_id, now)}
    for credential_id in ids:
        if grace_seconds == 0:
            tx.revoke_credential(credential_id, now)
        else:
            tx.expire_credential(credential_id, now + grace_seconds)
    return ids


class JobReads:
    """Job rows and the specs cached by revision, shared by every service: a
    spec is parsed once per revision on this replica whichever service reads it."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        # job id -> (spec revision, spec, owner id): a row read with a newer
        # revision (UpdateJob, on any replica) replaces the copy.
        self._specs: dict[int, tuple[int, JobSpec, int]] = {}

    def require_job_row(self, tx: Tx, job_id: int, owner_id: int | None = None) -> JobRow:
        row = tx.job(job_id)
        if row is None or (owner_id is not None and row.owner_id != owner_id):
            raise NotFound(f"jobs/{job_id} does not exist")
        return row

    def job(self, tx: Tx, row: JobRow, *, counted: bool = True) -> Job:
        """A job from its row; `counted=False` skips the counters that need a
        scan of the job's open items."""
        job_id = row.id
        unlabeled, in_progress, qualified, disqualified = tx.live_counts(job_id) if counted else (0, 0, 0, 0)
        spec = self.spec_of_row(job_id, row)
        if spec.adapter == "pool":
            # Teams are the one part of a spec that changes (SetJobTeams); the
            # links are the truth, so a replica's cached spec never shows old ones.
            linked = tx.job_team_ids(job_id)
            if set(linked) != set(spec.teams):
                spec = dataclasses.replace(spec, teams=linked)
        return Job(
            id=job_id,
            owner_id=row.owner_id,
            spec=spec,
            state=row.state,
            created_at=row.created_at,
            updated_at=row.updated_at,
            failure_reason=row.failure_reason,
            last_sequence=row.last_sequence,
            end_reason=row.end_reason,
            instructions_version=row.instructions_version,
            pilot_size=row.pilot_size,
            counters=JobCounters(
                total_items=row.total_items,
                gold_items=row.gold_items,
                labeled_items=row.labeled_items,
                unlabeled_items=unlabeled,
                in_progress_items=in_progress,
                failed_items=row.failed_items,
                judgments=row.judgments,
                excluded_judgments=row.excluded_judgments,
                qualified_workers=qualified,
                disqualified_workers=disqualified,
                cost_micros=row.cost_micros,
                reserved_micros=row.reserved_micros,
            ),
        )

    def forget_spec(self, job_id: int) -> None:
        """After a change of the spec made here (a pool job's teams, UpdateJob)."""
        self._specs.pop(job_id, None)

    def spec_of_row(self, job_id: int, row: JobRow) -> JobSpec:
        """The job's spec as of `row`: the cached copy unless the row carries
        a newer revision (UpdateJob on this or another replica)."""
        revision = row.spec_revision
        cached = self._specs.get(job_id)
        if cached is None or cached[0] != revision:
            cached = (revision, specs.from_json(json.loads(row.spec)), row.owner_id)
            self._specs[job_id] = cached
        return cached[1]

    async def owner_of_job(self, job_id: int) -> int:
        """The client that owns a job, from the spec cache when it is there."""
        cached = self._specs.get(job_id)
        if cached is not None:
            return cached[2]
        row = await self.store.read(lambda tx: self.require_job_row(tx, job_id))
        return row.owner_id

    def fresh_spec(self, tx: Tx, job_id: int) -> JobSpec:
        """The spec as the transaction sees it: what a write that acts on the
        spec (a lease, a judgment) must use, since UpdateJob may have changed
        it on another replica."""
        return self.spec_of_row(job_id, self.require_job_row(tx, job_id))

    async def spec_of_job(self, job_id: int) -> JobSpec:
        """A possibly cached spec: enough to validate what never changes
        (task type, classes); writes read `fresh_spec` in their transaction."""
        cached = self._specs.get(job_id)
        if cached is not None:
            return cached[1]
        row = await self.store.read(lambda tx: self.require_job_row(tx, job_id))
        return self.spec_of_row(job_id, row)

    async def read_job(self, job_id: int) -> Job:
        """A job with its counters, read outside the writer: counting a large
        job's open items must not hold up judgments."""
        return await self.store.read(lambda tx: self.job(tx, self.require_job_row(tx, job_id)))

    async def get_job(self, principal: Principal, name: str) -> Job:
        require(principal, "client")
        job_id = parse_name(name, "jobs", "name")
        return await self.store.read(lambda tx: self.job(tx, self.require_job_row(tx, job_id, principal.id)))
