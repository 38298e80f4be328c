"""The HTTP port serves the built owner console at /console/ with the worker
app's headers, from the package alone, beside the worker app."""

from __future__ import annotations

import re

import httpx

from tests.conftest import HttpHarness


async def test_console_is_served_with_a_strict_policy(http_server: HttpHarness) -> None:
    async with httpx.AsyncClient(base_url=http_server.url) as web:
        moved = await web.get("/console")
        page = await web.get("/console/")
        script = re.search(r'src="(/console/assets/[^"]+\.js)"', page.text)
        assert script is not None
        asset = await web.get(script.group(1))
        style = re.search(r'href="(/console/assets/[^"]+\.css)"', page.text)
        assert style is not None
        css = await web.get(style.group(1))
        worker = await web.get("/work/")
        missing = await web.get("/console/assets/nothing.js")
        post = await web.post("/console/")
    assert moved.status_code == 308 and moved.headers["location"] == "/console/"
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "labelwire · console" in page.text and page.text != worker.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "API key" in asset.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404 and post.status_code == 405
