"""The owner console in Chromium, driven by Playwright: an owner signs in
with a client API key, sees their own jobs only, and watches a job's page
move without a reload while simulated workers label over gRPC; the page's
counters are GetJob's, its buttons pause and resume the job."""

from __future__ import annotations

import os
import re

from playwright.sync_api import Locator, Page, expect

from labelwire.client.raw import AdminClient, Client, WorkerClient, text_item
from labelwire.v1 import job_pb2
from tests.browser.conftest import SCREENSHOTS, Live
from tests.conftest import ADMIN_KEY
from tests.helpers import CLASSES, running_job, work

# Shown on the page as counter rows, next to GetJob's counter of that name.
COUNTERS = {
    "Items labeled": "labeled_items",
    "Items in progress": "in_progress_items",
    "Items waiting": "unlabeled_items",
    "Items failed": "failed_items",
    "Items in total": "total_items",
    "Judgments": "judgments",
}


def owner(live: Live, name: str = "owner") -> tuple[str, Client]:
    """A new client's API key, and an SDK client with it."""

    async def make() -> tuple[str, Client]:
        async with AdminClient(live.target, ADMIN_KEY) as admin:
            key = await admin.create_api_key(name)
        return key, Client(live.target, key)

    return live.run(make)


def shot(page: Page, name: str) -> None:
    """The docs' pictures (docs/console.md), only when asked for, so a test
    run does not rewrite the docs."""
    if os.environ.get("LABELWIRE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)


def sign_in(page: Page, live: Live, key: str) -> None:
    page.goto(f"{live.url}/console/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert key not in page.url


def counters_row(page: Page, what: str) -> Locator:
    """The value cell of one row of the job page's counters."""
    return (
        page.get_by_role("table", name="Counters")
        .get_by_role("row", name=re.compile(f"^{what} "))
        .get_by_role("cell")
    )


def expect_counters(page: Page, live: Live, lw: Client, job: str) -> job_pb2.Job:
    """Waits until the page shows GetJob's counters (the page follows the
    label stream, so it may trail a moment) and returns the job."""
    got = live.run(lambda: lw.get_job(job))
    for what, field in COUNTERS.items():
        expect(counters_row(page, what)).to_have_text(str(getattr(got.counters, field)))
    return got


def test_sign_in_shows_own_jobs_only(live: Live, page: Page) -> None:
    key, lw = owner(live, "acme")
    _, other = owner(live, "rival")
    mine = live.run(lambda: running_job(lw, items=4))
    live.run(lambda: other.create_job("Rival's secret job", classes=CLASSES, judgments_per_item=1))

    page.goto(f"{live.url}/console/")
    page.get_by_label("API key").fill("lwk_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    sign_in(page, live, key)
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("^Sentiment"))
    expect(row).to_contain_text("running")
    expect(row).to_contain_text("0 / 4")
    expect(page.get_by_text("Rival's secret job")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('labelwire.console-key')") == key
    shot(page, "jobs")

    page.get_by_role("link", name="Sentiment").click()
    expect(page.get_by_role("heading", name="Sentiment")).to_be_visible()
    assert page.url.endswith(f"#/jobs/{mine.name.removeprefix('jobs/')}")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('labelwire.console-key')") is None


def test_job_page_moves_with_the_workers_without_reload(live: Live, page: Page) -> None:
    key, lw = owner(live)

    async def priced() -> job_pb2.Job:
        job = await lw.create_job(
            "Sentiment",
            classes=CLASSES,
            judgments_per_item=1,
            quiz_size=0,
            hidden_gold_share=0.0,
            price_per_judgment_micros=20_000,
            budget_micros=1_000_000,
        )
        await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(6)])
        return await lw.start_job(job.name)

    job = live.run(priced)

    async def worker_token() -> str:
        _, token = await lw.create_worker(job.name, "Ada")
        return token

    token = live.run(worker_token)
    sign_in(page, live, key)
    page.get_by_role("link", name="Sentiment").click()
    expect_counters(page, live, lw, job.name)
    page.evaluate("window.sameDocument = true")

    async def label(count: int) -> int:
        async with WorkerClient(live.target, token) as worker:
            return await work(worker, limit=count)

    assert live.run(lambda: label(2)) == 2
    expect(page.get_by_role("status")).to_contain_text("2 labels received")
    got = expect_counters(page, live, lw, job.name)
    assert got.counters.labeled_items == 2
    expect(counters_row(page, "Cost")).to_have_text("$0.04 of $1.00")
    feed = page.get_by_role("table", name="Label feed")
    expect(feed.get_by_role("row")).to_have_count(3)
    expect(feed.get_by_role("row", name=re.compile(r"^2 i1 neg "))).to_be_visible()
    shot(page, "job")

    assert live.run(lambda: label(10)) == 4
    expect(page.get_by_role("status")).to_contain_text("6 labels received")
    got = expect_counters(page, live, lw, job.name)
    assert got.counters.labeled_items == 6
    expect(counters_row(page, "Cost")).to_have_text("$0.12 of $1.00")
    expect(feed.get_by_role("row", name=re.compile(r"^6 i5 neutral "))).to_be_visible()
    expect(page.locator(".title .state")).to_have_text("completed")
    assert page.evaluate("window.sameDocument") is True


def test_pause_and_resume_from_the_page(live: Live, page: Page) -> None:
    key, lw = owner(live)
    job = live.run(lambda: running_job(lw, items=3))
    sign_in(page, live, key)
    page.get_by_role("link", name="Sentiment").click()
    controls = page.get_by_role("group", name="Job controls")
    controls.get_by_role("button", name="Pause").click()
    expect(controls.get_by_role("button", name="Resume")).to_be_visible()
    assert live.run(lambda: lw.get_job(job.name)).state == job_pb2.JOB_STATE_PAUSED
    controls.get_by_role("button", name="Resume").click()
    expect(controls.get_by_role("button", name="Pause")).to_be_visible()
    assert live.run(lambda: lw.get_job(job.name)).state == job_pb2.JOB_STATE_RUNNING


def test_admin_key_reads_every_clients_jobs_without_controls(live: Live, page: Page) -> None:
    _, lw = owner(live, "acme")
    _, other = owner(live, "rival")
    live.run(lambda: running_job(lw, items=2))
    live.run(lambda: other.create_job("Rival job", classes=CLASSES, judgments_per_item=1))
    sign_in(page, live, ADMIN_KEY)
    expect(page.get_by_text("admin: read only")).to_be_visible()
    expect(page.get_by_role("link", name="Sentiment")).to_be_visible()
    expect(page.get_by_role("link", name="Rival job")).to_be_visible()
    page.get_by_role("link", name="Sentiment").click()
    expect(page.get_by_role("table", name="Counters")).to_be_visible()
    expect(page.get_by_role("group", name="Job controls").get_by_role("button")).to_have_count(0)


def test_quality_view_shows_the_crowds_agreement_and_workers(live: Live, page: Page) -> None:
    """Three workers on four items: Ada and Bo always right, Cy wrong on its
    first two items, so half the items have one dissenting judgment."""
    key, lw = owner(live)
    job = live.run(lambda: running_job(lw, items=4, judgments=3))

    async def crowd() -> None:
        for name, wrong in (("Ada", 0), ("Bo", 0), ("Cy", 2)):
            _, token = await lw.create_worker(job.name, name)
            async with WorkerClient(live.target, token) as worker:
                await work(worker, right=False, limit=wrong)
                await work(worker)

    live.run(crowd)
    quality = live.run(lambda: lw.job_quality(job.name))
    assert list(quality.agreement.dissent_histogram) == [2, 2]

    sign_in(page, live, key)
    page.get_by_role("link", name="Sentiment").click()
    page.get_by_role("link", name="Quality").click()
    expect(page.get_by_role("heading", name="Quality")).to_be_visible()
    assert page.url.endswith("/quality")
    figures = page.get_by_role("table", name="Quality figures")
    expect(figures.get_by_role("row", name="Fleiss' kappa")).to_contain_text(
        f"{quality.agreement.fleiss_kappa:.3f}"
    )
    expect(figures.get_by_role("row", name="Krippendorff's alpha")).to_contain_text(
        f"{quality.agreement.krippendorff_alpha:.3f}"
    )
    expect(page.get_by_role("img", name="Agreement chart")).to_be_visible()
    agreement = page.get_by_role("table", name="Agreement")
    expect(agreement.get_by_role("row", name="all agree")).to_have_text(re.compile(r"all agree\s*2\s*50\.0%"))
    expect(agreement.get_by_role("row", name="all but one")).to_have_text(
        re.compile(r"all but one\s*2\s*50\.0%")
    )
    workers = page.get_by_role("table", name="Workers")
    expect(workers.get_by_role("row", name=re.compile("^Cy "))).to_contain_text("50.0%")
    expect(workers.get_by_role("row", name=re.compile("^Ada "))).to_contain_text("100.0%")
    shot(page, "quality")
