"""The owner's calls on worker accounts and teams: mixed into `AsyncClient`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from labelwire.client.aio.base import (
    _name,
    _translated,
    _translated_stream,
)
from labelwire.client.models import Team, WorkerAccount
from labelwire.client.pages import AsyncPages
from labelwire.client.raw import Client as RawClient
from labelwire.client.reports import WorkerHistory

T = TypeVar("T")


class TeamMethods:
    """Worker accounts and teams: people who work on many of your jobs with one sign-in."""

    raw: RawClient

    @_translated
    async def create_worker_account(self, display_name: str) -> WorkerAccount:
        """A worker who can work on every job of yours that names one of its teams,
        once it has a token (`issue_worker_account_token`)."""
        return WorkerAccount.from_proto(await self.raw.create_worker_account(display_name))

    @_translated
    async def get_worker_account(self, worker: WorkerAccount | str) -> WorkerAccount:
        """The account (`workers/{w}`) with its teams and how many tokens are active."""
        return WorkerAccount.from_proto(await self.raw.get_worker_account(_name(worker)))

    def worker_accounts(self, *, team: Team | str = "") -> AsyncPages[WorkerAccount]:
        """Your worker accounts, or one team's, oldest first."""

        async def each() -> AsyncIterator[WorkerAccount]:
            for account in await self.raw.list_worker_accounts(team=_name(team)):
                yield WorkerAccount.from_proto(account)

        columns = ("name", "display_name", "teams", "active_tokens")
        return AsyncPages(
            lambda: _translated_stream(each()), lambda a: {c: getattr(a, c) for c in columns}, columns
        )

    @_translated
    async def issue_worker_account_token(
        self, worker: WorkerAccount | str, *, grace_period: float = 0.0, token_ttl: float | None = None
    ) -> str:
        """A sign-in token for the account (shown only now); its other tokens work
        `grace_period` seconds more."""
        return await self.raw.issue_worker_account_token(
            _name(worker), grace_period=grace_period, token_ttl=token_ttl
        )

    @_translated
    async def rename_worker_account(self, worker: WorkerAccount | str, display_name: str) -> WorkerAccount:
        """Gives the account a new name, shown on every job it worked on too."""
        return WorkerAccount.from_proto(await self.raw.rename_worker_account(_name(worker), display_name))

    @_translated
    async def delete_worker_account(self, worker: WorkerAccount | str) -> None:
        """Deletes the account: its tokens stop working, it leaves its teams and its
        leases are released; its judgments and per-job records stay with the jobs."""
        await self.raw.delete_worker_account(_name(worker))

    @_translated
    async def revoke_worker_account_token(self, worker: WorkerAccount | str) -> WorkerAccount:
        """Every sign-in token of the account stops working at once."""
        return WorkerAccount.from_proto(await self.raw.revoke_worker_account_token(_name(worker)))

    @_translated
    async def worker_account_history(self, worker: WorkerAccount | str) -> WorkerHistory:
        """The account's record on every job of yours (`.to_pandas()`: one row per
        job), its totals and its weekly gold accuracy (`trend`)."""
        return WorkerHistory.from_proto(await self.raw.worker_account_history(_name(worker)))

    @_translated
    async def create_team(self, display_name: str, *, description: str = "") -> Team:
        """A new, empty team; name it on a job (`create_job(..., teams=[team.name])`)."""
        return Team.from_proto(await self.raw.create_team(display_name, description=description))

    @_translated
    async def get_team(self, team: Team | str) -> Team:
        """The team (`teams/{t}`) and how many accounts are in it."""
        return Team.from_proto(await self.raw.get_team(_name(team)))

    def teams(self) -> AsyncPages[Team]:
        """Your teams, oldest first."""

        async def each() -> AsyncIterator[Team]:
            for team in await self.raw.list_teams():
                yield Team.from_proto(team)

        columns = ("name", "display_name", "description", "worker_count")
        return AsyncPages(
            lambda: _translated_stream(each()), lambda t: {c: getattr(t, c) for c in columns}, columns
        )

    @_translated
    async def delete_team(self, team: Team | str) -> None:
        """Deletes the team; its accounts lose the jobs it gave them."""
        await self.raw.delete_team(_name(team))

    @_translated
    async def add_team_member(self, team: Team | str, worker: WorkerAccount | str) -> Team:
        """Puts the account in the team: it may work on the team's jobs."""
        return Team.from_proto(await self.raw.add_team_member(_name(team), _name(worker)))

    @_translated
    async def remove_team_member(self, team: Team | str, worker: WorkerAccount | str) -> Team:
        """Takes the account out of the team, and its leases on the team's jobs at once."""
        return Team.from_proto(await self.raw.remove_team_member(_name(team), _name(worker)))
