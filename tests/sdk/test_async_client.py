"""`AsyncClient`, `AsyncWorkerClient` and `AsyncAdminClient`: every public method
against `labelwire serve` on a real port, from asyncio code."""

from __future__ import annotations

import json

import pandas
import pytest

from labelwire.client import (
    AsyncAdminClient,
    AsyncClient,
    AsyncWorkerClient,
    FailedPrecondition,
    InvalidArgument,
    Label,
    NotFound,
    PermissionDenied,
    Route,
    Task,
    Unauthenticated,
)
from tests.sdk.conftest import Server

ANIMALS = ["cat", "dog"]


def animal(task: Task) -> str:
    return "cat" if "meow" in task.text else "dog"


async def work_all(target: str, token: str) -> int:
    done = 0
    async with AsyncWorkerClient(target, token) as worker:
        while (task := await worker.next_task()) is not None:
            await worker.submit(task, animal(task))
            done += 1
    return done


def sounds(count: int) -> list[dict[str, object]]:
    return [{"key": f"k{i}", "text": "meow" if i % 2 else "woof"} for i in range(count)]


async def test_a_job_from_items_to_labels(
    live: Server, api_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        job = await lw.create_job("cats", classes={"cat": "meows", "dog": "barks"}, judgments=1, quiz_size=0)
        assert job.state == "draft" and job.proto.task_config.classification.classes[0].description == "meows"
        added = await lw.add_items(job, pandas.DataFrame(sounds(12)), progress=True)
        assert added.added == 12 and "12/12" in capsys.readouterr().err
        await lw.start_job(job)
        worker, token = await lw.create_worker(job, "ana")
        assert await work_all(live.target, token) == 12
        finished = await lw.wait(job, timeout=60)
        assert finished.state == "completed" and finished.counters.labeled_items == 12
        labels = [label async for label in lw.labels(job)]
        assert len(labels) == 12 and all(isinstance(label, Label) for label in labels)
        assert {label.key: label.value for label in labels}["k1"] == "cat"
        frame = await lw.labels(job).to_pandas()
        assert frame.shape[0] == 12 and set(frame["value"]) == {"cat", "dog"}
        assert len(await lw.labels(job).to_list()) == 12
        streamed = [label.sequence async for label in lw.stream_labels(job, after=10)]
        assert streamed == [11, 12]
        assert [j.name async for j in lw.jobs()] == [job.name]
        assert (await lw.jobs().to_pandas()).loc[0, "state"] == "completed"
        assert [w.name async for w in lw.workers(job)] == [worker.name]
        assert (await lw.get_job(job.name)).counters.judgments == 12
        quality = await lw.quality(job)
        assert [w.worker.display_name for w in quality.workers] == ["ana"]
        assert quality.workers[0].worker.judgments == 12 and quality.proto.workers[0].stats.judgments == 12
        calibration = await lw.calibration(job, buckets=4)
        assert calibration.buckets == () and calibration.human_judgments_saved == 0  # no pre-labels


async def test_states_tokens_and_errors(live: Server, api_key: str) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        job = await lw.create_job("states", classes=ANIMALS, quiz_size=0)
        await lw.add_items(job, sounds(2))
        assert (await lw.start_job(job)).state == "running"
        assert (await lw.pause_job(job)).state == "paused"
        assert (await lw.resume_job(job)).state == "running"
        worker, token = await lw.create_worker(job, "ana", token_ttl=3600)
        rotated = await lw.rotate_worker_token(worker, grace_period=0)
        assert rotated != token
        assert (await lw.revoke_worker_token(worker)).name == worker.name
        async with AsyncWorkerClient(live.target, rotated) as revoked:
            with pytest.raises(Unauthenticated):
                await revoked.next_task()
        assert (await lw.cancel_job(job)).state == "cancelled"
        with pytest.raises(FailedPrecondition):
            await lw.resume_job(job)
        with pytest.raises(InvalidArgument) as bad:
            await lw.create_job("", classes=ANIMALS, judgments=0, max_judgments=-1)
        assert bad.value.field_violations and bad.value.field_violations[0].field.startswith("job.")
        with pytest.raises(NotFound):
            await lw.get_job("jobs/999999")
        with pytest.raises(NotFound):
            [label async for label in lw.stream_labels("jobs/999999")]


async def test_the_async_worker_client(live: Server, api_key: str) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        job = await lw.create_job(
            "work", classes=ANIMALS, judgments=1, quiz_size=0, full_instructions="Listen."
        )
        await lw.add_items(job, sounds(6))
        await lw.start_job(job)
        _, token = await lw.create_worker(job, "ana")
    async with AsyncWorkerClient(live.target, token) as me:
        instructions = await me.instructions()
        assert (instructions.full_instructions, instructions.task_type) == ("Listen.", "classification")
        assert instructions.classes == {"cat": "", "dog": ""} and instructions.version == 1
        task = await me.next_task()
        assert task is not None and task.text in ("meow", "woof")
        assert await me.extend(task) > 0
        await me.release(task)
        task = await me.next_task()
        assert task is not None
        await me.decline(task, "noisy")
        first = await me.next_task()
        assert first is not None
        following = await me.submit(first, animal(first), want_next=True)
        assert following is not None
        assert await me.submit(following, animal(following)) is None
        assert (await me.stats()).judgments == 2
        assert (await me.comment(first, "a barking cat?")).text == "a barking cat?"
    async with AsyncClient(live.target, api_key) as lw:
        [comment] = await lw.comments(job)
        assert (comment.text, comment.worker_display_name) == ("a barking cat?", "ana")
        worker = (await lw.workers(job).to_list())[0]
        assert (await lw.disqualify_worker(worker)).status == "disqualified"
        assert (await lw.requalify_worker(worker)).status == "qualified"
        labeled = (await lw.labels(job).to_list())[0]
        assert (await lw.label_history(job, labeled.key))[0].revision == 1
        assert len((await lw.reliability(job, bins=2)).bins) == 2
        item = await lw.get_item(job, labeled.key)
        # The disqualification above asked its items again: open, with their label kept.
        assert item.key == labeled.key and item.label is not None and item.state == "open"
        with pytest.raises(FailedPrecondition):
            await lw.worker_outliers(job)


async def test_the_async_admin_client(live: Server) -> None:
    async with AsyncAdminClient(live.target, live.admin_key) as admin:
        key = await admin.create_api_key("async-analytics", ttl=3600)
        [listed] = [k async for k in admin.api_keys() if k.client_name == "async-analytics"]
        assert (await admin.api_keys(listed.client).to_list())[0].name == listed.name
        rotated = await admin.rotate_api_key(listed.name, grace_period=60)
        assert rotated != key
        assert (await admin.revoke_api_key(listed.name)).state == "revoked"
    async with AsyncAdminClient(live.target, key) as not_admin:
        with pytest.raises((PermissionDenied, Unauthenticated)):
            await not_admin.create_api_key("sneaky")


async def test_import_export_and_from_env(
    live: Server, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = live.files_of(api_key)
    (folder / "a.manifest").write_text(json.dumps({"source": "meow", "id": "m1"}) + "\n")
    monkeypatch.setenv("LABELWIRE_ADDRESS", live.target)
    monkeypatch.setenv("LABELWIRE_API_KEY", api_key)
    async with AsyncClient.from_env(timeout=10) as lw:
        assert lw.timeout == 10
        job = await lw.create_job("files", classes=ANIMALS, judgments=1, quiz_size=0)
        assert (await lw.import_manifest(job, "a.manifest", key_field="id")).added == 1
        await lw.start_job(job)
        _, token = await lw.create_worker(job, "ana")
        await work_all(live.target, token)
        exported = await lw.export_labels(job, "b.manifest", label_job_name="cats")
        assert (exported.labels, exported.lines, exported.uri) == (1, 1, "b.manifest")
        assert (folder / "b.manifest").exists()
        [judgment] = await lw.judgments(job).to_list()
        assert (judgment.key, judgment.value, judgment.gold) == ("m1", "cat", False)
        assert len(await lw.judgments(job, key="m1").to_pandas()) == 1
        gt = await lw.export_judgments(job, "gt.jsonl", ground_truth=True)
        [line] = [json.loads(text) for text in (folder / "gt.jsonl").read_text().splitlines()]
        assert gt.lines == 1 and line["labelwire-key"] == "m1" and len(line["annotations"]) == 1


async def test_the_owner_corrects_a_label_and_disqualifies_a_worker(live: Server, api_key: str) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        job = await lw.create_job("fix", classes=ANIMALS, judgments=1, quiz_size=0)
        await lw.add_items(job, sounds(2))
        await lw.start_job(job)
        worker, token = await lw.create_worker(job, "ana")
        assert await work_all(live.target, token) == 2
        corrected = await lw.correct_label(job, "k1", "dog")
        assert (corrected.key, corrected.value, corrected.revision) == ("k1", "dog", 2)
        assert {label.key: label.value async for label in lw.labels(job)}["k1"] == "dog"
        out = await lw.disqualify_worker(worker)
        assert out.status == "disqualified"


async def test_a_pilot_then_refined_instructions(live: Server, api_key: str) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        job = await lw.create_job("pilot", classes={"cat": "meows", "dog": "barks"}, judgments=1, quiz_size=0)
        await lw.add_items(job, sounds(5))
        await lw.start_job(job, pilot_size=2)
        _, token = await lw.create_worker(job, "ana")
        assert await work_all(live.target, token) == 2
        paused = await lw.get_job(job)
        assert (paused.state, paused.state_reason) == ("paused", "pilot complete")
        refined = await lw.update_job(
            job, short_instructions="Purring is cat.", class_descriptions={"cat": "meows or purrs"}
        )
        assert refined.instructions_version == 2
        assert refined.proto.task_config.classification.classes[0].description == "meows or purrs"
        assert refined.proto.task_config.classification.classes[1].description == "barks"
        await lw.resume_job(job)
        assert await work_all(live.target, token) == 3
        assert (await lw.get_job(job)).state == "completed"


async def test_routes_send_a_class_on_to_another_job_and_its_label_comes_back(
    live: Server, api_key: str
) -> None:
    async with AsyncClient(live.target, api_key) as lw:
        experts = await lw.create_job("experts", classes=ANIMALS, judgments=1, quiz_size=0)
        job = await lw.create_job(
            "first pass", classes=ANIMALS, judgments=1, quiz_size=0, routes=[Route(experts, classes=("cat",))]
        )
        assert [r.target_job for r in job.proto.routing_rules] == [experts.name]
        await lw.add_items(job, sounds(4))
        await lw.start_job(job)
        await lw.start_job(experts)
        _, token = await lw.create_worker(job, "ana")
        assert await work_all(live.target, token) == 4
        _, token = await lw.create_worker(experts, "expert")
        assert await work_all(live.target, token) == 2, "the two cats, once each"
        labels = {label.key: label.method async for label in lw.labels(job)}
        assert labels == {
            "k0": "majority_vote_posterior",
            "k1": "routed",
            "k2": "majority_vote_posterior",
            "k3": "routed",
        }
        cleared = await lw.update_job(job, routes=[])
        assert not cleared.proto.routing_rules
        with pytest.raises(InvalidArgument) as err:
            await lw.update_job(experts, routes=[Route(job, classes=("dog",)), Route(experts, verdict="")])
        assert [v.field for v in err.value.field_violations] == ["job.routing_rules[1]"]
