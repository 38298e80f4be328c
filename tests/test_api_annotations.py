"""The API's annotations say what its comments say.

Each field's comment opens with `Required.`, `Optional.` or `Output only.`
(STYLE.md); `google.api.field_behavior` says the same for machines (client
generators, linters, the console's forms). The two are kept from drifting by
reading the comments back out of protoc's source info. Resource references
must name a resource the API defines, so a generator can follow them.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc_tools
from google.api import field_behavior_pb2, resource_pb2
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
FieldBehavior = field_behavior_pb2.FieldBehavior
OPENINGS = {
    "Required.": FieldBehavior.REQUIRED,
    "Required on create.": FieldBehavior.REQUIRED,
    "Optional.": FieldBehavior.OPTIONAL,
    "Output only.": FieldBehavior.OUTPUT_ONLY,
}
MESSAGE_FIELD = 4  # FileDescriptorProto.message_type
FIELD_FIELD = 2  # DescriptorProto.field
NESTED_FIELD = 3  # DescriptorProto.nested_type


def _compiled() -> list[descriptor_pb2.FileDescriptorProto]:
    sources = sorted(p.relative_to(PROTO).as_posix() for p in (PROTO / "labelwire" / "v1").glob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "api.binpb"
        args = [f"-I{PROTO}", f"-I{PROTO / 'third_party'}", f"-I{well_known}", "--include_source_info"]
        assert protoc.main(["protoc", *args, f"--descriptor_set_out={out}", *sources]) == 0
        return list(descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file)


FILES = _compiled()


def _messages(
    messages: list[descriptor_pb2.DescriptorProto], path: tuple[int, ...], prefix: str
) -> Iterator[tuple[str, descriptor_pb2.DescriptorProto, tuple[int, ...]]]:
    for index, message in enumerate(messages):
        here = (*path, index)
        yield f"{prefix}{message.name}", message, here
        yield from _messages(list(message.nested_type), (*here, NESTED_FIELD), f"{prefix}{message.name}.")


def _fields() -> Iterator[tuple[str, descriptor_pb2.FieldDescriptorProto, str]]:
    """Every field of the API with its leading comment."""
    for file in FILES:
        comments = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}
        for name, message, path in _messages(list(file.message_type), (MESSAGE_FIELD,), ""):
            for index, field in enumerate(message.field):
                comment = comments.get((*path, FIELD_FIELD, index), "")
                yield f"{file.name} {name}.{field.name}", field, " ".join(comment.split())


def _behavior(field: descriptor_pb2.FieldDescriptorProto) -> set[int]:
    return set(field.options.Extensions[field_behavior_pb2.field_behavior])


def test_every_field_whose_comment_states_its_behavior_is_annotated_alike() -> None:
    wrong = []
    for where, field, comment in _fields():
        opening = next((o for o in OPENINGS if comment.startswith(o)), None)
        expected = {OPENINGS[opening]} if opening else set()
        if _behavior(field) != expected:
            wrong.append(f"{where}: comment {comment[:30]!r}, annotated {sorted(_behavior(field))}")
    assert not wrong, "field_behavior and the comment's opening disagree:\n" + "\n".join(wrong)


def test_the_requests_say_which_fields_are_required() -> None:
    required = [w for w, f, _ in _fields() if FieldBehavior.REQUIRED in _behavior(f)]
    assert any(w.endswith("CreateJobRequest.job") for w in required)
    assert any(w.endswith("GetJobRequest.name") for w in required)


def _resources() -> dict[str, str]:
    found: dict[str, str] = {}
    for file in FILES:
        for definition in file.options.Extensions[resource_pb2.resource_definition]:
            found[definition.type] = definition.pattern[0]
        for _, message, _ in _messages(list(file.message_type), (MESSAGE_FIELD,), ""):
            if message.options.HasExtension(resource_pb2.resource):
                resource = message.options.Extensions[resource_pb2.resource]
                found[resource.type] = resource.pattern[0]
    return found


def test_every_resource_reference_names_a_resource_of_the_api() -> None:
    resources = _resources()
    references = {
        where: field.options.Extensions[resource_pb2.resource_reference].type
        for where, field, _ in _fields()
        if field.options.HasExtension(resource_pb2.resource_reference)
    }
    assert len(references) > 50
    unknown = {where: kind for where, kind in references.items() if kind not in resources}
    assert not unknown, f"references to no defined resource: {unknown}"


def test_resource_patterns_match_the_names_the_comments_give() -> None:
    resources = _resources()
    assert resources["labelwire.dev/Job"] == "jobs/{job}"
    for where, field, comment in _fields():
        if not field.options.HasExtension(resource_pb2.resource_reference):
            continue
        pattern = resources[field.options.Extensions[resource_pb2.resource_reference].type]
        shown = re.search(r"`([^`]*)`", comment)
        assert shown, f"{where}: its comment shows no name"
        assert _shape(shown.group(1)) == _shape(pattern), f"{where}: {shown.group(1)} is not {pattern}"


def _shape(name: str) -> str:
    return re.sub(r"\{[^}]*\}", "*", name)
