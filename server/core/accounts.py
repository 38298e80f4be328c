"""Worker accounts and teams: one worker across a client's jobs.

A worker account (`workers/{a}`) signs in with one token and works on every
job that names one of its teams (`teams/{t}`). Everything that decides about
work stays per job: the first time an account asks for a task of a job, it
gets its own row in that job's workers, linked to the account, and from then
on its calls on that job act as that row. So the dispatcher, the quiz and gold
gate and consolidation see an ordinary worker, and an account is qualified or
disqualified job by job.

Membership is checked in the transaction that leases (`require_member`, from
`WorkCore.next_task`), and removal from a team releases the leases it held in
the same transaction, so no account holds or gets a lease on a job it may no
longer work on.

This module is the client's side (accounts, tokens, teams, a job's teams);
the worker's side (acting as a job's worker row, its jobs and history) is
`account_work.py`, which `AccountsCore` builds on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from labelwire.server.core import auth
from labelwire.server.core.account_records import (
    Account,
    History,
    Team,
    weekly_trend,
)
from labelwire.server.core.account_work import AccountWorkService
from labelwire.server.core.base import (
    JobReads,
    checked_page_size,
    issue_credential,
    page_cursor,
    page_of,
    parse_name,
    require,
    retire_credentials,
)
from labelwire.server.core.credentials import CredentialsService
from labelwire.server.core.team_rules import (
    parse_teams,
    release_lost_leases,
)
from labelwire.server.domain import specs, validation
from labelwire.server.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from labelwire.server.domain.model import (
    ENDED,
    Job,
    JobState,
    Principal,
)
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows_callers import AccountRow, TeamRow

MAX_TEAMS_PER_ACCOUNT = 100
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
MAX_GRACE_SECONDS = 30 * 86400.0
# A team a job in one of these states names cannot be deleted.
_LIVE = (JobState.DRAFT, JobState.RUNNING, JobState.PAUSED)


@dataclasses.dataclass(eq=False, kw_only=True)
class AccountsService:
    """Worker accounts, their tokens, teams and a job's teams: the client's side."""

    store: Store
    reads: JobReads
    credentials: CredentialsService
    account_work: AccountWorkService
    clock: Callable[[], float]

    # reading what a caller may see

    @staticmethod
    def _reader(principal: Principal) -> int | None:
        """The client whose accounts and teams the caller sees; None for the
        admin key, which sees every client's (read-only)."""
        if principal.kind == "admin":
            return None
        require(principal, "client")
        return principal.id

    def _account_row(self, tx: Tx, owner_id: int | None, account_id: int) -> AccountRow:
        row = tx.account(account_id)
        if row is None or (owner_id is not None and int(row.owner_id) != owner_id):
            raise NotFound(f"workers/{account_id} does not exist")
        return row

    def _team_row(self, tx: Tx, owner_id: int | None, team_id: int) -> TeamRow:
        row = tx.team(team_id)
        if row is None or (owner_id is not None and int(row.owner_id) != owner_id):
            raise NotFound(f"teams/{team_id} does not exist")
        return row

    def _accounts(self, tx: Tx, rows: Sequence[AccountRow]) -> list[Account]:
        tokens = tx.live_account_tokens([r.id for r in rows], self.clock())
        return [
            Account(
                id=r.id,
                owner_id=r.owner_id,
                display_name=r.display_name,
                created_at=float(r.created_at),
                teams=tuple(tx.account_teams(r.id)),
                active_tokens=tokens.get(r.id, 0),
            )
            for r in rows
        ]

    @staticmethod
    def _teams(tx: Tx, rows: Sequence[TeamRow]) -> list[Team]:
        counts = tx.member_counts([r.id for r in rows])
        return [
            Team(
                id=r.id,
                owner_id=r.owner_id,
                display_name=r.display_name,
                description=r.description,
                created_at=float(r.created_at),
                worker_count=counts.get(r.id, 0),
            )
            for r in rows
        ]

    # worker accounts, the owner's side

    async def create_account(self, principal: Principal, display_name: str) -> Account:
        require(principal, "client")
        validation.check_text("worker_account.display_name", display_name, low=1, high=MAX_NAME_CHARS)
        now = self.clock()

        def create(tx: Tx) -> Account:
            account_id = tx.insert_account(principal.id, display_name, now)
            return self._accounts(tx, [self._account_row(tx, None, account_id)])[0]

        return await self.store.write(create)

    async def get_account(self, principal: Principal, name: str) -> Account:
        owner = self._reader(principal)
        account_id = parse_name(name, "workerAccounts", "name")
        return await self.store.read(
            lambda tx: self._accounts(tx, [self._account_row(tx, owner, account_id)])[0]
        )

    async def list_accounts(
        self, principal: Principal, team: str, page_size: int, page_token: str
    ) -> tuple[list[Account], str]:
        """The caller's accounts, or one team's members, oldest first."""
        owner = self._reader(principal)
        team_id = parse_name(team, "teams", "team") if team else None
        size = checked_page_size(page_size)
        after = page_cursor(page_token, default=0)

        def page(tx: Tx) -> list[Account]:
            if team_id is not None:
                self._team_row(tx, owner, team_id)
                rows = tx.team_members(team_id, after, size + 1)
            else:
                rows = tx.accounts_of(owner, after, size + 1)
            return self._accounts(tx, rows)

        accounts = await self.store.read(page)
        return page_of(accounts, size, lambda r: r.id)

    async def issue_account_token(
        self, principal: Principal, name: str, grace_seconds: float, ttl_seconds: float
    ) -> tuple[Account, str]:
        """A new sign-in token; the account's other tokens expire after the
        grace period (0: at once), as RotateWorkerToken does for a job's worker."""
        require(principal, "client")
        account_id = parse_name(name, "workerAccounts", "worker")
        validation.check_range("grace_period (seconds)", grace_seconds, 0, MAX_GRACE_SECONDS)
        expires = self.credentials.expiry(ttl_seconds, "token_ttl")
        now = self.clock()

        def issue(tx: Tx) -> tuple[Account, str, set[int]]:
            self._account_row(tx, principal.id, account_id)
            ids = retire_credentials(tx, auth.ACCOUNT_TOKEN, account_id, now, grace_seconds)
            _, token = issue_credential(tx, auth.ACCOUNT_TOKEN, account_id, now, expires)
            return self._accounts(tx, [self._account_row(tx, None, account_id)])[0], token, ids

        account, token, ids = await self.store.write(issue)
        self.credentials.forget_credentials(ids)
        return account, token

    async def revoke_account_tokens(self, principal: Principal, name: str) -> Account:
        """Every sign-in token of the account stops working; its leases run out as usual."""
        require(principal, "client")
        account_id = parse_name(name, "workerAccounts", "worker")
        now = self.clock()

        def revoke(tx: Tx) -> tuple[Account, set[int]]:
            self._account_row(tx, principal.id, account_id)
            ids = {c.id for c in tx.live_credentials_of(auth.ACCOUNT_TOKEN, account_id, now)}
            for credential_id in ids:
                tx.revoke_credential(credential_id, now)
            return self._accounts(tx, [self._account_row(tx, None, account_id)])[0], ids

        account, ids = await self.store.write(revoke)
        self.credentials.forget_credentials(ids)
        return account

    async def rename_account(self, principal: Principal, name: str, display_name: str) -> Account:
        """The account's new name, on the account and on its record in every job."""
        require(principal, "client")
        account_id = parse_name(name, "workerAccounts", "worker_account.name")
        validation.check_text("worker_account.display_name", display_name, low=1, high=MAX_NAME_CHARS)

        def rename(tx: Tx) -> Account:
            self._account_row(tx, principal.id, account_id)
            tx.rename_account(account_id, display_name)
            return self._accounts(tx, [self._account_row(tx, None, account_id)])[0]

        return await self.store.write(rename)

    async def delete_account(self, principal: Principal, name: str) -> None:
        """Tokens revoked, teams left and leases released in one transaction;
        the account's per-job records and judgments stay with the jobs."""
        require(principal, "client")
        account_id = parse_name(name, "workerAccounts", "name")
        now = self.clock()

        def delete(tx: Tx) -> set[int]:
            self._account_row(tx, principal.id, account_id)
            ids = {c.id for c in tx.live_credentials_of(auth.ACCOUNT_TOKEN, account_id, now)}
            for credential_id in ids:
                tx.revoke_credential(credential_id, now)
            jobs = tx.account_job_ids(account_id)
            tx.delete_account(account_id)
            release_lost_leases(tx, account_id, jobs, now)
            return ids

        self.credentials.forget_credentials(await self.store.write(delete))

    async def set_job_teams(self, principal: Principal, job: str, teams: Sequence[str]) -> Job:
        """Replaces a pool job's teams; the accounts that lose the job lose
        their leases on it in the same transaction."""
        require(principal, "client")
        job_id = parse_name(job, "jobs", "job")
        team_ids = parse_teams(teams, "teams")
        now = self.clock()

        def change(tx: Tx) -> None:
            row = self.reads.require_job_row(tx, job_id, principal.id)
            if row.state in ENDED:
                raise FailedPrecondition(f"jobs/{job_id} has ended; its teams can no longer change")
            spec = self.reads.spec_of_row(job_id, row)
            if spec.adapter != "pool":
                raise InvalidArgument(
                    f"teams are for pool jobs only; jobs/{job_id} uses {validation.quote(spec.adapter)}",
                    "teams",
                )
            for i, team_id in enumerate(team_ids):
                team = tx.team(team_id)
                if team is None or int(team.owner_id) != principal.id:
                    raise NotFound(f"teams[{i}]: teams/{team_id} does not exist")
            dropped = set(tx.job_team_ids(job_id)) - set(team_ids)
            tx.set_job_teams(job_id, team_ids)
            tx.set_job_spec(job_id, specs.to_json(dataclasses.replace(spec, teams=team_ids)))
            for team_id in dropped:
                for member in tx.team_members(team_id, 0, 2**62):
                    release_lost_leases(tx, int(member.id), [job_id], now)

        await self.store.write(change)
        self.reads.forget_spec(job_id)
        return await self.reads.read_job(job_id)

    async def account_history(
        self, principal: Principal, name: str, page_size: int, page_token: str
    ) -> History:
        owner = self._reader(principal)
        account_id = parse_name(name, "workerAccounts", "worker")
        size = checked_page_size(page_size)
        after = page_cursor(page_token, default=0)

        def read(tx: Tx) -> History:
            self._account_row(tx, owner, account_id)
            history = self.account_work.history(tx, account_id, None, own=False, size=size, after=after)
            trend = weekly_trend(
                [(float(r.created_at), bool(r.gold_correct)) for r in tx.account_gold_answers(account_id)]
            )
            return dataclasses.replace(history, trend=trend)

        return await self.store.read(read)

    # teams

    async def create_team(self, principal: Principal, display_name: str, description: str) -> Team:
        require(principal, "client")
        validation.check_text("team.display_name", display_name, low=1, high=MAX_NAME_CHARS)
        validation.check_text("team.description", description, low=0, high=MAX_DESCRIPTION_CHARS)
        now = self.clock()

        def create(tx: Tx) -> Team:
            team_id = tx.insert_team(principal.id, display_name, description, now)
            return self._teams(tx, [self._team_row(tx, None, team_id)])[0]

        return await self.store.write(create)

    async def get_team(self, principal: Principal, name: str) -> Team:
        owner = self._reader(principal)
        team_id = parse_name(name, "teams", "name")
        return await self.store.read(lambda tx: self._teams(tx, [self._team_row(tx, owner, team_id)])[0])

    async def list_teams(
        self, principal: Principal, page_size: int, page_token: str
    ) -> tuple[list[Team], str]:
        owner = self._reader(principal)
        size = checked_page_size(page_size)
        after = page_cursor(page_token, default=0)
        teams = await self.store.read(lambda tx: self._teams(tx, tx.teams_of(owner, after, size + 1)))
        return page_of(teams, size, lambda r: r.id)

    async def delete_team(self, principal: Principal, name: str) -> None:
        require(principal, "client")
        team_id = parse_name(name, "teams", "name")
        now = self.clock()

        def delete(tx: Tx) -> None:
            self._team_row(tx, principal.id, team_id)
            jobs = tx.jobs_naming(team_id)
            live = [f"jobs/{r.id}" for r in jobs if int(r.state) in _LIVE]
            if live:
                shown = ", ".join(live[:5]) + (f" and {len(live) - 5} more" if len(live) > 5 else "")
                raise FailedPrecondition(
                    f"teams/{team_id} is named by {shown}, not yet ended; cancel them or wait until they end"
                )
            members = [int(r.id) for r in tx.team_members(team_id, 0, 2**62)]
            tx.delete_team(team_id)
            for account_id in members:
                release_lost_leases(tx, account_id, [int(r.id) for r in jobs], now)

        await self.store.write(delete)

    async def add_member(self, principal: Principal, team: str, worker: str) -> Team:
        def add(tx: Tx, team_id: int, account_id: int, now: float) -> None:
            teams = tx.account_teams(account_id)
            if team_id not in teams:
                if len(teams) >= MAX_TEAMS_PER_ACCOUNT:
                    raise FailedPrecondition(
                        f"workers/{account_id} is in {len(teams)} teams, the most an account may be in;"
                        " remove it from one first"
                    )
                tx.add_member(team_id, account_id, now)

        return await self._change_membership(principal, team, worker, add)

    async def remove_member(self, principal: Principal, team: str, worker: str) -> Team:
        """The account loses the jobs no other of its teams gives it, and its
        leases on them, in the same transaction."""

        def remove(tx: Tx, team_id: int, account_id: int, now: float) -> None:
            if tx.remove_member(team_id, account_id):
                release_lost_leases(tx, account_id, [int(r.id) for r in tx.jobs_naming(team_id)], now)

        return await self._change_membership(principal, team, worker, remove)

    async def _change_membership(
        self, principal: Principal, team: str, worker: str, change: Callable[[Tx, int, int, float], None]
    ) -> Team:
        """`change(tx, team id, account id, now)` once both are known to be the caller's; the team after."""
        require(principal, "client")
        team_id = parse_name(team, "teams", "team")
        account_id = parse_name(worker, "workerAccounts", "worker")
        now = self.clock()

        def write(tx: Tx) -> Team:
            row = self._team_row(tx, principal.id, team_id)
            self._account_row(tx, principal.id, account_id)
            change(tx, team_id, account_id, now)
            return self._teams(tx, [row])[0]

        return await self.store.write(write)
