"""A worker labels in the worker app, in Chromium: signs in with the owner's
link, passes the quiz seeing its feedback, labels at the keyboard (the mouse
for spans and boxes), and the owner's StreamLabels receives the labels."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from labelwire.client.raw import Client, classification, multi_label, source_item, text_item
from labelwire.v1 import answer_pb2, item_pb2, job_pb2, label_pb2
from tests.browser.conftest import Live, screenshot
from tests.helpers import CLASSES, drain, truth

WORKERS_DONE = re.compile("finished|No more work")


def start_job(live: Live, lw: Client, items: list[item_pb2.Item], **spec: object) -> tuple[str, str]:
    """A started job with these items; the job's name and a worker's token."""

    async def make() -> tuple[str, str]:
        job = await lw.create_job("Reviews", **spec)  # type: ignore[arg-type]
        await lw.add_items(job.name, items)
        await lw.start_job(job.name)
        _, token = await lw.create_worker(job.name, "Ada")
        return job.name, token

    return live.run(make)


def labels(live: Live, lw: Client, job: str) -> dict[str, answer_pb2.Answer]:
    async def read() -> list[label_pb2.Label]:
        return await drain(lw.stream_labels(job, snapshot_only=True))

    return {label.item_key: label.value for label in live.run(read)}


def text_of(page: Page) -> str:
    return page.locator(".item-text").first.inner_text()


def sign_in(page: Page, live: Live, token: str) -> None:
    page.goto(live.sign_in_link(token))
    expect(page.get_by_role("heading", name="Reviews")).to_be_visible()
    assert "token" not in page.url  # the token left the address bar at once


def test_single_label_quiz_feedback_then_keyboard_labels(live: Live, page: Page) -> None:
    lw = live.client()
    items = [text_item(f"i{n}", f"i{n} truth:{CLASSES[n % 3]}") for n in range(3)]
    items += [text_item(f"g{n}", f"g{n} truth:{CLASSES[n % 3]}", gold=CLASSES[n % 3]) for n in range(2)]
    job, token = start_job(
        live,
        lw,
        items,
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=2,
        pass_accuracy=0.5,
        hidden_gold_share=0.0,
        short_instructions="Is the review positive, negative or neutral?",
    )
    sign_in(page, live, token)
    for wrong_first in (True, False):
        expect(page.get_by_text("Quiz question")).to_be_visible()
        answer = truth(text_of(page))
        given = CLASSES[(CLASSES.index(answer) + 1) % 3] if wrong_first else answer
        page.keyboard.press(str(CLASSES.index(given) + 1))
        expect(page.get_by_role("radio", name=given)).to_have_attribute("aria-checked", "true")
        page.keyboard.press("Enter")
        feedback = page.get_by_role("alert")
        expect(feedback).to_contain_text("Not quite." if wrong_first else "Right!")
        expect(feedback).to_contain_text(f"The expected answer: {answer}")
        if wrong_first:
            screenshot(page, "quiz-feedback")
        page.keyboard.press("Enter")
    for n in range(3):
        expect(page.get_by_text("Quiz question")).to_be_hidden()
        text = text_of(page)
        page.keyboard.press(str(CLASSES.index(truth(text)) + 1))
        if n == 0:
            screenshot(page, "single-label")
        page.keyboard.press("Enter")
        expect(page.get_by_text(text, exact=True)).to_be_hidden()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = labels(live, lw, job)
    assert {key: a.classification.class_name for key, a in got.items()} == {
        f"i{n}": CLASSES[n % 3] for n in range(3)
    }


def test_multi_label_toggles_with_number_keys(live: Live, page: Page) -> None:
    lw = live.client()
    items = [text_item(f"i{n}", f"i{n} truth:{CLASSES[n % 3]}") for n in range(2)]
    gold = multi_label([CLASSES[0], CLASSES[2]])
    items.append(text_item("g0", "truth:pos+neutral", gold=gold))
    job, token = start_job(
        live,
        lw,
        items,
        classes=CLASSES,
        task_type="multi_label",
        judgments_per_item=1,
        quiz_size=1,
        pass_accuracy=1.0,
        hidden_gold_share=0.0,
    )
    sign_in(page, live, token)
    expect(page.get_by_text("Quiz question")).to_be_visible()
    page.keyboard.press("1")
    page.keyboard.press("3")
    expect(page.get_by_role("checkbox", name="pos")).to_be_checked()
    expect(page.get_by_role("checkbox", name="neutral")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Right!")
    page.keyboard.press("Enter")
    for n in range(2):
        text = text_of(page)
        if n == 0:
            page.keyboard.press("2")
            page.keyboard.press("2")  # toggled off again
        page.keyboard.press(str(CLASSES.index(truth(text)) + 1))
        if n == 0:
            screenshot(page, "multi-label")
        page.keyboard.press("Enter")
        expect(page.get_by_text(text, exact=True)).to_be_hidden()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = labels(live, lw, job)
    assert {k: list(a.multi_label.class_names) for k, a in got.items()} == {
        f"i{n}": [CLASSES[n % 3]] for n in range(2)
    }


def test_verification_confirms_by_default_and_a_number_marks_wrong(live: Live, page: Page) -> None:
    lw = live.client()
    items = []
    for n in range(2):
        item = text_item(f"i{n}", f"review {n}")
        item.prelabel.CopyFrom(classification("pos"))
        items.append(item)
    gold = text_item(
        "g0",
        "review gold",
        gold=answer_pb2.Answer(verification=answer_pb2.VerificationAnswer(correct=[False])),
    )
    gold.prelabel.CopyFrom(classification("neg"))
    items.append(gold)
    spec = job_pb2.Job(
        task_config=job_pb2.TaskConfig(
            verification=job_pb2.VerificationConfig(
                classes=[job_pb2.LabelClass(name=c) for c in CLASSES], batch_size=1
            )
        )
    )
    job, token = start_job(
        live,
        lw,
        items,
        classes=CLASSES,
        job=spec,
        judgments_per_item=1,
        quiz_size=1,
        pass_accuracy=1.0,
        hidden_gold_share=0.0,
    )
    sign_in(page, live, token)
    expect(page.get_by_text("The model says: neg")).to_be_visible()
    page.keyboard.press("1")
    expect(page.get_by_role("button", name="Item 1 is wrong")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Right!")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The model says: pos")).to_be_visible()
    first = text_of(page)
    screenshot(page, "verification")
    if first == "review 1":
        page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_text(first, exact=True)).to_be_hidden()
    if first != "review 1":
        page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = labels(live, lw, job)
    assert {k: list(a.verification.correct) for k, a in got.items()} == {"i0": [True], "i1": [False]}


def test_job_text_with_script_is_shown_as_text(live: Live, page: Page) -> None:
    lw = live.client()
    hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    _, token = start_job(
        live, lw, [text_item("x", hostile)], classes=CLASSES, judgments_per_item=1, quiz_size=0
    )
    sign_in(page, live, token)
    expect(page.get_by_text(hostile, exact=True)).to_be_visible()
    assert page.evaluate("window.pwned") is None
    assert page.locator(".stage img, .stage script").count() == 0


def test_skip_with_a_reason_reaches_the_owner(live: Live, page: Page) -> None:
    lw = live.client()
    job, token = start_job(
        live, lw, [text_item("a", "unreadable ###")], classes=CLASSES, judgments_per_item=1, quiz_size=0
    )
    sign_in(page, live, token)
    expect(page.get_by_text("unreadable ###")).to_be_visible()
    page.keyboard.press("s")
    dialog = page.get_by_role("dialog", name="Skip this task")
    dialog.get_by_role("textbox").fill("the text is garbled")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("unreadable ###")).to_be_hidden()

    async def reasons() -> list[str]:
        quality = await lw.job_quality(job)
        return [d.reason for d in quality.decline_reasons]

    assert live.run(reasons) == ["the text is garbled"]


def test_expired_lease_is_told_and_the_page_moves_on(live: Live, page: Page) -> None:
    lw = live.client()
    items = [text_item(f"i{n}", f"i{n} truth:{CLASSES[n % 3]}") for n in range(2)]
    _, token = start_job(live, lw, items, classes=CLASSES, judgments_per_item=1, quiz_size=0)
    sign_in(page, live, token)
    expect(page.locator(".item-text")).to_be_visible()
    live.clock.advance(3600)  # the server's clock: the lease is long gone
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Time ran out")
    expect(page.locator(".item-text")).to_be_visible()


def test_worker_who_fails_the_quiz_is_told_and_gets_no_task(live: Live, page: Page) -> None:
    lw = live.client()
    items = [text_item("i0", "i0 truth:pos")]
    items += [text_item(f"g{n}", f"g{n} truth:{CLASSES[n % 3]}", gold=CLASSES[n % 3]) for n in range(2)]
    _, token = start_job(
        live,
        lw,
        items,
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=2,
        pass_accuracy=1.0,
        hidden_gold_share=0.0,
    )
    sign_in(page, live, token)
    for _ in range(2):
        answer = truth(text_of(page))
        page.keyboard.press(str((CLASSES.index(answer) + 1) % 3 + 1))
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert")).to_contain_text("Not quite.")
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="You did not pass the quiz")).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_contain_text("failed the quiz")


def test_help_and_instructions_open_by_key_and_close_with_escape(live: Live, page: Page) -> None:
    lw = live.client()
    _, token = start_job(
        live,
        lw,
        [text_item("a", "fine")],
        classes={"pos": "liked it", "neg": "did not"},
        judgments_per_item=1,
        quiz_size=0,
        short_instructions="Say how the writer felt.",
        full_instructions="Read the whole review.\n\nSarcasm counts as neg.",
    )
    sign_in(page, live, token)
    page.keyboard.press("i")
    panel = page.get_by_role("dialog", name="Instructions")
    expect(panel).to_contain_text("Sarcasm counts as neg.")
    expect(panel).to_contain_text("liked it")
    screenshot(page, "instructions")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    page.keyboard.press("?")
    keys = page.get_by_role("dialog", name="Keys")
    expect(keys).to_contain_text("skip the task")
    page.keyboard.press("Escape")
    expect(keys).to_be_hidden()


def drag_over(page: Page, words: str) -> None:
    """Selects `words` in the task's text with the mouse: pressed at the left
    edge of its first character, released at the right edge of its last."""
    rect = page.evaluate(
        """(words) => {
            const body = document.querySelector(".spans-text");
            const at = body.textContent.indexOf(words);
            if (at < 0) return null;
            const nodes = [];
            const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
            const edge = (i) => {
                for (const node of nodes) {
                    if (i < node.data.length) {
                        const r = document.createRange();
                        r.setStart(node, i);
                        r.setEnd(node, i + 1);
                        return r.getBoundingClientRect();
                    }
                    i -= node.data.length;
                }
            };
            const first = edge(at), last = edge(at + words.length - 1);
            return { x0: first.left + 1, y0: first.top + first.height / 2, x1: last.right - 1, y1: last.top + last.height / 2 };
        }""",
        words,
    )
    assert rect is not None, f"{words!r} is not in the text"
    page.mouse.move(rect["x0"], rect["y0"])
    page.mouse.down()
    page.mouse.move((rect["x0"] + rect["x1"]) / 2, rect["y1"], steps=4)
    page.mouse.move(rect["x1"], rect["y1"], steps=4)
    page.mouse.up()


def test_spans_marked_with_the_mouse_then_a_key_or_a_click(live: Live, page: Page) -> None:
    lw = live.client()
    text = "Ada Lovelace (𝑒) met Charles Babbage in London. Olá, São Paulo!"
    job, token = start_job(
        live,
        lw,
        [text_item("s", text)],
        classes=["person", "place"],
        task_type="spans",
        judgments_per_item=1,
        quiz_size=0,
    )
    sign_in(page, live, token)
    expect(page.get_by_role("group", name="Entity type")).to_be_visible()
    drag_over(page, "Ada Lovelace")
    page.keyboard.press("1")
    marks = page.get_by_role("list", name="Marked spans")
    expect(marks).to_contain_text("person Ada Lovelace")
    drag_over(page, "Charles Babbage")  # after 𝑒, two UTF-16 units: offsets go out in code points
    page.get_by_role("button", name="person", exact=True).click()
    drag_over(page, "London")
    page.keyboard.press("2")
    drag_over(page, "São Paulo")
    page.get_by_role("button", name="place", exact=True).click()
    drag_over(page, "Babbage in")
    page.keyboard.press("2")
    expect(page.get_by_text("Spans may not overlap")).to_be_visible()
    drag_over(page, "met")
    page.keyboard.press("2")
    expect(marks.get_by_role("listitem")).to_have_count(5)
    page.get_by_role("button", name="Remove place met").click()
    expect(marks.get_by_role("listitem")).to_have_count(4)
    screenshot(page, "spans")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = labels(live, lw, job)["s"].spans.spans
    assert [(s.entity_type, text[s.start : s.end]) for s in got] == [
        ("person", "Ada Lovelace"),
        ("person", "Charles Babbage"),
        ("place", "London"),
        ("place", "São Paulo"),
    ]


@pytest.fixture
def picture() -> Iterator[str]:
    """A 1600×600 PNG served over HTTP on 127.0.0.1, as an item's source_ref
    would name it; wider than the page, so the page shows it scaled down."""
    out = io.BytesIO()
    street = Image.new("RGB", (1600, 600), (200, 220, 240))
    draw = ImageDraw.Draw(street)
    draw.rectangle((0, 450, 1600, 600), fill=(120, 120, 130))
    draw.rounded_rectangle((80, 300, 480, 480), radius=30, fill=(180, 40, 40))
    draw.ellipse((860, 180, 940, 260), fill=(230, 180, 140))
    draw.rectangle((850, 260, 950, 480), fill=(40, 90, 160))
    street.save(out, format="PNG")
    body = out.getvalue()

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/street.png"
    finally:
        server.shutdown()
        server.server_close()


def drag_on_image(page: Page, *corners: float) -> None:
    """Draws with the mouse from one corner to the other, given in the
    image's own pixels (the page shows it scaled)."""
    box = page.get_by_role("img", name="the image to mark").bounding_box()
    assert box is not None
    k = box["width"] / 1600
    x0, y0, x1, y1 = (c * k for c in corners)
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    page.mouse.move(box["x"] + (x0 + x1) / 2, box["y"] + (y0 + y1) / 2, steps=4)
    page.mouse.move(box["x"] + x1, box["y"] + y1, steps=4)
    page.mouse.up()


