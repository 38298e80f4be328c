"""gRPC-Web's text mode (`application/grpc-web-text`): the binary gRPC-Web
body in base64, which the grpc-web JavaScript client sends by default and
which `connectrpc` does not decode. This layer only translates, as Envoy's
grpc_web filter does: the request body out of base64, the response body into
it, each chunk padded on its own so a streamed message is not held back; the
runtime serves the call as binary gRPC-Web, so statuses, trailers and limits
are the same."""

from __future__ import annotations

import base64
import binascii
from typing import Any

TEXT = b"application/grpc-web-text"
BINARY = b"application/grpc-web"


class GrpcWebText:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = scope.get("headers", ()) if scope["type"] == "http" else ()
        content_type = next((v for k, v in headers if k == b"content-type"), b"")
        if not content_type.startswith(TEXT):
            await self.app(scope, receive, send)
            return
        binary_type = BINARY + content_type[len(TEXT) :]
        scope = dict(scope)
        scope["headers"] = [
            (k, binary_type if k == b"content-type" else v) for k, v in headers if k != b"content-length"
        ]
        await self.app(scope, _decoded(receive), _encoded(send))


def _decoded(receive: Any) -> Any:
    """The request body out of base64, four characters at a time (a body may
    be several padded segments, and a chunk may end inside a group)."""
    pending = bytearray()

    async def next_message() -> Any:
        message = await receive()
        if message["type"] != "http.request":
            return message
        pending.extend(b"".join(message.get("body", b"").split()))
        more = message.get("more_body", False)
        whole = len(pending) if not more else len(pending) - len(pending) % 4
        text, pending[:] = bytes(pending[:whole]), pending[whole:]
        try:
            body = b"".join(base64.b64decode(text[i : i + 4]) for i in range(0, len(text), 4))
        except binascii.Error:
            body = b"\xff"  # not a gRPC-Web frame: the runtime refuses it as malformed
        return {**message, "body": body}

    return next_message


def _encoded(send: Any) -> Any:
    async def next_message(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": [
                    (k, TEXT + v[len(BINARY) :] if k == b"content-type" and v.startswith(BINARY) else v)
                    for k, v in message.get("headers", ())
                    if k != b"content-length"
                ],
            }
        elif message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": base64.b64encode(message["body"])}
        await send(message)

    return next_message
