"""Shared fixtures: a real server on an ephemeral port with a fresh SQLite file."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labelwire.client import AdminClient, Client, WorkerClient
from labelwire.server.app import Running, start_server

ADMIN_KEY = "test-admin-key"


@dataclass
class Harness:
    running: Running
    target: str
    database: Path

    async def client(self, name: str = "ml-team") -> Client:
        async with AdminClient(self.target, ADMIN_KEY) as admin:
            key = await admin.create_api_key(name)
        return Client(self.target, key)

    def worker(self, token: str) -> WorkerClient:
        return WorkerClient(self.target, token)


class Clock:
    """The server's clock, moved by the test to expire leases without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def server(tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    database = tmp_path / "labelwire.db"
    running = await start_server(
        address="127.0.0.1:0", database=str(database), admin_key=ADMIN_KEY, clock=clock, seed=0
    )
    try:
        yield Harness(running=running, target=f"127.0.0.1:{running.port}", database=database)
    finally:
        await running.stop(grace=None)


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    """Dummy AWS credentials, so that nothing could ever reach real AWS."""
    from tests.groundtruth.harness import DUMMY_ENV

    saved = {k: os.environ.get(k) for k in DUMMY_ENV}
    os.environ.update(DUMMY_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_endpoint(aws_env: None) -> Iterator[str]:
    """A real S3 server (moto's) on a free local port, one per session."""
    from tests.groundtruth.harness import moto_server

    with moto_server() as url:
        yield url
