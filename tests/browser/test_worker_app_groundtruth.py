"""Ground Truth templates in the worker app, in Chromium: the bulk-QA seed's
template (25 images of one label, each with a ticked crowd-checkbox under it)
rendered by the server with presigned links to a real S3 server, three boxes
unticked by mouse, submitted through crowd-form; the stored answer is Ground
Truth's answerContent. A template's script cannot reach the worker's token."""

from __future__ import annotations

import io
import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from google.protobuf import json_format
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from labelwire.client.raw import Client
from labelwire.server.core.auth import parse as parse_token
from labelwire.server.files.policy import FilesSettings
from labelwire.v1 import item_pb2, job_pb2
from tests.browser.conftest import Live, live_server, screenshot
from tests.browser.test_worker_app import WORKERS_DONE, labels, sign_in, start_job
from tests.test_gt_template_jobs import BULK_QA

UNTICKED = (3, 11, 20)


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"lw-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield name, s3


@pytest.fixture
def live_s3(database: str, bucket: tuple[str, Any]) -> Iterator[Live]:
    with live_server(database, FilesSettings.build(None, [f"s3://{bucket[0]}/labelwire"])) as live:
        yield live


def owner_prefix(lw: Client) -> str:
    parsed = parse_token(dict(lw.metadata)["authorization"].removeprefix("Bearer "))
    assert parsed is not None
    return f"labelwire/{parsed[1]}"


def png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 36), (shade, 120, 255 - shade)).save(out, format="PNG")
    return out.getvalue()


def gt_spec(template: str) -> job_pb2.Job:
    return job_pb2.Job(
        task_config=job_pb2.TaskConfig(custom=job_pb2.CustomConfig(groundtruth_template=template))
    )


def test_bulk_qa_template_confirms_25_images_with_three_unticked(
    live_s3: Live, page: Page, bucket: tuple[str, Any]
) -> None:
    name, s3 = bucket
    lw = live_s3.client()
    mine = owner_prefix(lw)
    refs = []
    for i in range(25):
        s3.put_object(Bucket=name, Key=f"{mine}/cats/{i}.png", Body=png(i * 10), ContentType="image/png")
        refs.append({"source-ref": f"s3://{name}/{mine}/cats/{i}.png", "label": "cat"})
    item = item_pb2.Item(key="batch-1", json=json.dumps({"sourceRef": refs}))
    job, token = start_job(
        live_s3, lw, [item], classes=[], job=gt_spec(BULK_QA), judgments_per_item=1, quiz_size=0
    )
    sign_in(page, live_s3, token)
    frame = page.get_by_title("Task").content_frame
    boxes = frame.get_by_role("checkbox", name="cat")
    expect(boxes).to_have_count(25)
    for i in range(25):
        expect(boxes.nth(i)).to_be_checked()
    last = frame.get_by_role("img", name="image 24")
    expect(last).to_be_visible()
    assert last.evaluate("img => img.complete && img.naturalWidth") == 48  # loaded through its presigned link

    for i in UNTICKED:
        boxes.nth(i).click()
    expect(boxes.nth(UNTICKED[0])).not_to_be_checked()
    screenshot(page, "groundtruth-bulk-qa")
    frame.get_by_role("button", name="Submit").click()  # crowd-form's own submit button
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()

    answer = json_format.MessageToDict(labels(live_s3, lw, job)["batch-1"].custom)
    assert answer == {f"cat-{i}": {"on": i not in UNTICKED} for i in range(25)}


# The custom-workflow seed's way of submitting: a hidden field the template
# fills on crowd-form's submit event, and its own crowd-button. Here the
# script fills it with what a hostile template would try to read.
PROBE = """
<crowd-form>
  <p>{{ task.input.source }}</p>
  <crowd-text-area name="note" label="Note"></crowd-text-area>
  <input type="hidden" name="probe">
  <crowd-button form-action="submit">Send</crowd-button>
</crowd-form>
<script>
  var probe = {};
  function attempt(name, read) {
    try { probe[name] = String(read()); } catch (e) { probe[name] = "blocked"; }
  }
  attempt("token", function () { return parent.sessionStorage.getItem("labelwire.worker-token"); });
  attempt("local", function () { return localStorage.getItem("app-secret"); });
  attempt("cookie", function () { return document.cookie; });
  attempt("page", function () { return parent.document.body.innerText; });
  probe.api = "pending";
  fetch(location.origin + "/labelwire.v1.WorkerService/GetWorkerStats", {
    method: "POST", headers: { "content-type": "application/json" }, body: "{}"
  }).then(function (r) { probe.api = "status " + r.status; }, function () { probe.api = "blocked"; });
  document.querySelector("crowd-form").addEventListener("submit", function () {
    document.querySelector("input[name=probe]").value = JSON.stringify(probe);
  });
</script>
"""


