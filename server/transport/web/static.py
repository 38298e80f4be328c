"""Serves the built worker app at `/work/` and the owner console at
`/console/` on the HTTP port.

The files are read once, when the port starts: they are small, and the set
is fixed by the build. Every response says what it is (`nosniff`), pages
carry a strict Content-Security-Policy (scripts and styles from this origin
only, nothing inline, calls to this origin only, no framing of the page),
`index.html` is never cached (a rebuild shows at the next load) and the
hashed assets are cached for a year. A gzip copy made by the build is sent
to clients that accept it."""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/work/"
WORKER_DIR = Path(__file__).resolve().parent / "worker"
CONSOLE_PREFIX = "/console/"
CONSOLE_DIR = Path(__file__).resolve().parent / "console"
PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: http: data: blob:",
        "media-src 'self' https: http: blob:",
        "connect-src 'self'",
        "frame-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
# The custom-task frame runs a job's own template: inline script is allowed,
# but the document is sandboxed to an opaque origin (no cookies, storage or
# the page's token) and may call nowhere; it talks to the page only by
# postMessage.
FRAME_POLICY = "; ".join(
    (
        "sandbox allow-scripts",
        "default-src 'none'",
        "script-src 'unsafe-inline'",
        "style-src 'unsafe-inline'",
        "img-src https: http: data: blob:",
        "media-src https: http: blob:",
        "frame-ancestors 'self'",
    )
)
COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
NO_STORE = b"no-store"
IMMUTABLE = b"public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzip: bytes | None
    content_type: str
    cache: bytes
    policy: str | None


def _content_type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".js":
        kind = "text/javascript"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith("json") else kind


def load(root: Path = WORKER_DIR) -> dict[str, Asset]:
    """Every built file by its path under the page's prefix; `index.html` also as ``."""
    assets: dict[str, Asset] = {}
    if not root.is_dir():
        return assets
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix == ".gz":
            continue
        rel = path.relative_to(root).as_posix()
        zipped = path.with_name(path.name + ".gz")
        page = path.suffix == ".html"
        policy = (FRAME_POLICY if path.name == "frame.html" else PAGE_POLICY) if page else None
        assets[rel] = Asset(
            body=path.read_bytes(),
            gzip=zipped.read_bytes() if zipped.is_file() else None,
            content_type=_content_type(path),
            cache=IMMUTABLE if rel.startswith("assets/") else NO_STORE,
            policy=policy,
        )
    if "index.html" in assets:
        assets[""] = assets["index.html"]
    return assets


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept-encoding":
            return any(part.split(b";")[0].strip() == b"gzip" for part in value.split(b","))
    return False


class WorkerApp:
    """One built page's files (the worker app's, or the console's under
    `prefix`), GET and HEAD only."""

    def __init__(self, assets: dict[str, Asset], prefix: str = PREFIX, what: str = "the worker app") -> None:
        self.assets = assets
        self.prefix = prefix
        self.what = what

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        base = [*COMMON_HEADERS, (b"content-type", b"text/plain; charset=utf-8")]
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, [*base, (b"allow", b"GET, HEAD")], b"only GET and HEAD\n")
            return
        path: str = scope["path"]
        if path == self.prefix.rstrip("/"):
            await _respond(send, 308, [*base, (b"location", self.prefix.encode())], b"")
            return
        asset = self.assets.get(path[len(self.prefix) :])
        if asset is None:
            missing = (
                b"not found\n"
                if self.assets
                else f"{self.what} is not built: run python scripts/build_web.py\n".encode()
            )
            await _respond(send, 404, [*base, (b"cache-control", NO_STORE)], missing)
            return
        headers = [
            *COMMON_HEADERS,
            (b"content-type", asset.content_type.encode()),
            (b"cache-control", asset.cache),
            (b"vary", b"accept-encoding"),
        ]
        if asset.policy is not None:
            headers.append((b"content-security-policy", asset.policy.encode()))
            if asset.policy is PAGE_POLICY:
                headers.append((b"x-frame-options", b"DENY"))
        body = asset.body
        if asset.gzip is not None and _accepts_gzip(scope):
            body = asset.gzip
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await _respond(send, 200, headers, b"" if scope["method"] == "HEAD" else body)


def with_worker_app(app: App, assets: dict[str, Asset] | None = None) -> App:
    """`app` with `/work/` (and `/work`) served from the built files."""
    worker = WorkerApp(load() if assets is None else assets)

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] == "/work" or scope["path"].startswith(PREFIX)):
            await worker(scope, receive, send)
        else:
            await app(scope, receive, send)

    return route


def with_console(app: App, assets: dict[str, Asset] | None = None) -> App:
    """`app` with `/console/` (and `/console`) served from the console's built
    files, with the worker app's headers."""
    console = WorkerApp(load(CONSOLE_DIR) if assets is None else assets, CONSOLE_PREFIX, "the console")

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope["path"] == "/console" or scope["path"].startswith(CONSOLE_PREFIX)
        ):
            await console(scope, receive, send)
        else:
            await app(scope, receive, send)

    return route
