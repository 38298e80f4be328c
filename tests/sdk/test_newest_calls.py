"""The SDK's calls for the newest server features, blocking and async, against
`labelwire serve` on a real port: worker accounts signing in on their own
client, teams set on a job, account rename and delete, model routing, the
verification report, judgments by instructions version, a task's lookahead
and add_items' progress callback."""

from __future__ import annotations

import asyncio

import pytest

from labelwire.client import (
    AdminClient,
    AsyncAdminClient,
    AsyncClient,
    AsyncWorkerAccountClient,
    Calibration,
    Client,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Task,
    Unauthenticated,
    VerificationReport,
    WorkerAccountClient,
    WorkerClient,
    WorkerJob,
)
from labelwire.v1 import answer_pb2
from tests.sdk.conftest import Server

ANIMALS = ["cat", "dog"]


def sounds(count: int) -> list[dict[str, object]]:
    return [{"key": f"k{i}", "text": "meow" if i % 2 else "woof"} for i in range(count)]


def animal(task: Task) -> str:
    return "cat" if "meow" in task.text else "dog"


def test_an_account_signs_in_on_its_own_client_and_works_a_job_given_to_its_team(
    live: Server, api_key: str
) -> None:
    sent: list[tuple[int, int | None]] = []
    with Client(live.target, api_key) as lw:
        team = lw.create_team("Reviewers")
        ana = lw.create_worker_account("Ana")
        lw.add_team_member(team, ana)
        token = lw.issue_worker_account_token(ana)
        job = lw.create_job("accounts", classes=ANIMALS, judgments=1, quiz_size=0)
        added = lw.add_items(
            job, sounds(5), per_message=2, progress=lambda done, total: sent.append((done, total))
        )
        assert added.added == 5 and sent == [(2, 5), (4, 5), (5, 5)]
        assert lw.set_job_teams(job, [team]).proto.workforce.teams == [team.name]
        lw.start_job(job)
        with WorkerAccountClient(live.target, token) as me:
            [offered] = list(me.jobs())
            assert isinstance(offered, WorkerJob)
            assert (offered.job, offered.status, offered.job_state) == (job.name, "not_started", "running")
            assert me.jobs().to_pandas().loc[0, "display_name"] == "accounts"
            with me.for_job(offered) as work:
                assert isinstance(work, WorkerClient)
                task = work.next_task(lookahead=True)
                assert task is not None and task.upcoming is not None
                assert task.upcoming.name != task.name
                following = work.submit(task, animal(task), want_next=True)
                assert following is not None and following.name == task.upcoming.name
                while following is not None:
                    following = work.submit(following, animal(following), want_next=True)
            history = me.history()
            assert history.totals["judgments"] == 5 and history.to_pandas().loc[0, "judgments"] == 5
            assert [j.judgments for j in me.jobs()] == [5]
        assert lw.rename_worker_account(ana, "Ana B.").display_name == "Ana B."
        assert lw.get_worker_account(ana).display_name == "Ana B."
        lw.delete_worker_account(ana)
        with pytest.raises(NotFound):
            lw.get_worker_account(ana)
        assert len(lw.judgments(job).to_list()) == 5  # its judgments stay with the job
    with WorkerAccountClient(live.target, token) as gone, pytest.raises(Unauthenticated):
        gone.jobs().to_list()


