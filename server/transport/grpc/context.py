"""What every servicer method does first and last: find the caller, and turn
core errors into gRPC statuses with the details a client can show."""

from __future__ import annotations

import contextvars
import functools
import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from labelwire.server.core import Core
from labelwire.server.domain import errors
from labelwire.server.domain.model import Principal

log = logging.getLogger(__name__)
R = TypeVar("R")

STATUS = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}
REQUEST_ID_KEY = "x-request-id"
MAX_MESSAGE_CHARS = 1000


# Request ids only tell calls apart in the logs; they guard nothing, so they
# come from a generator seeded once rather than from os.urandom on every call.
_IDS = random.Random(secrets.randbits(128))


def _request_id() -> str:
    return f"{_IDS.getrandbits(48):012x}"


@dataclass(slots=True)
class Call:
    """One RPC as the log and the caller see it."""

    method: str
    request_id: str = field(default_factory=_request_id)
    caller: str = "none"
    status: grpc.StatusCode = grpc.StatusCode.OK


CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar("labelwire_call", default=None)


BEARER_FORM = "send the metadata `authorization: Bearer <token>`"


def bearer(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The token of exactly `authorization: Bearer <token>` (the scheme's case
    is free, RFC 7235); None when there is no authorization metadata."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, space, token = text.partition(" ")
            if scheme.lower() != "bearer" or not space or token.split() != [token]:
                raise errors.Unauthenticated(
                    f"the authorization metadata is not a bearer token: {BEARER_FORM}"
                )
            return token
    return None


async def caller(core: Core, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
    principal = await core.credentials.authenticate(bearer(context))
    call = CALL.get()
    if call is not None:
        call.caller = principal.kind
    return principal


def request_id_metadata() -> tuple[tuple[str, str], ...]:
    call = CALL.get()
    return () if call is None else ((REQUEST_ID_KEY, call.request_id),)


async def abort(
    context: grpc.aio.ServicerContext[Any, Any],
    code: grpc.StatusCode,
    message: str,
    field_path: str = "",
) -> NoReturn:
    """Ends the call with `code`; a field error also carries a
    google.rpc.BadRequest naming the field, and every status the request id."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "…"
    call = CALL.get()
    if call is not None:
        call.status = code
    trailing: tuple[tuple[str, str | bytes], ...] = request_id_metadata()
    if field_path:
        details = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=field_path, description=message)
            ]
        )
        status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message)
        status.details.add().Pack(details)
        trailing = (*trailing, *rpc_status.to_status(status).trailing_metadata)
    await context.abort(code, message, trailing_metadata=trailing)
    raise AssertionError("unreachable")


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], exc: errors.LabelwireError) -> NoReturn:
    field_path = exc.field if isinstance(exc, errors.InvalidArgument) else ""
    await abort(context, STATUS[type(exc)], exc.message, field_path)


def unary(fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Maps core errors raised by a unary (or client-streaming) method onto statuses."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> R:
        try:
            return await fn(self, request, context)
        except errors.LabelwireError as exc:
            await abort_with(context, exc)

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
            await abort_with(context, exc)

    return wrapper
