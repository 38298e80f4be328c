"""Copies the google.api annotation protos the API imports into proto/third_party.

buf cannot reach the Buf Schema Registry from every machine that builds
labelwire, and `googleapis-common-protos` (a runtime dependency: the generated
Python imports its `google.api` modules) already ships the very `.proto` files.
So the vendored copy is taken from the installed package, never edited by hand:

    python scripts/vendor_googleapis.py           # refresh proto/third_party/google/api
    python scripts/vendor_googleapis.py --check   # CI: fail when the copy differs
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THIRD_PARTY = ROOT / "proto" / "third_party"
# What proto/labelwire imports, and what those files import in turn (apart
# from google/protobuf, which every protobuf compiler carries).
FILES = ("google/api/field_behavior.proto", "google/api/resource.proto")


def installed(name: str) -> str:
    distribution = metadata.distribution("googleapis-common-protos")
    path = Path(str(distribution.locate_file(name)))
    if not path.is_file():
        raise SystemExit(f"{name} is not in googleapis-common-protos {distribution.version}")
    return path.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the vendored copy is stale")
    check = parser.parse_args().check
    stale = [
        name
        for name in FILES
        if not (THIRD_PARTY / name).is_file() or (THIRD_PARTY / name).read_text() != installed(name)
    ]
    if check:
        if stale:
            print("proto/third_party is stale; run python scripts/vendor_googleapis.py:", *stale, sep="\n  ")
            return 1
        print(f"proto/third_party is fresh ({len(FILES)} files)")
        return 0
    for name in FILES:
        target = THIRD_PARTY / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(installed(name))
    print(f"wrote {len(FILES)} files to {THIRD_PARTY.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
