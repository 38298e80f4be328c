"""Ground Truth's limits are checked at CreateJob, each violation naming its field and the limit.

botocore checks only types and minimums on the way out, so every maximum,
pattern and enum below would otherwise be found by AWS, after items were
claimed.
"""

from __future__ import annotations

from typing import Any

import pytest

from labelwire.adapters.base import JobView, LabelClassView, SettingsError
from labelwire.adapters.groundtruth import GroundTruthWorkforce, parse_settings

from .harness import PRIVATE_TEAM, PUBLIC_CROWD, ROLE_ARN

BASE = {
    "region": "us-east-1",
    "role_arn": ROLE_ARN,
    "workteam_arn": PRIVATE_TEAM,
    "input_s3_prefix": "s3://labels-bucket/in",
    "output_s3_prefix": "s3://labels-bucket/out",
}
PUBLIC = {
    **BASE,
    "workteam_arn": PUBLIC_CROWD,
    "price_usd": "0.036",
    "content_classifiers": ["FreeOfPersonallyIdentifiableInformation"],
}
CUSTOM_LAMBDAS = {
    "pre_lambda_arn": "arn:aws:lambda:us-east-1:123456789012:function:labelwire-gt-pre",
    "post_lambda_arn": "arn:aws:lambda:us-east-1:123456789012:function:labelwire-gt-post",
}


def job(settings: dict[str, Any], **fields: Any) -> JobView:
    values: dict[str, Any] = {
        "name": "jobs/j1",
        "display_name": "Label the sentiment",
        "task_type": "classification",
        "classes": (LabelClassView("positive"), LabelClassView("negative")),
        "media_type": "text",
        "instructions": {},
        "task_config": {},
        "judgments_per_item": 3,
        "max_judgments_per_item": 3,
        "task_time_limit_seconds": 300,
        "task_lifetime_seconds": 0,
        "price_per_judgment_micros": 0,
        "label_attribute_name": "sentiment",
        "settings": settings,
    }
    values.update(fields)
    return JobView(**values)


def rejected(view: JobView) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        GroundTruthWorkforce().validate(view)
    return caught.value


def test_valid_private_and_public_crowd_settings_pass() -> None:
    GroundTruthWorkforce().validate(job(BASE))
    settings = parse_settings(job(PUBLIC))
    assert settings.public_crowd and settings.price_mills == 36 and settings.task_lifetime_seconds == 21600


