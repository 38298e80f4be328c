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
