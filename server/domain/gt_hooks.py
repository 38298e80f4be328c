"""Ground Truth's pre- and post-labeling hooks, called by labelwire instead of Lambda.

A Ground Truth custom job names two Lambdas: one turns each manifest line
(`dataObject`) into the template's `taskInput`, one consolidates the workers'
answers. A team moving such a job keeps that code: a hook is either a Python
callable named like an entry point (`package.module:function`, called as a
Lambda handler, `handler(event, context)` with context None) or an HTTP(S)
endpoint (a Lambda function URL or any service) that receives the event as
the JSON body of a POST and answers with the Lambda's return value.

The code a hook runs is the operator's decision, never a job owner's: a
callable must be on the operator's list of entry points (`module:function`,
or `module:*` for every function of a module) and a URL must start with one
of the operator's prefixes. Events and responses have Ground Truth's shapes
(`/work/shared/contracts/aws.md` §3) and a response is checked before it is
used: a hook is code outside labelwire's control, so its output is bounded
(6 MB, Lambda's own limit for a synchronous response) and must have the
documented shape. A call that fails or times out is retried with exponential
backoff; a hook that keeps failing raises HookFailed with the reason, which
the caller records against the one item (pre) or batch (post) concerned.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from labelwire.server.domain.errors import InvalidArgument

VERSION = "2018-10-06"
"""The event `version` real Ground Truth events carry (its guide shows
2018-10-16); hooks are expected to treat it as opaque."""
MAX_DATA_OBJECT_CHARS = 100_000
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
MAX_HOOK_CHARS = 1024
MAX_REASON_CHARS = 500
_ENTRY_POINT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):([A-Za-z_][A-Za-z0-9_]*)$")
_FINAL_STATUSES = frozenset(range(400, 500)) - {408, 425, 429}
"""HTTP answers that a retry will not change (the request itself is wrong)."""

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class HookPolicy:
    """The operator's rules: which callables and URLs may be hooks, how long a
    call may take, and how often a failed call is tried."""

    entry_points: tuple[str, ...] = ()
    url_prefixes: tuple[str, ...] = ()
    timeout_seconds: float = 30.0
    attempts: int = 4
    first_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failed call."""
        return float(min(self.first_backoff_seconds * 2 ** (failures - 1), self.max_backoff_seconds))


@dataclass(frozen=True)
class Hook:
    kind: str
    """`python` or `http`."""
    target: str
    """`module:function` or the URL."""

    def __str__(self) -> str:
        return self.target if self.kind == "http" else f"python:{self.target}"


@dataclass(frozen=True)
class PreLabel:
    """What the pre-labeling hook made of one manifest line."""

    task_input: dict[str, Any]
    human_annotation_required: bool


class HookFailed(Exception):
    """A hook that kept failing, or answered with something unusable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_hook(text: str, field: str, policy: HookPolicy) -> Hook | None:
    """The hook `text` names (empty: none), once the operator's policy allows
    it; raises InvalidArgument naming `field`."""
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_HOOK_CHARS:
        raise InvalidArgument(f"{field} has {len(text)} characters; the limit is {MAX_HOOK_CHARS}")
    if text.startswith(("http://", "https://")):
        if not any(text.startswith(prefix) for prefix in policy.url_prefixes if prefix):
            allowed = ", ".join(policy.url_prefixes) or "none"
            raise InvalidArgument(
                f"{field} {text[:200]!r} is not under a URL prefix the operator allows for hooks ({allowed})"
            )
        return Hook("http", text)
    entry = text.removeprefix("python:")
    match = _ENTRY_POINT.match(entry)
    if match is None:
        raise InvalidArgument(
            f"{field} must be python:package.module:function or an http(s):// URL, got {text[:200]!r}"
        )
    module = match.group(1)
    if entry not in policy.entry_points and f"{module}:*" not in policy.entry_points:
        allowed = ", ".join(policy.entry_points) or "none"
        raise InvalidArgument(
            f"{field} {entry!r} is not an entry point the operator allows for hooks ({allowed})"
        )
    return Hook("python", entry)


def pre_label_event(job_arn: str, data_object: Mapping[str, Any]) -> dict[str, Any]:
    return {"version": VERSION, "labelingJobArn": job_arn, "dataObject": dict(data_object)}


async def pre_label(
    hook: Hook | None,
    job_arn: str,
    data_object: Mapping[str, Any],
    policy: HookPolicy,
    sleep: Sleep = asyncio.sleep,
) -> PreLabel:
    """`taskInput` for one manifest line. Without a hook it is the line
    itself, as in Ground Truth."""
    size = len(json.dumps(data_object, ensure_ascii=False))
    if size > MAX_DATA_OBJECT_CHARS:
        raise HookFailed(
            f"the manifest line has {size:,} characters; Ground Truth's limit is {MAX_DATA_OBJECT_CHARS:,}"
        )
    if hook is None:
        return PreLabel(dict(data_object), True)
    answer = await call(hook, pre_label_event(job_arn, data_object), policy, sleep)
    return _pre_label_answer(hook, answer)


def _pre_label_answer(hook: Hook, answer: Any) -> PreLabel:
    if not isinstance(answer, dict):
        raise HookFailed(f"the pre-labeling hook {hook} returned {_kind(answer)}, not a JSON object")
    task_input = answer.get("taskInput")
    if not isinstance(task_input, dict):
        raise HookFailed(
            f"the pre-labeling hook {hook} returned no taskInput object (got {_kind(task_input)})"
        )
    required = True
    for key in ("isHumanAnnotationRequired", "humanAnnotationRequired"):
        if key in answer and answer[key] is not None:
            required = _truth(hook, key, answer[key])
            break
    return PreLabel(task_input, required)


def _truth(hook: Hook, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise HookFailed(f"the pre-labeling hook {hook} returned {key}={value!r}; it must be true or false")


async def consolidate(
    hook: Hook,
    event: Mapping[str, Any],
    dataset_object_ids: Sequence[str],
    policy: HookPolicy,
    sleep: Sleep = asyncio.sleep,
) -> dict[str, Any]:
    """The label of each object the post-labeling hook consolidated, by
    `datasetObjectId`: `consolidatedAnnotation.content[labelAttributeName]`.
    Objects the hook leaves out get no label, as in Ground Truth."""
    answer = await call(hook, event, policy, sleep)
    return check_consolidation(hook, answer, str(event["labelAttributeName"]), dataset_object_ids)


def check_consolidation(
    hook: Hook, answer: Any, attribute: str, dataset_object_ids: Sequence[str]
) -> dict[str, Any]:
    """The labels in a post-labeling hook's answer, by `datasetObjectId`,
    once the answer is known to have Ground Truth's shape."""
    if not isinstance(answer, list):
        raise HookFailed(f"the post-labeling hook {hook} returned {_kind(answer)}, not a JSON array")
    expected = set(dataset_object_ids)
    labels: dict[str, Any] = {}
    for index, entry in enumerate(answer):
        where = f"the post-labeling hook {hook} returned, at [{index}],"
        if not isinstance(entry, dict):
            raise HookFailed(f"{where} {_kind(entry)}, not an object")
        object_id = entry.get("datasetObjectId")
        if isinstance(object_id, int) and not isinstance(object_id, bool):
            object_id = str(object_id)
        if not isinstance(object_id, str) or object_id not in expected:
            raise HookFailed(f"{where} datasetObjectId {object_id!r}, which was not in the request")
        if object_id in labels:
            raise HookFailed(f"{where} datasetObjectId {object_id!r} a second time")
        content = (entry.get("consolidatedAnnotation") or {}).get("content")
        if not isinstance(content, dict) or attribute not in content:
            raise HookFailed(
                f"{where} no consolidatedAnnotation.content.{attribute} (the labelAttributeName)"
            )
        labels[object_id] = content[attribute]
    return labels


