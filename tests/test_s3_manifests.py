"""ImportManifest and ExportLabels against a real S3 server on this machine,
inside the prefixes the operator allows and each client's own sub-prefix."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import grpc
import httpx
import pytest

from labelwire.client.raw import Client, classification, source_item
from labelwire.server.core.auth import parse as parse_token
from labelwire.server.files.policy import FilesSettings
from tests.conftest import Clock, Harness, serving
from tests.helpers import CLASSES, running_job

PLANTED = '{"source": "planted", "id": "p1"}\n'


@dataclass
class Buckets:
    name: str
    other: str
    s3: Any

    def put(self, key: str, body: str, bucket: str | None = None) -> None:
        self.s3.put_object(Bucket=bucket or self.name, Key=key, Body=body.encode())

    def read(self, key: str) -> str:
        body: bytes = self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()
        return body.decode()

    def keys(self) -> dict[str, list[str]]:
        return {
            b: sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=b).get("Contents", []))
            for b in (self.name, self.other)
        }


@pytest.fixture
def buckets(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Buckets]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name, other = f"lw-{uuid.uuid4().hex[:16]}", f"lw-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket=other)
    yield Buckets(name, other, s3)


@pytest.fixture
async def s3_server(database: str, clock: Clock, buckets: Buckets) -> AsyncIterator[Harness]:
    """Clients may use s3://<bucket>/labelwire/<client id>/ and nothing else."""
    async with serving(database, clock, FilesSettings.build(None, [f"s3://{buckets.name}/labelwire"])) as h:
        yield h


def client_id(client: Client) -> int:
    parsed = parse_token(dict(client.metadata)["authorization"].removeprefix("Bearer "))
    assert parsed is not None
    return parsed[1]


async def refused(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return err.value.code(), err.value.details() or ""


async def test_import_from_s3_and_export_back_to_s3(s3_server: Harness, buckets: Buckets) -> None:
    lw = await s3_server.client()
    mine = f"labelwire/{client_id(lw)}"
    lines = [{"source": f"text {i}", "id": f"k{i}", "batch": "b1"} for i in range(3)]
    buckets.put(f"{mine}/in/input.manifest", "\n".join(json.dumps(line) for line in lines) + "\n")
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0)
    imported = await lw.import_manifest(
        job.name, f"s3://{buckets.name}/{mine}/in/input.manifest", key_field="id"
    )
    assert imported.added_count == 3
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with s3_server.worker(token) as w:
        while (t := await w.next_task()).HasField("task"):
            await w.submit(t.task.name, classification("neg"))
    exported = await lw.export_labels(job.name, f"s3://{buckets.name}/{mine}/out/output.manifest")
    rows = [json.loads(line) for line in buckets.read(f"{mine}/out/output.manifest").splitlines()]
    assert exported.label_count == 3 and exported.line_count == 3 and len(rows) == 3
    assert {r["source"] for r in rows} == {"text 0", "text 1", "text 2"} and rows[0]["batch"] == "b1"
    assert [r["labelwire-key"] for r in rows] == ["k0", "k1", "k2"]
    assert all(int(r["label"]) == 1 and r["label-metadata"]["class-name"] == "neg" for r in rows)
    await lw.close()


async def test_import_of_a_missing_s3_object_is_refused(s3_server: Harness, buckets: Buckets) -> None:
    lw = await s3_server.client()
    job = await lw.create_job("J", classes=CLASSES)
    uri = f"s3://{buckets.name}/labelwire/{client_id(lw)}/nope.manifest"
    code, message = await refused(lw.import_manifest(job.name, uri))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "nope.manifest" in message and "NoSuchKey" in message
    await lw.close()


HOSTILE = {
    "another client's sub-prefix": "s3://{bucket}/labelwire/{other}/x.manifest",
    "the allowed prefix itself": "s3://{bucket}/labelwire/x.manifest",
    "outside the prefix": "s3://{bucket}/elsewhere/x.manifest",
    "a prefix that merely starts alike": "s3://{bucket}/labelwire-old/{me}/x.manifest",
    "another bucket": "s3://{other_bucket}/labelwire/{me}/x.manifest",
    "dot-dot": "s3://{bucket}/labelwire/{me}/../{other}/x.manifest",
    "double slash": "s3://{bucket}/labelwire//{me}/x.manifest",
    "no bucket": "s3:///labelwire/{me}/x.manifest",
    "no key": "s3://{bucket}",
    "a prefix, not an object": "s3://{bucket}/labelwire/{me}/",
    "upper-case scheme": "S3://{bucket}/labelwire/{me}/x.manifest",
}


