"""A Ground Truth custom job run on the pool (`run-groundtruth-job`) over a real
port and a real S3 server: its pre-labeling hook makes each task's input, the
pool's workers answer, its post-labeling hook consolidates, and the files it
leaves are Ground Truth's, compared field by field with aws.md §2.2–§3.2."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from labelwire.client.raw import Client
from labelwire.server.cli import run_groundtruth
from labelwire.server.cli.run_groundtruth import Summary
from labelwire.server.core.auth import parse as parse_token
from labelwire.server.domain.errors import PermissionDenied
from labelwire.server.domain.gt_hooks import HookPolicy
from labelwire.server.files.policy import FilesSettings
from labelwire.v1 import answer_pb2, job_pb2
from tests.conftest import Clock, Harness, client_folder, serving

HERE = "tests.test_gt_run_job"
TEMPLATE = """<crowd-form>
  <img src="{{ task.input.taskObject | grant_read_access }}" alt="the animal">
  <crowd-classifier name="animal" categories='{{ task.input.labels | to_json }}' header="Which animal?">
  </crowd-classifier>
</crowd-form>"""
STAMP = re.compile(r"^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.json$")
MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
POST_EVENTS: list[dict[str, Any]] = []


def pre_hook(event: dict[str, Any], context: Any) -> dict[str, Any]:
    data = event["dataObject"]
    if data.get("broken"):
        raise ValueError("this line has no picture")
    if data.get("huge"):
        return {"taskInput": {"blob": "x" * (1 << 20)}}
    required = "false" if data.get("skip") else "true"
    return {
        "taskInput": {"taskObject": data["source-ref"], "labels": ["cat", "dog"]},
        "isHumanAnnotationRequired": required,
    }


def post_hook(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    """aws.md §3.3's majority vote, reading the batch from payload.s3Uri."""
    POST_EVENTS.append(event)
    attr = event["labelAttributeName"]
    bucket, _, key = event["payload"]["s3Uri"].removeprefix("s3://").partition("/")
    items = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    out = []
    for it in items:
        votes = Counter(
            json.loads(a["annotationData"]["content"])["animal"]["label"] for a in it["annotations"]
        )
        label, _ = votes.most_common(1)[0]
        out.append(
            {
                "datasetObjectId": it["datasetObjectId"],
                "consolidatedAnnotation": {"content": {attr: {"label": label, "votes": dict(votes)}}},
            }
        )
    return out


@dataclass
class Bucket:
    name: str
    s3: Any

    def json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=self.name, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.name, Prefix=prefix).get("Contents", [])
        return sorted(o["Key"] for o in listed)


@pytest.fixture(autouse=True)
def fresh_events() -> None:
    POST_EVENTS.clear()


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"lw-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield Bucket(name, s3)


@pytest.fixture
def files(bucket: Bucket) -> FilesSettings:
    return FilesSettings.build(None, [f"s3://{bucket.name}/labelwire"])


@pytest.fixture
async def s3_server(database: str, clock: Clock, files: FilesSettings) -> AsyncIterator[Harness]:
    async with serving(database, clock, files) as h:
        yield h


def client_id(client: Client) -> int:
    parsed = parse_token(dict(client.metadata)["authorization"].removeprefix("Bearer "))
    assert parsed is not None
    return parsed[1]


def definition(manifest: str, output: str, **task: Any) -> run_groundtruth.Definition:
    return run_groundtruth.parse_definition(
        {
            "LabelingJobName": "animals-1",
            "LabelAttributeName": "animal",
            "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest}}},
            "OutputConfig": {"S3OutputPath": output},
            "RoleArn": "arn:aws:iam::111122223333:role/GroundTruthExec",
            "HumanTaskConfig": {
                "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/t",
                "UiConfig": {"UiTemplateS3Uri": "template.liquid"},
                "TaskTitle": "Which animal?",
                "TaskDescription": "Pick the animal in the picture",
                "NumberOfHumanWorkersPerDataObject": 2,
                "TaskTimeLimitInSeconds": 300,
                **task,
            },
        }
    )


