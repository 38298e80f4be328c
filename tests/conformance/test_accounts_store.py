"""The store operations of worker accounts and teams, on every store."""

from __future__ import annotations

import pytest

from labelwire.server.core import auth
from labelwire.server.domain.model import JobState, WorkerStatus
from labelwire.server.store import Store, Tx


def _client_with_jobs(tx: Tx, states: list[JobState]) -> tuple[int, list[int]]:
    client = tx.insert_client("c", b"h", 0.0)
    jobs = []
    for state in states:
        job_id = tx.insert_job(client, {"x": 1}, int(state), 0.0)
        jobs.append(job_id)
    return client, jobs


async def test_an_account_may_work_on_the_jobs_its_teams_are_named_on_past_their_draft(store: Store) -> None:
    def build(tx: Tx) -> tuple[int, list[int], list[int]]:
        client, jobs = _client_with_jobs(
            tx, [JobState.RUNNING, JobState.RUNNING, JobState.DRAFT, JobState.CANCELLED, JobState.RUNNING]
        )
        account = tx.insert_account(client, "Ana", 0.0)
        red, blue, green = (tx.insert_team(client, n, "", 0.0) for n in ("red", "blue", "green"))
        tx.add_member(red, account, 0.0)
        tx.add_member(blue, account, 0.0)
        tx.name_job_teams(jobs[0], [red])
        tx.name_job_teams(jobs[1], [green])
        tx.name_job_teams(jobs[2], [red])
        tx.name_job_teams(jobs[3], [blue, red])
        tx.name_job_teams(jobs[4], [green, blue])
        return account, jobs, [red, blue, green]

    account, jobs, _ = await store.write(build)

    def read(tx: Tx) -> tuple[list[bool], list[int], list[int]]:
        allowed = [tx.may_work(account, j) for j in jobs]
        listed = [int(r.id) for r in tx.jobs_of_account(account, 2**62, 100)]
        first_page = [int(r.id) for r in tx.jobs_of_account(account, jobs[4], 1)]
        return allowed, listed, first_page

    allowed, listed, first_page = await store.read(read)
    assert allowed == [True, False, True, True, True]
    assert listed == [jobs[4], jobs[3], jobs[0]]  # newest first, the draft left out, each once
    assert first_page == [jobs[3]]


async def test_membership_changes_say_whether_they_changed_anything(store: Store) -> None:
    def build(tx: Tx) -> tuple[list[bool], list[bool], dict[int, int], list[int], list[str], int, int]:
        client, _ = _client_with_jobs(tx, [])
        team, other = tx.insert_team(client, "t", "about", 0.0), tx.insert_team(client, "o", "", 0.0)
        a, b = tx.insert_account(client, "a", 0.0), tx.insert_account(client, "b", 0.0)
        added = [tx.add_member(team, a, 1.0), tx.add_member(team, a, 2.0), tx.add_member(team, b, 3.0)]
        tx.add_member(other, a, 4.0)
        removed = [tx.remove_member(team, b), tx.remove_member(team, b)]
        members = [r.display_name for r in tx.team_members(team, 0, 10)]
        return added, removed, tx.member_counts([team, other]), tx.account_teams(a), members, team, other

    added, removed, counts, teams_of_a, members, team, other = await store.write(build)
    assert added == [True, False, True] and removed == [True, False]
    assert counts == {team: 1, other: 1} and teams_of_a == [team, other] and members == ["a"]


async def test_a_deleted_team_takes_its_members_and_job_links_and_its_id_is_not_reused(store: Store) -> None:
    def build(tx: Tx) -> tuple[int, int, int]:
        client, (job,) = _client_with_jobs(tx, [JobState.RUNNING])
        account = tx.insert_account(client, "a", 0.0)
        team = tx.insert_team(client, "t", "", 0.0)
        tx.add_member(team, account, 0.0)
        tx.name_job_teams(job, [team])
        tx.delete_team(team)
        return account, job, team

    account, job, team = await store.write(build)
    newer = await store.write(lambda tx: tx.insert_team(1, "again", "", 0.0))

    def read(tx: Tx) -> tuple[object, list[int], bool, list[object]]:
        return tx.team(team), tx.account_teams(account), tx.may_work(account, job), tx.jobs_naming(team)

    assert await store.read(read) == (None, [], False, [])
    assert newer > team


async def test_an_account_has_one_worker_row_per_job_and_totals_over_them(store: Store) -> None:
    def build(tx: Tx) -> tuple[int, list[int]]:
        client, jobs = _client_with_jobs(tx, [JobState.RUNNING, JobState.RUNNING])
        account = tx.insert_account(client, "a", 0.0)
        rows = []
        for n, (job, status) in enumerate(
            zip(jobs, (WorkerStatus.QUALIFIED, WorkerStatus.DISQUALIFIED), strict=True)
        ):
            worker = tx.insert_worker(job, "a", None, int(status), 0, float(n))
            tx.update_worker(
                worker,
                account_id=account,
                judgments=3 + n,
                gold_answered=2,
                gold_correct=2 - n,
                quiz_answered=1,
                quiz_correct=1,
                last_active_at=10.0 + n,
            )
            rows.append(worker)
        tx.insert_worker(jobs[0], "not an account's", None, int(WorkerStatus.QUALIFIED), 0, 0.0)
        return account, rows

    account, rows = await store.write(build)

    def read(tx: Tx) -> tuple[list[int], dict[str, float], int | None]:
        totals = tx.account_totals(account)
        found = tx.account_worker(account, 1)
        return (
            [int(r.id) for r in tx.account_workers(account, 0, 10)],
            {
                k: float(getattr(totals, k))
                for k in ("jobs", "qualified", "disqualified", "judgments", "gold_correct")
            },
            None if found is None else int(found.id),
        )

    listed, totals, first = await store.read(read)
    assert listed == rows and first == rows[0]
    assert totals == {"jobs": 2, "qualified": 1, "disqualified": 1, "judgments": 7, "gold_correct": 3}

    def second_row(tx: Tx) -> None:
        worker = tx.insert_worker(1, "a", None, int(WorkerStatus.QUIZ), 1, 0.0)
        tx.update_worker(worker, account_id=account)

    with pytest.raises(Exception):  # noqa: B017 - the driver's unique violation
        await store.write(second_row)
    assert [int(r.id) for r in await store.read(lambda tx: tx.account_workers(account, 0, 10))] == rows


async def test_only_live_sign_in_tokens_of_an_account_are_counted(store: Store) -> None:
    def build(tx: Tx) -> tuple[int, int]:
        client, _ = _client_with_jobs(tx, [])
        account, other = tx.insert_account(client, "a", 0.0), tx.insert_account(client, "b", 0.0)
        live = tx.insert_credential(auth.ACCOUNT_TOKEN, account, b"s", 0.0, None)
        revoked = tx.insert_credential(auth.ACCOUNT_TOKEN, account, b"s", 0.0, None)
        tx.revoke_credential(revoked, 1.0)
        tx.insert_credential(auth.ACCOUNT_TOKEN, account, b"s", 0.0, 5.0)  # expired at 10
        tx.insert_credential(auth.WORKER_TOKEN, account, b"s", 0.0, None)  # a worker's, same owner id
        assert live
        return account, other

    account, other = await store.write(build)
    assert await store.read(lambda tx: tx.live_account_tokens([account, other], 10.0)) == {account: 1}
