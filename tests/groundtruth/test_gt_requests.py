"""CreateLabelingJob as Ground Truth documents it, for each built-in task type.

Every request goes through botocore's Stubber, which checks it against the
SageMaker service model; `expected_params` pins the exact values.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from labelwire.adapters.base import WorkItem

from .context import RecordingContext
from .harness import PRIVATE_TEAM, ROLE_ARN, GroundTruthHarness

US_EAST_1 = "arn:aws:lambda:us-east-1:432418664414:function:"


def expected_request(harness: GroundTruthHarness, attribute: str, human: dict[str, Any]) -> dict[str, Any]:
    folder = f"{harness.input_prefix}/lw-j1-1"
    return {
        "LabelingJobName": "lw-j1-1",
        "LabelAttributeName": attribute,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": f"{folder}/input.manifest"}}},
        "OutputConfig": {"S3OutputPath": f"{harness.output_prefix}/"},
        "RoleArn": ROLE_ARN,
        "LabelCategoryConfigS3Uri": f"{folder}/labels.json",
        "HumanTaskConfig": human,
        "Tags": [{"Key": "labelwire-job", "Value": "jobs/j1"}],
    }


def private_human_config(harness: GroundTruthHarness, gt_type: str, keywords: list[str]) -> dict[str, Any]:
    ui: dict[str, str] = {"UiTemplateS3Uri": f"{harness.input_prefix}/lw-j1-1/template.liquid"}
    if gt_type == "NamedEntityRecognition":
        ui = {
            "HumanTaskUiArn": "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/NamedEntityRecognition"
        }
    return {
        "WorkteamArn": PRIVATE_TEAM,
        "UiConfig": ui,
        "PreHumanTaskLambdaArn": US_EAST_1 + "PRE-" + gt_type,
        "TaskKeywords": keywords,
        "TaskTitle": "Label the sentiment",
        "TaskDescription": "Pick the sentiment of the text",
        "NumberOfHumanWorkersPerDataObject": 3,
        "TaskTimeLimitInSeconds": 300,
        "MaxConcurrentTaskCount": 1000,
        "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": US_EAST_1 + "ACS-" + gt_type},
    }


BUILT_IN = [
    ("classification", "text", "TextMultiClass", "sentiment", ["text", "classification"]),
    ("classification", "image", "ImageMultiClass", "sentiment", ["image", "classification"]),
    ("multi_label", "text", "TextMultiClassMultiLabel", "sentiment", ["text", "classification", "tagging"]),
    (
        "multi_label",
        "image",
        "ImageMultiClassMultiLabel",
        "sentiment",
        ["image", "classification", "tagging"],
    ),
    ("bounding_box", "image", "BoundingBox", "sentiment", ["image", "bounding box", "object detection"]),
    ("segmentation", "image", "SemanticSegmentation", "sentiment-ref", ["image", "segmentation"]),
    ("spans", "text", "NamedEntityRecognition", "sentiment", ["text", "named entity", "text span"]),
    ("verification", "image", "VerificationBoundingBox", "sentiment", ["image", "verification"]),
]


@pytest.mark.parametrize(("task_type", "media_type", "gt_type", "attribute", "keywords"), BUILT_IN)
async def test_each_task_type_maps_to_its_built_in_ground_truth_task(
    harness: GroundTruthHarness,
    task_type: str,
    media_type: str,
    gt_type: str,
    attribute: str,
    keywords: list[str],
) -> None:
    ctx = RecordingContext(harness.job(task_type=task_type, media_type=media_type))
    prelabel = {
        "bounding_boxes": {
            "boxes": [{"class_name": "positive", "left": 1, "top": 2, "width": 3, "height": 4}]
        }
    }
    ctx.add_work_item(
        WorkItem(
            key="item-1",
            payload_kind="source_ref" if media_type == "image" else "text",
            payload=f"s3://{harness.bucket}/data/1.jpg" if media_type == "image" else "Sift 3 cups of flour",
            metadata={},
            judgments_wanted=3,
            prelabel=prelabel if task_type == "verification" else None,
        )
    )
    harness.expect_create_request(
        expected_request(harness, attribute, private_human_config(harness, gt_type, keywords))
    )

    await harness.workforce.sync(ctx)

    harness.assert_all_calls_made()
    labels = json.loads(harness.read_text(f"{harness.input_prefix}/lw-j1-1/labels.json"))
    assert labels["document-version"] == "2018-11-28"
    assert labels["labels"] == [{"label": "positive"}, {"label": "negative"}]
    if gt_type == "NamedEntityRecognition":
        assert set(labels["instructions"]) == {"shortInstruction", "fullInstruction"}
    else:
        assert "crowd-form" in harness.read_text(f"{harness.input_prefix}/lw-j1-1/template.liquid")


async def test_verification_lines_carry_the_model_boxes_the_template_shows(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(task_type="verification", media_type="image"))
    boxes = [{"class_name": "negative", "left": 1, "top": 2, "width": 3, "height": 4}]
    ctx.add_work_item(
        WorkItem(
            key="v1",
            payload_kind="source_ref",
            payload=f"s3://{harness.bucket}/data/1.jpg",
            metadata={},
            judgments_wanted=3,
            prelabel={"bounding_boxes": {"boxes": boxes}},
        )
    )
    harness.expect_create("lw-j1-1")
    await harness.workforce.sync(ctx)

    [line] = harness.input_lines("lw-j1-1")
    assert line["sentiment-prelabel"] == {
        "annotations": [{"class_id": 0, "left": 1, "top": 2, "width": 3, "height": 4}]
    }
    assert line["sentiment-prelabel-metadata"]["class-map"] == {"0": "negative"}
    template = harness.read_text(f"{harness.input_prefix}/lw-j1-1/template.liquid")
    assert "task.input.manifestLine.sentiment-prelabel.annotations" in template


async def test_public_crowd_job_carries_price_lifetime_and_content_classifiers_for_its_region(
    harness: GroundTruthHarness,
) -> None:
    settings = harness.settings(
        region="eu-west-1",
        workteam_arn="arn:aws:sagemaker:eu-west-1:394669845002:workteam/public-crowd/default",
        price_usd="0.036",
        content_classifiers=["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"],
        task_keywords=["image", "classification"],
    )
    ctx = RecordingContext(harness.job(media_type="image", settings=settings))
    ctx.add_items("cat-1", payload_kind="source_ref", payloads={"cat-1": f"s3://{harness.bucket}/img/1.jpg"})
    request = expected_request(harness, "sentiment", {})
    request["InputConfig"]["DataAttributes"] = {
        "ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"]
    }
    request["HumanTaskConfig"] = {
        "WorkteamArn": "arn:aws:sagemaker:eu-west-1:394669845002:workteam/public-crowd/default",
        "UiConfig": {"UiTemplateS3Uri": f"{harness.input_prefix}/lw-j1-1/template.liquid"},
        "PreHumanTaskLambdaArn": "arn:aws:lambda:eu-west-1:568282634449:function:PRE-ImageMultiClass",
        "TaskKeywords": ["image", "classification"],
        "TaskTitle": "Label the sentiment",
        "TaskDescription": "Pick the sentiment of the text",
        "NumberOfHumanWorkersPerDataObject": 3,
        "TaskTimeLimitInSeconds": 300,
        "TaskAvailabilityLifetimeInSeconds": 21600,
        "MaxConcurrentTaskCount": 1000,
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": "arn:aws:lambda:eu-west-1:568282634449:function:ACS-ImageMultiClass"
        },
        "PublicWorkforceTaskPrice": {"AmountInUsd": {"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}},
    }
    harness.expect_create_request(request)

    await harness.workforce.sync(ctx)

    harness.assert_all_calls_made()


async def test_input_manifest_lines_carry_the_item_key_beside_source_or_source_ref(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(task_type="custom", settings=_custom_settings(harness)))
    ctx.add_items("t1", payloads={"t1": "The food was delicious"})
    ctx.add_items("j1", payload_kind="json", payloads={"j1": '{"question": "2+2?"}'})
    ctx.add_items("s1", payload_kind="source_ref", payloads={"s1": f"s3://{harness.bucket}/docs/1.txt"})
    harness.expect_create("lw-j1-1")
    await harness.workforce.sync(ctx)

    assert harness.input_lines("lw-j1-1") == [
        {"source": "The food was delicious", "labelwire-key": "t1"},
        {"source": '{"question": "2+2?"}', "labelwire-payload": {"question": "2+2?"}, "labelwire-key": "j1"},
        {"source-ref": f"s3://{harness.bucket}/docs/1.txt", "labelwire-key": "s1"},
    ]


def _custom_settings(harness: GroundTruthHarness) -> dict[str, Any]:
    return harness.settings(
        ui_template_s3_uri=f"s3://{harness.bucket}/templates/custom.liquid",
        pre_lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:labelwire-gt-pre",
        post_lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:labelwire-gt-post",
    )
