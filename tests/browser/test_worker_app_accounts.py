"""A worker account in the worker app: one sign-in link, the team's jobs
listed with pay and status, one picked, its quiz passed, labels made, and
the owner's StreamLabels receives them; back on the list the job shows ended."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from labelwire.client.raw import WorkerClient, text_item
from tests.browser.conftest import Live, screenshot
from tests.browser.test_worker_app import WORKERS_DONE, labels, text_of
from tests.helpers import CLASSES, truth


def test_an_account_picks_one_of_its_teams_jobs_and_labels_it(live: Live, page: Page) -> None:
    lw = live.client()

    async def make() -> tuple[str, str, str, str]:
        crowd = (await lw.create_team("crowd")).name
        other = (await lw.create_team("other")).name
        jobs = []
        for name, price, short in (
            ("Reviews", 50_000, "Is the review positive, negative or neutral?"),
            ("Tweets", 12_500, "How does the tweet feel?"),
        ):
            job = await lw.create_job(
                name,
                classes=CLASSES,
                judgments_per_item=1,
                quiz_size=1,
                pass_accuracy=1.0,
                hidden_gold_share=0.0,
                price_per_judgment_micros=price,
                short_instructions=short,
                teams=[crowd],
            )
            items = [text_item(f"{name}{n}", f"{name}{n} truth:{CLASSES[n % 3]}") for n in range(2)]
            items.append(text_item(f"{name}-g", f"{name}-g truth:neg", gold="neg"))
            await lw.add_items(job.name, items)
            await lw.start_job(job.name)
            jobs.append(job.name)
        hidden = await lw.create_job("Hidden", classes=CLASSES, quiz_size=0, teams=[other])
        await lw.add_items(hidden.name, [text_item("h", "h truth:pos")])
        await lw.start_job(hidden.name)
        account = await lw.create_worker_account("Ana")
        await lw.add_team_member(crowd, account.name)
        token = await lw.issue_worker_account_token(account.name)
        return jobs[0], jobs[1], hidden.name, token

    reviews, tweets, _, token = live.run(make)
    assert token.startswith("lwa_")
    page.goto(live.sign_in_link(token))
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()
    assert "token" not in page.url
    cards = page.get_by_role("list", name="Your jobs").get_by_role("listitem")
    expect(cards).to_have_count(2)
    expect(page.get_by_role("heading", name="Hidden")).to_have_count(0)
    card = cards.filter(has=page.get_by_role("heading", name="Reviews"))
    expect(card).to_contain_text("Is the review positive, negative or neutral?")
    expect(card).to_contain_text("$0.05 a judgment")
    expect(card).to_contain_text("not started")
    expect(cards.filter(has=page.get_by_role("heading", name="Tweets"))).to_contain_text("$0.0125 a judgment")
    screenshot(page, "job-list")

    page.get_by_role("button", name="Work on Reviews").click()
    expect(page.get_by_role("heading", name="Reviews")).to_be_visible()
    expect(page.get_by_text("Quiz question")).to_be_visible()
    page.keyboard.press(str(CLASSES.index(truth(text_of(page))) + 1))
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Right!")
    page.keyboard.press("Enter")
    for _ in range(2):
        expect(page.get_by_text("Quiz question")).to_be_hidden()
        text = text_of(page)
        assert text.startswith("Reviews")
        page.keyboard.press(str(CLASSES.index(truth(text)) + 1))
        page.keyboard.press("Enter")
        expect(page.get_by_text(text, exact=True)).to_be_hidden()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_contain_text("qualified")

    page.get_by_role("button", name="All jobs").click()
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()
    done = cards.filter(has=page.get_by_role("heading", name="Reviews"))
    expect(done).to_contain_text("job ended")  # every item labeled: the job completed
    expect(done.get_by_role("button")).to_have_count(0)
    expect(cards.filter(has=page.get_by_role("heading", name="Tweets"))).to_contain_text("not started")
    page.keyboard.press("1")  # the list has no task keys; nothing is left listening
    page.keyboard.press("Enter")

    got = labels(live, lw, reviews)
    assert {key: a.classification.class_name for key, a in got.items()} == {
        f"Reviews{n}": CLASSES[n % 3] for n in range(2)
    }
    assert labels(live, lw, tweets) == {}


def test_the_list_leaves_a_job_mid_task_and_its_task_goes_back(live: Live, page: Page) -> None:
    lw = live.client()

    async def make() -> tuple[str, str]:
        crowd = (await lw.create_team("crowd")).name
        job = await lw.create_job(
            "Reviews", classes=CLASSES, judgments_per_item=1, quiz_size=0, teams=[crowd]
        )
        await lw.add_items(job.name, [text_item("a", "a truth:pos")])
        await lw.start_job(job.name)
        account = await lw.create_worker_account("Ana")
        await lw.add_team_member(crowd, account.name)
        return job.name, await lw.issue_worker_account_token(account.name)

    job, token = live.run(make)
    page.goto(live.sign_in_link(token))
    page.get_by_role("button", name="Work on Reviews").click()
    expect(page.get_by_text("a truth:pos")).to_be_visible()
    page.get_by_role("button", name="All jobs").click()
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()

    async def someone_else_gets_it() -> str:
        _, other = await lw.create_worker(job, "Bo")
        async with WorkerClient(live.target, other) as bo:
            got = await bo.next_task()
            await bo.release(got.task.name)
            return got.task.text

    assert live.run(someone_else_gets_it) == "a truth:pos"  # the task was released, not left leased
