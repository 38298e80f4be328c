"""The HITs the adapter asks MTurk for: the exact CreateHIT request, and a page per task type."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from labelwire.adapters.base import WorkItem
from labelwire.adapters.mturk.questions import HTML_QUESTION_NS, html_question
from labelwire.adapters.mturk.requests import annotation, request_token

from .harness import MTurkContext, StubbedMTurk, clock_at, make_job, workforce

CLASSIFICATION_QUESTION = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/'
    'HTMLQuestion.xsd"><HTMLContent><![CDATA[<!DOCTYPE html>\n'
    '<html><head><meta charset="utf-8"><script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
    "</head>\n<body><crowd-form>"
    '<crowd-classifier name="category" categories="[&quot;cat&quot;, &quot;dog&quot;]" header="Pick the animal">'
    '<classification-target><p style="white-space:pre-wrap">a small cat</p></classification-target>'
    "<short-instructions><p>Pick the animal</p><ul><li><b>cat</b></li><li><b>dog</b></li></ul>"
    "</short-instructions><full-instructions><p></p></full-instructions></crowd-classifier></crowd-form>"
    "</body></html>]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"
)


async def test_classification_item_becomes_exactly_this_create_hit_request(mturk: StubbedMTurk) -> None:
    job = make_job(
        settings={
            "min_approval_rate": 98,
            "locales": ["US", "GB"],
            "masters": True,
            "keywords": ["cat", "dog"],
        }
    )
    ctx = MTurkContext(job)
    ctx.add_items("item-1", payloads={"item-1": "a small cat"})
    expected = {
        "MaxAssignments": 3,
        "AutoApprovalDelayInSeconds": 259200,
        "LifetimeInSeconds": 86400,
        "AssignmentDurationInSeconds": 600,
        "Reward": "0.05",
        "Title": "Animals",
        "Keywords": "cat, dog",
        "Description": "Pick the animal",
        "Question": CLASSIFICATION_QUESTION,
        "RequesterAnnotation": "labelwire item:item-1",
        "UniqueRequestToken": request_token("jobs/7", "item", "item-1", 1),
        "QualificationRequirements": [
            {
                "QualificationTypeId": "000000000000000000L0",
                "Comparator": "GreaterThanOrEqualTo",
                "IntegerValues": [98],
            },
            {
                "QualificationTypeId": "00000000000000000071",
                "Comparator": "In",
                "LocaleValues": [{"Country": "US"}, {"Country": "GB"}],
            },
            {"QualificationTypeId": "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6", "Comparator": "Exists"},
        ],
    }
    mturk.create_hit("3HIT1", expected)
    result = await workforce(mturk, clock_at()).sync(ctx)
    mturk.assert_done()
    assert result.dispatched == 1 and not result.finished


def test_request_token_is_stable_per_job_item_and_round_and_fits_64_characters() -> None:
    token = request_token("jobs/7", "item", "k" * 500, 1)
    assert token == request_token("jobs/7", "item", "k" * 500, 1)
    assert (
        token
        != request_token("jobs/7", "item", "k" * 500, 2)
        != request_token("jobs/8", "item", "k" * 500, 1)
    )
    assert 1 <= len(token) <= 64


def test_annotation_of_a_long_key_stays_within_255_characters() -> None:
    assert annotation("item", "short") == "labelwire item:short"
    assert len(annotation("item", "k" * 400)) <= 255


def page_of(question: str) -> str:
    root = ET.fromstring(question)
    assert root.tag == f"{{{HTML_QUESTION_NS}}}HTMLQuestion"
    content = root.findtext(f"{{{HTML_QUESTION_NS}}}HTMLContent")
    assert content is not None and root.findtext(f"{{{HTML_QUESTION_NS}}}FrameHeight") == "0"
    return content


@pytest.mark.parametrize(
    ("task_type", "kind", "payload", "prelabel", "needles"),
    [
        ("multi_label", "text", "a cat and a dog", None, ['<crowd-classifier-multi-select name="category"']),
        (
            "bounding_box",
            "source_ref",
            "https://img.example.com/1.jpg",
            None,
            [
                '<crowd-bounding-box name="annotatedResult" src="https://img.example.com/1.jpg"',
                "&quot;cat&quot;",
            ],
        ),
        (
            "spans",
            "text",
            "Ada met Bob",
            None,
            [
                '<crowd-entity-annotation name="crowd-entity-annotation"',
                'text="Ada met Bob"',
                "&quot;label&quot;",
            ],
        ),
        (
            "verification",
            "source_ref",
            "https://img.example.com/2.png",
            {"classification": {"class_name": "cat"}},
            [
                '<crowd-classifier name="verification"',
                "&quot;correct&quot;",
                '<img src="https://img.example.com/2.png"',
            ],
        ),
    ],
)
async def test_each_task_type_gets_its_crowd_element_in_the_create_hit_request(
    mturk: StubbedMTurk, task_type: str, kind: str, payload: str, prelabel: Any, needles: list[str]
) -> None:
    job = make_job(task_type, media_type="image" if kind == "source_ref" else "text")
    ctx = MTurkContext(job)
    ctx.add_work_item(WorkItem("k1", kind, payload, {}, 3, prelabel))
    question = html_question(job, kind, payload, prelabel)
    page = page_of(question)
    assert all(needle in page for needle in needles), page
    assert "<crowd-form>" in page and "crowd-html-elements.js" in page
    expected = {
        "MaxAssignments": 3,
        "AutoApprovalDelayInSeconds": 259200,
        "LifetimeInSeconds": 86400,
        "AssignmentDurationInSeconds": 600,
        "Reward": "0.05",
        "Title": "Animals",
        "Keywords": f"{job.media_type}, {task_type.replace('_', ' ')}, labeling",
        "Description": "Pick the animal",
        "Question": question,
        "RequesterAnnotation": "labelwire item:k1",
        "UniqueRequestToken": request_token("jobs/7", "item", "k1", 1),
    }
    mturk.create_hit("3HIT1", expected)
    await workforce(mturk, clock_at()).sync(ctx)
    mturk.assert_done()


def test_custom_template_receives_the_escaped_item() -> None:
    template = (
        "<crowd-form><p>{{ task.input.taskObject }}</p><crowd-input name='why'></crowd-input></crowd-form>"
    )
    job = make_job("custom", task_config={"custom": {"template": template}})
    page = page_of(html_question(job, "text", "<b>x</b>"))
    assert '<crowd-form><p><p style="white-space:pre-wrap">&lt;b&gt;x&lt;/b&gt;</p></p>' in page


def test_payload_that_tries_to_end_the_cdata_or_inject_html_is_shown_as_text() -> None:
    template = "<crowd-form>]]><p>{{ task.input.source }}</p></crowd-form>"
    job = make_job("custom", task_config={"custom": {"template": template}})
    page = page_of(html_question(job, "text", "<script>alert(1)</script>"))
    assert "]]><p>" in page and "&lt;script&gt;" in page and "<script>alert" not in page


async def test_item_that_cannot_be_shown_is_failed_with_the_reason(mturk: StubbedMTurk) -> None:
    job = make_job("bounding_box", media_type="image")
    ctx = MTurkContext(job)
    ctx.add_work_item(WorkItem("k1", "source_ref", "s3://bucket/1.jpg", {}, 3))
    await workforce(mturk, clock_at()).sync(ctx)
    assert "http(s) URL" in ctx.failed["k1"]


async def test_page_too_large_for_mturk_fails_the_item(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job())
    ctx.add_items("big", payloads={"big": "x" * 70_000})
    await workforce(mturk, clock_at()).sync(ctx)
    assert "65535" in ctx.failed["big"]
