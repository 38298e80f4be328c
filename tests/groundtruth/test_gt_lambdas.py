"""The pre- and post-labeling Lambda handlers, fed the events Ground Truth documents, and a
custom job that runs through them end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from labelwire.adapters.groundtruth.lambdas import post, pre

from .context import RecordingContext
from .harness import ROLE_ARN, GroundTruthHarness

PRE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:labelwire-gt-pre"
POST_ARN = "arn:aws:lambda:us-east-1:123456789012:function:labelwire-gt-post"
JOB_ARN = "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/lw-j1-1"
W1, W2, W3 = "private.us-east-1.aaaa1111", "private.us-east-1.bbbb2222", "private.us-east-1.cccc3333"


@pytest.fixture
def lambda_s3(harness: GroundTruthHarness, monkeypatch: pytest.MonkeyPatch) -> Iterator[GroundTruthHarness]:
    """Points the handlers' plain `boto3.client("s3")` at the moto server, as a Lambda's environment would."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", harness.endpoint_url)
    yield harness


@pytest.mark.parametrize("version", ["2018-10-16", "2018-10-06"])
def test_pre_handler_hands_the_template_the_item_and_its_key(version: str) -> None:
    event = {
        "version": version,
        "labelingJobArn": JOB_ARN,
        "dataObject": {
            "source-ref": "s3://bkt/images/0001.jpg",
            "labelwire-key": "item-0001",
            "camera": "left",
        },
    }
    response = pre.handler(event, None)

    assert response == {
        "taskInput": {
            "source-ref": "s3://bkt/images/0001.jpg",
            "labelwire-key": "item-0001",
            "camera": "left",
            "taskObject": "s3://bkt/images/0001.jpg",
            "key": "item-0001",
            "metadata": {},
            "payload": None,
        },
        "isHumanAnnotationRequired": "true",
    }


@pytest.mark.parametrize("spelling", ["isHumanAnnotationRequired", "humanAnnotationRequired"])
def test_pre_handler_lets_a_line_skip_human_labeling_in_either_spelling(spelling: str) -> None:
    event = {
        "version": "2018-10-16",
        "labelingJobArn": JOB_ARN,
        "dataObject": {"source": "hi", spelling: False},
    }
    response = pre.handler(event, None)
    assert response["isHumanAnnotationRequired"] == "false"
    assert spelling not in response["taskInput"]


def post_event(payload_uri: str, version: str = "2018-10-06") -> dict[str, Any]:
    return {
        "version": version,
        "labelingJobArn": JOB_ARN,
        "labelCategories": None,
        "labelAttributeName": "sentiment",
        "roleArn": ROLE_ARN,
        "payload": {"s3Uri": payload_uri},
        "outputConfig": "s3://bkt/out/lw-j1-1/annotations",
        "maxHumanWorkersPerDataObject": 3,
    }


@pytest.mark.parametrize("version", ["2018-10-16", "2018-10-06"])
def test_post_handler_keeps_every_workers_answer_inline_or_in_s3(
    lambda_s3: GroundTruthHarness, version: str
) -> None:
    h = lambda_s3
    large_answer = f"s3://{h.bucket}/out/lw-j1-1/annotations/large/answer-3.json"
    h.put_json(large_answer, {"sentiment": {"label": "sad"}})
    payload_uri = f"s3://{h.bucket}/out/lw-j1-1/annotations/consolidated-annotation/consolidation-request/iteration-1/2026-11-25_12:00:00.json"
    h.put_json(
        payload_uri,
        [
            {
                "datasetObjectId": "0",
                "dataObject": {"content": "This train is really late."},
                "annotations": [
                    {
                        "workerId": W1,
                        "annotationData": {"content": json.dumps({"sentiment": {"label": "angry"}})},
                    },
                    {
                        "workerId": W2,
                        "annotationData": {"content": json.dumps({"sentiment": {"label": "angry"}})},
                    },
                    {"workerId": W3, "annotationData": {"s3uri": large_answer}},
                ],
            }
        ],
    )
    result = post.handler(post_event(payload_uri, version), None)

    assert result == [
        {
            "datasetObjectId": "0",
            "consolidatedAnnotation": {
                "content": {
                    "sentiment": {
                        "workerAnswers": [
                            {"workerId": W1, "answerContent": {"sentiment": {"label": "angry"}}},
                            {"workerId": W2, "answerContent": {"sentiment": {"label": "angry"}}},
                            {"workerId": W3, "answerContent": {"sentiment": {"label": "sad"}}},
                        ],
                        "label": {"sentiment": {"label": "angry"}},
                        "confidence": 0.6667,
                        "votes": 3,
                    }
                }
            },
        }
    ]