@pytest.mark.parametrize(
    ("settings", "fields", "field", "limit"),
    [
        (
            {},
            {"judgments_per_item": 10, "max_judgments_per_item": 10},
            "judgment_policy.max_judgments_per_item",
            "9",
        ),
        ({}, {"task_time_limit_seconds": 29}, "task_time_limit", "30 s to 8 h"),
        ({}, {"task_time_limit_seconds": 28_801}, "task_time_limit", "30 s to 8 h"),
        (PUBLIC, {"task_lifetime_seconds": 43_201}, "task_lifetime", "43200"),
        ({}, {"task_lifetime_seconds": 30}, "task_lifetime", "60 s"),
        (
            {"max_concurrent_task_count": 5001},
            {},
            "workforce.settings.max_concurrent_task_count",
            "1 to 5000",
        ),
        ({"max_concurrent_task_count": 0}, {}, "workforce.settings.max_concurrent_task_count", "1 to 5000"),
        ({**PUBLIC, "price_usd": "0.05"}, {}, "workforce.settings.price_usd", "0.048"),
        ({**PUBLIC, "price_usd": None}, {}, "workforce.settings.price_usd", "price per task"),
        (
            {**PUBLIC, "price_usd": None},
            {"price_per_judgment_micros": 50_000},
            "price_per_judgment_micros",
            "0.060",
        ),
        ({"price_usd": "0.036"}, {}, "workforce.settings.price_usd", "public-crowd workers only"),
        ({"job_name_prefix": "bad_name!"}, {}, "workforce.settings.job_name_prefix", "[a-zA-Z0-9-]"),
        ({"job_name_prefix": "x" * 57}, {}, "workforce.settings.job_name_prefix", "56 characters"),
        ({}, {"name": "jobs/" + "a" * 60}, "workforce.settings.job_name_prefix", "56 characters"),
        ({}, {"label_attribute_name": "sentiment-metadata"}, "label_attribute_name", "-metadata"),
        ({}, {"label_attribute_name": "sentiment-ref"}, "label_attribute_name", "-ref"),
        ({}, {"label_attribute_name": "senti_ment"}, "label_attribute_name", "[a-zA-Z0-9-]"),
        ({"role_arn": "arn:aws:iam::123:role/x"}, {}, "workforce.settings.role_arn", "IAM role ARN"),
        (
            {"workteam_arn": "arn:aws:sagemaker:us-east-1:123456789012:team/x"},
            {},
            "workforce.settings.workteam_arn",
            "workteam",
        ),
        (
            {"workteam_arn": "arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/t"},
            {},
            "workforce.settings.workteam_arn",
            "region us-east-1",
        ),
        (
            {"content_classifiers": ["FreeOfViolence"]},
            {},
            "workforce.settings.content_classifiers[0]",
            "FreeOfAdultContent",
        ),
        (
            {**PUBLIC, "content_classifiers": ["FreeOfAdultContent"]},
            {},
            "workforce.settings.content_classifiers",
            "FreeOfPersonallyIdentifiableInformation",
        ),
        ({"task_keywords": ["cats, dogs"]}, {}, "workforce.settings.task_keywords[0]", "letters, digits"),
        ({"task_keywords": ["a", "b", "c", "d", "e", "f"]}, {}, "workforce.settings.task_keywords", "1 to 5"),
        ({"task_keywords": ["x" * 31]}, {}, "workforce.settings.task_keywords[0]", "1 to 30"),
        ({"input_s3_prefix": "https://bucket/in"}, {}, "workforce.settings.input_s3_prefix", "s3://"),
        ({"output_s3_prefix": None}, {}, "workforce.settings.output_s3_prefix", "required"),
        (
            {
                "region": "sa-east-1",
                "workteam_arn": "arn:aws:sagemaker:sa-east-1:123456789012:workteam/private-crowd/t",
            },
            {},
            "workforce.settings.region",
            "built-in tasks run in",
        ),
        ({"colour": "blue"}, {}, "workforce.settings.colour", "not a Ground Truth setting"),
        ({}, {"display_name": "x" * 129}, "workforce.settings.task_title", "1 to 128"),
        ({"task_description": "x" * 256}, {}, "workforce.settings.task_description", "1 to 255"),
        ({"ui": "custom"}, {}, "workforce.settings.ui_template_s3_uri", "template"),
        (
            {"ui": "custom", "ui_template_s3_uri": "s3://b-b/t.liquid"},
            {},
            "workforce.settings.pre_lambda_arn",
            "pre-labeling",
        ),
        (
            {
                "ui": "custom",
                "ui_template_s3_uri": "s3://b-b/t.liquid",
                **CUSTOM_LAMBDAS,
                "pre_lambda_arn": "arn:aws:lambda:us-east-1:1:function:x",
            },
            {},
            "workforce.settings.pre_lambda_arn",
            "Lambda function ARN",
        ),
        ({}, {"task_type": "custom"}, "workforce.settings.ui_template_s3_uri", "template"),
        ({"ui": "builtin"}, {"task_type": "custom"}, "workforce.settings.ui", "no built-in"),
        (
            {},
            {"task_type": "spans", "media_type": "image"},
            "workforce.settings.ui",
            "no built-in task for spans on image",
        ),
        ({}, {"classes": (LabelClassView("only"),)}, "task_config", "at least 2 classes"),
    ],
)
def test_each_ground_truth_limit_is_checked_and_named(
    settings: dict[str, Any], fields: dict[str, Any], field: str, limit: str
) -> None:
    merged = {k: v for k, v in {**BASE, **settings}.items() if v is not None}
    error = rejected(job(merged, **fields))
    assert error.field == field
    assert limit in error.message


def test_segmentation_label_attribute_gets_the_ref_suffix_ground_truth_requires() -> None:
    settings = parse_settings(job(BASE, task_type="segmentation", media_type="image"))
    assert settings.label_attribute_name == "sentiment-ref"


def test_segmentation_price_must_be_on_its_own_ladder() -> None:
    error = rejected(job({**PUBLIC, "price_usd": "0.12"}, task_type="segmentation", media_type="image"))
    assert error.field == "workforce.settings.price_usd" and "0.840" in error.message


def test_bounding_box_price_ladder_starts_at_0_036() -> None:
    error = rejected(job({**PUBLIC, "price_usd": "0.024"}, task_type="bounding_box", media_type="image"))
    assert error.field == "workforce.settings.price_usd"
    GroundTruthWorkforce().validate(job(PUBLIC, task_type="bounding_box", media_type="image"))


def test_numbers_from_a_protobuf_struct_arrive_as_floats_and_are_accepted() -> None:
    settings = parse_settings(job({**BASE, "max_concurrent_task_count": 250.0, "batch_wait_seconds": 60.0}))
    assert settings.max_concurrent_task_count == 250
