"""Jobs that feed jobs: a routing rule sends the items whose label meets its
condition on to another job of the same owner, exactly once, and that job's
label comes back into the first job's feed as the item's next revision."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import json_format

from labelwire.client.raw import Client, classification, source_item, text_item
from labelwire.v1 import answer_pb2, job_pb2, label_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, drain, take, truth, work

DISCONFIRMED = label_pb2.VerificationSummary.VERDICT_DISCONFIRMED


def rule(target: job_pb2.Job, **fields: object) -> job_pb2.RoutingRule:
    return job_pb2.RoutingRule(target_job=target.name, **fields)  # type: ignore[arg-type]


async def correction_job(lw: Client, name: str = "Correct") -> job_pb2.Job:
    return await lw.create_job(
        name, classes=["car", "person", "background"], judgments_per_item=1, quiz_size=0
    )


async def labels_of(lw: Client, job: str) -> dict[str, label_pb2.Label]:
    return {label.item_key: label async for label in lw.list_labels(job)}


async def test_disconfirmed_verifications_flow_on_to_a_correction_job_and_back(server: Harness) -> None:
    lw = await server.client()
    correct = await correction_job(lw)
    spec = job_pb2.Job(display_name="Verify", media_type=job_pb2.MEDIA_TYPE_IMAGE)
    spec.task_config.verification.classes.extend([job_pb2.LabelClass(name=c) for c in ("car", "person")])
    spec.task_config.verification.batch_size = 4
    spec.routing_rules.append(rule(correct, verdict=DISCONFIRMED))
    verify = await lw.create_job("Verify", classes=[], job=spec, judgments_per_item=1, quiz_size=0)
    assert verify.routing_rules[0].target_job == correct.name
    assert verify.routing_rules[0].verdict == DISCONFIRMED
    items = []
    for n in range(4):
        item = source_item(f"img{n}", f"s3://img/{n}.jpg", metadata={"camera": n})
        item.prelabel.classification.class_name = "car"
        item.prelabel_confidence = 0.9
        items.append(item)
    await lw.add_items(verify.name, items)
    await lw.start_job(verify.name)
    await lw.start_job(correct.name)

    _, token = await lw.create_worker(verify.name, "checker")
    async with server.worker(token) as w:
        task = (await w.next_task()).task
        refs = [e.source_ref for e in task.batch]
        verdicts = [ref not in ("s3://img/1.jpg", "s3://img/3.jpg") for ref in refs]
        await w.submit(
            task.name, answer_pb2.Answer(verification=answer_pb2.VerificationAnswer(correct=verdicts))
        )

    forwarded = await lw.get_job(correct.name)
    assert forwarded.counters.total_items == 2, "each disconfirmed item once, the confirmed ones not"
    _, token = await lw.create_worker(correct.name, "fixer")
    async with server.worker(token) as w:
        seen = []
        while (t := await w.next_task()).HasField("task"):
            metadata = json_format.MessageToDict(t.task.metadata)
            seen.append((t.task.source_ref, metadata["camera"], metadata["upstream"]["job"]))
            assert metadata["upstream"]["label"] == {"verification": {"correct": [False]}}
            await w.submit(t.task.name, classification("person"))
    assert sorted(seen) == [("s3://img/1.jpg", 1, verify.name), ("s3://img/3.jpg", 3, verify.name)]

    final = await labels_of(lw, verify.name)
    for key in ("img1", "img3"):
        assert final[key].method == "routed" and final[key].revision == 2
        assert final[key].value.classification.class_name == "person" and final[key].human_annotated
    assert {final[k].method for k in ("img0", "img2")} == {"verification_vote"}
    stream = await drain(lw.stream_labels(verify.name, snapshot_only=True))
    revisions: dict[str, list[tuple[int, str]]] = {}
    for lab in stream:
        revisions.setdefault(lab.item_key, []).append((lab.revision, lab.method))
    assert revisions["img1"] == revisions["img3"] == [(1, "verification_vote"), (2, "routed")]
    assert revisions["img0"] == [(1, "verification_vote")]
    assert (await lw.get_job(correct.name)).counters.total_items == 2


async def test_model_labels_under_a_confidence_go_to_human_review(server: Harness) -> None:
    """The model-then-humans chain: the model labels what it is sure of, and
    its less sure labels are checked by people in a review job."""
    lw = await server.client()
    review = await lw.create_job("Review", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    spec = job_pb2.Job(model_routing=job_pb2.ModelRouting(class_thresholds={"pos": 0.9}, audit_share=0.0))
    spec.routing_rules.append(rule(review, confidence_below=0.95))
    model_job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0, job=spec)
    items = []
    for key, confidence in (("sure", 0.99), ("unsure", 0.92), ("low", 0.5)):
        item = text_item(key, "truth:pos")
        item.prelabel.classification.class_name = "pos"
        item.prelabel_confidence = confidence
        items.append(item)
    await lw.add_items(model_job.name, items)
    await lw.start_job(review.name)
    await lw.start_job(model_job.name)

    labels = await labels_of(lw, model_job.name)
    assert {k: lab.method for k, lab in labels.items()} == {"sure": "model", "unsure": "model"}
    _, token = await lw.create_worker(model_job.name, "ann")
    async with server.worker(token) as w:
        assert await work(w) == 1  # "low": under the model's threshold, to humans in the job itself
    # "low"'s one human judgment states the worker's estimated skill (a posterior,
    # not a vote share of 1.0), under 0.95 too: the rule sends it to review as well.
    _, token = await lw.create_worker(review.name, "expert")
    async with server.worker(token) as w:
        while (t := await w.next_task()).HasField("task"):
            assert t.task.text == "truth:pos"
            await w.submit(t.task.name, classification("neg"))

    assert set(await labels_of(lw, review.name)) == {"unsure", "low"}
    final = await labels_of(lw, model_job.name)
    for key in ("unsure", "low"):
        assert final[key].value.classification.class_name == "neg"
        assert (final[key].method, final[key].human_annotated) == ("routed", True)
    assert final["sure"].method == "model"


async def test_a_class_rule_forwards_each_item_once_and_later_passes_keep_the_routed_label(
    server: Harness,
) -> None:
    lw = await server.client()
    expert = await lw.create_job("Expert", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    spec = job_pb2.Job()
    spec.routing_rules.append(rule(expert, classes=["neg"]))
    first = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0, job=spec)
    await lw.add_items(first.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(9)])
    await lw.start_job(first.name)
    _, token = await lw.create_worker(first.name, "ann")
    async with server.worker(token) as w:
        assert await work(w) == 9
    before = await lw.get_job(first.name)
    assert before.state == job_pb2.JOB_STATE_RUNNING, "it waits for what it forwarded"
    expert_job = await lw.get_job(expert.name)
    assert expert_job.counters.total_items == 3
    await lw.correct_label(first.name, "i1", classification("pos"))  # the owner's word stays
    await lw.correct_label(first.name, "i2", classification("neg"))  # and is not forwarded
    await lw.start_job(expert.name)
    _, token = await lw.create_worker(expert.name, "pro")
    async with server.worker(token) as w:
        while (t := await w.next_task()).HasField("task"):
            await w.submit(t.task.name, classification("neutral"))
    final = await labels_of(lw, first.name)
    assert (final["i1"].method, final["i1"].value.classification.class_name) == ("owner_correction", "pos")
    routed = {k for k, lab in final.items() if lab.method == "routed"}
    assert routed == {"i4", "i7"}
    assert all(final[k].value.classification.class_name == "neutral" for k in routed)
    assert all(truth(f"truth:{CLASSES[int(k[1]) % 3]}") == "neg" for k in routed)
    await server.running.core.maintain_once()
    assert (await lw.get_job(first.name)).state == job_pb2.JOB_STATE_COMPLETED
    assert (await lw.get_job(expert.name)).counters.total_items == 3


async def _refused(lw: Client, spec: job_pb2.Job) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.create_job("Chained", classes=CLASSES, judgments_per_item=1, quiz_size=0, job=spec)
    return caught.value


async def test_bad_rules_are_refused_naming_the_field(server: Harness) -> None:
    lw = await server.client()
    other = await server.client("another-team")
    theirs = await other.create_job("Theirs", classes=CLASSES, judgments_per_item=1)
    mine = await lw.create_job("Mine", classes=CLASSES, judgments_per_item=1)
    cases = [
        (rule(theirs, classes=["neg"]), "job.routing_rules[0].target_job", "not one of your jobs"),
        (
            job_pb2.RoutingRule(target_job="jobs/999999", classes=["neg"]),
            "target_job",
            "not one of your jobs",
        ),
        (rule(mine), "job.routing_rules[0]", "needs a condition"),
        (rule(mine, classes=["cat"]), "job.routing_rules[0].classes[0]", "names no class"),
        (rule(mine, confidence_below=1.5), "job.routing_rules[0].confidence_below", "at most 1"),
        (rule(mine, verdict=DISCONFIRMED), "job.routing_rules[0].verdict", "verification jobs only"),
        (job_pb2.RoutingRule(target_job="queues/1", classes=["neg"]), "job.routing_rules[0].target_job", ""),
    ]
    for bad, field, words in cases:
        spec = job_pb2.Job()
        spec.routing_rules.append(bad)
        error = await _refused(lw, spec)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (field, error.details())
        assert field in (error.details() or "") and words in (error.details() or "")
    assert [j.display_name async for j in lw.list_jobs()] == ["Mine"], "a refused job changes nothing"


async def test_update_job_refuses_a_rule_that_closes_a_cycle(server: Harness) -> None:
    lw = await server.client()
    c = await lw.create_job("C", classes=CLASSES, judgments_per_item=1)
    spec = job_pb2.Job()
    spec.routing_rules.append(rule(c, classes=["neg"]))
    b = await lw.create_job("B", classes=CLASSES, judgments_per_item=1, job=spec)
    spec = job_pb2.Job()
    spec.routing_rules.append(rule(b, confidence_below=0.8))
    a = await lw.create_job("A", classes=CLASSES, judgments_per_item=1, job=spec)

    loop = job_pb2.Job(name=c.name)
    loop.routing_rules.append(rule(a, classes=["pos"]))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.update_job(loop, ["routing_rules"])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = caught.value.details() or ""
    assert "job.routing_rules[0].target_job" in details and "cycle" in details
    assert f"{c.name} -> {a.name} -> {b.name} -> {c.name}" in details

    itself = job_pb2.Job(name=c.name)
    itself.routing_rules.append(rule(c, classes=["pos"]))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.update_job(itself, ["routing_rules"])
    assert "itself" in (caught.value.details() or "")
    assert not (await lw.get_job(c.name)).routing_rules

    onward = job_pb2.Job(name=c.name)
    d = await lw.create_job("D", classes=CLASSES, judgments_per_item=1)
    onward.routing_rules.append(rule(d, classes=["pos"]))
    assert [r.target_job for r in (await lw.update_job(onward, ["routing_rules"])).routing_rules] == [d.name]


async def test_a_cancelled_target_takes_nothing(server: Harness) -> None:
    lw = await server.client()
    target = await lw.create_job("Gone", classes=CLASSES, judgments_per_item=1)
    spec = job_pb2.Job()
    spec.routing_rules.append(rule(target, classes=["neg"]))
    job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0, job=spec)
    await lw.cancel_job(target.name)
    await lw.add_items(job.name, [text_item("i1", "truth:neg")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        assert await work(w) == 1
    assert (await lw.get_job(target.name)).counters.total_items == 0
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_COMPLETED
    again = job_pb2.Job(name=job.name)
    again.routing_rules.append(rule(target, classes=["neg"]))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.update_job(again, ["routing_rules"])
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "cancelled" in (caught.value.details() or "")


async def test_a_client_following_the_first_job_gets_the_final_label_live(server: Harness) -> None:
    lw = await server.client()
    expert = await lw.create_job("Expert", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    spec = job_pb2.Job()
    spec.routing_rules.append(rule(expert, classes=["neg"]))
    job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0, job=spec)
    await lw.add_items(job.name, [text_item("a", "truth:pos"), text_item("b", "truth:neg")])
    await lw.start_job(job.name)
    await lw.start_job(expert.name)
    following = asyncio.ensure_future(take(lw.stream_labels(job.name), 3))
    _, token = await lw.create_worker(job.name, "ann")
    async with server.worker(token) as w:
        assert await work(w) == 2
    _, token = await lw.create_worker(expert.name, "pro")
    async with server.worker(token) as w:
        task = (await w.next_task()).task
        await w.submit(task.name, classification("neutral"))
    events = await following
    assert [(e.item_key, e.revision, e.method) for e in events[2:]] == [("b", 2, "routed")]
    assert events[2].value.classification.class_name == "neutral"
    assert {e.item_key for e in events[:2]} == {"a", "b"}
