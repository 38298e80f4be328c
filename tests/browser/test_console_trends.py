"""The worker table's accuracy lines in Chromium (each worker's gold
accuracy over time drawn inline, from GetJobQuality's gold_accuracy_trend:
no request per worker) and the Feedback view (decline
reasons grouped by worker and by item, from ListTaskDeclines)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, Request, expect

from labelwire.client.raw import WorkerClient, text_item
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live
from tests.browser.test_console import owner, shot, sign_in
from tests.helpers import CLASSES, running_job, work


def test_worker_table_draws_each_workers_accuracy_over_time_from_get_job_quality(
    live: Live, page: Page
) -> None:
    """Ada's first quiz answer is wrong and her second right (0% then 50%);
    Bo's are both right (100% then 100%); Cy has answered no gold."""
    key, lw = owner(live)

    async def setup() -> job_pb2.Job:
        job = await lw.create_job(
            "Sentiment",
            classes=CLASSES,
            judgments_per_item=2,
            quiz_size=2,
            pass_accuracy=0.5,
            hidden_gold_share=0.0,
        )
        items = [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(4)]
        items += [text_item(f"g{n}", f"truth:{CLASSES[n]}", gold=CLASSES[n]) for n in range(2)]
        await lw.add_items(job.name, items)
        await lw.start_job(job.name)
        for name, wrong in (("Ada", 1), ("Bo", 0)):
            _, token = await lw.create_worker(job.name, name)
            async with WorkerClient(live.target, token) as worker:
                await work(worker, right=False, limit=wrong)
                await work(worker)
        await lw.create_worker(job.name, "Cy")
        return job

    job = live.run(setup)
    trends = {
        w.stats.display_name: list(w.gold_accuracy_trend)
        for w in live.run(lambda: lw.job_quality(job.name)).workers
    }
    assert trends == {"Ada": [0.0, 0.5], "Bo": [1.0, 1.0], "Cy": []}
    calls: list[str] = []

    def seen(request: Request) -> None:
        if "ListJudgments" in request.url:
            calls.append(request.url)

    sign_in(page, live, key)
    page.on("request", seen)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/quality")
    workers = page.get_by_role("table", name="Workers")
    expect(workers.get_by_role("columnheader", name="Accuracy over time")).to_be_visible()
    ada = workers.get_by_role("img", name="Gold accuracy of Ada over time: 0.0% at first, 50.0% at the end")
    bo = workers.get_by_role("img", name="Gold accuracy of Bo over time: 100.0% at first, 100.0% at the end")
    expect(ada).to_be_visible()
    expect(bo).to_be_visible()
    # The line climbs from the bottom (0%) to the middle (50%).
    path = ada.locator("path").get_attribute("d") or ""
    ys = [float(y) for y in re.findall(r",([\d.]+)", path)]
    assert len(ys) == 2 and ys[0] > ys[1]
    expect(workers.get_by_role("row", name=re.compile("^Cy "))).to_contain_text("–")
    expect(workers.get_by_label("No gold answers of Cy yet")).to_be_visible()
    # Sorting redraws the rows with their lines.
    workers.get_by_role("columnheader", name="Gold accuracy").get_by_role("button").click()
    expect(workers.get_by_role("row").nth(1).get_by_role("img")).to_have_accessible_name(
        re.compile("^Gold accuracy of Bo")
    )
    shot(page, "workers-trend")
    page.screenshot(path="/tmp/console11c-trend.png", full_page=True)
    # The lines come with GetJobQuality: no judgments are read for them.
    assert calls == []


