"""A job's Mechanical Turk settings, checked against the documented limits.

botocore's Stubber (and botocore itself) checks only types and minimums; every
maximum, pattern and enum of the MTurk API would fail at AWS, after items were
claimed. So each rule is checked here, at CreateJob, and each violation names
the setting and the limit (shared/contracts/aws.md sections 4.2, 4.4, 4.5, 4.8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from labelwire.adapters.base import KINDS, JobView, SettingsError

S = "workforce.settings."

PRODUCTION_URL = "https://mturk-requester.us-east-1.amazonaws.com"
SANDBOX_URL = "https://mturk-requester-sandbox.us-east-1.amazonaws.com"
ENDPOINTS = {"production": PRODUCTION_URL, "sandbox": SANDBOX_URL}
REGION = "us-east-1"

REWARD_PATTERN = re.compile(r"^[0-9]+(\.)?[0-9]{0,2}$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
URL_PATTERN = re.compile(r"^https?://[^\s]+$")
SQS_URL_PATTERN = re.compile(r"^https?://[^\s]+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")

MIN_SECONDS = 30
MAX_SECONDS = 31_536_000  # one year: AssignmentDurationInSeconds and LifetimeInSeconds
MAX_AUTO_APPROVAL = 2_592_000  # 30 days
DEFAULT_AUTO_APPROVAL = 3 * 24 * 3600
DEFAULT_LIFETIME = 7 * 24 * 3600
DEFAULT_ASSIGNMENT_DURATION = 3600
MAX_TITLE = 128
MAX_DESCRIPTION = 2000
MAX_KEYWORDS = 1000
MAX_LOCALES = 30  # In / NotIn take at most 30 LocaleValues
SMALL_HIT_MAX = 9  # a HIT made with < 10 assignments can never reach 10 (aws.md 4.8)
LARGE_HIT_MIN = 10
MAX_ASSIGNMENTS_LARGE = 1_000_000_000
MAX_TEST_QUESTIONS = 50
MAX_TEST_DURATION = 31_536_000

APPROVE_ALL = "approve_all"
REJECT_WRONG_GOLD = "reject_wrong_gold"
REJECT_BELOW_AGREEMENT = "reject_below_agreement"
APPROVAL_POLICIES = (APPROVE_ALL, REJECT_WRONG_GOLD, REJECT_BELOW_AGREEMENT)

# Task types whose answers are nothing but a choice among the job's classes: only
# these can become a QuestionForm SelectionAnswer in a qualification test.
TESTABLE_TASK_TYPES = frozenset(name for name, kind in KINDS.items() if kind.class_field)

KNOWN_KEYS = frozenset(
    {
        "endpoint",
        "endpoint_url",
        "region",
        "reward",
        "assignment_duration_seconds",
        "lifetime_seconds",
        "auto_approval_delay_seconds",
        "keywords",
        "title",
        "description",
        "locales",
        "min_approval_rate",
        "min_approved_hits",
        "masters",
        "qualification_test",
        "test_size",
        "passing_score",
        "test_duration_seconds",
        "test_retry_delay_seconds",
        "max_assignments_per_hit",
        "approval_policy",
        "agreement_threshold",
        "gold_hit_every",
        "max_open_hits",
        "max_hit_rounds",
        "poll_seconds",
        "notification_queue_url",
        "sqs_endpoint_url",
        "sweep_seconds",
    }
)


@dataclass(frozen=True)
class Locale:
    country: str
    subdivision: str | None = None

    def to_request(self) -> dict[str, str]:
        value = {"Country": self.country}
        if self.subdivision:
            value["Subdivision"] = self.subdivision
        return value


@dataclass(frozen=True)
class MTurkSettings:
    """Everything the HITs, the qualification type and the review of one job are made from."""

    endpoint: str
    endpoint_url: str
    region: str
    reward: str
    assignment_duration_seconds: int
    lifetime_seconds: int
    auto_approval_delay_seconds: int
    keywords: str
    title: str
    description: str
    locales: tuple[Locale, ...]
    min_approval_rate: int | None
    min_approved_hits: int | None
    masters: bool
    qualification_test: bool
    test_size: int
    passing_score: int
    test_duration_seconds: int
    test_retry_delay_seconds: int | None
    max_assignments_per_hit: int
    approval_policy: str
    agreement_threshold: float
    gold_hit_every: int
    max_open_hits: int
    max_hit_rounds: int
    poll_seconds: float
    notification_queue_url: str | None
    sqs_endpoint_url: str | None
    sweep_seconds: float

    @property
    def sandbox(self) -> bool:
        return self.endpoint == "sandbox"

    @property
    def reward_cents(self) -> int:
        return int(Decimal(self.reward) * 100)

    @property
    def large_hits(self) -> bool:
        """Whether HITs are made in the >= 10 assignments regime (and pay its extra 20%)."""
        return self.max_assignments_per_hit >= LARGE_HIT_MIN


def parse_settings(job: JobView) -> MTurkSettings:
    """Reads and checks `job.settings`; raises SettingsError on the first rule broken."""
    raw = job.settings
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise SettingsError(
            S + unknown[0], f"is not a Mechanical Turk setting (known: {', '.join(sorted(KNOWN_KEYS))})"
        )

    endpoint = _optional_str(raw, "endpoint") or "sandbox"
    if endpoint not in ENDPOINTS:
        raise SettingsError(S + "endpoint", f"must be 'production' or 'sandbox', got {endpoint!r}")
    endpoint_url = _optional_str(raw, "endpoint_url") or ENDPOINTS[endpoint]
    if not URL_PATTERN.match(endpoint_url):
        raise SettingsError(S + "endpoint_url", f"must be an http(s) URL, got {endpoint_url!r}")
    region = _optional_str(raw, "region") or REGION
    if region != REGION:
        raise SettingsError(S + "region", f"Mechanical Turk runs in {REGION} only, got {region!r}")

    reward = _reward(raw, job)
    duration = _int(raw, "assignment_duration_seconds", _default_duration(job), MIN_SECONDS, MAX_SECONDS)
    lifetime = _int(
        raw, "lifetime_seconds", job.task_lifetime_seconds or DEFAULT_LIFETIME, MIN_SECONDS, MAX_SECONDS
    )
    auto_approval = _int(raw, "auto_approval_delay_seconds", DEFAULT_AUTO_APPROVAL, 0, MAX_AUTO_APPROVAL)

    title = _optional_str(raw, "title") or job.display_name or job.name
    if not 1 <= len(title) <= MAX_TITLE:
        raise SettingsError(S + "title", f"HIT titles are 1 to {MAX_TITLE} characters, got {len(title)}")
    short = str(job.instructions.get("short_instructions") or "")
    description = _optional_str(raw, "description") or short or title
    if not 1 <= len(description) <= MAX_DESCRIPTION:
        raise SettingsError(
            S + "description",
            f"HIT descriptions are 1 to {MAX_DESCRIPTION} characters, got {len(description)}",
        )
    keywords = _keywords(raw, job)

    locales = _locales(raw)
    min_rate = _optional_int(raw, "min_approval_rate", 0, 100)
    min_hits = _optional_int(raw, "min_approved_hits", 0, 2**31 - 1)
    masters = _bool(raw, "masters", False)

    gate = _bool(raw, "qualification_test", False)
    if gate and job.task_type not in TESTABLE_TASK_TYPES:
        raise SettingsError(
            S + "qualification_test",
            f"a qualification test asks multiple-choice questions, so it needs a task type among "
            f"{', '.join(sorted(TESTABLE_TASK_TYPES))}, got {job.task_type}",
        )
    test_size = _int(raw, "test_size", 5, 1, MAX_TEST_QUESTIONS)
    passing = _int(raw, "passing_score", 80, 1, 100)
    test_duration = _int(raw, "test_duration_seconds", 1200, MIN_SECONDS, MAX_TEST_DURATION)
    retry_delay = _optional_int(raw, "test_retry_delay_seconds", 0, MAX_SECONDS)

    per_hit = _max_assignments(raw, job)
    policy = _optional_str(raw, "approval_policy") or APPROVE_ALL
    if policy not in APPROVAL_POLICIES:
        raise SettingsError(
            S + "approval_policy", f"must be one of {', '.join(APPROVAL_POLICIES)}, got {policy!r}"
        )
    threshold = _number(raw, "agreement_threshold", 0.6, 0.5, 1.0)
    gold_every = _int(raw, "gold_hit_every", 0, 0, 1000)
    if policy == REJECT_WRONG_GOLD and gold_every == 0:
        raise SettingsError(
            S + "gold_hit_every",
            "reject_wrong_gold grades workers on hidden gold HITs: set gold_hit_every (1 to 1000 item HITs "
            "per gold HIT)",
        )
    if policy == REJECT_BELOW_AGREEMENT and job.judgments_per_item < 3:
        raise SettingsError(
            "judgment_policy.judgments_per_item",
            f"reject_below_agreement needs at least 3 judgments per item to find a majority, "
            f"got {job.judgments_per_item}",
        )

    queue_url = _optional_str(raw, "notification_queue_url")
    if queue_url is not None and not SQS_URL_PATTERN.match(queue_url):
        raise SettingsError(
            S + "notification_queue_url",
            f"must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>), got {queue_url!r}",
        )
    sqs_endpoint = _optional_str(raw, "sqs_endpoint_url")
    if sqs_endpoint is not None and not URL_PATTERN.match(sqs_endpoint):
        raise SettingsError(S + "sqs_endpoint_url", f"must be an http(s) URL, got {sqs_endpoint!r}")

    return MTurkSettings(
        endpoint=endpoint,
        endpoint_url=endpoint_url,
        region=region,
        reward=reward,
        assignment_duration_seconds=duration,
        lifetime_seconds=lifetime,
        auto_approval_delay_seconds=auto_approval,
        keywords=keywords,
        title=title,
        description=description,
        locales=locales,
        min_approval_rate=min_rate,
        min_approved_hits=min_hits,
        masters=masters,
        qualification_test=gate,
        test_size=test_size,
        passing_score=passing,
        test_duration_seconds=test_duration,
        test_retry_delay_seconds=retry_delay,
        max_assignments_per_hit=per_hit,
        approval_policy=policy,
        agreement_threshold=threshold,
        gold_hit_every=gold_every,
        max_open_hits=_int(raw, "max_open_hits", 500, 1, 100_000),
        max_hit_rounds=_int(raw, "max_hit_rounds", 3, 1, 100),
        poll_seconds=_number(raw, "poll_seconds", 60.0, 1.0, 3600.0),
        notification_queue_url=queue_url,
        sqs_endpoint_url=sqs_endpoint,
        sweep_seconds=_number(raw, "sweep_seconds", 900.0, 1.0, 86400.0),
    )


def _default_duration(job: JobView) -> int:
    return job.task_time_limit_seconds or DEFAULT_ASSIGNMENT_DURATION


def _reward(raw: Mapping[str, Any], job: JobView) -> str:
    """The reward per assignment as MTurk wants it: a string of dollars with at most two decimals."""
    value = raw.get("reward")
    field = S + "reward"
    if value is None:
        micros = job.price_per_judgment_micros
        if micros <= 0:
            raise SettingsError(field, 'is required: US dollars per assignment as a string, e.g. "0.05"')
        if micros % 10_000:
            raise SettingsError(
                "price_per_judgment_micros",
                f"Mechanical Turk pays whole cents; got {micros} micros (not a multiple of 10000)",
            )
        return f"{micros // 1_000_000}.{(micros % 1_000_000) // 10_000:02d}"
    if not isinstance(value, str) or not REWARD_PATTERN.match(value):
        raise SettingsError(
            field,
            f'must be a string of US dollars matching ^[0-9]+(\\.)?[0-9]{{0,2}}$, e.g. "0.05", got {value!r}',
        )
    if Decimal(value) <= 0:
        raise SettingsError(field, f"must be more than 0.00, got {value!r}")
    return value


def _max_assignments(raw: Mapping[str, Any], job: JobView) -> int:
    """Assignments per HIT. A HIT made with fewer than 10 can never be raised to 10 or more, and
    10 or more costs an extra 20%: so the >= 10 regime is taken only when the job asks for 10
    judgments up front."""
    field = S + "max_assignments_per_hit"
    if job.judgments_per_item >= LARGE_HIT_MIN:
        default = max(job.judgments_per_item, job.max_judgments_per_item)
        value = _int(raw, "max_assignments_per_hit", default, job.judgments_per_item, MAX_ASSIGNMENTS_LARGE)
        return value
    value = _int(raw, "max_assignments_per_hit", SMALL_HIT_MAX, 1, SMALL_HIT_MAX)
    if value < job.judgments_per_item:
        raise SettingsError(
            field, f"must be at least judgments_per_item ({job.judgments_per_item}), got {value}"
        )
    return value


def _keywords(raw: Mapping[str, Any], job: JobView) -> str:
    value = raw.get("keywords")
    if value is None:
        words = [job.media_type, job.task_type.replace("_", " "), "labeling"]
        return ", ".join(words)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not all(isinstance(w, str) and w.strip() and "," not in w for w in value):
            raise SettingsError(S + "keywords", "must be a list of non-empty keywords without commas")
        value = ", ".join(w.strip() for w in value)
    if not isinstance(value, str) or len(value) > MAX_KEYWORDS:
        raise SettingsError(
            S + "keywords", f"must be comma-separated keywords of at most {MAX_KEYWORDS} characters"
        )
    return value


def _locales(raw: Mapping[str, Any]) -> tuple[Locale, ...]:
    value = raw.get("locales", [])
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) > MAX_LOCALES:
        raise SettingsError(
            S + "locales", f"must be a list of at most {MAX_LOCALES} locales such as 'US' or 'US-NY'"
        )
    out: list[Locale] = []
    for i, entry in enumerate(value):
        country, _, subdivision = str(entry).partition("-") if isinstance(entry, str) else ("", "", "")
        if not COUNTRY_PATTERN.match(country) or (subdivision and not COUNTRY_PATTERN.match(subdivision)):
            raise SettingsError(
                f"{S}locales[{i}]",
                f"must be an ISO 3166 country code of 2 capital letters, optionally with a 2-letter "
                f"subdivision ('US', 'US-NY'), got {entry!r}",
            )
        out.append(Locale(country, subdivision or None))
    return tuple(out)


def _optional_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SettingsError(S + key, f"must be a string, got {type(value).__name__}")
    return value


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise SettingsError(S + key, f"must be true or false, got {value!r}")
    return value


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(S + key, f"must be an integer from {low} to {high}, got {value!r}")
    return value


def _optional_int(raw: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    if raw.get(key) is None:
        return None
    return _int(raw, key, 0, low, high)


def _number(raw: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = raw.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(S + key, f"must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)
