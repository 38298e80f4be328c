"""UpdateJob and pilots: the owner runs a sample, reads it, refines the
instructions (a new version every judgment records), and runs the rest; what
recorded answers depend on never changes."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import Client, WorkerClient, classification, source_item, text_item
from labelwire.server.transport.app import start_server
from labelwire.v1 import answer_pb2, job_pb2, judgment_pb2, label_service_pb2, quality_service_pb2, task_pb2
from tests.conftest import ADMIN_KEY, Clock, Harness
from tests.helpers import CLASSES, running_job, truth, work


async def _update(lw: Client, job: job_pb2.Job, paths: list[str]) -> job_pb2.Job:
    return await lw.update_job(job, paths)


async def _refused(lw: Client, job: job_pb2.Job, paths: list[str]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.update_job(job, paths)
    return caught.value


async def _judgments(lw: Client, job: str, version: int = 0) -> list[judgment_pb2.Judgment]:
    response = await lw.labels.ListJudgments(
        label_service_pb2.ListJudgmentsRequest(job=job, instructions_version=version), metadata=lw.metadata
    )
    return list(response.judgments)


async def test_new_instructions_make_a_version_each_judgment_records(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=4, judgments=1)
    assert job.instructions_version == 1
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        first = await w.next_task()
        await w.submit(first.task.name, classification(truth(first.task.text)))
        change = job_pb2.Job(name=job.name)
        change.instructions.short_instructions = "Sarcasm is neg."
        change.instructions.full_instructions = "# Sarcasm\nA sarcastic compliment is neg."
        updated = await _update(lw, change, ["instructions"])
        assert updated.instructions_version == 2
        assert updated.instructions.short_instructions == "Sarcasm is neg."
        assert updated.display_name == job.display_name and updated.judgment_policy.judgments_per_item == 1
        seen = await w.instructions()
        assert seen.instructions.short_instructions == "Sarcasm is neg."
        assert seen.instructions_version == 2
        await work(w)
    assert [j.instructions_version for j in await _judgments(lw, job.name)] == [1, 2, 2, 2]
    assert len(await _judgments(lw, job.name, version=2)) == 3
    assert [j.item_key for j in await _judgments(lw, job.name, version=1)] == ["i0"]


async def test_class_descriptions_change_but_names_do_not(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    described = job_pb2.Job()
    described.CopyFrom(job)
    described.task_config.classification.classes[1].description = "negative, sarcasm included"
    updated = await _update(lw, described, ["task_config"])
    assert updated.task_config.classification.classes[1].description == "negative, sarcasm included"
    assert updated.instructions_version == 2

    renamed = job_pb2.Job()
    renamed.CopyFrom(job)
    renamed.task_config.classification.classes[1].name = "negative"
    error = await _refused(lw, renamed, ["task_config"])
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "job.task_config.classification.classes[1].name" in (error.details() or "")

    other_type = job_pb2.Job(name=job.name)
    other_type.task_config.multi_label.classes.add(name="pos")
    error = await _refused(lw, other_type, ["task_config"])
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "task type" in (error.details() or "")


async def test_gold_policy_price_and_budget_change_and_are_read_back(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    change = job_pb2.Job(name=job.name, price_per_judgment_micros=20_000, budget_micros=5_000_000)
    change.gold_policy.pass_accuracy = 0.9
    updated = await _update(
        lw, change, ["gold_policy.pass_accuracy", "price_per_judgment_micros", "budget_micros"]
    )
    assert updated.gold_policy.pass_accuracy == pytest.approx(0.9)
    assert updated.gold_policy.quiz_size == job.gold_policy.quiz_size, "the mask's other fields stay"
    assert (updated.price_per_judgment_micros, updated.budget_micros) == (20_000, 5_000_000)
    assert updated.instructions_version == 1, "no instruction changed"
    assert (await lw.get_job(job.name)).price_per_judgment_micros == 20_000


@pytest.mark.parametrize(
    ("path", "code", "named"),
    [
        ("state", grpc.StatusCode.INVALID_ARGUMENT, "update_mask.paths[0]"),
        ("no_such_field", grpc.StatusCode.INVALID_ARGUMENT, "no_such_field"),
        ("instructions.nope", grpc.StatusCode.INVALID_ARGUMENT, "instructions.nope"),
        ("media_type", grpc.StatusCode.FAILED_PRECONDITION, "job.media_type"),
        ("workforce", grpc.StatusCode.FAILED_PRECONDITION, "job.workforce"),
    ],
)
async def test_fields_that_cannot_be_set_are_refused_by_name(
    server: Harness, path: str, code: grpc.StatusCode, named: str
) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    error = await _refused(lw, job_pb2.Job(name=job.name, media_type=job_pb2.MEDIA_TYPE_IMAGE), [path])
    assert error.code() == code
    assert named in (error.details() or "")
    assert (await lw.get_job(job.name)).media_type == job.media_type


async def test_settings_that_shape_labels_are_fixed_once_judged(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=3, judgments=2)
    raised = await _update(
        lw, job_pb2.Job(name=job.name, judgment_policy={"judgments_per_item": 3}), ["judgment_policy"]
    )
    assert raised.judgment_policy.judgments_per_item == 3
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        task = await w.next_task()
        await w.submit(task.task.name, classification(truth(task.task.text)))
    error = await _refused(
        lw,
        job_pb2.Job(name=job.name, consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE),
        ["consolidation_method"],
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "job.consolidation_method" in (error.details() or "")
    error = await _refused(
        lw, job_pb2.Job(name=job.name, judgment_policy={"judgments_per_item": 1}), ["judgment_policy"]
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "judgments_per_item" in (error.details() or "")


async def test_raised_judgments_per_item_applies_to_open_items(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2, judgments=1)
    await _update(
        lw,
        job_pb2.Job(name=job.name, judgment_policy={"judgments_per_item": 2}),
        ["judgment_policy.judgments_per_item"],
    )
    done = 0
    for name in ("ann", "bob"):
        _, token = await lw.create_worker(job.name, name)
        async with server.worker(token) as w:
            done += await work(w)
    assert done == 4, "each item waited for its second judgment"
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_COMPLETED


async def test_a_target_confidence_set_later_lets_open_items_stop_at_one_judgment(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2, judgments=2)
    await _update(
        lw,
        job_pb2.Job(name=job.name, judgment_policy={"judgments_per_item": 2, "target_confidence": 0.6}),
        ["judgment_policy"],
    )
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        done = await work(w)  # a worker without a record: 0.7 likely right, over the target
    assert done == 2, "one judgment settled each item"
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_COMPLETED


async def test_another_owner_cannot_update_the_job(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    other = await server.client("someone-else")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await other.update_job(job_pb2.Job(name=job.name, display_name="mine"), ["display_name"])
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_pilot_runs_its_sample_pauses_and_resume_runs_the_rest(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(6)])
    started = await lw.start_job(job.name, pilot_size=2)
    assert started.state == job_pb2.JOB_STATE_RUNNING and started.pilot_size == 2
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        assert await work(w) == 2, "only the pilot's items are dispatched"
        paused = await lw.get_job(job.name)
        assert paused.state == job_pb2.JOB_STATE_PAUSED
        assert paused.state_reason == "pilot complete" and paused.pilot_size == 0
        assert paused.counters.labeled_items == 2 and paused.failure_reason == ""
        change = job_pb2.Job(name=job.name)
        change.instructions.short_instructions = "Sarcasm is neg."
        await _update(lw, change, ["instructions.short_instructions"])
        resumed = await lw.resume_job(job.name)
        assert resumed.state == job_pb2.JOB_STATE_RUNNING and resumed.state_reason == ""
        assert await work(w) == 4
    done = await lw.get_job(job.name)
    assert done.state == job_pb2.JOB_STATE_COMPLETED and done.counters.labeled_items == 6
    versions = [(j.item_key, j.instructions_version) for j in await _judgments(lw, job.name)]
    assert {v for _, v in versions[:2]} == {1} and {v for _, v in versions[2:]} == {2}


async def _pilot_keys(server: Harness, lw: Client, seed: int | None) -> list[str]:
    job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    await lw.add_items(job.name, [text_item(f"i{n:02}", f"truth:{CLASSES[n % 3]}") for n in range(30)])
    await lw.start_job(job.name, pilot_size=5, pilot_seed=seed)
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        assert await work(w) == 5
    return sorted(j.item_key for j in await _judgments(lw, job.name))


async def test_the_pilot_is_a_seeded_random_sample_not_the_first_items(server: Harness) -> None:
    """An upload is often ordered (by source, date or class): a pilot of its
    first items would judge the instructions on one corner of the data."""
    lw = await server.client()
    first = await _pilot_keys(server, lw, seed=7)
    again = await _pilot_keys(server, lw, seed=7)
    other = await _pilot_keys(server, lw, seed=8)
    assert len(first) == 5 and first == again, "the same seed draws the same sample"
    assert first != [f"i{n:02}" for n in range(5)]
    assert other != first


async def test_pilot_size_must_be_smaller_than_the_job(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    await lw.add_items(job.name, [text_item(f"i{n}", "x") for n in range(3)])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.start_job(job.name, pilot_size=3)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "pilot_size" in (caught.value.details() or "")
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_DRAFT


async def update_seen_by_the_other_replica(database: str, clock: Clock) -> None:
    """Replica b has the spec cached (its worker leased a task) when a changes it."""
    a = await start_server(address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock)
    b = await start_server(address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock)
    try:
        lw = await Harness(running=a, target=f"127.0.0.1:{a.port}", database=database).client()
        job = await running_job(lw, items=3, judgments=1)
        _, token = await lw.create_worker(job.name, "ann")
        worker = WorkerClient(f"127.0.0.1:{b.port}", token)
        first = await worker.next_task()
        await worker.submit(first.task.name, classification(truth(first.task.text)))
        change = job_pb2.Job(name=job.name, price_per_judgment_micros=7_000)
        change.instructions.short_instructions = "Read twice."
        await lw.update_job(change, ["instructions", "price_per_judgment_micros"])
        assert (await worker.instructions()).instructions_version == 2
        second = await worker.next_task()
        await worker.submit(second.task.name, classification(truth(second.task.text)))
        assert (await lw.get_job(job.name)).counters.cost_micros == 7_000, "b charged the new price"
        assert [j.instructions_version for j in await _judgments(lw, job.name)] == [1, 2]
        await worker.close()
        await lw.close()
    finally:
        await a.stop(grace=None)
        await b.stop(grace=None)


async def test_an_update_on_one_sqlite_replica_is_seen_by_the_other(tmp_path: Path, clock: Clock) -> None:
    await update_seen_by_the_other_replica(str(tmp_path / "shared.db"), clock)


async def test_an_update_on_one_postgres_replica_is_seen_by_the_other(
    postgres_database: str, clock: Clock
) -> None:
    await update_seen_by_the_other_replica(postgres_database, clock)


async def test_quality_is_split_by_instructions_version(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=6, gold=4, judgments=1, quiz_size=2, pass_accuracy=0.5)
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        for _ in range(4):  # the quiz (2 gold, right) and 2 work items, answered wrong
            t = await w.next_task()
            right = t.task.phase == task_pb2.TASK_PHASE_QUIZ
            answer = truth(t.task.text) if right else CLASSES[(CLASSES.index(truth(t.task.text)) + 1) % 3]
            await w.submit(t.task.name, classification(answer))
        change = job_pb2.Job(name=job.name)
        change.instructions.full_instructions = "Read the whole text."
        await lw.update_job(change, ["instructions.full_instructions"])
        await work(w)
    quality = await lw.quality.GetJobQuality(
        quality_service_pb2.GetJobQualityRequest(job=job.name), metadata=lw.metadata
    )
    first, second = quality.instructions_versions
    assert (first.instructions_version, first.judgments, first.gold_judgments) == (1, 2, 2)
    assert first.gold_accuracy == 1.0
    assert second.instructions_version == 2 and second.judgments == 4
    assert first.agreement_with_label == second.agreement_with_label == 1.0, (
        "one judgment per item is its label"
    )


async def test_agreement_with_the_label_is_measured_per_version(server: Harness) -> None:
    """Under version 1 one worker of three answers wrong; under version 2 all agree."""
    lw = await server.client()
    job = await running_job(lw, items=4, judgments=3)
    workers = []
    for name in ("ann", "bob", "cat"):
        _, token = await lw.create_worker(job.name, name)
        workers.append(token)

    async def answer(token: str, count: int, *, right: bool) -> None:
        async with server.worker(token) as w:
            for _ in range(count):
                t = await w.next_task()
                given = truth(t.task.text)
                await w.submit(
                    t.task.name, classification(given if right else CLASSES[(CLASSES.index(given) + 1) % 3])
                )

    for token, right in zip(workers, (True, True, False), strict=True):
        await answer(token, 2, right=right)
    change = job_pb2.Job(name=job.name)
    change.instructions.short_instructions = "Take your time."
    await lw.update_job(change, ["instructions"])
    for token in workers:
        await answer(token, 2, right=True)
    quality = await lw.quality.GetJobQuality(
        quality_service_pb2.GetJobQualityRequest(job=job.name), metadata=lw.metadata
    )
    first, second = quality.instructions_versions
    assert (first.judgments, second.judgments) == (6, 6)
    assert first.agreement_with_label == pytest.approx(4 / 6)
    assert second.agreement_with_label == 1.0


async def test_a_pilot_whose_items_expire_still_pauses(server: Harness, clock: Clock) -> None:
    lw = await server.client()
    job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    lifetime = job_pb2.Job(name=job.name)
    lifetime.task_lifetime.FromSeconds(60)
    await lw.update_job(lifetime, ["task_lifetime"])
    await lw.add_items(job.name, [text_item("pilot", "x")])
    clock.advance(40)
    await lw.add_items(job.name, [text_item("rest", "y")])
    await lw.start_job(job.name, pilot_size=1)
    clock.advance(30)  # the pilot's item is past its lifetime, the other is not
    await server.running.core.maintain_once()
    paused = await lw.get_job(job.name)
    assert (paused.state, paused.state_reason) == (job_pb2.JOB_STATE_PAUSED, "pilot complete")
    assert paused.counters.failed_items == 1


async def test_a_verification_pilot_batches_only_its_sample(server: Harness) -> None:
    """Bulk verification fills a batch from several items: all from the pilot."""
    lw = await server.client()
    spec = job_pb2.Job(display_name="Verify", media_type=job_pb2.MEDIA_TYPE_IMAGE)
    spec.task_config.verification.classes.extend([job_pb2.LabelClass(name=c) for c in ("car", "person")])
    spec.task_config.verification.batch_size = 5
    job = await lw.create_job("Verify", classes=[], job=spec, judgments_per_item=1, quiz_size=0)
    items = []
    for n in range(6):
        item = source_item(f"c{n}", f"s3://img/c{n}.jpg")
        item.prelabel.classification.class_name = "car"
        item.prelabel_confidence = 0.9
        items.append(item)
    await lw.add_items(job.name, items)
    await lw.start_job(job.name, pilot_size=2)
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        task = (await w.next_task()).task
        assert len(task.batch) == 2 and {e.source_ref for e in task.batch} <= {
            f"s3://img/c{n}.jpg" for n in range(6)
        }
        await w.submit(
            task.name, answer_pb2.Answer(verification=answer_pb2.VerificationAnswer(correct=[True, True]))
        )
    paused = await lw.get_job(job.name)
    assert (paused.state, paused.state_reason) == (job_pb2.JOB_STATE_PAUSED, "pilot complete")


async def test_the_spec_cache_keeps_each_jobs_owner_beside_its_revision(server: Harness) -> None:
    """The cache keyed by job holds the spec's revision and the job's owner;
    the owner is what presigned template links are scoped to, so a revision
    read as an owner would open another client's S3 prefix."""
    from labelwire.server.core.auth import parse as parse_token

    await server.client("first")
    second = await server.client("second")
    job = await running_job(second, items=1)
    job_id = int(job.name.split("/")[1])
    parsed = parse_token(dict(second.metadata)["authorization"].removeprefix("Bearer "))
    assert parsed is not None and parsed[1] == 2
    core = server.running.core
    updated = await second.update_job(job_pb2.Job(name=job.name, display_name="renamed"), ["display_name"])
    assert updated.display_name == "renamed" and updated.instructions_version >= 1
    await core.reads.spec_of_job(job_id)
    assert await core.reads.owner_of_job(job_id) == 2
    await second.close()
