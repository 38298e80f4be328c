"""The Connect runtime's endpoints for labelwire's servicers.

The servicers are the gRPC port's own objects, registered here through their
generated `add_*_to_server` functions as on a grpc.aio server, and each
method's handler is wrapped by the same server interceptors (request id, log
line, error mapping, metrics) in the same order. An endpoint only hands the
handler the request and an `HttpServicerContext`, and turns the status the
handler chose into a Connect error: no RPC is written twice."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import RequestContext
from connectrpc.server import Endpoint
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from labelwire.server.transport.http.context import HttpAbort, HttpServicerContext

if TYPE_CHECKING:  # generic only in the type stubs
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    Interceptor: TypeAlias = grpc.aio.ServerInterceptor[Any, Any]
else:
    Handler = grpc.RpcMethodHandler
    Interceptor = grpc.aio.ServerInterceptor
Registration = tuple[Callable[..., None], object]
# A method marked `option idempotency_level = NO_SIDE_EFFECTS;` in its .proto
# is served to Connect GET requests as well (`?message=...&encoding=json`),
# which browsers and CDNs may cache.
IDEMPOTENCY = {
    descriptor_pb2.MethodOptions.IDEMPOTENCY_UNKNOWN: IdempotencyLevel.UNKNOWN,
    descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS: IdempotencyLevel.NO_SIDE_EFFECTS,
    descriptor_pb2.MethodOptions.IDEMPOTENT: IdempotencyLevel.IDEMPOTENT,
}


class _CallDetails(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


class _Collector:
    """Stands in for the grpc.aio server that `add_*_to_server` registers on."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def add_generic_rpc_handlers(self, handlers: Iterable[object]) -> None:
        """The same handlers also arrive through `add_registered_method_handlers`."""

    def add_registered_method_handlers(self, service: str, methods: Mapping[str, Handler]) -> None:
        for name, handler in methods.items():
            self.handlers[f"/{service}/{name}"] = handler


async def _intercepted(path: str, handler: Handler, interceptors: Sequence[Interceptor]) -> Handler:
    """`handler` as grpc.aio hands it to a call: the first interceptor outermost."""

    async def step(index: int, details: grpc.HandlerCallDetails) -> Handler:
        if index == len(interceptors):
            return handler
        return await interceptors[index].intercept_service(lambda d: step(index + 1, d), details)

    return await step(0, _CallDetails(path, ()))  # type: ignore[arg-type]


def grpc_code(code: Code) -> grpc.StatusCode:
    return grpc.StatusCode.CANCELLED if code == Code.CANCELED else grpc.StatusCode[code.name]


async def _body(requests: AsyncIterator[Any], context: HttpServicerContext) -> AsyncIterator[Any]:
    """A client stream's messages. A body the runtime cannot read (the client
    went away, a message over the size limit) ends the call with the
    runtime's status, and a break is what grpc reports as cancellation, so
    AddItems abandons its upload on both ports alike."""
    try:
        async for request in requests:
            yield request
    except ConnectError as exc:
        code = grpc_code(exc.code)
        if code == grpc.StatusCode.CANCELLED:
            context.mark_broken()
        else:
            context.set_code(code)
        raise HttpAbort(code, exc.message) from None


def _endpoint(info: MethodInfo[Any, Any], handler: Handler) -> Any:
    if handler.unary_unary is not None:
        unary: Any = handler.unary_unary

        async def call_unary(request: Any, ctx: RequestContext[Any, Any]) -> Any:
            try:
                return await unary(request, HttpServicerContext(ctx))
            except HttpAbort as exc:
                raise exc.connect_error() from None

        return Endpoint.unary(info, call_unary)
    if handler.stream_unary is not None:
        client_stream: Any = handler.stream_unary

        async def call_client_stream(requests: AsyncIterator[Any], ctx: RequestContext[Any, Any]) -> Any:
            context = HttpServicerContext(ctx)
            try:
                return await client_stream(_body(requests, context), context)
            except HttpAbort as exc:
                raise exc.connect_error() from None

        return Endpoint.client_stream(info, call_client_stream)
    if handler.unary_stream is not None:
        server_stream: Any = handler.unary_stream

        async def call_server_stream(request: Any, ctx: RequestContext[Any, Any]) -> AsyncIterator[Any]:
            try:
                async for response in _responses(server_stream, request, HttpServicerContext(ctx)):
                    yield response
            except HttpAbort as exc:
                raise exc.connect_error() from None

        return Endpoint.server_stream(info, call_server_stream)
    if handler.stream_stream is not None:
        bidi: Any = handler.stream_stream

        async def call_bidi_stream(
            requests: AsyncIterator[Any], ctx: RequestContext[Any, Any]
        ) -> AsyncIterator[Any]:
            context = HttpServicerContext(ctx)
            try:
                async for response in _responses(bidi, _body(requests, context), context):
                    yield response
            except HttpAbort as exc:
                raise exc.connect_error() from None

        return Endpoint.bidi_stream(info, call_bidi_stream)
    raise ValueError(f"{info.service_name}/{info.name}: the handler has no behaviour")


async def _responses(behavior: Any, request: Any, context: HttpServicerContext) -> AsyncIterator[Any]:
    """A streaming handler's responses, whichever of grpc's two styles it is
    written in: an async generator (labelwire's servicers, reflection) or a
    coroutine that calls `context.write` (grpc's own health `Watch`)."""
    if inspect.isasyncgenfunction(behavior):
        async for response in behavior(request, context):
            yield response
        return
    written: asyncio.Queue[Any] = asyncio.Queue()
    context.writer = written.put
    finished = object()

    async def run() -> None:
        try:
            await behavior(request, context)
        finally:
            written.put_nowait(finished)

    task = asyncio.ensure_future(run())
    try:
        while (response := await written.get()) is not finished:
            yield response
        await task  # its status, if it ended in one
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, HttpAbort):
            await task


def method_info(path: str) -> MethodInfo[Any, Any]:
    service_name, name = path.strip("/").split("/")
    method = descriptor_pool.Default().FindServiceByName(service_name).methods_by_name[name]
    if method.client_streaming and method.server_streaming:
        kind = StreamType.BIDI_STREAM
    elif method.client_streaming:
        kind = StreamType.CLIENT_STREAM
    elif method.server_streaming:
        kind = StreamType.SERVER_STREAM
    else:
        kind = StreamType.UNARY
    return MethodInfo(
        name=name,
        service_name=service_name,
        input=message_factory.GetMessageClass(method.input_type),
        output=message_factory.GetMessageClass(method.output_type),
        idempotency_level=IDEMPOTENCY[method.GetOptions().idempotency_level],
        stream_type=kind,
    )


async def endpoints(
    registrations: Sequence[Registration],
    interceptors: Sequence[Interceptor],
) -> dict[str, Any]:
    """Every method of every registered servicer, by its URL path
    (`/labelwire.v1.JobService/CreateJob`, the same as the gRPC method name)."""
    collector = _Collector()
    for add, servicer in registrations:
        add(servicer, collector)
    out: dict[str, Any] = {}
    for path, handler in collector.handlers.items():
        info = method_info(path)
        # The class the servicer was written for, where the descriptor pool
        # knows another of the same name (reflection v1 over v1alpha's servicer).
        own = getattr(handler.request_deserializer, "__self__", None)
        if isinstance(own, type) and own is not info.input:
            info = dataclasses.replace(info, input=own)
        out[path] = _endpoint(info, await _intercepted(path, handler, interceptors))
    return out
