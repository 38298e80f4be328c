"""GetItem: the owner reads one item back as it was added (gold and all),
with its state, current label and the workers' comments on it; nobody
else reads it."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client.raw import classification, text_item
from labelwire.v1 import item_pb2, job_service_pb2
from tests.conftest import ADMIN_KEY, Harness
from tests.helpers import CLASSES, truth


async def status_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return err.value.code(), err.value.details() or ""


async def test_the_owner_reads_an_item_its_label_and_its_comments(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("Items", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    gold = text_item("g0", "truth:neg", gold="neg", gold_use=item_pb2.GOLD_USE_HIDDEN)
    gold.gold_explanation = "It broke on day one."
    json_item = item_pb2.Item(key="j0", json='{"a": [1, 2]}')
    await lw.add_items(
        job.name, [text_item("w0", "truth:pos", metadata={"source": "shop", "n": 3}), gold, json_item]
    )
    waiting = await lw.get_item(job.name, "w0")
    assert waiting.item.text == "truth:pos"
    assert dict(waiting.item.metadata) == {"source": "shop", "n": 3}
    assert waiting.state == job_service_pb2.ITEM_STATE_OPEN
    assert not waiting.HasField("label") and not waiting.item.HasField("gold_answer")
    assert (await lw.get_item(job.name, "j0")).item.json == '{"a": [1, 2]}'
    secret = await lw.get_item(job.name, "g0")
    assert secret.item.gold_answer.classification.class_name == "neg"
    assert secret.item.gold_use == item_pb2.GOLD_USE_HIDDEN
    assert secret.item.gold_explanation == "It broke on day one."

    await lw.start_job(job.name)
    _, bo = await lw.create_worker(job.name, "Bo")
    async with server.worker(bo) as b:
        declined = (await b.next_task()).task
        await b.decline(declined.name, "Not English")
    declined_key = {"truth:pos": "w0", "truth:neg": "g0"}.get(declined.text, "j0")
    _, token = await lw.create_worker(job.name, "Ada")
    async with server.worker(token) as w:
        for _ in range(3):
            task = (await w.next_task()).task
            if not task.name:
                break
            await w.submit(task.name, classification(truth(task.text) if task.text else "pos"))
            if task.text == "truth:pos":
                await w.comment(task.name, "<b>cut off</b>")
                await w.comment(task.name, "second thought")
    labeled = await lw.get_item(job.name, "w0")
    assert labeled.state == job_service_pb2.ITEM_STATE_LABELED
    assert labeled.label.value.classification.class_name == "pos"
    assert labeled.label.item_key == "w0" and labeled.label.revision == 1
    assert [(c.text, c.worker_display_name, c.item_key) for c in labeled.comments] == [
        ("second thought", "Ada", "w0"),
        ("<b>cut off</b>", "Ada", "w0"),
    ]
    assert labeled.routed_from_job == ""
    declines = (await lw.get_item(job.name, declined_key)).declines
    assert [
        (d.worker_display_name, d.reason, d.worker.startswith(f"{job.name}/workers/")) for d in declines
    ] == [("Bo", "Not English", True)]
    assert declines[0].decline_time.seconds > 0
    assert not (await lw.get_item(job.name, "j0" if declined_key != "j0" else "w0")).declines

    code, message = await status_of(lw.get_item(job.name, "nope"))
    assert code == grpc.StatusCode.NOT_FOUND and "'nope'" in message
    code, message = await status_of(lw.get_item(job.name, ""))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "item_key" in message
    stranger = await server.client("stranger")
    code, _ = await status_of(stranger.get_item(job.name, "g0"))
    assert code == grpc.StatusCode.NOT_FOUND
    admin = type(lw)(server.target, ADMIN_KEY)
    code, _ = await status_of(admin.get_item(job.name, "g0"))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    for c in (lw, stranger, admin):
        await c.close()