def test_boxes_drawn_with_the_mouse_classed_and_deleted(live: Live, page: Page, picture: str) -> None:
    lw = live.client()
    job, token = start_job(
        live,
        lw,
        [source_item("p", picture)],
        classes=["car", "person"],
        task_type="bounding_box",
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=0,
    )
    sign_in(page, live, token)
    image = page.get_by_role("img", name="the image to mark")
    expect(image).to_be_visible()
    assert page.evaluate("document.querySelector('.box-canvas img').clientWidth") < 1000
    listed = page.get_by_role("list", name="Boxes").get_by_role("listitem")
    drag_on_image(page, 80, 300, 480, 480)  # a car (the first class is in hand)
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("car")
    drag_on_image(page, 950, 480, 850, 180)  # dragged up and left: the same box
    page.keyboard.press("2")  # the box in hand becomes a person, and so will the next
    expect(listed.nth(1)).to_contain_text("person")
    drag_on_image(page, 1300, 100, 1500, 300)
    expect(listed.nth(2)).to_contain_text("person")
    page.get_by_role("radio", name="car").click()
    expect(listed.nth(2)).to_contain_text("car")
    drag_on_image(page, 600, 50, 760, 200)
    page.keyboard.press("Delete")  # the box in hand goes
    expect(listed).to_have_count(3)
    page.get_by_role("button", name="Remove box 3 (car)").click()
    expect(listed).to_have_count(2)
    screenshot(page, "boxes")
    page.mouse.click(10, 10)  # outside the image: nothing drawn
    expect(listed).to_have_count(2)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    got = labels(live, lw, job)["p"].bounding_boxes.boxes
    shapes = sorted((b.class_name, b.left, b.top, b.width, b.height) for b in got)
    want = [("car", 80, 300, 400, 180), ("person", 850, 180, 100, 300)]
    assert [s[0] for s in shapes] == [w[0] for w in want]
    for shape, expected in zip(shapes, want, strict=True):  # within a screen pixel, in image pixels
        assert all(abs(a - b) <= 2 for a, b in zip(shape[1:], expected[1:], strict=True)), (shape, expected)
