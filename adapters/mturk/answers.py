"""Reading MTurk's Answer XML back into labelwire answers.

MTurk guarantees only the QuestionFormAnswers schema, not that a worker filled
anything in: `Answer` may be empty, malformed, or name a class the job does not
have. So every step here returns None rather than raising; the adapter reports
None as "nothing usable" and the core records nothing for it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from labelwire.adapters.base import kind_in, kind_named
from labelwire.server.domain.model import JobSpec

ANSWERS_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"
)
NS = {"q": ANSWERS_NS}


def parse_answer_xml(xml_text: str | None) -> dict[str, Any]:
    """Fields of a QuestionFormAnswers document; a crowd-form's `taskAnswers` is unfolded.

    Accepts documents with or without the namespace (both are seen), several
    SelectionIdentifiers per answer, and OtherSelectionText.
    """
    out: dict[str, Any] = {}
    if not xml_text or not xml_text.strip():
        return out
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return out
    answers = root.findall("q:Answer", NS) or root.findall("Answer")
    for answer in answers:
        ns = NS if answer.tag.startswith("{") else {"q": ""}
        prefix = "q:" if ns["q"] else ""
        qid = answer.findtext(f"{prefix}QuestionIdentifier", namespaces=ns)
        if not qid:
            continue
        selections = [s.text or "" for s in answer.findall(f"{prefix}SelectionIdentifier", ns)]
        free = answer.findtext(f"{prefix}FreeText", namespaces=ns)
        other = answer.findtext(f"{prefix}OtherSelectionText", namespaces=ns)
        out[qid.strip()] = selections if selections else (free if free is not None else other)
    folded = out.get("taskAnswers")
    if isinstance(folded, str):
        try:
            decoded = json.loads(folded)
        except ValueError:
            return {}
        if isinstance(decoded, list) and decoded and isinstance(decoded[0], dict):
            return dict(decoded[0])
        return dict(decoded) if isinstance(decoded, dict) else {}
    return out


def to_answer(fields: Mapping[str, Any], task_type: str, classes: Sequence[str]) -> dict[str, Any] | None:
    """The labelwire Answer (JSON form, proto field names) in a worker's fields, or None:
    the job's kind reads the field its element posted (`TaskKind.crowd_answer`)."""
    return kind_named(task_type).crowd_answer(fields, classes)


def same_answer(given: Mapping[str, Any] | None, expected: Mapping[str, Any]) -> bool:
    """Whether a worker's answer matches a gold answer as the core's quality gate
    grades it (`TaskKind.grade`, under the default gold policy): label sets as
    sets, spans exactly, boxes one-to-one of the same class at IoU >= 0.5."""
    if given is None:
        return False
    kind = kind_in(expected)
    if kind is None:
        return json.dumps(given, sort_keys=True) == json.dumps(dict(expected), sort_keys=True)
    return kind.grade(JobSpec("", kind.name, (), {}), dict(given), dict(expected))


def answer_key(answer: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None) -> str:
    """A canonical text of an answer (or of a batch's verdicts), for counting agreement among a HIT's workers."""
    return json.dumps(answer, sort_keys=True) if answer is not None else ""
