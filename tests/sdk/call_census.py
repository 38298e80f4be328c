"""Which public SDK methods the tests call, blocking and async: a pytest plugin.

    python -m pytest -p tests.sdk.call_census tests/sdk -q

It wraps every public method of the four client pairs, records each call (an
async method counts as called async only when a test called it, not when its
blocking twin did), and lists the methods never called one way or the other at
the end of the run. Not loaded by default: the issue's "every public method,
sync and async, against a live server" is checked by running it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import pytest

from labelwire.client import aio, sync
from labelwire.client.aio.base import public_methods

PAIRS = (
    (aio.AsyncClient, sync.Client),
    (aio.AsyncWorkerClient, sync.WorkerClient),
    (aio.AsyncAdminClient, sync.AdminClient),
    (aio.AsyncWorkerAccountClient, sync.WorkerAccountClient),
)
called: set[str] = set()


def _recording(fn: Callable[..., Any], label: str, from_sync_ignored: bool) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if not (from_sync_ignored and sys._getframe(1).f_code.co_filename == sync.__file__):
            called.add(label)
        return fn(*args, **kwargs)

    return call


def _wrap() -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {}
    for async_cls, sync_cls in PAIRS:
        names = list(public_methods(async_cls))
        expected[async_cls.__name__] = names
        for name in names:
            owner = next(c for c in async_cls.__mro__ if name in vars(c))
            setattr(owner, name, _recording(vars(owner)[name], f"{async_cls.__name__}.{name}", True))
            setattr(sync_cls, name, _recording(vars(sync_cls)[name], f"{sync_cls.__name__}.{name}", False))
    return expected


EXPECTED = _wrap()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.section("SDK call census")
    for async_name, names in EXPECTED.items():
        sync_name = async_name.removeprefix("Async")
        never_sync = [n for n in names if f"{sync_name}.{n}" not in called]
        never_async = [n for n in names if f"{async_name}.{n}" not in called]
        terminalreporter.write_line(
            f"{async_name} / {sync_name}: {len(names)} methods;"
            f" never called blocking: {never_sync or 'none'}; never called async: {never_async or 'none'}"
        )
