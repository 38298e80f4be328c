"""What loading the next task's image ahead saves the worker app, in Chromium:
Enter to the next image on screen, with lookahead and without, in one run.

Why it is built this way:

* One `labelwire serve` process (temporary SQLite file) and a small image
  server in this process that waits `--image-delay-ms` before each answer (a
  remote object store or CDN; 0 is a file next door) and forbids caching,
  every item its own URL: the browser cannot reuse one image for another.
* Two image jobs, one per arm, each worked by its own browser page signed in
  with a sign-in link. Both pages route their WorkerService calls through
  Playwright; the plain arm's route clears `lookahead` in NextTask and
  SubmitJudgment requests (the binary protobuf body decoded, changed and
  re-encoded), the lookahead arm's passes them on as they are, so both pay
  the same routing cost and differ only in the field.
* The worker "thinks" `--think-ms` before each answer (no worker answers in
  0 ms, and the lookahead's fetch runs in that time), then presses `1` and
  `Enter`. The time is measured inside the page from the `Enter` keydown to
  the first animation frame after the next task's image is in the DOM and
  decoded (a MutationObserver, then `img.decode()`, then
  requestAnimationFrame): what the worker waits for, in the page's own clock.
* Rounds alternate the two arms (`--rounds`, `--tasks` each), so a busy
  spell on this shared machine falls on both. Reported: median and p99 of
  each, and their ratio (lookahead over plain); and each wait split in two
  from the page's resource timings: `Enter` to SubmitJudgment's response
  (`submit_ms`), and that response to the image on screen (`after_submit_ms`).
  Lookahead can only shorten the second; the first is the server and the
  machine, the same in both arms, and at p99 it is most of the wait.

Not part of the tests: `python bench/worker_app_preload.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import Page, Route, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from connect_roundtrip import ADMIN_KEY, start_server
from worker_app import pct

from labelwire.client.raw import AdminClient, Client, source_item
from labelwire.v1 import job_pb2, worker_service_pb2

CHROMIUM = os.environ.get("LABELWIRE_CHROMIUM", "/usr/bin/chromium")
CLASSES = ["cat", "dog"]

PROBE = """
window.__lw = { times: [], late: [], rpc: [], t0: 0, last: "" };
performance.setResourceTimingBufferSize(100000);  // the default 250 entries fill within 100 tasks
document.addEventListener("keydown", (e) => { if (e.key === "Enter") window.__lw.t0 = performance.now(); }, true);
new MutationObserver(() => {
  const img = document.querySelector(".stage .item-media img");
  const w = window.__lw;
  if (!img || !w.t0 || img.src === w.last) return;
  w.last = img.src;
  const t0 = w.t0;
  w.t0 = 0;
  img.decode().catch(() => undefined).then(() => requestAnimationFrame(() => {
    w.times.push(performance.now() - t0);
    const fetched = performance.getEntriesByName(img.src)[0];  // when the image's bytes were in, from Enter
    w.late.push(fetched ? Math.round(fetched.responseEnd - t0) : null);
    // when the answer's SubmitJudgment call was sent and its response was in, from Enter
    const calls = performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/SubmitJudgment") && e.startTime >= t0);
    w.rpc.push(calls.length ? [Math.round(calls[0].startTime - t0), Math.round(calls[0].responseEnd - t0)] : null);
  }));
}).observe(document, { subtree: true, childList: true });
"""


def picture() -> bytes:
    """A 1024×768 photo-sized PNG (about 100 KiB)."""
    out = io.BytesIO()
    image = Image.effect_noise((1024, 768), 24).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 200, 600, 500), fill=(180, 40, 40))
    image.quantize(64).save(out, format="PNG")
    return out.getvalue()


def image_server(delay_s: float) -> ThreadingHTTPServer:
    body = picture()

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay_s)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def without_lookahead(route: Route) -> None:
    """Clears `lookahead` in the two requests that carry it; passes the rest."""
    body = route.request.post_data_buffer or b""
    url = route.request.url
    kinds = {
        "/NextTask": worker_service_pb2.NextTaskRequest,
        "/SubmitJudgment": worker_service_pb2.SubmitJudgmentRequest,
    }
    for suffix, kind in kinds.items():
        if url.endswith(suffix):
            message = kind.FromString(body)
            message.lookahead = False
            body = message.SerializeToString()
    route.continue_(post_data=body)


def unchanged(route: Route) -> None:
    route.continue_(post_data=route.request.post_data_buffer or b"")


def main(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="worker-app-preload-"))
    process, target, http = start_server(folder)
    images = image_server(args.image_delay_ms / 1000)
    base = f"http://127.0.0.1:{images.server_address[1]}"
    total = args.rounds * args.tasks + 10

    async def setup() -> dict[str, str]:
        async with AdminClient(target, ADMIN_KEY) as admin:
            key = await admin.create_api_key("bench")
        tokens = {}
        async with Client(target, key) as lw:
            for arm in ("lookahead", "plain"):
                job = await lw.create_job(
                    arm,
                    classes=CLASSES,
                    media_type=job_pb2.MEDIA_TYPE_IMAGE,
                    judgments_per_item=1,
                    quiz_size=0,
                )
                await lw.add_items(
                    job.name, [source_item(f"{arm}{n}", f"{base}/{arm}/{n}.png") for n in range(total)]
                )
                await lw.start_job(job.name)
                tokens[arm] = (await lw.create_worker(job.name, arm))[1]
        return tokens

    times: dict[str, list[float]] = {"lookahead": [], "plain": []}
    rpc: dict[str, list[list[int] | None]] = {}
    try:
        tokens = asyncio.run(setup())
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            pages: dict[str, Page] = {}
            for arm, handler in (("lookahead", unchanged), ("plain", without_lookahead)):
                page = chromium.new_context(viewport={"width": 1000, "height": 720}).new_page()
                page.route("**/labelwire.v1.WorkerService/**", handler)
                page.add_init_script(PROBE)
                page.goto(f"http://{http}/work/?token={tokens[arm]}")
                page.locator(".stage .item-media img").wait_for()
                pages[arm] = page
            seen = dict.fromkeys(pages, 0)

            def step(arm: str) -> None:
                page = pages[arm]
                page.wait_for_timeout(args.think_ms)
                page.keyboard.press("1")
                page.keyboard.press("Enter")
                seen[arm] += 1
                page.wait_for_function("(n) => window.__lw.times.length >= n", arg=seen[arm])

            for arm in pages:  # warm-up: the page's code paths and the connections
                for _ in range(3):
                    step(arm)
            for _ in range(args.rounds):
                for arm in pages:
                    for _ in range(args.tasks):
                        step(arm)
            late: dict[str, list[float | None]] = {}
            for arm, page in pages.items():
                times[arm] = page.evaluate("() => window.__lw.times")[3:]
                late[arm] = page.evaluate("() => window.__lw.late")[3:]
                rpc[arm] = page.evaluate("() => window.__lw.rpc")[3:]
            chromium.close()
    finally:
        images.shutdown()
        process.terminate()
        process.wait(timeout=30)
    result: dict[str, Any] = {
        "image_delay_ms": args.image_delay_ms,
        "think_ms": args.think_ms,
        "tasks_each": len(times["plain"]),
    }
    for arm, values in times.items():
        result[f"{arm}_ms"] = {
            "median": round(statistics.median(values), 1),
            "p99": round(pct(values, 0.99), 1),
        }
        split = [(t, call[1]) for t, call in zip(values, rpc[arm], strict=True) if call is not None]
        for name, part in (
            ("submit_ms", [s for _, s in split]),
            ("after_submit_ms", [t - s for t, s in split]),
        ):
            result.setdefault(name, {})[arm] = {
                "median": round(statistics.median(part), 1),
                "p99": round(pct(part, 0.99), 1),
            }
    if args.raw:
        result["raw_ms"] = {arm: [round(v, 1) for v in values] for arm, values in times.items()}
        # per task: when the shown image's bytes had arrived, in ms from Enter (negative: before it)
        result["image_in_ms"] = late
        # per task: when SubmitJudgment was sent and its response was in, in ms from Enter
        result["submit_in_ms"] = rpc
    result["ratio_median"] = round(result["lookahead_ms"]["median"] / result["plain_ms"]["median"], 2)
    result["ratio_p99"] = round(result["lookahead_ms"]["p99"] / result["plain_ms"]["p99"], 2)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--image-delay-ms", type=int, default=80, help="the image server's wait per image")
    parser.add_argument("--think-ms", type=int, default=600, help="the worker's time on a task before Enter")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=25, help="tasks per arm per round")
    parser.add_argument("--raw", action="store_true", help="also print every time, in order")
    print(json.dumps(main(parser.parse_args()), indent=2))
