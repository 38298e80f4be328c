"""Ground Truth jobs run whole on the in-house pool, in Chromium: `run_groundtruth`
takes a CreateLabelingJob definition (the bulk-QA seed's, and a custom workflow with
its own app), runs its pre- and post-annotation hooks, workers answer in the worker
app, and Ground Truth's output files land in S3 (a real S3 server).
"""

from __future__ import annotations

import asyncio
import json
import queue
from typing import Any

import boto3
from playwright.sync_api import Page, expect

from labelwire.client.raw import Client
from labelwire.server.cli import run_groundtruth
from labelwire.server.domain import gt_hooks
from labelwire.server.domain.gt_hooks import HookPolicy
from labelwire.server.files.policy import FilesSettings
from labelwire.v1 import job_pb2
from tests.browser.conftest import Live
from tests.browser.test_worker_app import WORKERS_DONE, sign_in
from tests.browser.test_worker_app_groundtruth import UNTICKED, bucket, live_s3, owner_prefix, png
from tests.test_gt_template_jobs import BULK_QA

__all__ = ["bucket", "live_s3"]  # the fixtures, shared with test_worker_app_groundtruth.py
HERE = "tests.browser.test_worker_app_groundtruth_jobs"


def gt_definition(prefix: str, job_name: str, attribute: str) -> run_groundtruth.Definition:
    """A CreateLabelingJob request reading `<prefix>/in/<job>.manifest` and writing under `<prefix>/out`."""
    return run_groundtruth.parse_definition(
        {
            "LabelingJobName": job_name,
            "LabelAttributeName": attribute,
            "InputConfig": {
                "DataSource": {"S3DataSource": {"ManifestS3Uri": f"{prefix}/in/{job_name}.manifest"}}
            },
            "OutputConfig": {"S3OutputPath": f"{prefix}/out"},
            "RoleArn": "arn:aws:iam::111122223333:role/GroundTruthExec",
            "HumanTaskConfig": {
                "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/t",
                "UiConfig": {"UiTemplateS3Uri": f"{prefix}/in/{job_name}.liquid"},
                "TaskTitle": "Reviews",
                "TaskDescription": "A Ground Truth custom job",
                "NumberOfHumanWorkersPerDataObject": 1,
                "TaskTimeLimitInSeconds": 300,
            },
        }
    )


def run_on_pool(
    live: Live, lw: Client, spec: run_groundtruth.Definition, template: str, bucket: str, pre: str, post: str
) -> tuple[Any, str]:
    """Starts `run-groundtruth-job`'s work on the server's loop; returns its
    future and a worker's token once the job runs."""
    policy = HookPolicy(entry_points=(f"{HERE}:*",))
    started: queue.Queue[str] = queue.Queue()
    running = asyncio.run_coroutine_threadsafe(
        run_groundtruth.run_job(
            lw,
            spec,
            template,
            settings=FilesSettings.build(None, [f"s3://{bucket}/labelwire"]),
            client_id=int(owner_prefix(lw).rsplit("/", 1)[1]),
            policy=policy,
            pre_hook=gt_hooks.parse_hook(f"python:{HERE}:{pre}", "pre", policy),
            post_hook=gt_hooks.parse_hook(f"python:{HERE}:{post}", "post", policy),
            poll_seconds=0.05,
            on_job=started.put,
        ),
        live.loop,
    )
    job = started.get(timeout=30)

    async def worker_token() -> str:
        while (await lw.get_job(job)).state != job_pb2.JOB_STATE_RUNNING:
            await asyncio.sleep(0.05)
        return (await lw.create_worker(job, "Ada"))[1]

    return running, live.run(worker_token)


