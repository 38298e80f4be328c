"""A job's Ground Truth settings, checked against the service's documented limits.

botocore checks only types and minimums before a request leaves; maxima,
patterns and enums would fail at AWS, after items were claimed and manifests
written. So every rule Ground Truth documents is checked here, at CreateJob,
and each violation names the setting and the limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from labelwire.adapters.base import JobView, SettingsError, kind_named
from labelwire.adapters.batches import batch_size
from labelwire.adapters.groundtruth.requests import builtin_regions, builtin_task_type

# The two `ui` settings: Ground Truth's own page for the task type, or the job's template.
BUILTIN_UI = "builtin"
CUSTOM_UI = "custom"

S = "workforce.settings."

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ATTRIBUTE_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$")
ROLE_ARN_PATTERN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
WORKTEAM_ARN_PATTERN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]*):(\d{12}):workteam/(.+)$")
LAMBDA_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z\-]*:lambda:([a-z0-9\-]*):\d{12}:function:[a-zA-Z0-9\-_\.]+(:[0-9]+)?$"
)
S3_URI_PATTERN = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/.*)?$")
KMS_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9:/_\-]*$")
KEYWORD_PATTERN = re.compile(r"^[A-Za-z0-9]+( [A-Za-z0-9]+)*$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")

PUBLIC_CROWD_ACCOUNT = "394669845002"
CONTENT_CLASSIFIERS = frozenset({"FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"})
PII_FREE = "FreeOfPersonallyIdentifiableInformation"

MIN_TASK_TIME = 30
MAX_TASK_TIME = 8 * 3600
MIN_LIFETIME = 60
MAX_LIFETIME_PUBLIC = 12 * 3600
DEFAULT_LIFETIME_PUBLIC = 6 * 3600
MAX_LIFETIME_PRIVATE = 30 * 24 * 3600
MAX_CONCURRENT_TASKS = 5000
DEFAULT_CONCURRENT_TASKS = 1000
MAX_WORKERS_PER_OBJECT = 9
MAX_JOB_NUMBER_DIGITS = 6
MAX_PREFIX_LENGTH = 63 - 1 - MAX_JOB_NUMBER_DIGITS

# Public-crowd price ladders from the PublicWorkforceTaskPrice documentation, in
# tenths of a cent. NER and verification are not listed there; they take the
# general ladder (the one for classification and custom tasks).
_LADDER_TAIL = frozenset(120 * k for k in range(1, 11))
GENERAL_LADDER = frozenset({12, 24, 36, 48, 60, 72}) | _LADDER_TAIL
BOUNDING_BOX_LADDER = frozenset({36, 48, 60, 72}) | _LADDER_TAIL
SEGMENTATION_LADDER = frozenset({840, 960, 1080, 1200})

KNOWN_KEYS = frozenset(
    {
        "region",
        "role_arn",
        "workteam_arn",
        "input_s3_prefix",
        "output_s3_prefix",
        "kms_key_id",
        "price_usd",
        "ui",
        "ui_template_s3_uri",
        "pre_lambda_arn",
        "post_lambda_arn",
        "max_concurrent_task_count",
        "batch_wait_seconds",
        "task_keywords",
        "task_title",
        "task_description",
        "content_classifiers",
        "s3_endpoint_url",
        "sagemaker_endpoint_url",
        "job_name_prefix",
        "poll_seconds",
        "max_poll_seconds",
    }
)


@dataclass(frozen=True)
class GroundTruthSettings:
    """Everything a labeling job of this labelwire job is created from."""

    region: str
    role_arn: str
    workteam_arn: str
    input_s3_prefix: str
    output_s3_prefix: str
    kms_key_id: str | None
    price_mills: int | None
    ui: str
    ui_template_s3_uri: str | None
    pre_lambda_arn: str | None
    post_lambda_arn: str | None
    max_concurrent_task_count: int
    batch_wait_seconds: float
    task_keywords: tuple[str, ...]
    task_title: str
    task_description: str
    content_classifiers: tuple[str, ...]
    s3_endpoint_url: str | None
    sagemaker_endpoint_url: str | None
    job_name_prefix: str
    label_attribute_name: str
    task_time_limit_seconds: int
    task_lifetime_seconds: int | None
    poll_seconds: float
    max_poll_seconds: float

    @property
    def public_crowd(self) -> bool:
        return is_public_crowd(self.workteam_arn)

    @property
    def custom(self) -> bool:
        return self.ui == CUSTOM_UI


def is_public_crowd(workteam_arn: str) -> bool:
    match = WORKTEAM_ARN_PATTERN.match(workteam_arn)
    return bool(match and match.group(2) == PUBLIC_CROWD_ACCOUNT and match.group(3) == "public-crowd/default")


def parse_settings(job: JobView) -> GroundTruthSettings:
    """Reads and checks `job.settings`; raises SettingsError on the first rule broken."""
    raw = job.settings
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise SettingsError(
            S + unknown[0], f"is not a Ground Truth setting (known: {', '.join(sorted(KNOWN_KEYS))})"
        )

    region = _required_str(raw, "region")
    if not REGION_PATTERN.match(region):
        raise SettingsError(S + "region", f"must be an AWS region name such as us-east-1, got {region!r}")
    role_arn = _required_str(raw, "role_arn")
    if not 20 <= len(role_arn) <= 2048 or not ROLE_ARN_PATTERN.match(role_arn):
        raise SettingsError(
            S + "role_arn",
            "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), 20 to 2048 characters",
        )
    workteam_arn = _required_str(raw, "workteam_arn")
    team = WORKTEAM_ARN_PATTERN.match(workteam_arn)
    if len(workteam_arn) > 256 or not team:
        raise SettingsError(
            S + "workteam_arn",
            "must be a work team ARN (arn:aws:sagemaker:<region>:<account>:workteam/...), at most 256 characters",
        )
    if team.group(1) != region:
        raise SettingsError(
            S + "workteam_arn",
            f"the work team must be in the job's region {region}, it is in {team.group(1)}",
        )
    public = is_public_crowd(workteam_arn)

    input_prefix = _required_s3_uri(raw, "input_s3_prefix")
    output_prefix = _required_s3_uri(raw, "output_s3_prefix")
    kms_key_id = _optional_str(raw, "kms_key_id")
    if kms_key_id is not None and (len(kms_key_id) > 2048 or not KMS_KEY_PATTERN.match(kms_key_id)):
        raise SettingsError(S + "kms_key_id", "must be a KMS key id, alias or ARN of at most 2048 characters")

    ui = _optional_str(raw, "ui") or default_ui(job)
    if ui not in (BUILTIN_UI, CUSTOM_UI):
        raise SettingsError(S + "ui", f"must be 'builtin' or 'custom', got {ui!r}")
    if job.kind.own_template and ui != CUSTOM_UI:
        raise SettingsError(S + "ui", "custom tasks have no built-in Ground Truth UI; use 'custom'")

    gt_type: str | None = None
    if ui == "builtin":
        gt_type = builtin_task_type(job.task_type, job.media_type)
        if gt_type is None:
            raise SettingsError(
                S + "ui",
                f"Ground Truth has no built-in task for {job.task_type} on {job.media_type} items; "
                "use ui 'custom' with your template and the labelwire Lambda functions",
            )
        if region not in builtin_regions():
            raise SettingsError(
                S + "region",
                f"Ground Truth's built-in tasks run in {', '.join(sorted(builtin_regions()))}; got {region}",
            )

    template_uri = _s3_uri(raw, "ui_template_s3_uri")
    pre_arn = _lambda_arn(raw, "pre_lambda_arn", region)
    post_arn = _lambda_arn(raw, "post_lambda_arn", region)
    if ui == CUSTOM_UI:
        if template_uri is None and not custom_template_text(job) and batch_size(job) <= 1:
            raise SettingsError(
                S + "ui_template_s3_uri",
                "a custom UI needs a template: set it, or task_config.custom.template",
            )
        if pre_arn is None:
            raise SettingsError(
                S + "pre_lambda_arn", "a custom UI needs the deployed labelwire pre-labeling Lambda"
            )
        if post_arn is None:
            raise SettingsError(
                S + "post_lambda_arn", "a custom UI needs the deployed labelwire post-labeling Lambda"
            )

    concurrent = _int(raw, "max_concurrent_task_count", DEFAULT_CONCURRENT_TASKS, 1, MAX_CONCURRENT_TASKS)
    batch_wait = _number(raw, "batch_wait_seconds", 300.0, 0.0, 86400.0)
    poll_seconds = _number(raw, "poll_seconds", 30.0, 1.0, 3600.0)
    max_poll_seconds = _number(raw, "max_poll_seconds", 600.0, poll_seconds, 86400.0)
    keywords = _keywords(raw, job)
    classifiers = _classifiers(raw, public)
    price = _price(raw, job, public, gt_type)

    title = _optional_str(raw, "task_title") or job.display_name or job.name
    if not 1 <= len(title) <= 128:
        raise SettingsError(
            S + "task_title",
            f"Ground Truth task titles are 1 to 128 characters, got {len(title)}; set a shorter one",
        )
    short = str(job.instructions.get("short_instructions") or "")
    description = _optional_str(raw, "task_description") or short or title
    if not 1 <= len(description) <= 255:
        raise SettingsError(
            S + "task_description",
            f"Ground Truth task descriptions are 1 to 255 characters, got {len(description)}; set a shorter one",
        )

    # At CreateJob the job has no id yet, and the default `lw-<id>` fits any id.
    prefix = _optional_str(raw, "job_name_prefix") or default_job_name_prefix(job.name or "jobs/0")
    if len(prefix) > MAX_PREFIX_LENGTH or not NAME_PATTERN.match(prefix):
        raise SettingsError(
            S + "job_name_prefix",
            f"labeling jobs are named <prefix>-<n> (1 to 63 of [a-zA-Z0-9-], no leading, trailing or double "
            f"hyphen needed); the prefix must match that pattern in at most {MAX_PREFIX_LENGTH} characters, "
            f"got {prefix!r}",
        )
    attribute = label_attribute(job, gt_type)

    workers = job.judgments_per_item
    if not 1 <= workers <= MAX_WORKERS_PER_OBJECT or job.max_judgments_per_item > MAX_WORKERS_PER_OBJECT:
        raise SettingsError(
            "judgment_policy.judgments_per_item",
            f"Ground Truth asks 1 to {MAX_WORKERS_PER_OBJECT} workers per object, "
            f"got {workers} (max {job.max_judgments_per_item})",
        )
    task_time = job.task_time_limit_seconds
    if not MIN_TASK_TIME <= task_time <= MAX_TASK_TIME:
        raise SettingsError(
            "task_time_limit",
            f"Ground Truth task time limits are {MIN_TASK_TIME} s to 8 h, got {task_time} s",
        )
    lifetime = _lifetime(job.task_lifetime_seconds, public)

    return GroundTruthSettings(
        region=region,
        role_arn=role_arn,
        workteam_arn=workteam_arn,
        input_s3_prefix=input_prefix.rstrip("/"),
        output_s3_prefix=output_prefix.rstrip("/"),
        kms_key_id=kms_key_id,
        price_mills=price,
        ui=ui,
        ui_template_s3_uri=template_uri,
        pre_lambda_arn=pre_arn,
        post_lambda_arn=post_arn,
        max_concurrent_task_count=concurrent,
        batch_wait_seconds=batch_wait,
        task_keywords=keywords,
        task_title=title,
        task_description=description,
        content_classifiers=classifiers,
        s3_endpoint_url=_optional_str(raw, "s3_endpoint_url"),
        sagemaker_endpoint_url=_optional_str(raw, "sagemaker_endpoint_url"),
        job_name_prefix=prefix,
        label_attribute_name=attribute,
        task_time_limit_seconds=task_time,
        task_lifetime_seconds=lifetime,
        poll_seconds=poll_seconds,
        max_poll_seconds=max_poll_seconds,
    )


def default_job_name_prefix(job_name: str) -> str:
    """`jobs/7f3a_x` becomes `lw-7f3a-x`: Ground Truth names allow no underscores or slashes."""
    job_id = job_name.rsplit("/", 1)[-1]
    return "lw-" + re.sub(r"[^a-zA-Z0-9]+", "-", job_id).strip("-")


def label_attribute(job: JobView, gt_type: str | None) -> str:
    """The job's label attribute, with the `-ref` suffix Ground Truth demands of mask labels."""
    name = job.label_attribute_name or "label"
    wants_ref = gt_type == "SemanticSegmentation"
    if wants_ref and not name.endswith("-ref"):
        name += "-ref"
    if not wants_ref and name.endswith("-ref"):
        raise SettingsError(
            "label_attribute_name",
            "Ground Truth reserves names ending in -ref for mask labels (semantic segmentation), got "
            + repr(name),
        )
    if name.endswith("-metadata") or not ATTRIBUTE_PATTERN.match(name):
        raise SettingsError(
            "label_attribute_name",
            f"must be 1 to 127 of [a-zA-Z0-9-] without leading, trailing or double hyphens and not end in "
            f"-metadata, got {name!r}",
        )
    return name


