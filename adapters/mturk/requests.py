"""The MTurk requests a job makes: CreateHIT, CreateQualificationType,
UpdateNotificationSettings, and the qualification requirements every HIT carries.

HITs are made with CreateHIT rather than CreateHITType + CreateHITWithHITType:
MTurk files HITs with identical properties under one HIT type by itself, and
the HITTypeId it answers is what notifications are attached to.

Kept as plain dicts built from the settings so tests can compare them whole
with botocore's Stubber `expected_params`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from labelwire.adapters.base import JobView
from labelwire.adapters.mturk.qualification import QualificationTest, type_name
from labelwire.adapters.mturk.settings import MTurkSettings

PERCENT_APPROVED = "000000000000000000L0"
NUMBER_APPROVED = "00000000000000000040"
LOCALE = "00000000000000000071"
MASTERS_PRODUCTION = "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH"
MASTERS_SANDBOX = "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6"
MAX_ANNOTATION = 255
NOTIFICATION_VERSION = "2014-08-15"
NOTIFIED_EVENTS = (
    "AssignmentSubmitted",
    "AssignmentReturned",
    "AssignmentAbandoned",
    "HITExpired",
    "HITReviewable",
)


def request_token(job_name: str, kind: str, key: str, round_number: int) -> str:
    """UniqueRequestToken for one HIT: the same job, item and round always give the same token,
    so a CreateHIT repeated after a crash (within MTurk's 24 hours) returns HitAlreadyExists
    instead of a second HIT. 64 characters at most."""
    digest = hashlib.sha256(f"{job_name}\x00{kind}\x00{key}\x00{round_number}".encode()).hexdigest()
    return f"lw-{digest[:60]}"


def extra_token(hit_id: str, total: int) -> str:
    """UniqueRequestToken for raising one HIT to `total` assignments (once, however often retried)."""
    return f"lw-x-{hashlib.sha256(f'{hit_id}:{total}'.encode()).hexdigest()[:56]}"


def annotation(kind: str, key: str) -> str:
    """RequesterAnnotation naming our item, so HITs can be matched to items from MTurk's side too."""
    text = f"labelwire {kind}:{key}"
    if len(text) <= MAX_ANNOTATION:
        return text
    return f"labelwire {kind}#sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def qualification_requirements(settings: MTurkSettings, test_type_id: str | None) -> list[dict[str, Any]]:
    """Every requirement must hold for a worker to accept (aws.md 4.4); at most 10."""
    out: list[dict[str, Any]] = []
    if settings.min_approval_rate is not None:
        out.append(
            {
                "QualificationTypeId": PERCENT_APPROVED,
                "Comparator": "GreaterThanOrEqualTo",
                "IntegerValues": [settings.min_approval_rate],
            }
        )
    if settings.min_approved_hits is not None:
        out.append(
            {
                "QualificationTypeId": NUMBER_APPROVED,
                "Comparator": "GreaterThanOrEqualTo",
                "IntegerValues": [settings.min_approved_hits],
            }
        )
    if settings.locales:
        locales = [locale.to_request() for locale in settings.locales]
        out.append(
            {
                "QualificationTypeId": LOCALE,
                "Comparator": "EqualTo" if len(locales) == 1 else "In",
                "LocaleValues": locales,
            }
        )
    if settings.masters:
        masters = MASTERS_SANDBOX if settings.sandbox else MASTERS_PRODUCTION
        out.append({"QualificationTypeId": masters, "Comparator": "Exists"})
    if test_type_id is not None:
        out.append(
            {
                "QualificationTypeId": test_type_id,
                "Comparator": "GreaterThanOrEqualTo",
                "IntegerValues": [settings.passing_score],
                "ActionsGuarded": "Accept",
            }
        )
    return out


def create_hit_request(
    settings: MTurkSettings,
    *,
    question: str,
    max_assignments: int,
    requester_annotation: str,
    token: str,
    test_type_id: str | None,
    reward: str | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "MaxAssignments": max_assignments,
        "AutoApprovalDelayInSeconds": settings.auto_approval_delay_seconds,
        "LifetimeInSeconds": settings.lifetime_seconds,
        "AssignmentDurationInSeconds": settings.assignment_duration_seconds,
        "Reward": reward or settings.reward,
        "Title": settings.title,
        "Keywords": settings.keywords,
        "Description": settings.description,
        "Question": question,
        "RequesterAnnotation": requester_annotation,
        "UniqueRequestToken": token,
    }
    requirements = qualification_requirements(settings, test_type_id)
    if requirements:
        request["QualificationRequirements"] = requirements
    return request


def create_qualification_type_request(
    job: JobView, settings: MTurkSettings, test: QualificationTest
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "Name": type_name(job.name),
        "Keywords": settings.keywords,
        "Description": (
            f"A {test.questions}-question test for the HITs '{settings.title}'; "
            f"{settings.passing_score}% right qualifies."
        )[:2000],
        "QualificationTypeStatus": "Active",
        "Test": test.test,
        "AnswerKey": test.answer_key,
        "TestDurationInSeconds": settings.test_duration_seconds,
    }
    if settings.test_retry_delay_seconds is not None:
        request["RetryDelayInSeconds"] = settings.test_retry_delay_seconds
    return request


def notification_request(hit_type_id: str, queue_url: str) -> dict[str, Any]:
    return {
        "HITTypeId": hit_type_id,
        "Notification": {
            "Destination": queue_url,
            "Transport": "SQS",
            "Version": NOTIFICATION_VERSION,
            "EventTypes": list(NOTIFIED_EVENTS),
        },
        "Active": True,
    }
