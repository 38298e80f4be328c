"""What every async client shares: the channel's retry policy, default deadlines,
the error translation and the connection settings.

`AsyncClient`, `AsyncWorkerClient` and `AsyncAdminClient` hold the logic;
the blocking `Client`, `WorkerClient` and `AdminClient` (`labelwire.client.sync`)
are generated from them by `scripts/gen_sync_client.py`, so the two cannot
drift (a test fails when the generated file is stale).

Each call has a deadline (`timeout`, 30 s unless changed; streams have none),
raises a `labelwire.client.errors.LabelwireError`, and the idempotent reads are
retried by gRPC itself on UNAVAILABLE and RESOURCE_EXHAUSTED with exponential
backoff (the channel's service config): a create or a submit is never retried
blindly, since the first attempt may have landed.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, ClassVar, ParamSpec, Self, TypeVar

import grpc
from google.protobuf import descriptor_pb2

from labelwire.client.errors import from_rpc_error
from labelwire.client.raw.channel import _Channel
from labelwire.v1 import (
    admin_service_pb2,
    job_service_pb2,
    label_service_pb2,
    quality_service_pb2,
    team_service_pb2,
    worker_service_pb2,
)

T = TypeVar("T")


P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0

# Reads the .proto files do not mark NO_SIDE_EFFECTS (a stream, a read of the
# worker's own record) but that change nothing either.
_UNMARKED_READS = {
    "labelwire.v1.LabelService": ("StreamLabels",),
    "labelwire.v1.WorkerService": ("GetWorkerStats",),
}


def _idempotent_methods() -> dict[str, tuple[str, ...]]:
    """Calls that change nothing: the methods the .proto files mark
    `idempotency_level = NO_SIDE_EFFECTS`, read from the descriptors so a new
    read is retried as soon as it is marked, and the unmarked reads above."""
    found: dict[str, list[str]] = {s: list(m) for s, m in _UNMARKED_READS.items()}
    for module in (
        admin_service_pb2,
        job_service_pb2,
        label_service_pb2,
        quality_service_pb2,
        team_service_pb2,
        worker_service_pb2,
    ):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.GetOptions().idempotency_level == descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS:
                    found.setdefault(service.full_name, []).append(method.name)
    return {service: tuple(methods) for service, methods in found.items()}


# Only these may be retried without the caller knowing.
IDEMPOTENT_METHODS: dict[str, tuple[str, ...]] = _idempotent_methods()

RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.2s",
    "maxBackoff": "5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
}


def service_config() -> str:
    """The channel's service config: the retry policy on the idempotent methods alone."""
    names = [{"service": s, "method": m} for s, methods in IDEMPOTENT_METHODS.items() for m in methods]
    return json.dumps({"methodConfig": [{"name": names, "retryPolicy": RETRY_POLICY}]})


def _translated(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """The call, raising the SDK's exceptions instead of grpc's."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc

    return call


async def _translated_stream(source: AsyncIterator[T]) -> AsyncIterator[T]:
    try:
        async for item in source:
            yield item
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from exc


class _DefaultDeadline(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc, type-arg]
    """Gives each unary call the client's current `timeout` unless it has its own."""

    def __init__(self, owner: _Base) -> None:
        self._owner = owner

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        if client_call_details.timeout is None and self._owner.timeout is not None:
            client_call_details = client_call_details._replace(timeout=self._owner.timeout)
        return await continuation(client_call_details, request)


def _name(thing: Any) -> str:
    return thing if isinstance(thing, str) else str(thing.name)


class _Base:
    """Connection settings shared by the three clients."""

    _env_key: ClassVar[str] = "LABELWIRE_API_KEY"

    def __init__(
        self,
        address: str,
        tls: bool,
        root_certificates: bytes | None,
        credentials: grpc.ChannelCredentials | None,
        timeout: float | None,
        retries: bool,
    ) -> None:
        self.address = address
        self.timeout = timeout
        if credentials is None and (tls or root_certificates):
            credentials = grpc.ssl_channel_credentials(root_certificates)
        self._channel: dict[str, Any] = {
            "credentials": credentials,
            "options": [("grpc.enable_retries", 1), ("grpc.service_config", service_config())]
            if retries
            else [("grpc.enable_retries", 0)],
            "interceptors": [_DefaultDeadline(self)],
        }
        self._raw: _Channel

    @classmethod
    def _from_environment(cls) -> tuple[str, str]:
        key = os.environ.get(cls._env_key, "")
        if not key:
            raise ValueError(f"{cls._env_key} is not set")
        return os.environ.get("LABELWIRE_ADDRESS") or DEFAULT_ADDRESS, key

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """A client for `LABELWIRE_ADDRESS` (default 127.0.0.1:50051) with the key in
        the environment (`LABELWIRE_API_KEY`; `LABELWIRE_WORKER_TOKEN` for a worker,
        `LABELWIRE_ADMIN_KEY` for the admin, `LABELWIRE_ACCOUNT_TOKEN` for a worker
        account); `LABELWIRE_TLS=1` turns TLS on."""
        address, key = cls._from_environment()
        options.setdefault("tls", os.environ.get("LABELWIRE_TLS", "") in ("1", "true", "yes"))
        # Each subclass takes (address, key, **options); this base's own signature is internal.
        return cls(address, key, **options)  # type: ignore[arg-type]

    async def close(self) -> None:
        """Closes the connection; calls in flight are cancelled."""
        await self._raw.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def _mapped(source: AsyncIterator[Any], convert: Callable[[Any], T]) -> AsyncIterator[T]:
    async for message in source:
        yield convert(message)


def public_methods(cls: type) -> dict[str, Any]:
    """The client's public calls, its own and its mixins' (not `_Base`'s), in
    the order they are defined: what the blocking twin must have, one for one."""
    found: dict[str, Any] = {}
    for owner in cls.__mro__:
        if owner in (_Base, object):
            continue
        for name, fn in vars(owner).items():
            if not name.startswith("_") and callable(fn) and name not in found:
                found[name] = fn
    return found
