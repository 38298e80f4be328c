"""TeamService, the WorkerService calls of worker accounts, and how a
WorkerService call finds the per-job worker it acts as: thin translation onto
the core (`core/accounts.py`)."""

from __future__ import annotations

from typing import Any

import grpc

from labelwire.server.core import Core
from labelwire.server.core.account_records import Account, History, JobStatus, Team, Totals, WorkerJob
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import Principal
from labelwire.server.transport.grpc import convert
from labelwire.server.transport.grpc.context import caller, unary
from labelwire.v1 import account_pb2, job_pb2, team_service_pb2_grpc, worker_service_pb2
from labelwire.v1 import team_service_pb2 as pb

Ctx = grpc.aio.ServicerContext[Any, Any]
# What UpdateWorkerAccount's update_mask may name (AIP-134).
UPDATABLE_ACCOUNT_FIELDS = frozenset({"display_name"})


async def worker_caller(
    core: Core, context: Ctx, *, job: str = "", task: str = "", start: bool = False
) -> Principal:
    """The caller of a WorkerService method as the worker of one job: a
    worker token as it is, an account token as its record on the job the
    request names (made at its first NextTask or GetWorkerStats there)."""
    return await core.account_work.act_as(await caller(core, context), job=job, task=task, start=start)


def account_message(account: Account) -> account_pb2.WorkerAccount:
    return account_pb2.WorkerAccount(
        name=account.name,
        display_name=account.display_name,
        owner=f"clients/{account.owner_id}",
        teams=[f"teams/{t}" for t in account.teams],
        active_tokens=account.active_tokens,
        create_time=convert.timestamp(account.created_at),
    )


def team_message(team: Team) -> account_pb2.Team:
    return account_pb2.Team(
        name=team.name,
        display_name=team.display_name,
        description=team.description,
        owner=f"clients/{team.owner_id}",
        worker_count=team.worker_count,
        create_time=convert.timestamp(team.created_at),
    )


def worker_job_message(entry: WorkerJob) -> account_pb2.WorkerJob:
    spec = entry.job.spec
    out = account_pb2.WorkerJob(
        job=entry.job.name,
        display_name=spec.display_name,
        short_instructions=str(spec.instructions.get("short_instructions", "")),
        price_per_judgment_micros=spec.price_per_judgment_micros,
        status=account_pb2.WorkerJobStatus.Value(f"WORKER_JOB_STATUS_{JobStatus(entry.status).name}"),
        job_state=job_pb2.JobState.Value(f"JOB_STATE_{entry.job.state.name}"),
        task_time_limit=convert.duration(spec.task_time_limit_seconds),
    )
    if entry.worker is not None:
        out.worker.CopyFrom(convert.worker_message(entry.worker, own=True))
    return out


def _totals_message(totals: Totals) -> account_pb2.WorkerTotals:
    out = account_pb2.WorkerTotals(
        jobs=totals.jobs,
        qualified_jobs=totals.qualified_jobs,
        disqualified_jobs=totals.disqualified_jobs,
        judgments=totals.judgments,
        gold_answered=totals.gold_answered,
        gold_correct=totals.gold_correct,
        gold_accuracy=totals.gold_accuracy,
    )
    if totals.last_active_at:
        out.last_active_time.CopyFrom(convert.timestamp(totals.last_active_at))
    return out


def history_into(history: History, out: Any, *, own: bool) -> None:
    """Fills a GetWorkerAccountHistoryResponse or a GetWorkerHistoryResponse."""
    out.worker = history.worker_name
    for record in history.jobs:
        out.jobs.add(
            job=f"jobs/{record.job_id}",
            display_name=record.display_name,
            job_state=job_pb2.JobState.Value(f"JOB_STATE_{record.job_state.name}"),
            stats=convert.worker_message(record.worker, own=own),
            median_time_seconds=record.median_time_seconds,
            estimated_skill=record.skill or 0.0,
            start_time=convert.timestamp(record.started_at),
            price_per_judgment_micros=record.price_per_judgment_micros,
        )
    out.totals.CopyFrom(_totals_message(history.totals))
    out.next_page_token = history.next_page_token


class WorkerAccountMethods:
    """The WorkerService methods for listing and history (WorkerServicer inherits them)."""

    core: Core

    @unary
    async def ListWorkerJobs(
        self, request: worker_service_pb2.ListWorkerJobsRequest, context: Ctx
    ) -> worker_service_pb2.ListWorkerJobsResponse:
        jobs, token = await self.core.account_work.worker_jobs(
            await caller(self.core, context), request.page_size, request.page_token
        )
        return worker_service_pb2.ListWorkerJobsResponse(
            jobs=[worker_job_message(j) for j in jobs], next_page_token=token
        )

    @unary
    async def GetWorkerHistory(
        self, request: worker_service_pb2.GetWorkerHistoryRequest, context: Ctx
    ) -> worker_service_pb2.GetWorkerHistoryResponse:
        history = await self.core.account_work.own_history(
            await caller(self.core, context), request.page_size, request.page_token
        )
        out = worker_service_pb2.GetWorkerHistoryResponse()
        history_into(history, out, own=True)
        return out