def test_feedback_view_groups_decline_reasons_by_worker_and_by_item(live: Live, page: Page) -> None:
    """Bo declines two items ("Not English", then "<b>rude</b>"), Cy one
    (no reason): by worker Bo has 2 (the tag as text), Cy 1; by item each
    declined item has its count."""
    key, lw = owner(live)

    async def setup() -> tuple[job_pb2.Job, list[tuple[str, str, str]]]:
        job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=2, quiz_size=0)
        await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n]}") for n in range(3)])
        await lw.start_job(job.name)
        by_text = {f"truth:{CLASSES[n]}": f"i{n}" for n in range(3)}
        given: list[tuple[str, str, str]] = []
        for name, reasons in (("Bo", ["Not English", "<b>rude</b>"]), ("Cy", [""])):
            _, token = await lw.create_worker(job.name, name)
            async with WorkerClient(live.target, token) as worker:
                for reason in reasons:
                    task = (await worker.next_task()).task
                    await worker.decline(task.name, reason)
                    given.append((name, by_text[task.text], reason))
        return job, given

    job, given = live.run(setup)
    declines = live.run(lambda: lw.list_task_declines(job.name))
    assert [(d.worker_display_name, d.item_key, d.reason) for d in declines] == given[::-1]

    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}")
    page.get_by_role("link", name="Feedback").click()
    expect(page.get_by_role("heading", name="Feedback")).to_be_visible()
    expect(page.get_by_text("3 declined tasks.")).to_be_visible()
    by_worker = page.get_by_role("table", name="Declines by worker")
    bo = by_worker.get_by_role("row", name=re.compile("^Bo "))
    expect(bo.get_by_role("cell").nth(0)).to_have_text("2")
    expect(bo).to_contain_text("<b>rude</b> (1)")
    expect(bo).to_contain_text("Not English (1)")
    expect(by_worker.locator("b")).to_have_count(0)
    expect(by_worker.get_by_role("row", name=re.compile("^Cy "))).to_contain_text("no reason (1)")
    by_item = page.get_by_role("table", name="Declines by item")
    counts: dict[str, int] = {}
    for _, item, _ in given:
        counts[item] = counts.get(item, 0) + 1
    expect(by_item.get_by_role("row")).to_have_count(len(counts) + 1)
    for item, n in counts.items():
        expect(by_item.get_by_role("row", name=re.compile(f"^{item} "))).to_contain_text(str(n))
    expect(
        page.get_by_role("table", name="Worker comments").or_(
            page.get_by_text("No comments from workers yet.")
        )
    ).to_be_visible()
    shot(page, "feedback")
    page.screenshot(path="/tmp/console11c-feedback.png", full_page=True)
    by_worker.get_by_role("link", name="Bo").click()
    expect(page.get_by_role("heading", name=re.compile("Bo"))).to_be_visible()


