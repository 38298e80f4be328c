"""The console's teams page (TeamService): an owner creates teams and a
worker account by keyboard, moves the account between teams, issues its
sign-in link (which signs the worker in) and revokes it; the admin key reads
the page without the controls."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from labelwire.client.raw import WorkerClient
from labelwire.v1 import worker_service_pb2
from tests.browser.conftest import Live
from tests.browser.test_console import owner, shot, sign_in
from tests.conftest import ADMIN_KEY


def test_teams_accounts_membership_and_sign_in_links(live: Live, page: Page) -> None:
    key, lw = owner(live)
    sign_in(page, live, key)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Teams").click()
    expect(page.get_by_role("heading", name="Teams and workers")).to_be_visible()
    assert page.url.endswith("#/teams")

    page.get_by_label("Team name").fill("Night shift")
    page.get_by_label("Description").fill("Reviews <b>after</b> ten")
    page.get_by_label("Description").press("Enter")
    teams = page.get_by_role("table", name="Teams")
    expect(teams.get_by_role("row", name=re.compile("^Night shift "))).to_contain_text(
        "Reviews <b>after</b> ten"
    )
    page.get_by_label("Team name").fill("Day shift")
    page.get_by_role("button", name="Create team").press("Enter")
    expect(teams.get_by_role("row")).to_have_count(3)

    page.get_by_label("Worker's name").fill("Ada")
    page.get_by_label("Into team").select_option(label="Night shift")
    page.get_by_role("button", name="Create worker account").press("Enter")
    accounts = page.get_by_role("table", name="Worker accounts")
    ada = accounts.get_by_role("row", name=re.compile("^Ada "))
    expect(ada).to_contain_text("Night shift")
    expect(teams.get_by_role("row", name=re.compile("^Night shift "))).to_contain_text("1")

    ada.get_by_label("Team for Ada").select_option(label="Day shift")
    ada.get_by_role("button", name="Add Ada to the team").press("Enter")
    expect(ada.get_by_role("button", name="Remove Ada from Day shift")).to_be_visible()
    ada.get_by_role("button", name="Remove Ada from Night shift").press("Enter")
    expect(ada.get_by_role("button", name="Remove Ada from Night shift")).to_have_count(0)
    (account,) = live.run(lambda: lw.list_worker_accounts())
    (day,) = [t for t in live.run(lambda: lw.list_teams()) if t.display_name == "Day shift"]
    assert list(account.teams) == [day.name]

    ada.get_by_role("button", name="Sign-in link for Ada").press("Enter")
    link = ada.get_by_role("textbox", name="Sign-in link of Ada")
    expect(link).to_be_focused()
    url = link.input_value()
    assert re.fullmatch(rf"{re.escape(live.url)}/work/\?token=lwa_\S+", url)
    token = url.split("token=", 1)[1]
    expect(ada.get_by_role("cell").nth(1)).to_have_text("1")
    shot(page, "teams")

    async def signs_in() -> bool:
        async with WorkerClient(live.target, token) as worker:
            await worker.stub.ListWorkerJobs(
                worker_service_pb2.ListWorkerJobsRequest(), metadata=worker.metadata
            )
        return True

    assert live.run(signs_in)
    assert live.run(lambda: lw.get_worker_account(account.name)).active_tokens == 1

    page.once("dialog", lambda d: d.accept())
    accounts.get_by_role("button", name="Revoke Ada's tokens").click()
    expect(accounts.get_by_role("row", name=re.compile("^Ada ")).get_by_role("cell").nth(1)).to_have_text("0")
    assert live.run(lambda: lw.get_worker_account(account.name)).active_tokens == 0

    # The admin key: every client's teams and accounts, no controls.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live, ADMIN_KEY)
    page.goto(f"{live.url}/console/#/teams")
    expect(
        page.get_by_role("table", name="Worker accounts").get_by_role("row", name=re.compile("^Ada "))
    ).to_be_visible()
    expect(page.get_by_role("button", name="Create team")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Sign-in link"))).to_have_count(0)