POLICY = HookPolicy(entry_points=(f"{HERE}:*",), url_prefixes=("http://127.0.0.1:",), attempts=2)


async def run_with_workers(
    harness: Harness,
    lw: Client,
    spec: run_groundtruth.Definition,
    answers: dict[str, dict[str, str]],
    **kw: Any,
) -> Summary:
    """Runs the job while two pool workers answer every task they get:
    `answers[worker][n]` is the animal each one picks for the picture `n.jpg`
    (a worker sees the page, not the item's key)."""
    started: asyncio.Queue[str] = asyncio.Queue()
    pre = run_groundtruth.gt_hooks.parse_hook(kw.pop("pre", ""), "pre", POLICY)
    post = run_groundtruth.gt_hooks.parse_hook(kw.pop("post", ""), "post", POLICY)
    running = asyncio.create_task(
        run_groundtruth.run_job(
            lw,
            spec,
            TEMPLATE,
            client_id=client_id(lw),
            policy=POLICY,
            pre_hook=pre,
            post_hook=post,
            poll_seconds=0.02,
            on_job=started.put_nowait,
            **kw,
        )
    )
    job = await started.get()
    while (await lw.get_job(job)).state != job_pb2.JOB_STATE_RUNNING:
        await asyncio.sleep(0.02)
    for name, picks in answers.items():
        _, token = await lw.create_worker(job, name)
        async with harness.worker(token) as worker:
            while (task := (await worker.next_task()).task).name:
                assert 'alt="the animal"' in task.rendered_template
                answer = answer_pb2.Answer()
                shown = re.search(r"/(\d+)\.jpg", task.rendered_template)
                assert shown is not None
                answer.custom.update({"animal": {"label": picks[shown.group(1)]}})
                await worker.submit(task.name, answer)
    return await running


