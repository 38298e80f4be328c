"""The owner's calls on worker accounts and teams (TeamService), mixed into `Client`.

async with Client(target, api_key) as lw:
    team = await lw.create_team("Annotators")
    ana = await lw.create_worker_account("Ana")
    await lw.add_team_member(team.name, ana.name)
    token = await lw.issue_worker_account_token(ana.name)   # Ana signs in with this
    job = await lw.create_job("Sentiment", classes=["pos", "neg"], teams=[team.name])
"""

from __future__ import annotations

from typing import Any

from google.protobuf import field_mask_pb2

from labelwire.client.raw.channel import _duration
from labelwire.v1 import account_pb2, team_service_pb2, team_service_pb2_grpc


class TeamCalls:
    """Needs `metadata` and a `team_service` stub from the client it is mixed into."""

    metadata: Any
    team_service: team_service_pb2_grpc.TeamServiceAsyncStub

    async def create_worker_account(self, display_name: str) -> account_pb2.WorkerAccount:
        """A worker who can work on every job of yours that names one of its
        teams, once it has a token (`issue_worker_account_token`)."""
        response = await self.team_service.CreateWorkerAccount(
            team_service_pb2.CreateWorkerAccountRequest(
                worker_account=account_pb2.WorkerAccount(display_name=display_name)
            ),
            metadata=self.metadata,
        )
        return response.worker_account

    async def get_worker_account(self, name: str) -> account_pb2.WorkerAccount:
        response = await self.team_service.GetWorkerAccount(
            team_service_pb2.GetWorkerAccountRequest(name=name), metadata=self.metadata
        )
        return response.worker_account

    async def list_worker_accounts(self, *, team: str = "") -> list[account_pb2.WorkerAccount]:
        """Your worker accounts, or one team's (`teams/{t}`), oldest first."""
        out: list[account_pb2.WorkerAccount] = []
        token = ""
        while True:
            page = await self.team_service.ListWorkerAccounts(
                team_service_pb2.ListWorkerAccountsRequest(team=team, page_token=token),
                metadata=self.metadata,
            )
            out += page.worker_accounts
            token = page.next_page_token
            if not token:
                return out

    async def issue_worker_account_token(
        self, worker: str, *, grace_period: float = 0.0, token_ttl: float | None = None
    ) -> str:
        """A sign-in token for the account (`workers/{w}`), shown only now;
        its other tokens work `grace_period` seconds more."""
        request = team_service_pb2.IssueWorkerAccountTokenRequest(worker=worker)
        request.grace_period.CopyFrom(_duration(grace_period))
        if token_ttl:
            request.token_ttl.CopyFrom(_duration(token_ttl))
        response = await self.team_service.IssueWorkerAccountToken(request, metadata=self.metadata)
        return response.token

    async def rename_worker_account(self, worker: str, display_name: str) -> account_pb2.WorkerAccount:
        """The account's new name, shown on every job it worked on too."""
        response = await self.team_service.UpdateWorkerAccount(
            team_service_pb2.UpdateWorkerAccountRequest(
                worker_account=account_pb2.WorkerAccount(name=worker, display_name=display_name),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            ),
            metadata=self.metadata,
        )
        return response.worker_account

    async def delete_worker_account(self, worker: str) -> None:
        """Its tokens stop working, it leaves its teams, its leases are
        released; its judgments and per-job records stay with the jobs."""
        await self.team_service.DeleteWorkerAccount(
            team_service_pb2.DeleteWorkerAccountRequest(name=worker), metadata=self.metadata
        )

    async def revoke_worker_account_token(self, worker: str) -> account_pb2.WorkerAccount:
        """Every sign-in token of the account stops working."""
        response = await self.team_service.RevokeWorkerAccountToken(
            team_service_pb2.RevokeWorkerAccountTokenRequest(worker=worker), metadata=self.metadata
        )
        return response.worker_account

    async def worker_account_history(self, worker: str) -> team_service_pb2.GetWorkerAccountHistoryResponse:
        """The account's record on every job (all pages in one response), its
        totals and its weekly gold accuracy (`trend`)."""
        merged = team_service_pb2.GetWorkerAccountHistoryResponse()
        token = ""
        while True:
            page = await self.team_service.GetWorkerAccountHistory(
                team_service_pb2.GetWorkerAccountHistoryRequest(worker=worker, page_token=token),
                metadata=self.metadata,
            )
            merged.worker = page.worker
            merged.jobs.extend(page.jobs)
            merged.totals.CopyFrom(page.totals)
            del merged.trend[:]
            merged.trend.extend(page.trend)
            token = page.next_page_token
            if not token:
                return merged

    async def create_team(self, display_name: str, *, description: str = "") -> account_pb2.Team:
        response = await self.team_service.CreateTeam(
            team_service_pb2.CreateTeamRequest(
                team=account_pb2.Team(display_name=display_name, description=description)
            ),
            metadata=self.metadata,
        )
        return response.team

    async def get_team(self, name: str) -> account_pb2.Team:
        response = await self.team_service.GetTeam(
            team_service_pb2.GetTeamRequest(name=name), metadata=self.metadata
        )
        return response.team

    async def list_teams(self) -> list[account_pb2.Team]:
        out: list[account_pb2.Team] = []
        token = ""
        while True:
            page = await self.team_service.ListTeams(
                team_service_pb2.ListTeamsRequest(page_token=token), metadata=self.metadata
            )
            out += page.teams
            token = page.next_page_token
            if not token:
                return out

    async def delete_team(self, name: str) -> None:
        await self.team_service.DeleteTeam(
            team_service_pb2.DeleteTeamRequest(name=name), metadata=self.metadata
        )

    async def add_team_member(self, team: str, worker: str) -> account_pb2.Team:
        response = await self.team_service.AddTeamMember(
            team_service_pb2.AddTeamMemberRequest(team=team, worker=worker), metadata=self.metadata
        )
        return response.team

    async def remove_team_member(self, team: str, worker: str) -> account_pb2.Team:
        """The account loses the team's jobs (unless another of its teams
        gives them), and its leases on them at once."""
        response = await self.team_service.RemoveTeamMember(
            team_service_pb2.RemoveTeamMemberRequest(team=team, worker=worker), metadata=self.metadata
        )
        return response.team
