"""ImportManifest and ExportLabels against a real S3 server on this machine."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pytest

from labelwire.client import classification
from tests.conftest import Harness
from tests.helpers import CLASSES


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, object]]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"lw-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield name, s3


async def test_import_from_s3_and_export_back_to_s3(server: Harness, bucket: tuple[str, object]) -> None:
    name, s3 = bucket
    lines = [{"source": f"text {i}", "id": f"k{i}", "batch": "b1"} for i in range(3)]
    body = "\n".join(json.dumps(line) for line in lines) + "\n"
    s3.put_object(Bucket=name, Key="in/input.manifest", Body=body.encode())  # type: ignore[attr-defined]
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0)
    imported = await lw.import_manifest(job.name, f"s3://{name}/in/input.manifest", key_field="id")
    assert imported.added_count == 3
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        while (t := await w.next_task()).HasField("task"):
            await w.submit(t.task.name, classification("neg"))
    exported = await lw.export_labels(job.name, f"s3://{name}/out/output.manifest")
    text = s3.get_object(Bucket=name, Key="out/output.manifest")["Body"].read().decode()  # type: ignore[attr-defined]
    rows = [json.loads(line) for line in text.splitlines()]
    assert exported.label_count == 3 and len(rows) == 3
    assert {r["source"] for r in rows} == {"text 0", "text 1", "text 2"} and rows[0]["batch"] == "b1"
    assert all(int(r["label"]) == 1 and r["label-metadata"]["class-name"] == "neg" for r in rows)
    await lw.close()


async def test_import_of_a_missing_s3_object_is_refused(server: Harness, bucket: tuple[str, object]) -> None:
    import grpc

    name, _ = bucket
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lw.import_manifest(job.name, f"s3://{name}/nope.manifest")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "nope.manifest" in (
        err.value.details() or ""
    )
    await lw.close()
