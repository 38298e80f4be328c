"""A Ground Truth stand-in for tests: real S3 (a moto server), a stubbed SageMaker client.

Ground Truth itself cannot run offline, so the harness plays its part: the
test queues what DescribeLabelingJob answers (botocore's Stubber checks every
request against the SageMaker service model) and "has workers answer" by
writing worker-response files and output manifests into the bucket in Ground
Truth's formats. The adapter under test talks to both through real boto3
clients. The harness works with any WorkforceContext, so the same scenarios can
later run against the real core.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.stub import ANY, Stubber

from labelwire.adapters.base import JobView, LabelClassView
from labelwire.adapters.groundtruth import GroundTruthWorkforce
from labelwire.adapters.groundtruth.settings import GroundTruthSettings

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/GroundTruthExec"
PRIVATE_TEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/labelers"
PUBLIC_CROWD = f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default"
CREATED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("moto_server did not start within 30 s")


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 (and friends) as a real HTTP server on a free local port; yields its URL.

    Clients need dummy credentials (DUMMY_ENV) and `endpoint_url` set to the URL.
    """
    port = free_port()
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class FakeClock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class GroundTruthHarness:
    def __init__(self, *, endpoint_url: str, bucket: str, region: str = REGION) -> None:
        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self.region = region
        self.s3 = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(retries={"total_max_attempts": 1}),
        )
        self.s3.create_bucket(Bucket=bucket)
        self.sagemaker = boto3.client("sagemaker", region_name=region)
        self.stubber = Stubber(self.sagemaker)
        self.stubber.activate()
        self.clock = FakeClock()
        self.sleeps: list[float] = []
        self.workforce = self.new_workforce()

    def close(self) -> None:
        self.stubber.deactivate()

    # --- the adapter ------------------------------------------------------------------------------------------

    def new_workforce(self) -> GroundTruthWorkforce:
        """A fresh adapter instance on the same clients: what a server restart gives."""
        return GroundTruthWorkforce(
            clients=self._clients, sleep=self._sleep, clock=self.clock, rng=random.Random(7)
        )

    def _clients(self, service: str, settings: GroundTruthSettings) -> Any:
        return self.s3 if service == "s3" else self.sagemaker

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    # --- jobs and settings ------------------------------------------------------------------------------------

    @property
    def input_prefix(self) -> str:
        return f"s3://{self.bucket}/in"

    @property
    def output_prefix(self) -> str:
        return f"s3://{self.bucket}/out"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "region": self.region,
            "role_arn": ROLE_ARN,
            "workteam_arn": PRIVATE_TEAM,
            "input_s3_prefix": self.input_prefix,
            "output_s3_prefix": self.output_prefix,
            "s3_endpoint_url": self.endpoint_url,
            "batch_wait_seconds": 0,
        }
        settings.update(overrides)
        return {k: v for k, v in settings.items() if v is not None}

    def job(
        self,
        *,
        task_type: str = "classification",
        media_type: str = "text",
        classes: Sequence[str] = ("positive", "negative"),
        judgments: int = 3,
        name: str = "jobs/j1",
        label_attribute_name: str = "sentiment",
        settings: Mapping[str, Any] | None = None,
        instructions: Mapping[str, Any] | None = None,
        task_config: Mapping[str, Any] | None = None,
        **job_fields: Any,
    ) -> JobView:
        fields: dict[str, Any] = {
            "name": name,
            "display_name": "Label the sentiment",
            "task_type": task_type,
            "classes": tuple(LabelClassView(c) for c in classes),
            "media_type": media_type,
            "instructions": instructions or {"short_instructions": "Pick the sentiment of the text"},
            "task_config": task_config or {},
            "judgments_per_item": judgments,
            "max_judgments_per_item": judgments,
            "task_time_limit_seconds": 300,
            "task_lifetime_seconds": 0,
            "price_per_judgment_micros": 0,
            "label_attribute_name": label_attribute_name,
            "settings": dict(settings if settings is not None else self.settings()),
        }
        fields.update(job_fields)
        return JobView(**fields)

    # --- what SageMaker answers -------------------------------------------------------------------------------

    def labeling_job_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:labeling-job/{name.lower()}"

    def expect_create(self, name: str, *, without: Sequence[str] = (), **exact: Any) -> None:
        """Queues CreateLabelingJob's answer; keys given in `exact` must match the request exactly,
        keys in `without` must be absent."""
        expected: dict[str, Any] = {
            key: ANY
            for key in (
                "LabelAttributeName",
                "InputConfig",
                "OutputConfig",
                "RoleArn",
                "LabelCategoryConfigS3Uri",
                "HumanTaskConfig",
                "Tags",
            )
        }
        expected["LabelingJobName"] = name
        expected.update(exact)
        for key in without:
            expected.pop(key, None)
        self.stubber.add_response(
            "create_labeling_job", {"LabelingJobArn": self.labeling_job_arn(name)}, expected
        )

    def expect_create_request(self, request: Mapping[str, Any]) -> None:
        name = request["LabelingJobName"]
        self.stubber.add_response(
            "create_labeling_job", {"LabelingJobArn": self.labeling_job_arn(name)}, dict(request)
        )

    def queue_describe(
        self,
        name: str,
        status: str,
        *,
        labeled: int = 0,
        unlabeled: int = 0,
        failed: int = 0,
        failure_reason: str | None = None,
        manifest_uri: str | None = None,
    ) -> None:
        response: dict[str, Any] = {
            "LabelingJobStatus": status,
            "LabelCounters": {
                "TotalLabeled": labeled,
                "HumanLabeled": labeled,
                "MachineLabeled": 0,
                "FailedNonRetryableError": failed,
                "Unlabeled": unlabeled,
            },
            "CreationTime": CREATED,
            "LastModifiedTime": CREATED,
            "JobReferenceCode": "ref-" + name,
            "LabelingJobName": name,
            "LabelingJobArn": self.labeling_job_arn(name),
            "LabelAttributeName": "sentiment",
            "InputConfig": {
                "DataSource": {"S3DataSource": {"ManifestS3Uri": manifest_uri or self.manifest_uri(name)}}
            },
            "OutputConfig": {"S3OutputPath": self.output_prefix + "/"},
            "RoleArn": ROLE_ARN,
            "HumanTaskConfig": {
                "WorkteamArn": PRIVATE_TEAM,
                "UiConfig": {"UiTemplateS3Uri": f"{self.input_prefix}/{name}/template.liquid"},
                "TaskTitle": "Label the sentiment",
                "TaskDescription": "Pick the sentiment of the text",
                "NumberOfHumanWorkersPerDataObject": 3,
                "TaskTimeLimitInSeconds": 300,
            },
        }
        if failure_reason:
            response["FailureReason"] = failure_reason
        if status == "Completed":
            response["LabelingJobOutput"] = {"OutputDatasetS3Uri": self.output_manifest_uri(name)}
        self.stubber.add_response("describe_labeling_job", response, {"LabelingJobName": name})

    def expect_stop(self, name: str) -> None:
        self.stubber.add_response("stop_labeling_job", {}, {"LabelingJobName": name})

    def queue_error(self, operation: str, code: str, *, status: int = 400, message: str = "") -> None:
        self.stubber.add_client_error(
            operation, service_error_code=code, service_message=message or code, http_status_code=status
        )

    def assert_all_calls_made(self) -> None:
        self.stubber.assert_no_pending_responses()

    # --- what Ground Truth writes -----------------------------------------------------------------------------

    def manifest_uri(self, name: str) -> str:
        return f"{self.input_prefix}/{name}/input.manifest"

    def output_manifest_uri(self, name: str) -> str:
        return f"{self.output_prefix}/{name}/manifests/output/output.manifest"

    def input_lines(self, name: str) -> list[dict[str, Any]]:
        return [
            json.loads(line) for line in self.read_text(self.manifest_uri(name)).splitlines() if line.strip()
        ]

    def object_id(self, name: str, item_key: str) -> str:
        """Ground Truth's data object id of an item: its line number in the input manifest."""
        for number, line in enumerate(self.input_lines(name)):
            if line.get("labelwire-key") == item_key or item_key in line.get("labelwire-keys", []):
                return str(number)
        raise KeyError(item_key)

    def workers_answer(
        self,
        name: str,
        item_key: str,
        answers: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        iteration: int = 1,
        submitted: str = "2026-11-25T12:05:00.000Z",
    ) -> str:
        """Writes the worker-response file Ground Truth writes once workers answered an object."""
        object_id = self.object_id(name, item_key)
        document = {
            "answers": [
                {
                    "acceptanceTime": "2026-11-25T12:04:50.000Z",
                    "submissionTime": submitted,
                    "timeSpentInSeconds": 10.5,
                    "workerId": worker,
                    "answerContent": dict(content),
                    "workerMetadata": {
                        "identityData": {
                            "identityProviderType": "Cognito",
                            "issuer": f"https://cognito-idp.{self.region}.amazonaws.com/{self.region}_XXXX",
                            "sub": worker,
                        }
                    },
                }
                for worker, content in answers
            ]
        }
        stamp = submitted[:19].replace("T", "_")
        key = f"out/{name}/annotations/worker-response/iteration-{iteration}/{object_id}/{stamp}.json"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(document).encode())
        return f"s3://{self.bucket}/{key}"

    def write_output_manifest(self, name: str, labels: Mapping[str, Mapping[str, Any]]) -> None:
        """Writes the final output manifest: each input line plus the label keys given per item key."""
        lines = []
        for line in self.input_lines(name):
            lines.append({**line, **labels.get(line["labelwire-key"], {})})
        self.put_text(self.output_manifest_uri(name), "".join(json.dumps(line) + "\n" for line in lines))

    def put_text(self, uri: str, text: str) -> None:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        self.s3.put_object(Bucket=bucket, Key=key, Body=text.encode())

    def put_json(self, uri: str, value: Any) -> None:
        self.put_text(uri, json.dumps(value))

    def read_text(self, uri: str) -> str:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def classification_label(
    attribute: str, class_name: str, index: int, confidence: float, job: str
) -> dict[str, Any]:
    """The two keys Ground Truth adds to an output line for a classification label."""
    return {
        attribute: index,
        attribute + "-metadata": {
            "class-name": class_name,
            "confidence": confidence,
            "type": "groundtruth/text-classification",
            "job-name": f"labeling-job/{job}",
            "human-annotated": "yes",
            "creation-date": "2026-11-25T12:10:00.000000",
        },
    }


def classifier(label: str) -> dict[str, Any]:
    """A worker's answer from the built-in text classification template."""
    return {"crowd-classifier": {"label": label}}
