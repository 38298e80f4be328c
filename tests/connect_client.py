"""A client of the HTTP port as a Connect SDK is: the Connect project's own
Python client (`connectrpc`), with google.protobuf messages, over the
protocol, encoding and HTTP version a test picks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from connectrpc.client import ConnectClient
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.protocol import ProtocolType
from pyqwest import Client as HTTPClient
from pyqwest import HTTPTransport, HTTPVersion

from labelwire.server.transport.http.services import method_info


@dataclass(frozen=True)
class Wire:
    name: str
    protocol: ProtocolType
    json: bool
    http2: bool


CONNECT_JSON = Wire("Connect JSON over HTTP/1.1", ProtocolType.CONNECT, json=True, http2=False)
CONNECT_BINARY = Wire("Connect binary over HTTP/2", ProtocolType.CONNECT, json=False, http2=True)
GRPC_WEB = Wire("gRPC-Web over HTTP/1.1", ProtocolType.GRPC_WEB, json=False, http2=False)
GRPC_ON_HTTP_PORT = Wire("gRPC over HTTP/2 on the HTTP port", ProtocolType.GRPC, json=False, http2=True)
WIRES = (CONNECT_JSON, CONNECT_BINARY, GRPC_WEB, GRPC_ON_HTTP_PORT)


class Caller:
    """Calls any labelwire method by its path (`/labelwire.v1.JobService/GetJob`)
    with `Authorization: Bearer <token>` (none when token is None)."""

    def __init__(self, url: str, wire: Wire, token: str | None) -> None:
        transport = HTTPTransport(http_version=HTTPVersion.HTTP2 if wire.http2 else HTTPVersion.HTTP1)
        self.http = HTTPClient(transport)
        self.client = ConnectClient(
            url,
            codec=google_protobuf_json_codec() if wire.json else google_protobuf_binary_codec(),
            protocol=wire.protocol,
            http_client=self.http,
        )
        self.headers = {} if token is None else {"authorization": f"Bearer {token}"}

    def with_token(self, token: str | None) -> Caller:
        other = object.__new__(Caller)
        other.http, other.client = self.http, self.client
        other.headers = {} if token is None else {"authorization": f"Bearer {token}"}
        return other

    async def unary(self, path: str, request: Any) -> Any:
        return await self.client.execute_unary(
            request=request, method=method_info(path), headers=self.headers
        )

    async def client_stream(self, path: str, requests: Sequence[Any]) -> Any:
        async def each() -> AsyncIterator[Any]:
            for request in requests:
                yield request

        return await self.client.execute_client_stream(
            request=each(), method=method_info(path), headers=self.headers
        )

    def server_stream(self, path: str, request: Any) -> AsyncIterator[Any]:
        return self.client.execute_server_stream(
            request=request, method=method_info(path), headers=self.headers
        )
