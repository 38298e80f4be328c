"""A Ground Truth `CreateLabelingJob` request as a pool job reads it: the
fields it uses, checked with Ground Truth's own limits so a request that
Ground Truth would refuse is refused here too, and the hooks it names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labelwire.server.domain import gt_hooks
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.gt_hooks import Hook, HookPolicy

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ATTRIBUTE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$")
PASS_THROUGH = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:PRE-PassThrough$")


@dataclass(frozen=True)
class Definition:
    """The parts of a `CreateLabelingJob` request a pool job uses."""

    name: str
    attribute: str
    manifest_uri: str
    output_path: str
    role_arn: str
    template_uri: str
    pre_hook: str
    post_hook: str
    title: str
    description: str
    workers_per_object: int
    time_limit_seconds: int
    label_categories_uri: str

    @property
    def arn(self) -> str:
        account = self.role_arn.split(":")[4] if self.role_arn.count(":") >= 5 else ""
        return f"arn:labelwire:sagemaker:pool:{account}:labeling-job/{self.name.lower()}"


def parse_definition(request: Mapping[str, Any]) -> Definition:
    """Checks the fields Ground Truth requires, with its limits (aws.md §1.2,
    §1.3); raises InvalidArgument naming the field."""

    def get(path: str, required: bool = True) -> Any:
        value: Any = request
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if required and value in (None, ""):
            raise InvalidArgument(f"{path} is required")
        return value

    name = str(get("LabelingJobName"))
    if not NAME.match(name):
        raise InvalidArgument(
            f"LabelingJobName must be 1 to 63 letters, digits and hyphens, starting and ending with a letter"
            f" or digit, got {name[:100]!r}"
        )
    attribute = str(get("LabelAttributeName"))
    if not ATTRIBUTE.match(attribute) or attribute.endswith("-metadata"):
        raise InvalidArgument(
            "LabelAttributeName must be 1 to 127 letters, digits and hyphens, not ending in -metadata,"
            f" got {attribute[:100]!r}"
        )
    workers = get("HumanTaskConfig.NumberOfHumanWorkersPerDataObject")
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= 9:
        raise InvalidArgument(
            f"HumanTaskConfig.NumberOfHumanWorkersPerDataObject must be between 1 and 9, got {workers!r}"
        )
    limit = get("HumanTaskConfig.TaskTimeLimitInSeconds")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 30 <= limit <= 28_800:
        raise InvalidArgument(
            f"HumanTaskConfig.TaskTimeLimitInSeconds must be between 30 and 28800, got {limit!r}"
        )
    pre = str(get("HumanTaskConfig.PreHumanTaskLambdaArn", required=False) or "")
    return Definition(
        name=name,
        attribute=attribute,
        manifest_uri=str(get("InputConfig.DataSource.S3DataSource.ManifestS3Uri")),
        output_path=str(get("OutputConfig.S3OutputPath")),
        role_arn=str(get("RoleArn", required=False) or ""),
        template_uri=str(get("HumanTaskConfig.UiConfig.UiTemplateS3Uri", required=False) or ""),
        pre_hook="" if PASS_THROUGH.match(pre) else pre,
        post_hook=str(
            get("HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn", False) or ""
        ),
        title=str(get("HumanTaskConfig.TaskTitle"))[:128],
        description=str(get("HumanTaskConfig.TaskDescription"))[:255],
        workers_per_object=workers,
        time_limit_seconds=limit,
        label_categories_uri=str(get("LabelCategoryConfigS3Uri", required=False) or ""),
    )


def hooks_of(
    definition: Definition, policy: HookPolicy, pre: str = "", post: str = ""
) -> tuple[Hook | None, Hook | None]:
    """The two hooks: given on the command line, else named in the request
    (a Lambda ARN cannot be called from here and must be replaced by one)."""
    found: list[Hook | None] = []
    for given, named, label in (
        (pre, definition.pre_hook, "HumanTaskConfig.PreHumanTaskLambdaArn"),
        (
            post,
            definition.post_hook,
            "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn",
        ),
    ):
        text = given or named
        if text.startswith("arn:"):
            raise InvalidArgument(
                f"{label} is the Lambda {text[:200]!r}; labelwire calls hooks itself: give its code as"
                " python:module:function or its function URL (--pre-hook / --post-hook)"
            )
        found.append(gt_hooks.parse_hook(text, label, policy))
    return found[0], found[1]
