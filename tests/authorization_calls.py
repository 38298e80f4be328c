"""How the authorization tests call an RPC as each kind of caller, and the
world of jobs, workers and adapters they call it in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor

from labelwire.client.raw import AdminClient, Client, text_item
from labelwire.v1 import (
    adapter_service_pb2,
    adapter_service_pb2_grpc,
)
from tests.authorization_matrix import (
    ADAPTER,
    ADMIN,
    CALL_DEADLINE_SECONDS,
    NO_TOKEN,
    OK,
    OTHER_ADAPTER,
    OTHER_CLIENT,
    OTHER_WORKER,
    OWNER,
    WORKER,
    World,
)
from tests.conftest import ADMIN_KEY, Harness, client_folder
from tests.helpers import CLASSES, running_job


async def call(
    channel: grpc.aio.Channel, method: MethodDescriptor, request: Any, token: str
) -> grpc.StatusCode:
    """Calls one RPC generically (unary, client- or server-streaming), reading
    a response stream to its end under a deadline; its status."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    response_type = message_factory.GetMessageClass(method.output_type)
    codec: dict[str, Any] = {
        "request_serializer": lambda m: m.SerializeToString(),
        "response_deserializer": response_type.FromString,
    }
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    try:
        if method.client_streaming and method.server_streaming:
            stream = channel.stream_stream(path, **codec)(
                iter(request), metadata=metadata, timeout=CALL_DEADLINE_SECONDS
            )
            async for _ in stream:
                pass
        elif method.client_streaming:
            await channel.stream_unary(path, **codec)(
                iter(request), metadata=metadata, timeout=CALL_DEADLINE_SECONDS
            )
        elif method.server_streaming:
            stream = channel.unary_stream(path, **codec)(
                request, metadata=metadata, timeout=CALL_DEADLINE_SECONDS
            )
            async for _ in stream:
                pass
        else:
            await channel.unary_unary(path, **codec)(
                request, metadata=metadata, timeout=CALL_DEADLINE_SECONDS
            )
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return OK


async def world_of(server: Harness, root: Path) -> tuple[World, Client, Client]:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        owner_key, other_key = await admin.create_api_key("owner"), await admin.create_api_key("other")
        await admin.create_api_key("spare")
        spare_key = next(k.name for k in await admin.list_api_keys() if k.client.endswith("/3"))
    owner, other = Client(server.target, owner_key), Client(server.target, other_key)
    files = client_folder(root, owner)
    job = await running_job(owner, items=3)
    draft = await owner.create_job("Draft", classes=CLASSES, quiz_size=0)
    await owner.add_items(draft.name, [text_item("d1", "draft item")])
    _, worker = await owner.create_worker(job.name, "worker")
    spare_worker, _ = await owner.create_worker(job.name, "spare")
    async with server.worker(worker) as w:
        task = (await w.next_task()).task.name
    other_job = await running_job(other, items=1)
    _, other_worker = await other.create_worker(other_job.name, "elsewhere")
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        adapter_key = (await admin.create_adapter_key("vendor")).adapter_key
        other_adapter_key = (await admin.create_adapter_key("elsewhere")).adapter_key
        spare_adapter_key = (await admin.create_adapter_key("spare")).adapter_key_name
    remote_job = await owner.create_job(
        "Remote", classes=CLASSES, quiz_size=0, workforce="remote", workforce_settings={"adapter": "vendor"}
    )
    await owner.add_items(remote_job.name, [text_item(f"r{i}", "remote item") for i in range(2)])
    await owner.start_job(remote_job.name)
    async with grpc.aio.insecure_channel(server.target) as channel:
        await adapter_service_pb2_grpc.WorkforceAdapterServiceStub(channel).ClaimItems(
            adapter_service_pb2.ClaimItemsRequest(job=remote_job.name, claim_id="c1", max_items=1),
            metadata=(("authorization", f"Bearer {adapter_key}"),),
        )
    tokens = {
        OWNER: owner_key,
        OTHER_CLIENT: other_key,
        WORKER: worker,
        OTHER_WORKER: other_worker,
        ADMIN: ADMIN_KEY,
        NO_TOKEN: "",
        ADAPTER: adapter_key,
        OTHER_ADAPTER: other_adapter_key,
    }
    team = await owner.create_team("team")
    member = await owner.create_worker_account("member")
    await owner.add_team_member(team.name, member.name)
    spare_account = await owner.create_worker_account("spare")
    world = World(
        job.name,
        draft.name,
        task,
        tokens,
        files,
        spare_key,
        spare_worker.name,
        team=team.name,
        member=member.name,
        spare_account=spare_account.name,
        target=server.target,
        remote_job=remote_job.name,
        spare_adapter_key=spare_adapter_key,
    )
    return world, owner, other
