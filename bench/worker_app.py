"""The worker app's step from one task to the next, in Chromium, beside the
bare Python round trip, both against a server loaded by simulated workers.

Why it is built this way:

* One `labelwire serve` process (temporary SQLite file) serves the gRPC and
  HTTP ports; the worker app is its own built page at `/work/`.
* `--load-workers` simulated gRPC workers (grpc.aio, one channel each, in a
  process of their own so their event loop never delays the probes) judge
  a job of their own back to back (SubmitJudgment with want_next) for the
  whole run: the server is busy as it would be with a crowd.
* The browser probe: Debian's Chromium, driven by Playwright, signed in
  with a sign-in link on a second job. For each task the bench presses `1`
  and `Enter`; the time is measured inside the page, from the `Enter`
  keydown to the first animation frame after the next task's text is in
  the DOM (a MutationObserver, then requestAnimationFrame): what the worker
  waits for, in the page's own clock.
* The Python probe: a WorkerClient on a third job doing the same one call
  (SubmitJudgment with want_next), timed around the call, on an event loop
  of its own in a thread.
* Rounds alternate the two probes (`--rounds`, `--tasks` each), so a busy
  spell on this shared machine falls on both. Reported: median and p99 of
  each, and their ratio (browser over Python), in the same run.

Not part of the tests: `python bench/worker_app.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from connect_roundtrip import ADMIN_KEY, start_server

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item

CHROMIUM = os.environ.get("LABELWIRE_CHROMIUM", "/usr/bin/chromium")
CLASSES = ["pos", "neg"]

PROBE = """
window.__lw = { times: [], t0: 0, last: "" };
document.addEventListener("keydown", (e) => { if (e.key === "Enter") window.__lw.t0 = performance.now(); }, true);
new MutationObserver(() => {
  const el = document.querySelector(".stage .item-text");
  const w = window.__lw;
  if (!el || !w.t0 || el.textContent === w.last) return;
  w.last = el.textContent;
  const t0 = w.t0;
  w.t0 = 0;
  requestAnimationFrame(() => w.times.push(performance.now() - t0));
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


async def make_job(lw: Client, name: str, items: int, workers: int) -> list[str]:
    job = await lw.create_job(name, classes=CLASSES, judgments_per_item=1, quiz_size=0)
    for first in range(0, items, 10_000):
        batch = range(first, min(items, first + 10_000))
        await lw.add_items(job.name, [text_item(f"{name}{n}", f"{name} {n} {CLASSES[n % 2]}") for n in batch])
    await lw.start_job(job.name)
    return [(await lw.create_worker(job.name, f"{name}{n}"))[1] for n in range(workers)]


def load(target: str, tokens: list[str], stop: Any, done: Any) -> None:
    """The simulated crowd, in its own process, until `stop` is set."""

    async def one(token: str) -> int:
        n = 0
        async with WorkerClient(target, token) as worker:
            offered = await worker.next_task()
            while offered.HasField("task") and not stop.is_set():
                got = await worker.submit(offered.task.name, classification("pos"), want_next=True)
                offered = got.next
                n += 1
        return n

    async def crowd() -> None:
        done.value = sum(await asyncio.gather(*(one(t) for t in tokens)))

    asyncio.run(crowd())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="worker-app-bench-"))
    process, target, http = start_server(folder)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=600)

    total = args.rounds * args.tasks + 50
    ctx = multiprocessing.get_context("spawn")
    stop, done = ctx.Event(), ctx.Value("q", 0)
    crowd: Any = None
    try:

        async def setup() -> tuple[list[str], str, WorkerClient]:
            async with AdminClient(target, ADMIN_KEY) as admin:
                key = await admin.create_api_key("bench")
            lw = Client(target, key)
            crowd_tokens = await make_job(lw, "crowd", args.load_items, args.load_workers)
            (browser_token,) = await make_job(lw, "browser", total, 1)
            (python_token,) = await make_job(lw, "python", total, 1)
            await lw.close()
            return crowd_tokens, browser_token, WorkerClient(target, python_token)

        crowd_tokens, browser_token, python_worker = run(setup())
        crowd = ctx.Process(target=load, args=(target, crowd_tokens, stop, done))
        crowd.start()

        async def python_round(n: int, first: Any) -> tuple[list[float], Any]:
            times: list[float] = []
            offered = first
            for _ in range(n):
                t0 = time.perf_counter()
                got = await python_worker.submit(offered.task.name, classification("pos"), want_next=True)
                times.append((time.perf_counter() - t0) * 1000)
                offered = got.next
            return times, offered

        browser_ms: list[float] = []
        python_ms: list[float] = []
        offered = run(python_worker.next_task())
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = chromium.new_page(viewport={"width": 1000, "height": 720})
            page.add_init_script(PROBE)
            page.goto(f"http://{http}/work/?token={browser_token}")
            page.locator(".stage .item-text").wait_for()
            seen = 0
            for _ in range(5):  # warm-up: the page's code paths and the connection
                page.keyboard.press("1")
                page.keyboard.press("Enter")
                seen += 1
                page.wait_for_function("(n) => window.__lw.times.length >= n", arg=seen)
            started = time.monotonic()
            for _ in range(args.rounds):
                for _ in range(args.tasks):
                    page.keyboard.press("1")
                    page.keyboard.press("Enter")
                    seen += 1
                    page.wait_for_function("(n) => window.__lw.times.length >= n", arg=seen)
                times, offered = run(python_round(args.tasks, offered))
                python_ms += times
            browser_ms = page.evaluate("() => window.__lw.times")[5:]
            elapsed = time.monotonic() - started
            chromium.close()
        stop.set()
        crowd.join(timeout=60)
        run(python_worker.close())
    finally:
        stop.set()
        if crowd is not None and crowd.is_alive():
            crowd.terminate()
        process.terminate()
        process.wait(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
    result = {
        "load_workers": args.load_workers,
        "crowd_judgments_per_s": round(done.value / elapsed, 1),
        "tasks_each": len(browser_ms),
        "browser_ms": {
            "median": round(statistics.median(browser_ms), 2),
            "p99": round(pct(browser_ms, 0.99), 2),
        },
        "python_ms": {
            "median": round(statistics.median(python_ms), 2),
            "p99": round(pct(python_ms, 0.99), 2),
        },
    }
    result["ratio_median"] = round(result["browser_ms"]["median"] / result["python_ms"]["median"], 2)
    result["ratio_p99"] = round(result["browser_ms"]["p99"] / result["python_ms"]["p99"], 2)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--load-workers", type=int, default=16, help="simulated gRPC workers loading the server"
    )
    parser.add_argument("--load-items", type=int, default=200_000, help="items of the crowd's job")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=100, help="tasks per probe per round")
    out = main(parser.parse_args())
    print(json.dumps(out, indent=2))
