"""CreateLabelingJob requests: labelwire task types mapped onto Ground Truth's.

Built-in task types run on AWS's own pre-labeling (`PRE-*`) and consolidation
(`ACS-*`) functions, which live in a Ground Truth account that differs per
region; custom jobs run on the labelwire Lambda handlers the user deployed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelwire.adapters.base import JobView, kind_named

if TYPE_CHECKING:
    from labelwire.adapters.groundtruth.settings import GroundTruthSettings

GROUND_TRUTH_ACCOUNTS = {
    "us-east-1": "432418664414",
    "us-east-2": "266458841044",
    "us-west-2": "081040173940",
    "ca-central-1": "918755190332",
    "eu-west-1": "568282634449",
    "eu-west-2": "487402164563",
    "eu-central-1": "203001061592",
    "ap-northeast-1": "477331159723",
    "ap-northeast-2": "845288260483",
    "ap-south-1": "565803892007",
    "ap-southeast-1": "377565633583",
    "ap-southeast-2": "454466003867",
}
HUMAN_TASK_UI_ACCOUNT = "394669845002"

# The `type` Ground Truth writes into output-manifest metadata, per Ground Truth task type.
OUTPUT_TYPES = {
    "ImageMultiClass": "groundtruth/image-classification",
    "TextMultiClass": "groundtruth/text-classification",
    "VideoMultiClass": "groundtruth/video-classification",
    "ImageMultiClassMultiLabel": "groundtruth/image-classification-multilabel",
    "TextMultiClassMultiLabel": "groundtruth/text-classification-multilabel",
    "BoundingBox": "groundtruth/object-detection",
    "SemanticSegmentation": "groundtruth/semantic-segmentation",
    "NamedEntityRecognition": "groundtruth/text-span",
    "VerificationBoundingBox": "groundtruth/label-verification",
}
CUSTOM_OUTPUT_TYPE = "groundTruth/custom"


def builtin_regions() -> frozenset[str]:
    return frozenset(GROUND_TRUTH_ACCOUNTS)


def builtin_task_type(task_type: str, media_type: str) -> str | None:
    """Ground Truth's built-in task type for a labelwire job, or None when there is none.

    Each kind lists its own (`TaskKind.groundtruth_tasks`); verification maps to
    image bounding-box verification: Ground Truth's only built-in verification
    of a label that a model (rather than a mask) gives.
    """
    return kind_named(task_type).groundtruth_tasks.get(media_type)


def builtin_lambda_arns(region: str, gt_type: str) -> tuple[str, str]:
    """The (PRE-, ACS-) function ARNs AWS runs for a built-in task type in a region."""
    account = GROUND_TRUTH_ACCOUNTS[region]
    base = f"arn:aws:lambda:{region}:{account}:function:"
    return base + "PRE-" + gt_type, base + "ACS-" + gt_type


def human_task_ui_arn(region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{HUMAN_TASK_UI_ACCOUNT}:human-task-ui/{name}"


def output_type(settings: GroundTruthSettings, job: JobView) -> str:
    gt_type = gt_task_type(settings, job)
    return OUTPUT_TYPES[gt_type] if gt_type else CUSTOM_OUTPUT_TYPE


def gt_task_type(settings: GroundTruthSettings, job: JobView) -> str | None:
    if settings.custom:
        return None
    return builtin_task_type(job.task_type, job.media_type)


def price_amount(mills: int) -> dict[str, int]:
    """$0.036 is 36 mills: 0 dollars, 3 cents, 6 tenths of a cent."""
    return {"Dollars": mills // 1000, "Cents": mills % 1000 // 10, "TenthFractionsOfACent": mills % 10}


def create_labeling_job_request(
    settings: GroundTruthSettings,
    job: JobView,
    *,
    name: str,
    manifest_uri: str,
    label_category_uri: str | None,
    template_uri: str | None,
    workers_per_object: int,
) -> dict[str, Any]:
    """The CreateLabelingJob parameters for one batch of this job's items."""
    gt_type = gt_task_type(settings, job)
    human: dict[str, Any] = {"WorkteamArn": settings.workteam_arn}
    if gt_type == "NamedEntityRecognition":
        human["UiConfig"] = {"HumanTaskUiArn": human_task_ui_arn(settings.region, "NamedEntityRecognition")}
    else:
        if template_uri is None:
            raise ValueError("every task type but named entity recognition needs a UI template")
        human["UiConfig"] = {"UiTemplateS3Uri": template_uri}
    if gt_type is None:
        pre_arn, post_arn = settings.pre_lambda_arn, settings.post_lambda_arn
    else:
        pre_arn, post_arn = builtin_lambda_arns(settings.region, gt_type)
    if pre_arn:
        human["PreHumanTaskLambdaArn"] = pre_arn
    human["TaskKeywords"] = list(settings.task_keywords)
    human["TaskTitle"] = settings.task_title
    human["TaskDescription"] = settings.task_description
    human["NumberOfHumanWorkersPerDataObject"] = workers_per_object
    human["TaskTimeLimitInSeconds"] = settings.task_time_limit_seconds
    if settings.task_lifetime_seconds is not None:
        human["TaskAvailabilityLifetimeInSeconds"] = settings.task_lifetime_seconds
    human["MaxConcurrentTaskCount"] = settings.max_concurrent_task_count
    if post_arn:
        human["AnnotationConsolidationConfig"] = {"AnnotationConsolidationLambdaArn": post_arn}
    if settings.price_mills is not None:
        human["PublicWorkforceTaskPrice"] = {"AmountInUsd": price_amount(settings.price_mills)}

    input_config: dict[str, Any] = {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest_uri}}}
    if settings.content_classifiers:
        input_config["DataAttributes"] = {"ContentClassifiers": list(settings.content_classifiers)}
    output_config: dict[str, Any] = {"S3OutputPath": settings.output_s3_prefix + "/"}
    if settings.kms_key_id:
        output_config["KmsKeyId"] = settings.kms_key_id
    request: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": settings.label_attribute_name,
        "InputConfig": input_config,
        "OutputConfig": output_config,
        "RoleArn": settings.role_arn,
        "HumanTaskConfig": human,
        "Tags": [{"Key": "labelwire-job", "Value": job.name[:256]}],
    }
    if label_category_uri is not None:
        request["LabelCategoryConfigS3Uri"] = label_category_uri
    return request
