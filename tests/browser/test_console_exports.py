"""Downloads on the labels page that the server builds: the Ground Truth
augmented manifest, streamed by StreamLabelManifest into a file the browser
saves, equal to the one ExportLabels writes under the files root."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from labelwire.client.raw import WorkerClient, text_item
from labelwire.server.files.policy import FilesSettings
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live, live_server
from tests.browser.test_console import owner, shot, sign_in
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
