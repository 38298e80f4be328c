"""Shared fixtures: a real server on an ephemeral port with a fresh database.

The database is a SQLite file unless LABELWIRE_TEST_STORE=postgres, which gives
each test a new PostgreSQL database instead (on LABELWIRE_TEST_POSTGRES, by
default the local server), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from labelwire.client.raw import AdminClient, Client, WorkerClient
from labelwire.server.core.auth import parse as parse_token
from labelwire.server.files.policy import FilesSettings
from labelwire.server.transport.app import Running, start_server

ADMIN_KEY = "test-admin-key"
# Every `labelwire serve` a test starts takes a free port for its HTTP port,
# never 8080, so tests (and other runs on the machine) do not collide.
os.environ.setdefault("LABELWIRE_HTTP_ADDRESS", "127.0.0.1:0")
TEST_STORE = os.environ.get("LABELWIRE_TEST_STORE", "sqlite")
# Under CI a missing PostgreSQL fails the run: the multi-replica safety tests
# only run there, and a skip would pass a build that never checked them.
UNDER_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
POSTGRES = os.environ.get("LABELWIRE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Harness:
    running: Running
    target: str
    database: str | Path

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
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database; its URL. Skips when no server answers,
    unless the run asked for PostgreSQL (LABELWIRE_TEST_STORE=postgres) or runs
    under CI (CI=true): then it fails."""
    try:
        import psycopg

        from labelwire.server.store.postgres import pooling

        admin = psycopg.connect(pooling(POSTGRES)[0], autocommit=True, connect_timeout=3)
    except Exception as exc:  # psycopg missing, or no server answering
        reason = f"no PostgreSQL reachable at {POSTGRES} (set LABELWIRE_TEST_POSTGRES): {exc}"
        if TEST_STORE == "postgres" or UNDER_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"labelwire_test_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield urlsplit(POSTGRES)._replace(path=f"/{name}").geturl()
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's server keeps its data: a SQLite file, or a PostgreSQL URL
    when LABELWIRE_TEST_STORE=postgres."""
    if TEST_STORE == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    if TEST_STORE != "sqlite":
        pytest.fail(f"LABELWIRE_TEST_STORE must be sqlite or postgres, got {TEST_STORE!r}")
    return str(tmp_path / "labelwire.db")


@pytest.fixture
async def server(database: str, clock: Clock) -> AsyncIterator[Harness]:
    running = await start_server(
        address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock, seed=0
    )
    try:
        yield Harness(running=running, target=f"127.0.0.1:{running.port}", database=database)
    finally:
        await running.stop(grace=None)


@dataclass
class HttpHarness(Harness):
    url: str


@pytest.fixture
async def http_server(database: str, clock: Clock) -> AsyncIterator[HttpHarness]:
    """A server with its HTTP port on too (Connect, gRPC-Web, the worker app)."""
    running = await start_server(
        address="127.0.0.1:0",
        database=database,
        admin_key=ADMIN_KEY,
        clock=clock,
        seed=0,
        http_address="127.0.0.1:0",
    )
    assert running.http is not None
    try:
        yield HttpHarness(
            running=running,
            target=f"127.0.0.1:{running.port}",
            database=database,
            url=f"http://127.0.0.1:{running.http.port}",
        )
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


@contextlib.asynccontextmanager
async def serving(database: str, clock: Clock, files: FilesSettings | None = None) -> AsyncIterator[Harness]:
    """A server with the given files settings (local paths and S3 prefixes clients may name)."""
    running = await start_server(
        address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock, seed=0, files=files
    )
    try:
        yield Harness(running=running, target=f"127.0.0.1:{running.port}", database=database)
    finally:
        await running.stop(grace=None)


@pytest.fixture
def files_root(tmp_path: Path) -> Path:
    """The operator's files root: the test's folder, which also holds the SQLite
    database, so that the database sits right beside the client folders."""
    return tmp_path


@pytest.fixture
async def files_server(database: str, clock: Clock, files_root: Path) -> AsyncIterator[Harness]:
    async with serving(database, clock, FilesSettings.build(files_root)) as harness:
        yield harness


def client_folder(root: Path, client: Client) -> Path:
    """The client's own folder under the files root, made as an operator would."""
    parsed = parse_token(dict(client.metadata)["authorization"].removeprefix("Bearer "))
    assert parsed is not None
    folder = root / str(parsed[1])
    folder.mkdir(exist_ok=True)
    return folder
