"""Custom tasks in the worker app, in Chromium: the job's template runs in a
sandboxed frame that cannot read the worker's token, storage or cookies nor
call the API, hands its answer to the page by postMessage, and the page
checks it against the job's JSON Schema before it is sent."""

from __future__ import annotations

import json

from google.protobuf import json_format, struct_pb2
from playwright.sync_api import Page, expect

from labelwire.client.raw import text_item
from labelwire.v1 import answer_pb2, job_pb2
from tests.browser.conftest import Live, screenshot
from tests.browser.test_worker_app import WORKERS_DONE, labels, sign_in, start_job

SCHEMA = {
    "type": "object",
    "required": ["sentiment", "stars"],
    "properties": {
        "sentiment": {"enum": ["pos", "neg"]},
        "stars": {"type": "integer", "minimum": 1, "maximum": 5},
        "probe": {"type": "object"},
    },
    "additionalProperties": False,
}

# A template that does what a hostile one would: it tries the app's token,
# storage and cookies, the page itself and the API, and reports what it got
# in its answer, where the test reads it back from the stored label.
TEMPLATE = """
<h2>Rate the review</h2>
<blockquote id="review"></blockquote>
<form>
  <label><input type="radio" name="sentiment" value="pos"> positive</label>
  <label><input type="radio" name="sentiment" value="neg"> negative</label>
  <label>Stars <input type="number" name="stars"></label>
  <button type="submit">Send</button>
</form>
<script>
  document.getElementById("review").textContent = labelwire.task.text;
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
  labelwire.answer = function () {
    var form = document.querySelector("form");
    var picked = form.querySelector("input[name=sentiment]:checked");
    var out = { probe: probe };
    if (picked) out.sentiment = picked.value;
    if (form.stars.value !== "") out.stars = Number(form.stars.value);
    return out;
  };
</script>
"""


def test_custom_template_answers_by_post_message_and_cannot_reach_the_token(live: Live, page: Page) -> None:
    lw = live.client()
    schema = struct_pb2.Struct()
    json_format.ParseDict(SCHEMA, schema)
    spec = job_pb2.Job(
        task_config=job_pb2.TaskConfig(custom=job_pb2.CustomConfig(answer_schema=schema, template=TEMPLATE))
    )
    job, token = start_job(
        live,
        lw,
        [text_item("r", "Great soup, rude waiter.")],
        classes=[],
        job=spec,
        judgments_per_item=1,
        quiz_size=0,
    )
    page.context.add_cookies([{"name": "app-session", "value": "cookie-secret", "url": live.url}])
    sign_in(page, live, token)
    page.evaluate("localStorage.setItem('app-secret', 'local-secret')")
    frame = page.get_by_title("Task").content_frame
    expect(frame.get_by_text("Great soup, rude waiter.")).to_be_visible()

    page.keyboard.press("Enter")  # nothing chosen: the page's own schema check refuses it
    expect(page.get_by_role("status")).to_contain_text("does not fit the job's schema")
    expect(page.get_by_role("status")).to_contain_text("sentiment")
    frame.get_by_role("radio", name="negative").check()
    frame.get_by_role("spinbutton", name="Stars").fill("9")
    frame.get_by_role("spinbutton", name="Stars").press("Enter")  # Enter inside the frame submits too
    expect(page.get_by_role("status")).to_contain_text("stars")
    screenshot(page, "custom")
    frame.get_by_role("spinbutton", name="Stars").fill("4")
    frame.get_by_role("button", name="Send").click()  # the template's own submit button
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()

    answer = json_format.MessageToDict(labels(live, lw, job)["r"].custom)
    assert {k: answer[k] for k in ("sentiment", "stars")} == {"sentiment": "neg", "stars": 4}
    assert answer["probe"] == {
        "token": "blocked",
        "local": "blocked",
        "cookie": "blocked",
        "page": "blocked",
        "api": "blocked",
    }
    assert token not in json.dumps(answer)


def test_custom_quiz_shows_feedback_then_work_is_labeled(live: Live, page: Page) -> None:
    lw = live.client()
    schema = struct_pb2.Struct()
    json_format.ParseDict(
        {"type": "object", "required": ["sentiment"], "properties": {"sentiment": {"enum": ["pos", "neg"]}}},
        schema,
    )
    template = """
    <p id="review"></p>
    <form>
      <label><input type="radio" name="sentiment" value="pos"> positive</label>
      <label><input type="radio" name="sentiment" value="neg"> negative</label>
    </form>
    <script>document.getElementById("review").textContent = labelwire.task.text;</script>
    """
    spec = job_pb2.Job(
        task_config=job_pb2.TaskConfig(custom=job_pb2.CustomConfig(answer_schema=schema, template=template))
    )
    gold = struct_pb2.Struct()
    gold.update({"sentiment": "neg"})
    items = [text_item("w", "Lovely."), text_item("g", "Awful.", gold=answer_pb2.Answer(custom=gold))]
    job, token = start_job(
        live,
        lw,
        items,
        classes=[],
        job=spec,
        judgments_per_item=1,
        quiz_size=1,
        pass_accuracy=1.0,
        hidden_gold_share=0.0,
    )
    sign_in(page, live, token)
    expect(page.get_by_text("Quiz question")).to_be_visible()
    frame = page.get_by_title("Task").content_frame
    expect(frame.get_by_text("Awful.")).to_be_visible()
    frame.get_by_role("radio", name="negative").check()
    frame.get_by_role("radio", name="negative").press("Enter")  # the app's Enter, from inside the frame
    feedback = page.get_by_role("alert")
    expect(feedback).to_contain_text("Right!")
    expect(feedback).to_contain_text('The expected answer: {"sentiment":"neg"}')
    page.keyboard.press("Enter")
    frame = page.get_by_title("Task").content_frame
    expect(frame.get_by_text("Lovely.")).to_be_visible()
    frame.get_by_role("radio", name="positive").check()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    assert json_format.MessageToDict(labels(live, lw, job)["w"].custom) == {"sentiment": "pos"}
