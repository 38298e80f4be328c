"""The worker's history in the worker app, in Chromium: a worker account
that fails a job's quiz is told it is out, its history page shows that job
as out beside the totals, and it gets no more tasks there."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from labelwire.client.raw import WorkerClient, text_item
from labelwire.v1 import task_pb2
from tests.browser.conftest import Live, screenshot
from tests.browser.test_worker_app import labels, text_of
from tests.helpers import CLASSES, truth


def test_worker_failing_the_quiz_sees_it_is_out_in_its_history_and_gets_no_tasks(
    live: Live, page: Page
) -> None:
    lw = live.client()

    async def make() -> tuple[str, str]:
        crowd = (await lw.create_team("crowd")).name
        names = []
        for name in ("Reviews", "Tweets"):
            job = await lw.create_job(
                name,
                classes=CLASSES,
                judgments_per_item=1,
                quiz_size=1,
                pass_accuracy=1.0,
                hidden_gold_share=0.0,
                price_per_judgment_micros=20_000,
                teams=[crowd],
            )
            items = [text_item(f"{name}{n}", f"{name}{n} truth:{CLASSES[n % 3]}") for n in range(2)]
            items.append(text_item(f"{name}-g", f"{name}-g truth:neg", gold="neg"))
            await lw.add_items(job.name, items)
            await lw.start_job(job.name)
            names.append(job.name)
        account = await lw.create_worker_account("Ana")
        await lw.add_team_member(crowd, account.name)
        return names[0], await lw.issue_worker_account_token(account.name)

    reviews, token = live.run(make)
    page.goto(live.sign_in_link(token))
    page.get_by_role("button", name="Work on Reviews").click()
    expect(page.get_by_text("Quiz question")).to_be_visible()
    wrong = (CLASSES.index(truth(text_of(page))) + 1) % 3
    page.keyboard.press(str(wrong + 1))
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Not quite.")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="You did not pass the quiz")).to_be_visible()

    page.get_by_role("button", name="History").click()
    expect(page.get_by_role("heading", name="Your history")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("You are out of one job")
    expect(page.get_by_role("alert")).to_contain_text("Reviews (failed the quiz)")
    rows = page.get_by_role("table", name="Jobs you worked on").get_by_role("row")
    expect(rows).to_have_count(2)  # the header and Reviews: Tweets was never started
    expect(rows.filter(has_text="Reviews")).to_contain_text("Out: failed the quiz")
    expect(rows.filter(has_text="Reviews")).to_contain_text("0 of 1 right")
    out_of = (
        page.get_by_label("Totals")
        .locator("div")
        .filter(has=page.get_by_role("term").filter(has_text="Out of"))
    )
    expect(out_of.get_by_role("definition")).to_have_text("1")
    screenshot(page, "history")

    page.get_by_role("button", name="Back to work").click()  # back on the job, still out
    expect(page.get_by_role("heading", name="You did not pass the quiz")).to_be_visible()
    expect(page.locator(".item-text")).to_have_count(0)

    async def next_task() -> tuple[bool, int]:
        async with WorkerClient(live.target, token, job=reviews) as ana:
            got = await ana.next_task()
            return got.HasField("task"), got.status

    assert live.run(next_task) == (False, task_pb2.WORKER_STATUS_FAILED_QUIZ)
    assert labels(live, lw, reviews) == {}
