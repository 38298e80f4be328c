"""ListJudgments: every worker's raw answer comes back to the job's owner, marked
gold or excluded, in submission order, paged and filtered, and to no one else."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import Client, classification
from labelwire.v1 import job_pb2, label_service_pb2, task_pb2
from tests.conftest import Harness, client_folder
from tests.helpers import CLASSES, running_job, truth


async def all_judgments(
    lw: Client, job: str, **filters: str
) -> list[label_service_pb2.ListJudgmentsResponse]:
    pages, token = [], ""
    while True:
        page = await lw.labels.ListJudgments(
            label_service_pb2.ListJudgmentsRequest(job=job, page_token=token, page_size=3, **filters),
            metadata=lw.metadata,
        )
        pages.append(page)
        token = page.next_page_token
        if not token:
            return pages


async def test_every_answer_comes_back_with_its_worker_time_and_gold_mark(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=4, gold=2, judgments=2, quiz_size=2, hidden=0.0)
    submitted: list[tuple[str, str, str, str]] = []
    for name, seconds in (("ann", 3.0), ("bob", 5.5)):
        _, token = await lw.create_worker(job.name, name)
        async with server.worker(token) as w:
            while (t := await w.next_task()).HasField("task"):
                answer = (
                    truth(t.task.text) if name == "ann" or t.task.phase == task_pb2.TASK_PHASE_QUIZ else "neg"
                )
                await w.submit(t.task.name, classification(answer), time_spent_seconds=seconds)
                submitted.append((t.task.name, name, answer, t.task.text))
    pages = await all_judgments(lw, job.name)
    got = [j for page in pages for j in page.judgments]
    assert len(pages) == 4 and all(len(p.judgments) <= 3 for p in pages)
    assert [j.task for j in got] == [name for name, *_ in submitted], "submission order, each judgment once"
    workers = {w.display_name: w.name for w in await lw.list_workers(job.name)}
    for judgment, (_, name, answer, text) in zip(got, submitted, strict=True):
        assert judgment.worker == workers[name]
        assert judgment.answer.classification.class_name == answer
        assert judgment.time_spent.ToMilliseconds() == (3000 if name == "ann" else 5500)
        assert judgment.create_time.seconds > 0 and not judgment.excluded and judgment.excluded_reason == ""
        quiz = judgment.phase == task_pb2.TASK_PHASE_QUIZ
        assert judgment.gold == quiz == judgment.item_key.startswith("g")
        assert judgment.HasField("gold_correct") == quiz
        if quiz:
            assert judgment.gold_correct == (answer == truth(text))
    bobs = [j for page in await all_judgments(lw, job.name, worker=workers["bob"]) for j in page.judgments]
    assert {j.worker for j in bobs} == {workers["bob"]} and len(bobs) == 6
    i1 = [j for page in await all_judgments(lw, job.name, item_key="i1") for j in page.judgments]
    assert sorted(j.worker for j in i1) == sorted(workers.values())
    assert {j.answer.classification.class_name for j in i1} == {CLASSES[1], "neg"}
    await lw.close()


async def test_a_disqualified_workers_judgments_are_marked_excluded(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=40, gold=20, quiz_size=1, hidden=0.3, pass_accuracy=0.8)
    _, token = await lw.create_worker(job.name, "turns-bad")
    async with server.worker(token) as w:
        t = await w.next_task()
        await w.submit(t.task.name, classification(truth(t.task.text)))
        for _ in range(60):
            t = await w.next_task()
            if not t.HasField("task"):
                break
            await w.submit(t.task.name, classification(CLASSES[(CLASSES.index(truth(t.task.text)) + 1) % 3]))
    got = [j for page in await all_judgments(lw, job.name) for j in page.judgments]
    work = [j for j in got if not j.gold]
    excluded_count = (await lw.get_job(job.name)).counters.excluded_judgments
    assert work and excluded_count == len(work)
    assert all(j.excluded and j.excluded_reason == "worker_disqualified" for j in work)
    assert all(j.gold_correct is False for j in got if j.gold and j.phase == task_pb2.TASK_PHASE_WORK)
    await lw.close()


async def test_bad_filters_name_the_field(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    other = await running_job(lw, items=1)
    cases = [
        ({"page_size": 10_001}, grpc.StatusCode.INVALID_ARGUMENT, "page_size"),
        ({"page_token": "not-ours"}, grpc.StatusCode.INVALID_ARGUMENT, "page_token"),
        ({"item_key": "x" * 300}, grpc.StatusCode.INVALID_ARGUMENT, "item_key"),
        ({"item_key": "nope"}, grpc.StatusCode.NOT_FOUND, "nope"),
        ({"worker": f"{other.name}/workers/1"}, grpc.StatusCode.INVALID_ARGUMENT, "worker"),
        ({"worker": "bob"}, grpc.StatusCode.INVALID_ARGUMENT, "worker"),
    ]
    for fields, code, word in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await lw.labels.ListJudgments(
                label_service_pb2.ListJudgmentsRequest(job=job.name, **fields), metadata=lw.metadata
            )
        assert err.value.code() == code, fields
        assert word in (err.value.details() or ""), fields
    await lw.close()


async def export(lw: Client, job: str, uri: str, form: int) -> label_service_pb2.ExportJudgmentsResponse:
    return await lw.labels.ExportJudgments(
        label_service_pb2.ExportJudgmentsRequest(job=job, uri=uri, format=form), metadata=lw.metadata
    )


async def test_judgments_export_flat_and_as_ground_truth_hands_them_to_a_lambda(
    files_server: Harness, files_root: Path
) -> None:
    lw = await files_server.client()
    job = await running_job(lw, items=3, gold=1, judgments=2, quiz_size=1)
    for name in ("ann", "bob"):
        _, token = await lw.create_worker(job.name, name)
        async with files_server.worker(token) as w:
            while (t := await w.next_task()).HasField("task"):
                answer = truth(t.task.text) if name == "ann" or t.task.text == "truth:pos" else "neutral"
                await w.submit(t.task.name, classification(answer), time_spent_seconds=2.5)
    listed = [j for page in await all_judgments(lw, job.name) for j in page.judgments]
    folder = client_folder(files_root, lw)

    flat = await export(
        lw, job.name, "out/judgments.jsonl", label_service_pb2.JUDGMENT_EXPORT_FORMAT_JSON_LINES
    )
    lines = [json.loads(line) for line in (folder / "out" / "judgments.jsonl").read_text().splitlines()]
    assert flat.line_count == flat.judgment_count == len(lines) == len(listed) == 8
    assert [(line["task"], line["item_key"], line["worker"]) for line in lines] == [
        (j.task, j.item_key, j.worker) for j in listed
    ]
    assert all(line["time_spent_seconds"] == 2.5 and line["submitted"].endswith("Z") for line in lines)
    quiz = [line for line in lines if line["phase"] == "quiz"]
    assert len(quiz) == 2 and all(line["gold"] and line["gold_correct"] for line in quiz)
    assert all("gold_correct" not in line for line in lines if not line["gold"])
    assert {line["answer"]["classification"]["class_name"] for line in lines if line["item_key"] == "i1"} == {
        "neg",
        "neutral",
    }

    flat_csv = await export(lw, job.name, "out/judgments.csv", label_service_pb2.JUDGMENT_EXPORT_FORMAT_CSV)
    with (folder / "out" / "judgments.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert flat_csv.line_count == flat_csv.judgment_count == len(rows) == 8
    assert [(r["task"], r["item_key"], r["worker"]) for r in rows] == [
        (j.task, j.item_key, j.worker) for j in listed
    ]
    assert [json.loads(r["answer"]) for r in rows] == [line["answer"] for line in lines]
    as_csv = {True: "true", False: "false", None: ""}
    assert [(r["phase"], r["gold"], r["gold_correct"]) for r in rows] == [
        (line["phase"], as_csv[line["gold"]], as_csv[line.get("gold_correct")]) for line in lines
    ]
    assert all(r["time_spent_seconds"] == "2.5" and r["excluded"] == "false" for r in rows)

    gt = await export(lw, job.name, "gt.jsonl", label_service_pb2.JUDGMENT_EXPORT_FORMAT_GROUND_TRUTH)
    objects = [json.loads(line) for line in (folder / "gt.jsonl").read_text().splitlines()]
    assert (gt.line_count, gt.judgment_count) == (4, 8)
    assert [o["labelwire-key"] for o in objects] == ["i0", "i1", "i2", "g0"]
    assert [o["datasetObjectId"] for o in objects] == ["0", "1", "2", "3"]
    assert objects[3]["labelwire-gold"] is True
    i1 = objects[1]
    assert i1["source"] == "truth:neg" and "label-metadata" in i1
    contents = sorted(
        json.loads(a["annotationData"]["content"])["classification"]["class_name"] for a in i1["annotations"]
    )
    assert contents == ["neg", "neutral"]
    assert {a["workerId"] for a in i1["annotations"]} == {j.worker for j in listed if j.item_key == "i1"}
    assert all(a["timeSpentInSeconds"] == 2.5 for a in i1["annotations"])

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await export(lw, job.name, "x.jsonl", label_service_pb2.JUDGMENT_EXPORT_FORMAT_UNSPECIFIED)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "format" in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await export(lw, job.name, "../escape.jsonl", label_service_pb2.JUDGMENT_EXPORT_FORMAT_JSON_LINES)
    assert err.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED)
    assert not (files_root / "escape.jsonl").exists() and not (folder / "x.jsonl").exists()
    await lw.close()


async def test_exported_judgments_carry_the_instructions_version_their_worker_saw(
    files_server: Harness, files_root: Path
) -> None:
    lw = await files_server.client()
    job = await running_job(lw, items=3, judgments=1)
    _, token = await lw.create_worker(job.name, "ann")
    async with files_server.worker(token) as w:
        first = (await w.next_task()).task
        await w.submit(first.name, classification(truth(first.text)))
        change = job_pb2.Job(name=job.name)
        change.instructions.short_instructions = "Sarcasm is neg."
        await lw.update_job(change, ["instructions.short_instructions"])
        while (t := await w.next_task()).HasField("task"):
            await w.submit(t.task.name, classification(truth(t.task.text)))
    folder = client_folder(files_root, lw)
    await export(lw, job.name, "v.jsonl", label_service_pb2.JUDGMENT_EXPORT_FORMAT_JSON_LINES)
    lines = [json.loads(line) for line in (folder / "v.jsonl").read_text().splitlines()]
    assert [line["instructions_version"] for line in lines] == [1, 2, 2]
    await export(lw, job.name, "gt.jsonl", label_service_pb2.JUDGMENT_EXPORT_FORMAT_GROUND_TRUTH)
    objects = [json.loads(line) for line in (folder / "gt.jsonl").read_text().splitlines()]
    versions = {o["labelwire-key"]: o["annotations"][0]["instructionsVersion"] for o in objects}
    assert versions[lines[0]["item_key"]] == 1 and sorted(versions.values()) == [1, 2, 2]
