"""The part of `grpc.aio.ServicerContext` that the servicers and the call
interceptors use, over one HTTP request, so the gRPC servicers run unchanged
behind the Connect runtime: the caller's headers in, the status and trailing
metadata out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from connectrpc.request import RequestContext
from google.rpc import status_pb2
from protobuf.wkt import Any as AnyMessage

STATUS_DETAILS_KEY = "grpc-status-details-bin"
REQUEST_ID_KEY = "x-request-id"
# Set by the HTTP side itself; a caller's own header of these names is not metadata.
NOT_METADATA = frozenset({"content-type", "content-length", "host", "connection", "te"})


def connect_code(code: grpc.StatusCode) -> Code:
    """grpc's CANCELLED is Connect's `canceled`; every other name is the same."""
    return Code.CANCELED if code == grpc.StatusCode.CANCELLED else Code(code.name.lower())


class HttpAbort(grpc.aio.AbortError):
    """What `abort` raises: a grpc AbortError, so the call interceptor lets it
    through as a status already chosen, carrying what the Connect error needs."""

    def __init__(self, code: grpc.StatusCode, message: str, details: Sequence[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)

    def connect_error(self) -> ConnectError:
        return ConnectError(connect_code(self.code), self.message, self.details)


def _details(value: str | bytes) -> list[ErrorDetail]:
    """The google.rpc.Status details of `grpc-status-details-bin`, as the Any
    messages Connect sends (Connect's own details field, gRPC-Web's trailer)."""
    status = status_pb2.Status.FromString(value if isinstance(value, bytes) else value.encode("latin-1"))
    return [ErrorDetail(AnyMessage(type_url=d.type_url, value=d.value)) for d in status.details]


class HttpServicerContext:
    """One HTTP call as a servicer sees it. Headers are the invocation
    metadata (lower-case names, as in gRPC); trailing metadata becomes
    response trailers (Connect unary: `trailer-` headers), and the request id
    is a response header as well, so `curl -i` and a browser see it."""

    def __init__(self, ctx: RequestContext[Any, Any]) -> None:
        self._ctx = ctx
        self._code: grpc.StatusCode | None = None
        self._cancelled = False
        self._done = False
        # Where `write` sends a response; set by the endpoint of a stream.
        self.writer: Callable[[Any], Awaitable[None]] | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (k.lower(), v) for k, v in self._ctx.request_headers.allitems() if k.lower() not in NOT_METADATA
        )

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        for key, value in metadata:
            if key == STATUS_DETAILS_KEY:
                continue
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            self._ctx.response_trailers[key] = text
            if key == REQUEST_ID_KEY:
                self._ctx.response_headers[key] = text

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: Sequence[tuple[str, str | bytes]] = (),
    ) -> NoReturn:
        self._code = code
        self._done = True
        self.set_trailing_metadata(trailing_metadata)
        found = [_details(v) for k, v in trailing_metadata if k == STATUS_DETAILS_KEY]
        raise HttpAbort(code, details, found[0] if found else ())

    async def write(self, message: Any) -> None:
        """A response of a handler written in grpc's `context.write` style."""
        if self.writer is None:
            raise RuntimeError("write() is only for streaming responses")
        await self.writer(message)

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return self._done

    def mark_broken(self) -> None:
        """The request body ended in a break (the client went away) rather
        than its end: what grpc reports as `cancelled()`."""
        self._cancelled = True
        self._code = grpc.StatusCode.CANCELLED

    def peer(self) -> str:
        return f"http:{self._ctx.client_address or 'unknown'}"