@pytest.mark.parametrize("case", HOSTILE)
async def test_s3_uris_outside_the_clients_own_prefix_read_and_write_nothing(
    s3_server: Harness, buckets: Buckets, case: str
) -> None:
    lw = await s3_server.client()
    me = client_id(lw)
    other = me + 1000
    for bucket in (buckets.name, buckets.other):
        for key in (
            f"labelwire/{other}/x.manifest",
            "labelwire/x.manifest",
            "elsewhere/x.manifest",
            f"labelwire-old/{me}/x.manifest",
            f"labelwire/{me}/x.manifest",
        ):
            buckets.put(key, PLANTED, bucket)
    uri = HOSTILE[case].format(bucket=buckets.name, other_bucket=buckets.other, me=me, other=other)
    job = await running_job(lw, items=1)
    before = buckets.keys()
    code, message = await refused(lw.import_manifest(job.name, uri))
    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED)
    assert message.startswith("uri") and "planted" not in message
    code, _ = await refused(lw.export_labels(job.name, uri))
    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED)
    assert (await lw.get_job(job.name)).counters.total_items == 1
    assert buckets.keys() == before
    assert buckets.read(f"labelwire/{other}/x.manifest") == PLANTED
    await lw.close()


async def test_shared_prefixes_let_every_client_use_the_whole_prefix(
    database: str, clock: Clock, buckets: Buckets
) -> None:
    buckets.put("team/in.manifest", PLANTED)
    files = FilesSettings.build(None, [f"s3://{buckets.name}/team/"], s3_shared=True)
    async with serving(database, clock, files) as server:
        lw = await server.client()
        job = await lw.create_job("J", classes=CLASSES)
        added = await lw.import_manifest(job.name, f"s3://{buckets.name}/team/in.manifest", key_field="id")
        assert added.added_count == 1
        code, _ = await refused(lw.import_manifest(job.name, f"s3://{buckets.name}/other/in.manifest"))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        await lw.close()


async def test_without_allowed_prefixes_s3_is_refused(server: Harness, buckets: Buckets) -> None:
    buckets.put("any/in.manifest", PLANTED)
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    code, message = await refused(lw.import_manifest(job.name, f"s3://{buckets.name}/any/in.manifest"))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "no s3:// URIs" in message
    code, _ = await refused(lw.export_labels(job.name, f"s3://{buckets.name}/any/out.manifest"))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert buckets.keys()[buckets.name] == ["any/in.manifest"]
    await lw.close()


async def test_s3_errors_name_the_uri_and_s3s_code_only(
    database: str, clock: Clock, buckets: Buckets
) -> None:
    files = FilesSettings.build(None, ["s3://lw-no-such-bucket/x"], s3_shared=True)
    async with serving(database, clock, files) as server:
        lw = await server.client()
        job = await running_job(lw, items=1)
        uri = "s3://lw-no-such-bucket/x/out.manifest"
        for call in (lw.export_labels(job.name, uri), lw.import_manifest(job.name, uri)):
            code, message = await refused(call)
            assert code == grpc.StatusCode.INVALID_ARGUMENT
            assert message.startswith(f"uri '{uri}' cannot be") and message.endswith("in S3: NoSuchBucket")
        await lw.close()


async def test_get_item_presigns_only_s3_images_under_the_owners_prefix(
    s3_server: Harness, buckets: Buckets
) -> None:
    """The link is a SigV4 presigned GET that reads the object from the S3
    server; a URI in another bucket, another client's sub-prefix or an https
    address gets no link."""
    lw = await s3_server.client()
    mine = f"labelwire/{client_id(lw)}"
    buckets.put(f"{mine}/img/cat.png", "the cat's bytes")
    buckets.put("labelwire/999/img/dog.png", "another client's dog")
    buckets.put("img/fox.png", "the other bucket's fox", bucket=buckets.other)
    job = await lw.create_job("Pictures", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    await lw.add_items(
        job.name,
        [
            source_item("cat", f"s3://{buckets.name}/{mine}/img/cat.png"),
            source_item("dog", f"s3://{buckets.name}/labelwire/999/img/dog.png"),
            source_item("fox", f"s3://{buckets.other}/img/fox.png"),
            source_item("web", "https://example.com/cat.png"),
        ],
    )
    cat = await lw.get_item(job.name, "cat")
    query = parse_qs(urlsplit(cat.source_url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["900"]
    async with httpx.AsyncClient() as http:
        fetched = await http.get(cat.source_url)
    assert fetched.status_code == 200 and fetched.text == "the cat's bytes"
    for key in ("dog", "fox", "web"):
        assert (await lw.get_item(job.name, key)).source_url == "", key
    await lw.close()
