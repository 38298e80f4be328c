"""google.protobuf messages on the wire of the HTTP port. A request that does
not decode is handed to the servicer as `Undecodable`, as on the gRPC port, so
it gets the same INVALID_ARGUMENT, request id, log line and metrics as any
other refused call instead of an error from inside the runtime."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from labelwire.server.transport.grpc.calls import Undecodable


def _name(message_class: type[Any]) -> str:
    return str(getattr(getattr(message_class, "DESCRIPTOR", None), "full_name", "request message"))


class BinaryCodec:
    """`application/proto` (Connect) and `application/grpc-web+proto`."""

    def name(self) -> str:
        return "proto"

    def encode(self, message: Message) -> bytes:
        return message.SerializeToString()

    def decode(self, data: bytes | bytearray, message_class: type[Any]) -> Any:
        try:
            return message_class.FromString(bytes(data))
        except Exception:
            return Undecodable(_name(message_class))


class JsonCodec:
    """`application/json`: the proto3 JSON mapping (camelCase names, 64-bit
    integers as strings, enums by name). Unknown fields are ignored, as the
    binary form ignores unknown field numbers and as Connect's servers do."""

    def name(self) -> str:
        return "json"

    def encode(self, message: Message) -> bytes:
        return json_format.MessageToJson(message, indent=None).encode()

    def decode(self, data: bytes | bytearray, message_class: type[Any]) -> Any:
        try:
            return json_format.Parse(bytes(data), message_class(), ignore_unknown_fields=True)
        except Exception as exc:
            refused = Undecodable(_name(message_class))
            refused.message = f"the request is not a valid {_name(message_class)} in JSON: {exc}"
            return refused
