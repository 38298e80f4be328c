"""Number and key-point jobs in the owner console, in Chromium: both are
created from the create form with their own settings (read back over the
API), and a bad setting shows the server's message beside its field
(issue 13)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from labelwire.v1 import job_pb2
from tests.browser.conftest import Live
from tests.browser.test_console import owner, shot, sign_in
from tests.browser.test_console_owner import listed


def new_job(page: Page, name: str, task_type: str) -> None:
    page.get_by_role("link", name="New job").click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Task type").select_option(task_type)


def test_number_and_key_point_jobs_are_created_from_the_form(live: Live, page: Page) -> None:
    key, lw = owner(live)
    sign_in(page, live, key)
    new_job(page, "Head counts", "number")
    expect(page.get_by_label("Class 1 name")).to_be_hidden()  # a number job has no classes
    expect(page.get_by_label("Key points: gold tolerance")).to_be_hidden()
    page.get_by_label("Minimum value").fill("0")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Maximum value")).to_be_focused()  # the settings in reading order
    page.keyboard.type("500")
    page.keyboard.press("Tab")
    page.keyboard.type("1")
    page.keyboard.press("Tab")
    page.keyboard.type("people")
    page.get_by_label("Numbers: gold tolerance").fill("2")
    page.get_by_label("Short instructions").fill("How many people are in the photo?")
    shot(page, "create-number")
    page.get_by_role("button", name="Create job").press("Enter")
    expect(page.get_by_role("heading", name=re.compile("^Upload items to Head counts"))).to_be_visible()
    (counts,) = live.run(lambda: listed(lw))
    assert counts.task_config.WhichOneof("config") == "number"
    config = counts.task_config.number
    assert (config.min_value, config.max_value, config.step, config.unit) == (0, 500, 1, "people")
    assert config.HasField("min_value")  # 0 was sent, not left as "no lower bound"
    assert counts.gold_policy.number_tolerance == 2

    page.get_by_role("link", name="Jobs", exact=True).click()
    new_job(page, "Faces", "keypoints")
    page.get_by_label("Media").select_option("Image")
    expect(page.get_by_label("Minimum value")).to_be_hidden()
    page.get_by_label("Key point 1 name").fill("nose")
    page.get_by_label("Key point 1 description").fill("The tip of the nose")
    page.get_by_label("Key point 2 name").fill("left eye")
    page.get_by_role("button", name="Add key point").click()
    expect(page.get_by_label("Key point 3 name")).to_be_focused()
    page.keyboard.type("right eye")
    page.get_by_role("button", name="Add key point").click()
    page.keyboard.type("dropped")
    page.get_by_role("button", name="Remove key point 4").click()
    expect(page.get_by_label("Key point 4 name")).to_have_count(0)
    page.get_by_label("Key points: gold tolerance").fill("0.05")
    page.get_by_role("button", name="Create job").press("Enter")
    expect(page.get_by_role("heading", name=re.compile("^Upload items to Faces"))).to_be_visible()
    faces = next(j for j in live.run(lambda: listed(lw)) if j.display_name == "Faces")
    assert faces.task_config.WhichOneof("config") == "keypoints"
    assert [(p.name, p.description) for p in faces.task_config.keypoints.keypoints] == [
        ("nose", "The tip of the nose"),
        ("left eye", ""),
        ("right eye", ""),
    ]
    assert faces.media_type == job_pb2.MEDIA_TYPE_IMAGE
    assert abs(faces.gold_policy.keypoint_tolerance - 0.05) < 1e-9


def test_a_bad_number_or_key_point_config_shows_the_servers_message_by_field(live: Live, page: Page) -> None:
    key, lw = owner(live)
    sign_in(page, live, key)
    new_job(page, "Counts", "number")
    page.get_by_label("Minimum value").fill("10")
    highest = page.get_by_label("Maximum value")
    highest.fill("5")
    highest.press("Enter")
    expect(highest).to_have_attribute("aria-invalid", "true")
    expect(highest).to_have_accessible_description(
        re.compile(r"max_value must be greater than min_value \(10\), got 5")
    )
    expect(highest).to_be_focused()

    page.get_by_label("Task type").select_option("keypoints")
    page.get_by_label("Key point 1 name").fill("nose")
    page.get_by_label("Key point 2 name").fill("nose")
    page.get_by_role("button", name="Create job").click()
    second = page.get_by_label("Key point 2 name")
    expect(second).to_have_attribute("aria-invalid", "true")
    expect(second).to_have_accessible_description(re.compile(r"keypoints\[1\]\.name .*nose.* is not unique"))
    expect(page.get_by_label("Maximum value")).not_to_have_attribute("aria-invalid", "true")  # cleared
    assert live.run(lambda: listed(lw)) == []