def custom_template_text(job: JobView) -> str | None:
    """A custom task's own template (either nesting): its Ground Truth
    template (`groundtruth_template`, the same Liquid the pool renders), else
    `template`."""
    config = job.task_config
    inner = config.get("custom", config)
    for key in ("groundtruth_template", "template"):
        template = inner.get(key) if isinstance(inner, Mapping) else None
        if isinstance(template, str) and template.strip():
            return template
    return None


def _lifetime(seconds: int, public: bool) -> int | None:
    if seconds == 0:
        return DEFAULT_LIFETIME_PUBLIC if public else None
    limit = MAX_LIFETIME_PUBLIC if public else MAX_LIFETIME_PRIVATE
    if not MIN_LIFETIME <= seconds <= limit:
        crowd = "the public crowd (Mechanical Turk)" if public else "private and vendor work teams"
        raise SettingsError(
            "task_lifetime", f"for {crowd} Ground Truth allows {MIN_LIFETIME} s to {limit} s, got {seconds} s"
        )
    return seconds


def _price(raw: Mapping[str, Any], job: JobView, public: bool, gt_type: str | None) -> int | None:
    field = S + "price_usd"
    value = raw.get("price_usd")
    if value is None and job.price_per_judgment_micros > 0:
        field = "price_per_judgment_micros"
        value = Decimal(job.price_per_judgment_micros) / Decimal(1_000_000)
    if not public:
        if raw.get("price_usd") is not None:
            raise SettingsError(
                field, "is paid to public-crowd workers only; private and vendor teams take no price"
            )
        return None
    if value is None or isinstance(value, bool):
        raise SettingsError(S + "price_usd", 'the public crowd needs a price per task, e.g. "0.036"')
    try:
        mills = Decimal(str(value)) * 1000
    except InvalidOperation:
        raise SettingsError(field, f'must be a price in US dollars such as "0.036", got {value!r}') from None
    ladder = ladder_for(gt_type)
    if mills != mills.to_integral_value() or int(mills) not in ladder:
        points = ", ".join(f"{m / 1000:.3f}" for m in sorted(ladder))
        raise SettingsError(
            field, f"must be one of Ground Truth's price points for this task type ({points}), got {value}"
        )
    return int(mills)


