"""The job page's pilot (started from the page, its reason shown while it
runs and once it pauses the job) and the model-labels view: a verification
job's pre-label table and thresholds as GetVerificationReport gives them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from labelwire.client.raw import WorkerClient, text_item
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live
from tests.browser.test_console import owner, shot, sign_in
from tests.helpers import CLASSES, work
from tests.test_bulk_verification import keys, model_item, verdicts, verification_job
from tests.test_model_routing import prelabeled, routed_job


def test_a_pilot_started_from_the_page_shows_its_reason_until_it_pauses_the_job(
    live: Live, page: Page
) -> None:
    key, lw = owner(live)

    async def draft() -> job_pb2.Job:
        job = await lw.create_job(
            "Piloted", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0
        )
        await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(5)])
        return job

    job = live.run(draft)
    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}")
    page.get_by_label("Pilot: first items only").fill("2")
    page.get_by_role("button", name="Start", exact=True).press("Enter")
    expect(page.get_by_text("Pilot: only the first 2 items are being labeled")).to_be_visible()
    assert live.run(lambda: lw.get_job(job.name)).pilot_size == 2

    async def label() -> None:
        _, token = await lw.create_worker(job.name, "Ada")
        async with WorkerClient(live.target, token) as worker:
            assert await work(worker) == 2

    live.run(label)
    expect(page.get_by_text(re.compile("^Pilot complete: read its labels"))).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    got = live.run(lambda: lw.get_job(job.name))
    assert (got.state, got.state_reason) == (job_pb2.JOB_STATE_PAUSED, "pilot complete")
    shot(page, "pilot")


def test_model_labels_view_shows_the_verification_report(live: Live, page: Page) -> None:
    """Workers confirm every car and disconfirm every person."""
    key, lw = owner(live)
    items = [model_item(f"c{n}", "car", 0.55 + n / 10) for n in range(4)]
    items += [model_item(f"p{n}", "person", 0.9) for n in range(2)]

    async def setup() -> job_pb2.Job:
        job = await verification_job(lw, items, batch_size=3)
        _, token = await lw.create_worker(job.name, "Ada")
        async with WorkerClient(live.target, token) as w:
            while (got := await w.next_task()).HasField("task"):
                shown = keys(got.task)
                await w.submit(got.task.name, verdicts(*(k.startswith("c") for k in shown)))
        return job

    job = live.run(setup)
    report = live.run(lambda: lw.verification_report(job.name))

    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}")
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_role("heading", name="Model labels")).to_be_visible()
    table = page.get_by_role("table", name="Pre-label table")
    car = table.get_by_role("row", name=re.compile("^car all "))
    expect(car).to_contain_text("100.0%")
    expect(car.get_by_role("cell").nth(1)).to_have_text("4")  # total
    expect(car.get_by_role("cell").nth(2)).to_have_text("4")  # confirmed
    person = table.get_by_role("row", name=re.compile("^person all "))
    expect(person.get_by_role("cell").nth(3)).to_have_text("2")  # disconfirmed
    expect(person).to_contain_text("0.0%")
    every = table.get_by_role("row", name=re.compile("^every class "))
    expect(every.get_by_role("cell").nth(1)).to_have_text("6")
    thresholds = page.get_by_role("table", name="Recommended thresholds")
    expect(thresholds.get_by_role("row", name=re.compile("^person "))).to_contain_text("not reached")
    assert (report.total.total, report.total.confirmed, report.total.disconfirmed) == (6, 4, 2)
    shot(page, "models")


def test_model_labels_view_shows_the_routing_report_and_calibration(live: Live, page: Page) -> None:
    key, lw = owner(live)

    async def setup() -> job_pb2.Job:
        job = await routed_job(lw, job_pb2.ModelRouting(class_thresholds={"pos": 0.9}, audit_share=0.25))
        items = [prelabeled(f"c{n}", "pos", "pos", 0.95) for n in range(12)]
        items += [prelabeled(f"u{n}", "neg", "pos", 0.6) for n in range(3)]
        await lw.add_items(job.name, items)
        await lw.start_job(job.name)
        _, token = await lw.create_worker(job.name, "w")
        async with WorkerClient(live.target, token) as w:
            await work(w)
        return job

    job = live.run(setup)
    report = live.run(lambda: lw.calibration(job.name))
    [pos] = report.routing

    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/models")
    expect(
        page.get_by_text(f"Human judgments saved by accepted model labels: {report.human_judgments_saved}.")
    ).to_be_visible()
    row = page.get_by_role("table", name="Model routing").get_by_role("row", name=re.compile("^pos "))
    cells = row.get_by_role("cell")
    expect(cells.nth(0)).to_have_text("0.90")
    expect(cells.nth(1)).to_have_text("set")
    expect(cells.nth(2)).to_have_text(f"{pos.auto_accepted}")
    expect(cells.nth(3)).to_have_text(f"{pos.audited}")
    calibration = page.get_by_role("table", name="Calibration")
    expect(calibration.get_by_role("row")).to_have_count(1 + sum(len(c.buckets) for c in report.classes))
    shot(page, "routing")
