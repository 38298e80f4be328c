"""Regenerates the Python code for proto/labelwire/v1 (the one documented command).

`python scripts/gen_proto.py` writes the modules beside the .proto files;
`python scripts/gen_proto.py --check` regenerates into a scratch folder and fails
when the committed copy differs, which is how CI catches a stale copy.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE = Path("labelwire") / "v1"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(out: Path) -> None:
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE).glob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    bin_dir = Path(sys.executable).parent
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generated_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(SUFFIXES))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is stale")
    check = parser.parse_args().check
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
