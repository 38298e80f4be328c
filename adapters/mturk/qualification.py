"""The qualification test built from the job's gold items, and its answer key.

MTurk scores a test itself when the qualification type carries an AnswerKey,
and grants the qualification with the score as its value, so workers who fail
never see the job's HITs and cost nothing. Only QuestionForm can be a test
(HTMLQuestion and ExternalQuestion cannot), so each gold item becomes one
multiple-choice question over the job's classes; the gold answers go into the
AnswerKey, which workers never see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from labelwire.adapters.base import GoldItem, JobView, kind_named
from labelwire.adapters.mturk.settings import MTurkSettings

QUESTION_FORM_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd"
)
ANSWER_KEY_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/AnswerKey.xsd"
MAX_DOCUMENT_BYTES = 65_535
IMAGE_SUBTYPES = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "gif": "gif", "webp": "webp"}


class TestNotPossible(ValueError):
    """The job's gold cannot make the test asked for; the message says what to change."""

    __test__ = False  # not a pytest class, despite the name


@dataclass(frozen=True)
class QualificationTest:
    test: str
    answer_key: str
    questions: int


def usable_gold(job: JobView, gold: Sequence[GoldItem]) -> list[GoldItem]:
    """Gold items that can be asked as a multiple-choice question: a known answer over the
    job's classes, and a payload a worker can see (text, or an http(s) link)."""
    classes = {c.name for c in job.classes}
    out = []
    for item in gold:
        if item.payload_kind == "source_ref" and not item.payload.startswith(("https://", "http://")):
            continue
        chosen = correct_classes(job.task_type, item)
        if chosen and set(chosen) <= classes:
            out.append(item)
    return out


def correct_classes(task_type: str, item: GoldItem) -> list[str]:
    kind = kind_named(task_type)
    if not kind.class_field:
        return []
    named = item.answer.get(kind.answer_key, {}).get(kind.class_field)
    if kind.single_class:
        return [named] if isinstance(named, str) and named else []
    return [n for n in named if isinstance(n, str)] if isinstance(named, list) else []


def build_test(job: JobView, settings: MTurkSettings, gold: Sequence[GoldItem]) -> QualificationTest:
    """The Test (QuestionForm) and AnswerKey for `settings.test_size` gold items.

    The qualification value is the percentage of questions right, so the HIT
    requirement compares it with `passing_score`.
    """
    usable = usable_gold(job, gold)[: settings.test_size]
    if len(usable) < settings.test_size:
        raise TestNotPossible(
            f"the qualification test needs {settings.test_size} gold items with a {job.task_type} answer over the "
            f"job's classes and a text or http(s) payload; the job has {len(usable)}. Add gold items or lower "
            "workforce.settings.test_size"
        )
    classes = [c.name for c in job.classes]
    multi = not job.kind.single_class
    questions = []
    options = []
    for number, item in enumerate(usable, start=1):
        qid = f"q{number}"
        selections = "".join(
            f"<Selection><SelectionIdentifier>c{i}</SelectionIdentifier><Text>{escape(name)}</Text></Selection>"
            for i, name in enumerate(classes)
        )
        counts = (
            f"<MinSelectionCount>0</MinSelectionCount><MaxSelectionCount>{len(classes)}</MaxSelectionCount>"
        )
        questions.append(
            "<Question>"
            f"<QuestionIdentifier>{qid}</QuestionIdentifier>"
            f"<DisplayName>Question {number}</DisplayName>"
            "<IsRequired>true</IsRequired>"
            f"<QuestionContent>{content(job, item)}</QuestionContent>"
            "<AnswerSpecification><SelectionAnswer>"
            f"{counts if multi else ''}"
            f"<StyleSuggestion>{'checkbox' if multi else 'radiobutton'}</StyleSuggestion>"
            f"<Selections>{selections}</Selections>"
            "</SelectionAnswer></AnswerSpecification>"
            "</Question>"
        )
        right = "".join(
            f"<SelectionIdentifier>c{classes.index(name)}</SelectionIdentifier>"
            for name in sorted(set(correct_classes(job.task_type, item)), key=classes.index)
        )
        options.append(
            f"<Question><QuestionIdentifier>{qid}</QuestionIdentifier>"
            f"<AnswerOption>{right}<AnswerScore>1</AnswerScore></AnswerOption></Question>"
        )
    overview = escape(
        str(job.instructions.get("full_instructions") or job.instructions.get("short_instructions") or "")
    )
    test = (
        f'<QuestionForm xmlns="{QUESTION_FORM_NS}">'
        f"<Overview><Title>{escape(settings.title)}</Title><Text>{overview or 'Answer each question.'}</Text>"
        "</Overview>"
        f"{''.join(questions)}</QuestionForm>"
    )
    key = (
        f'<AnswerKey xmlns="{ANSWER_KEY_NS}">{"".join(options)}'
        "<QualificationValueMapping><PercentageMapping>"
        f"<MaximumSummedScore>{len(usable)}</MaximumSummedScore>"
        "</PercentageMapping></QualificationValueMapping></AnswerKey>"
    )
    for name, document in (("test", test), ("answer key", key)):
        size = len(document.encode("utf-8"))
        if size > MAX_DOCUMENT_BYTES:
            raise TestNotPossible(
                f"the qualification {name} would be {size} bytes, over MTurk's {MAX_DOCUMENT_BYTES}; "
                "lower workforce.settings.test_size or use shorter gold items"
            )
    return QualificationTest(test=test, answer_key=key, questions=len(usable))


def content(job: JobView, item: GoldItem) -> str:
    """A gold item as QuestionContent: an image as Binary, anything else as plain text."""
    if item.payload_kind == "source_ref":
        extension = item.payload.rsplit("?", 1)[0].rsplit(".", 1)[-1].lower()
        if job.media_type == "image":
            subtype = IMAGE_SUBTYPES.get(extension)
            sub = f"<SubType>{subtype}</SubType>" if subtype else ""
            return (
                f"<Binary><MimeType><Type>image</Type>{sub}</MimeType>"
                f"<DataURL>{escape(item.payload)}</DataURL><AltText>the item to label</AltText></Binary>"
            )
        return f"<Text>Open {escape(item.payload)}</Text>"
    return f"<Text>{escape(item.payload)}</Text>"


def type_name(job_name: str) -> str:
    """A qualification type name unique among ours and the same on every call for one job, so a
    retry after a crash finds the type it made instead of making a second."""
    digest = hashlib.sha256(job_name.encode()).hexdigest()[:12]
    return f"labelwire test {job_name} {digest}"
