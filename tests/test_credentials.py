"""Credentials an operator can cut off: listing, revoking, rotating and
expiring API keys and worker tokens, on one replica and across two; the admin
key's read-only view; and the one accepted form of the authorization header."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import AdminClient, Client
from labelwire.server.core import auth
from labelwire.server.transport.app import Running, start_server
from labelwire.v1 import admin_service_pb2, job_service_pb2, job_service_pb2_grpc
from tests.conftest import ADMIN_KEY, Clock, Harness
from tests.helpers import CLASSES, running_job


async def code_of(call: Awaitable[object]) -> tuple[grpc.StatusCode | None, str]:
    """The status a call ends with; None when it succeeds."""
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return err.code(), err.details() or ""
    return None, ""


async def key_works(target: str, key: str) -> bool:
    async with Client(target, key) as lw:
        code, _ = await code_of(anext(aiter(lw.list_jobs()), None))
    assert code in (None, grpc.StatusCode.UNAUTHENTICATED), code
    return code is None


async def eventually_refused(target: str, key: str, clock: Clock) -> bool:
    """Whether a key is refused within the revocation bound: the clock moves
    past the credential cache and the key is tried again, a bounded number of times."""
    for _ in range(20):
        clock.advance(1.0)
        if not await key_works(target, key):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_listed_keys_carry_no_secret_and_a_revoked_key_fails_at_once(server: Harness) -> None:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("team-a")
        other = await admin.create_api_key("team-b")
        assert await key_works(server.target, key)
        listed = await admin.list_api_keys()
        secret = key.split("_", 2)[2]
        assert [k.client_name for k in listed] == ["team-a", "team-b"]
        assert all(secret not in str(k) for k in listed)
        mine = listed[0]
        assert key.startswith(mine.key_prefix) and mine.state == admin_service_pb2.CREDENTIAL_STATE_ACTIVE
        revoked = await admin.revoke_api_key(mine.name)
        assert revoked.state == admin_service_pb2.CREDENTIAL_STATE_REVOKED and revoked.HasField("revoke_time")
        only_a = await admin.list_api_keys(mine.client)
    assert [k.name for k in only_a] == [mine.name]
    assert not await key_works(server.target, key)
    assert await key_works(server.target, other)


async def test_a_rotated_key_works_through_its_grace_period_then_fails(server: Harness, clock: Clock) -> None:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("team")
        async with Client(server.target, key) as lw:
            job = await lw.create_job("J", classes=CLASSES)
        (old,) = await admin.list_api_keys()
        rotated = await admin.rotate_api_key(old.name, grace_period=3600)
    assert rotated.previous_api_key.state == admin_service_pb2.CREDENTIAL_STATE_ACTIVE
    assert rotated.api_key.client == old.client
    assert await key_works(server.target, key)
    async with Client(server.target, rotated.secret) as lw:
        assert (await lw.get_job(job.name)).name == job.name
    clock.advance(3601)
    assert not await key_works(server.target, key)
    assert await key_works(server.target, rotated.secret)


async def test_rotating_with_no_grace_period_ends_the_old_key_at_once(server: Harness) -> None:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("team")
        assert await key_works(server.target, key)
        (old,) = await admin.list_api_keys()
        rotated = await admin.rotate_api_key(old.name)
        code, message = await code_of(admin.rotate_api_key(old.name))
    assert rotated.previous_api_key.state == admin_service_pb2.CREDENTIAL_STATE_REVOKED
    assert not await key_works(server.target, key)
    assert await key_works(server.target, rotated.secret)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "revoked" in message


async def test_a_key_with_a_ttl_expires(server: Harness, clock: Clock) -> None:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("team", ttl=600)
        assert await key_works(server.target, key)
        clock.advance(601)
        assert not await key_works(server.target, key)
        (listed,) = await admin.list_api_keys()
    assert listed.state == admin_service_pb2.CREDENTIAL_STATE_EXPIRED


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda a: a.create_api_key("team", ttl=5), "ttl (seconds) must be between 60"),
        (lambda a: a.rotate_api_key("clients/1/apiKeys/1", grace_period=31 * 86400), "grace_period"),
        (lambda a: a.rotate_api_key("keys/1"), "clients/<number>/apiKeys/<number>"),
        (lambda a: a.list_api_keys("clients/x"), "parent must look like clients/<number>"),
    ],
)
async def test_bad_credential_requests_name_the_field_and_change_nothing(
    server: Harness, call: Callable[[AdminClient], Awaitable[object]], field: str
) -> None:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("team")
        code, message = await code_of(call(admin))
        after = await admin.list_api_keys()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and field in message
    assert [k.state for k in after] == [admin_service_pb2.CREDENTIAL_STATE_ACTIVE]
    assert await key_works(server.target, key)


async def test_unknown_keys_are_not_found_and_clients_cannot_manage_keys(server: Harness) -> None:
    lw = await server.client()
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        code, _ = await code_of(admin.revoke_api_key("clients/1/apiKeys/999"))
        (listed,) = await admin.list_api_keys()
    async with AdminClient(server.target, lw.metadata[0][1].removeprefix("Bearer ")) as as_client:
        denied, _ = await code_of(as_client.revoke_api_key(listed.name))
    assert code == grpc.StatusCode.NOT_FOUND
    assert denied == grpc.StatusCode.PERMISSION_DENIED
    await lw.close()


async def test_a_revoked_worker_token_fails_and_a_rotated_one_replaces_it(
    server: Harness, clock: Clock
) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    worker, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        assert (await w.next_task()).HasField("task")
    new = await lw.rotate_worker_token(worker.name, grace_period=60)
    async with server.worker(token) as w:
        assert (await w.stats()).name == worker.name
    clock.advance(61)
    async with server.worker(token) as w:
        expired, _ = await code_of(w.stats())
    async with server.worker(new) as w:
        assert (await w.stats()).name == worker.name
    await lw.revoke_worker_token(worker.name)
    async with server.worker(new) as w:
        revoked, message = await code_of(w.stats())
    assert expired == revoked == grpc.StatusCode.UNAUTHENTICATED and "revoked" in message
    await lw.close()


async def test_a_worker_token_with_a_ttl_expires_and_only_the_jobs_owner_may_revoke_it(
    server: Harness, clock: Clock
) -> None:
    lw, other = await server.client("a"), await server.client("b")
    job = await running_job(lw, items=1)
    worker, token = await lw.create_worker(job.name, "w", token_ttl=120)
    code, _ = await code_of(other.revoke_worker_token(worker.name))
    async with server.worker(token) as w:
        assert (await w.stats()).name == worker.name
        clock.advance(121)
        expired, message = await code_of(w.stats())
    assert code == grpc.StatusCode.NOT_FOUND
    assert expired == grpc.StatusCode.UNAUTHENTICATED and "expired" in message
    await lw.close()
    await other.close()


@pytest.fixture
async def two_replicas(database: str, clock: Clock) -> AsyncIterator[tuple[Running, Running]]:
    """Two servers on one database, each with its own principal cache."""
    a = await start_server(address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock)
    b = await start_server(address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock)
    try:
        yield a, b
    finally:
        await a.stop(grace=None)
        await b.stop(grace=None)


async def revoked_on_a_fails_on_b(a: Running, b: Running, clock: Clock) -> None:
    on_a, on_b = f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"
    async with AdminClient(on_a, ADMIN_KEY) as admin:
        key = await admin.create_api_key("team")
        assert await key_works(on_b, key)
        (listed,) = await admin.list_api_keys()
        await admin.revoke_api_key(listed.name)
    assert await eventually_refused(on_b, key, clock)
    assert b.core.credentials.credential_cache_seconds <= 5


async def test_a_key_revoked_on_one_replica_fails_on_another_sqlite(tmp_path: Path, clock: Clock) -> None:
    database = str(tmp_path / "shared.db")
    a = await start_server(address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock)
    b = await start_server(address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock)
    try:
        await revoked_on_a_fails_on_b(a, b, clock)
    finally:
        await a.stop(grace=None)
        await b.stop(grace=None)


async def test_a_key_revoked_on_one_replica_fails_on_another_postgres(
    postgres_database: str, clock: Clock
) -> None:
    a = await start_server(
        address="127.0.0.1:0", database=postgres_database, admin_key=ADMIN_KEY, clock=clock
    )
    b = await start_server(
        address="127.0.0.1:0", database=postgres_database, admin_key=ADMIN_KEY, clock=clock
    )
    try:
        await revoked_on_a_fails_on_b(a, b, clock)
    finally:
        await a.stop(grace=None)
        await b.stop(grace=None)


async def test_a_replica_keeps_trusting_a_checked_key_only_within_its_cache_time(
    tmp_path: Path, clock: Clock
) -> None:
    """The other side of the bound: within the cache time a replica does not
    read the key again (the cache is real), after it it does."""
    database = str(tmp_path / "shared.db")
    a = await start_server(
        address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock, credential_cache_seconds=4
    )
    b = await start_server(
        address="127.0.0.1:0", database=database, admin_key=ADMIN_KEY, clock=clock, credential_cache_seconds=4
    )
    on_a, on_b = f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"
    try:
        async with AdminClient(on_a, ADMIN_KEY) as admin:
            key = await admin.create_api_key("team")
            assert await key_works(on_b, key)
            (listed,) = await admin.list_api_keys()
            await admin.revoke_api_key(listed.name)
        assert not await key_works(on_a, key)
        clock.advance(4.5)
        assert not await key_works(on_b, key)
    finally:
        await a.stop(grace=None)
        await b.stop(grace=None)


async def test_the_admin_key_lists_every_clients_jobs_but_changes_nothing(server: Harness) -> None:
    a, b = await server.client("a"), await server.client("b")
    job_a = await a.create_job("A", classes=CLASSES)
    job_b = await b.create_job("B", classes=CLASSES)
    async with Client(server.target, ADMIN_KEY) as operator:
        listed = [j async for j in operator.list_jobs()]
        one = await operator.get_job(job_a.name)
        start, _ = await code_of(operator.start_job(job_a.name))
        cancel, _ = await code_of(operator.cancel_job(job_b.name))
        create, _ = await code_of(operator.create_job("C", classes=CLASSES))
        worker, _ = await code_of(operator.create_worker(job_a.name, "w"))
        labels, _ = await code_of(operator.list_labels(job_a.name).__anext__())
    assert [(j.name, j.owner) for j in listed] == [(job_b.name, job_b.owner), (job_a.name, job_a.owner)]
    assert job_a.owner != job_b.owner and job_a.owner.startswith("clients/")
    assert one.display_name == "A"
    assert start == cancel == create == worker == labels == grpc.StatusCode.PERMISSION_DENIED
    assert (await a.get_job(job_a.name)).state == job_a.state
    await a.close()
    await b.close()


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("Bearer {key}", True),
        ("bearer {key}", True),
        ("BEARER {key}", True),
        ("{key}", False),
        ("Bearer  {key}", False),
        ("Bearer {key} extra", False),
        ("Basic {key}", False),
        ("Bearer", False),
        ("Token {key}", False),
    ],
)
async def test_only_the_bearer_scheme_is_accepted(server: Harness, header: str, accepted: bool) -> None:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("team")
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = job_service_pb2_grpc.JobServiceStub(channel)
        code, message = await code_of(
            stub.ListJobs(
                job_service_pb2.ListJobsRequest(), metadata=(("authorization", header.format(key=key)),)
            )
        )
    if accepted:
        assert code is None
    else:
        assert code == grpc.StatusCode.UNAUTHENTICATED and "authorization: Bearer <token>" in message


async def test_other_metadata_beside_the_authorization_is_not_read_as_a_token(server: Harness) -> None:
    """Only the `authorization` key carries the token: other keys sent before it
    (here ones that sort before it) are neither parsed nor refused."""
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("team")
    metadata = (("accept-language", "en"), ("a-trace", "Basic x"), ("authorization", f"Bearer {key}"))
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = job_service_pb2_grpc.JobServiceStub(channel)
        code, _ = await code_of(stub.ListJobs(job_service_pb2.ListJobsRequest(), metadata=metadata))
    assert code is None


async def test_keys_and_tokens_made_before_the_credentials_table_keep_working(tmp_path: Path) -> None:
    """A database from before migration 5, with a key and a worker token in the
    old form (`lwc_<client id>_<secret>`), served by this version."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    folder = resources.files("labelwire.server.store.migrations.sqlite")
    for number in ("0001", "0002", "0003"):
        (script,) = [p for p in folder.iterdir() if p.name.startswith(number)]
        conn.executescript(script.read_text())
    client_secret, worker_secret = auth.new_secret(), auth.new_secret()
    conn.execute("INSERT INTO clients VALUES (7, 'old', ?, 0)", (auth.digest(client_secret),))
    conn.execute(
        "INSERT INTO jobs (id, owner_id, spec, state, created_at, updated_at) VALUES (1, 99, '{}', 1, 0, 0)"
    )
    conn.execute(
        "INSERT INTO workers (id, job_id, display_name, token_hash, status, quiz_remaining, created_at)"
        " VALUES (1, 1, 'w', ?, 2, 0, 0)",
        (auth.digest(worker_secret),),
    )
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    running = await start_server(address="127.0.0.1:0", database=str(path), admin_key=ADMIN_KEY)
    target = f"127.0.0.1:{running.port}"
    try:
        old_key = f"lwc_7_{client_secret}"
        assert await key_works(target, old_key)
        async with AdminClient(target, ADMIN_KEY) as admin:
            new_key = await admin.create_api_key("new")
            listed = await admin.list_api_keys()
            assert [k.client for k in listed] == ["clients/7", "clients/8"]
            await admin.revoke_api_key(listed[0].name)
        assert not await key_works(target, old_key)
        assert await key_works(target, new_key)
        async with Client(target, f"lww_1_{worker_secret}") as as_worker:
            code, _ = await code_of(as_worker.get_job("jobs/1"))
        assert code == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await running.stop(grace=None)