def test_routing_rules_are_edited_on_the_job_page_with_the_servers_errors_under_their_fields(
    live: Live, page: Page
) -> None:
    key, lw = owner(live)

    async def setup() -> tuple[job_pb2.Job, job_pb2.Job, job_pb2.Job]:
        made = []
        for name in ("Triage", "Experts", "Seniors"):
            made.append(await lw.create_job(name, classes=CLASSES, judgments_per_item=1, quiz_size=0))
        return made[0], made[1], made[2]

    triage, experts, seniors = live.run(setup)

    def rules() -> list[tuple[str, list[str], float | None]]:
        job = live.run(lambda: lw.get_job(triage.name))
        return [
            (r.target_job, list(r.classes), r.confidence_below if r.HasField("confidence_below") else None)
            for r in job.routing_rules
        ]

    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{triage.name.removeprefix('jobs/')}")
    page.get_by_role("button", name="Edit routing rules").click()
    page.get_by_role("button", name="Add routing rule").press("Enter")
    target = page.get_by_label("Rule 1 sends items to")
    expect(target).to_be_focused()
    target.select_option(label=f"Experts ({experts.name})")
    page.get_by_label("Rule 1 classes").fill("neg, nope")
    page.get_by_role("button", name="Save routing rules").click()
    classes = page.get_by_label("Rule 1 classes")
    expect(classes).to_have_attribute("aria-invalid", "true")
    expect(classes).to_be_focused()
    expect(page.get_by_role("group", name="Rule 1")).to_contain_text("'nope' names no class of the job")
    page.screenshot(path="/tmp/console11c-rules-error.png", full_page=True)
    shot(page, "edit-rule")
    assert rules() == []

    classes.fill("neg")
    page.get_by_label("Rule 1 confidence below").fill("0.8")
    page.get_by_role("button", name="Save routing rules").click()
    down = page.get_by_role("table", name="Its labels go on to")
    expect(down.get_by_role("row", name=re.compile("^1 Experts "))).to_contain_text(
        "class is neg and confidence below 0.8"
    )
    assert rules() == [(experts.name, ["neg"], pytest.approx(0.8))]

    # The form opens with the rules as they are; a changed target is saved.
    page.get_by_role("button", name="Edit routing rules").click()
    expect(page.get_by_label("Rule 1 classes")).to_have_value("neg")
    expect(page.get_by_label("Rule 1 confidence below")).to_have_value("0.8")
    page.get_by_label("Rule 1 sends items to").select_option(label=f"Seniors ({seniors.name})")
    page.get_by_role("button", name="Save routing rules").click()
    expect(down.get_by_role("row", name=re.compile("^1 Seniors "))).to_be_visible()
    assert rules() == [(seniors.name, ["neg"], pytest.approx(0.8))]

    page.get_by_role("button", name="Edit routing rules").click()
    page.get_by_role("button", name="Remove rule 1").click()
    page.get_by_role("button", name="Save routing rules").click()
    expect(page.get_by_text("No routing rules: this job neither sends")).to_be_visible()
    assert rules() == []


def test_job_page_counters_move_with_watch_job_while_no_timer_runs_and_nothing_polls(
    live: Live, page: Page
) -> None:
    """The page's clock is paused, so no timer of the page fires: the
    counters can only move through the WatchJob stream (a lease moves "in
    progress" with no label) and the feed through StreamLabels; the page
    never calls GetJob."""
    key, lw = owner(live)
    job = live.run(lambda: running_job(lw, items=5))
    token = live.run(lambda: lw.create_worker(job.name, "Ada"))[1]
    calls: list[str] = []
    page.on(
        "request", lambda r: calls.append(r.url.rsplit("/", 1)[-1]) if "/labelwire.v1." in r.url else None
    )

    start = datetime(2026, 1, 1, tzinfo=UTC)
    page.clock.install(time=start)
    sign_in(page, live, key)
    page.clock.pause_at(start + timedelta(hours=1))
    page.get_by_role("link", name="Sentiment").click()
    counters = page.get_by_role("table", name="Counters")
    expect(counters.get_by_role("row", name=re.compile("^Items labeled"))).to_contain_text("0")
    in_progress = counters.get_by_role("row", name=re.compile("^Items in progress"))
    expect(in_progress).to_contain_text("0")

    async def lease() -> str:
        async with WorkerClient(live.target, token) as worker:
            return (await worker.next_task()).task.name

    assert live.run(lease)
    expect(in_progress).to_contain_text("1")

    async def label(count: int) -> int:
        async with WorkerClient(live.target, token) as worker:
            return await work(worker, limit=count)

    assert live.run(lambda: label(3)) == 3
    expect(page.get_by_role("status")).to_contain_text("3 labels received")
    labeled = live.run(lambda: lw.get_job(job.name)).counters.labeled_items
    assert labeled == 3
    expect(counters.get_by_role("row", name=re.compile("^Items labeled"))).to_contain_text(str(labeled))
    expect(counters.get_by_role("row", name=re.compile("^Judgments"))).to_contain_text("3")
    expect(
        page.get_by_role("table", name=re.compile("Label feed")).get_by_role("link", name="i0")
    ).to_have_count(1)
    shot(page, "job-live")
    on_job_page = calls[calls.index("WatchJob") :]
    assert on_job_page.count("WatchJob") == 1 and on_job_page.count("StreamLabels") == 1
    assert "GetJob" not in on_job_page
