"""Protobuf values as the SDK's plain Python: enum names in lower case,
answers as a class name, a list of class names or a dict."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from labelwire.v1 import answer_pb2


def _enum_name(prefix: str, name: str) -> str:
    return name.removeprefix(prefix).lower()


def answer_value(answer: answer_pb2.Answer) -> Any:
    """A class name, a list of class names, a number, or the answer as a dict
    (other task types); None if empty."""
    kind = answer.WhichOneof("value")
    if kind is None:
        return None
    if kind == "classification":
        return answer.classification.class_name
    if kind == "multi_label":
        return list(answer.multi_label.class_names)
    if kind == "number":
        return answer.number.value
    return json_format.MessageToDict(getattr(answer, kind), preserving_proto_field_name=True)
