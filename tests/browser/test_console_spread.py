"""Number and key-point jobs in the owner console, in Chromium: both are
created from the create form with their own settings (read back over the
API), a bad setting shows the server's message beside its field, and the
quality view of a number job lists the drifting worker first and the item
the workers disagree on most (issue 13)."""

from __future__ import annotations

import os
import re

from playwright.sync_api import Locator, Page, expect

from labelwire.client.raw import WorkerClient, keypoints, number, number_config, source_item, text_item
from labelwire.v1 import answer_pb2, job_pb2
from tests.browser.conftest import SCREENSHOTS, Live
from tests.browser.test_console import owner, shot, sign_in
from tests.browser.test_console_owner import listed
from tests.helpers import running_job


def shot_of(part: Locator, name: str) -> None:
    """A docs picture of one part of a page, only when asked for (as `shot`)."""
    if os.environ.get("LABELWIRE_SCREENSHOTS") == "1":
        part.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"))


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


def test_the_quality_view_of_a_number_job_lists_the_drifter_first_and_the_widest_item(
    live: Live, page: Page
) -> None:
    """Ten workers count people on 30 photos, three counts each: Zed (the
    last worker made, so not first by id) types 90 where the others type 10
    or 11, and on the photo `crowd` the others disagree by tens."""
    key, lw = owner(live)

    async def crowd() -> str:
        job = await lw.create_job(
            "Head counts", classes=[], task_type="number", judgments_per_item=3, quiz_size=0,
            hidden_gold_share=0, job=number_config(step=1, unit="people"),
        )  # fmt: skip
        items = [text_item("crowd", "crowd")] + [text_item(f"p{n}", "photo") for n in range(29)]
        await lw.add_items(job.name, items)
        await lw.start_job(job.name)
        names = [f"Ann {n}" for n in range(9)] + ["Zed"]
        workers = [WorkerClient(live.target, (await lw.create_worker(job.name, name))[1]) for name in names]
        busy = True
        while busy:  # one task each per round, so each worker counts about as many photos
            busy = False
            for n, w in enumerate(workers):
                t = await w.next_task()
                if t.HasField("task"):
                    busy = True
                    value = 90.0 if n == 9 else 10.0 * (n + 1) if t.task.text == "crowd" else 10.0 + n % 2
                    await w.submit(t.task.name, number(value))
        for w in workers:
            await w.close()
        return job.name

    job = live.run(crowd)
    report = live.run(lambda: lw.worker_outliers(job))
    (drifter,) = [r for r in report.workers if r.drifting]
    assert drifter.worker == max(report.workers, key=lambda r: int(r.worker.rsplit("/", 1)[1])).worker
    assert report.items[0].item_key == "crowd"

    sign_in(page, live, key)
    page.get_by_role("link", name="Head counts").click()
    page.get_by_role("link", name="Quality").click()
    expect(page.get_by_role("heading", name="Outliers and spread")).to_be_visible()
    rates = page.get_by_role("table", name="Worker outlier rates")
    expect(rates.get_by_role("row")).to_have_count(1 + 10)
    first = rates.get_by_role("row").nth(1)
    expect(first.get_by_role("rowheader")).to_have_text("Zed")
    expect(first).to_contain_text("drifting")
    expect(first).to_contain_text(f"{drifter.outlier_rate * 100:.1f}%")
    spread = page.get_by_role("table", name="Items of widest spread")
    widest = spread.get_by_role("row").nth(1)
    expect(widest.get_by_role("rowheader")).to_have_text("crowd")
    expect(widest).to_contain_text(f"{report.items[0].spread:g} people")
    shot_of(page.get_by_role("region", name="Outliers and spread"), "outliers")

    widest.get_by_role("link", name="crowd").click()
    assert page.url.endswith("/items/crowd")
    page.go_back()
    page.get_by_role("table", name="Worker outlier rates").get_by_role("link", name="Zed").click()
    expect(page.get_by_role("heading", name="Worker Zed")).to_be_visible()

    classified = live.run(lambda: running_job(lw))  # no spread for classes: no section
    page.goto(f"{live.url}/console/#/{classified.name}/quality")
    expect(page.get_by_role("heading", name="Agreement")).to_be_visible()
    expect(page.get_by_role("heading", name="Outliers and spread")).to_have_count(0)


