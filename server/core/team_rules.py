"""Which worker accounts may work on which jobs: the checks every path that
names a job's teams or admits an account goes through, each inside the caller's
transaction, so membership and leases never disagree."""

from __future__ import annotations

from collections.abc import Sequence

from labelwire.server.core.base import parse_name
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.domain import validation
from labelwire.server.domain.errors import InvalidArgument, NotFound, PermissionDenied
from labelwire.server.domain.model import (
    JobSpec,
    TaskState,
)
from labelwire.server.store import Tx

MAX_TEAMS_PER_JOB = 20


def parse_teams(names: Sequence[str], field: str) -> tuple[int, ...]:
    """The team ids of a job's `workforce.teams`, checked for form, count and repeats."""
    validation.require(
        len(names) <= MAX_TEAMS_PER_JOB,
        f"{field} may name at most {MAX_TEAMS_PER_JOB} teams, got {len(names)}",
        field,
    )
    ids: list[int] = []
    for i, name in enumerate(names):
        team_id = parse_name(name, "teams", f"{field}[{i}]")
        validation.require(team_id not in ids, f"{field}[{i}] repeats teams/{team_id}", f"{field}[{i}]")
        ids.append(team_id)
    return tuple(ids)


def check_job_teams(spec: JobSpec) -> None:
    """Only pool jobs are worked on by accounts."""
    if spec.teams and spec.adapter != "pool":
        raise InvalidArgument(
            f"job.workforce.teams is for the pool workforce only, not {validation.quote(spec.adapter)}",
            "job.workforce.teams",
        )


def name_job_teams(tx: Tx, owner_id: int, job_id: int, teams: Sequence[int]) -> None:
    """Links a new job to the teams it names, each one of the owner's."""
    for i, team_id in enumerate(teams):
        row = tx.team(team_id)
        if row is None or int(row.owner_id) != owner_id:
            raise NotFound(f"job.workforce.teams[{i}]: teams/{team_id} does not exist")
    tx.name_job_teams(job_id, teams)


def require_member(tx: Tx, account_id: int, job_id: int) -> None:
    if not tx.may_work(account_id, job_id):
        raise PermissionDenied(
            f"workers/{account_id} is in no team that may work on jobs/{job_id}; ask the job's owner"
        )


def release_lost_leases(tx: Tx, account_id: int, job_ids: Sequence[int], now: float) -> None:
    """Gives back the leases an account holds on the jobs it may no longer work on."""
    for job_id in job_ids:
        if tx.may_work(account_id, job_id):
            continue
        row = tx.account_worker(account_id, job_id)
        if row is None:
            continue
        for task in tx.live_tasks_of(row.id):
            dispatch.end_lease(tx, task, TaskState.RELEASED, now)
