"""Bounding boxes on a large image in the worker app, in Chromium: a worker
draws boxes, moves one with the mouse and the arrows, resizes one by a handle
and with Alt/Ctrl+arrows, zooms (buttons, keys, Ctrl+wheel), pans with Space
held, draws again while zoomed, and the label the owner reads holds exactly
the boxes it made, in the image's own pixels."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from labelwire.client.raw import source_item
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live, screenshot
from tests.browser.test_worker_app import WORKERS_DONE, labels, sign_in, start_job

WIDTH = 2400  # larger than the page in both directions
HEIGHT = 1600


@pytest.fixture
def large_picture() -> Iterator[str]:
    """A large PNG served over HTTP, as an item's source_ref."""
    picture = Image.new("RGB", (WIDTH, HEIGHT), (200, 220, 240))
    draw = ImageDraw.Draw(picture)
    for x in range(0, WIDTH, 100):
        draw.line((x, 0, x, HEIGHT), fill=(170, 190, 210), width=1)
    for y in range(0, HEIGHT, 100):
        draw.line((0, y, WIDTH, y), fill=(170, 190, 210), width=1)
    draw.rounded_rectangle((320, 290, 922, 690), radius=40, fill=(180, 40, 40))
    draw.rectangle((1800, 400, 2400, 1110), fill=(40, 90, 160))
    draw.rounded_rectangle((1690, 1130, 1790, 1220), radius=12, fill=(60, 60, 70))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    body = out.getvalue()

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/large.png"
    finally:
        server.shutdown()
        server.server_close()


def image_rect(page: Page) -> dict[str, float]:
    rect = page.get_by_role("img", name="the image to mark").bounding_box()
    assert rect is not None
    return rect


def on_screen(page: Page, x: float, y: float) -> tuple[float, float]:
    """Where the image's pixel (x, y) is on the screen, at the zoom and scroll of the moment."""
    rect = image_rect(page)
    return rect["x"] + x * rect["width"] / WIDTH, rect["y"] + y * rect["height"] / HEIGHT


def drag(page: Page, x0: float, y0: float, x1: float, y1: float) -> None:
    """A mouse drag between two points given in the image's own pixels."""
    start = on_screen(page, x0, y0)
    end = on_screen(page, x1, y1)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=3)
    page.mouse.move(*end, steps=3)
    page.mouse.up()


def in_sight(page: Page) -> tuple[float, float, float, float]:
    """The part of the image the view shows, in the image's pixels."""
    rect = image_rect(page)
    view = page.locator(".box-view").bounding_box()
    assert view is not None
    k = WIDTH / rect["width"]
    return (
        (view["x"] - rect["x"]) * k,
        (view["y"] - rect["y"]) * k,
        (view["x"] + view["width"] - rect["x"]) * k,
        (view["y"] + view["height"] - rect["y"]) * k,
    )


def pan_to(page: Page, x: float, y: float, hold: str | None = "Space") -> None:
    """Drags the image (with `hold` held) until the view's top left corner
    shows the image's pixel (x, y), in strokes that stay inside the view."""
    view = page.locator(".box-view").bounding_box()
    assert view is not None
    centre = (view["x"] + view["width"] / 2, view["y"] + view["height"] / 2)
    if hold:
        page.keyboard.down(hold)
    for _ in range(20):
        left, top, _, _ = in_sight(page)
        k = image_rect(page)["width"] / WIDTH
        dx, dy = (left - x) * k, (top - y) * k
        if abs(dx) < 1 and abs(dy) < 1:
            break
        dx, dy = max(-150, min(150, dx)), max(-150, min(150, dy))
        page.mouse.move(centre[0] - dx / 2, centre[1] - dy / 2)
        page.mouse.down()
        page.mouse.move(centre[0] + dx / 2, centre[1] + dy / 2, steps=3)
        page.mouse.up()
    if hold:
        page.keyboard.up(hold)
    left, top, _, _ = in_sight(page)
    assert abs(left - x) < 1 and abs(top - y) < 1, (left, top)


