"""The worker app in Debian's Chromium, driven by Playwright, against a real
server (gRPC and HTTP ports) on its own event loop in a thread.

The browser is started once for this folder, by its path (never `playwright
install`); each test gets a fresh server, database and browser context.
Tests are plain functions on the sync Playwright API; server-side set-up
and checks run on the server's loop through `Live.run`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import faulthandler
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from labelwire.client.raw import AdminClient, Client
from labelwire.server.files.policy import FilesSettings
from labelwire.server.transport.app import Running, start_server
from tests.conftest import ADMIN_KEY, Clock

CHROMIUM = os.environ.get("LABELWIRE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
T = TypeVar("T")


@dataclass
class Live:
    loop: asyncio.AbstractEventLoop
    running: Running
    clock: Clock
    url: str
    target: str

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Runs `make()` on the server's loop (grpc.aio channels belong to a loop)."""

        async def call() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout=60)

    def client(self) -> Client:
        async def make() -> Client:
            async with AdminClient(self.target, ADMIN_KEY) as admin:
                key = await admin.create_api_key("owner")
            return Client(self.target, key)

        return self.run(make)

    def sign_in_link(self, token: str) -> str:
        return f"{self.url}/work/?token={token}"


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the browser tests, closed when they are done: the
    sync API keeps an event loop running in this thread until then, which
    the asyncio tests elsewhere in the run cannot share."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: apt-get install -y chromium (or set LABELWIRE_CHROMIUM)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live(database: str) -> Iterator[Live]:
    with live_server(database) as running:
        yield running


@contextlib.contextmanager
def live_server(database: str, files: FilesSettings | None = None) -> Iterator[Live]:
    """A server with its HTTP port on its own loop thread; `files` names the
    paths and S3 prefixes clients may use."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    clock = Clock()

    async def start() -> Running:
        return await start_server(
            address="127.0.0.1:0",
            database=database,
            admin_key=ADMIN_KEY,
            clock=clock,
            seed=0,
            http_address="127.0.0.1:0",
            files=files,
        )

    running = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=60)
    assert running.http is not None
    try:
        yield Live(loop, running, clock, f"http://127.0.0.1:{running.http.port}", f"127.0.0.1:{running.port}")
    finally:
        stopping = asyncio.run_coroutine_threadsafe(running.stop(grace=None), loop)
        try:
            stopping.result(timeout=60)
        except concurrent.futures.TimeoutError:
            # Once in CI a stop took over a minute: every thread's stack says where it waited.
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            raise
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 720})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"the page threw: {errors}"


def screenshot(page: Page, name: str) -> None:
    """Saves the docs' picture of a view (docs/worker-app.md), only when
    LABELWIRE_SCREENSHOTS=1: an ordinary run leaves docs/ untouched."""
    if os.environ.get("LABELWIRE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"worker-app-{name}.png"))
