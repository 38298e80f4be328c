"""Worker accounts and teams through the SDK, blocking and async: an account in
a team works on the team's job with its one sign-in token."""

from __future__ import annotations

import pytest

from labelwire.client import (
    AsyncClient,
    AsyncWorkerClient,
    Client,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    Team,
    Unauthenticated,
    WorkerAccount,
    WorkerClient,
)
from tests.sdk.conftest import Server

ITEMS = [{"key": "a", "text": "meow"}, {"key": "b", "text": "woof"}]


def test_an_account_works_on_its_teams_job(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        ana = lw.create_worker_account("Ana")
        team = lw.create_team("Annotators", description="in-house")
        assert isinstance(ana, WorkerAccount) and isinstance(team, Team) and team.description == "in-house"
        assert lw.add_team_member(team, ana).worker_count == 1
        assert lw.get_team(team.name).worker_count == 1
        assert lw.get_worker_account(ana).teams == (team.name,)
        assert [a.name for a in lw.worker_accounts(team=team)] == [ana.name]
        assert [t.name for t in lw.teams()] == [team.name]
        assert lw.teams().to_pandas().loc[0, "display_name"] == "Annotators"
        token = lw.issue_worker_account_token(ana, token_ttl=3600)
        assert token.startswith("lwa_") and lw.get_worker_account(ana).active_tokens == 1
        job = lw.create_job("team job", classes=["cat", "dog"], judgments=1, quiz_size=0, teams=[team.name])
        lw.add_items(job, ITEMS)
        lw.start_job(job)
        with WorkerClient(live.target, token, job=job.name) as me:
            task = me.next_task()
            assert task is not None
            me.submit(task, "cat")
        history = lw.worker_account_history(ana)
        [record] = history.jobs
        assert record.job == job.name and record.worker.judgments == 1 and history.totals["judgments"] == 1
        assert history.to_pandas().loc[0, "job"] == job.name and history.proto.jobs[0].stats.judgments == 1
        lw.remove_team_member(team, ana)
        with WorkerClient(live.target, token, job=job.name) as outside, pytest.raises(PermissionDenied):
            outside.next_task()
        assert lw.revoke_worker_account_token(ana).active_tokens == 0
        with WorkerClient(live.target, token, job=job.name) as revoked, pytest.raises(Unauthenticated):
            revoked.next_task()
        with pytest.raises(FailedPrecondition, match="not yet ended"):
            lw.delete_team(team)
        lw.cancel_job(job)
        lw.delete_team(team)
        with pytest.raises(NotFound):
            lw.get_team(team)


async def test_the_async_team_calls(live: Server, api_key: str) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        bo = await lw.create_worker_account("Bo")
        team = await lw.create_team("Night shift")
        await lw.add_team_member(team, bo)
        assert (await lw.get_team(team)).worker_count == 1
        assert (await lw.get_worker_account(bo.name)).display_name == "Bo"
        assert [a.name async for a in lw.worker_accounts()] == [bo.name]
        assert [t.name for t in await lw.teams().to_list()] == [team.name]
        token = await lw.issue_worker_account_token(bo)
        job = await lw.create_job(
            "night", classes=["cat", "dog"], judgments=1, quiz_size=0, teams=[team.name]
        )
        await lw.add_items(job, ITEMS)
        await lw.start_job(job)
        async with AsyncWorkerClient(live.target, token, job=job.name) as me:
            while (task := await me.next_task()) is not None:
                await me.submit(task, "dog")
        assert (await lw.worker_account_history(bo)).totals["judgments"] == 2
        assert (await lw.remove_team_member(team, bo)).worker_count == 0
        assert (await lw.revoke_worker_account_token(bo)).active_tokens == 0
        assert (await lw.get_job(job)).state == "completed"  # ended, so its team may go
        await lw.delete_team(team)
        assert await lw.teams().to_list() == []
