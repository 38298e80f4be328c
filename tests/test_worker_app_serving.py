"""The HTTP port serves the built worker app at /work/ with safe headers,
from the package alone, beside the Connect services."""

from __future__ import annotations

import re

import httpx

from tests.conftest import HttpHarness


async def test_worker_app_is_served_with_a_strict_policy(http_server: HttpHarness) -> None:
    async with httpx.AsyncClient(base_url=http_server.url) as web:
        moved = await web.get("/work")
        page = await web.get("/work/")
        script = re.search(r'src="(/work/assets/[^"]+\.js)"', page.text)
        assert script is not None
        asset = await web.get(script.group(1))
        missing = await web.get("/work/assets/nothing.js")
        post = await web.post("/work/")
    assert moved.status_code == 308 and moved.headers["location"] == "/work/"
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text.replace(
        f'<script type="module" crossorigin src="{script.group(1)}">', ""
    )
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-encoding"] == "gzip"  # httpx asks for gzip and unpacks it
    assert "takeToken" in asset.text or "Worker token" in asset.text
    assert missing.status_code == 404 and post.status_code == 405


async def test_connect_calls_still_reach_the_services(http_server: HttpHarness) -> None:
    async with httpx.AsyncClient(base_url=http_server.url) as web:
        response = await web.post(
            "/labelwire.v1.WorkerService/GetInstructions", json={}, headers={"authorization": "Bearer nope"}
        )
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


async def test_custom_task_frame_is_served_sandboxed_and_calling_nowhere(http_server: HttpHarness) -> None:
    async with httpx.AsyncClient(base_url=http_server.url) as web:
        frame = await web.get("/work/frame.html")
    assert frame.status_code == 200 and frame.headers["content-type"].startswith("text/html")
    directives = [d.strip() for d in frame.headers["content-security-policy"].split(";")]
    assert "sandbox allow-scripts" in directives  # an opaque origin even when opened on its own
    assert "default-src 'none'" in directives and not any(d.startswith("connect-src") for d in directives)
    assert "frame-ancestors 'self'" in directives
    assert "labelwire:task" in frame.text  # the frame's side of the postMessage contract
