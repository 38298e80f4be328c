"""Rebuilds the worker app's and the owner console's assets into the Python package (the one documented command).

`python scripts/build_web.py` installs web/'s pinned tools (`npm ci`, when
web/node_modules is missing or older than the lock file), generates the
Connect-ES client from proto/ (`buf generate --template web/buf.gen.yaml`),
type-checks, and builds with Vite into server/transport/web/worker/ (the
worker app) and server/transport/web/console/ (the owner console, Vite's
`--mode console`), with a gzip copy of each file for clients that accept it.

`python scripts/build_web.py --check` builds into a scratch folder and fails
when the committed assets differ, which is how CI catches a stale copy (the
build is reproducible: output names carry content hashes, nothing else
varies). The .gz copies are checked by content, not bytes, since zlib
versions compress differently.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
PAGES = {"worker": "worker app", "console": "console"}
OUT = ROOT / "server" / "transport" / "web"
BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"
COMPRESSED = (".html", ".js", ".css", ".svg", ".json")


def run(*args: str | Path, cwd: Path = ROOT) -> None:
    subprocess.run([str(a) for a in args], cwd=cwd, check=True)


def install() -> None:
    stamp = WEB / "node_modules" / ".package-lock.json"
    lock = WEB / "package-lock.json"
    if not stamp.is_file() or stamp.stat().st_mtime < lock.stat().st_mtime:
        run("npm", "ci", "--no-audit", "--no-fund", cwd=WEB)


def build(out: Path) -> None:
    """Builds each page into `out/<page>/`."""
    install()
    run(BUF, "generate", "--template", "web/buf.gen.yaml")
    bin_dir = WEB / "node_modules" / ".bin"
    run(bin_dir / "tsc", "--noEmit", "-p", ".", cwd=WEB)
    for page in PAGES:
        target = out / page
        mode = "production" if page == "worker" else page
        run(
            bin_dir / "vite",
            "build",
            "--mode",
            mode,
            "--logLevel",
            "warn",
            "--outDir",
            target,
            "--emptyOutDir",
            cwd=WEB,
        )
        for path in sorted(target.rglob("*")):
            if path.is_file() and path.suffix in COMPRESSED:
                path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), 9, mtime=0))


def files(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out[path.relative_to(root).as_posix()] = gzip.decompress(data) if path.suffix == ".gz" else data
    return out


def report(root: Path, what: str) -> None:
    index = root / "index.html"
    raw = zipped = 0
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix != ".gz":
            gz = path.with_name(path.name + ".gz")
            raw += path.stat().st_size
            zipped += gz.stat().st_size if gz.is_file() else path.stat().st_size
    print(f"{what}: {raw / 1024:.1f} KiB, {zipped / 1024:.1f} KiB transferred with gzip ({index.parent})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed assets are stale")
    args = parser.parse_args()
    if not args.check:
        build(OUT)
        for page, what in PAGES.items():
            report(OUT / page, what)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        build(Path(scratch))
        stale: list[str] = []
        for page in PAGES:
            committed = OUT / page
            built, kept = files(Path(scratch) / page), files(committed) if committed.is_dir() else {}
            stale += sorted(
                f"{page}/{name}" for name in built.keys() | kept.keys() if built.get(name) != kept.get(name)
            )
        if stale:
            print(
                "the committed web assets are stale; run python scripts/build_web.py:\n  "
                + "\n  ".join(stale),
                file=sys.stderr,
            )
            return 1
    print("the worker app's and the console's committed assets match the sources")
    return 0


if __name__ == "__main__":
    shutil.which("npm") or sys.exit("build_web.py needs Node.js and npm (only to rebuild the assets)")
    sys.exit(main())