def test_a_ground_truth_templates_script_cannot_reach_the_worker_token(live: Live, page: Page) -> None:
    lw = live.client()
    item = item_pb2.Item(key="r", text="Great soup, rude waiter.")
    job, token = start_job(
        live, lw, [item], classes=[], job=gt_spec(PROBE), judgments_per_item=1, quiz_size=0
    )
    page.context.add_cookies([{"name": "app-session", "value": "cookie-secret", "url": live.url}])
    sign_in(page, live, token)
    page.evaluate("localStorage.setItem('app-secret', 'local-secret')")
    frame = page.get_by_title("Task").content_frame
    expect(frame.get_by_text("Great soup, rude waiter.")).to_be_visible()
    frame.get_by_role("textbox", name="Note").fill("mixed")
    frame.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()

    answer = json_format.MessageToDict(labels(live, lw, job)["r"].custom)
    assert answer["note"] == "mixed"
    assert json.loads(answer["probe"]) == {
        "token": "blocked",
        "local": "blocked",
        "cookie": "blocked",
        "page": "blocked",
        "api": "blocked",
    }
    assert token not in json.dumps(answer)


def test_an_element_labelwire_lacks_is_named_in_the_page_not_left_blank(live: Live, page: Page) -> None:
    """CreateJob refuses such a template; a plain template reaching the frame
    with one (written by hand, or by a template's script) still says so."""
    lw = live.client()
    template = (
        "<p id='t'></p><script>var el = document.createElement('crowd-polygon');"
        "document.body.appendChild(el);</script><form></form>"
    )
    spec = job_pb2.Job(task_config=job_pb2.TaskConfig(custom=job_pb2.CustomConfig(template=template)))
    _, token = start_job(live, lw, [item_pb2.Item(key="k", text="x")], classes=[], job=spec, quiz_size=0)
    sign_in(page, live, token)
    frame = page.get_by_title("Task").content_frame
    expect(frame.get_by_role("alert")).to_contain_text("<crowd-polygon>")


ELEMENTS = """
<crowd-form>
  <crowd-instructions link-text="View instructions">
    <short-summary><p>Read the review, then answer.</p></short-summary>
    <full-instructions><p>Angry means the writer is upset.</p></full-instructions>
  </crowd-instructions>
  <crowd-alert type="info">Reviews may contain strong language.</crowd-alert>
  <crowd-card heading="Review">{{ task.input.source }}</crowd-card>
  <crowd-classifier name="sentiment" categories='{{ task.input.labels | to_json }}' header="How does the writer feel?">
    <classification-target>{{ task.input.source }}</classification-target>
  </crowd-classifier>
  <crowd-radio-group>
    <crowd-radio-button name="fair" value="yes">Fair</crowd-radio-button>
    <crowd-radio-button name="unfair" value="no">Unfair</crowd-radio-button>
  </crowd-radio-group>
  <crowd-input name="stars" type="number" label="Stars"></crowd-input>
  <crowd-text-area name="comment" label="Comment"></crowd-text-area>
  <crowd-checkbox name="spam" value="isSpam">Spam</crowd-checkbox>
  <div><crowd-checkbox name="myformbit" value="Red"> Red </crowd-checkbox></div>
  <div><crowd-checkbox name="myformbit" value="Yellow"> Yellow </crowd-checkbox></div>
  <div><crowd-checkbox name="myformbit" value="Green"> Green </crowd-checkbox></div>
  <crowd-button form-action="submit">Done</crowd-button>
</crowd-form>
"""