def ladder_for(gt_type: str | None) -> frozenset[int]:
    if gt_type == "BoundingBox":
        return BOUNDING_BOX_LADDER
    if gt_type == "SemanticSegmentation":
        return SEGMENTATION_LADDER
    return GENERAL_LADDER


def _keywords(raw: Mapping[str, Any], job: JobView) -> tuple[str, ...]:
    value = raw.get("task_keywords")
    if value is None:
        return default_keywords(job.media_type, job.task_type)
    if not isinstance(value, Sequence) or isinstance(value, str) or not 1 <= len(value) <= 5:
        raise SettingsError(S + "task_keywords", "must be a list of 1 to 5 keywords")
    for i, word in enumerate(value):
        if not isinstance(word, str) or not 1 <= len(word) <= 30 or not KEYWORD_PATTERN.match(word):
            raise SettingsError(
                f"{S}task_keywords[{i}]",
                "must be 1 to 30 characters of letters, digits and single spaces, got " + repr(word),
            )
    return tuple(value)


def default_keywords(media_type: str, task_type: str) -> tuple[str, ...]:
    return (media_type, *kind_named(task_type).keywords)


def default_ui(job: JobView) -> str:
    """A job's own template where its kind has one (custom), else Ground Truth's built-in page."""
    return CUSTOM_UI if job.kind.own_template else BUILTIN_UI


