"""The authorization matrix: every RPC of every labelwire service, called by
every kind of caller, with the status each must get.

The RPCs come from the generated descriptors, so an RPC added to a `.proto`
without an entry in `MATRIX` fails here until someone decides who may call it.
Each case runs on a fresh server; the callers that must be refused go first, so
a refused call that changed something shows up in the allowed call after it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest

from labelwire.server.core import auth
from tests.authorization_calls import call, world_of
from tests.authorization_matrix import (
    CALL_DEADLINE_SECONDS,
    CALLERS,
    MATRIX,
    METHODS,
    NOT_FOUND,
    OK,
    UNAUTHENTICATED,
)
from tests.conftest import Harness
from tests.helpers import running_job, work


def test_every_rpc_of_every_service_has_a_row_in_the_matrix() -> None:
    assert sorted(METHODS) == sorted(MATRIX), "add a MATRIX entry saying who may call each new RPC"


def test_every_row_of_the_matrix_names_every_caller() -> None:
    assert {name: sorted(e.expected) for name, e in MATRIX.items()} == {
        name: sorted(CALLERS) for name in MATRIX
    }


@pytest.mark.parametrize("rpc", sorted(METHODS))
async def test_each_caller_gets_the_status_the_matrix_gives_it(
    files_server: Harness, files_root: Path, rpc: str
) -> None:
    server = files_server
    entry = MATRIX.get(rpc)
    if entry is None:
        pytest.fail(f"{rpc} has no row in the authorization matrix: decide who may call it")
    world, owner, other = await world_of(server, files_root)
    if entry.prepare is not None:
        await entry.prepare(world, owner)
    refused_first = sorted(CALLERS, key=lambda c: entry.expected[c] == OK)
    got: dict[str, grpc.StatusCode] = {}
    async with grpc.aio.insecure_channel(server.target) as channel:
        for caller in refused_first:
            got[caller] = await call(channel, METHODS[rpc], entry.request(world), world.tokens[caller])
    await owner.close()
    await other.close()
    assert got == entry.expected


async def test_a_refused_stream_labels_call_leaks_no_label(server: Harness) -> None:
    """The matrix checks statuses; this checks that another client's stream of
    the owner's job carries nothing before it is refused."""
    owner, other = await server.client("owner"), await server.client("other")
    job = await running_job(owner, items=2)
    _, token = await owner.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w)
    received: list[Any] = []

    async def follow() -> None:
        async for label in other.stream_labels(job.name, snapshot_only=True):
            received.append(label)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await asyncio.wait_for(follow(), CALL_DEADLINE_SECONDS)
    assert refused.value.code() == NOT_FOUND and received == []
    await owner.close()
    await other.close()


@pytest.mark.parametrize(
    "token",
    ["lwc_12", "lww_7", "lwc_abc_secret", "lww_-1_secret", "lwc__secret", "lwx_1_secret", "lwc_1_"],
)
async def test_a_malformed_token_is_unauthenticated_not_an_error(
    server: Harness, tmp_path: Path, token: str
) -> None:
    world, owner, other = await world_of(server, tmp_path)
    got = {}
    async with grpc.aio.insecure_channel(server.target) as channel:
        for rpc in ("JobService.GetJob", "WorkerService.NextTask"):
            got[rpc] = await call(channel, METHODS[rpc], MATRIX[rpc].request(world), token)
    await owner.close()
    await other.close()
    assert got == {"JobService.GetJob": UNAUTHENTICATED, "WorkerService.NextTask": UNAUTHENTICATED}


def test_keys_and_tokens_carry_256_bit_secrets() -> None:
    """32 random bytes, URL-safe base64 without padding: 43 characters."""
    secret = auth.new_secret()
    assert len(secret) == 43 and len(auth.new_secret()) == 43 and secret != auth.new_secret()
    stored = auth.digest(secret)
    assert auth.matches(secret, stored) and not auth.matches(secret + "x", stored)
    assert not auth.matches(secret, None)