def test_boxes_moved_resized_and_drawn_zoomed_reach_the_owner_exactly(
    live: Live, page: Page, large_picture: str
) -> None:
    lw = live.client()
    job, token = start_job(
        live,
        lw,
        [source_item("large", large_picture)],
        classes=["car", "person"],
        task_type="bounding_box",
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=0,
    )
    sign_in(page, live, token)
    expect(page.get_by_role("img", name="the image to mark")).to_be_visible()
    view = page.get_by_role("group", name="Image view")
    level = page.locator(".zoom-level")
    expect(level).not_to_have_text("100%")
    fitted = image_rect(page)
    assert fitted["width"] < 1000 and fitted["height"] < 720 * 0.7 + 1  # the whole image in sight
    status = page.get_by_role("status").filter(has_text="Box")
    listed = page.get_by_role("list", name="Boxes").get_by_role("listitem")

    drag(page, 200, 200, 800, 600)  # box 1, a car (the first class is in hand)
    drag(page, 1400, 1000, 1000, 400)  # box 2, dragged up and left
    page.keyboard.press("2")  # the box in hand (box 2) becomes a person
    expect(listed).to_have_count(2)
    expect(status).to_have_text("Box 2 (person): left 1000, top 400, 400 × 600 px")

    drag(page, 500, 400, 620, 480)  # box 1's body: taken in hand and moved by (120, 80)
    expect(page.get_by_role("button", name="Box 1 (car)", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(status).to_have_text("Box 1 (car): left 320, top 280, 600 × 400 px")
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "Shift+ArrowDown", "ArrowLeft"):
        page.keyboard.press(key)
    expect(status).to_have_text("Box 1 (car): left 322, top 290, 600 × 400 px")
    expect(listed.first).to_contain_text("322, 290 · 600×400 px")

    page.keyboard.press("Tab")  # box 1's remove button
    page.keyboard.press("Tab")  # box 2, taken in hand from the list
    expect(page.get_by_role("button", name="Box 2 (person)", exact=True)).to_be_focused()
    expect(status).to_have_text("Box 2 (person) selected: left 1000, top 400, 400 × 600 px")
    drag(page, 1400, 1000, 1600, 1100)  # its bottom-right handle
    expect(status).to_have_text("Box 2 (person): left 1000, top 400, 600 × 700 px")
    for key in (
        "Alt+ArrowRight",
        "Control+Shift+ArrowDown",
        "Alt+ArrowLeft",
        "Alt+ArrowLeft",
        "Alt+ArrowRight",
    ):
        page.keyboard.press(key)  # Alt+Left is the browser's Back unless the page takes it
    expect(status).to_have_text("Box 2 (person): left 1000, top 400, 600 × 710 px")
    for _ in range(85):
        page.keyboard.press("Shift+ArrowRight")  # 850 px to the right: it stops at the image's edge
    expect(status).to_have_text("Box 2 (person): left 1800, top 400, 600 × 710 px")

    for _ in range(2):
        page.keyboard.press("+")
    for _ in range(3):
        view.get_by_role("button", name="Zoom in").click()
    expect(level).to_have_text("100%")
    left, top, right, bottom = in_sight(page)
    page.mouse.move(*on_screen(page, (left + right) / 2, (top + bottom) / 2))
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)  # Ctrl+wheel: e times closer, at the pointer
    page.keyboard.up("Control")
    expect(level).to_have_text("272%")
    view.get_by_role("button", name="Zoom out").click()
    expect(level).to_have_text("200%")

    page.keyboard.press("Escape")  # nothing in hand: 1 now only picks the class of the next box
    page.keyboard.press("1")
    expect(page.get_by_role("radio", name="car")).to_have_attribute("aria-checked", "true")
    pan = view.get_by_role("button", name="Pan")
    pan.click()
    expect(pan).to_have_attribute("aria-pressed", "true")
    pan_to(page, 1200, 700, hold=None)  # in pan mode a drag pans: no box drawn
    pan.click()
    expect(pan).to_have_attribute("aria-pressed", "false")
    expect(listed).to_have_count(2)
    pan_to(page, 1650, 1000)  # Space held
    left, top, right, bottom = in_sight(page)
    assert left < 1690 < 1790 < right and top < 1130 < 1220 < bottom, (left, top, right, bottom)
    drag(page, 1690, 1130, 1790, 1220)  # box 3, a car, drawn at 200%
    expect(status).to_have_text("Box 3 (car) drawn: left 1690, top 1130, 100 × 90 px")
    screenshot(page, "boxes-zoomed")
    view.get_by_role("button", name="Fit the image").click()
    expect(level).not_to_have_text("200%")
    assert image_rect(page)["width"] == pytest.approx(fitted["width"], abs=1)

    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = labels(live, lw, job)["large"].bounding_boxes.boxes
    assert sorted((b.class_name, b.left, b.top, b.width, b.height) for b in got) == [
        ("car", 322, 290, 600, 400),
        ("car", 1690, 1130, 100, 90),
        ("person", 1800, 400, 600, 710),
    ]