class TeamServicer(team_service_pb2_grpc.TeamServiceServicer):
    def __init__(self, core: Core) -> None:
        self.core = core

    @unary
    async def CreateWorkerAccount(
        self, request: pb.CreateWorkerAccountRequest, context: Ctx
    ) -> pb.CreateWorkerAccountResponse:
        principal = await caller(self.core, context)
        if not request.HasField("worker_account"):
            raise InvalidArgument("worker_account is required", "worker_account")
        account = await self.core.accounts.create_account(principal, request.worker_account.display_name)
        return pb.CreateWorkerAccountResponse(worker_account=account_message(account))

    @unary
    async def GetWorkerAccount(
        self, request: pb.GetWorkerAccountRequest, context: Ctx
    ) -> pb.GetWorkerAccountResponse:
        account = await self.core.accounts.get_account(await caller(self.core, context), request.name)
        return pb.GetWorkerAccountResponse(worker_account=account_message(account))

    @unary
    async def ListWorkerAccounts(
        self, request: pb.ListWorkerAccountsRequest, context: Ctx
    ) -> pb.ListWorkerAccountsResponse:
        accounts, token = await self.core.accounts.list_accounts(
            await caller(self.core, context), request.team, request.page_size, request.page_token
        )
        return pb.ListWorkerAccountsResponse(
            worker_accounts=[account_message(a) for a in accounts], next_page_token=token
        )

    @unary
    async def UpdateWorkerAccount(
        self, request: pb.UpdateWorkerAccountRequest, context: Ctx
    ) -> pb.UpdateWorkerAccountResponse:
        principal = await caller(self.core, context)
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument(
                "update_mask is required: name the fields to change (display_name)", "update_mask"
            )
        for i, path in enumerate(paths):
            if path not in UPDATABLE_ACCOUNT_FIELDS:
                raise InvalidArgument(
                    f"update_mask.paths[{i}] is {path!r}; only display_name can change",
                    f"update_mask.paths[{i}]",
                )
        account = await self.core.accounts.rename_account(
            principal, request.worker_account.name, request.worker_account.display_name
        )
        return pb.UpdateWorkerAccountResponse(worker_account=account_message(account))

    @unary
    async def DeleteWorkerAccount(
        self, request: pb.DeleteWorkerAccountRequest, context: Ctx
    ) -> pb.DeleteWorkerAccountResponse:
        await self.core.accounts.delete_account(await caller(self.core, context), request.name)
        return pb.DeleteWorkerAccountResponse()

    @unary
    async def IssueWorkerAccountToken(
        self, request: pb.IssueWorkerAccountTokenRequest, context: Ctx
    ) -> pb.IssueWorkerAccountTokenResponse:
        principal = await caller(self.core, context)
        account, token = await self.core.accounts.issue_account_token(
            principal,
            request.worker,
            convert.seconds_of(request.grace_period, "grace_period"),
            convert.seconds_of(request.token_ttl, "token_ttl"),
        )
        return pb.IssueWorkerAccountTokenResponse(worker_account=account_message(account), token=token)

    @unary
    async def RevokeWorkerAccountToken(
        self, request: pb.RevokeWorkerAccountTokenRequest, context: Ctx
    ) -> pb.RevokeWorkerAccountTokenResponse:
        account = await self.core.accounts.revoke_account_tokens(
            await caller(self.core, context), request.worker
        )
        return pb.RevokeWorkerAccountTokenResponse(worker_account=account_message(account))

    @unary
    async def GetWorkerAccountHistory(
        self, request: pb.GetWorkerAccountHistoryRequest, context: Ctx
    ) -> pb.GetWorkerAccountHistoryResponse:
        history = await self.core.accounts.account_history(
            await caller(self.core, context), request.worker, request.page_size, request.page_token
        )
        out = pb.GetWorkerAccountHistoryResponse()
        history_into(history, out, own=False)
        for point in history.trend:
            out.trend.add(
                week_start=convert.timestamp(point.week_start),
                gold_answered=point.gold_answered,
                gold_correct=point.gold_correct,
                gold_accuracy=point.gold_accuracy,
            )
        return out

    @unary
    async def CreateTeam(self, request: pb.CreateTeamRequest, context: Ctx) -> pb.CreateTeamResponse:
        principal = await caller(self.core, context)
        if not request.HasField("team"):
            raise InvalidArgument("team is required", "team")
        team = await self.core.accounts.create_team(
            principal, request.team.display_name, request.team.description
        )
        return pb.CreateTeamResponse(team=team_message(team))

    @unary
    async def GetTeam(self, request: pb.GetTeamRequest, context: Ctx) -> pb.GetTeamResponse:
        team = await self.core.accounts.get_team(await caller(self.core, context), request.name)
        return pb.GetTeamResponse(team=team_message(team))

    @unary
    async def ListTeams(self, request: pb.ListTeamsRequest, context: Ctx) -> pb.ListTeamsResponse:
        teams, token = await self.core.accounts.list_teams(
            await caller(self.core, context), request.page_size, request.page_token
        )
        return pb.ListTeamsResponse(teams=[team_message(t) for t in teams], next_page_token=token)

    @unary
    async def DeleteTeam(self, request: pb.DeleteTeamRequest, context: Ctx) -> pb.DeleteTeamResponse:
        await self.core.accounts.delete_team(await caller(self.core, context), request.name)
        return pb.DeleteTeamResponse()

    @unary
    async def AddTeamMember(self, request: pb.AddTeamMemberRequest, context: Ctx) -> pb.AddTeamMemberResponse:
        team = await self.core.accounts.add_member(
            await caller(self.core, context), request.team, request.worker
        )
        return pb.AddTeamMemberResponse(team=team_message(team))

    @unary
    async def RemoveTeamMember(
        self, request: pb.RemoveTeamMemberRequest, context: Ctx
    ) -> pb.RemoveTeamMemberResponse:
        team = await self.core.accounts.remove_member(
            await caller(self.core, context), request.team, request.worker
        )
        return pb.RemoveTeamMemberResponse(team=team_message(team))
