"""Counts every call and times it, whatever service answers it (ours, health,
reflection): `labelwire_rpc_requests_total{method, code}` and
`labelwire_rpc_duration_seconds{method}`."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc

from labelwire.server.telemetry import metrics

Ctx = grpc.aio.ServicerContext[Any, Any]
if TYPE_CHECKING:  # generic only in the type stubs
    Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    Interceptor = grpc.aio.ServerInterceptor


def _code(context: Ctx, default: grpc.StatusCode) -> str:
    """The status the call ended with: set by `abort` or `set_code`, else the default."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if isinstance(code, int):
        for status in grpc.StatusCode:
            if status.value[0] == code:
                return status.name
    return default.name


def _ending(context: Ctx, exc: BaseException | None) -> str:
    if exc is None:
        return _code(context, grpc.StatusCode.OK)
    if isinstance(exc, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED.name
    return _code(context, grpc.StatusCode.UNKNOWN)


class _Series:
    """One method's series, looked up once rather than on every call."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.seconds = metrics.RPC_SECONDS.labels(method)
        self.by_code: dict[str, Any] = {}

    def done(self, started: float, context: Ctx, exc: BaseException | None) -> None:
        code = _ending(context, exc)
        counter = self.by_code.get(code)
        if counter is None:
            counter = self.by_code[code] = metrics.RPC_REQUESTS.labels(self.method, code)
        counter.inc()
        self.seconds.observe(time.perf_counter() - started)


def _unary_out(method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
    series = _Series(method)

    async def observed(request: Any, context: Ctx) -> Any:
        started = time.perf_counter()
        try:
            response = await behavior(request, context)
        except BaseException as exc:
            series.done(started, context, exc)
            raise
        series.done(started, context, None)
        return response

    return observed


def _stream_out(method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
    series = _Series(method)

    async def observed(request: Any, context: Ctx) -> AsyncIterator[Any]:
        started = time.perf_counter()
        try:
            result = behavior(request, context)
            if inspect.isasyncgen(result):
                async for message in result:
                    yield message
            else:  # a handler that writes with context.write
                await result
        except BaseException as exc:
            series.done(started, context, exc)
            raise
        series.done(started, context, None)

    return observed


class RpcMetrics(Interceptor):
    """Wraps each method's handler once; later calls reuse the wrapped one
    for as long as the server hands out the same handler."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = _wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped


def _wrap(method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    codec = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(_unary_out(method, handler.unary_unary), **codec)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(_unary_out(method, handler.stream_unary), **codec)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(_stream_out(method, handler.unary_stream), **codec)
    assert handler.stream_stream is not None
    return grpc.stream_stream_rpc_method_handler(_stream_out(method, handler.stream_stream), **codec)
