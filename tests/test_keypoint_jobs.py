"""Key-point jobs through the pool over a real port (issue 13, wanted 5): per point a
presence vote and the placed points' median, gold graded by normalised distance
(PCK), hostile answers refused by field, and the Ground Truth `crowd-keypoint`
form in the export (number labels' export is checked here too)."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import Client, keypoints, number, number_config, source_item, text_item
from labelwire.v1 import answer_pb2, job_pb2
from tests.conftest import Harness, client_folder
from tests.helpers import drain
from tests.test_number_jobs import refused

POINTS = ["nose", "left_eye", "tail"]


async def keypoint_job(lw: Client, *, judgments: int = 3, quiz_size: int = 0) -> job_pb2.Job:
    return await lw.create_job(
        "Faces",
        classes=POINTS,
        task_type="keypoints",
        judgments_per_item=judgments,
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        quiz_size=quiz_size,
        hidden_gold_share=0,
    )


async def answer_each(server: Harness, lw: Client, job: str, answers: list[answer_pb2.Answer]) -> None:
    for n, answer in enumerate(answers):
        w = server.worker((await lw.create_worker(job, f"w{n}"))[1])
        task = await w.next_task()
        await w.submit(task.task.name, answer)
        await w.close()


async def test_a_key_point_label_votes_presence_and_takes_each_points_median(server: Harness) -> None:
    lw = await server.client()
    job = await keypoint_job(lw)
    await lw.add_items(job.name, [source_item("cat", "s3://bucket/cat.jpg")])
    await lw.start_job(job.name)
    await answer_each(
        server,
        lw,
        job.name,
        [
            keypoints({"nose": (100, 100), "left_eye": (300, 260), "tail": None}),
            keypoints({"nose": (104, 98), "left_eye": (302, 262), "tail": None}),
            keypoints({"nose": (400, 10), "left_eye": None, "tail": (300, 300)}),  # a careless worker
        ],
    )
    [label] = await drain(lw.stream_labels(job.name))
    got = {p.name: p for p in label.value.keypoints.points}
    assert (got["nose"].x, got["nose"].y) == (104, 98)  # coordinate-wise median: the outlier moves nothing
    assert got["nose"].presence == 1.0 and got["nose"].spread == pytest.approx(20**0.5)
    assert (got["left_eye"].x, got["left_eye"].y, got["left_eye"].presence) == (
        301,
        261,
        pytest.approx(2 / 3),
    )
    assert got["tail"].not_visible and got["tail"].presence == pytest.approx(1 / 3)
    assert label.method == "keypoint_median" and label.judgment_count == 3
    # within 0.1 of the label's scale (256 px): nose 2 of 3 placements; left_eye placed by 2 of 3,
    # both near; tail: 2 of 3 say not visible
    assert label.confidence == pytest.approx((2 / 3 + 2 / 3 + 2 / 3) / 3)
    await lw.close()


@pytest.mark.parametrize(
    ("points", "says"),
    [
        (
            {"nose": (1, 1), "left_eye": (1, 1)},
            "points must have one entry for each of the job's 3 key points",
        ),
        (
            {"nose": (1, 1), "left_eye": (1, 1), "ear": (1, 1)},
            "points[2].name is not one of the job's key points",
        ),
        (
            {"nose": (float("nan"), 1), "left_eye": (1, 1), "tail": None},
            "points[0].x must be a finite number >= 0",
        ),
        (
            {"nose": (1, float("inf")), "left_eye": (1, 1), "tail": None},
            "points[0].y must be a finite number >= 0",
        ),
        ({"nose": (-3, 1), "left_eye": (1, 1), "tail": None}, "points[0].x must be a finite number >= 0"),
    ],
)
async def test_a_hostile_key_point_answer_is_refused_by_field(
    server: Harness, points: dict[str, tuple[float, float] | None], says: str
) -> None:
    lw = await server.client()
    job = await keypoint_job(lw)
    await lw.add_items(job.name, [source_item("cat", "s3://bucket/cat.jpg")])
    await lw.start_job(job.name)
    w = server.worker((await lw.create_worker(job.name, "w"))[1])
    task = await w.next_task()
    code, message = await refused(w.submit(task.task.name, keypoints(points)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and f"answer.keypoints.{says}" in message
    assert (await lw.get_job(job.name)).counters.judgments == 0
    await w.close()
    await lw.close()


async def test_a_point_twice_or_a_hidden_point_with_a_place_is_refused(server: Harness) -> None:
    lw = await server.client()
    job = await keypoint_job(lw)
    await lw.add_items(job.name, [source_item("cat", "s3://bucket/cat.jpg")])
    await lw.start_job(job.name)
    w = server.worker((await lw.create_worker(job.name, "w"))[1])
    task = await w.next_task()
    twice = keypoints({"nose": (1, 1), "left_eye": (1, 1)})
    twice.keypoints.points.add(name="nose", x=2, y=2)
    code, message = await refused(w.submit(task.task.name, twice))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "points[2].name 'nose' is given twice" in message
    hidden = keypoints({"nose": (1, 1), "left_eye": (1, 1)})
    hidden.keypoints.points.add(name="tail", not_visible=True, x=5)
    code, message = await refused(w.submit(task.task.name, hidden))
    assert "points[2].x must be 0 for a point marked not_visible" in message
    await w.close()
    await lw.close()


async def test_key_point_gold_is_graded_by_normalised_distance(server: Harness) -> None:
    lw = await server.client()
    job = await keypoint_job(lw, judgments=1, quiz_size=2)  # tolerance 0.1 of the gold's scale
    # the gold's visible points span a 300 x 400 box: a diagonal of 500 px, so 50 px is allowed
    gold = keypoints({"nose": (100, 100), "left_eye": (400, 500), "tail": None})
    await lw.add_items(
        job.name,
        [source_item(f"g{n}", f"s3://b/g{n}.jpg", gold=gold) for n in range(2)]
        + [source_item("c", "s3://b/c.jpg")],
    )
    await lw.start_job(job.name)
    near = server.worker((await lw.create_worker(job.name, "near"))[1])
    far = server.worker((await lw.create_worker(job.name, "far"))[1])
    blind = server.worker((await lw.create_worker(job.name, "blind"))[1])
    answers = {
        near: keypoints({"nose": (130, 140), "left_eye": (400, 500), "tail": None}),  # 50 px off: right
        far: keypoints({"nose": (131, 141), "left_eye": (400, 500), "tail": None}),  # just past 50 px
        blind: keypoints({"nose": (100, 100), "left_eye": (400, 500), "tail": (10, 10)}),  # saw a tail
    }
    for worker, answer in answers.items():
        for _ in range(2):
            task = await worker.next_task()
            reply = await worker.submit(task.task.name, answer)
            assert reply.quiz_feedback.correct == (worker is near)
    assert (await near.next_task()).HasField("task")
    assert not (await far.next_task()).HasField("task")
    assert not (await blind.next_task()).HasField("task")
    for w in answers:
        await w.close()
    await lw.close()


async def test_key_point_and_number_labels_export_in_ground_truth_form(
    files_server: Harness, files_root: Path
) -> None:
    lw = await files_server.client()
    points = await keypoint_job(lw, judgments=1)
    await lw.add_items(points.name, [source_item("cat", "s3://bucket/cat.jpg")])
    await lw.start_job(points.name)
    await answer_each(
        files_server, lw, points.name, [keypoints({"nose": (10, 20), "left_eye": None, "tail": (5, 6)})]
    )
    numbers = await lw.create_job(
        "Lengths",
        classes=[],
        task_type="number",
        judgments_per_item=1,
        quiz_size=0,
        job=number_config(unit="cm"),
    )
    await lw.add_items(numbers.name, [text_item("fish", "How long?")])
    await lw.start_job(numbers.name)
    await answer_each(files_server, lw, numbers.name, [number(42.5)])

    await lw.export_labels(points.name, "points.manifest")
    await lw.export_labels(numbers.name, "numbers.manifest")
    folder = client_folder(files_root, lw)
    [line] = [json.loads(t) for t in (folder / "points.manifest").read_text().splitlines()]
    assert line["source-ref"] == "s3://bucket/cat.jpg"
    assert line["label"] == {
        "keypoints": [{"label": "nose", "x": 10, "y": 20}, {"label": "tail", "x": 5, "y": 6}]
    }
    meta = line["label-metadata"]
    assert meta["type"] == "groundtruth/custom-keypoint" and meta["human-annotated"] == "yes"
    assert [p["label"] for p in meta["keypoints"]] == POINTS
    [line] = [json.loads(t) for t in (folder / "numbers.manifest").read_text().splitlines()]
    assert line["label"] == 42.5 and line["label-metadata"]["type"] == "groundtruth/custom-number"
    assert line["label-metadata"]["spread"] == 0
    await lw.close()
