"""In Chromium: a quiz answer shows its question's explanation while hidden
gold looks exactly like work, and a worker's comment on a task (key `m`)
reaches the job's owner."""

from __future__ import annotations

import numpy as np
from playwright.sync_api import Page, expect

from labelwire.client.raw import source_item, text_item
from labelwire.server.files import png
from labelwire.v1 import answer_pb2, item_pb2, job_pb2, task_pb2
from tests.browser.conftest import Live, screenshot
from tests.browser.test_worker_app import WORKERS_DONE, picture, sign_in, start_job, text_of  # noqa: F401
from tests.browser.test_worker_app_segmentation import HEIGHT, WIDTH, at
from tests.helpers import CLASSES, truth

QUIZ_WHY = "It says the strap <b>broke</b> on day one: a complaint."
HIDDEN_WHY = "hidden-why-5e2d"


def gold(key: str, text: str, why: str, use: int) -> item_pb2.Item:
    item = text_item(key, text, gold=truth(text), gold_use=use)
    item.gold_explanation = why
    return item


def test_quiz_feedback_explains_and_hidden_gold_looks_like_work(live: Live, page: Page) -> None:
    lw = live.client()
    items = [text_item(f"i{n}", f"i{n} truth:{CLASSES[n % 3]}") for n in range(4)]
    items.append(gold("q0", "q0 truth:neg", QUIZ_WHY, item_pb2.GOLD_USE_QUIZ))
    items += [
        gold(f"h{n}", f"h{n} truth:pos", f"{HIDDEN_WHY} {n}", item_pb2.GOLD_USE_HIDDEN) for n in range(4)
    ]
    _, token = start_job(
        live,
        lw,
        items,
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=1,
        pass_accuracy=0.0,
        hidden_gold_share=0.5,
    )
    sign_in(page, live, token)
    expect(page.get_by_text("Quiz question")).to_be_visible()
    page.keyboard.press(str(CLASSES.index("pos") + 1))
    page.keyboard.press("Enter")
    feedback = page.get_by_role("alert")
    expect(feedback).to_contain_text("Not quite.")
    expect(feedback).to_contain_text("The expected answer: neg")
    expect(feedback).to_contain_text(f"Why: {QUIZ_WHY}")  # the job's markup shown as text
    assert feedback.locator("b").count() == 0
    screenshot(page, "quiz-explanation")
    page.keyboard.press("Enter")
    hidden_seen = 0
    for _ in range(12):
        if page.get_by_role("heading", name=WORKERS_DONE).is_visible():
            break
        expect(page.locator(".item-text")).to_be_visible()
        text = text_of(page)
        hidden_seen += text.startswith("h")
        page.keyboard.press(str(CLASSES.index(truth(text)) + 1))
        page.keyboard.press("Enter")
        expect(page.get_by_text(text, exact=True)).to_be_hidden()
        expect(page.get_by_role("alert")).to_have_count(0)
        assert HIDDEN_WHY not in page.content()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    assert hidden_seen >= 1, "the worker should have met hidden gold"


def test_a_comment_by_key_and_from_the_feedback_reaches_the_owner(live: Live, page: Page) -> None:
    lw = live.client()
    items = [text_item("i0", "i0 truth:pos"), text_item("g0", "g0 truth:neg", gold="neg")]
    job, token = start_job(
        live, lw, items, classes=CLASSES, judgments_per_item=1, quiz_size=1, pass_accuracy=0.0
    )
    sign_in(page, live, token)
    expect(page.get_by_text("Quiz question")).to_be_visible()
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Right!")
    page.get_by_role("button", name="Comment").click()
    dialog = page.get_by_role("dialog", name="Comment to the job's owner")
    dialog.get_by_role("textbox", name="Your comment on this task").fill("Neutral fits this one too.")
    dialog.get_by_role("button", name="Send comment").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Comment sent to the job's owner.")).to_be_visible()
    page.keyboard.press("Enter")  # on to the work
    expect(page.get_by_text("i0 truth:pos")).to_be_visible()
    page.keyboard.press("m")
    expect(dialog).to_be_visible()
    # Typing in the box is text, not shortcuts: "s" does not skip, "1" does not answer.
    page.keyboard.type("Is sarcasm negative? 1s")
    screenshot(page, "comment")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(
        page.get_by_text("Comment sent to the job's owner.")
    ).to_be_visible()  # this one's: "Sending" came first
    expect(page.get_by_text("i0 truth:pos")).to_be_visible()  # the task is still there to answer
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()

    async def comments() -> list[tuple[str, str, str]]:
        return [(c.item_key, c.worker_display_name, c.text) for c in await lw.list_task_comments(job)]

    assert live.run(comments) == [
        ("i0", "Ada", "Is sarcasm negative? 1s"),
        ("g0", "Ada", "Neutral fits this one too."),
    ]

    async def record() -> list[task_pb2.WorkerStats]:
        return await lw.list_workers(job)

    assert [w.judgments for w in live.run(record)] == [2]  # commenting answered nothing


def test_a_painted_quiz_mask_close_to_the_gold_one_is_right(
    live: Live,
    page: Page,
    picture: str,  # noqa: F811
) -> None:
    """Painting by hand never matches a gold mask pixel for pixel: graded by
    mean IoU (default 0.8), a polygon drawn over the gold region is right,
    and the feedback names both masks by their size."""
    gold_mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    gold_mask[470:590, 20:1580] = 1  # road
    answer = answer_pb2.Answer(
        segmentation=answer_pb2.SegmentationAnswer(mask_png=png.encode_grey(gold_mask))
    )
    quiz = source_item("q", picture + "?q", gold=answer, gold_use=item_pb2.GOLD_USE_QUIZ)
    quiz.gold_explanation = "The road is the band at the bottom."
    lw = live.client()
    _, token = start_job(
        live,
        lw,
        [source_item("street", picture), quiz],
        classes=["road", "car"],
        task_type="segmentation",
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=1,
        pass_accuracy=1.0,
    )
    sign_in(page, live, token)
    expect(page.get_by_text("Quiz question")).to_be_visible()
    expect(page.get_by_role("img", name="the image to paint")).to_be_visible()
    page.keyboard.press("p")
    for corner in ((20, 470), (1580, 470), (1580, 590), (20, 590)):
        page.mouse.click(*at(page, *corner))
    page.keyboard.press("Enter")  # closes the polygon
    page.keyboard.press("Enter")  # submits
    feedback = page.get_by_role("alert")
    expect(feedback).to_contain_text("Right!")
    expect(feedback).to_contain_text(f"Your answer: a {WIDTH}×{HEIGHT} mask")
    expect(feedback).to_contain_text(f"The expected answer: a {WIDTH}×{HEIGHT} mask")
    expect(feedback).to_contain_text("Why: The road is the band at the bottom.")
    page.keyboard.press("Enter")
    expect(page.get_by_role("img", name="the image to paint")).to_be_visible()
    expect(page.get_by_text("Quiz question")).to_be_hidden()  # passed at a bar of 100%
