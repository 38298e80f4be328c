"""Number and key-point tasks in the worker app, in Chromium: a number typed
and submitted with Enter from its input; key points placed with the mouse,
moved with the arrows, placed and marked not visible with the keyboard alone,
each change announced; the owner's StreamLabels delivers what was answered."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from labelwire.client.raw import number_config, source_item, text_item
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live, screenshot
from tests.browser.test_worker_app import WORKERS_DONE, labels, picture, sign_in, start_job

__all__ = ["picture"]  # the fixture, shared with the boxes test


def test_a_number_is_typed_and_submitted_with_enter(live: Live, page: Page) -> None:
    lw = live.client()
    job, token = start_job(
        live,
        lw,
        [text_item("a", "How many people are in the photo?"), text_item("b", "And in this one?")],
        classes=[],
        task_type="number",
        job=number_config(min_value=0, max_value=100, step=1, unit="people"),
        judgments_per_item=1,
        quiz_size=0,
    )
    sign_in(page, live, token)
    field = page.get_by_role("spinbutton", name="Value (people)")
    expect(field).to_be_focused()  # keyboard first: the digits go straight in
    expect(page.get_by_text("A number at least 0, at most 100, in steps of 1, in people.")).to_be_visible()
    page.keyboard.press("Enter")  # nothing typed: told, nothing sent
    expect(page.get_by_role("status").first).to_contain_text("Type a number first")
    page.keyboard.type("2.5")  # off the step: the server refuses it by name
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text(
        "answer.number.value must be 0 plus a whole number"
    )
    field.fill("")
    page.keyboard.type("12")
    screenshot(page, "number")
    page.keyboard.press("Enter")
    expect(page.get_by_role("spinbutton", name="Value (people)")).to_have_value("")  # the next task
    expect(page.get_by_role("spinbutton", name="Value (people)")).to_be_focused()
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = labels(live, lw, job)
    assert {key: answer.number.value for key, answer in got.items()} == {"a": 12.0, "b": 7.0}


def test_key_points_placed_by_mouse_and_keyboard_reach_the_owner(
    live: Live, page: Page, picture: str
) -> None:
    lw = live.client()
    spec = job_pb2.Job(task_config=job_pb2.TaskConfig(keypoints=job_pb2.KeypointConfig()))
    spec.task_config.keypoints.keypoints.add(name="head")
    spec.task_config.keypoints.keypoints.add(name="car")
    spec.task_config.keypoints.keypoints.add(name="dog")
    job, token = start_job(
        live,
        lw,
        [source_item("p", picture)],
        classes=[],
        task_type="keypoints",
        job=spec,
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=0,
    )
    sign_in(page, live, token)
    image = page.get_by_role("img", name="the image to place points on")
    expect(image).to_be_visible()
    points = page.get_by_role("radiogroup", name="Key points")
    expect(points.get_by_role("radio", name="head")).to_have_attribute("aria-checked", "true")
    box = image.bounding_box()
    assert box is not None
    k = box["width"] / 1600
    page.mouse.click(box["x"] + 900 * k, box["y"] + 220 * k)  # the head, with the mouse
    announced = page.locator(".box-status")
    expect(announced).to_contain_text("head placed at")
    dot = page.locator(".kp-dot").first.bounding_box()  # drawn where it was clicked
    assert dot is not None
    centre = (dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2)
    assert abs(centre[0] - (box["x"] + 900 * k)) <= 3 and abs(centre[1] - (box["y"] + 220 * k)) <= 3
    expect(points.get_by_role("radio", name="car")).to_have_attribute("aria-checked", "true")  # the next one
    page.keyboard.press("p")  # the car, by keyboard only: at the centre, then moved
    expect(announced).to_have_text("car placed at 800, 300.")
    for _ in range(5):
        page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("ArrowDown")
    expect(announced).to_have_text("car moved to 750, 301.")
    page.keyboard.press("3")
    page.keyboard.press("n")  # no dog in the picture
    expect(announced).to_have_text("dog marked not visible.")
    expect(page.get_by_role("radio", name="dog")).to_have_accessible_description("not visible")
    screenshot(page, "keypoints")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = {p.name: p for p in labels(live, lw, job)["p"].keypoints.points}
    assert abs(got["head"].x - 900) <= 2 and abs(got["head"].y - 220) <= 2  # within a screen pixel
    assert (got["car"].x, got["car"].y, got["car"].not_visible) == (750, 301, False)
    assert got["dog"].not_visible and got["dog"].presence == 0
