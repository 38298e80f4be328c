"""Worker accounts and teams, over a real port: an account signs in once and
works on exactly the jobs its teams are named on, each job with its own quiz
and record; removal from a team takes its leases there at once; clients never
see each other's teams or accounts; per-job worker tokens work as before."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import (
    AdminClient,
    Client,
    WorkerAccountClient,
    WorkerClient,
    classification,
    text_item,
)
from labelwire.server.transport.app import start_server
from labelwire.v1 import account_pb2, task_pb2, team_service_pb2, worker_service_pb2
from tests.authorization_calls import call, world_of
from tests.authorization_matrix import MATRIX, METHODS
from tests.conftest import ADMIN_KEY, Clock, Harness
from tests.helpers import CLASSES, work

OK = grpc.StatusCode.OK
DENIED = grpc.StatusCode.PERMISSION_DENIED
NOT_FOUND = grpc.StatusCode.NOT_FOUND
INVALID = grpc.StatusCode.INVALID_ARGUMENT
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
S = account_pb2


async def refusal(call: Awaitable[object]) -> tuple[grpc.StatusCode | None, str]:
    """The status a call ends with and its message; (None, "") when it succeeds."""
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return err.code(), err.details() or ""
    return None, ""


async def team_job(
    lw: Client, teams: list[str], *, items: int = 2, gold: int = 0, quiz_size: int = 0, start: bool = True
) -> str:
    """A text job naming `teams`, whose item `i<n>` has truth CLASSES[n % 3] in its text."""
    job = await lw.create_job(
        "Sentiment",
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=quiz_size,
        hidden_gold_share=0,
        teams=teams,
    )
    batch = [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(items)]
    batch += [text_item(f"g{n}", f"truth:{CLASSES[n % 3]}", gold=CLASSES[n % 3]) for n in range(gold)]
    await lw.add_items(job.name, batch)
    if start:
        await lw.start_job(job.name)
    return job.name


async def signed_in(lw: Client, name: str, teams: list[str]) -> tuple[str, str]:
    """A new worker account in `teams`: its name and its sign-in token."""
    account = await lw.create_worker_account(name)
    for team in teams:
        await lw.add_team_member(team, account.name)
    return account.name, await lw.issue_worker_account_token(account.name)


async def test_a_worker_in_two_teams_sees_exactly_the_jobs_of_those_teams(server: Harness) -> None:
    lw = await server.client()
    red, blue, green = [(await lw.create_team(n)).name for n in ("red", "blue", "green")]
    on_red = await team_job(lw, [red])
    on_blue = await team_job(lw, [blue])
    on_both = await team_job(lw, [red, green])
    on_green = await team_job(lw, [green])
    on_none = await team_job(lw, [])
    await team_job(lw, [red], start=False)  # a draft is not shown to workers
    elsewhere = await server.client("elsewhere")
    theirs = await team_job(elsewhere, [(await elsewhere.create_team("red")).name])
    _, token = await signed_in(lw, "Ana", [red, blue])
    async with WorkerAccountClient(server.target, token) as me:
        listed = await me.list_jobs()
        async with me.for_job(on_green) as green_work, me.for_job(on_none) as none_work:
            refused = [await refusal(green_work.next_task()), await refusal(none_work.next_task())]
        async with me.for_job(theirs) as their_work:
            hidden = await refusal(their_work.next_task())
        async with me.for_job(on_both) as both_work:
            leased = await both_work.next_task()
    assert sorted(j.job for j in listed) == sorted([on_red, on_blue, on_both])
    assert {j.status for j in listed} == {S.WORKER_JOB_STATUS_NOT_STARTED}
    assert [code for code, _ in refused] == [DENIED, DENIED]
    assert on_green in refused[0][1] and on_none in refused[1][1]
    assert hidden[0] == NOT_FOUND
    assert leased.HasField("task") and leased.task.name.startswith(on_both + "/tasks/")
    await lw.close()
    await elsewhere.close()


async def test_an_account_works_a_job_through_to_its_labels(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    job = await team_job(lw, [team], items=3)
    worker, token = await signed_in(lw, "Ana", [team])
    async with WorkerAccountClient(server.target, token) as me, me.for_job(job) as work_client:
        done = await work(work_client)
        stats = await work_client.stats()
        instructions = await work_client.instructions()
    finished = await lw.get_job(job)
    (record,) = await lw.list_workers(job)
    assert done == 3 and finished.counters.labeled_items == 3 and instructions.job == job
    assert stats.name == record.name and stats.judgments == 3 and record.account == worker
    assert finished.workforce.teams == [team]
    await lw.close()


async def test_removing_a_worker_from_a_team_releases_its_leases_and_refuses_it_there(
    server: Harness,
) -> None:
    lw = await server.client()
    team, other_team = (await lw.create_team("a")).name, (await lw.create_team("b")).name
    job = await team_job(lw, [team], items=1)
    kept_job = await team_job(lw, [other_team], items=1)
    worker, token = await signed_in(lw, "Ana", [team, other_team])
    async with WorkerAccountClient(server.target, token) as me:
        async with me.for_job(job) as here, me.for_job(kept_job) as there:
            held = (await here.next_task()).task.name
            kept = (await there.next_task()).task.name
            before = (await lw.get_job(job)).counters.in_progress_items
            await lw.remove_team_member(team, worker)
            after = (await lw.get_job(job)).counters
            next_code, next_message = await refusal(here.next_task())
            submit_code, _ = await refusal(here.submit(held, classification("pos")))
            kept_submit = await there.submit(kept, classification("pos"))
        listed = [j.job for j in await me.list_jobs()]
    _, per_job_token = await lw.create_worker(job, "someone else")
    async with WorkerClient(server.target, per_job_token) as other:
        freed = await other.next_task()
    assert before == 1 and after.in_progress_items == 0 and after.unlabeled_items == 1
    assert next_code == DENIED and job in next_message and worker in next_message
    assert submit_code == DENIED
    assert kept_submit.task == kept and listed == [kept_job]
    assert freed.HasField("task")
    await lw.close()


async def test_a_lease_stays_when_another_team_still_names_the_job(server: Harness) -> None:
    lw = await server.client()
    a, b = (await lw.create_team("a")).name, (await lw.create_team("b")).name
    job = await team_job(lw, [a, b], items=1)
    worker, token = await signed_in(lw, "Ana", [a, b])
    async with WorkerAccountClient(server.target, token) as me, me.for_job(job) as here:
        held = (await here.next_task()).task.name
        await lw.remove_team_member(a, worker)
        submitted = await here.submit(held, classification("pos"))
    assert submitted.task == held
    await lw.close()


async def test_qualification_on_one_job_does_not_carry_to_another(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    passed = await team_job(lw, [team], items=2, gold=2, quiz_size=2)
    failed = await team_job(lw, [team], items=2, gold=2, quiz_size=2)
    untouched = await team_job(lw, [team], items=2, gold=2, quiz_size=2)
    worker, token = await signed_in(lw, "Ana", [team])
    async with WorkerAccountClient(server.target, token) as me:
        async with me.for_job(passed) as first:
            await work(first, limit=2)
            first_stats = await first.stats()
        async with me.for_job(failed) as second:
            opening = await second.next_task()
            await work(second, right=False)
            second_stats = await second.stats()
        statuses = {j.job: j.status for j in await me.list_jobs()}
        own = await me.history()
    history = await lw.worker_account_history(worker)
    assert first_stats.status == task_pb2.WORKER_STATUS_QUALIFIED
    assert opening.task.phase == task_pb2.TASK_PHASE_QUIZ
    assert second_stats.status == task_pb2.WORKER_STATUS_FAILED_QUIZ
    assert statuses == {
        passed: S.WORKER_JOB_STATUS_QUALIFIED,
        failed: S.WORKER_JOB_STATUS_FAILED_QUIZ,
        untouched: S.WORKER_JOB_STATUS_NOT_STARTED,
    }
    assert [r.job for r in history.jobs] == [passed, failed] and [r.job for r in own.jobs] == [passed, failed]
    assert (
        history.totals.jobs == 2
        and history.totals.qualified_jobs == 1
        and history.totals.disqualified_jobs == 1
    )
    assert history.totals.gold_answered == 4 and history.totals.gold_correct == 2
    assert history.jobs[0].stats.gold_accuracy == 1.0 and history.jobs[1].stats.gold_accuracy == 0.0
    assert history.totals.judgments == own.totals.judgments == 4
    await lw.close()


async def test_the_worker_sees_its_quiz_alone_where_the_owner_sees_hidden_gold(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    job = await lw.create_job(
        "Gate", classes=CLASSES, judgments_per_item=1, quiz_size=1, hidden_gold_share=0.5, teams=[team]
    )
    await lw.add_items(
        job.name,
        [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(6)]
        + [text_item(f"g{n}", f"truth:{CLASSES[n % 3]}", gold=CLASSES[n % 3]) for n in range(8)],
    )
    await lw.start_job(job.name)
    worker, token = await signed_in(lw, "Ana", [team])
    async with WorkerAccountClient(server.target, token) as me:
        async with me.for_job(job.name) as work_client:
            await work(work_client)
        own = await me.history()
    owners = await lw.worker_account_history(worker)
    (mine,), (theirs,) = own.jobs, owners.jobs
    assert mine.stats.gold_answered == 1 and theirs.stats.gold_answered > 1
    assert own.totals.gold_answered == 1 and owners.totals.gold_answered == theirs.stats.gold_answered
    assert mine.estimated_skill == 0.0 and theirs.estimated_skill > 0.0
    assert mine.median_time_seconds == theirs.median_time_seconds
    await lw.close()


async def test_clients_never_see_or_change_each_others_teams_and_accounts(server: Harness) -> None:
    a, b = await server.client("a"), await server.client("b")
    team = (await a.create_team("a's")).name
    worker, _ = await signed_in(a, "Ana", [team])
    b_worker = (await b.create_worker_account("Bo")).name
    b_team = (await b.create_team("b's")).name
    calls = {
        "GetTeam": b.get_team(team),
        "DeleteTeam": b.delete_team(team),
        "AddTeamMember": b.add_team_member(team, b_worker),
        "RemoveTeamMember": b.remove_team_member(team, worker),
        "AddOthersWorker": b.add_team_member(b_team, worker),
        "GetWorkerAccount": b.get_worker_account(worker),
        "IssueToken": b.issue_worker_account_token(worker),
        "RevokeToken": b.revoke_worker_account_token(worker),
        "History": b.worker_account_history(worker),
        "ListMembers": b.list_worker_accounts(team=team),
        "JobNamingIt": b.create_job("J", classes=CLASSES, teams=[team]),
    }
    got = {name: (await refusal(call))[0] for name, call in calls.items()}
    b_sees = ([t.name for t in await b.list_teams()], [w.name for w in await b.list_worker_accounts()])
    still = await a.get_team(team)
    assert got == dict.fromkeys(calls, NOT_FOUND)
    assert b_sees == ([b_team], [b_worker])
    assert still.worker_count == 1 and [j async for j in b.list_jobs()] == []
    await a.close()
    await b.close()


async def test_the_admin_key_reads_every_clients_teams_and_accounts_and_changes_none(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    worker, _ = await signed_in(lw, "Ana", [team])
    async with Client(server.target, ADMIN_KEY) as admin:
        seen = (await admin.get_team(team), await admin.get_worker_account(worker), await admin.list_teams())
        history = await admin.worker_account_history(worker)
        refused = [
            (await refusal(admin.create_team("x")))[0],
            (await refusal(admin.remove_team_member(team, worker)))[0],
            (await refusal(admin.issue_worker_account_token(worker)))[0],
        ]
    assert seen[0].name == team and seen[1].teams == [team] and [t.name for t in seen[2]] == [team]
    assert history.worker == worker and refused == [DENIED, DENIED, DENIED]
    await lw.close()


async def test_a_revoked_account_token_fails_at_once_here_and_within_the_cache_on_another_replica(
    tmp_path: Path, clock: Clock
) -> None:
    database = str(tmp_path / "shared.db")
    a = await start_server(
        address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock, credential_cache_seconds=4
    )
    b = await start_server(
        address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock, credential_cache_seconds=4
    )
    on_a, on_b = f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"
    try:
        async with AdminClient(on_a, ADMIN_KEY) as admin:
            lw = Client(on_a, await admin.create_api_key("owner"))
        team = (await lw.create_team("crowd")).name
        worker, token = await signed_in(lw, "Ana", [team])
        async with WorkerAccountClient(on_a, token) as me_a, WorkerAccountClient(on_b, token) as me_b:
            works_before = (await refusal(me_a.list_jobs()))[0], (await refusal(me_b.list_jobs()))[0]
            account = await lw.revoke_worker_account_token(worker)
            here = (await refusal(me_a.list_jobs()))[0]
            clock.advance(4.5)
            there = (await refusal(me_b.list_jobs()))[0]
        await lw.close()
    finally:
        await a.stop(grace=None)
        await b.stop(grace=None)
    assert works_before == (None, None) and account.active_tokens == 0
    assert here == UNAUTHENTICATED and there == UNAUTHENTICATED


async def test_a_new_token_replaces_the_old_one_unless_a_grace_period_is_given(
    server: Harness, clock: Clock
) -> None:
    lw = await server.client()
    worker = (await lw.create_worker_account("Ana")).name
    first = await lw.issue_worker_account_token(worker)
    second = await lw.issue_worker_account_token(worker, grace_period=60)
    third = await lw.issue_worker_account_token(worker)
    works = []
    for token in (first, second, third):
        async with WorkerAccountClient(server.target, token) as me:
            works.append((await refusal(me.list_jobs()))[0] is None)
    assert works == [False, False, True]
    assert (await lw.get_worker_account(worker)).active_tokens == 1
    await lw.close()


async def test_per_job_worker_tokens_work_as_before_beside_accounts(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    job = await team_job(lw, [team], items=2)
    elsewhere = await team_job(lw, [], items=1)
    record, token = await lw.create_worker(job, "per-job")
    async with WorkerClient(server.target, token) as w:
        done = await work(w)
        listed = await w.stub.ListWorkerJobs(worker_service_pb2.ListWorkerJobsRequest(), metadata=w.metadata)
        history = await w.stub.GetWorkerHistory(
            worker_service_pb2.GetWorkerHistoryRequest(), metadata=w.metadata
        )
    async with WorkerClient(server.target, token, job=elsewhere) as wrong:
        code, message = await refusal(wrong.next_task())
    assert done == 2 and [j.job for j in listed.jobs] == [job] and listed.jobs[0].worker.judgments == 2
    assert history.worker == record.name and history.totals.judgments == 2
    assert code == DENIED and job in message
    await lw.close()


async def test_an_accounts_job_record_gets_no_per_job_token(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    job = await team_job(lw, [team], items=1)
    _, token = await signed_in(lw, "Ana", [team])
    async with WorkerAccountClient(server.target, token) as me, me.for_job(job) as here:
        await here.next_task()
    (record,) = await lw.list_workers(job)
    code, message = await refusal(lw.rotate_worker_token(record.name))
    assert code == PRECONDITION and "IssueWorkerAccountToken" in message
    await lw.close()


async def test_a_team_named_by_a_running_job_cannot_be_deleted(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    job = await team_job(lw, [team])
    worker, token = await signed_in(lw, "Ana", [team])
    code, message = await refusal(lw.delete_team(team))
    await lw.cancel_job(job)
    await lw.delete_team(team)
    async with WorkerAccountClient(server.target, token) as me:
        listed = await me.list_jobs()
    account = await lw.get_worker_account(worker)
    assert code == PRECONDITION and job in message
    assert listed == [] and list(account.teams) == [] and await lw.list_teams() == []
    await lw.close()


@pytest.mark.parametrize(
    ("teams", "workforce", "code", "field"),
    [
        (["teams/x"], "", INVALID, "job.workforce.teams[0]"),
        (["teams/1", "teams/1"], "", INVALID, "job.workforce.teams[1]"),
        ([f"teams/{n}" for n in range(21)], "", INVALID, "job.workforce.teams"),
        (["teams/1"], "mturk", INVALID, "job.workforce.teams"),
        (["teams/999"], "", NOT_FOUND, ""),
    ],
)
async def test_a_job_naming_bad_teams_is_refused_and_nothing_is_created(
    server: Harness, teams: list[str], workforce: str, code: grpc.StatusCode, field: str
) -> None:
    lw = await server.client()
    await lw.create_team("crowd")
    got, message = await refusal(lw.create_job("J", classes=CLASSES, teams=teams, workforce=workforce))
    assert got == code and (field in message if field else "teams/999" in message)
    assert [j async for j in lw.list_jobs()] == []
    await lw.close()


async def test_bad_account_and_team_requests_name_the_field(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    _, token = await signed_in(lw, "Ana", [team])
    stub = lw.team_service
    cases = [
        (stub.CreateTeam(team_service_pb2.CreateTeamRequest(), metadata=lw.metadata), "team"),
        (lw.create_team(""), "team.display_name"),
        (lw.create_team("t", description="d" * 1001), "team.description"),
        (lw.create_worker_account("a" * 201), "worker_account.display_name"),
        (lw.add_team_member(team, "jobs/1"), "worker"),
        (lw.add_team_member("teams/١", "workers/1"), "team"),
        (lw.issue_worker_account_token("workers/1", grace_period=31 * 86400), "grace_period"),
        (lw.issue_worker_account_token("workers/1", token_ttl=5), "token_ttl"),
    ]
    got = [await refusal(call) for call, _ in cases]
    async with WorkerAccountClient(server.target, token) as me, me.for_job("") as no_job:
        missing = await refusal(no_job.next_task())
    assert [code for code, _ in got] == [INVALID] * len(cases)
    assert [field in message for (_, message), (_, field) in zip(got, cases, strict=True)] == [True] * len(
        cases
    )
    assert missing[0] == INVALID and "job is required" in missing[1]
    assert (await lw.get_team(team)).worker_count == 1 and len(await lw.list_teams()) == 1
    await lw.close()


async def test_team_members_and_pages_list_every_account_once(server: Harness) -> None:
    lw = await server.client()
    team = (await lw.create_team("crowd")).name
    names = [(await lw.create_worker_account(f"w{n}")).name for n in range(5)]
    for name in names[1:4]:
        await lw.add_team_member(team, name)
    await lw.add_team_member(team, names[1])  # again: no change
    page = await lw.team_service.ListWorkerAccounts(
        team_service_pb2.ListWorkerAccountsRequest(page_size=2), metadata=lw.metadata
    )
    members = [w.name for w in await lw.list_worker_accounts(team=team)]
    assert members == names[1:4] and (await lw.get_team(team)).worker_count == 3
    assert len(page.worker_accounts) == 2 and page.next_page_token
    assert [w.name for w in await lw.list_worker_accounts()] == names
    await lw.close()


def test_job_status_tracks_the_per_job_record() -> None:
    """The status a worker's job list shows, from its record and the job's state."""
    from labelwire.server.core.account_records import JobStatus, job_status
    from labelwire.server.domain.model import JobState, Worker, WorkerStatus

    def on(status: WorkerStatus) -> Worker:
        return Worker(id=1, job_id=1, display_name="w", status=status, quiz_remaining=0)

    assert job_status(JobState.RUNNING, None) == JobStatus.NOT_STARTED
    assert job_status(JobState.PAUSED, on(WorkerStatus.QUIZ)) == JobStatus.QUIZ
    assert job_status(JobState.RUNNING, on(WorkerStatus.DISQUALIFIED)) == JobStatus.DISQUALIFIED
    assert job_status(JobState.CANCELLED, on(WorkerStatus.QUALIFIED)) == JobStatus.JOB_ENDED
    assert job_status(JobState.COMPLETED, None) == JobStatus.JOB_ENDED


async def test_an_account_token_reaches_only_the_worker_calls(server: Harness, tmp_path: Path) -> None:
    """The authorization matrix's seventh caller: a worker account of the
    owner, in no team the matrix's job names. Every RPC of every service,
    with the matrix's own requests."""
    world, owner, other = await world_of(server, tmp_path)
    _, token = await signed_in(owner, "account", [world.team])
    worker_calls = {
        "WorkerService.ListWorkerJobs": OK,
        "WorkerService.GetWorkerHistory": OK,
        # the matrix's requests name no job, which an account token must
        "WorkerService.GetInstructions": INVALID,
        "WorkerService.NextTask": INVALID,
        "WorkerService.GetWorkerStats": INVALID,
    }
    got = {}
    async with grpc.aio.insecure_channel(server.target) as channel:
        for rpc in sorted(METHODS):
            got[rpc] = await call(channel, METHODS[rpc], MATRIX[rpc].request(world), token)
    await owner.close()
    await other.close()
    assert got == {rpc: worker_calls.get(rpc, DENIED) for rpc in METHODS}
