"""An owner's hand on a job's outcome. A correction of a label
(LabelService.CorrectLabel): the next revision in the feed, marked as a
person's, kept by later consolidation passes, refused for gold, unlabeled
items, wrong answers and other clients. A worker disqualified by hand
(JobService.DisqualifyWorker): no more tasks, its items judged again."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client.raw import classification, text_item
from labelwire.v1 import job_pb2, task_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, drain, running_job, work


async def test_a_correction_is_the_items_next_revision_in_the_feed(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=3)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w)
    first = {lab.item_key: lab for lab in await drain(lw.stream_labels(job.name, snapshot_only=True))}

    corrected = await lw.correct_label(job.name, "i0", classification("neg"))

    events = await drain(
        lw.stream_labels(
            job.name, after_sequence=max(lab.sequence for lab in first.values()), snapshot_only=True
        )
    )
    assert [(e.item_key, e.revision, e.value.classification.class_name) for e in events] == [("i0", 2, "neg")]
    assert events[0] == corrected
    assert corrected.method == "owner_correction"
    assert corrected.human_annotated and corrected.confidence == 1.0
    assert corrected.judgment_count == first["i0"].judgment_count
    listed = {lab.item_key: lab async for lab in lw.list_labels(job.name)}
    assert listed["i0"].value.classification.class_name == "neg" and listed["i1"] == first["i1"]
    await lw.close()


async def test_a_later_consolidation_pass_keeps_the_owners_correction(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job(
        "DS",
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=0,
        hidden_gold_share=0,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(30)])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w, limit=3)
        await lw.correct_label(job.name, "i0", classification("neutral"))
        await work(w)
    await server.running.core.maintain_once()

    events = await drain(lw.stream_labels(job.name))
    assert any(e.method == "dawid_skene" for e in events)
    last_i0 = [e for e in events if e.item_key == "i0"][-1]
    assert (last_i0.method, last_i0.value.classification.class_name) == ("owner_correction", "neutral")
    await lw.close()


@pytest.mark.parametrize(
    ("key", "answer", "code", "says"),
    [
        ("i0", classification("cat"), grpc.StatusCode.INVALID_ARGUMENT, "value"),
        ("g0", classification("pos"), grpc.StatusCode.FAILED_PRECONDITION, "gold"),
        ("i1", classification("pos"), grpc.StatusCode.FAILED_PRECONDITION, "no label yet"),
        ("nope", classification("pos"), grpc.StatusCode.NOT_FOUND, "nope"),
    ],
)
async def test_a_correction_that_cannot_apply_is_refused_naming_why(
    server: Harness, key: str, answer: object, code: grpc.StatusCode, says: str
) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2, gold=1)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w, limit=1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.correct_label(job.name, key, answer)  # type: ignore[arg-type]
    assert caught.value.code() == code
    assert says in (caught.value.details() or "")
    await lw.close()


async def test_another_clients_key_cannot_correct_a_label(server: Harness) -> None:
    lw = await server.client("owner")
    rival = await server.client("rival")
    job = await running_job(lw, items=1)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await rival.correct_label(job.name, "i0", classification("neg"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    labels = [lab async for lab in lw.list_labels(job.name)]
    assert labels[0].method != "owner_correction"
    await lw.close()
    await rival.close()


async def test_a_worker_disqualified_by_hand_gets_no_tasks_and_its_items_are_judged_again(
    server: Harness,
) -> None:
    lw = await server.client()
    job = await running_job(lw, items=3)
    ada, ada_token = await lw.create_worker(job.name, "Ada")
    _, bo_token = await lw.create_worker(job.name, "Bo")
    async with server.worker(ada_token) as w:
        assert await work(w, right=False) == 3

    record = await lw.disqualify_worker(ada.name)

    assert record.status == task_pb2.WORKER_STATUS_DISQUALIFIED
    async with server.worker(ada_token) as w:
        assert not (await w.next_task()).HasField("task")
    async with server.worker(bo_token) as w:
        assert await work(w) == 3
    latest = {lab.item_key: lab async for lab in lw.list_labels(job.name)}
    assert {k: lab.value.classification.class_name for k, lab in latest.items()} == {
        "i0": "pos",
        "i1": "neg",
        "i2": "neutral",
    }
    assert all(lab.revision == 2 for lab in latest.values())
    again = await lw.disqualify_worker(ada.name)
    assert again.status == task_pb2.WORKER_STATUS_DISQUALIFIED
    await lw.close()


async def test_another_clients_key_cannot_disqualify_a_worker(server: Harness) -> None:
    lw = await server.client("owner")
    rival = await server.client("rival")
    job = await running_job(lw, items=1)
    ada, _ = await lw.create_worker(job.name, "Ada")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await rival.disqualify_worker(ada.name)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    await lw.close()
    await rival.close()


async def test_a_requalified_worker_gets_tasks_again_and_its_excluded_judgments_stay_out(
    server: Harness,
) -> None:
    lw = await server.client()
    job = await running_job(lw, items=4, judgments=2)
    ada, ada_token = await lw.create_worker(job.name, "Ada")
    _, bo_token = await lw.create_worker(job.name, "Bo")
    async with server.worker(ada_token) as w:
        assert await work(w, limit=2) == 2
    disqualified = await lw.disqualify_worker(ada.name)
    assert disqualified.status == task_pb2.WORKER_STATUS_DISQUALIFIED

    requalified = await lw.requalify_worker(ada.name)
    assert requalified.status == task_pb2.WORKER_STATUS_QUALIFIED
    assert (await lw.requalify_worker(ada.name)).status == task_pb2.WORKER_STATUS_QUALIFIED
    async with server.worker(ada_token) as w:
        again = await work(w)
    async with server.worker(bo_token) as w:
        await work(w)
    # Ada gets the two items she had not judged; her first two judgments stay
    # excluded, and she is not asked those items again.
    assert again == 2
    judgments = [j async for j in lw.list_judgments(job.name, worker=ada.name)]
    assert sorted(j.excluded for j in judgments) == [False, False, True, True]
    assert {w.display_name: w.status for w in await lw.list_workers(job.name)}["Ada"] == (
        task_pb2.WORKER_STATUS_QUALIFIED
    )
    await lw.close()


async def test_requalify_is_refused_for_a_worker_in_the_quiz_or_of_another_client(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2, gold=2, quiz_size=2)
    worker, _ = await lw.create_worker(job.name, "new")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.requalify_worker(worker.name)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "quiz" in (caught.value.details() or "")
    other = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await other.requalify_worker(worker.name)
    assert caught.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)
    await lw.close()
    await other.close()


async def test_an_items_revisions_come_oldest_first_and_an_unknown_item_is_not_found(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=3)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w)
    await lw.correct_label(job.name, "i1", classification("neutral"))
    await lw.correct_label(job.name, "i1", classification("pos"))

    history = await lw.label_revisions(job.name, "i1")
    assert [(lab.revision, lab.value.classification.class_name, lab.method) for lab in history] == [
        (1, "neg", "majority_vote_posterior"),
        (2, "neutral", "owner_correction"),
        (3, "pos", "owner_correction"),
    ]
    assert all(lab.item_key == "i1" for lab in history)
    assert [lab.revision for lab in await lw.label_revisions(job.name, "i0")] == [1]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.label_revisions(job.name, "nope")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    await lw.close()