async def call(hook: Hook, event: Mapping[str, Any], policy: HookPolicy, sleep: Sleep = asyncio.sleep) -> Any:
    """The hook's answer to `event`, tried up to `policy.attempts` times."""
    failures = 0
    while True:
        try:
            return await _call_once(hook, event, policy)
        except _Retry as err:
            failures += 1
            if failures >= policy.attempts:
                raise HookFailed(
                    f"the hook {hook} failed {failures} time{'s' if failures > 1 else ''}; last: {err}"
                ) from None
            await sleep(policy.backoff(failures))


class _Retry(Exception):
    """A failure another try may not repeat (an exception, a timeout, a 5xx)."""


async def _call_once(hook: Hook, event: Mapping[str, Any], policy: HookPolicy) -> Any:
    body = json.dumps(event, ensure_ascii=False)
    if hook.kind == "http":
        try:  # httpx's timeout is per read; a server answering a byte at a time must not outlast it
            return await asyncio.wait_for(_post(hook, body, policy), policy.timeout_seconds)
        except TimeoutError:
            raise _Retry(f"no answer within {policy.timeout_seconds:g} s") from None
    handler = _resolve(hook)
    copy = json.loads(body)  # the hook gets JSON, as from Lambda, never our objects
    try:
        if inspect.iscoroutinefunction(handler):
            result = await asyncio.wait_for(handler(copy, None), policy.timeout_seconds)
        else:
            result = await asyncio.wait_for(asyncio.to_thread(handler, copy, None), policy.timeout_seconds)
    except TimeoutError:
        raise _Retry(f"no answer within {policy.timeout_seconds:g} s") from None
    except Exception as err:  # the hook's own failure, whatever it is
        raise _Retry(_short(f"{type(err).__name__}: {err}")) from None
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise HookFailed(f"the hook {hook} returned a value that is not JSON: {_short(str(err))}") from None
    if len(text.encode()) > MAX_RESPONSE_BYTES:
        raise HookFailed(f"the hook {hook} returned more than {MAX_RESPONSE_BYTES:,} bytes")
    return json.loads(text)


def _resolve(hook: Hook) -> Callable[..., Any]:
    module_name, _, function = hook.target.partition(":")
    try:
        handler = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as err:
        raise HookFailed(f"the hook {hook} cannot be loaded: {_short(str(err))}") from None
    if not callable(handler):
        raise HookFailed(f"the hook {hook} is not callable")
    return handler  # type: ignore[no-any-return]


async def _post(hook: Hook, body: str, policy: HookPolicy) -> Any:
    headers = {"content-type": "application/json"}
    try:
        async with (
            httpx.AsyncClient(timeout=policy.timeout_seconds, follow_redirects=False) as http,
            http.stream("POST", hook.target, content=body.encode(), headers=headers) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise HookFailed(f"the hook {hook} answered with more than {MAX_RESPONSE_BYTES:,} bytes")
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise _Retry(f"no answer within {policy.timeout_seconds:g} s") from None
    except httpx.HTTPError as err:
        raise _Retry(_short(f"{type(err).__name__}: {err}")) from None
    if response.status_code in _FINAL_STATUSES:
        raise HookFailed(f"the hook {hook} answered HTTP {response.status_code}")
    if response.status_code >= 300:
        raise _Retry(f"HTTP {response.status_code}")
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        raise HookFailed(f"the hook {hook} answered with a body that is not JSON") from None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _short(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"
