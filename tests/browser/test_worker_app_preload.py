"""The worker app fetches the next task's image before it is shown: it
holds the lease after its task (NextTask and SubmitJudgment with lookahead)
and loads that task's image while the worker answers; after a quiz answer,
while the worker reads the feedback."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from labelwire.client.raw import source_item
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live
from tests.browser.test_worker_app import WORKERS_DONE, labels, sign_in, start_job


class Pictures:
    """Small PNGs over HTTP, each path its own colour, with the paths asked for in order."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        pictures = self

        class Serve(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                pictures.asked.append(self.path)
                out = io.BytesIO()
                Image.new("RGB", (64, 48), (len(self.path) * 40 % 256, 90, 160)).save(out, format="PNG")
                body = out.getvalue()
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, path: str) -> bool:
        """Whether `path` was asked for within a few seconds (a wait, not a timing)."""
        for _ in range(100):
            if path in self.asked:
                return True
            time.sleep(0.05)
        return False


@pytest.fixture
def pictures() -> Iterator[Pictures]:
    served = Pictures()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.server.shutdown()
        served.server.server_close()


def test_next_image_is_fetched_while_the_worker_reads_the_quiz_feedback(
    live: Live, page: Page, pictures: Pictures
) -> None:
    lw = live.client()
    items = [
        source_item("gold", f"{pictures.url}/gold.png", gold="cat"),
        source_item("work", f"{pictures.url}/work.png"),
    ]
    _, token = start_job(
        live,
        lw,
        items,
        classes=["cat", "dog"],
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=1,
        pass_accuracy=1.0,
        hidden_gold_share=0.0,
    )
    sign_in(page, live, token)
    expect(page.get_by_role("img", name="the item")).to_be_visible()
    assert pictures.asked == ["/gold.png"]
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Right!")
    assert pictures.wait_for("/work.png")  # asked for before the worker moves on
    expect(page.get_by_role("img", name="the item")).to_have_count(0)  # and not shown yet
    page.keyboard.press("Enter")
    shown = page.get_by_role("img", name="the item")
    expect(shown).to_have_attribute("src", f"{pictures.url}/work.png")
    assert page.evaluate("document.querySelector('.item-media img').complete") is True
    assert pictures.asked.count("/work.png") == 1


def test_next_image_is_fetched_while_the_worker_answers_the_current_one(
    live: Live, page: Page, pictures: Pictures
) -> None:
    lw = live.client()
    items = [source_item(name, f"{pictures.url}/{name}.png") for name in ("a", "b", "c")]
    job, token = start_job(
        live,
        lw,
        items,
        classes=["cat", "dog"],
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=0,
    )
    sign_in(page, live, token)
    shown = page.get_by_role("img", name="the item")
    for name, after in (("a", "b"), ("b", "c")):
        expect(shown).to_have_attribute("src", f"{pictures.url}/{name}.png")
        assert pictures.wait_for(f"/{after}.png")  # the task after it is leased and its image fetched
        page.keyboard.press("1")
        page.keyboard.press("Enter")
    expect(shown).to_have_attribute("src", f"{pictures.url}/c.png")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    assert sorted(pictures.asked) == ["/a.png", "/b.png", "/c.png"]  # each once
    assert set(labels(live, lw, job)) == {"a", "b", "c"}
