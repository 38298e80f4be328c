"""Custom answers checked against the job's JSON Schema, with the `jsonschema` library.

A custom job's `answer_schema` is the owner's contract for what a worker may
send. It is checked once as a schema when the job is created (draft 2020-12
unless it names another with `$schema`), compiled into a validator once per
distinct schema, and every answer, gold answer and pre-label is validated
against it before it is stored.

References are resolved inside the schema only: a `$ref` to a URL would make
the server fetch it, so the validator gets an empty registry.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jsonschema
import jsonschema.protocols
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable

MAX_QUOTE = 80
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def schema_of(task_config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The answer schema of a custom job's task config, or None when it has none."""
    inner = task_config.get("custom", task_config)
    schema = inner.get("answer_schema") if isinstance(inner, Mapping) else None
    return integral_numbers(dict(schema)) if isinstance(schema, Mapping) and schema else None


def integral_numbers(value: Any) -> Any:
    """`value` with every whole float made an int.

    A protobuf Struct keeps every number as a double, so the `3` a client sent
    arrives as `3.0`; JSON does not tell the two apart, but a draft-4 schema's
    `integer` (and its own `minItems: 2`) does.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral_numbers(v) for v in value]
    return value


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` is not a valid JSON Schema, in a short sentence, or None."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as err:
        where = _path("", err.path) or "the schema"
        return f"{where.lstrip('.')}: {_short(err)}"
    outside = next(_outside_refs(schema), None)
    if outside is not None:
        return f"$ref {_quote(outside)} points outside the schema; only '#...' references are resolved"
    return None


def answer_problem(schema: Mapping[str, Any], value: Any, field: str) -> str | None:
    """The first way `value` breaks `schema`, as `<field><path>: <reason>`, or None."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    try:
        errors = sorted(validator.iter_errors(value), key=_order)
    except Unresolvable as err:
        return (
            f"{field}: the job's answer_schema has a reference that cannot be resolved ({_quote(str(err))})"
        )
    if not errors:
        return None
    first = errors[0]
    return f"{_path(field, first.absolute_path)}: {_short(first)}"


@functools.lru_cache(maxsize=512)
def _validator(schema_text: str) -> jsonschema.protocols.Validator:
    """One compiled validator per distinct schema (a job's schema never changes)."""
    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator: jsonschema.protocols.Validator = cls(schema, registry=Registry())
    return validator


def _order(error: ValidationError) -> tuple[int, str, str]:
    """Errors about a value inside the answer before errors about the whole, then by path:
    the same answer always gets the same message."""
    path = list(error.absolute_path)
    return (-len(path), json.dumps([str(p) for p in path]), str(error.validator))


def _path(field: str, path: Iterable[Any]) -> str:
    out = field
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def _short(error: ValidationError | SchemaError) -> str:
    """The library's message with the offending value quoted in at most MAX_QUOTE characters."""
    message = error.message
    instance = repr(error.instance)
    if len(instance) > MAX_QUOTE:
        message = message.replace(instance, _quote(error.instance), 1)
    return message if len(message) <= 3 * MAX_QUOTE else message[: 3 * MAX_QUOTE - 1] + "…"


def _outside_refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                yield value
            else:
                yield from _outside_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _outside_refs(value)
