"""Bulk verification in the worker app, in Chromium: a grid of the batch's
items, all confirmed until marked wrong by a click or by the arrow keys and
Space; Enter sends one verdict per item, each landing on its own item."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from labelwire.client.raw import source_item
from labelwire.v1 import job_pb2
from tests.browser import test_worker_app_preload as preload
from tests.browser.conftest import Live, screenshot
from tests.browser.test_worker_app import WORKERS_DONE, labels, sign_in, start_job
from tests.browser.test_worker_app_preload import Pictures

pictures = preload.pictures  # the image server fixture


def test_a_batch_is_confirmed_by_default_and_marked_by_click_or_keys(
    live: Live, page: Page, pictures: Pictures
) -> None:
    lw = live.client()
    items = []
    for n in range(6):
        item = source_item(f"c{n}", f"{pictures.url}/c{n}.png")
        item.prelabel.classification.class_name = "car"
        item.prelabel_confidence = 0.8 + n * 0.03
        items.append(item)
    spec = job_pb2.Job(media_type=job_pb2.MEDIA_TYPE_IMAGE)
    spec.task_config.verification.classes.extend([job_pb2.LabelClass(name=c) for c in ("car", "person")])
    spec.task_config.verification.batch_size = 6
    job, token = start_job(live, lw, items, classes=[], job=spec, judgments_per_item=1, quiz_size=0)
    sign_in(page, live, token)
    expect(page.get_by_text("The model says: car (6 items)")).to_be_visible()
    cell = [page.get_by_role("button", name=f"Item {n} is wrong") for n in range(1, 7)]
    key_of = [Path(c.get_by_role("img").get_attribute("src") or "").stem for c in cell]
    assert sorted(key_of) == [f"c{n}" for n in range(6)]
    expect(page.get_by_role("status").filter(has_text="confirmed")).to_have_text(
        "6 confirmed, 0 marked wrong"
    )

    cell[1].click()  # the mouse marks item 2
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")  # the keys mark item 4
    page.keyboard.press("ArrowDown")  # past the last row: the last item
    page.keyboard.press("Space")
    page.keyboard.press("Space")  # item 6 marked, then confirmed again
    for n, pressed in enumerate(["false", "true", "false", "true", "false", "false"]):
        expect(cell[n]).to_have_attribute("aria-pressed", pressed)
    expect(cell[5]).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="confirmed")).to_have_text(
        "4 confirmed, 2 marked wrong"
    )
    screenshot(page, "verification-batch")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = {key: list(answer.verification.correct) for key, answer in labels(live, lw, job).items()}
    assert got == {key: [n not in (1, 3)] for n, key in enumerate(key_of)}
