"""The owner console's working views in Chromium: the create-job form (the
server's field errors beside their fields), uploading a CSV in batches with
errors by line and a resumed upload, the label explorer with an owner's
correction arriving in the client's feed, the JSON Lines download, and the
worker table."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from labelwire.client.raw import Client, WorkerClient, text_item
from labelwire.v1 import job_pb2, task_pb2
from tests.browser.conftest import Live
from tests.browser.test_console import owner, shot, sign_in
from tests.helpers import CLASSES, drain, running_job, work


async def listed(lw: Client) -> list[job_pb2.Job]:
    return [job async for job in lw.list_jobs()]


def test_create_job_form_shows_the_servers_field_error_beside_the_field(live: Live, page: Page) -> None:
    key, lw = owner(live)
    sign_in(page, live, key)
    page.get_by_role("link", name="New job").click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible()
    assert page.url.endswith("#/jobs/new")

    page.get_by_label("Name", exact=True).fill("Reviews <script>alert(1)</script>")
    page.get_by_label("Task type").select_option("classification")
    page.get_by_label("Class 1 name").fill("pos")
    page.get_by_label("Class 1 description").fill("The reviewer liked it")
    page.get_by_label("Class 2 name").fill("neg")
    page.get_by_label("Class 2 description").fill("The reviewer did not")
    page.get_by_role("button", name="Add class").click()
    expect(page.get_by_label("Class 3 name")).to_be_focused()
    page.keyboard.type("dropped")
    page.get_by_role("button", name="Add class").click()
    page.keyboard.type("neutral")
    page.get_by_role("button", name="Remove class 3").click()
    expect(page.get_by_label("Class 3 name")).to_have_value("neutral")
    expect(page.get_by_label("Class 3 name")).to_be_focused()
    expect(page.get_by_label("Class 4 name")).to_have_count(0)
    page.get_by_label("Short instructions").fill("Is the review positive?")
    judgments = page.get_by_label("Judgments per item")
    judgments.fill("12")
    page.get_by_label("Price per judgment (USD)").fill("0.02")
    page.get_by_label("Budget (USD)").fill("5")
    shot(page, "create")
    judgments.press("Enter")

    expect(judgments).to_have_attribute("aria-invalid", "true")
    expect(judgments).to_have_accessible_description(
        re.compile("judgments_per_item must be between 1 and 9, got 12")
    )
    expect(judgments).to_be_focused()
    shot(page, "create-error")
    assert live.run(lambda: listed(lw)) == []

    judgments.fill("3")
    page.get_by_role("button", name="Create job").press("Enter")
    expect(page.get_by_role("heading", name=re.compile("^Upload items to Reviews"))).to_be_visible()
    (job,) = live.run(lambda: listed(lw))
    assert job.display_name == "Reviews <script>alert(1)</script>"
    assert [(c.name, c.description) for c in job.task_config.classification.classes] == [
        ("pos", "The reviewer liked it"),
        ("neg", "The reviewer did not"),
        ("neutral", ""),
    ]
    assert job.judgment_policy.judgments_per_item == 3
    assert (job.price_per_judgment_micros, job.budget_micros) == (20_000, 5_000_000)
    assert job.instructions.short_instructions == "Is the review positive?"
    assert job.workforce.adapter in ("", "pool")
    assert job.state == job_pb2.JOB_STATE_DRAFT


def manifest(path: Path, rows: int) -> Path:
    """A CSV of `rows` items: row 1500 (line 1502) is missing two columns, row 1700
    (line 1702) a gold answer that is no class of the job, row 1900 a gold
    item whose quoted text holds a comma, quotes and a newline."""
    lines = ["key,source,gold,lang"]
    for n in range(rows):
        if n == 1500:
            lines.append(f"k{n},text {n}")
        elif n == 1700:
            lines.append(f"k{n},text {n},cat,en")
        elif n == 1900:
            lines.append(f'k{n},"says ""hi"",\nthen bye",pos,en')
        else:
            lines.append(f"k{n},text {n},,en")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_upload_a_csv_in_batches_lists_bad_rows_by_line_and_resumes(
    live: Live, page: Page, tmp_path: Path
) -> None:
    key, lw = owner(live)
    job = live.run(lambda: lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0))
    rows = 2500
    csv = manifest(tmp_path / "items.csv", rows)
    calls = {"n": 0}

    def second_call_fails(route: Route) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/labelwire.v1.JobService/AddItemBatch", second_call_fails)
    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/upload")
    page.get_by_label("Manifest file").set_input_files(str(csv))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("alert")).to_contain_text("The upload stopped after line 1001")
    assert live.run(lambda: lw.get_job(job.name)).counters.total_items == 1000

    page.unroute("**/labelwire.v1.JobService/AddItemBatch")
    # The progress outlives the page: the same file picked again offers to resume.
    page.reload()
    page.get_by_label("Manifest file").set_input_files(str(csv))
    resume = page.get_by_role("button", name="Resume after line 1001")
    resume.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Done:")
    expect(page.get_by_role("status")).to_contain_text(
        "1498 added, 0 already there, 1 of them gold, 2 rows with errors"
    )
    errors = page.get_by_role("table", name="Rows not added")
    expect(errors.get_by_role("row", name=re.compile("^1502 "))).to_contain_text("has 2 fields, the header 4")
    expect(errors.get_by_role("row", name=re.compile("^1702 "))).to_contain_text("cat")
    expect(page.get_by_role("progressbar", name="Upload progress")).to_have_attribute(
        "value", str(csv.stat().st_size)
    )
    shot(page, "upload")

    got = live.run(lambda: lw.get_job(job.name))
    assert (got.counters.total_items, got.counters.gold_items) == (rows - 3, 1)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('labelwire.upload'))") == []


def test_upload_json_lines_with_a_json_gold_answer_and_lines_that_are_not_objects(
    live: Live, page: Page, tmp_path: Path
) -> None:
    key, lw = owner(live)
    job = live.run(lambda: lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0))
    lines = [
        {"key": "a", "source": "fine", "gold": {"classification": {"class_name": "pos"}}},
        "{oops",
        {"key": "b", "source-ref": "https://example.com/b.txt"},
        [1, 2],
        {"key": "c", "source": "<img src=x onerror=alert(1)>", "lang": "en"},
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")

    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/upload")
    page.get_by_label("Manifest file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Done: 3 added, 0 already there, 1 of them gold, 2 rows"
    )
    errors = page.get_by_role("table", name="Rows not added")
    expect(errors.get_by_role("row", name=re.compile("^2 "))).to_contain_text("is not valid JSON")
    expect(errors.get_by_role("row", name=re.compile("^4 "))).to_contain_text("is not a JSON object")
    got = live.run(lambda: lw.get_job(job.name))
    assert (got.counters.total_items, got.counters.gold_items) == (2, 1)


def test_label_explorer_filters_and_a_correction_reaches_the_clients_feed(
    live: Live, page: Page, tmp_path: Path
) -> None:
    key, lw = owner(live)
    job = live.run(lambda: running_job(lw, items=6))

    async def label_all() -> None:
        _, token = await lw.create_worker(job.name, "Ada")
        async with WorkerClient(live.target, token) as worker:
            await work(worker)

    live.run(label_all)
    before = live.run(lambda: drain(lw.stream_labels(job.name, snapshot_only=True)))
    assert len(before) == 6

    sign_in(page, live, key)
    page.get_by_role("link", name="Sentiment").click()
    page.get_by_role("link", name="Labels").click()
    table = page.get_by_role("table", name="Labels")
    expect(table.get_by_role("row")).to_have_count(7)
    page.get_by_label("Class").select_option("neg")
    expect(table.get_by_role("row")).to_have_count(3)  # the header, i1 and i4
    assert "class=neg" in page.url
    page.get_by_label("Item key contains").fill("i4")
    expect(table.get_by_role("row")).to_have_count(2)
    page.get_by_label("Item key contains").fill("")
    page.get_by_label("Class").select_option("")

    table.get_by_role("button", name="Correct i0").click()
    dialog = page.get_by_role("dialog", name="Correct the label of i0")
    expect(dialog.get_by_role("radio", name="pos")).to_be_focused()
    answers = dialog.get_by_role("table", name="Answers")
    expect(answers.get_by_role("row", name=re.compile("^Ada "))).to_contain_text("pos")
    expect(answers.get_by_role("row", name=re.compile("^Ada "))).to_contain_text("yes")
    page.keyboard.press("ArrowDown")
    expect(dialog.get_by_role("radio", name="neg")).to_be_checked()
    shot(page, "correct")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    row = table.get_by_role("row", name=re.compile("^i0 "))
    expect(row).to_contain_text("neg")
    expect(row).to_contain_text("corrected by the owner")

    after = live.run(
        lambda: drain(lw.stream_labels(job.name, after_sequence=before[-1].sequence, snapshot_only=True))
    )
    assert [
        (e.item_key, e.revision, e.value.classification.class_name, e.human_annotated) for e in after
    ] == [("i0", 2, "neg", True)]

    page.get_by_role("checkbox", name=re.compile("revised")).check()
    expect(table.get_by_role("row")).to_have_count(2)
    shot(page, "labels")

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download labels (JSON Lines)").click()
    path = tmp_path / "labels.jsonl"
    caught.value.save_as(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(line["item_key"] for line in lines) == [f"i{n}" for n in range(6)]
    i0 = next(line for line in lines if line["item_key"] == "i0")
    assert i0["label"] == {"classification": {"className": "neg"}}
    assert (i0["revision"], i0["method"], i0["human_annotated"]) == (2, "owner_correction", True)

    # The live server has no files root: ExportLabels says so beside the path.
    target = page.get_by_label("Server path or s3:// URI")
    target.fill("out/labels.manifest")
    page.get_by_role("button", name="Export manifest").click()
    expect(target).to_have_attribute("aria-invalid", "true")
    expect(target).to_have_accessible_description(re.compile("files root"))


def dollars(micros: float) -> str:
    """As the console writes an amount: cents, or four places under a cent."""
    d = micros / 1e6
    return f"${d:.4f}" if d != 0 and abs(d) < 0.01 else f"${d:.2f}"


def test_worker_table_sorts_shows_cost_per_correct_label_and_disqualifies(live: Live, page: Page) -> None:
    """Ada answers the two quiz questions right, Bo one of them; both then
    label every item right, so gold accuracy is 3 of 4 over the crowd."""
    key, lw = owner(live)

    async def setup() -> job_pb2.Job:
        job = await lw.create_job(
            "Sentiment",
            classes=CLASSES,
            judgments_per_item=2,
            quiz_size=2,
            pass_accuracy=0.5,
            hidden_gold_share=0.0,
            price_per_judgment_micros=10_000,
        )
        items = [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(4)]
        items += [text_item(f"g{n}", f"truth:{CLASSES[n]}", gold=CLASSES[n]) for n in range(2)]
        await lw.add_items(job.name, items)
        await lw.start_job(job.name)
        for name, wrong in (("Ada", 0), ("Bo", 1)):
            _, token = await lw.create_worker(job.name, name)
            async with WorkerClient(live.target, token) as worker:
                await work(worker, right=False, limit=wrong)
                await work(worker)
        return job

    job = live.run(setup)
    quality = live.run(lambda: lw.job_quality(job.name))
    assert sorted((w.stats.gold_correct, w.stats.gold_answered) for w in quality.workers) == [(1, 2), (2, 2)]

    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/quality")
    figures = page.get_by_role("table", name="Quality figures")
    expect(figures.get_by_role("row", name=re.compile("^Cost per correct label"))).to_contain_text(
        dollars(quality.cost_per_label_micros * 4 // 3)
    )
    workers = page.get_by_role("table", name="Workers")
    heading = workers.get_by_role("columnheader", name="Gold accuracy")
    heading.get_by_role("button").click()
    expect(heading).to_have_attribute("aria-sort", "descending")
    rows = workers.get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Ada")
    expect(rows.nth(1)).to_contain_text("100.0% (2 / 2)")
    heading.get_by_role("button").press("Enter")
    expect(heading).to_have_attribute("aria-sort", "ascending")
    expect(rows.nth(1)).to_contain_text("Bo")
    expect(rows.nth(1)).to_contain_text("50.0% (1 / 2)")
    shot(page, "workers")

    page.once("dialog", lambda d: d.accept())
    workers.get_by_role("button", name="Disqualify Bo").click()
    expect(workers.get_by_role("row", name=re.compile("^Bo "))).to_contain_text("disqualified")
    expect(workers.get_by_role("button", name="Disqualify Bo")).to_have_count(0)
    listed = live.run(lambda: lw.list_workers(job.name))
    assert {w.display_name: w.status for w in listed}["Bo"] == task_pb2.WORKER_STATUS_DISQUALIFIED

    workers.get_by_role("button", name="Requalify Bo").press("Enter")
    expect(workers.get_by_role("row", name=re.compile("^Bo "))).to_contain_text("qualified")
    expect(workers.get_by_role("button", name="Disqualify Bo")).to_be_visible()
    listed = live.run(lambda: lw.list_workers(job.name))
    assert {w.display_name: w.status for w in listed}["Bo"] == task_pb2.WORKER_STATUS_QUALIFIED


def test_job_page_shows_judgments_per_minute_and_the_time_left(live: Live, page: Page) -> None:
    key, lw = owner(live)
    job = live.run(lambda: running_job(lw, items=6))
    token = live.run(lambda: lw.create_worker(job.name, "Ada"))[1]

    async def label(count: int) -> int:
        async with WorkerClient(live.target, token) as worker:
            return await work(worker, limit=count)

    start = datetime(2026, 1, 1, tzinfo=UTC)
    page.clock.install(time=start)
    sign_in(page, live, key)
    # The page's clock stands still from here but for the minute moved below.
    page.clock.pause_at(start + timedelta(hours=1))
    page.get_by_role("link", name="Sentiment").click()
    counters = page.get_by_role("table", name="Counters")
    expect(counters.get_by_role("row", name=re.compile("^Time left"))).to_contain_text("measuring")
    assert live.run(lambda: label(2)) == 2
    expect(page.get_by_role("status")).to_contain_text("2 labels received")
    page.clock.fast_forward("01:00")
    assert live.run(lambda: label(2)) == 2
    expect(page.get_by_role("status")).to_contain_text("4 labels received")
    expect(counters.get_by_role("row", name=re.compile(r"^Speed \(judgments per minute\)"))).to_contain_text(
        "4.0"
    )
    expect(counters.get_by_role("row", name=re.compile("^Time left"))).to_contain_text("about 30 s")