async def test_a_ground_truth_job_runs_on_the_pool_and_leaves_ground_truths_files(
    s3_server: Harness, bucket: Bucket, files: FilesSettings
) -> None:
    lw = await s3_server.client()
    mine = f"labelwire/{client_id(lw)}"
    lines = [
        {"source-ref": f"s3://{bucket.name}/{mine}/img/0.jpg", "our-id": "a"},
        {"source-ref": f"s3://{bucket.name}/{mine}/img/1.jpg", "our-id": "b", "broken": True},
        {"source-ref": f"s3://{bucket.name}/{mine}/img/2.jpg", "our-id": "c"},
        {"source-ref": f"s3://{bucket.name}/{mine}/img/3.jpg", "our-id": "d", "skip": True},
    ]
    manifest = "\n".join(json.dumps(line) for line in lines) + "\n"
    bucket.s3.put_object(Bucket=bucket.name, Key=f"{mine}/in/input.manifest", Body=manifest.encode())
    spec = definition(f"s3://{bucket.name}/{mine}/in/input.manifest", f"s3://{bucket.name}/{mine}/out/")
    answers = {"ann": {"0": "dog", "2": "dog"}, "bob": {"0": "dog", "2": "cat"}}

    summary = await run_with_workers(
        s3_server,
        lw,
        spec,
        answers,
        settings=files,
        pre=f"python:{HERE}:pre_hook",
        post=f"python:{HERE}:post_hook",
    )

    base = f"{mine}/out/animals-1"
    assert summary.labeled == 2 and summary.skipped == 1
    assert summary.failed == {
        "1": f"pre-labeling: the hook python:{HERE}:pre_hook failed 2 times; last: ValueError: this line has no picture"
    }
    assert summary.output_manifest == f"s3://{bucket.name}/{base}/manifests/output/output.manifest"
    # Worker responses: one file per object and iteration, one answer per worker (§2.5).
    for object_id, picks in (("0", ["dog", "dog"]), ("2", ["dog", "cat"])):
        [key] = bucket.keys(f"{base}/annotations/worker-response/iteration-1/{object_id}/")
        assert STAMP.match(key.rsplit("/", 1)[1])
        response = bucket.json(key)
        assert list(response) == ["answers"]
        for answer in response["answers"]:
            assert set(answer) == {
                "acceptanceTime",
                "submissionTime",
                "timeSpentInSeconds",
                "workerId",
                "answerContent",
            }
            assert MILLIS.match(answer["acceptanceTime"]) and MILLIS.match(answer["submissionTime"])
            assert isinstance(answer["timeSpentInSeconds"], float | int) and answer["workerId"].startswith(
                "labelwire."
            )
        assert sorted(a["answerContent"]["animal"]["label"] for a in response["answers"]) == sorted(picks)
    assert bucket.keys(f"{base}/annotations/worker-response/iteration-1/1/") == []
    # The consolidation request: the post hook's event and its payload file (§3.2).
    [request_key] = bucket.keys(
        f"{base}/annotations/consolidated-annotation/consolidation-request/iteration-1/"
    )
    [event] = POST_EVENTS
    assert event == {
        "version": "2018-10-06",
        "labelingJobArn": "arn:labelwire:sagemaker:pool:111122223333:labeling-job/animals-1",
        "labelCategories": None,
        "labelAttributeName": "animal",
        "roleArn": "arn:aws:iam::111122223333:role/GroundTruthExec",
        "payload": {"s3Uri": f"s3://{bucket.name}/{request_key}"},
        "outputConfig": f"s3://{bucket.name}/{base}/annotations",
        "maxHumanWorkersPerDataObject": 2,
    }
    request = bucket.json(request_key)
    assert [r["datasetObjectId"] for r in request] == ["0", "2"]
    assert [r["dataObject"] for r in request] == [
        {"s3Uri": lines[0]["source-ref"]},
        {"s3Uri": lines[2]["source-ref"]},
    ]
    for entry in request:
        assert [set(a) for a in entry["annotations"]] == [{"workerId", "annotationData"}] * 2
        contents = [json.loads(a["annotationData"]["content"]) for a in entry["annotations"]]
        assert all(set(c) == {"animal"} for c in contents)
    [response_key] = bucket.keys(
        f"{base}/annotations/consolidated-annotation/consolidation-response/iteration-1/"
    )
    assert response_key.rsplit("/", 1)[1] == request_key.rsplit("/", 1)[1]
    assert [r["datasetObjectId"] for r in bucket.json(response_key)] == ["0", "2"]
    # The output manifest: every input line, labeled ones with the attribute and its metadata (§2.3, §2.4).
    body = bucket.s3.get_object(Bucket=bucket.name, Key=f"{base}/manifests/output/output.manifest")["Body"]
    out = [json.loads(line) for line in body.read().decode().splitlines()]
    assert [{k: v for k, v in line.items() if not k.startswith("animal")} for line in out] == lines
    assert out[0]["animal"] == {"label": "dog", "votes": {"dog": 2}}
    assert out[2]["animal"]["label"] in ("dog", "cat") and out[2]["animal"]["votes"] == {"dog": 1, "cat": 1}
    for line in (out[0], out[2]):
        metadata = line["animal-metadata"]
        assert set(metadata) == {"job_name", "type", "human-annotated", "creation_date"}
        assert metadata["job_name"] == "animals-1" and metadata["type"] == "groundTruth/custom"
        assert metadata["human-annotated"] == "yes" and MICROS.match(metadata["creation_date"])
    assert "animal" not in out[1] and out[1]["animal-metadata"] == {
        "job_name": "animals-1",
        "type": "groundTruth/custom",
        "failure-reason": summary.failed["1"],
    }
    assert "animal" not in out[3] and "animal-metadata" not in out[3]
    await lw.close()