def _classifiers(raw: Mapping[str, Any], public: bool) -> tuple[str, ...]:
    value = raw.get("content_classifiers", [])
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) > 256:
        raise SettingsError(S + "content_classifiers", "must be a list of at most 256 content classifiers")
    for i, name in enumerate(value):
        if name not in CONTENT_CLASSIFIERS:
            raise SettingsError(
                f"{S}content_classifiers[{i}]",
                f"must be one of {', '.join(sorted(CONTENT_CLASSIFIERS))}, got {name!r}",
            )
    if public and PII_FREE not in value:
        raise SettingsError(
            S + "content_classifiers",
            f"the public crowd may see no personal data: Ground Truth fails the job unless {PII_FREE} is declared",
        )
    return tuple(dict.fromkeys(value))


def _required_str(raw: Mapping[str, Any], key: str) -> str:
    value = _optional_str(raw, key)
    if value is None:
        raise SettingsError(S + key, "is required")
    return value


def _optional_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SettingsError(S + key, f"must be a string, got {type(value).__name__}")
    return value


def _s3_uri(raw: Mapping[str, Any], key: str) -> str | None:
    value = _optional_str(raw, key)
    if value is not None and (len(value) > 1024 or not S3_URI_PATTERN.match(value)):
        raise SettingsError(
            S + key, f"must be an s3://bucket/prefix URI of at most 1024 characters, got {value!r}"
        )
    return value


def _required_s3_uri(raw: Mapping[str, Any], key: str) -> str:
    value = _s3_uri(raw, key)
    if value is None:
        raise SettingsError(S + key, "is required")
    return value


def _lambda_arn(raw: Mapping[str, Any], key: str, region: str) -> str | None:
    value = _optional_str(raw, key)
    if value is None:
        return None
    match = LAMBDA_ARN_PATTERN.match(value)
    if len(value) > 2048 or not match:
        raise SettingsError(
            S + key, "must be a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)"
        )
    if match.group(1) != region:
        raise SettingsError(
            S + key, f"the function must be in the job's region {region}, it is in {match.group(1)}"
        )
    return value


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(S + key, f"must be an integer from {low} to {high}, got {value!r}")
    return value


def _number(raw: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = raw.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(S + key, f"must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)
