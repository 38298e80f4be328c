"""Around every call, whatever its service: a request id, one log line, the
call's count and time in the RPC metrics, a clear status for a request that
does not decode, and one catch-all that turns an unexpected exception into
INTERNAL without showing its text to the caller.

One interceptor does all of it, and the log line is built only when its level
is on: this wrapper runs on every call, and a second interceptor layer (or a
log record the level drops) cost each call a few microseconds of the server's
CPU for nothing (bench/README.md, "Server throughput").

`_wrap_unary` and `_wrap_stream` repeat the same try/except/finally on purpose:
one is a coroutine returning a response, the other an async generator yielding
them, and Python offers no one body for both. Sharing it through a context
manager would add an object, an `__aenter__` and an `__aexit__` to every call
on the hot path, for a dozen lines; the steps themselves (`_begin`, `_checked`,
`_fail`, `_cancelled`, `_finish`) are written once."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

import grpc

from labelwire.server.domain import errors
from labelwire.server.transport.grpc.context import CALL, REQUEST_ID_KEY, Call, abort, abort_with
from labelwire.server.transport.grpc.rpc_metrics import Series

if TYPE_CHECKING:
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
log = logging.getLogger("labelwire.calls")
Ctx = grpc.aio.ServicerContext[Any, Any]
SLOW_SECONDS = 1.0


class Undecodable:
    """What the request deserializer returns for bytes that are not the
    method's message, so the call can answer INVALID_ARGUMENT (grpc would
    answer UNKNOWN with the decoder's exception)."""

    def __init__(self, message_name: str) -> None:
        self.message = (
            f"the request is not a valid {message_name}: a string field is not valid UTF-8,"
            " or the bytes are not that message"
        )


