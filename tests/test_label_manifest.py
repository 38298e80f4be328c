"""StreamLabelManifest: the lines ExportLabels writes, streamed to the caller
with nothing written on the server, in messages cut by size."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import classification, text_item
from labelwire.server.core import label_exports
from labelwire.v1 import label_service_pb2, label_service_pb2_grpc
from tests.conftest import Harness, client_folder
from tests.helpers import CLASSES, drain, truth


async def test_the_streamed_manifest_equals_the_written_one_line_for_line(
    files_server: Harness, files_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(label_exports, "MANIFEST_PAGE", 3)  # several pages of items
    lw = await files_server.client()
    folder = client_folder(files_root, lw)
    job = await lw.create_job("Café reviews", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    await lw.add_items(
        job.name,
        [text_item(f"i{n}", f"truth:{CLASSES[n % 3]} ☕", metadata={"n": n}) for n in range(8)],
    )
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "Ada")
    async with files_server.worker(token) as ada:
        for _ in range(5):
            task = (await ada.next_task()).task
            await ada.submit(task.name, classification(truth(task.text.removesuffix(" ☕"))))
    before = sorted(p.name for p in folder.iterdir())
    streamed = [line async for line in lw.stream_label_manifest(job.name, label_job_name="reviews-1")]
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written
    await lw.export_labels(job.name, "out.manifest", label_job_name="reviews-1")
    written = (folder / "out.manifest").read_text(encoding="utf-8").splitlines()
    assert streamed == written and len(streamed) == 8
    records = [json.loads(line) for line in streamed]
    assert sum("label" in r for r in records) == 5 == sum("label-metadata" in r for r in records)
    assert {r["label-metadata"]["job-name"] for r in records if "label-metadata" in r} == {"reviews-1"}
    await lw.close()


async def test_messages_are_cut_by_size_and_bad_names_are_refused(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("Big", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    blob = "m" * 60_000
    await lw.add_items(job.name, [text_item(f"i{n}", "t", metadata={"blob": blob}) for n in range(40)])
    stub = label_service_pb2_grpc.LabelServiceStub(lw.channel)
    request = label_service_pb2.StreamLabelManifestRequest(job=job.name)
    messages = await drain(stub.StreamLabelManifest(request, metadata=lw.metadata))
    assert sum(len(m.lines) for m in messages) == 40
    assert len(messages) >= 3 and all(m.ByteSize() <= 1024 * 1024 for m in messages)
    bad = label_service_pb2.StreamLabelManifestRequest(job=job.name, label_job_name="-no-")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await drain(stub.StreamLabelManifest(bad, metadata=lw.metadata))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "label_job_name" in (refused.value.details() or "")
    await lw.close()
