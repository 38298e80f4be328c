"""The TypeScript SDK's browser build (`clients/typescript`, `npm run
build:browser`: one script defining `labelwire`) in Chromium, calling the
live server's HTTP port over Connect and gRPC-Web from a page at the server's
own origin, as a team's page served beside the API would.

labelwire serves only its own two apps, so Playwright serves the test page
and the bundle at the server's origin (`/sdk-check/`); every API call goes
over the network to the live server."""

from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import Page, Request, Route

from tests.browser.conftest import Live
from tests.conftest import ADMIN_KEY
from tests.test_typescript_sdk import PACKAGE, npm

BUNDLE = PACKAGE / "dist" / "browser" / "labelwire.js"
PAGE = """<!doctype html><html lang="en"><head><title>SDK check</title>
<script src="/sdk-check/labelwire.js"></script></head><body><h1>SDK check</h1></body></html>"""

# What a team's page does with the SDK: a job, items in batches, a worker's
# answers, the labels. Returns what it saw, for the test to judge.
SCRIPT = """async ({ adminKey, transport }) => {
  const wire = transport === "grpc-web"
    ? labelwire.grpcWebTransport(location.origin)
    : labelwire.connectTransport(location.origin, { useHttpGet: true });
  const key = await new labelwire.AdminClient(wire, adminKey).createApiKey("browser");
  const lw = new labelwire.Client(wire, key);
  const job = await lw.createJob("In the browser", {
    classes: ["pos", "neg"], judgmentsPerItem: 1, quizSize: 0, hiddenGoldShare: 0,
  });
  const items = ["pos", "neg", "pos"].map((c, n) => labelwire.textItem(`b${n}`, `truth:${c}`));
  const progress = [];
  const added = await lw.addItems(job.name, items, { perMessage: 2, onProgress: (sent) => progress.push(sent) });
  await lw.startJob(job.name);
  const worker = new labelwire.WorkerClient(wire, (await lw.createWorker(job.name, "ada")).token);
  for (let { task } = await worker.nextTask(); task; { task } = await worker.nextTask()) {
    await worker.submit(task.name, labelwire.classification(task.payload.value.split(":")[1]));
  }
  const labels = [];
  for await (const label of lw.listLabels(job.name)) {
    labels.push([label.itemKey, label.value.value.value.className]);
  }
  return { added: Number(added.addedCount), progress, streams: lw.streamsItems, labels: labels.sort() };
}"""


@pytest.fixture(scope="module")
def bundle() -> bytes:
    """The browser build, made from the SDK's sources as `npm pack` makes it."""
    subprocess.run([npm(), "run", "--silent", "build:browser"], cwd=PACKAGE, check=True, timeout=300)
    return BUNDLE.read_bytes()


def _serve_check_page(page: Page, live: Live, bundle: bytes) -> None:
    def fulfil(route: Route) -> None:
        if route.request.url.endswith("/labelwire.js"):
            route.fulfill(body=bundle, content_type="text/javascript")
        else:
            route.fulfill(body=PAGE, content_type="text/html")

    page.route(f"{live.url}/sdk-check/**", fulfil)


@pytest.mark.parametrize("transport", ["connect", "grpc-web"])
def test_the_sdk_browser_build_runs_the_client_path_in_chromium(
    page: Page, live: Live, bundle: bytes, transport: str
) -> None:
    calls: list[str] = []
    methods: dict[str, set[str]] = {}

    def record(request: Request) -> None:
        if "/labelwire.v1." in request.url:
            name = request.url.split("?")[0].rsplit("/", 1)[-1]
            calls.append(name)
            methods.setdefault(name, set()).add(request.method)

    page.on("request", record)
    _serve_check_page(page, live, bundle)
    page.goto(f"{live.url}/sdk-check/index.html")
    assert page.get_by_role("heading", name="SDK check").is_visible()

    seen = page.evaluate(SCRIPT, {"adminKey": ADMIN_KEY, "transport": transport})

    assert seen["labels"] == [["b0", "pos"], ["b1", "neg"], ["b2", "pos"]]
    assert (seen["added"], seen["progress"], seen["streams"]) == (3, [2, 3], False)
    # fetch cannot stream a request: the items went up in two AddItemBatch calls, no AddItems.
    assert calls.count("AddItemBatch") == 2 and "AddItems" not in calls
    assert {"CreateJob", "StartJob", "NextTask", "SubmitJudgment", "ListLabels"} <= set(calls)
    # Connect-ES sends the methods marked free of side effects as GET when asked to.
    assert methods["ListLabels"] == ({"GET"} if transport == "connect" else {"POST"})
    assert methods["CreateJob"] == {"POST"}
