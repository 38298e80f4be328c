"""The HTTP port: the Connect runtime's ASGI application, CORS when the
operator names origins, served by Hypercorn (HTTP/1.1 and HTTP/2 on one
port: h2c by prior knowledge in plaintext, ALPN under TLS) on the event loop
that runs the gRPC server, so both ports share one core and one store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectrpc.server import ConnectASGIApplication
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config
from hypercorn.utils import wrap_app
from starlette.middleware.cors import CORSMiddleware

from labelwire.server.transport.http.codec import BinaryCodec, JsonCodec
from labelwire.server.transport.http.grpc_web_text import GrpcWebText
from labelwire.server.transport.http.services import Interceptor, Registration, endpoints
from labelwire.server.transport.web.static import with_console, with_worker_app

# Hypercorn narrates its own start and stop; labelwire's start line says where it listens.
SERVER_LOG = logging.getLogger("labelwire.http.server")
SERVER_LOG.setLevel(logging.WARNING)
# What a browser may send and read across origins: Connect's and gRPC-Web's
# own headers (as connectrpc.com/cors lists them) plus the bearer token, and
# the status and request id a gRPC-Web client reads from the response.
CORS_ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "Connect-Protocol-Version",
    "Connect-Timeout-Ms",
    "Connect-Accept-Encoding",
    "Connect-Content-Encoding",
    "Content-Encoding",
    "Accept-Encoding",
    "Grpc-Timeout",
    "X-Grpc-Web",
    "X-User-Agent",
)
CORS_EXPOSE_HEADERS = (
    "Grpc-Status",
    "Grpc-Message",
    "Grpc-Status-Details-Bin",
    "Grpc-Encoding",
    "Connect-Content-Encoding",
    "Content-Encoding",
    "X-Request-Id",
)
CORS_MAX_AGE_SECONDS = 7200
# What Hypercorn waits, after the calls themselves were ended, for connections to close.
STOP_BACKSTOP_SECONDS = 5.0


class LabelwireConnectApplication(ConnectASGIApplication[None]):
    """Every labelwire service in one application: the runtime routes by the
    full path (`/labelwire.v1.JobService/CreateJob`)."""

    def __init__(self, routes: dict[str, Any], max_message_bytes: int) -> None:
        super().__init__(
            service=None,
            endpoints=lambda _: routes,
            read_max_bytes=max_message_bytes,
            codecs=[BinaryCodec(), JsonCodec()],
        )

    @property
    def path(self) -> str:
        return "/"


async def application(
    registrations: Sequence[Registration],
    interceptors: Sequence[Interceptor],
    *,
    max_message_bytes: int,
    cors_origins: Sequence[str] = (),
) -> Any:
    """The ASGI application; without `cors_origins` it sends no CORS header at all."""
    app: Any = LabelwireConnectApplication(await endpoints(registrations, interceptors), max_message_bytes)
    app = with_console(with_worker_app(GrpcWebText(app)))
    if cors_origins:
        app = CORSMiddleware(
            app,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(CORS_ALLOW_HEADERS),
            expose_headers=list(CORS_EXPOSE_HEADERS),
            max_age=CORS_MAX_AGE_SECONDS,
        )
    return app


class _Calls:
    """The application, knowing the task of each call in flight, so that a
    stop ends the calls that would never end by themselves (open label
    streams) with CANCELLED instead of leaving Hypercorn to cut whole
    connections once its grace period is over."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        task = asyncio.current_task()
        if scope["type"] != "http" or task is None:
            await self.app(scope, receive, send)
            return
        self.tasks.add(task)
        try:
            await self.app(scope, receive, send)
        finally:
            self.tasks.discard(task)


@dataclass
class HttpServer:
    port: int
    tls: bool
    _calls: _Calls
    _stopping: asyncio.Event
    _task: asyncio.Task[None]

    async def stop(self, grace: float | None = 1.0) -> None:
        """Stops accepting; calls still running get `grace` seconds (None:
        none), then end with CANCELLED."""
        self._stopping.set()
        if self._calls.tasks and grace:
            await asyncio.wait(set(self._calls.tasks), timeout=grace)
        for task in list(self._calls.tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger("labelwire").error("the HTTP port stopped", exc_info=task.exception())


def _config(address: str, tls_cert: Path | None, tls_key: Path | None) -> Config:
    config = Config()
    config.bind = [address]
    config.errorlog = SERVER_LOG
    config.accesslog = None
    config.graceful_timeout = STOP_BACKSTOP_SECONDS
    config.include_server_header = False
    if tls_cert and tls_key:
        config.certfile = str(tls_cert)
        config.keyfile = str(tls_key)
    return config


async def serve_http(
    app: Any,
    address: str,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> HttpServer:
    """Listens on `address` (HOST:PORT, port 0 for any) before returning, so
    a caller that reads the port can connect at once."""
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise OSError(f"cannot listen on {address!r}: the HTTP address must be HOST:PORT")
    config = _config(address, tls_cert, tls_key)
    if config.ssl_enabled:
        config.create_ssl_context()  # a missing or bad certificate fails here, not in the serving task
    try:
        sockets = config.create_sockets()
    except OSError as exc:
        raise OSError(f"cannot listen on {address}: {exc.strerror or exc}") from exc
    listening = [*sockets.secure_sockets, *sockets.insecure_sockets]
    for sock in listening:
        sock.listen(config.backlog)
    stopping = asyncio.Event()
    calls = _Calls(app)
    served = wrap_app(calls, config.wsgi_max_body_size, "asgi")
    task = asyncio.create_task(worker_serve(served, config, sockets=sockets, shutdown_trigger=stopping.wait))
    task.add_done_callback(_report)
    return HttpServer(
        port=listening[0].getsockname()[1],
        tls=config.ssl_enabled,
        _calls=calls,
        _stopping=stopping,
        _task=task,
    )