def _safe(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None
    owner = getattr(deserialize, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    name = getattr(descriptor, "full_name", "request message")

    def run(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception:
            return Undecodable(name)

    return run


async def _checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, Undecodable):
            raise errors.InvalidArgument(request.message)
        yield request


_QUIET = (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED)
_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _begin(context: Ctx, method: str) -> tuple[Call, float]:
    call = Call(method)
    CALL.set(call)
    context.set_trailing_metadata(((REQUEST_ID_KEY, call.request_id),))
    return call, time.perf_counter()


def _finish(call: Call, started: float, context: Ctx, series: Series | None) -> None:
    elapsed = time.perf_counter() - started
    if call.status == grpc.StatusCode.OK:  # a handler may set a code and return normally
        code = context.code()
        if code is not None:
            call.status = code if isinstance(code, grpc.StatusCode) else _CODES.get(code, call.status)
    if series is not None:
        series.done(call.status.name, elapsed)
    level = logging.INFO if call.status not in _QUIET or elapsed > SLOW_SECONDS else logging.DEBUG
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "%s %s by %s in %.0f ms (request id %s)",
        call.method,
        call.status.name,
        call.caller,
        elapsed * 1000,
        call.request_id,
        extra={
            "request_id": call.request_id,
            "method": call.method,
            "caller": call.caller,
            "status": call.status.name,
            "duration_ms": round(elapsed * 1000, 1),
        },
    )


def _cancelled(call: Call, exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        call.status = grpc.StatusCode.CANCELLED


async def _fail(call: Call, context: Ctx, exc: Exception) -> NoReturn:
    """Every way a call can end in error becomes one known status."""
    if isinstance(exc, grpc.aio.AbortError):
        if call.status == grpc.StatusCode.OK:
            code = context.code()
            call.status = code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN
        raise exc
    if isinstance(exc, errors.LabelwireError):
        await abort_with(context, exc)
    log.error(
        "%s failed with an unexpected error (request id %s)",
        call.method,
        call.request_id,
        exc_info=exc,
        extra={"request_id": call.request_id, "method": call.method, "caller": call.caller},
    )
    await abort(context, grpc.StatusCode.INTERNAL, f"internal error; request id {call.request_id}")


def _wrap_unary(
    behavior: Callable[[Any, Ctx], Awaitable[Any]],
    method: str,
    streaming_requests: bool,
    series: Series | None,
) -> Any:
    async def run(request: Any, context: Ctx) -> Any:
        call, started = _begin(context, method)
        try:
            if streaming_requests:
                request = _checked(request)
            elif isinstance(request, Undecodable):
                raise errors.InvalidArgument(request.message)
            return await behavior(request, context)
        except Exception as exc:
            await _fail(call, context, exc)
        except BaseException as exc:
            _cancelled(call, exc)
            raise
        finally:
            _finish(call, started, context, series)

    return run


def _wrap_stream(
    behavior: Callable[[Any, Ctx], AsyncIterator[Any]],
    method: str,
    streaming_requests: bool,
    series: Series | None,
) -> Any:
    async def run(request: Any, context: Ctx) -> AsyncIterator[Any]:
        call, started = _begin(context, method)
        try:
            if streaming_requests:
                request = _checked(request)
            elif isinstance(request, Undecodable):
                raise errors.InvalidArgument(request.message)
            async for response in behavior(request, context):
                yield response
        except Exception as exc:
            await _fail(call, context, exc)
        except BaseException as exc:
            _cancelled(call, exc)
            raise
        finally:
            _finish(call, started, context, series)

    return run


def wrap_handler(handler: Handler, method: str, *, metrics: bool = True) -> Handler:
    kind = (
        ("stream" if handler.request_streaming else "unary")
        + "_"
        + ("stream" if handler.response_streaming else "unary")
    )
    behavior = getattr(handler, kind)
    series = Series(method) if metrics else None
    if inspect.isasyncgenfunction(behavior):
        wrapped = _wrap_stream(behavior, method, handler.request_streaming, series)
    else:
        wrapped = _wrap_unary(behavior, method, handler.request_streaming, series)
    replaced: Handler = handler._replace(  # type: ignore[attr-defined]
        request_deserializer=_safe(handler.request_deserializer), **{kind: wrapped}
    )
    return replaced


class CallInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps every method's handler, labelwire's and grpc's own services alike,
    where handlers are found per call (the HTTP port's registration, benches).
    `metrics=False` leaves the RPC metrics out (bench/metrics_overhead.py)."""

    def __init__(self, *, metrics: bool = True) -> None:
        self._handlers: dict[str, Handler | None] = {}
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        method = handler_call_details.method
        if method not in self._handlers:
            handler = await continuation(handler_call_details)
            if len(self._handlers) < 1000:
                self._handlers[method] = (
                    None if handler is None else wrap_handler(handler, method, metrics=self._metrics)
                )
            else:
                return handler if handler is None else wrap_handler(handler, method, metrics=self._metrics)
        return self._handlers[method]  # type: ignore[return-value]


class _WrappedGeneric(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """A generic handler whose methods come out wrapped, each wrapped once."""

    def __init__(self, inner: Any, metrics: bool) -> None:
        self._inner = inner
        self._metrics = metrics
        self._handlers: dict[str, Handler | None] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        method = handler_call_details.method
        if method in self._handlers:
            return self._handlers[method]
        handler = self._inner.service(handler_call_details)
        wrapped = None if handler is None else wrap_handler(handler, method, metrics=self._metrics)
        if len(self._handlers) < 1000:
            self._handlers[method] = wrapped
        return wrapped


class WrappingRegistry:
    """What the servicers register on instead of the grpc.aio server itself:
    every handler is wrapped (`wrap_handler`) once, here, rather than by a
    server interceptor, which grpc.aio runs as one more coroutine on every
    call to find the same wrapped handler again (bench/README.md, "Server
    throughput")."""

    def __init__(self, server: Any, *, metrics: bool = True) -> None:
        self._server = server
        self._metrics = metrics

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Any) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(_WrappedGeneric(handler, self._metrics) for handler in generic_rpc_handlers)
        )

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Handler]) -> None:
        self._server.add_registered_method_handlers(
            service_name,
            {
                name: wrap_handler(handler, f"/{service_name}/{name}", metrics=self._metrics)
                for name, handler in method_handlers.items()
            },
        )
