"""Fails when the code `buf generate` writes (buf.gen.yaml) differs from the
committed copy: the TypeScript SDK's `clients/typescript/src/gen/` and the
Python modules beside the .proto files, which buf writes through
`scripts/gen_proto.py`, so this also proves both commands agree.

    python scripts/check_buf_generate.py     # CI; needs `npm ci` in clients/typescript

Regenerate with `npm run generate` in clients/typescript.
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPESCRIPT = ROOT / "clients" / "typescript"
# The `out` folders of buf.gen.yaml, and which files in each are generated.
OUTPUTS = {
    "proto": ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"),
    "clients/typescript/src/gen": ("",),
}
BUFS = (TYPESCRIPT / "node_modules" / ".bin" / "buf", ROOT / ".tools" / "node_modules" / ".bin" / "buf")


def generated(folder: Path, suffixes: tuple[str, ...]) -> set[str]:
    if not folder.is_dir():
        return set()
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name.endswith(suffixes) and "__pycache__" not in p.parts
    }


def main() -> int:
    buf = next((b for b in BUFS if b.exists()), None)
    if buf is None or not (TYPESCRIPT / "node_modules" / ".bin" / "protoc-gen-es").exists():
        print("buf and protoc-gen-es are missing: run `npm ci` in clients/typescript", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run([str(buf), "generate", "-o", scratch], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"buf generate failed:\n{done.stderr}", file=sys.stderr)
            return 1
        unknown = generated(Path(scratch), ("",)) - {
            f"{out}/{name}"
            for out, suffixes in OUTPUTS.items()
            for name in generated(Path(scratch) / out, suffixes)
        }
        if unknown:
            print("buf.gen.yaml writes where this check does not look:", *sorted(unknown), sep="\n  ")
            return 1
        stale: list[str] = []
        count = 0
        for out, suffixes in OUTPUTS.items():
            fresh, committed = Path(scratch) / out, ROOT / out
            names = generated(fresh, suffixes)
            count += len(names)
            stale += [
                f"{out}/{n}"
                for n in sorted(names | generated(committed, suffixes))
                if n not in names
                or not (committed / n).exists()
                or not filecmp.cmp(fresh / n, committed / n, shallow=False)
            ]
        if stale:
            print(
                "generated code is stale; run `npm run generate` in clients/typescript:", *stale, sep="\n  "
            )
            return 1
        print(f"buf generate output is fresh ({count} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
