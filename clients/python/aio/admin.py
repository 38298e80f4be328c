"""The operator's `AsyncAdminClient`: API keys and adapter keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar, TypeVar

import grpc

from labelwire.client import raw
from labelwire.client.aio.base import (
    DEFAULT_ADDRESS,
    DEFAULT_TIMEOUT,
    _Base,
    _translated,
    _translated_stream,
)
from labelwire.client.models import ApiKey
from labelwire.client.pages import AsyncPages

T = TypeVar("T")


class AsyncAdminClient(_Base):
    """For the operator: needs the server's admin key."""

    _env_key: ClassVar[str] = "LABELWIRE_ADMIN_KEY"

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        admin_key: str = "",
        *,
        tls: bool = False,
        root_certificates: bytes | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: bool = True,
    ) -> None:
        """As `AsyncClient`."""
        super().__init__(address, tls, root_certificates, credentials, timeout, retries)
        self._raw = self.raw = raw.AdminClient(address, admin_key, **self._channel)

    @_translated
    async def create_api_key(self, client_name: str, *, ttl: float | None = None) -> str:
        """A new client and its API key (shown only now); `ttl` seconds makes it expire."""
        return await self.raw.create_api_key(client_name, ttl=ttl)

    def api_keys(self, client: str = "clients/-") -> AsyncPages[ApiKey]:
        """The keys of one client (`clients/{c}`) or of every client, without secrets."""

        async def each() -> AsyncIterator[ApiKey]:
            for key in await self.raw.list_api_keys(client):
                yield ApiKey.from_proto(key)

        columns = ("name", "client", "client_name", "key_prefix", "state")
        return AsyncPages(
            lambda: _translated_stream(each()), lambda k: {c: getattr(k, c) for c in columns}, columns
        )

    @_translated
    async def revoke_api_key(self, name: str) -> ApiKey:
        """The key (`clients/{c}/apiKeys/{k}`) stops working at once."""
        return ApiKey.from_proto(await self.raw.revoke_api_key(name))

    @_translated
    async def rotate_api_key(self, name: str, *, grace_period: float = 0.0, ttl: float | None = None) -> str:
        """A new key for the same client (shown only now); the old one works `grace_period` seconds more."""
        response = await self.raw.rotate_api_key(name, grace_period=grace_period, ttl=ttl)
        return response.secret

    @_translated
    async def create_adapter_key(self, adapter_name: str, *, ttl: float | None = None) -> tuple[str, str]:
        """A key for a workforce adapter in its own process, serving the `remote`
        jobs that name `adapter_name`: (the key, shown only now; its name
        `adapters/{a}/keys/{k}`, for `revoke_adapter_key`)."""
        response = await self.raw.create_adapter_key(adapter_name, ttl=ttl)
        return response.adapter_key, response.adapter_key_name

    @_translated
    async def revoke_adapter_key(self, name: str) -> None:
        """The adapter key (`adapters/{a}/keys/{k}`) stops working at once."""
        await self.raw.revoke_adapter_key(name)
