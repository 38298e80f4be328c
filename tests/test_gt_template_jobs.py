"""A custom job carrying a Ground Truth template, over a real port and a real S3
server: refused at CreateJob when it cannot render, rendered per task with
links presigned for the lease inside the owner's prefix."""

from __future__ import annotations

import html.parser
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

from labelwire.client.raw import Client
from labelwire.server.core.auth import parse as parse_token
from labelwire.server.files.policy import FilesSettings
from labelwire.v1 import answer_pb2, item_pb2, job_pb2
from tests.conftest import Clock, Harness, serving
from tests.test_errors import violations

FIELD = "job.task_config.custom.groundtruth_template"
# The bulk-QA seed's template: every image of the batch with a ticked box under it.
BULK_QA = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <p>Untick every image that is not a {{ task.input.sourceRef[0].label }}.</p>
  {% for ref in task.input.sourceRef %}{% assign i = forloop.index0 %}
  <figure>
    <img src="{{ task.input.sourceRef[i].source-ref | grant_read_access }}" alt="image {{ i }}">
    <crowd-checkbox checked="true" name="{{ task.input.sourceRef[i].label }}-{{i}}">{{ task.input.sourceRef[i].label }}</crowd-checkbox>
  </figure>
  {% endfor %}
</crowd-form>
"""


@dataclass
class Bucket:
    name: str
    s3: Any


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"lw-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield Bucket(name, s3)


@pytest.fixture
async def s3_server(database: str, clock: Clock, bucket: Bucket) -> AsyncIterator[Harness]:
    async with serving(database, clock, FilesSettings.build(None, [f"s3://{bucket.name}/labelwire"])) as h:
        yield h


def client_id(client: Client) -> int:
    parsed = parse_token(dict(client.metadata)["authorization"].removeprefix("Bearer "))
    assert parsed is not None
    return parsed[1]


async def gt_job(lw: Client, gt_template: str, **custom: Any) -> job_pb2.Job:
    spec = job_pb2.Job(display_name="Bulk QA")
    spec.task_config.custom.groundtruth_template = gt_template
    for key, value in custom.items():
        setattr(spec.task_config.custom, key, value)
    return await lw.create_job(
        "Bulk QA", classes=[], judgments_per_item=1, quiz_size=0, hidden_gold_share=0, job=spec
    )


class Page(html.parser.HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def attr(self, tag: str, name: str) -> list[str | None]:
        return [a.get(name) for t, a in self.tags if t == tag]


async def test_a_template_with_a_syntax_error_is_refused_naming_the_field(server: Harness) -> None:
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await gt_job(lw, "<crowd-form>{% for r in task.input.sourceRef %}<img></crowd-form>")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == f"{FIELD} is not valid Liquid: expected tag endfor, found end of expression"
    assert [field for field, _ in violations(err.value)] == [FIELD]
    assert [job async for job in lw.list_jobs()] == []
    await lw.close()


async def test_a_template_with_a_filter_ground_truth_lacks_is_refused(server: Harness) -> None:
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await gt_job(lw, "{{ task.input.source | presign }}")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert FIELD in (err.value.details() or "") and "'presign'" in (err.value.details() or "")
    await lw.close()


async def test_a_plain_template_and_a_ground_truth_one_together_are_refused(server: Harness) -> None:
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await gt_job(lw, "<crowd-form></crowd-form>", template="<form></form>")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.value.details() or "").startswith(
        f"{FIELD} and job.task_config.custom.template are exclusive"
    )
    await lw.close()


async def test_each_task_gets_its_page_with_images_presigned_for_the_lease(
    s3_server: Harness, bucket: Bucket, clock: Clock
) -> None:
    lw = await s3_server.client()
    mine = f"labelwire/{client_id(lw)}"
    for i in range(25):
        bucket.s3.put_object(Bucket=bucket.name, Key=f"{mine}/cats/{i}.png", Body=f"png {i}".encode())
    refs = [{"source-ref": f"s3://{bucket.name}/{mine}/cats/{i}.png", "label": "cat"} for i in range(25)]
    job = await gt_job(lw, BULK_QA)
    await lw.add_items(job.name, [item_pb2.Item(key="batch-1", json=json.dumps({"sourceRef": refs}))])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with s3_server.worker(token) as worker:
        before = clock()
        task = (await worker.next_task()).task
        after = clock()

    page = Page(task.rendered_template)
    assert page.attr("crowd-checkbox", "name") == [f"cat-{i}" for i in range(25)]
    assert page.attr("crowd-checkbox", "checked") == ["true"] * 25
    links = [str(src) for src in page.attr("img", "src")]
    assert len(links) == 25 and all("X-Amz-Signature=" in link for link in links)
    lives = {int(parse_qs(urlsplit(link).query)["X-Amz-Expires"][0]) for link in links}
    ends = task.lease_expire_time.seconds + task.lease_expire_time.nanos / 1e9
    assert len(lives) == 1 and ends - after - 1 <= lives.pop() <= ends - before
    async with httpx.AsyncClient() as http:
        bodies = [(await http.get(link)).content for link in links]
    assert bodies == [f"png {i}".encode() for i in range(25)]
    await lw.close()


async def test_a_reference_outside_the_owners_prefix_shows_the_worker_why_and_no_link(
    s3_server: Harness, bucket: Bucket
) -> None:
    lw = await s3_server.client()
    other = f"s3://{bucket.name}/labelwire/{client_id(lw) + 1}/secret.png"
    job = await gt_job(lw, '<img src="{{ task.input.source-ref | grant_read_access }}">')
    await lw.add_items(job.name, [item_pb2.Item(key="k", source_ref=other)])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with s3_server.worker(token) as worker:
        task = (await worker.next_task()).task
    assert 'role="alert"' in task.rendered_template
    assert "outside the S3 prefixes open to you" in task.rendered_template
    assert "X-Amz-Signature" not in task.rendered_template and "<img" not in task.rendered_template
    await lw.close()


async def test_the_next_task_handed_with_a_submission_comes_rendered_too(server: Harness) -> None:
    lw = await server.client()
    job = await gt_job(lw, "<crowd-form><p>{{ task.input.source }}</p></crowd-form>")
    await lw.add_items(job.name, [item_pb2.Item(key=k, text=f"<{k}>") for k in ("a", "b")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as worker:
        first = (await worker.next_task()).task
        answer = answer_pb2.Answer()
        answer.custom.update({"ok": True})
        following = (await worker.submit(first.name, answer, want_next=True)).next.task
    pages = sorted([first.rendered_template, following.rendered_template])
    assert pages == ["<crowd-form><p>&lt;a&gt;</p></crowd-form>", "<crowd-form><p>&lt;b&gt;</p></crowd-form>"]
    await lw.close()
