"""Ground Truth worker templates rendered on the server, with `python-liquid`.

A Ground Truth custom job's worker template is Liquid over `task.input` with
Ground Truth's own filters. It is rendered here, per task, rather than in the
worker's page: the server holds the item (so the template's data never has
to be shipped to a page that might interpret it differently) and the S3
credentials that `grant_read_access` needs to presign a reference; the page
receives finished HTML and no key. `python-liquid` is a maintained,
pure-Python implementation of Shopify's Liquid with autoescaping and
static analysis (used to refuse unknown filters at CreateJob).

Filters beyond standard Liquid, as Ground Truth documents them:
`grant_read_access` (an `s3://` reference becomes a presigned https link,
valid for the lease; an http(s) link is passed through; anything else is
refused), `to_json`, `skip_autoescape`; `escape` and `escape_once` are
Liquid's own. Output is HTML-escaped unless marked with `skip_autoescape`.
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from liquid import BoundTemplate, Environment
from liquid.exceptions import LiquidError
from markupsafe import Markup, escape

MAX_TEMPLATE_CHARS = 1_000_000
MAX_PAGE_CHARS = 5_000_000
MAX_LOOP_ITERATIONS = 100_000
# The crowd HTML elements the worker app's frame implements (web/public/frame.html).
CROWD_ELEMENTS = frozenset(
    {
        "crowd-form",
        "crowd-button",
        "crowd-checkbox",
        "crowd-input",
        "crowd-text-area",
        "crowd-radio-group",
        "crowd-radio-button",
        "crowd-classifier",
        "crowd-instructions",
        "crowd-card",
        "crowd-alert",
        "crowd-image-classifier",
        "crowd-bounding-box",
        "crowd-keypoint",
        "crowd-entity-annotation",
    }
)
_CROWD_TAG = re.compile(r"<\s*(crowd-[a-z0-9-]+)", re.IGNORECASE)

Grant = Callable[[str], str]
"""Turns an `s3://` reference into a link a worker's browser may load, or
raises GrantRefused."""

_grant: contextvars.ContextVar[Grant] = contextvars.ContextVar("grant")


class GrantRefused(Exception):
    """A reference `grant_read_access` will not hand to a worker."""


class TemplateError(Exception):
    """A template that cannot be rendered for a task, with the reason."""


class _Env(Environment):
    # Bounds on what one owner's template can make the server do per task.
    loop_iteration_limit = MAX_LOOP_ITERATIONS
    output_stream_limit = MAX_PAGE_CHARS
    context_depth_limit = 30


def _grant_read_access(value: Any) -> str:
    ref = "" if value is None else str(value)
    if ref.startswith("s3://"):
        return _grant.get()(ref)
    if ref.startswith(("https://", "http://")):
        return ref
    shown = ref if len(ref) <= 80 else ref[:79] + "…"
    raise GrantRefused(f"grant_read_access takes s3:// or http(s):// references, got {shown!r}")


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _skip_autoescape(value: Any) -> Markup:
    return Markup("" if value is None else str(value))


def _environment() -> Environment:
    env = _Env(autoescape=True)
    env.filters["grant_read_access"] = _grant_read_access
    env.filters["to_json"] = _to_json
    env.filters["skip_autoescape"] = _skip_autoescape
    return env


_ENV = _environment()


def template_problem(source: str) -> str | None:
    """Why `source` cannot be a worker template (too long, a Liquid syntax
    error, a filter neither Liquid nor Ground Truth has, a crowd element the
    frame does not implement), or None."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return f"has {len(source):,} characters; the limit is {MAX_TEMPLATE_CHARS:,}"
    try:
        parsed = _ENV.from_string(source)
        used = parsed.analyze().filters
    except LiquidError as err:
        return f"is not valid Liquid: {_where(err)}"
    unknown = sorted(name for name in used if name not in _ENV.filters)
    if unknown:
        return f"uses the filter {unknown[0]!r}, which neither Liquid nor Ground Truth has"
    missing = sorted({tag.lower() for tag in _CROWD_TAG.findall(source)} - CROWD_ELEMENTS)
    if missing:
        return (
            f"uses <{missing[0]}>, a crowd element labelwire does not implement yet;"
            f" supported: {', '.join(sorted(CROWD_ELEMENTS))}"
        )
    return None


@functools.lru_cache(maxsize=16)
def _parsed(source: str) -> BoundTemplate:
    """A job's template never changes: parse it once, not per task."""
    return _ENV.from_string(source)


def task_input(payload_kind: str, payload: str, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """`task.input` as Ground Truth builds it without a pre-labeling Lambda:
    the manifest line. An item holding JSON is that line (or a pre-labeling
    hook's `taskInput`) itself; a text or `source-ref` item is its metadata
    with `source` or `source-ref` added, as the line it was imported from."""
    if payload_kind == "json":
        try:
            value = json.loads(payload)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        return {"source": payload}
    line = dict(metadata or {})
    line["source-ref" if payload_kind == "source_ref" else "source"] = payload
    return line


def render(source: str, task: Mapping[str, Any], grant: Grant) -> str:
    """The page for one task: `source` rendered with `task` as `task`
    (`task.input` is what the template reads). Raises TemplateError."""
    try:
        with _granting(grant):
            return _parsed(source).render(task=dict(task))
    except GrantRefused as err:
        raise TemplateError(str(err)) from None
    except LiquidError as err:
        cause = err.__cause__ or err.__context__
        if isinstance(cause, GrantRefused):
            raise TemplateError(str(cause)) from None
        raise TemplateError(_where(err)) from None


def failed_page(reason: str) -> str:
    """What the worker sees instead of a template that failed for this task:
    the reason, never a blank frame."""
    return (
        '<!doctype html><meta charset="utf-8"><p role="alert">This task cannot be shown:'
        f" {escape(reason)}. Skip it and tell the job's owner.</p>"
    )


@contextmanager
def _granting(grant: Grant) -> Iterator[None]:
    token = _grant.set(grant)
    try:
        yield
    finally:
        _grant.reset(token)


def _where(err: LiquidError) -> str:
    message = getattr(err, "message", None) or str(err).splitlines()[0]
    token = getattr(err, "token", None)
    source = getattr(token, "source", "") or ""
    start = getattr(token, "start_index", -1)
    if source and isinstance(start, int) and start >= 0:
        line = source.count("\n", 0, start) + 1
        return f"{message} (line {line})"
    return str(message)
