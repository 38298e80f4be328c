"""What every part of the core shares: its state, who is calling, and reading jobs.

The core is every operation a caller can ask for, in domain terms. The gRPC
servicers call these methods and nothing else; so do the CLI and the demo. Each
method checks the caller's right to the resource, validates, runs one store
transaction, and says what changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from labelwire.server import (
    auth,
    specs,
    validation,
)
from labelwire.server.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from labelwire.server.feed import FeedSignal
from labelwire.server.model import (
    Job,
    JobCounters,
    JobSpec,
    JobState,
    Principal,
    Worker,
    WorkerStatus,
)
from labelwire.server.store import Store, Tx
from labelwire.server.workforces import Workforces

log = logging.getLogger(__name__)

ADMIN = Principal(kind="admin")


def parse_name(name: str, collection: str, field: str) -> int:
    """The numeric id in `jobs/12` (or `jobs/12/tasks/7` for collection `tasks`)."""
    parts = name.split("/")
    if len(parts) >= 2 and parts[-2] == collection and parts[-1].isdigit():
        return int(parts[-1])
    if not name:
        raise InvalidArgument(f"{field} is required")
    raise InvalidArgument(f"{field} must look like {collection}/<number>, got {name!r}")


def parse_task_name(name: str, field: str = "task") -> tuple[int, int]:
    parts = name.split("/")
    if (
        len(parts) == 4
        and parts[0] == "jobs"
        and parts[2] == "tasks"
        and parts[1].isdigit()
        and parts[3].isdigit()
    ):
        return int(parts[1]), int(parts[3])
    if not name:
        raise InvalidArgument(f"{field} is required")
    raise InvalidArgument(f"{field} must look like jobs/<number>/tasks/<number>, got {name!r}")


def worker_from_row(row: Any) -> Worker:
    return Worker(
        id=int(row["id"]),
        job_id=int(row["job_id"]),
        display_name=row["display_name"],
        status=WorkerStatus(int(row["status"])),
        quiz_remaining=int(row["quiz_remaining"]),
        judgments=int(row["judgments"]),
        gold_answered=int(row["gold_answered"]),
        gold_correct=int(row["gold_correct"]),
        last_active_at=row["last_active_at"],
        external_id=row["external_id"],
        skill=row["skill"],
    )


def page_cursor(token: str, default: int) -> int:
    if not token:
        return default
    if not token.isdigit():
        raise InvalidArgument("page_token is not one this server gave out")
    return int(token)


class CoreBase:
    def __init__(
        self,
        store: Store,
        *,
        admin_key: str,
        workforces: Workforces | None = None,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        drive_workforces: bool = True,
    ) -> None:
        self.store = store
        self._drive_workforces = drive_workforces
        self.clock = clock
        self.feed = FeedSignal()
        self.workforces = workforces or Workforces.discover()
        self._admin_hash = auth.digest(admin_key)
        self._principals: dict[str, Principal] = {}
        self._specs: dict[int, tuple[int, JobSpec]] = {}
        self._rng = random.Random(seed)
        self._tasks: list[asyncio.Task[None]] = []
        self.live_uploads: set[int] = set()

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("missing bearer token in the authorization metadata")
        cached = self._principals.get(token)
        if cached is not None:
            return cached
        if auth.matches(token, self._admin_hash):
            return ADMIN
        parsed = auth.parse(token)
        if parsed is None:
            raise Unauthenticated("the bearer token is not a labelwire key")
        prefix, ident, secret = parsed
        if prefix == auth.CLIENT_PREFIX:
            stored = await self.store.read(lambda tx: tx.client_key_hash(ident))
            principal = Principal(kind="client", id=ident)
        else:
            row = await self.store.read(lambda tx: tx.worker(ident))
            stored = None if row is None or row["token_hash"] is None else bytes(row["token_hash"])
            principal = Principal(kind="worker", id=ident, job_id=0 if row is None else int(row["job_id"]))
        if not auth.matches(secret, stored):
            raise Unauthenticated("the bearer token is not valid")
        if len(self._principals) > 100_000:
            self._principals.clear()
        self._principals[token] = principal
        return principal

    @staticmethod
    def require(principal: Principal, kind: str) -> None:
        if principal.kind != kind:
            raise PermissionDenied(f"this call needs a {kind} key, not a {principal.kind} key")

    async def create_api_key(self, principal: Principal, client_name: str) -> tuple[int, str]:
        self.require(principal, "admin")
        validation.check_text("client_name", client_name, low=1, high=200)

        def create(tx: Tx) -> tuple[int, str]:
            client_id = tx.insert_client(client_name, b"", self.clock())
            token, hashed = auth.new_token(auth.CLIENT_PREFIX, client_id)
            tx.set_client_key(client_id, hashed)
            return client_id, token

        return await self.store.write(create)

    def require_job_row(self, tx: Tx, job_id: int, owner_id: int | None = None) -> Any:
        row = tx.job(job_id)
        if row is None or (owner_id is not None and int(row["owner_id"]) != owner_id):
            raise NotFound(f"jobs/{job_id} does not exist")
        return row

    def _job(self, tx: Tx, row: Any, *, counted: bool = True) -> Job:
        """A job from its row; `counted=False` skips the counters that need a
        scan of the job's open items."""
        job_id = int(row["id"])
        unlabeled, in_progress, qualified, disqualified = tx.live_counts(job_id) if counted else (0, 0, 0, 0)
        return Job(
            id=job_id,
            owner_id=int(row["owner_id"]),
            spec=self._spec_of(job_id, row),
            state=JobState(int(row["state"])),
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
            failure_reason=row["failure_reason"],
            last_sequence=int(row["last_sequence"]),
            counters=JobCounters(
                total_items=int(row["total_items"]),
                gold_items=int(row["gold_items"]),
                labeled_items=int(row["labeled_items"]),
                unlabeled_items=unlabeled,
                in_progress_items=in_progress,
                failed_items=int(row["failed_items"]),
                judgments=int(row["judgments"]),
                excluded_judgments=int(row["excluded_judgments"]),
                qualified_workers=qualified,
                disqualified_workers=disqualified,
                cost_micros=int(row["cost_micros"]),
            ),
        )

    def spec_of_row(self, job_id: int, row: Any) -> JobSpec:
        return self._spec_of(job_id, row)

    def _spec_of(self, job_id: int, row: Any) -> JobSpec:
        cached = self._specs.get(job_id)
        if cached is None:
            cached = (int(row["owner_id"]), specs.from_json(json.loads(row["spec"])))
            self._specs[job_id] = cached
        return cached[1]

    async def spec_of_job(self, job_id: int) -> JobSpec:
        cached = self._specs.get(job_id)
        if cached is not None:
            return cached[1]
        row = await self.store.read(lambda tx: tx.job(job_id))
        if row is None:
            raise NotFound(f"jobs/{job_id} does not exist")
        return self._spec_of(job_id, row)

    async def _read_job(self, job_id: int) -> Job:
        """A job with its counters, read outside the writer: counting a large
        job's open items must not hold up judgments."""
        return await self.store.read(lambda tx: self._job(tx, self.require_job_row(tx, job_id)))

    async def get_job(self, principal: Principal, name: str) -> Job:
        self.require(principal, "client")
        job_id = parse_name(name, "jobs", "name")
        return await self.store.read(lambda tx: self._job(tx, self.require_job_row(tx, job_id, principal.id)))