async def test_the_async_account_client(live: Server, api_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        team = await lw.create_team("Async reviewers")
        bo = await lw.create_worker_account("Bo")
        await lw.add_team_member(team, bo)
        token = await lw.issue_worker_account_token(bo)
        job = await lw.create_job("async accounts", classes=ANIMALS, judgments=1, quiz_size=0)
        await lw.add_items(job, sounds(2))
        await lw.start_job(job)
        # A running job is given to the team: its accounts see it at once.
        assert (await lw.set_job_teams(job, [team.name])).proto.workforce.teams == [team.name]
        monkeypatch.setenv("LABELWIRE_ADDRESS", live.target)
        monkeypatch.setenv("LABELWIRE_ACCOUNT_TOKEN", token)
        async with AsyncWorkerAccountClient.from_env() as me:
            [offered] = await me.jobs().to_list()
            async with me.for_job(offered.job) as work:
                while (task := await work.next_task()) is not None:
                    await work.submit(task, animal(task))
            assert (await me.history()).totals["judgments"] == 2
        assert (await lw.rename_worker_account(bo.name, "Bo C.")).display_name == "Bo C."
        await lw.delete_worker_account(bo)
        assert [a async for a in lw.worker_accounts()] == []


async def test_model_routing_from_create_job_to_the_calibration_report(live: Server, api_key: str) -> None:
    confident = [
        {"key": f"c{i}", "text": "meow", "prelabel": "cat", "prelabel_confidence": 0.95} for i in range(3)
    ]
    unsure = [
        {"key": f"u{i}", "text": "woof", "prelabel": "cat", "prelabel_confidence": 0.5} for i in range(2)
    ]
    async with AsyncClient(live.target, api_key) as lw:
        job = await lw.create_job(
            "routed",
            classes=ANIMALS,
            judgments=1,
            quiz_size=0,
            model_routing={"class_thresholds": {"cat": 0.9}, "audit_share": 0.0},
        )
        assert dict(job.proto.model_routing.class_thresholds) == {"cat": 0.9}
        await lw.add_items(job, confident + unsure)
        await lw.start_job(job)
        by_model = {label.key: label async for label in lw.labels(job)}
        assert sorted(by_model) == ["c0", "c1", "c2"]
        assert {(label.method, label.human_annotated, label.value) for label in by_model.values()} == {
            ("model", False, "cat")
        }
        _, token = await lw.create_worker(job, "ana")
        with WorkerClient(live.target, token) as me:
            while (task := me.next_task()) is not None:
                me.submit(task, "dog")
        report = await lw.calibration(job)
        assert isinstance(report, Calibration)
        [cat] = report.routing
        assert (cat.class_name, cat.threshold, cat.learned, cat.auto_accepted) == ("cat", 0.9, False, 3)
        assert report.human_judgments_saved == 3
        changed = await lw.update_job(job, model_routing={"class_thresholds": {"cat": 0.97}})
        assert dict(changed.proto.model_routing.class_thresholds) == {"cat": 0.97}
        with pytest.raises(InvalidArgument) as refused:
            await lw.update_job(job, model_routing={"class_thresholds": {"cat": 1.5}})
        assert "model_routing.class_thresholds" in str(refused.value)
        assert dict((await lw.get_job(job)).proto.model_routing.class_thresholds) == {"cat": 0.97}


def test_the_verification_report_as_a_dataframe(live: Server, api_key: str) -> None:
    items = [
        {
            "key": f"car{i}",
            "source_ref": f"s3://img/car{i}.jpg",
            "prelabel": "car",
            "prelabel_confidence": 0.9,
        }
        for i in range(3)
    ] + [
        {"key": f"p{i}", "source_ref": f"s3://img/p{i}.jpg", "prelabel": "person", "prelabel_confidence": 0.6}
        for i in range(2)
    ]
    with Client(live.target, api_key) as lw:
        job = lw.create_job(
            "verify",
            classes=["car", "person"],
            task_type="verification",
            media="image",
            judgments=1,
            quiz_size=0,
        )
        lw.add_items(job, items)
        lw.start_job(job)
        _, token = lw.create_worker(job, "ana")
        with WorkerClient(live.target, token) as me:
            while (task := me.next_task()) is not None:
                # Every car is right; every person is wrong.
                verdicts = [entry.prelabel.classification.class_name == "car" for entry in task.proto.batch]
                me.submit(
                    task, answer_pb2.Answer(verification=answer_pb2.VerificationAnswer(correct=verdicts))
                )
        report = lw.verification_report(job, bucket_edges=[0.0, 0.5, 1.0])
        assert isinstance(report, VerificationReport)
        assert (report.total.total, report.total.confirmed, report.total.disconfirmed) == (5, 3, 2)
        frame = report.to_pandas()
        totals = frame[frame["lower"].isna()].set_index("class_name")
        assert totals.loc["car", "confirmed"] == 3 and totals.loc["person", "disconfirmed"] == 2
        assert (
            totals.loc["car", "percent_correct"] == 100.0 and totals.loc["person", "percent_correct"] == 0.0
        )
        buckets = frame[frame["lower"].notna()]
        assert set(buckets["class_name"]) == {"car", "person"} and buckets["total"].sum() == 5
        assert report.proto.total.total == 5 and set(report.thresholds) == {"car", "person"}


def test_judgments_by_instructions_version(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("versions", classes=ANIMALS, judgments=1, quiz_size=0, instructions="Cat or dog?")
        lw.add_items(job, sounds(4))
        lw.start_job(job)
        _, token = lw.create_worker(job, "ana")
        with WorkerClient(live.target, token) as me:
            for _ in range(2):
                task = me.next_task()
                assert task is not None
                me.submit(task, animal(task))
            assert lw.update_job(job, short_instructions="Meow is cat.").instructions_version == 2
            assert me.instructions().version == 2
            while (task := me.next_task()) is not None:
                me.submit(task, animal(task))
        first = lw.judgments(job, instructions_version=1).to_list()
        second = lw.judgments(job, instructions_version=2).to_pandas()
        assert len(first) == 2 and len(second) == 2
        assert {j.key for j in first}.isdisjoint(set(second["key"]))
        assert len(lw.judgments(job).to_list()) == 4


async def test_the_async_verification_report(live: Server, api_key: str) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        job = await lw.create_job(
            "verify async", classes=["car"], task_type="verification", media="image", judgments=1, quiz_size=0
        )
        await lw.add_items(
            job, [{"key": "a", "source_ref": "s3://img/a.jpg", "prelabel": "car", "prelabel_confidence": 0.7}]
        )
        await lw.start_job(job)
        _, token = await lw.create_worker(job, "ana")
        with WorkerClient(live.target, token) as me:
            task = me.next_task()
            assert task is not None
            me.submit(task, answer_pb2.Answer(verification=answer_pb2.VerificationAnswer(correct=[True])))
        report = await lw.verification_report(job, target_precision=0.9)
        assert report.thresholds["car"]["items_above"] == 1 and report.total.confirmed == 1
        assert len((await lw.verification_report(job)).to_pandas()) >= 2  # a bucket and the class's total


def test_the_owner_corrects_and_disqualifies_with_the_blocking_client(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("fix", classes=ANIMALS, judgments=1, quiz_size=0)
        lw.add_items(job, sounds(2))
        lw.start_job(job)
        worker, token = lw.create_worker(job, "ana")
        with WorkerClient(live.target, token) as me:
            while (task := me.next_task()) is not None:
                me.submit(task, animal(task))
        assert lw.correct_label(job, "k1", "dog").revision == 2
        assert {label.key: label.value for label in lw.labels(job)}["k1"] == "dog"
        assert lw.disqualify_worker(worker).status == "disqualified"
        assert [j.excluded for j in lw.judgments(job)] == [True, True]


def test_adapter_keys_blocking_and_async(live: Server) -> None:
    with AdminClient(live.target, live.admin_key) as admin:
        key, name = admin.create_adapter_key("vendor", ttl=3600)
        assert key.startswith("lwf_") and name.startswith("adapters/")
        admin.revoke_adapter_key(name)
        with pytest.raises(NotFound):
            admin.revoke_adapter_key(name.rsplit("/", 1)[0] + "/999999")

    async def both() -> None:
        async with AsyncAdminClient(live.target, live.admin_key) as admin:
            key, name = await admin.create_adapter_key("vendor-two")
            assert key.startswith("lwf_")
            await admin.revoke_adapter_key(name)

    asyncio.run(both())


def test_comments_requalifying_filters_an_items_history_and_the_reliability_table(
    live: Server, api_key: str
) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("owner views", classes=ANIMALS, judgments=2, quiz_size=0)
        gold = [{"key": f"g{i}", "text": "meow" if i % 2 else "woof", "gold": "cat" if i % 2 else "dog"}
                for i in range(4)]  # fmt: skip
        lw.add_items(job, [*sounds(6), *gold])
        lw.start_job(job)
        tokens = [lw.create_worker(job, f"w{n}")[1] for n in range(2)]
        asked = False
        for token in tokens:
            with WorkerClient(live.target, token) as w:
                while (task := w.next_task()) is not None:
                    if not asked:
                        w.comment(task, "is this a cat or a dog?")
                        asked = True
                    w.submit(task, animal(task))
        [comment] = lw.comments(job)
        assert comment.text == "is this a cat or a dog?" and comment.worker_display_name == "w0"

        worker = next(iter(lw.workers(job)))
        assert lw.disqualify_worker(worker).status == "disqualified"
        assert lw.requalify_worker(worker).status == "qualified"

        cats = list(lw.labels(job, class_name="cat"))
        assert cats and {label.value for label in cats} == {"cat"}
        assert not list(lw.labels(job, key_contains="nothing-has-this"))
        history = lw.label_history(job, "k1")  # the disqualification above relabeled it
        assert [label.revision for label in history] == list(range(1, len(history) + 1))
        assert {label.key for label in history} == {"k1"} and history[-1].value == "cat"

        item = lw.get_item(job, comment.key)
        # The first task may have been hidden gold (the worker cannot tell). A work item w0
        # judged was asked again when w0 was disqualified above: open, its label kept.
        if comment.key.startswith("g"):
            assert (item.gold, item.state) == ("cat" if int(comment.key[1:]) % 2 else "dog", "open")
        else:
            assert (item.gold, item.state) == (None, "open")
            assert item.label is not None and item.label.key == comment.key
        assert item.key == comment.key and item.text in ("meow", "woof")
        assert [c.text for c in item.comments] == ["is this a cat or a dog?"]
        assert lw.get_item(job, "g1").gold == "cat"
        with pytest.raises(FailedPrecondition):  # outliers are measured on box jobs
            lw.worker_outliers(job)

        skipped = lw.create_job("declines", classes=ANIMALS, judgments=1, quiz_size=0)
        lw.add_items(skipped, sounds(1))
        lw.start_job(skipped)
        with WorkerClient(live.target, lw.create_worker(skipped, "ann")[1]) as w:
            task = w.next_task()
            assert task is not None
            w.decline(task, "too quiet to hear")
        [declined] = lw.declines(skipped)
        assert (declined.key, declined.worker_display_name, declined.reason) == (
            "k0",
            "ann",
            "too quiet to hear",
        )

        reliability = lw.reliability(job, bins=4)
        assert len(reliability.bins) == 4
        assert 0.0 <= reliability.expected_calibration_error <= 1.0
        assert len(reliability.to_pandas()) == 4


def test_watch_job_follows_the_counters_to_the_end_and_the_manifest_streams_blocking(
    live: Server, api_key: str
) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("watched", classes=ANIMALS, judgments=1, quiz_size=0)
        lw.add_items(job, sounds(3))
        lw.start_job(job)
        watching = lw.watch_job(job)
        assert next(watching).state == "running"
        _, token = lw.create_worker(job, "ana")
        with WorkerClient(live.target, token) as me:
            while (task := me.next_task()) is not None:
                me.submit(task, animal(task))
        seen = list(watching)
        assert seen[-1].state == "completed" and seen[-1] == lw.get_job(job)
        lines = list(lw.label_manifest(job, label_job_name="watched-1"))
    assert len(lines) == 3 and all('"job-name": "watched-1"' in line for line in lines)


async def test_watch_job_and_the_manifest_async(live: Server, api_key: str) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        job = await lw.create_job("watched async", classes=ANIMALS, judgments=1, quiz_size=0)
        await lw.add_items(job, sounds(1))
        first = await anext(aiter(lw.watch_job(job)))
        assert first.state == "draft"
        await lw.cancel_job(job)
        assert [j.state async for j in lw.watch_job(job)] == ["cancelled"]
        assert [line async for line in lw.label_manifest(job)] != []
        with pytest.raises(NotFound):
            await anext(aiter(lw.watch_job("jobs/999999")))
