"""Post-labeling (consolidation) Lambda for custom labelwire jobs.

labelwire consolidates offline, from every worker's raw answer, with its own
methods. So this handler keeps each worker's answer in the label it returns
(Ground Truth writes that label verbatim into the output manifest), and adds
only a plain majority vote over identical answers, with the winner's share as
its confidence, for a reader of the manifest who wants one answer.

Ground Truth gives the batch as a file at `payload.s3Uri`; each worker's answer
is inline (`annotationData.content`, a JSON string) or, when large, another
S3 object (`annotationData.s3Uri`, also spelled `s3uri`). Set
LABELWIRE_ASSUME_JOB_ROLE=1 to read them as the job's `roleArn`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any
from urllib.parse import urlparse

import boto3


def handler(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    attribute = event["labelAttributeName"]
    s3 = _s3_client(event)
    payload = event.get("payload") or {}
    objects = _read_json(s3, payload["s3Uri"]) if "s3Uri" in payload else payload.get("content", [])
    if isinstance(objects, str):
        objects = json.loads(objects)
    return [_consolidate(s3, item, attribute) for item in objects]


def _consolidate(s3: Any, item: dict[str, Any], attribute: str) -> dict[str, Any]:
    answers = []
    for annotation in item.get("annotations") or []:
        content = _annotation_content(s3, annotation.get("annotationData") or {})
        answers.append({"workerId": annotation.get("workerId"), "answerContent": content})
    votes = Counter(
        json.dumps(a["answerContent"], sort_keys=True) for a in answers if a["answerContent"] is not None
    )
    label: dict[str, Any] = {
        "workerAnswers": answers,
        "label": None,
        "confidence": 0.0,
        "votes": len(answers),
    }
    if votes:
        winner, count = votes.most_common(1)[0]
        label["label"] = json.loads(winner)
        label["confidence"] = round(count / sum(votes.values()), 4)
    return {
        "datasetObjectId": item["datasetObjectId"],
        "consolidatedAnnotation": {"content": {attribute: label}},
    }


def _annotation_content(s3: Any, data: dict[str, Any]) -> Any:
    if "content" in data:
        content = data["content"]
        return json.loads(content) if isinstance(content, str) else content
    uri = data.get("s3Uri") or data.get("s3uri")
    return _read_json(s3, uri) if uri else None


def _read_json(s3: Any, uri: str) -> Any:
    parsed = urlparse(uri)
    body = s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
    return json.loads(body)


def _s3_client(event: dict[str, Any]) -> Any:
    if os.environ.get("LABELWIRE_ASSUME_JOB_ROLE") == "1" and event.get("roleArn"):
        credentials = boto3.client("sts").assume_role(
            RoleArn=event["roleArn"], RoleSessionName="labelwire-consolidation"
        )["Credentials"]
        return boto3.client(
            "s3",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return boto3.client("s3")
