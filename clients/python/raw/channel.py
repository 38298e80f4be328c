"""The connection every raw client holds: a grpc.aio channel and the bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf import duration_pb2

T = TypeVar("T")


def _duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(int(seconds * 1e9))
    return out


async def _each(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


ChannelOptions = Sequence[tuple[str, Any]]


class _Channel:
    """`options` and `interceptors` go to the grpc.aio channel as they are
    (the high-level client passes its retry policy and default deadline)."""

    def __init__(
        self,
        target: str,
        token: str,
        credentials: grpc.ChannelCredentials | None,
        options: ChannelOptions = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        self.metadata = (("authorization", f"Bearer {token}"),)
        settings = [("grpc.max_receive_message_length", 64 * 1024 * 1024), *options]
        self.channel = (
            grpc.aio.secure_channel(target, credentials, options=settings, interceptors=interceptors)
            if credentials
            else grpc.aio.insecure_channel(target, options=settings, interceptors=interceptors)
        )

    async def close(self) -> None:
        await self.channel.close(None)

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
