"""Every documented MTurk limit is refused at CreateJob, naming the setting and the limit."""

from __future__ import annotations

from typing import Any

import pytest

from labelwire.adapters.base import SettingsError
from labelwire.adapters.mturk import MTurkWorkforce, parse_settings
from labelwire.adapters.mturk.settings import PRODUCTION_URL, SANDBOX_URL

from .harness import make_job


@pytest.mark.parametrize(
    ("settings", "field", "limit"),
    [
        ({"reward": "$0.05"}, "workforce.settings.reward", "^[0-9]+"),
        ({"reward": 0.05}, "workforce.settings.reward", "string"),
        ({"reward": "0.001"}, "workforce.settings.reward", "[0-9]{0,2}"),
        ({"reward": "0.00"}, "workforce.settings.reward", "more than 0.00"),
        ({"endpoint": "staging"}, "workforce.settings.endpoint", "'production' or 'sandbox'"),
        ({"region": "eu-west-1"}, "workforce.settings.region", "us-east-1 only"),
        (
            {"assignment_duration_seconds": 29},
            "workforce.settings.assignment_duration_seconds",
            "30 to 31536000",
        ),
        (
            {"assignment_duration_seconds": 31_536_001},
            "workforce.settings.assignment_duration_seconds",
            "31536000",
        ),
        ({"lifetime_seconds": 10}, "workforce.settings.lifetime_seconds", "30 to 31536000"),
        (
            {"auto_approval_delay_seconds": 2_592_001},
            "workforce.settings.auto_approval_delay_seconds",
            "0 to 2592000",
        ),
        ({"title": "t" * 129}, "workforce.settings.title", "1 to 128"),
        ({"description": "d" * 2001}, "workforce.settings.description", "1 to 2000"),
        ({"keywords": "k" * 1001}, "workforce.settings.keywords", "1000"),
        ({"keywords": ["a,b"]}, "workforce.settings.keywords", "without commas"),
        ({"locales": ["USA"]}, "workforce.settings.locales[0]", "2 capital letters"),
        ({"locales": ["us"]}, "workforce.settings.locales[0]", "2 capital letters"),
        ({"locales": ["US"] * 31}, "workforce.settings.locales", "at most 30"),
        ({"min_approval_rate": 101}, "workforce.settings.min_approval_rate", "0 to 100"),
        ({"min_approved_hits": -1}, "workforce.settings.min_approved_hits", "from 0"),
        ({"masters": "yes"}, "workforce.settings.masters", "true or false"),
        ({"qualification_test": True, "test_size": 51}, "workforce.settings.test_size", "1 to 50"),
        ({"qualification_test": True, "passing_score": 0}, "workforce.settings.passing_score", "1 to 100"),
        ({"max_assignments_per_hit": 10}, "workforce.settings.max_assignments_per_hit", "1 to 9"),
        (
            {"max_assignments_per_hit": 2},
            "workforce.settings.max_assignments_per_hit",
            "at least judgments_per_item",
        ),
        ({"approval_policy": "reject_all"}, "workforce.settings.approval_policy", "approve_all"),
        ({"approval_policy": "reject_wrong_gold"}, "workforce.settings.gold_hit_every", "gold_hit_every"),
        ({"agreement_threshold": 0.4}, "workforce.settings.agreement_threshold", "0.5 to 1"),
        (
            {"notification_queue_url": "arn:aws:sqs:us-east-1:1:q"},
            "workforce.settings.notification_queue_url",
            "queue URL",
        ),
        ({"bogus": 1}, "workforce.settings.bogus", "not a Mechanical Turk setting"),
    ],
)
def test_settings_beyond_a_documented_limit_are_refused_with_field_and_limit(
    settings: dict[str, Any], field: str, limit: str
) -> None:
    with pytest.raises(SettingsError) as err:
        MTurkWorkforce().validate(make_job(settings=settings))
    assert err.value.field == field
    assert limit in err.value.message


def test_defaults_fill_a_sandbox_job_from_the_job_itself() -> None:
    s = parse_settings(make_job())
    assert (s.endpoint_url, s.region, s.reward) == (SANDBOX_URL, "us-east-1", "0.05")
    assert (s.assignment_duration_seconds, s.lifetime_seconds) == (600, 86400)
    assert s.title == "Animals" and s.description == "Pick the animal"
    assert s.max_assignments_per_hit == 9 and not s.large_hits


def test_production_endpoint_and_test_override_url() -> None:
    assert parse_settings(make_job(settings={"endpoint": "production"})).endpoint_url == PRODUCTION_URL
    local = parse_settings(make_job(settings={"endpoint_url": "http://127.0.0.1:9"}))
    assert local.endpoint_url == "http://127.0.0.1:9"


def test_reward_comes_from_the_price_per_judgment_in_whole_cents() -> None:
    job = make_job(settings={"reward": None})
    priced = job.__class__(**{**job.__dict__, "price_per_judgment_micros": 120_000})
    assert parse_settings(priced).reward == "0.12"
    odd = job.__class__(**{**job.__dict__, "price_per_judgment_micros": 123_456})
    with pytest.raises(SettingsError) as err:
        parse_settings(odd)
    assert err.value.field == "price_per_judgment_micros" and "whole cents" in err.value.message


def test_ten_judgments_up_front_choose_the_ten_or_more_regime() -> None:
    s = parse_settings(make_job(judgments=10, max_judgments=12))
    assert s.max_assignments_per_hit == 12 and s.large_hits


def test_qualification_test_is_refused_for_answers_that_are_not_a_choice() -> None:
    with pytest.raises(SettingsError) as err:
        MTurkWorkforce().validate(make_job("spans", settings={"qualification_test": True}))
    assert err.value.field == "workforce.settings.qualification_test"


def test_agreement_policy_needs_three_judgments() -> None:
    with pytest.raises(SettingsError) as err:
        MTurkWorkforce().validate(
            make_job(judgments=2, settings={"approval_policy": "reject_below_agreement"})
        )
    assert err.value.field == "judgment_policy.judgments_per_item" and "at least 3" in err.value.message


def test_segmentation_is_not_offered_on_mturk() -> None:
    with pytest.raises(SettingsError) as err:
        MTurkWorkforce().validate(make_job("segmentation"))
    assert err.value.field == "task_config"


def test_custom_task_needs_a_crowd_form_template() -> None:
    with pytest.raises(SettingsError) as err:
        MTurkWorkforce().validate(make_job("custom", task_config={"custom": {"template": "<form></form>"}}))
    assert err.value.field == "task_config.custom.template"


def test_default_clients_sign_for_us_east_1_at_the_chosen_endpoint() -> None:
    from labelwire.adapters.mturk.workforce import BotoClients

    settings = parse_settings(
        make_job(settings={"notification_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/turk"})
    )
    clients = BotoClients()
    mturk, sqs = clients("mturk", settings), clients("sqs", settings)
    assert (mturk.meta.endpoint_url, mturk.meta.region_name) == (SANDBOX_URL, "us-east-1")
    assert sqs.meta.region_name == "eu-west-1" and clients("mturk", settings) is mturk
