"""AdminService."""

from __future__ import annotations

from typing import Any

import grpc

from labelwire.server.core import Core, auth
from labelwire.server.transport.grpc import convert
from labelwire.server.transport.grpc.context import caller, unary
from labelwire.v1 import admin_service_pb2 as pb
from labelwire.v1 import admin_service_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    def __init__(self, core: Core) -> None:
        self.core = core

    @unary
    async def CreateApiKey(self, request: pb.CreateApiKeyRequest, context: Ctx) -> pb.CreateApiKeyResponse:
        principal = await caller(self.core, context)
        ttl = convert.seconds_of(request.ttl, "ttl")
        client_id, key = await self.core.credentials.create_api_key(principal, request.client_name, ttl)
        parsed = auth.parse(key)
        assert parsed is not None
        key_id = parsed[1]
        return pb.CreateApiKeyResponse(
            client=f"clients/{client_id}", api_key=key, api_key_name=f"clients/{client_id}/apiKeys/{key_id}"
        )

    @unary
    async def ListApiKeys(self, request: pb.ListApiKeysRequest, context: Ctx) -> pb.ListApiKeysResponse:
        principal = await caller(self.core, context)
        keys, token = await self.core.credentials.list_api_keys(
            principal, request.parent, request.page_size, request.page_token
        )
        now = self.core.clock()
        return pb.ListApiKeysResponse(
            api_keys=[convert.api_key_message(k, now) for k in keys], next_page_token=token
        )

    @unary
    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest, context: Ctx) -> pb.RevokeApiKeyResponse:
        key = await self.core.credentials.revoke_api_key(await caller(self.core, context), request.name)
        return pb.RevokeApiKeyResponse(api_key=convert.api_key_message(key, self.core.clock()))

    @unary
    async def RotateApiKey(self, request: pb.RotateApiKeyRequest, context: Ctx) -> pb.RotateApiKeyResponse:
        principal = await caller(self.core, context)
        grace = convert.seconds_of(request.grace_period, "grace_period")
        ttl = convert.seconds_of(request.ttl, "ttl")
        new, secret, old = await self.core.credentials.rotate_api_key(principal, request.name, grace, ttl)
        now = self.core.clock()
        return pb.RotateApiKeyResponse(
            api_key=convert.api_key_message(new, now),
            secret=secret,
            previous_api_key=convert.api_key_message(old, now),
        )

    @unary
    async def CreateAdapterKey(
        self, request: pb.CreateAdapterKeyRequest, context: Ctx
    ) -> pb.CreateAdapterKeyResponse:
        principal = await caller(self.core, context)
        ttl = convert.seconds_of(request.ttl, "ttl")
        adapter_id, key_id, key = await self.core.adapters.create_adapter_key(
            principal, request.adapter_name, ttl
        )
        return pb.CreateAdapterKeyResponse(
            adapter=f"adapters/{adapter_id}",
            adapter_key=key,
            adapter_key_name=f"adapters/{adapter_id}/keys/{key_id}",
        )

    @unary
    async def RevokeAdapterKey(
        self, request: pb.RevokeAdapterKeyRequest, context: Ctx
    ) -> pb.RevokeAdapterKeyResponse:
        await self.core.adapters.revoke_adapter_key(await caller(self.core, context), request.name)
        return pb.RevokeAdapterKeyResponse()
