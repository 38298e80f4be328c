"""Routing by the model over a real port: pre-labels over their class's
threshold are labeled without a human, an audit share still goes to humans and
revises the model's label, thresholds can be learned, and the report counts it."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client.raw import Client, classification, text_item
from labelwire.server.labels import routing as routing_module
from labelwire.server.labels.routing import audited
from labelwire.v1 import item_pb2, job_pb2, label_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, truth, work


def prelabeled(key: str, human: str, model: str, confidence: float) -> item_pb2.Item:
    item = text_item(key, f"{key}:{human}")  # helpers.truth reads the class after the colon
    item.prelabel.CopyFrom(classification(model))
    item.prelabel_confidence = confidence
    return item


async def routed_job(lw: Client, routing: job_pb2.ModelRouting) -> job_pb2.Job:
    return await lw.create_job(
        "Routed",
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=0,
        hidden_gold_share=0,
        job=job_pb2.Job(model_routing=routing),
    )


async def feed(lw: Client, job: str) -> list[label_pb2.Label]:
    return [label async for label in lw.stream_labels(job, snapshot_only=True)]


async def test_confident_prelabels_are_labeled_by_the_model_and_audits_revise_them(server: Harness) -> None:
    lw = await server.client()
    share = 0.25
    job = await routed_job(lw, job_pb2.ModelRouting(class_thresholds={"pos": 0.9}, audit_share=share))
    job_id = int(job.name.split("/")[1])
    confident = [f"c{n}" for n in range(40)]
    audits = [k for k in confident if audited(job_id, k, share)]
    assert 3 <= len(audits) <= 20
    overturned = audits[0]
    items = [prelabeled(k, "neg" if k == overturned else "pos", "pos", 0.95) for k in confident]
    # Under the threshold, and a class without one: both go to humans.
    items += [prelabeled(f"u{n}", "neg", "pos", 0.6) for n in range(5)]
    items += [prelabeled(f"n{n}", "neg", "neg", 0.99) for n in range(5)]
    await lw.add_items(job.name, items)
    await lw.start_job(job.name)

    model_labels = await feed(lw, job.name)
    assert sorted(label.item_key for label in model_labels) == sorted(confident)
    assert {(lb.method, lb.human_annotated, round(lb.confidence, 3)) for lb in model_labels} == {
        ("model", False, 0.95)
    }
    assert {lb.value.classification.class_name for lb in model_labels} == {"pos"}

    _, token = await lw.create_worker(job.name, "w")
    seen: list[str] = []
    async with server.worker(token) as w:
        while (t := await w.next_task()).HasField("task"):
            seen.append(t.task.text.split(":")[0])
            await w.submit(t.task.name, classification(truth(t.task.text)))
    expected = audits + [f"u{n}" for n in range(5)] + [f"n{n}" for n in range(5)]
    assert sorted(seen) == sorted(expected)

    events = [label async for label in lw.stream_labels(job.name, snapshot_only=True)]
    revised = [e for e in events if e.item_key == overturned]
    assert [
        (e.revision, e.method, e.human_annotated, e.value.classification.class_name) for e in revised
    ] == [
        (1, "model", False, "pos"),
        (2, "majority_vote_posterior", True, "neg"),
    ]
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_COMPLETED

    report = await lw.calibration(job.name)
    [pos] = report.routing
    assert (pos.class_name, pos.threshold, pos.learned) == ("pos", 0.9, False)
    assert (pos.auto_accepted, pos.audited, pos.audit_agreed) == (40, len(audits), len(audits) - 1)
    assert pos.audit_precision == pytest.approx((len(audits) - 1) / len(audits))
    assert pos.audit_precision_lower < pos.audit_precision < pos.audit_precision_upper <= 1.0
    assert report.human_judgments_saved == 40 - len(audits)
    # The model's own labels are no evidence of its precision: calibration
    # counts the human labels only.
    assert sum(c.items for c in report.classes) == len(expected)
    await lw.close()


async def test_thresholds_are_learned_from_human_labels_and_accept_the_rest(
    server: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing_module, "CHUNK", 7)  # the 30 waiting items take five writes
    lw = await server.client()
    routing = job_pb2.ModelRouting(
        learn_thresholds=True, target_precision=0.8, audit_share=0.0, min_learning_items=10
    )
    job = await routed_job(lw, routing)
    # The first 40 (humans label them): confident ones right, unsure ones right half the time.
    items = [
        prelabeled(f"a{n:02}", "pos", "pos", 0.95)
        if n % 2 == 0
        else prelabeled(f"a{n:02}", CLASSES[n % 4 // 2], "pos", 0.35)
        for n in range(40)
    ]
    items += [prelabeled(f"b{n:02}", "pos", "pos", 0.97) for n in range(30)]
    await lw.add_items(job.name, items)
    await lw.start_job(job.name)
    assert await feed(lw, job.name) == []

    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        assert await work(w, limit=40) == 40
        await server.running.core.maintain_once()
        assert not (await w.next_task()).HasField("task")

    labels = {label.item_key: label for label in await feed(lw, job.name)}
    assert len(labels) == 70
    by_model = sorted(k for k, label in labels.items() if label.method == "model")
    assert by_model == [f"b{n:02}" for n in range(30)]
    report = await lw.calibration(job.name)
    [pos] = report.routing
    assert pos.learned and pos.threshold == pytest.approx(0.94)
    assert pos.auto_accepted == 30 and report.human_judgments_saved == 30
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_COMPLETED
    await lw.close()


@pytest.mark.parametrize(
    ("routing", "field", "message"),
    [
        (
            job_pb2.ModelRouting(class_thresholds={"pos": 1.5}),
            "job.model_routing.class_thresholds['pos']",
            "must be between 0 and 1, got 1.5",
        ),
        (
            job_pb2.ModelRouting(class_thresholds={"cat": 0.9}),
            "job.model_routing.class_thresholds['cat']",
            "names no class of the job",
        ),
        (
            job_pb2.ModelRouting(class_thresholds={"pos": 0.9}, audit_share=2),
            "job.model_routing.audit_share",
            "must be between 0 and 1, got 2",
        ),
        (
            job_pb2.ModelRouting(learn_thresholds=True, target_precision=0.2),
            "job.model_routing.target_precision",
            "must be between 0.5 and 1, got 0.2",
        ),
        (job_pb2.ModelRouting(), "job.model_routing", "needs class_thresholds or learn_thresholds"),
    ],
)
async def test_bad_routing_is_refused_naming_the_field(
    server: Harness, routing: job_pb2.ModelRouting, field: str, message: str
) -> None:
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await routed_job(lw, routing)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(field) and message in err.value.details()
    await lw.close()
