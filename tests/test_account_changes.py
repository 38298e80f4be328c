"""What an owner changes after the fact: a worker account's name, the account
itself (deleted), and the teams a running job names, each taking effect on
the worker's leases and calls at once, and only within the owner's tenancy."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import field_mask_pb2

from labelwire.client.raw import WorkerAccountClient, classification
from labelwire.server.core.account_records import weekly_trend
from labelwire.v1 import account_pb2, team_service_pb2
from tests.conftest import Clock, Harness
from tests.helpers import work
from tests.test_accounts import refusal, signed_in, team_job

DENIED = grpc.StatusCode.PERMISSION_DENIED
NOT_FOUND = grpc.StatusCode.NOT_FOUND
INVALID = grpc.StatusCode.INVALID_ARGUMENT
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


async def test_renaming_an_account_renames_it_on_every_job_it_worked_on(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    first, second = await team_job(lw, [team], items=1), await team_job(lw, [team], items=1)
    worker, token = await signed_in(lw, "Ana", [team])
    async with WorkerAccountClient(server.target, token) as me:
        for job in (first, second):
            async with me.for_job(job) as here:
                task = (await here.next_task()).task
                await here.submit(task.name, classification(task.text.split(":")[1]))
    renamed = await lw.rename_worker_account(worker, "Ana Lima")
    records = [(await lw.list_workers(job))[0] for job in (first, second)]
    assert renamed.display_name == "Ana Lima" and renamed.name == worker
    assert (await lw.get_worker_account(worker)).display_name == "Ana Lima"
    assert [(r.display_name, r.judgments) for r in records] == [("Ana Lima", 1), ("Ana Lima", 1)]
    await lw.close()


async def test_a_rename_names_the_field_it_refuses(server: Harness) -> None:
    lw = await server.client()
    worker = (await lw.create_worker_account("Ana")).name

    def update(display_name: str, paths: list[str]) -> team_service_pb2.UpdateWorkerAccountRequest:
        return team_service_pb2.UpdateWorkerAccountRequest(
            worker_account=account_pb2.WorkerAccount(name=worker, display_name=display_name),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
        )

    refused = [
        await refusal(lw.team_service.UpdateWorkerAccount(request, metadata=lw.metadata))
        for request in (
            update("B", []),
            update("B", ["owner"]),
            update("", ["display_name"]),
            update("x" * 201, ["display_name"]),
        )
    ]
    assert [code for code, _ in refused] == [INVALID] * 4
    assert "update_mask" in refused[0][1] and "update_mask.paths[0]" in refused[1][1]
    assert "display_name" in refused[2][1] and "200" in refused[3][1]
    assert (await lw.get_worker_account(worker)).display_name == "Ana"
    await lw.close()


async def test_deleting_an_account_ends_its_token_and_leases_and_keeps_its_judgments(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    job = await team_job(lw, [team], items=2)
    worker, token = await signed_in(lw, "Ana", [team])
    async with WorkerAccountClient(server.target, token) as me, me.for_job(job) as here:
        task = (await here.next_task()).task
        await here.submit(task.name, classification(task.text.split(":")[1]))
        held = (await here.next_task()).task.name
        before = (await lw.get_job(job)).counters.in_progress_items
        await lw.delete_worker_account(worker)
        after = (await lw.get_job(job)).counters
        next_code, _ = await refusal(here.next_task())
        submit_code, _ = await refusal(here.submit(held, classification("pos")))
    (record,) = await lw.list_workers(job)
    gone, _ = await refusal(lw.get_worker_account(worker))
    again, _ = await refusal(lw.delete_worker_account(worker))
    assert before == 1 and after.in_progress_items == 0 and after.labeled_items == 1
    assert next_code == submit_code == UNAUTHENTICATED
    assert record.judgments == 1 and record.display_name == "Ana"
    assert gone == again == NOT_FOUND
    assert [a.name for a in await lw.list_worker_accounts()] == []
    assert (await lw.get_team(team)).worker_count == 0
    await lw.close()


async def test_changing_a_running_jobs_teams_gives_the_job_to_one_and_takes_it_from_another(
    server: Harness,
) -> None:
    lw = await server.client()
    red, blue = (await lw.create_team("red")).name, (await lw.create_team("blue")).name
    job = await team_job(lw, [red], items=2)
    reds, red_token = await signed_in(lw, "Ana", [red])
    _, blue_token = await signed_in(lw, "Bo", [blue])
    async with (
        WorkerAccountClient(server.target, red_token) as ana,
        WorkerAccountClient(server.target, blue_token) as bo,
        ana.for_job(job) as ana_here,
        bo.for_job(job) as bo_here,
    ):
        held = (await ana_here.next_task()).task.name
        bo_before = ([j.job for j in await bo.list_jobs()], (await refusal(bo_here.next_task()))[0])
        changed = await lw.set_job_teams(job, [blue])
        ana_code, ana_message = await refusal(ana_here.submit(held, classification("pos")))
        bo_after = ([j.job for j in await bo.list_jobs()], [j.job for j in await ana.list_jobs()])
        bo_task = await bo_here.next_task()
    assert bo_before == ([], DENIED)
    assert list(changed.workforce.teams) == [blue] and list((await lw.get_job(job)).workforce.teams) == [blue]
    assert ana_code == DENIED and reds in ana_message
    assert bo_after == ([job], [])
    assert bo_task.HasField("task")  # Ana's lease went back to the queue with the change
    assert (await lw.get_job(job)).counters.in_progress_items == 1
    await lw.close()


async def test_a_jobs_teams_are_refused_when_bad_foreign_or_the_job_has_ended(server: Harness) -> None:
    lw, other = await server.client(), await server.client("other")
    team = (await lw.create_team("crowd")).name
    theirs = (await other.create_team("theirs")).name
    job = await team_job(lw, [team], items=1)
    ended = await team_job(lw, [team], items=1)
    await lw.cancel_job(ended)
    refused = {
        "unknown team": await refusal(lw.set_job_teams(job, ["teams/999999"])),
        "another client's team": await refusal(lw.set_job_teams(job, [theirs])),
        "repeated": await refusal(lw.set_job_teams(job, [team, team])),
        "too many": await refusal(lw.set_job_teams(job, [team] + [f"teams/{n}" for n in range(1, 21)])),
        "ended": await refusal(lw.set_job_teams(ended, [])),
        "another client's job": await refusal(other.set_job_teams(job, [theirs])),
    }
    codes = {reason: code for reason, (code, _) in refused.items()}
    assert codes == {
        "unknown team": NOT_FOUND,
        "another client's team": NOT_FOUND,
        "repeated": INVALID,
        "too many": INVALID,
        "ended": PRECONDITION,
        "another client's job": NOT_FOUND,
    }
    assert "teams[0]" in refused["unknown team"][1] and "teams[1]" in refused["repeated"][1]
    assert "20" in refused["too many"][1]
    assert list((await lw.get_job(job)).workforce.teams) == [team]
    await lw.close()
    await other.close()


async def test_clients_never_rename_or_delete_each_others_accounts(server: Harness) -> None:
    a, b = await server.client("a"), await server.client("b")
    team = (await a.create_team("a's")).name
    worker, _ = await signed_in(a, "Ana", [team])
    got = [
        (await refusal(b.rename_worker_account(worker, "Mallory")))[0],
        (await refusal(b.delete_worker_account(worker)))[0],
    ]
    still = await a.get_worker_account(worker)
    assert got == [NOT_FOUND, NOT_FOUND]
    assert (still.display_name, list(still.teams)) == ("Ana", [team])
    await a.close()
    await b.close()


async def test_the_owner_sees_an_accounts_gold_accuracy_week_by_week_across_jobs(
    server: Harness, clock: Clock
) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    first = await team_job(lw, [team], items=1, gold=2, quiz_size=2)
    second = await team_job(lw, [team], items=1, gold=2, quiz_size=2)
    worker, token = await signed_in(lw, "Ana", [team])
    async with WorkerAccountClient(server.target, token) as me:
        async with me.for_job(first) as here:
            await work(here, limit=2)  # the quiz, right
        clock.advance(7 * 86400)
        async with me.for_job(second) as there:
            await work(there, right=False)  # the quiz, wrong: no more work there
    trend = list((await lw.worker_account_history(worker)).trend)
    starts = [datetime.fromtimestamp(p.week_start.seconds, UTC) for p in trend]
    assert [(p.gold_answered, p.gold_correct, p.gold_accuracy) for p in trend] == [(2, 2, 1.0), (2, 0, 0.0)]
    assert [(s.weekday(), s.hour, s.minute) for s in starts] == [(0, 0, 0), (0, 0, 0)]
    assert starts[1] - starts[0] == timedelta(days=7)
    assert starts[0].timestamp() <= time.time() < starts[0].timestamp() + 7 * 86400
    await lw.close()


def test_a_trend_week_starts_on_monday_at_midnight_utc_and_keeps_the_last_104_weeks() -> None:
    monday = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
    points = weekly_trend([(monday - 1, True), (monday, False), (monday + 7 * 86400 - 1, True)])
    many = weekly_trend([(monday + week * 7 * 86400, True) for week in range(110)])
    assert [(p.week_start, p.gold_answered, p.gold_correct) for p in points] == [
        (monday - 7 * 86400, 1, 1),
        (monday, 2, 1),
    ]
    assert len(many) == 104 and many[0].week_start == monday + 6 * 7 * 86400
