"""The qualification test and answer key made from the job's gold, and HITs gated by it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from botocore.stub import ANY

from labelwire.adapters.base import GoldItem
from labelwire.adapters.mturk.qualification import ANSWER_KEY_NS, QUESTION_FORM_NS, build_test, type_name
from labelwire.adapters.mturk.requests import request_token
from labelwire.adapters.mturk.settings import parse_settings

from .harness import MTurkContext, StubbedMTurk, clock_at, make_job, workforce

QF = {"q": QUESTION_FORM_NS}
AK = {"k": ANSWER_KEY_NS}
GATED = {"qualification_test": True, "test_size": 2, "passing_score": 75}


def gold(key: str, label: str, payload: str = "") -> GoldItem:
    return GoldItem(key, "text", payload or f"a {label}", {"classification": {"class_name": label}})


def test_each_gold_item_becomes_a_question_and_its_answer_the_key() -> None:
    job = make_job(settings=GATED)
    test = build_test(job, parse_settings(job), [gold("g1", "dog", "Woof & wag"), gold("g2", "cat")])
    form = ET.fromstring(test.test)
    questions = form.findall("q:Question", QF)
    assert [q.findtext("q:QuestionIdentifier", namespaces=QF) for q in questions] == ["q1", "q2"]
    assert questions[0].findtext("q:QuestionContent/q:Text", namespaces=QF) == "Woof & wag"
    choices = [
        (s.findtext("q:SelectionIdentifier", namespaces=QF), s.findtext("q:Text", namespaces=QF))
        for s in questions[0].findall(".//q:Selection", QF)
    ]
    assert choices == [("c0", "cat"), ("c1", "dog")]
    assert questions[0].findtext(".//q:StyleSuggestion", namespaces=QF) == "radiobutton"
    key = ET.fromstring(test.answer_key)
    right = {
        q.findtext("k:QuestionIdentifier", namespaces=AK): q.findtext(
            "k:AnswerOption/k:SelectionIdentifier", namespaces=AK
        )
        for q in key.findall("k:Question", AK)
    }
    assert right == {"q1": "c1", "q2": "c0"}
    assert key.findtext(".//k:PercentageMapping/k:MaximumSummedScore", namespaces=AK) == "2"
    assert (
        "AnswerOption" not in test.test and "AnswerScore" not in test.test
    )  # the answers live only in the key


def test_multi_label_gold_asks_checkboxes_and_keys_the_exact_set() -> None:
    job = make_job("multi_label", classes=("cat", "dog", "cow"), settings={**GATED, "test_size": 1})
    item = GoldItem("g1", "text", "farm", {"multi_label": {"class_names": ["cow", "dog"]}})
    test = build_test(job, parse_settings(job), [item])
    assert "<StyleSuggestion>checkbox</StyleSuggestion>" in test.test and "<MaxSelectionCount>3" in test.test
    option = ET.fromstring(test.answer_key).find(".//k:AnswerOption", AK)
    assert option is not None
    assert [s.text for s in option.findall("k:SelectionIdentifier", AK)] == ["c1", "c2"]


async def test_start_creates_the_qualification_type_once_and_hits_require_it(mturk: StubbedMTurk) -> None:
    job = make_job(settings=GATED)
    ctx = MTurkContext(job, gold=[gold("g1", "dog"), gold("g2", "cat"), gold("g3", "cat")])
    expected_test = build_test(job, parse_settings(job), ctx.gold)
    mturk.expect(
        "create_qualification_type",
        {"QualificationType": {"QualificationTypeId": "3QUALTYPE", "Name": type_name("jobs/7")}},
        {
            "Name": type_name("jobs/7"),
            "Keywords": "text, classification, labeling",
            "Description": ANY,
            "QualificationTypeStatus": "Active",
            "Test": expected_test.test,
            "AnswerKey": expected_test.answer_key,
            "TestDurationInSeconds": 1200,
        },
    )
    wf = workforce(mturk, clock_at())
    await wf.start(ctx)
    await wf.start(ctx)  # a restart does not make a second type
    ctx.add_items("i1")
    mturk.create_hit(
        "3HIT1",
        {
            "MaxAssignments": 3,
            "AutoApprovalDelayInSeconds": 259200,
            "LifetimeInSeconds": 86400,
            "AssignmentDurationInSeconds": 600,
            "Reward": "0.05",
            "Title": "Animals",
            "Keywords": "text, classification, labeling",
            "Description": "Pick the animal",
            "Question": ANY,
            "RequesterAnnotation": "labelwire item:i1",
            "UniqueRequestToken": request_token("jobs/7", "item", "i1", 1),
            "QualificationRequirements": [
                {
                    "QualificationTypeId": "3QUALTYPE",
                    "Comparator": "GreaterThanOrEqualTo",
                    "IntegerValues": [75],
                    "ActionsGuarded": "Accept",
                }
            ],
        },
    )
    await wf.sync(ctx)
    mturk.assert_done()


async def test_type_made_before_a_crash_is_found_by_name_not_made_twice(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job(settings=GATED), gold=[gold("g1", "dog"), gold("g2", "cat")])
    mturk.fail(
        "create_qualification_type",
        "RequestError",
        "You have already created a QualificationType with this name. A QualificationType's name must be unique.",
    )
    mturk.expect(
        "list_qualification_types",
        {
            "NumResults": 1,
            "QualificationTypes": [{"QualificationTypeId": "3QUALOLD", "Name": type_name("jobs/7")}],
        },
        {
            "Query": type_name("jobs/7"),
            "MustBeRequestable": False,
            "MustBeOwnedByCaller": True,
            "MaxResults": 100,
        },
    )
    await workforce(mturk, clock_at()).start(ctx)
    assert '"qualification_type_id": "3QUALOLD"' in ctx.saved_state


async def test_too_little_gold_for_the_test_fails_the_job_saying_what_to_change(mturk: StubbedMTurk) -> None:
    ctx = MTurkContext(make_job(settings=GATED), gold=[gold("g1", "dog"), gold("g2", "horse")])
    await workforce(mturk, clock_at()).start(ctx)
    assert ctx.job_failure is not None and "test_size" in ctx.job_failure and "has 1" in ctx.job_failure