def test_each_crowd_element_is_operated_by_keyboard_and_answers_as_ground_truth(
    live: Live, page: Page
) -> None:
    lw = live.client()
    line = {"source": "The train was late again!", "labels": ["angry", "sad", 'it\'s "fine"']}
    item = item_pb2.Item(key="r", json=json.dumps(line))
    job, token = start_job(
        live, lw, [item], classes=[], job=gt_spec(ELEMENTS), judgments_per_item=1, quiz_size=0
    )
    sign_in(page, live, token)
    frame = page.get_by_title("Task").content_frame
    expect(frame.get_by_role("alert")).to_contain_text("strong language")
    expect(frame.get_by_role("heading", name="Review")).to_be_visible()
    expect(frame.get_by_text("Angry means the writer is upset.")).to_be_hidden()
    frame.get_by_text("View instructions").click()
    expect(frame.get_by_text("Angry means the writer is upset.")).to_be_visible()
    expect(frame.get_by_role("radio", name='it\'s "fine"')).to_be_visible()  # categories through to_json

    frame.get_by_role("radio", name="angry").focus()
    page.keyboard.press("ArrowDown")  # the group's arrow keys move the choice to "sad"
    expect(frame.get_by_role("radio", name="sad")).to_be_checked()
    frame.get_by_role("radio", name="Unfair").check()
    frame.get_by_role("spinbutton", name="Stars").fill("2")
    frame.get_by_role("textbox", name="Comment").fill("late & loud")
    frame.get_by_role("checkbox", name="Spam").focus()
    page.keyboard.press("Space")
    frame.get_by_role("checkbox", name="Red").check()
    screenshot(page, "groundtruth-elements")
    frame.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()

    answer = json_format.MessageToDict(labels(live, lw, job)["r"].custom)
    assert answer == {
        "sentiment": {"label": "sad"},
        "fair": {"yes": False},
        "unfair": {"no": True},
        "stars": 2,
        "comment": "late & loud",
        "spam": {"isSpam": True},
        # AWS's crowd-checkbox reference: boxes sharing a name answer as one object.
        "myformbit": {"Red": True, "Yellow": False, "Green": False},
    }


ANNOTATION = """
<crowd-form>
  <crowd-image-classifier name="category" src="{{ task.input.taskObject | grant_read_access }}"
    categories="['Cat', 'Dog', 'None of the Above']" header="Choose the correct category">
  </crowd-image-classifier>
  <crowd-bounding-box name="annotatedResult" src="{{ task.input.taskObject | grant_read_access }}"
    labels="['Dog', 'Bone']" header="Draw a box around each dog"
    initial-value="[{ label: 'Bone', left: 10, top: 12, width: 20, height: 24, }]">
    <full-instructions header="Boxes"><p>Fit the box tightly.</p></full-instructions>
  </crowd-bounding-box>
  <crowd-keypoint name="points" src="{{ task.input.taskObject | grant_read_access }}"
    labels="['Nose', 'Tail']" header="Mark the nose and the tail">
  </crowd-keypoint>
</crowd-form>
"""


def big_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 150), (90, 160, 90)).save(out, format="PNG")
    return out.getvalue()


def on_page(page: Page, element: Locator) -> dict[str, float]:
    """Where an element inside the task's frame is on the page, to the pixel:
    the frame's content box (inside its border and padding) plus the
    element's place in the frame."""
    element.scroll_into_view_if_needed()
    frame = page.get_by_title("Task").evaluate(
        """f => { const r = f.getBoundingClientRect(), s = getComputedStyle(f);
            return [r.left + f.clientLeft + parseFloat(s.paddingLeft), r.top + f.clientTop + parseFloat(s.paddingTop)]; }"""
    )
    inner = element.evaluate("e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width]; }")
    return {"x": frame[0] + inner[0], "y": frame[1] + inner[1], "width": inner[2]}


def pixel(offset: float) -> int:
    """The image pixel an offset from its corner falls on, rounded as the frame does (Math.round)."""
    return math.floor(offset + 0.5)