async def test_a_custom_job_runs_on_the_labelwire_lambdas_from_manifest_to_reference_label(
    lambda_s3: GroundTruthHarness,
) -> None:
    h = lambda_s3
    template_uri = f"s3://{h.bucket}/templates/sentiment.liquid"
    settings = h.settings(ui_template_s3_uri=template_uri, pre_lambda_arn=PRE_ARN, post_lambda_arn=POST_ARN)
    ctx = RecordingContext(h.job(task_type="custom", classes=(), settings=settings))
    ctx.add_items("t1", payloads={"t1": "This train is really late."})
    h.expect_create(
        "lw-j1-1",
        without=["LabelCategoryConfigS3Uri"],
        HumanTaskConfig={
            "WorkteamArn": settings["workteam_arn"],
            "UiConfig": {"UiTemplateS3Uri": template_uri},
            "PreHumanTaskLambdaArn": PRE_ARN,
            "TaskKeywords": ["text", "labeling"],
            "TaskTitle": "Label the sentiment",
            "TaskDescription": "Pick the sentiment of the text",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "MaxConcurrentTaskCount": 1000,
            "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": POST_ARN},
        },
    )
    await h.workforce.sync(ctx)

    line = h.input_lines("lw-j1-1")[0]
    task = pre.handler({"version": "2018-10-16", "labelingJobArn": JOB_ARN, "dataObject": line}, None)
    assert task["taskInput"]["taskObject"] == "This train is really late."
    assert task["taskInput"]["key"] == "t1"

    answers = [
        (W1, {"sentiment": {"label": "angry"}}),
        (W2, {"sentiment": {"label": "angry"}}),
        (W3, {"sentiment": {"label": "sad"}}),
    ]
    h.workers_answer("lw-j1-1", "t1", answers)
    request_uri = f"{h.output_prefix}/lw-j1-1/annotations/consolidated-annotation/consolidation-request/iteration-1/2026-11-25_12:06:00.json"
    h.put_json(
        request_uri,
        [
            {
                "datasetObjectId": "0",
                "dataObject": {"content": line["source"]},
                "annotations": [
                    {"workerId": w, "annotationData": {"content": json.dumps(a)}} for w, a in answers
                ],
            }
        ],
    )
    consolidated = post.handler(post_event(request_uri), None)
    label = consolidated[0]["consolidatedAnnotation"]["content"]["sentiment"]
    metadata = {
        "job_name": "lw-j1-1",
        "type": "groundTruth/custom",
        "human-annotated": "yes",
        "creation_date": "2026-11-25T12:07:00.000000",
    }
    h.write_output_manifest("lw-j1-1", {"t1": {"sentiment": label, "sentiment-metadata": metadata}})
    h.queue_describe("lw-j1-1", "Completed", labeled=1)
    await h.workforce.sync(ctx)

    assert ctx.answers_of("t1") == {w: {"custom": a} for w, a in answers}
    reference = ctx.references["t1"]
    assert reference.answer == {"custom": {"sentiment": {"label": "angry"}}}
    assert reference.confidence == pytest.approx(0.6667)
    h.assert_all_calls_made()
