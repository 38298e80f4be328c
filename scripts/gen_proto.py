"""Regenerates the Python code for proto/labelwire/v1 (the one documented command).

`python scripts/gen_proto.py` writes the modules beside the .proto files;
`python scripts/gen_proto.py --check` regenerates into a scratch folder and fails
when the committed copy differs, which is how CI catches a stale copy.

`buf generate` (buf.gen.yaml at the root) runs this same generator as a protoc
plugin (`--protoc-plugin`), so both commands write byte-identical files.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import grpc_tools
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
# google/api annotations, vendored by scripts/vendor_googleapis.py; their Python
# modules come from googleapis-common-protos at run time, so none is generated.
THIRD_PARTY = PROTO_ROOT / "third_party"
PACKAGE = Path("labelwire") / "v1"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(out: Path) -> None:
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE).glob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    if (
        protoc.main(
            [
                "protoc",
                f"-I{PROTO_ROOT}",
                f"-I{THIRD_PARTY}",
                f"-I{well_known}",
                *_output_flags(out),
                *sources,
            ]
        )
        != 0
    ):
        raise SystemExit("protoc failed")


def _output_flags(out: Path) -> list[str]:
    bin_dir = Path(sys.executable).parent
    return [
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
    ]


def _json_name(field: str) -> str:
    """protoc's default JSON name; buf fills it in on every field, protoc only
    where the .proto sets it, and the Python generator embeds what it is given."""
    parts = field.split("_")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


def _drop_default_json_names(messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
    for message in messages:
        for field in [*message.field, *message.extension]:
            if field.json_name == _json_name(field.name):
                field.ClearField("json_name")
        _drop_default_json_names(message.nested_type)


def run_as_plugin() -> int:
    """A protoc plugin (the CodeGeneratorRequest on stdin, the response on
    stdout) that feeds buf's descriptors, made to look as protoc's own parser
    leaves them, to the same protoc and flags as `generate`."""
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    reply = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # protoc and the mypy plugins print progress: stdout must carry the response alone
    files = descriptor_pb2.FileDescriptorSet(file=request.proto_file)
    for file in files.file:
        _drop_default_json_names(file.message_type)
        for extension in file.extension:
            if extension.json_name == _json_name(extension.name):
                extension.ClearField("json_name")
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    with tempfile.TemporaryDirectory() as scratch:
        descriptors = Path(scratch) / "descriptors.binpb"
        descriptors.write_bytes(files.SerializeToString())
        out = Path(scratch) / "out"
        out.mkdir()
        args = ["protoc", f"--descriptor_set_in={descriptors}", *_output_flags(out)]
        if protoc.main([*args, *request.file_to_generate]) != 0:
            response.error = "protoc failed on " + ", ".join(request.file_to_generate)
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            response.file.add(name=path.relative_to(out).as_posix(), content=path.read_text())
    with reply:
        reply.write(response.SerializeToString())
    return 0


def generated_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(SUFFIXES))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is stale")
    parser.add_argument("--protoc-plugin", action="store_true", help="run as a protoc plugin (for buf)")
    options = parser.parse_args()
    if options.protoc_plugin:
        return run_as_plugin()
    check = options.check
    target = PROTO_ROOT / PACKAGE
    with tempfile.TemporaryDirectory() as scratch:
        generate(Path(scratch))
        fresh = Path(scratch) / PACKAGE
        names = generated_files(fresh)
        if check:
            stale = [
                n
                for n in names
                if not (target / n).exists() or not filecmp.cmp(fresh / n, target / n, shallow=False)
            ]
            stale += [n for n in generated_files(target) if n not in names]
            if stale:
                print("generated code is stale; run python scripts/gen_proto.py:", *stale, sep="\n  ")
                return 1
            print(f"generated code is fresh ({len(names)} files)")
            return 0
        for name in generated_files(target):
            (target / name).unlink()
        for name in names:
            shutil.copyfile(fresh / name, target / name)
        print(f"wrote {len(names)} files to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
