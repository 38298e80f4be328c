"""Answer XML as MTurk returns it, read defensively into labelwire answers."""

from __future__ import annotations

from typing import Any

import pytest

from labelwire.adapters.mturk.answers import parse_answer_xml, same_answer, to_answer

from .harness import ANSWERS_NS, crowd_answer, picked


def plain_form(**fields: str) -> str:
    answers = "".join(
        f"<Answer><QuestionIdentifier>{k}</QuestionIdentifier><FreeText>{v}</FreeText></Answer>"
        for k, v in fields.items()
    )
    return f'<QuestionFormAnswers xmlns="{ANSWERS_NS}">{answers}</QuestionFormAnswers>'


def test_crowd_form_task_answers_are_unfolded() -> None:
    assert parse_answer_xml(picked("dog")) == {"category": {"label": "dog"}}


def test_plain_html_form_gives_one_field_per_answer() -> None:
    assert parse_answer_xml(plain_form(category="dog", comment="clear")) == {
        "category": "dog",
        "comment": "clear",
    }


def test_selection_identifiers_and_other_text_are_read() -> None:
    xml = (
        f'<QuestionFormAnswers xmlns="{ANSWERS_NS}">'
        "<Answer><QuestionIdentifier>q1</QuestionIdentifier><SelectionIdentifier>a</SelectionIdentifier>"
        "<SelectionIdentifier>b</SelectionIdentifier></Answer>"
        "<Answer><QuestionIdentifier>q2</QuestionIdentifier><OtherSelectionText>zebra</OtherSelectionText></Answer>"
        "</QuestionFormAnswers>"
    )
    assert parse_answer_xml(xml) == {"q1": ["a", "b"], "q2": "zebra"}


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "   ",
        "<not xml",
        f'<QuestionFormAnswers xmlns="{ANSWERS_NS}"/>',
        plain_form(taskAnswers="not json"),
    ],
)
def test_empty_or_broken_answer_xml_gives_no_fields(xml: str) -> None:
    assert parse_answer_xml(xml) == {}


@pytest.mark.parametrize(
    ("task_type", "fields", "expected"),
    [
        ("classification", {"category": {"label": "dog"}}, {"classification": {"class_name": "dog"}}),
        ("classification", {"category": "cat"}, {"classification": {"class_name": "cat"}}),
        ("classification", {"category": {"label": "horse"}}, None),
        ("classification", {}, None),
        (
            "multi_label",
            {"category": {"labels": ["dog", "cat"]}},
            {"multi_label": {"class_names": ["cat", "dog"]}},
        ),
        ("multi_label", {"category": {"labels": ["dog", "cow"]}}, None),
        ("verification", {"verification": {"label": "incorrect"}}, {"verification": {"correct": [False]}}),
        (
            "bounding_box",
            {
                "annotatedResult": {
                    "boundingBoxes": [{"label": "cat", "left": 1, "top": 2, "width": 30, "height": 40}],
                    "inputImageProperties": {"height": 100, "width": 100},
                }
            },
            {
                "bounding_boxes": {
                    "boxes": [{"class_name": "cat", "left": 1.0, "top": 2.0, "width": 30.0, "height": 40.0}]
                }
            },
        ),
        ("bounding_box", {"annotatedResult": {"boundingBoxes": [{"label": "cat", "left": 1}]}}, None),
        (
            "spans",
            {"crowd-entity-annotation": {"entities": [{"label": "dog", "startOffset": 4, "endOffset": 7}]}},
            {"spans": {"spans": [{"entity_type": "dog", "start": 4, "end": 7}]}},
        ),
        (
            "spans",
            {"crowd-entity-annotation": {"entities": [{"label": "dog", "startOffset": 7, "endOffset": 4}]}},
            None,
        ),
        ("custom", {"why": "because"}, {"custom": {"why": "because"}}),
    ],
)
def test_fields_become_labelwire_answers_or_none(
    task_type: str, fields: dict[str, Any], expected: Any
) -> None:
    assert to_answer(fields, task_type, ["cat", "dog"]) == expected


def test_worker_answer_in_crowd_form_xml_round_trips_to_a_multi_label_answer() -> None:
    fields = parse_answer_xml(crowd_answer({"category": {"labels": ["cat"]}}))
    assert to_answer(fields, "multi_label", ["cat", "dog"]) == {"multi_label": {"class_names": ["cat"]}}


def test_gold_matching_compares_label_sets_and_boxes_by_overlap() -> None:
    assert same_answer(
        {"multi_label": {"class_names": ["b", "a"]}}, {"multi_label": {"class_names": ["a", "b"]}}
    )
    gold = {
        "bounding_boxes": {"boxes": [{"class_name": "cat", "left": 0, "top": 0, "width": 10, "height": 10}]}
    }
    near = {
        "bounding_boxes": {"boxes": [{"class_name": "cat", "left": 1, "top": 1, "width": 10, "height": 10}]}
    }
    far = {
        "bounding_boxes": {"boxes": [{"class_name": "cat", "left": 6, "top": 6, "width": 10, "height": 10}]}
    }
    assert same_answer(near, gold) and not same_answer(far, gold)
    assert not same_answer(None, {"classification": {"class_name": "cat"}})
