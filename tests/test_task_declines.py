"""ListTaskDeclines: the owner reads every decline of the job's tasks with
its item, worker and reason, newest first, in pages; bad page sizes are
refused by name."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client import AsyncClient
from labelwire.client.raw import text_item
from labelwire.v1 import job_service_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES


async def test_the_owner_lists_every_decline_with_item_worker_and_reason(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("Declines", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(3)])
    await lw.start_job(job.name)
    by_text = {f"truth:{CLASSES[n % 3]}": f"i{n}" for n in range(3)}
    given: list[tuple[str, str, str]] = []
    for name, reasons in (("Bo", ["Not English", "Too long"]), ("Cy", [""])):
        _, token = await lw.create_worker(job.name, name)
        async with server.worker(token) as w:
            for reason in reasons:
                task = (await w.next_task()).task
                await w.decline(task.name, reason)
                given.append((name, by_text[task.text], reason))

    declines = await lw.list_task_declines(job.name)
    assert [(d.worker_display_name, d.item_key, d.reason) for d in declines] == given[::-1]
    assert all(d.worker.startswith(f"{job.name}/workers/") and d.decline_time.seconds > 0 for d in declines)
    keys = [d.item_key for d in declines]
    # The item keys agree with each item's own record of its declines.
    for key in set(keys):
        mine = [(d.worker_display_name, d.reason) for d in declines if d.item_key == key]
        assert [
            (d.worker_display_name, d.reason) for d in (await lw.get_item(job.name, key)).declines
        ] == mine

    async with AsyncClient(server.target, lw.metadata[0][1].removeprefix("Bearer ")) as friendly:
        mine = await friendly.declines(job.name)
    assert [(d.worker_display_name, d.key, d.reason) for d in mine] == given[::-1]
    assert all(d.declined > 0 for d in mine)

    first = await lw.jobs.ListTaskDeclines(
        job_service_pb2.ListTaskDeclinesRequest(job=job.name, page_size=2), metadata=lw.metadata
    )
    assert len(first.declines) == 2 and first.next_page_token
    rest = await lw.jobs.ListTaskDeclines(
        job_service_pb2.ListTaskDeclinesRequest(job=job.name, page_size=2, page_token=first.next_page_token),
        metadata=lw.metadata,
    )
    assert list(first.declines) + list(rest.declines) == declines and not rest.next_page_token

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lw.jobs.ListTaskDeclines(
            job_service_pb2.ListTaskDeclinesRequest(job=job.name, page_size=1001), metadata=lw.metadata
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_size" in (err.value.details() or "")