async def test_output_outside_the_clients_s3_prefix_is_refused_before_any_work(
    s3_server: Harness, bucket: Bucket, files: FilesSettings
) -> None:
    lw = await s3_server.client()
    other = f"s3://{bucket.name}/labelwire/{client_id(lw) + 1}/out/"
    spec = definition(f"s3://{bucket.name}/labelwire/{client_id(lw)}/in.manifest", other)
    with pytest.raises(PermissionDenied) as err:
        await run_groundtruth.run_job(
            lw,
            spec,
            TEMPLATE,
            settings=files,
            client_id=client_id(lw),
            policy=POLICY,
            pre_hook=None,
            post_hook=None,
        )
    assert (
        "OutputConfig.S3OutputPath" in err.value.message
        and "outside the S3 prefixes open to you" in err.value.message
    )
    assert [job async for job in lw.list_jobs()] == []
    await lw.close()


@pytest.fixture
def failing_endpoint() -> Iterator[tuple[str, list[Any]]]:
    """A post-labeling service that is down: every call answers 503."""
    received: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(503)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/consolidate", received
    server.shutdown()
    server.server_close()


async def test_a_post_hook_that_keeps_failing_fails_each_answered_object_with_the_reason(
    database: str, clock: Clock, tmp_path: Path, failing_endpoint: tuple[str, list[Any]]
) -> None:
    url, received = failing_endpoint
    settings = FilesSettings.build(tmp_path)
    async with serving(database, clock, settings) as harness:
        lw = await harness.client()
        folder = client_folder(tmp_path, lw)
        (folder / "in.manifest").write_text(json.dumps({"source-ref": "https://img.example/0.jpg"}) + "\n")
        spec = definition("in.manifest", "out")
        summary = await run_with_workers(
            harness,
            lw,
            spec,
            {"ann": {"0": "cat"}, "bob": {"0": "dog"}},
            settings=settings,
            pre=f"python:{HERE}:pre_hook",
            post=url,
        )
        await lw.close()
    reason = f"post-labeling: the hook {url} failed 2 times; last: HTTP 503"
    assert summary.failed == {"0": reason} and summary.labeled == 0
    # A local output has no S3 URI to hand over: the batch travels inline.
    assert len(received) == 2 and received[0]["payload"] == {
        "content": json.loads(
            next(
                (
                    folder
                    / "out/animals-1/annotations/consolidated-annotation/consolidation-request/iteration-1"
                ).iterdir()
            ).read_text()
        )
    }
    out = [
        json.loads(line)
        for line in (folder / "out/animals-1/manifests/output/output.manifest").read_text().splitlines()
    ]
    assert out == [
        {
            "source-ref": "https://img.example/0.jpg",
            "animal-metadata": {
                "job_name": "animals-1",
                "type": "groundTruth/custom",
                "failure-reason": reason,
            },
        }
    ]
    assert not (folder / "out/animals-1/annotations/consolidated-annotation/consolidation-response").exists()


async def test_without_a_post_hook_the_label_is_labelwires_own_with_the_worker_response_ref(
    database: str, clock: Clock, tmp_path: Path
) -> None:
    settings = FilesSettings.build(tmp_path)
    async with serving(database, clock, settings) as harness:
        lw = await harness.client()
        folder = client_folder(tmp_path, lw)
        (folder / "in.manifest").write_text(json.dumps({"source-ref": "https://img.example/0.jpg"}) + "\n")
        spec = definition("in.manifest", "out", NumberOfHumanWorkersPerDataObject=1)
        summary = await run_with_workers(
            harness, lw, spec, {"ann": {"0": "cat"}}, settings=settings, pre=f"python:{HERE}:pre_hook"
        )
        await lw.close()
    assert summary.labeled == 1 and summary.failed == {}
    [line] = [
        json.loads(x)
        for x in (folder / "out/animals-1/manifests/output/output.manifest").read_text().splitlines()
    ]
    assert line["animal"] == {"animal": {"label": "cat"}}
    ref = line["animal-metadata"]["worker-response-ref"]
    assert re.fullmatch(r"out/animals-1/annotations/worker-response/iteration-1/0/[0-9_:-]+\.json", ref)
    assert json.loads((folder / ref).read_text())["answers"][0]["answerContent"] == {
        "animal": {"label": "cat"}
    }