def test_image_classifier_bounding_box_and_keypoint_answer_as_ground_truth(
    live_s3: Live, page: Page, bucket: tuple[str, Any]
) -> None:
    name, s3 = bucket
    lw = live_s3.client()
    key = f"{owner_prefix(lw)}/dogs/0.png"
    s3.put_object(Bucket=name, Key=key, Body=big_png(), ContentType="image/png")
    item = item_pb2.Item(key="d", json=json.dumps({"taskObject": f"s3://{name}/{key}"}))
    job, token = start_job(
        live_s3, lw, [item], classes=[], job=gt_spec(ANNOTATION), judgments_per_item=1, quiz_size=0
    )
    sign_in(page, live_s3, token)
    frame = page.get_by_title("Task").content_frame
    frame.get_by_role("group", name="Choose the correct category").get_by_role("radio", name="Dog").check()

    image = frame.get_by_role("img", name="Draw a box around each dog")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 200
    at = on_page(page, image)
    assert at["width"] == 200  # shown at its own size: page pixels are image pixels
    frame.get_by_role("group", name="Label for the next box").get_by_role("radio", name="Dog").check()
    # The mouse lands on whole page pixels; the image may not start on one.
    x0, y0 = round(at["x"] + 40), round(at["y"] + 30)
    x1, y1 = round(at["x"] + 120), round(at["y"] + 110)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2)
    page.mouse.move(x1, y1)
    page.mouse.up()
    box = {"label": "Dog", "left": pixel(x0 - at["x"]), "top": pixel(y0 - at["y"])}
    box |= {"width": pixel(x1 - at["x"]) - box["left"], "height": pixel(y1 - at["y"]) - box["top"]}
    expect(frame.get_by_role("list", name="boxes")).to_contain_text(
        f"Dog: left {box['left']}, top {box['top']}, {box['width']}×{box['height']}"
    )
    frame.get_by_role("button", name="Remove box 1").click()  # the Bone box it started with

    where = on_page(page, frame.get_by_role("img", name="Mark the nose and the tail"))
    marks = []
    pick = frame.get_by_role("group", name="Label for the next point")
    for label, dx, dy in (("Tail", 150, 100), ("Nose", 20, 25)):
        pick.get_by_role("radio", name=label).check()
        x, y = round(where["x"] + dx), round(where["y"] + dy)
        page.mouse.click(x, y)
        marks.append({"label": label, "x": pixel(x - where["x"]), "y": pixel(y - where["y"])})
    expect(frame.get_by_role("list", name="points")).to_contain_text(
        f"Nose: x {marks[1]['x']}, y {marks[1]['y']}"
    )
    screenshot(page, "groundtruth-annotation")
    frame.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()

    size = {"height": 150, "width": 200}
    answer = json_format.MessageToDict(labels(live_s3, lw, job)["d"].custom)
    assert answer == {
        "category": {"label": "Dog"},
        "annotatedResult": {
            "boundingBoxes": [box],
            "inputImageProperties": size,
            "initialValueModified": True,
        },
        "points": {
            "inputImageProperties": size,
            "keypoints": marks,
        },
    }


ENTITIES = """
<crowd-entity-annotation name="crowd-entity-annotation" header="Highlight the people and places"
  labels="[{'label': 'person', 'shortDisplayName': 'per', 'fullDisplayName': 'Person'}, {'label': 'place', 'fullDisplayName': 'Place'}]"
  text="{{ task.input.source }}">
</crowd-entity-annotation>
"""


def test_entity_annotation_submits_spans_in_unicode_characters(live: Live, page: Page) -> None:
    lw = live.client()
    text = "Ana flew from Zürich to Oslo."
    job, token = start_job(
        live,
        lw,
        [item_pb2.Item(key="t", text=text)],
        classes=[],
        job=gt_spec(ENTITIES),
        judgments_per_item=1,
        quiz_size=0,
    )
    sign_in(page, live, token)
    frame = page.get_by_title("Task").content_frame
    shown = frame.get_by_label("Text to annotate")
    expect(shown).to_have_text(text)
    origin = page.get_by_title("Task").bounding_box()
    assert origin is not None
    for word, label in (("Zürich", "Place"), ("Ana", "Person")):
        x, y = shown.evaluate(
            """(p, word) => {
                const t = p.firstChild, i = t.data.indexOf(word), r = document.createRange();
                r.setStart(t, i); r.setEnd(t, i + word.length);
                const b = r.getBoundingClientRect();
                return [b.left + b.width / 2, b.top + b.height / 2];
            }""",
            word,
        )
        page.mouse.dblclick(origin["x"] + x, origin["y"] + y)  # a double-click selects the word
        frame.get_by_role("button", name=label).click()
    expect(frame.get_by_role("list", name="entities")).to_contain_text("person: “Ana”")
    frame.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()

    answer = json_format.MessageToDict(labels(live, lw, job)["t"].custom)
    assert answer == {
        "crowd-entity-annotation": {
            "entities": [
                {"endOffset": 3, "label": "person", "startOffset": 0},
                {"endOffset": 20, "label": "place", "startOffset": 14},
            ]
        }
    }
