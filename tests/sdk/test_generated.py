"""The blocking clients cannot drift from the async ones: sync.py is generated
from the aio package, the file in the tree is the generator's output, and each blocking
class has exactly its async twin's methods with the same parameters."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from labelwire.client import aio, sync
from labelwire.client.aio.base import public_methods

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    (aio.AsyncClient, sync.Client),
    (aio.AsyncWorkerClient, sync.WorkerClient),
    (aio.AsyncAdminClient, sync.AdminClient),
    (aio.AsyncWorkerAccountClient, sync.WorkerAccountClient),
]


def test_the_generated_file_is_current() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/gen_sync_client.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def _public(cls: type) -> dict[str, inspect.Signature]:
    """Every public call: an async client's own and its mixins', a generated
    blocking client's own (the shared `SyncBase` calls left out on both sides)."""
    methods = public_methods(cls) if cls.__module__.startswith("labelwire.client.aio") else vars(cls)
    return {
        name: inspect.signature(inspect.unwrap(fn))
        for name, fn in methods.items()
        if not name.startswith("_") and callable(fn)
    }


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=lambda c: c.__name__)
def test_same_methods_same_parameters(async_cls: type, sync_cls: type) -> None:
    async_methods, sync_methods = _public(async_cls), _public(sync_cls)
    assert sorted(async_methods) == sorted(sync_methods)
    for name, signature in async_methods.items():
        assert list(signature.parameters.values()) == list(sync_methods[name].parameters.values()), name
        assert inspect.getdoc(getattr(sync_cls, name)), f"{sync_cls.__name__}.{name} has no docstring"
    assert inspect.signature(async_cls.__init__).parameters == inspect.signature(sync_cls.__init__).parameters


def test_every_public_method_has_a_docstring() -> None:
    import labelwire.client as sdk

    missing = [
        f"{name}.{attr}"
        for name in sdk.__all__
        if inspect.isclass(cls := getattr(sdk, name)) and not issubclass(cls, Exception)
        for attr, fn in vars(cls).items()
        if not attr.startswith("_") and inspect.isfunction(fn) and not inspect.getdoc(fn)
    ]
    assert missing == []


def test_the_api_reference_builds_without_warnings() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/build_sdk_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
