"""What the console gets from the server's files side without a server path:
the Ground Truth augmented manifest, streamed by StreamLabelManifest into a
file the browser saves (equal to the one ExportLabels writes under the files
root), and an item's s3:// image through the link GetItem presigns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from labelwire.client.raw import WorkerClient, source_item, text_item
from labelwire.server.core.auth import parse as parse_token
from labelwire.server.files import png
from labelwire.server.files.policy import FilesSettings
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live, live_server
from tests.browser.test_console import owner, shot, sign_in
from tests.browser.test_worker_app_groundtruth import bucket, live_s3  # noqa: F401
from tests.conftest import client_folder
from tests.helpers import CLASSES, work


@pytest.fixture
def files_root(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    root.mkdir()
    return root


@pytest.fixture
def live_files(database: str, files_root: Path) -> Iterator[Live]:
    with live_server(database, FilesSettings.build(files_root)) as live:
        yield live


def test_the_downloaded_manifest_parses_and_equals_what_export_labels_writes(
    live_files: Live, page: Page, files_root: Path, tmp_path: Path
) -> None:
    live = live_files
    key, lw = owner(live)
    keys = ["plain", "<script>alert(1)</script>", "café"]

    async def setup() -> job_pb2.Job:
        job = await lw.create_job("Shop reviews", classes=CLASSES, judgments_per_item=1, quiz_size=0)
        items = [text_item(k, f"truth:{CLASSES[n]}", metadata={"n": n}) for n, k in enumerate(keys)]
        await lw.add_items(job.name, [*items, text_item("open", "truth:pos")])
        await lw.start_job(job.name)
        _, token = await lw.create_worker(job.name, "Ada")
        async with WorkerClient(live.target, token) as worker:
            assert await work(worker, limit=3) == 3
        return job

    job = live.run(setup)
    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/labels")
    expect(page.get_by_role("table", name="Labels").get_by_role("row")).to_have_count(4)
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download manifest (Ground Truth)").press("Enter")
    path = tmp_path / "download.manifest"
    caught.value.save_as(path)
    expect(page.get_by_text("Downloaded the manifest: 4 items.")).to_be_visible()
    shot(page, "labels-manifest")
    assert caught.value.suggested_filename == "Shop-reviews.manifest"
    downloaded = path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in downloaded]

    live.run(lambda: lw.export_labels(job.name, "labels.manifest"))
    written = (client_folder(files_root, lw) / "labels.manifest").read_text(encoding="utf-8").splitlines()
    assert downloaded == written
    assert [r["source"] for r in records] == [f"truth:{c}" for c in CLASSES] + ["truth:pos"]
    assert sum(r.get("label-metadata", {}).get("human-annotated") == "yes" for r in records) == 3
    assert page.locator("main script").count() == 0


def test_an_s3_image_shows_through_its_presigned_link_and_one_outside_the_prefixes_does_not(
    live_s3: Live,  # noqa: F811
    page: Page,
    bucket: tuple[str, Any],  # noqa: F811
) -> None:
    live, (name, s3) = live_s3, bucket
    key, lw = owner(live)
    mine = f"labelwire/{parse_token(key)[1]}"  # type: ignore[index]
    picture = png.encode_rgba(np.full((90, 120, 4), (200, 120, 40, 255), dtype=np.uint8))
    s3.put_object(Bucket=name, Key=f"{mine}/cat.png", Body=picture, ContentType="image/png")

    async def setup() -> job_pb2.Job:
        job = await lw.create_job(
            "Photos", classes=CLASSES, judgments_per_item=1, quiz_size=0, media_type=job_pb2.MEDIA_TYPE_IMAGE
        )
        await lw.add_items(
            job.name,
            [
                source_item("cat", f"s3://{name}/{mine}/cat.png"),
                source_item("elsewhere", f"s3://{name}/other/cat.png"),
            ],
        )
        return job

    job = live.run(setup)
    loaded: list[str] = []
    page.on("requestfinished", lambda r: loaded.append(r.url) if "cat.png" in r.url else None)
    sign_in(page, live, key)
    job_id = job.name.removeprefix("jobs/")
    page.goto(f"{live.url}/console/#/jobs/{job_id}/items/cat")
    expect(page.get_by_role("img", name="Item cat")).to_be_visible()
    page.wait_for_function("() => document.querySelector('main img')?.naturalWidth === 120")
    shot(page, "item-s3-image")
    [url] = loaded
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=900" in url
    expect(page.get_by_role("link", name=f"s3://{name}/{mine}/cat.png")).to_be_visible()
    page.goto(f"{live.url}/console/#/jobs/{job_id}/items/elsewhere")
    expect(page.get_by_role("region", name="Content")).to_contain_text(
        "cannot be shown in the browser (the server presigns only files under the S3 prefixes"
    )
    assert page.locator("main img").count() == 0
