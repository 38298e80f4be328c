"""Worker UI templates for the built-in task types.

Built-in image and text tasks still need a Liquid template in S3. Each uses the
crowd element and element `name` the console generates, because AWS's `ACS-*`
consolidation functions and our response parser both look answers up by those
names. The `PRE-*` functions hand the template `task.input.taskObject` (the
item) and `task.input.labels` (the label category file's labels).
"""

from __future__ import annotations

import html
import json

from labelwire.adapters.base import JobView
from labelwire.adapters.batches import VERIFICATION_CHOICES, verdict_field
from labelwire.server.files.augmented import VERIFICATION_CATEGORIES

_VERDICTS = html.escape(json.dumps(list(VERIFICATION_CATEGORIES)), quote=True)
SCRIPT = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'

_ELEMENTS = {
    "ImageMultiClass": (
        '<crowd-image-classifier name="crowd-image-classifier" src="{{ task.input.taskObject | grant_read_access }}" '
        'header="{header}" categories="{{ task.input.labels | to_json | escape }}">',
        "</crowd-image-classifier>",
    ),
    "ImageMultiClassMultiLabel": (
        '<crowd-image-classifier-multi-select name="crowd-image-classifier-multi-select" '
        'src="{{ task.input.taskObject | grant_read_access }}" header="{header}" '
        'categories="{{ task.input.labels | to_json | escape }}">',
        "</crowd-image-classifier-multi-select>",
    ),
    "TextMultiClass": (
        '<crowd-classifier name="crowd-classifier" header="{header}" '
        'categories="{{ task.input.labels | to_json | escape }}">\n'
        "<classification-target>{{ task.input.taskObject }}</classification-target>",
        "</crowd-classifier>",
    ),
    "VideoMultiClass": (
        '<crowd-classifier name="crowd-classifier" header="{header}" '
        'categories="{{ task.input.labels | to_json | escape }}">\n'
        '<classification-target><video src="{{ task.input.taskObject | grant_read_access }}" controls></video>'
        "</classification-target>",
        "</crowd-classifier>",
    ),
    "TextMultiClassMultiLabel": (
        '<crowd-classifier-multi-select name="crowd-classifier-multi-select" header="{header}" '
        'categories="{{ task.input.labels | to_json | escape }}">\n'
        "<classification-target>{{ task.input.taskObject }}</classification-target>",
        "</crowd-classifier-multi-select>",
    ),
    "BoundingBox": (
        '<crowd-bounding-box name="boundingBox" src="{{ task.input.taskObject | grant_read_access }}" '
        'header="{header}" labels="{{ task.input.labels | to_json | escape }}">',
        "</crowd-bounding-box>",
    ),
    "SemanticSegmentation": (
        '<crowd-semantic-segmentation name="crowd-semantic-segmentation" '
        'src="{{ task.input.taskObject | grant_read_access }}" header="{header}" '
        'labels="{{ task.input.labels | to_json | escape }}">',
        "</crowd-semantic-segmentation>",
    ),
    "VerificationBoundingBox": (
        '<crowd-classifier name="crowd-classifier" header="{header}" categories="{verdicts}">\n'
        '<classification-target><crowd-bounding-box name="annotatedResult" '
        'src="{{ task.input.taskObject | grant_read_access }}" header="{header}" '
        'labels="{{ task.input.labels | to_json | escape }}" initial-value="['
        "{% for box in task.input.manifestLine.{prelabel}.annotations %}"
        "{% capture class_id %}{{ box.class_id }}{% endcapture %}"
        "{% assign label = task.input.manifestLine.{prelabel}-metadata.class-map[class_id] %}"
        "{label: {{ label | to_json }}, left: {{ box.left }}, top: {{ box.top }}, "
        "width: {{ box.width }}, height: {{ box.height }}},"
        '{% endfor %}]"></crowd-bounding-box></classification-target>',
        "</crowd-classifier>",
    ),
}


def builtin_template(gt_type: str, job: JobView, prelabel_attribute: str = "") -> str | None:
    """The template for a built-in type, or None for types that use a prebuilt UI (NER).

    Verification shows the model's boxes from the manifest line's `prelabel_attribute`,
    the way Ground Truth's guide reads a previous job's boxes (`task.input.manifestLine`).
    """
    if gt_type not in _ELEMENTS:
        return None
    opening, closing = _ELEMENTS[gt_type]
    header = _attribute(
        str(job.instructions.get("short_instructions") or job.display_name or "Label the item")
    )
    return "\n".join(
        [
            SCRIPT,
            "<crowd-form>",
            opening.replace("{header}", header)
            .replace("{verdicts}", _VERDICTS)
            .replace("{prelabel}", prelabel_attribute),
            f'<full-instructions header="Instructions">{_raw_html(_full_instructions(job))}</full-instructions>',
            f"<short-instructions>{_raw_html(_short_instructions(job))}</short-instructions>",
            closing,
            "</crowd-form>",
            "",
        ]
    )


_BATCH_ITEM = {
    "image": '<img src="{{ ref | grant_read_access }}" style="max-width:100%">',
    "audio": '<audio controls src="{{ ref | grant_read_access }}"></audio>',
    "video": '<video controls src="{{ ref | grant_read_access }}" style="max-width:100%"></video>',
}


def batch_verification_template(job: JobView) -> str:
    """The page of a verification batch (one data object holding several
    items, `task.input.sourceRef` from our pre-labeling Lambda): each item
    with the model's class and a correct/incorrect choice named as
    `adapters.batches.verdict_field` names it, so the answer splits per item."""
    shown = _BATCH_ITEM.get(job.media_type, '<p style="white-space:pre-wrap">{{ ref | escape }}</p>')
    buttons = "".join(
        f'<crowd-radio-button name="{verdict_field(0, choice).replace("-0-", "-{{ forloop.index0 }}-")}" '
        f'value="{choice}">{choice.title()}</crowd-radio-button>'
        for choice in VERIFICATION_CHOICES
    )
    header = _raw_html(html.escape(str(job.instructions.get("short_instructions") or job.display_name)))
    return "\n".join(
        [
            SCRIPT,
            "<crowd-form>",
            f"<h2>{header}</h2>",
            "<p>Mark each proposed label correct or incorrect.</p>",
            "<ol>{% for ref in task.input.sourceRef %}",
            f"<li><div>{shown}</div>",
            "<p>Proposed label: <b>{{ task.input.proposed[forloop.index0] | escape }}</b></p>",
            f"<crowd-radio-group>{buttons}</crowd-radio-group></li>",
            "{% endfor %}</ol>",
            f"<div>{_raw_html(_full_instructions(job))}</div>",
            "</crowd-form>",
            "",
        ]
    )


def _full_instructions(job: JobView) -> str:
    text = str(job.instructions.get("full_instructions") or job.instructions.get("short_instructions") or "")
    described = [
        f"<li><b>{html.escape(c.name)}</b>: {html.escape(c.description)}</li>"
        for c in job.classes
        if c.description
    ]
    parts = [f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip()]
    if described:
        parts.append("<ul>" + "".join(described) + "</ul>")
    return "".join(parts)


def _short_instructions(job: JobView) -> str:
    return f"<p>{html.escape(str(job.instructions.get('short_instructions') or job.display_name))}</p>"


def _attribute(text: str) -> str:
    return _raw_html(html.escape(text, quote=True))


def _raw_html(text: str) -> str:
    """Client text must reach the worker verbatim, never be run as Liquid."""
    return "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"
