"""HTMLQuestion documents: one crowd-form page per labelwire task type.

MTurk hosts the page, so everything the worker needs travels inside the
Question XML: the Crowd HTML Elements script, the item, the instructions and
the classes. The job's kind picks the crowd element (`TaskKind.crowd_element`);
`<crowd-form>` posts one `taskAnswers` answer that the kind reads back
(`TaskKind.crowd_answer`, through `answers.py`). Every value from a client (item text,
class names, instructions) is HTML-escaped, and the page sits in a CDATA
section whose own terminator is split so a payload cannot end it early.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from labelwire.adapters.base import CrowdPage, ItemRejected, JobView, attr, require_url
from labelwire.adapters.batches import VERIFICATION_CHOICES, proposed, verdict_field

HTML_QUESTION_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
)
CROWD_SCRIPT = "https://assets.crowd.aws/crowd-html-elements.js"
MAX_QUESTION_BYTES = 65_535

_INSTRUCTION_TAGS = re.compile(r"</?(?:short|full)-instructions>")

__all__ = ["ItemRejected", "batch_question", "html_question"]


def html_question(
    job: JobView, payload_kind: str, payload: str, prelabel: Mapping[str, Any] | None = None
) -> str:
    """The HTMLQuestion XML for one item (a work item or a hidden gold item)."""
    return wrap(html_page(job, payload_kind, payload, prelabel))


def batch_question(job: JobView, entries: Sequence[tuple[str, str, Mapping[str, Any] | None]]) -> str:
    """The HTMLQuestion XML for a verification batch: every item with its
    proposed label, and one correct/incorrect choice per item (`verdict_field`)."""
    return wrap(batch_page(job, entries))


def batch_page(job: JobView, entries: Sequence[tuple[str, str, Mapping[str, Any] | None]]) -> str:
    rows = []
    for index, (payload_kind, payload, prelabel) in enumerate(entries):
        buttons = "".join(
            f'<crowd-radio-button name="{verdict_field(index, choice)}" value="{choice}">{choice.title()}'
            "</crowd-radio-button>"
            for choice in VERIFICATION_CHOICES
        )
        rows.append(
            f"<li><div>{render_payload(job, payload_kind, payload)}</div><p>Proposed label: <b>"
            f"{html.escape(proposed(prelabel))}</b></p><crowd-radio-group>{buttons}</crowd-radio-group></li>"
        )
    body = (
        f"<h2>{html.escape(header_text(job))}</h2>"
        f"<p>{len(entries)} items: mark each proposed label correct or incorrect.</p>"
        f"<ol>{''.join(rows)}</ol>{plain_instructions(job)}"
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<script src="{CROWD_SCRIPT}"></script></head>\n<body><crowd-form>{body}</crowd-form></body></html>'
    )


def plain_instructions(job: JobView) -> str:
    """The instructions as plain blocks: outside a crowd element there is no
    `<short-instructions>` panel to hold them."""
    return _INSTRUCTION_TAGS.sub(
        lambda m: "</div>" if m.group(0).startswith("</") else "<div>", instructions(job)
    )


def wrap(page: str) -> str:
    xml = (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}">'
        f"<HTMLContent>{cdata(page)}</HTMLContent>"
        "<FrameHeight>0</FrameHeight>"
        "</HTMLQuestion>"
    )
    size = len(xml.encode("utf-8"))
    if size > MAX_QUESTION_BYTES:
        raise ItemRejected(
            f"the HIT page would be {size} bytes; Mechanical Turk takes at most {MAX_QUESTION_BYTES} "
            "(send large content as a source_ref URL)"
        )
    return xml


def cdata(text: str) -> str:
    """A CDATA section holding `text` exactly, even when it contains `]]>`."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def html_page(job: JobView, payload_kind: str, payload: str, prelabel: Mapping[str, Any] | None) -> str:
    body = element(job, payload_kind, payload, prelabel)
    if not job.kind.own_template:
        body = f"<crowd-form>{body}</crowd-form>"
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<script src="{CROWD_SCRIPT}"></script></head>\n<body>{body}</body></html>'
    )


def element(job: JobView, payload_kind: str, payload: str, prelabel: Mapping[str, Any] | None) -> str:
    """The crowd element for the job's task type, with the item and the instructions inside it."""
    page = CrowdPage(
        classes=job.classes,
        header=attr(header_text(job)),
        instructions=instructions(job),
        payload_kind=payload_kind,
        payload=payload,
        prelabel=prelabel,
        task_config=job.task_config,
        target=lambda: render_payload(job, payload_kind, payload),
    )
    return job.kind.crowd_element(page)


def header_text(job: JobView) -> str:
    return str(job.instructions.get("short_instructions") or job.display_name or "Label this item")


def instructions(job: JobView) -> str:
    short = html.escape(str(job.instructions.get("short_instructions") or ""))
    full = html.escape(str(job.instructions.get("full_instructions") or ""))
    examples = "".join(
        f"<h3>{title}</h3>{example_list(job.instructions.get(key))}"
        for key, title in (("good_examples", "Good examples"), ("bad_examples", "Bad examples"))
        if job.instructions.get(key)
    )
    classes = "".join(
        f"<li><b>{html.escape(c.name)}</b>{': ' + html.escape(c.description) if c.description else ''}</li>"
        for c in job.classes
    )
    listed = f"<ul>{classes}</ul>" if classes else ""
    return (
        f"<short-instructions><p>{short}</p>{listed}</short-instructions>"
        f"<full-instructions><p>{full}</p>{examples}</full-instructions>"
    )


def example_list(examples: Any) -> str:
    if not isinstance(examples, Sequence) or isinstance(examples, str):
        return ""
    rows = []
    for example in examples:
        if not isinstance(example, Mapping):
            continue
        shown = example.get("text") or example.get("source_ref") or ""
        answer = json.dumps(example.get("answer", {}), sort_keys=True)
        why = example.get("explanation", "")
        rows.append(
            f"<li>{html.escape(str(shown))} &rarr; {html.escape(answer)} {html.escape(str(why))}</li>"
        )
    return f"<ul>{''.join(rows)}</ul>"


def render_payload(job: JobView, payload_kind: str, payload: str) -> str:
    """The item as HTML. Links are shown as media; MTurk workers cannot read s3:// URIs."""
    if payload_kind == "source_ref":
        url = attr(require_url(payload_kind, payload, "workers open items by URL"))
        media = job.media_type
        if media == "image":
            return f'<img src="{url}" style="max-width:100%">'
        if media == "audio":
            return f'<audio controls src="{url}"></audio>'
        if media == "video":
            return f'<video controls src="{url}" style="max-width:100%"></video>'
        return f'<a href="{url}" target="_blank" rel="noopener">Open the item</a>'
    if payload_kind == "json":
        with contextlib.suppress(ValueError):
            payload = json.dumps(json.loads(payload), indent=2, sort_keys=True)
        return f"<pre>{html.escape(payload)}</pre>"
    return f'<p style="white-space:pre-wrap">{html.escape(payload)}</p>'
