"""Ground Truth's pre- and post-labeling hooks, as a Python entry point and as an
HTTP endpoint: the events they get and the answers taken from them (aws.md §3),
the operator's allow-lists, retries with backoff, and hooks that keep failing."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from labelwire.server.domain import gt_hooks
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.gt_hooks import Hook, HookFailed, HookPolicy

HERE = "tests.test_gt_hooks"
ARN = "arn:labelwire:sagemaker:pool:111122223333:labeling-job/my-job"
LINE = {"source-ref": "s3://bkt/images/0001.jpg", "our-id": "item-0001"}
CALLS: list[dict[str, Any]] = []


def pre_hook(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A pre-labeling Lambda as AWS's samples write it."""
    CALLS.append(event)
    data = event["dataObject"]
    return {
        "taskInput": {"taskObject": data["source-ref"], "labels": ["cat", "dog"]},
        "humanAnnotationRequired": "false",
    }


def flaky_hook(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(event)
    if len(CALLS) < 3:
        raise ConnectionError("throttled")
    return {"taskInput": {"n": len(CALLS)}, "isHumanAnnotationRequired": True}


def broken_hook(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(event)
    raise KeyError("source-ref")


def no_task_input(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"taskinput": {}}


async def slow_hook(event: dict[str, Any], context: Any) -> dict[str, Any]:
    await asyncio.sleep(60)
    return {"taskInput": {}}


def huge_hook(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"taskInput": {"x": "a" * (gt_hooks.MAX_RESPONSE_BYTES + 1)}}


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    CALLS.clear()


@dataclass
class Sleeps:
    waited: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


def policy(**kwargs: Any) -> HookPolicy:
    return HookPolicy(entry_points=(f"{HERE}:*",), url_prefixes=("http://127.0.0.1:",), **kwargs)


def python(name: str) -> Hook:
    hook = gt_hooks.parse_hook(f"python:{HERE}:{name}", "pre", policy())
    assert hook is not None
    return hook


@dataclass
class Endpoint:
    url: str
    received: list[Any]
    replies: list[tuple[int, bytes]]


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """A hook service on a free local port answering with the queued replies."""
    received: list[Any] = []
    replies: list[tuple[int, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((self.headers["content-type"], json.loads(body)))
            status, reply = replies.pop(0)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Endpoint(f"http://127.0.0.1:{server.server_address[1]}/pre", received, replies)
    server.shutdown()
    server.server_close()


def test_an_entry_point_outside_the_operators_list_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        gt_hooks.parse_hook("python:os:system", "HumanTaskConfig.PreHumanTaskLambdaArn", policy())
    assert err.value.message == (
        "HumanTaskConfig.PreHumanTaskLambdaArn 'os:system' is not an entry point the operator allows for hooks"
        f" ({HERE}:*)"
    )


def test_a_url_outside_the_operators_prefixes_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        gt_hooks.parse_hook("https://evil.example/hook", "post", policy())
    assert "is not under a URL prefix the operator allows" in err.value.message


def test_a_hook_that_is_neither_an_entry_point_nor_a_url_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        gt_hooks.parse_hook("file:///etc/passwd", "pre", policy())
    assert err.value.message.startswith("pre must be python:package.module:function or an http(s):// URL")


async def test_an_entry_point_hook_gets_ground_truths_event_and_its_task_input_is_used() -> None:
    result = await gt_hooks.pre_label(python("pre_hook"), ARN, LINE, policy())
    assert CALLS == [{"version": "2018-10-06", "labelingJobArn": ARN, "dataObject": LINE}]
    assert result.task_input == {"taskObject": "s3://bkt/images/0001.jpg", "labels": ["cat", "dog"]}
    assert result.human_annotation_required is False


async def test_without_a_pre_hook_the_manifest_line_is_the_task_input() -> None:
    result = await gt_hooks.pre_label(None, ARN, LINE, policy())
    assert result.task_input == LINE and result.human_annotation_required is True


async def test_an_http_hook_gets_the_event_as_a_json_post(endpoint: Endpoint) -> None:
    answer = {"taskInput": {"taskObject": "x"}, "isHumanAnnotationRequired": "true"}
    endpoint.replies.append((200, json.dumps(answer).encode()))
    hook = gt_hooks.parse_hook(endpoint.url, "pre", policy())
    assert hook is not None
    result = await gt_hooks.pre_label(hook, ARN, LINE, policy())
    assert endpoint.received == [
        ("application/json", {"version": "2018-10-06", "labelingJobArn": ARN, "dataObject": LINE})
    ]
    assert result.task_input == {"taskObject": "x"} and result.human_annotation_required is True


async def test_a_failing_hook_is_retried_with_backoff_until_it_answers() -> None:
    sleeps = Sleeps()
    result = await gt_hooks.pre_label(python("flaky_hook"), ARN, LINE, policy(), sleeps)
    assert len(CALLS) == 3 and result.task_input == {"n": 3}
    assert sleeps.waited == [0.5, 1.0]


async def test_a_hook_that_keeps_failing_raises_with_the_reason_after_the_last_attempt() -> None:
    sleeps = Sleeps()
    with pytest.raises(HookFailed) as err:
        await gt_hooks.pre_label(python("broken_hook"), ARN, LINE, policy(attempts=3), sleeps)
    assert len(CALLS) == 3 and sleeps.waited == [0.5, 1.0]
    assert (
        err.value.reason == f"the hook python:{HERE}:broken_hook failed 3 times; last: KeyError: 'source-ref'"
    )


async def test_an_http_hook_answering_5xx_is_retried_and_4xx_is_not(endpoint: Endpoint) -> None:
    hook = gt_hooks.parse_hook(endpoint.url, "pre", policy())
    assert hook is not None
    endpoint.replies += [(502, b"{}"), (200, b'{"taskInput": {"ok": 1}}')]
    result = await gt_hooks.pre_label(hook, ARN, LINE, policy(), Sleeps())
    assert result.task_input == {"ok": 1} and len(endpoint.received) == 2
    endpoint.received.clear()
    endpoint.replies.append((403, b"{}"))
    with pytest.raises(HookFailed) as err:
        await gt_hooks.pre_label(hook, ARN, LINE, policy(), Sleeps())
    assert err.value.reason == f"the hook {endpoint.url} answered HTTP 403" and len(endpoint.received) == 1


async def test_a_hook_that_does_not_answer_in_time_fails_as_a_timeout() -> None:
    with pytest.raises(HookFailed) as err:
        await gt_hooks.pre_label(
            python("slow_hook"), ARN, LINE, policy(timeout_seconds=0.05, attempts=2), Sleeps()
        )
    assert err.value.reason.endswith("failed 2 times; last: no answer within 0.05 s")


async def test_a_pre_hook_answer_without_task_input_is_refused() -> None:
    with pytest.raises(HookFailed) as err:
        await gt_hooks.pre_label(python("no_task_input"), ARN, LINE, policy())
    assert "returned no taskInput object (got null)" in err.value.reason


async def test_a_hook_answer_over_the_size_limit_is_refused() -> None:
    with pytest.raises(HookFailed) as err:
        await gt_hooks.pre_label(python("huge_hook"), ARN, LINE, policy())
    assert "returned more than 6,291,456 bytes" in err.value.reason


async def test_a_manifest_line_over_ground_truths_limit_never_reaches_the_hook() -> None:
    with pytest.raises(HookFailed) as err:
        await gt_hooks.pre_label(python("pre_hook"), ARN, {"source": "x" * 100_001}, policy())
    assert CALLS == [] and "Ground Truth's limit is 100,000" in err.value.reason


def test_a_consolidation_answer_is_taken_under_the_label_attribute() -> None:
    hook = python("pre_hook")
    answer = [
        {"datasetObjectId": "0", "consolidatedAnnotation": {"content": {"category": {"label": "dog"}}}},
        {"datasetObjectId": 2, "consolidatedAnnotation": {"content": {"category": "cat"}}},
    ]
    assert gt_hooks.check_consolidation(hook, answer, "category", ["0", "1", "2"]) == {
        "0": {"label": "dog"},
        "2": "cat",
    }


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"datasetObjectId": "0"}, "returned an object, not a JSON array"),
        (
            [{"datasetObjectId": "7", "consolidatedAnnotation": {"content": {"category": 1}}}],
            "'7', which was not",
        ),
        ([{"datasetObjectId": "0", "consolidatedAnnotation": {"content": {"other": 1}}}], "content.category"),
        (
            [{"datasetObjectId": "0", "consolidatedAnnotation": {"content": {"category": 1}}}] * 2,
            "'0' a second time",
        ),
    ],
)
def test_a_consolidation_answer_of_the_wrong_shape_is_refused(answer: Any, reason: str) -> None:
    with pytest.raises(HookFailed) as err:
        gt_hooks.check_consolidation(python("pre_hook"), answer, "category", ["0"])
    assert reason in err.value.reason


async def test_an_http_hook_that_answers_too_slowly_fails_as_a_timeout() -> None:
    """A server dripping its answer a byte at a time must not hold the call past the timeout."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        for _ in range(1000):  # a byte every 20 ms: each read is quick, the whole is not
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.02)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hook = gt_hooks.parse_hook(f"http://127.0.0.1:{port}/slow", "pre", policy())
    assert hook is not None
    try:
        with pytest.raises(HookFailed) as err:
            await gt_hooks.pre_label(hook, ARN, LINE, policy(timeout_seconds=0.2, attempts=1), Sleeps())
    finally:
        server.close()
    assert err.value.reason.endswith("failed 1 time; last: no answer within 0.2 s")