def output_files(s3: Any, bucket: str, base: str) -> tuple[Any, Any, Any, list[dict[str, Any]]]:
    """A finished job's one worker-response file, consolidation request and
    response, and output manifest lines."""

    def only(prefix: str) -> Any:
        [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{base}/{prefix}")["Contents"]]
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    body = s3.get_object(Bucket=bucket, Key=f"{base}/manifests/output/output.manifest")["Body"].read()
    return (
        only("annotations/worker-response/iteration-1/0/"),
        only("annotations/consolidated-annotation/consolidation-request/iteration-1/"),
        only("annotations/consolidated-annotation/consolidation-response/iteration-1/"),
        [json.loads(x) for x in body.decode().splitlines()],
    )


def bulk_pre(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The bulk-QA seed's pre-labeling Lambda: a batch line becomes the template's sourceRef list."""
    line = event["dataObject"]
    return {
        "taskInput": {"sourceRef": [{"source-ref": ref, "label": line["label"]} for ref in line["images"]]}
    }


def bulk_post(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    """Its post-labeling Lambda: the images the worker unticked, by index."""
    bucket, _, key = event["payload"]["s3Uri"].removeprefix("s3://").partition("/")
    batch = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    out = []
    for entry in batch:
        [answer] = [json.loads(a["annotationData"]["content"]) for a in entry["annotations"]]
        rejected = sorted(int(name.rsplit("-", 1)[1]) for name, box in answer.items() if not box["on"])
        content = {event["labelAttributeName"]: {"rejected": rejected, "label": "cat"}}
        out.append(
            {"datasetObjectId": entry["datasetObjectId"], "consolidatedAnnotation": {"content": content}}
        )
    return out


def test_the_bulk_qa_job_runs_with_its_hooks_and_leaves_ground_truths_files(
    live_s3: Live, page: Page, bucket: tuple[str, Any]
) -> None:
    name, s3 = bucket
    lw = live_s3.client()
    mine = owner_prefix(lw)
    images = []
    for i in range(25):
        s3.put_object(Bucket=name, Key=f"{mine}/cats/{i}.png", Body=png(i * 10), ContentType="image/png")
        images.append(f"s3://{name}/{mine}/cats/{i}.png")
    line = {"source": "batch-1", "label": "cat", "images": images}
    s3.put_object(Bucket=name, Key=f"{mine}/in/bulk-qa.manifest", Body=(json.dumps(line) + "\n").encode())
    spec = gt_definition(f"s3://{name}/{mine}", "bulk-qa", "cats")
    running, token = run_on_pool(live_s3, lw, spec, BULK_QA, name, "bulk_pre", "bulk_post")
    sign_in(page, live_s3, token)
    boxes = page.get_by_title("Task").content_frame.get_by_role("checkbox", name="cat")
    expect(boxes).to_have_count(25)
    for i in UNTICKED:
        boxes.nth(i).click()
    page.get_by_title("Task").content_frame.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    summary = running.result(timeout=60)

    response, request, consolidated, manifest = output_files(s3, name, f"{mine}/out/bulk-qa")
    assert summary.labeled == 1 and summary.failed == {}
    answer_content = {f"cat-{i}": {"on": i not in UNTICKED} for i in range(25)}
    [answer] = response["answers"]
    assert answer["answerContent"] == answer_content and answer["workerId"].startswith("labelwire.")
    assert set(answer) == {
        "acceptanceTime",
        "submissionTime",
        "timeSpentInSeconds",
        "workerId",
        "answerContent",
    }
    [entry] = request
    assert entry["datasetObjectId"] == "0" and entry["dataObject"] == {"content": "batch-1"}
    assert [json.loads(a["annotationData"]["content"]) for a in entry["annotations"]] == [answer_content]
    assert consolidated[0]["consolidatedAnnotation"]["content"]["cats"]["rejected"] == list(UNTICKED)
    [out] = manifest
    assert out["cats"] == {"rejected": list(UNTICKED), "label": "cat"}
    assert {k: v for k, v in out.items() if not k.startswith("cats")} == line
    assert (
        out["cats-metadata"]["type"] == "groundTruth/custom" and out["cats-metadata"]["job_name"] == "bulk-qa"
    )
    assert set(out["cats-metadata"]) == {"job_name", "type", "human-annotated", "creation_date"}


# The custom-workflow seed's shape: the task's input rendered into hidden
# elements, the template's own JavaScript app mounted on them, and the answer
# sent through crowd-form with a hidden crowd-button and a hidden input the
# app fills on submit.
WORKFLOW = """
<crowd-form>
  <div id="text" hidden>{{ task.input.text }}</div>
  <img id="document" hidden alt="" src="{{ task.input.taskObject | grant_read_access }}">
  <div id="metadata" hidden>{{ task.input.metadata | to_json }}</div>
  <div id="app"></div>
  <input type="hidden" name="result">
  <crowd-button form-action="submit" hidden>Submit</crowd-button>
</crowd-form>
<script>
  var text = document.getElementById("text").textContent;
  var metadata = JSON.parse(document.getElementById("metadata").textContent);
  var chosen = null;
  var app = document.getElementById("app");
  var question = document.createElement("p");
  question.textContent = "Is this about " + metadata.topic + "? " + text;
  app.appendChild(question);
  ["Relevant", "Not relevant"].forEach(function (name) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = name;
    b.onclick = function () { chosen = name; };
    app.appendChild(b);
  });
  var send = document.createElement("button");
  send.type = "button";
  send.textContent = "Send";
  send.onclick = function () { document.querySelector("crowd-button button").click(); };
  app.appendChild(send);
  document.querySelector("crowd-form").addEventListener("submit", function () {
    var image = document.getElementById("document");
    document.querySelector("input[name=result]").value = JSON.stringify(
      { choice: chosen, words: text.split(" ").length, imageWidth: image.naturalWidth });
  });
</script>
"""


def workflow_pre(event: dict[str, Any], context: Any) -> dict[str, Any]:
    line = event["dataObject"]
    return {
        "taskInput": {
            "text": line["text"],
            "taskObject": line["source-ref"],
            "metadata": {"topic": line["topic"]},
        },
        "isHumanAnnotationRequired": "true",
    }


def workflow_post(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    bucket, _, key = event["payload"]["s3Uri"].removeprefix("s3://").partition("/")
    batch = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return [
        {
            "datasetObjectId": entry["datasetObjectId"],
            "consolidatedAnnotation": {
                "content": {
                    event["labelAttributeName"]: json.loads(
                        json.loads(entry["annotations"][0]["annotationData"]["content"])["result"]
                    )
                }
            },
        }
        for entry in batch
    ]


def test_the_custom_workflow_job_runs_its_own_app_and_hooks(
    live_s3: Live, page: Page, bucket: tuple[str, Any]
) -> None:
    name, s3 = bucket
    lw = live_s3.client()
    mine = owner_prefix(lw)
    s3.put_object(Bucket=name, Key=f"{mine}/docs/0.png", Body=png(40), ContentType="image/png")
    line = {
        "source-ref": f"s3://{name}/{mine}/docs/0.png",
        "text": "Rain all week in Bergen",
        "topic": "weather",
    }
    s3.put_object(Bucket=name, Key=f"{mine}/in/workflow.manifest", Body=(json.dumps(line) + "\n").encode())
    spec = gt_definition(f"s3://{name}/{mine}", "workflow", "relevance")
    running, token = run_on_pool(live_s3, lw, spec, WORKFLOW, name, "workflow_pre", "workflow_post")
    sign_in(page, live_s3, token)
    frame = page.get_by_title("Task").content_frame
    expect(frame.get_by_text("Is this about weather? Rain all week in Bergen")).to_be_visible()
    frame.get_by_role("button", name="Relevant", exact=True).click()
    frame.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name=WORKERS_DONE)).to_be_visible()
    summary = running.result(timeout=60)

    response, request, consolidated, manifest = output_files(s3, name, f"{mine}/out/workflow")
    result = {"choice": "Relevant", "words": 5, "imageWidth": 48}  # the image came through its presigned link
    assert summary.labeled == 1
    assert [json.loads(a["answerContent"]["result"]) for a in response["answers"]] == [result]
    assert request[0]["dataObject"] == {"s3Uri": line["source-ref"]}
    assert consolidated == [
        {"datasetObjectId": "0", "consolidatedAnnotation": {"content": {"relevance": result}}}
    ]
    [out] = manifest
    assert out["relevance"] == result and {k: v for k, v in out.items() if "relevance" not in k} == line