def test_the_quality_view_of_a_key_point_job_gives_spread_in_pixels(live: Live, page: Page) -> None:
    """Three workers place a nose at x = 100, 102 and 140: the label's nose
    is the median (102), and the spread the median distance to it, 2 px."""
    key, lw = owner(live)

    async def crowd() -> None:
        job = await lw.create_job(
            "Faces", classes=["nose"], task_type="keypoints", judgments_per_item=3,
            media_type=job_pb2.MEDIA_TYPE_IMAGE, quiz_size=0, hidden_gold_share=0,
        )  # fmt: skip
        await lw.add_items(job.name, [source_item("face", "s3://bucket/face.jpg")])
        await lw.start_job(job.name)
        for name, x in (("Ann", 100), ("Bo", 102), ("Cy", 140)):
            async with WorkerClient(live.target, (await lw.create_worker(job.name, name))[1]) as worker:
                t = await worker.next_task()
                await worker.submit(t.task.name, keypoints({"nose": (x, 50)}))

    live.run(crowd)
    sign_in(page, live, key)
    page.get_by_role("link", name="Faces").click()
    page.get_by_role("link", name="Quality").click()
    spread = page.get_by_role("table", name="Items of widest spread")
    expect(spread.get_by_role("row", name=re.compile("^face "))).to_contain_text("2.0 px")
    expect(page.get_by_text("in pixels", exact=False)).to_be_visible()


def test_the_quality_view_of_a_box_job_gives_spread_as_missing_overlap(live: Live, page: Page) -> None:
    """Three workers box a car on two photos: on `lane` all three boxes are
    the same, on `street` one is drawn far off. `street` comes first with a
    spread of 1 minus the mean overlap, `lane` after it with none."""
    key, lw = owner(live)

    def box(left: float) -> answer_pb2.Answer:
        answer = answer_pb2.Answer(bounding_boxes=answer_pb2.BoundingBoxAnswer())
        answer.bounding_boxes.boxes.add(class_name="car", left=left, top=10, width=20, height=20)
        return answer

    async def crowd() -> str:
        job = await lw.create_job(
            "Cars", classes=["car"], task_type="bounding_box", judgments_per_item=3,
            media_type=job_pb2.MEDIA_TYPE_IMAGE, quiz_size=0, hidden_gold_share=0,
        )  # fmt: skip
        await lw.add_items(job.name, [source_item(k, f"s3://bucket/{k}.jpg") for k in ("lane", "street")])
        await lw.start_job(job.name)
        for name in ("Ann", "Bo", "Cy"):
            async with WorkerClient(live.target, (await lw.create_worker(job.name, name))[1]) as worker:
                for _ in range(2):
                    t = await worker.next_task()
                    off = name == "Cy" and t.task.source_ref.endswith("street.jpg")
                    await worker.submit(t.task.name, box(200.0 if off else 10.0))
        return job.name

    job = live.run(crowd)
    report = live.run(lambda: lw.worker_outliers(job))
    assert [i.item_key for i in report.items] == ["street", "lane"]
    assert report.items[0].spread > 0 and report.items[1].spread == 0

    sign_in(page, live, key)
    page.get_by_role("link", name="Cars").click()
    page.get_by_role("link", name="Quality").click()
    expect(page.get_by_role("heading", name="Outliers and spread")).to_be_visible()
    expect(page.get_by_text("mean overlap (IoU)", exact=False)).to_be_visible()
    spread = page.get_by_role("table", name="Items of widest spread")
    rows = spread.get_by_role("row")
    expect(rows).to_have_count(1 + 2)
    expect(rows.nth(1).get_by_role("rowheader")).to_have_text("street")
    expect(rows.nth(1)).to_contain_text(f"{report.items[0].spread:.3f}")
    expect(rows.nth(2).get_by_role("rowheader")).to_have_text("lane")
    expect(rows.nth(2)).to_contain_text("0.000")
    rates = page.get_by_role("table", name="Worker outlier rates")
    expect(rates.get_by_role("row")).to_have_count(1 + 3)
    shot_of(page.get_by_role("region", name="Outliers and spread"), "outliers-boxes")
