"""The console's item history, a worker's accuracy over time, and a label
table of 10,000 rows that draws only the rows on screen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Route, expect

from labelwire.client.raw import WorkerClient, classification, text_item
from labelwire.v1 import job_pb2, label_service_pb2
from tests.browser.conftest import Live
from tests.browser.test_console import owner, shot, sign_in
from tests.helpers import CLASSES, work


def test_item_history_lists_every_judgment_and_revision_and_the_worker_page_charts_accuracy(
    live: Live, page: Page
) -> None:
    """Ada answers both quiz questions right, Bo one; both label i0..i2 right;
    the owner disqualifies Bo (his judgments stop counting) and corrects i0."""
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
        items = [
            text_item(
                f"i{n}",
                f"truth:{CLASSES[n % 3]}",
                metadata={"shop": "<script>alert(1)</script>"} if n == 0 else None,
            )
            for n in range(3)
        ]
        items += [text_item(f"g{n}", f"truth:{CLASSES[n]}", gold=CLASSES[n]) for n in range(2)]
        await lw.add_items(job.name, items)
        await lw.start_job(job.name)
        for name, wrong in (("Ada", 0), ("Bo", 1)):
            _, token = await lw.create_worker(job.name, name)
            async with WorkerClient(live.target, token) as worker:
                await work(worker, right=False, limit=wrong)
                await work(worker)
        bo = {w.display_name: w for w in await lw.list_workers(job.name)}["Bo"]
        await lw.disqualify_worker(bo.name)
        await lw.correct_label(job.name, "i0", classification("neg"))
        return job

    job = live.run(setup)
    revisions = live.run(lambda: lw.label_revisions(job.name, "i0"))
    assert revisions[-1].method == "owner_correction"

    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/labels")
    page.get_by_role("table", name="Labels").get_by_role("link", name="i0", exact=True).click()
    expect(page.get_by_role("heading", name="Item i0")).to_be_visible()
    assert page.url.endswith("/items/i0")
    metadata = page.get_by_role("region", name="Metadata")
    expect(metadata).to_contain_text('"shop": "<script>alert(1)</script>"')
    answers = page.get_by_role("table", name=re.compile("^Judgments"))
    expect(answers.get_by_role("row")).to_have_count(3)
    ada = answers.get_by_role("row", name=re.compile("^Ada "))
    expect(ada).to_contain_text("pos")
    expect(ada.get_by_role("cell").last).to_have_text("yes")
    bo = answers.get_by_role("row", name=re.compile("^Bo "))
    expect(bo.get_by_role("cell").last).to_have_text(re.compile("^no: "))
    history = page.get_by_role("table", name="Label revisions")
    expect(history.get_by_role("row")).to_have_count(len(revisions) + 1)
    last = history.get_by_role("row").last
    expect(last).to_contain_text("neg")
    expect(last).to_contain_text("corrected by the owner")
    expect(last.get_by_role("rowheader")).to_have_text(f"{len(revisions)}")
    shot(page, "item")

    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/quality")
    page.get_by_role("table", name="Workers").get_by_role("link", name="Bo").click()
    expect(page.get_by_role("heading", name="Worker Bo")).to_be_visible()
    chart = page.get_by_role("img", name=re.compile("^Gold accuracy over 2 gold answers"))
    expect(chart).to_have_accessible_name(re.compile("50.0% overall"))
    shot(page, "worker")


def test_ten_thousand_labels_scroll_with_only_the_visible_rows_drawn(live: Live, page: Page) -> None:
    """ListLabels is answered by the test with 10,000 labels at once: the
    table says it has 10,001 rows but draws a window of them, and End in the
    scrolling box brings the last label into view."""
    key, lw = owner(live)

    async def setup() -> job_pb2.Job:
        return await lw.create_job("Big", classes=CLASSES, judgments_per_item=1, quiz_size=0)

    job = live.run(setup)
    response = label_service_pb2.ListLabelsResponse()
    for n in range(10_000):
        label = response.labels.add(job=job.name, item_key=f"k{n:05d}", sequence=n + 1, revision=1)
        label.value.classification.class_name = CLASSES[n % 3]
        label.confidence, label.judgment_count, label.method = 1.0, 1, "majority_vote"
    body = response.SerializeToString()
    asked: list[label_service_pb2.ListLabelsRequest] = []

    def answer(route: Route) -> None:
        asked.append(label_service_pb2.ListLabelsRequest.FromString(route.request.post_data_buffer or b""))
        route.fulfill(status=200, headers={"content-type": "application/proto"}, body=body)

    page.route("**/labelwire.v1.LabelService/ListLabels", answer)
    sign_in(page, live, key)
    page.goto(f"{live.url}/console/#/jobs/{job.name.removeprefix('jobs/')}/labels?class=neg&min=0.5")
    table = page.get_by_role("table", name="Labels")
    expect(table).to_have_attribute("aria-rowcount", "10001")
    expect(table.get_by_role("row", name=re.compile("^k00000 "))).to_be_visible()
    drawn = table.get_by_role("row").count()
    assert 10 < drawn < 100
    assert table.get_by_role("row", name=re.compile("^k09999 ")).count() == 0
    # The filter in the address went to the server as ListLabels' filter.
    assert asked[0].filter.class_name == "neg"
    assert asked[0].filter.HasField("min_confidence") and asked[0].filter.min_confidence == 0.5
    assert not asked[0].filter.HasField("max_confidence")

    page.get_by_role("region", name="Labels, scrollable").focus()
    page.keyboard.press("End")
    row = table.get_by_role("row", name=re.compile("^k09999 "))
    expect(row).to_be_visible()
    expect(row).to_have_attribute("aria-rowindex", "10001")
    assert table.get_by_role("row").count() < 100
    assert table.get_by_role("row", name=re.compile("^k00000 ")).count() == 0
