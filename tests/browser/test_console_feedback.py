"""The console's worker comments (on the job's page and on an item's page),
an item's content as workers saw it with its gold (GetItem), chains of jobs
(routing rules made in the create form, shown upstream and downstream) and a
label feed of hundreds of labels that draws only the rows in view."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
from playwright.sync_api import Page, Route, expect

from labelwire.client.raw import Client, WorkerClient, classification, source_item, text_item
from labelwire.server.files import png
from labelwire.v1 import item_pb2, job_pb2, judgment_pb2
from tests.browser.conftest import Live
from tests.browser.test_console import owner, shot, sign_in
from tests.helpers import CLASSES, truth, work

HOSTILE = "<img src=x onerror=alert(1)> the text is cut off"


def test_comments_on_the_job_page_and_the_items_content_and_gold(live: Live, page: Page) -> None:
    """Ada labels every item and comments on two; the job's page lists both
    comments newest first, each item's page shows its text, its comments and,
    for the gold item, the gold answer and why."""
    key, lw = owner(live)
    declined: list[str] = []

    async def setup() -> tuple[job_pb2.Job, list[tuple[str, str]]]:
        job = await lw.create_job("Reviews", classes=CLASSES, judgments_per_item=1, quiz_size=0)
        gold = text_item("g0", "gold:neg", gold="neg", gold_use=item_pb2.GOLD_USE_HIDDEN)
        gold.gold_explanation = "It broke on day one."
        items = [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}", metadata={"shop": "north"}) for n in range(3)]
        await lw.add_items(job.name, [*items, gold])
        await lw.start_job(job.name)
        _, bo = await lw.create_worker(job.name, "Bo")
        async with WorkerClient(live.target, bo) as worker:
            first = (await worker.next_task()).task
            await worker.decline(first.name, "<b>Not English</b>")
            declined.append({f"truth:{CLASSES[n % 3]}": f"i{n}" for n in range(3)}.get(first.text, "g0"))
        _, token = await lw.create_worker(job.name, "Ada")
        said: list[tuple[str, str]] = []
        to_say = {"truth:neg": ("i1", HOSTILE), "truth:pos": ("i0", "Is sarcasm negative?")}
        async with WorkerClient(live.target, token) as worker:
            while (response := await worker.next_task()).HasField("task"):
                task = response.task
                await worker.submit(task.name, classification(truth(task.text)))
                if task.text in to_say:
                    await worker.comment(task.name, to_say[task.text][1])
                    said.append(to_say[task.text])
        return job, said

    job, said = live.run(setup)
    assert len(said) == 2
    job_id = job.name.removeprefix("jobs/")
    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job_id}")
    comments = page.get_by_role("table", name="Worker comments")
    rows = comments.get_by_role("row")
    expect(rows).to_have_count(3)
    for row, (item_key, text) in zip(rows.all()[1:], reversed(said), strict=True):
        expect(row.get_by_role("cell").nth(1)).to_have_text("Ada")
        expect(row.get_by_role("cell").nth(2)).to_have_text(item_key)
        expect(row.get_by_role("cell").nth(3)).to_have_text(text)
    # What a worker wrote is text: no element came of it.
    assert comments.locator("img").count() == 0
    expect(page.get_by_text("2 comments, newest first.")).to_be_visible()
    shot(page, "comments")

    comments.get_by_role("link", name="Ada").first.click()
    expect(page.get_by_role("heading", name="Worker Ada")).to_be_visible()
    by_ada = page.get_by_role("table", name="Comments by this worker")
    expect(by_ada.get_by_role("row")).to_have_count(3)
    expect(by_ada).to_contain_text("Is sarcasm negative?")
    page.go_back()

    hostile_key = next(k for k, t in said if t == HOSTILE)
    comments.get_by_role("link", name=hostile_key, exact=True).click()
    expect(page.get_by_role("heading", name=f"Item {hostile_key}")).to_be_visible()
    content = page.get_by_role("region", name="Content")
    expect(content).to_contain_text("truth:neg")
    facts = page.get_by_role("table", name="About this item")
    expect(facts.get_by_role("row", name=re.compile("^State "))).to_contain_text("labeled")
    expect(facts.get_by_role("row", name=re.compile("^Label "))).to_contain_text("neg")
    mine = page.get_by_role("table", name="Comments on this item")
    expect(mine.get_by_role("row")).to_have_count(2)
    expect(mine.get_by_role("cell").last).to_have_text(HOSTILE)
    assert page.locator("main img").count() == 0

    page.goto(f"{live.url}/console/#/jobs/{job_id}/items/{declined[0]}")
    declines = page.get_by_role("table", name="Declines of this item")
    expect(declines.get_by_role("row")).to_have_count(2)
    expect(declines.get_by_role("cell").nth(1)).to_have_text("Bo")
    expect(declines.get_by_role("cell").last).to_have_text("<b>Not English</b>")

    page.goto(f"{live.url}/console/#/jobs/{job_id}/items/g0")
    facts = page.get_by_role("table", name="About this item")
    expect(facts.get_by_role("row", name=re.compile("^Gold answer "))).to_contain_text("neg")
    expect(facts.get_by_role("row", name=re.compile("^Gold for "))).to_contain_text("hidden gold")
    expect(facts.get_by_role("row", name=re.compile("^Why "))).to_contain_text("It broke on day one.")
    expect(page.get_by_text("No comments on this item.")).to_be_visible()
    if declined[0] != "g0":
        expect(page.get_by_text("No worker declined this item.")).to_be_visible()
    shot(page, "item-content")


def test_csv_and_judgment_downloads_carry_every_label_and_answer(
    live: Live, page: Page, tmp_path: Path
) -> None:
    """An item key a spreadsheet would run as a formula, and one with a
    comma and a quote, survive the CSV as text."""
    key, lw = owner(live)
    keys = ["=SUM(A1)", 'say "hi", then', "plain"]

    async def setup() -> job_pb2.Job:
        job = await lw.create_job("Sheet", classes=CLASSES, judgments_per_item=1, quiz_size=0)
        await lw.add_items(job.name, [text_item(k, f"truth:{CLASSES[n]}") for n, k in enumerate(keys)])
        await lw.start_job(job.name)
        _, token = await lw.create_worker(job.name, "Ada")
        async with WorkerClient(live.target, token) as worker:
            assert await work(worker) == 3
        return job

    job = live.run(setup)
    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/labels")
    expect(page.get_by_role("table", name="Labels").get_by_role("row")).to_have_count(4)
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download labels (CSV)").click()
    path = tmp_path / "labels.csv"
    caught.value.save_as(path)
    assert caught.value.suggested_filename == "Sheet.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["item_key"]: r["label"] for r in rows} == {
        "'=SUM(A1)": "pos",
        'say "hi", then': "neg",
        "plain": "neutral",
    }
    assert {r["method"] for r in rows} == {"majority_vote_posterior"} and {r["revision"] for r in rows} == {
        "1"
    }
    expect(page.get_by_text("Downloaded 3 labels as CSV.")).to_be_visible()

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download judgments (JSON Lines)").click()
    path = tmp_path / "judgments.jsonl"
    caught.value.save_as(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    expected = live.run(lambda: judgments_of(lw, job.name))
    assert sorted((x["item_key"], x["answer"]["classification"]["className"]) for x in lines) == sorted(
        (j.item_key, j.answer.classification.class_name) for j in expected
    )
    assert {(x["worker"], x["excluded"], x["phase"]) for x in lines} == {(expected[0].worker, False, "work")}


def test_an_image_items_page_shows_the_image_and_names_a_file_it_cannot_load(live: Live, page: Page) -> None:
    key, lw = owner(live)
    picture = png.encode_rgba(np.full((120, 160, 4), (70, 130, 180, 255), dtype=np.uint8))

    async def setup() -> job_pb2.Job:
        job = await lw.create_job(
            "Photos", classes=CLASSES, judgments_per_item=1, quiz_size=0, media_type=job_pb2.MEDIA_TYPE_IMAGE
        )
        await lw.add_items(
            job.name,
            [
                source_item("cat", "https://images.example/cat.png", metadata={"camera": "north"}),
                source_item("vault", "s3://bucket/private.png"),
            ],
        )
        return job

    job = live.run(setup)
    fetched: list[str] = []

    def serve(route: Route) -> None:
        fetched.append(route.request.url)
        route.fulfill(status=200, headers={"content-type": "image/png"}, body=picture)

    page.route("https://images.example/**", serve)
    sign_in(page, live, key)
    job_id = job.name.removeprefix("jobs/")
    page.goto(f"{live.url}/console/#/jobs/{job_id}/items/cat")
    image = page.get_by_role("img", name="Item cat")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('main img')?.naturalWidth === 160")
    assert fetched == ["https://images.example/cat.png"]
    expect(page.get_by_role("table", name="About this item")).to_contain_text("waiting for judgments")
    shot(page, "item-image")
    page.goto(f"{live.url}/console/#/jobs/{job_id}/items/vault")
    expect(page.get_by_role("region", name="Content")).to_contain_text(
        "The file s3://bucket/private.png cannot be shown in the browser"
    )
    assert page.locator("main img").count() == 0


def test_a_routing_rule_made_in_the_form_shows_both_ends_of_the_chain(live: Live, page: Page) -> None:
    key, lw = owner(live)
    experts = live.run(lambda: lw.create_job("Experts", classes=CLASSES, judgments_per_item=1, quiz_size=0))
    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/new")
    page.get_by_label("Name", exact=True).fill("Triage")
    page.get_by_label("Class 1 name").fill("pos")
    page.get_by_label("Class 2 name").fill("neg")
    page.get_by_role("button", name="Add good example").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Good example 1 text")).to_be_focused()
    page.keyboard.type("Loved it")
    page.get_by_label("Good example 1 answer").fill("pos")
    page.get_by_label("Good example 1 why").fill("It says loved")
    page.get_by_role("button", name="Add bad example").click()
    page.get_by_label("Bad example 1 text").fill("It was fine")
    page.get_by_label("Bad example 1 answer").fill("neg")
    page.get_by_label("Bad example 1 why").fill("Fine is not negative")
    page.get_by_label("Gold exposures").fill("3")
    page.get_by_label("Colluder check: least agreement").fill("-1")
    page.get_by_label("Time per task (minutes)").fill("10")
    page.get_by_label("Item lifetime (hours)").fill("48")
    page.get_by_role("button", name="Add routing rule").focus()
    page.keyboard.press("Enter")
    target = page.get_by_label("Rule 1 sends items to")
    expect(target).to_be_focused()
    target.select_option(label=f"Experts ({experts.name})")
    page.get_by_label("Rule 1 classes").fill("neg, nope")
    page.get_by_label("Rule 1 confidence below").fill("0.9")
    page.get_by_role("button", name="Create job").click()
    classes = page.get_by_label("Rule 1 classes")
    expect(classes).to_have_attribute("aria-invalid", "true")
    expect(classes).to_be_focused()
    shot(page, "create-rule")
    expect(page.get_by_role("group", name="Rule 1")).to_contain_text("'nope' names no class of the job")
    assert len(live.run(lambda: jobs_of(lw))) == 1
    classes.fill("neg")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("heading", name=re.compile("Upload"))).to_be_visible()
    jobs = {j.display_name: j for j in live.run(lambda: jobs_of(lw))}
    made = jobs["Triage"]
    assert (made.gold_policy.max_gold_exposures, made.gold_policy.min_work_agreement) == (3, -1.0)
    assert (made.task_time_limit.seconds, made.task_lifetime.seconds) == (600, 48 * 3600)
    shown = jobs["Triage"].instructions
    assert [(e.text, e.answer.classification.class_name, e.explanation) for e in shown.good_examples] == [
        ("Loved it", "pos", "It says loved")
    ]
    assert [(e.text, e.answer.classification.class_name, e.explanation) for e in shown.bad_examples] == [
        ("It was fine", "neg", "Fine is not negative")
    ]
    rules = jobs["Triage"].routing_rules
    assert [(r.target_job, list(r.classes), r.confidence_below) for r in rules] == [
        (experts.name, ["neg"], 0.9)
    ]

    page.goto(f"{live.url}/console/#/jobs/{jobs['Triage'].name.removeprefix('jobs/')}")
    down = page.get_by_role("table", name="Its labels go on to")
    expect(down.get_by_role("row", name=re.compile("^1 Experts "))).to_contain_text(
        "class is neg and confidence below 0.9"
    )
    shot(page, "chain")
    down.get_by_role("link", name="Experts").click()
    up = page.get_by_role("table", name="It receives items from")
    expect(up.get_by_role("row", name=re.compile("^Triage 1 "))).to_be_visible()
    up.get_by_role("link", name="Triage").click()
    expect(page.get_by_role("heading", name="Triage", exact=True)).to_be_visible()


def test_the_label_feed_keeps_every_label_and_draws_only_the_rows_in_view(live: Live, page: Page) -> None:
    key, lw = owner(live)

    async def setup() -> tuple[job_pb2.Job, str]:
        job = await lw.create_job("Busy", classes=CLASSES, judgments_per_item=1, quiz_size=0)
        await lw.add_items(job.name, [text_item(f"i{n:03d}", f"truth:{CLASSES[n % 3]}") for n in range(600)])
        await lw.start_job(job.name)
        _, token = await lw.create_worker(job.name, "Ada")
        async with WorkerClient(live.target, token) as worker:
            assert await work(worker) == 600
        return job, token

    job, token = live.run(setup)
    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}")
    feed = page.get_by_role("table", name="Label feed")
    expect(feed).to_have_attribute("aria-rowcount", "601")
    expect(feed.get_by_role("row", name=re.compile(r"^600 "))).to_be_visible()
    assert 10 < feed.get_by_role("row").count() < 100
    assert feed.get_by_role("row", name=re.compile(r"^1 i")).count() == 0

    async def more() -> None:
        await lw.add_items(job.name, [text_item("late", "truth:pos")])
        async with WorkerClient(live.target, token) as worker:
            assert await work(worker) == 1

    live.run(more)
    expect(feed).to_have_attribute("aria-rowcount", "602")
    expect(feed.get_by_role("row").nth(1)).to_contain_text("late")
    page.get_by_role("region", name="Label feed, scrollable").focus()
    page.keyboard.press("End")
    expect(feed.get_by_role("row", name=re.compile(r"^1 i"))).to_be_visible()


async def judgments_of(lw: Client, job: str) -> list[judgment_pb2.Judgment]:
    return [j async for j in lw.list_judgments(job)]


async def jobs_of(lw: Client) -> list[job_pb2.Job]:
    return [j async for j in lw.list_jobs()]
