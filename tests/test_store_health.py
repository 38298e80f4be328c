"""A replica that loses its database says so on health checking and recovers by itself
(the scale-out issue, section 3): a load balancer must stop sending it calls while the
database is gone and send them again once it is back, with no restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from labelwire.client.raw import AdminClient, Client
from labelwire.server.transport.app import Running, start_server

from .conftest import ADMIN_KEY, POSTGRES

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
async def replica(postgres_database: str) -> AsyncIterator[Running]:
    running = await start_server(
        address="127.0.0.1:0", database=postgres_database, admin_key=ADMIN_KEY, health_probe_seconds=0.2
    )
    try:
        yield running
    finally:
        await running.stop(grace=None)


async def health(target: str, service: str = "") -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service)
        )
        return int(reply.status)


async def until(target: str, status: int, service: str = "") -> None:
    """Waits (at most a minute, far beyond the 0.2 s probe) for health to report `status`."""
    for _ in range(600):
        if await health(target, service) == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"health never reported {health_pb2.HealthCheckResponse.ServingStatus.Name(status)}")


def cut_off(database: str, allow: bool) -> None:
    """Refuses (or allows again) new connections to the replica's database and drops
    the ones it holds: to the replica, the database is gone (or back)."""
    name = urlsplit(database).path.lstrip("/")
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {'true' if allow else 'false'}")
        if not allow:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )


async def test_a_replica_whose_database_is_gone_is_not_serving_until_it_returns(
    replica: Running, postgres_database: str
) -> None:
    target = f"127.0.0.1:{replica.port}"
    assert await health(target) == SERVING
    async with AdminClient(target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("health")

    await asyncio.to_thread(cut_off, postgres_database, False)
    try:
        await until(target, NOT_SERVING)
        assert await health(target, "labelwire.v1.JobService") == NOT_SERVING
        async with Client(target, key) as client:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await client.create_job("while gone", classes=["a", "b"])
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value.details()
    finally:
        await asyncio.to_thread(cut_off, postgres_database, True)

    await until(target, SERVING)
    assert await health(target, "labelwire.v1.JobService") == SERVING
    async with Client(target, key) as client:
        job = await client.create_job("after", classes=["a", "b"])
        assert (await client.get_job(job.name)).display_name == "after"
