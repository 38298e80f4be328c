"""The operator's `AdminClient`: API keys and adapter keys."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from labelwire.client.raw.channel import ChannelOptions, _Channel, _duration
from labelwire.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
)


class AdminClient(_Channel):
    """For the operator: needs the server's admin key."""

    def __init__(
        self,
        target: str,
        admin_key: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: ChannelOptions = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        super().__init__(target, admin_key, credentials, options, interceptors)
        self.stub = admin_service_pb2_grpc.AdminServiceStub(self.channel)

    async def create_api_key(self, client_name: str, *, ttl: float | None = None) -> str:
        """A new client's API key (shown only now); `ttl` seconds makes it expire."""
        request = admin_service_pb2.CreateApiKeyRequest(client_name=client_name)
        if ttl:
            request.ttl.CopyFrom(_duration(ttl))
        response = await self.stub.CreateApiKey(request, metadata=self.metadata)
        return response.api_key

    async def list_api_keys(self, parent: str = "clients/-") -> list[admin_service_pb2.ApiKey]:
        """The keys of one client (`clients/{c}`) or of every client, without secrets."""
        out: list[admin_service_pb2.ApiKey] = []
        token = ""
        while True:
            page = await self.stub.ListApiKeys(
                admin_service_pb2.ListApiKeysRequest(parent=parent, page_token=token), metadata=self.metadata
            )
            out += page.api_keys
            token = page.next_page_token
            if not token:
                return out

    async def revoke_api_key(self, name: str) -> admin_service_pb2.ApiKey:
        response = await self.stub.RevokeApiKey(
            admin_service_pb2.RevokeApiKeyRequest(name=name), metadata=self.metadata
        )
        return response.api_key

    async def rotate_api_key(
        self, name: str, *, grace_period: float = 0.0, ttl: float | None = None
    ) -> admin_service_pb2.RotateApiKeyResponse:
        """A new key for the key's client (`.secret`, shown only now); the old
        one works `grace_period` seconds more."""
        request = admin_service_pb2.RotateApiKeyRequest(name=name)
        request.grace_period.CopyFrom(_duration(grace_period))
        if ttl:
            request.ttl.CopyFrom(_duration(ttl))
        response: admin_service_pb2.RotateApiKeyResponse = await self.stub.RotateApiKey(
            request, metadata=self.metadata
        )
        return response

    async def create_adapter_key(
        self, adapter_name: str, *, ttl: float | None = None
    ) -> admin_service_pb2.CreateAdapterKeyResponse:
        """A key for a workforce adapter in its own process (`.adapter_key`,
        shown only now); it serves the `remote` jobs naming `adapter_name`."""
        request = admin_service_pb2.CreateAdapterKeyRequest(adapter_name=adapter_name)
        if ttl:
            request.ttl.CopyFrom(_duration(ttl))
        response: admin_service_pb2.CreateAdapterKeyResponse = await self.stub.CreateAdapterKey(
            request, metadata=self.metadata
        )
        return response

    async def revoke_adapter_key(self, name: str) -> None:
        await self.stub.RevokeAdapterKey(
            admin_service_pb2.RevokeAdapterKeyRequest(name=name), metadata=self.metadata
        )
