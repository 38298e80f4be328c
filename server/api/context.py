"""What every servicer method does first and last: find the caller, and turn
core errors into gRPC statuses."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from labelwire.server import errors
from labelwire.server.core import Core
from labelwire.server.model import Principal

log = logging.getLogger(__name__)
R = TypeVar("R")

STATUS = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


BEARER_FORM = "send the metadata `authorization: Bearer <token>`"


def bearer(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The token of exactly `authorization: Bearer <token>` (the scheme's case
    is free, RFC 7235); None when there is no authorization metadata."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, space, token = text.partition(" ")
            if scheme.lower() != "bearer" or not space or not token or any(c.isspace() for c in token):
                raise errors.Unauthenticated(
                    f"the authorization metadata is not a bearer token: {BEARER_FORM}"
                )
            return token
    return None


async def caller(core: Core, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
    return await core.authenticate(bearer(context))


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: errors.LabelwireError) -> None:
    await context.abort(STATUS[type(exc)], exc.message)


def unary(fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Maps core errors raised by a unary (or client-streaming) method onto statuses."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> R:
        try:
            return await fn(self, request, context)
        except errors.LabelwireError as exc:
            await _abort(context, exc)
            raise AssertionError("unreachable") from exc

    return wrapper


def streaming(fn: Callable[..., AsyncIterator[R]]) -> Callable[..., AsyncIterator[R]]:
    """The same for server-streaming methods."""

    @functools.wraps(fn)
    async def wrapper(
        self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[R]:
        try:
            async for message in fn(self, request, context):
                yield message
        except errors.LabelwireError as exc:
            await _abort(context, exc)

    return wrapper
