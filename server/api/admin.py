"""AdminService."""

from __future__ import annotations

from typing import Any

import grpc

from labelwire.server.api.context import caller, unary
from labelwire.server.core import Core
from labelwire.v1 import admin_service_pb2 as pb
from labelwire.v1 import admin_service_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    def __init__(self, core: Core) -> None:
        self.core = core

    @unary
    async def CreateApiKey(self, request: pb.CreateApiKeyRequest, context: Ctx) -> pb.CreateApiKeyResponse:
        client_id, key = await self.core.create_api_key(await caller(self.core, context), request.client_name)
        return pb.CreateApiKeyResponse(client=f"clients/{client_id}", api_key=key)
