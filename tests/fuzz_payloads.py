"""What the fuzz test sends: values at and past every field's limits, drawn
with Hypothesis, and how they are set on a request."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from google.protobuf import descriptor, message_factory, struct_pb2
from google.protobuf.message import Message
from hypothesis import strategies as st

if TYPE_CHECKING:
    from tests.fuzz_server import Target


def nested_struct(depth: int) -> struct_pb2.Struct:
    inner: dict[str, Any] = {}
    for _ in range(depth):
        inner = {"a": inner}
    out = struct_pb2.Struct()
    out.update(inner)
    return out


INTS = {
    descriptor.FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    descriptor.FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    descriptor.FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    descriptor.FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    descriptor.FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    descriptor.FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    descriptor.FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    descriptor.FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    descriptor.FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    descriptor.FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
FLOATS = st.sampled_from([0.0, -0.0, 0.5, 1.0, -1.0, 1e308, math.nan, math.inf, -math.inf])
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.text(max_size=8), FLOATS, st.integers(-(2**53), 2**53))
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


STRUCTS = st.one_of(
    st.dictionaries(st.text(max_size=6), JSON, max_size=4).map(_struct),
    st.sampled_from([10, 30]).map(nested_struct),
    st.just(_struct({"blob": "x" * 70_000})),
)


class Requests:
    """Hypothesis strategies for any message, from its descriptor."""

    def __init__(self, target: Target, *, exporting: bool = False) -> None:
        self.target = target
        self.exporting = exporting
        self._cache: dict[str, st.SearchStrategy[Message]] = {}

    def message(self, desc: descriptor.Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
        if desc.full_name == "google.protobuf.Struct":
            return STRUCTS
        if desc.full_name not in self._cache:
            cls = message_factory.GetMessageClass(desc)
            fields = {
                f.name: st.one_of(st.none(), self.field(f, depth))
                for f in desc.fields
                if depth < 4 or f.message_type is None
            }
            self._cache[desc.full_name] = st.fixed_dictionaries(fields).map(lambda d, cls=cls: _build(cls, d))
        return self._cache[desc.full_name]

    def field(self, f: descriptor.FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        entry = f.message_type
        if entry is not None and entry.GetOptions().map_entry:
            key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
            return st.dictionaries(self.scalar(key, depth), self.scalar(value, depth), max_size=3)
        one = self.scalar(f, depth)
        if f.is_repeated:
            return st.lists(one, max_size=3)
        return one

    def scalar(self, f: descriptor.FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        kind = f.type
        if f.message_type is not None:
            return self.message(f.message_type, depth + 1)
        if kind == descriptor.FieldDescriptor.TYPE_STRING:
            if f.name == "uri":
                return st.sampled_from(self.target.export_uris if self.exporting else self.target.uris)
            return st.one_of(st.sampled_from(self.target.names), st.text(max_size=12))
        if kind == descriptor.FieldDescriptor.TYPE_BYTES:
            return st.binary(max_size=16)
        if kind == descriptor.FieldDescriptor.TYPE_BOOL:
            return st.booleans()
        if kind in (descriptor.FieldDescriptor.TYPE_DOUBLE, descriptor.FieldDescriptor.TYPE_FLOAT):
            return FLOATS
        if kind == descriptor.FieldDescriptor.TYPE_ENUM:
            assert f.enum_type is not None
            known = [v.number for v in f.enum_type.values]
            return st.one_of(st.sampled_from(known), st.sampled_from([-1, max(known) + 1, 99, 2**31 - 1]))
        low, high = INTS[kind]
        return st.one_of(st.sampled_from([0, 1, -1 if low < 0 else 2, low, high]), st.integers(low, high))


def _build(cls: Callable[[], Message], values: dict[str, Any]) -> Message:
    out = cls()
    for name, value in values.items():
        if value is not None:
            _fill(out, name, value)
    return out


def _fill(out: Message, name: str, value: Any) -> None:
    current = getattr(out, name)
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, Message):
                current[k].CopyFrom(v)
            else:
                current[k] = v
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, Message):
                current.add().CopyFrom(v)
            else:
                current.append(v)
    elif isinstance(value, Message):
        current.CopyFrom(value)
    else:
        setattr(out, name, value)


INVALID_UTF8 = b"\x0a\x03\xff\xfe\xfd"
