"""Segmentation in the worker app, in Chromium: a worker paints a class mask
over an image with the brush, fills a polygon, erases and undoes, picking
classes and tools at the keyboard, and the label the owner reads is the
mask it painted, in the image's own pixels, as the server stores it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect

from labelwire.client.raw import source_item
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live, screenshot
from tests.browser.test_worker_app import WORKERS_DONE, labels, picture, sign_in, start_job  # noqa: F401

WIDTH = 1600  # the picture fixture's size
HEIGHT = 600


def at(page: Page, x: float, y: float) -> tuple[float, float]:
    """A point given in the image's own pixels, on the screen."""
    box = page.get_by_role("img", name="the image to paint").bounding_box()
    assert box is not None
    k = box["width"] / WIDTH
    return box["x"] + x * k, box["y"] + y * k


def paint(page: Page, *points: tuple[float, float]) -> None:
    """One brush stroke through `points` (image pixels)."""
    page.mouse.move(*at(page, *points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*at(page, *point), steps=8)
    page.mouse.up()


def test_mask_painted_with_brush_polygon_eraser_and_undo_is_stored(
    live: Live,
    page: Page,
    picture: str,  # noqa: F811
) -> None:
    lw = live.client()
    job, token = start_job(
        live,
        lw,
        [source_item("street", picture)],
        classes=["road", "car"],
        task_type="segmentation",
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=0,
    )
    sign_in(page, live, token)
    expect(page.get_by_role("img", name="the image to paint")).to_be_visible()
    assert page.evaluate("document.querySelector('.seg-canvas img').clientWidth") < 1000  # shown scaled down
    page.keyboard.press("2")  # car
    expect(page.get_by_role("radio", name="car")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("radio", name="Brush")).to_have_attribute("aria-checked", "true")
    paint(page, (150, 390), (420, 390))  # a band through the car
    paint(page, (1200, 100), (1350, 120))  # a stray stroke in the sky...
    page.keyboard.press("z")  # ...undone
    page.keyboard.press("e")
    expect(page.get_by_role("radio", name="Eraser")).to_have_attribute("aria-checked", "true")
    paint(page, (140, 390), (200, 390))  # the band's left end erased
    page.keyboard.press("p")
    page.keyboard.press("1")  # road; the polygon tool stays in hand
    expect(page.get_by_role("radio", name="Polygon")).to_have_attribute("aria-checked", "true")
    for corner in ((20, 470), (1580, 470), (1580, 590), (20, 590)):
        page.mouse.click(*at(page, *corner))
    expect(page.get_by_role("status").filter(has_text="close the polygon")).to_be_visible()
    page.keyboard.press("Enter")  # closes the polygon (it does not submit yet)
    screenshot(page, "segmentation")
    expect(page.get_by_role("img", name="the image to paint")).to_be_visible()
    page.keyboard.press("Enter")  # submits
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()

    stored = labels(live, lw, job)["street"].segmentation.mask_png
    mask = np.asarray(Image.open(io.BytesIO(stored)))  # the one judgment's mask, as consolidated
    assert mask.shape == (HEIGHT, WIDTH)  # the image's own pixels, not the screen's
    assert set(np.unique(mask).tolist()) == {0, 1, 2}
    assert mask[390, 300] == 2 and mask[390, 400] == 2  # car, painted
    assert mask[390, 170] == 0  # erased
    assert mask[110, 1280] == 0  # undone
    assert mask[530, 800] == 1 and mask[480, 100] == 1  # road, the polygon filled
    assert mask[300, 800] == 0 and mask[20, 20] == 0  # never painted
    painted = np.count_nonzero(mask == 1)
    assert abs(painted - 1560 * 120) < 0.02 * 1560 * 120  # the polygon's area, within its edges
