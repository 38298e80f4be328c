import { Code, ConnectError } from "@connectrpc/connect";
import { describe } from "../answers";
import { append, clear, h } from "../dom";
import { type Job, JobState } from "../gen/labelwire/v1/job_pb";
import type { Label } from "../gen/labelwire/v1/label_pb";
import { type Api, message } from "./api";
import { costText, dollars, progressText, stateName, timeOf } from "./format";
import { chainsSection } from "./chains";
import { commentsSection, itemLink } from "./comments";
import { input } from "./form";
import { VirtualTable } from "./virtual";

/** Labels the feed keeps in memory (100,000 are some tens of MB; only the
 * rows in view are in the page); older ones are dropped, 10% at a time
 * (ListLabels and exports have them all). */
const FEED_KEPT = 100_000;

type Action = "start" | "pause" | "resume" | "cancel";

const ACTIONS: [Action, string, JobState[]][] = [
  ["start", "Start", [JobState.DRAFT]],
  ["pause", "Pause", [JobState.RUNNING]],
  ["resume", "Resume", [JobState.PAUSED]],
  ["cancel", "Cancel job", [JobState.DRAFT, JobState.RUNNING, JobState.PAUSED]],
];

/** How far back the page's own readings of the counters go for the rates:
 * recent enough to follow a crowd that speeds up or stops. */
const RATE_WINDOW_MS = 10 * 60_000;

interface Reading {
  at: number;
  judgments: number;
  done: number;
}

/** Judgments per minute and the time left, from the counters this page has
 * read (each WatchJob message): the oldest reading in the window against
 * the newest. The time left is the items still open at the rate items were
 * finished (labeled or failed). */
export function rates(readings: Reading[], job: Job): [string, string] {
  const last = readings[readings.length - 1];
  const first = readings.find((r) => last.at - r.at <= RATE_WINDOW_MS) ?? last;
  const minutes = (last.at - first.at) / 60_000;
  if (minutes <= 0 || last.judgments === first.judgments) return ["–", job.state === JobState.RUNNING ? "measuring" : "–"];
  const perMinute = (last.judgments - first.judgments) / minutes;
  const c = job.counters;
  const open = Number((c?.totalItems ?? 0n) - (c?.labeledItems ?? 0n) - (c?.failedItems ?? 0n));
  const itemsPerMinute = (last.done - first.done) / minutes;
  let left = "–";
  if (open <= 0) left = "none";
  else if (job.state === JobState.RUNNING && itemsPerMinute > 0) left = `about ${duration((open / itemsPerMinute) * 60)}`;
  return [perMinute.toFixed(1), left];
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

function counterRows(job: Job): [string, string][] {
  const c = job.counters;
  const rows: [string, string][] = [
    ["Items labeled", `${c?.labeledItems ?? 0n}`],
    ["Items in progress", `${c?.inProgressItems ?? 0n}`],
    ["Items waiting", `${c?.unlabeledItems ?? 0n}`],
    ["Items failed", `${c?.failedItems ?? 0n}`],
    ["Items in total", `${c?.totalItems ?? 0n}`],
    ["Gold items", `${c?.goldItems ?? 0n}`],
    ["Judgments", `${c?.judgments ?? 0n}`],
    ["Qualified workers", `${c?.qualifiedWorkers ?? 0n}`],
    ["Disqualified workers", `${c?.disqualifiedWorkers ?? 0n}`],
    ["Cost", costText(job)],
  ];
  if ((c?.reservedMicros ?? 0n) > 0n) rows.push(["Reserved for open tasks", dollars(c?.reservedMicros ?? 0n)]);
  return rows;
}

function feedRow(id: string, label: Label): HTMLTableRowElement {
  return h(
    "tr",
    {},
    h("td", { class: "num" }, `${label.sequence}`),
    h("td", {}, itemLink(id, label.itemKey)),
    h("td", {}, describe(label.value)),
    h("td", { class: "num" }, label.confidence.toFixed(2)),
    h("td", { class: "num" }, `${label.judgmentCount}`),
    h("td", { class: "num" }, `${label.revision}`),
    h("td", {}, timeOf(label)),
  );
}

/** A job's page: counters, controls and the label feed, live. The counters
 * come from a WatchJob server stream (the server sends them when they
 * change), the feed from a StreamLabels one; the page polls nothing. */
export async function jobPage(api: Api, id: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const name = `jobs/${id}`;
  const title = h("h1", {});
  const state = h("span", { class: "state" });
  const controls = h("div", { class: "actions", role: "group", "aria-label": "Job controls" });
  const alert = h("p", { class: "error", role: "alert" });
  const counters = h("tbody", {});
  const progress = h("progress", { "aria-label": "Items labeled", max: 1, value: 0 });
  const spend = h("progress", { "aria-label": "Budget spent", max: 1, value: 0 });
  const budgetLabel = h("span", {}, "Budget");
  const progressNote = h("span", { class: "note" });
  const spendNote = h("span", { class: "note" });
  const feedState = h("p", { class: "notice", role: "status" });
  const labels: Label[] = [];
  const feed = new VirtualTable<Label>(
    "Label feed",
    h(
      "thead",
      {},
      h("tr", {}, ...["#", "Item", "Label", "Confidence", "Judgments", "Revision", "Time"].map((t, n) =>
        h("th", { scope: "col", class: [0, 3, 4, 5].includes(n) ? "num" : "" }, t))),
    ),
    (label) => feedRow(id, label),
  );
  feed.reversed = true;
  feed.table.classList.add("feed");
  feed.set(labels);
  const chains = h("div", {});
  const reason = h("p", { class: "reason", role: "status" });
  const pilot = input({ type: "number", min: "1", step: "1", id: "pilot-size", placeholder: "every item" });
  const pilotField = h("label", { class: "pilot", for: "pilot-size" }, "Pilot: first items only", pilot);
  let received = 0;

  append(
    main,
    h("p", {}, h("a", { href: "#/jobs" }, "← Jobs")),
    h(
      "div",
      { class: "title" },
      title,
      state,
      ...(api.admin
        ? []
        : [
            h("a", { href: `#/jobs/${encodeURIComponent(id)}/quality` }, "Quality"),
            h("a", { href: `#/jobs/${encodeURIComponent(id)}/feedback` }, "Feedback"),
            h("a", { href: `#/jobs/${encodeURIComponent(id)}/labels` }, "Labels"),
            h("a", { href: `#/jobs/${encodeURIComponent(id)}/models` }, "Models"),
            h("a", { href: `#/jobs/${encodeURIComponent(id)}/upload` }, "Upload items"),
          ]),
    ),
    controls,
    reason,
    alert,
    h(
      "section",
      { class: "overview", "aria-label": "Progress" },
      h("div", { class: "bars" }, h("span", {}, "Labeled"), progress, progressNote, budgetLabel, spend, spendNote),
      h("table", { class: "counters", "aria-label": "Counters" }, counters),
    ),
    h(
      "section",
      { "aria-labelledby": "feed-heading" },
      h("h2", { id: "feed-heading" }, "Label feed"),
      feedState,
      feed.element,
    ),
    chains,
    api.admin ? null : commentsSection(api, id, signal),
  );

  const readings: Reading[] = [];
  const show = (job: Job): void => {
    const c0 = job.counters;
    readings.push({ at: Date.now(), judgments: Number(c0?.judgments ?? 0n), done: Number((c0?.labeledItems ?? 0n) + (c0?.failedItems ?? 0n)) });
    while (readings.length > 2 && readings[1].at < Date.now() - RATE_WINDOW_MS) readings.shift();
    const [perMinute, left] = rates(readings, job);
    title.textContent = job.displayName;
    document.title = `${job.displayName} · labelwire console`;
    state.textContent = stateName(job.state);
    state.className = `state state-${stateName(job.state)}`;
    clear(counters);
    for (const [what, value] of [...counterRows(job), ["Speed (judgments per minute)", perMinute], ["Time left", left]]) {
      append(counters, h("tr", {}, h("th", { scope: "row" }, what), h("td", { class: "num" }, value)));
    }
    const c = job.counters;
    const total = Number(c?.totalItems ?? 0n);
    progress.max = Math.max(total, 1);
    progress.value = Number(c?.labeledItems ?? 0n);
    progressNote.textContent = progressText(job);
    spendNote.textContent = costText(job);
    spend.hidden = budgetLabel.hidden = spendNote.hidden = job.budgetMicros === 0n;
    spend.max = Math.max(Number(job.budgetMicros), 1);
    spend.value = Number(c?.costMicros ?? 0n);
    reason.textContent = reasonText(job);
    if (api.admin) return;
    const focused = controls.contains(document.activeElement) ? (document.activeElement as HTMLElement).textContent : null;
    clear(controls);
    if (job.state === JobState.DRAFT) append(controls, pilotField);
    for (const [action, text, when] of ACTIONS) {
      if (!when.includes(job.state)) continue;
      const button = h("button", { type: "button", class: action === "cancel" ? "danger" : "", onclick: () => void act(action) }, text);
      append(controls, button);
      if (focused === text) button.focus();
    }
  };

  const act = async (action: Action): Promise<void> => {
    if (action === "cancel" && !confirm("Cancel this job for good? Everything collected is kept.")) return;
    alert.textContent = "";
    try {
      const request = { name };
      const pilotSize = pilot.value === "" ? 0n : BigInt(Math.max(0, Math.trunc(Number(pilot.value) || 0)));
      const response =
        action === "start" ? await api.jobs.startJob({ name, pilotSize })
        : action === "pause" ? await api.jobs.pauseJob(request)
        : action === "resume" ? await api.jobs.resumeJob(request)
        : await api.jobs.cancelJob(request);
      if (response.job) show(response.job);
    } catch (err) {
      alert.textContent = message(err);
    }
  };

  let first = true;
  void watch(api, name, signal, alert, (job) => {
    show(job);
    if (first) chains.replaceWith(chainsSection(api, job, signal));
    first = false;
  });

  if (api.admin) {
    feedState.textContent = "The label feed is for the job's owner: the admin key reads counters only.";
    return;
  }
  await follow(api, name, signal, feedState, (arrived) => {
    received += arrived.length;
    labels.push(...arrived);
    if (labels.length > FEED_KEPT * 1.1) labels.splice(0, labels.length - FEED_KEPT);
    feed.prepended(arrived.length);
    feedState.textContent = `Live: ${received} label${received === 1 ? "" : "s"} received.`;
  });
}

/** Why the job is where it is: a pilot running or done (the owner reads
 * its labels and quality, then resumes or changes the job), or the server's
 * reason for a pause or an end. */
export function reasonText(job: Job): string {
  if (job.pilotSize > 0n && job.state === JobState.RUNNING) return `Pilot: only the first ${job.pilotSize} items are being labeled; the job pauses when they are done.`;
  if (job.stateReason === "pilot complete") return "Pilot complete: read its labels and quality, then Resume to label the rest (or change the job first).";
  return job.stateReason ? `Reason: ${job.stateReason}` : "";
}

/** StreamLabels from the start, resumed after the last sequence seen when
 * the connection drops (backing off up to 30 s), until the view is left. */
async function follow(
  api: Api,
  job: string,
  signal: AbortSignal,
  status: HTMLElement,
  got: (labels: Label[]) => void,
): Promise<void> {
  let after = 0n;
  let wait = 1000;
  status.textContent = "Live: waiting for labels.";
  while (!signal.aborted) {
    try {
      for await (const message of api.labels.streamLabels({ job, afterSequence: after }, { signal })) {
        if (message.labels.length === 0) continue;
        after = message.labels[message.labels.length - 1].sequence;
        wait = 1000;
        got(message.labels);
      }
    } catch (err) {
      if (signal.aborted) return;
      if (final(err)) {
        status.textContent = message(err);
        return;
      }
      status.textContent = `Reconnecting to the label feed (${message(err)})`;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 30_000);
  }
}

/** A call that ends the page's following: the key or the job is gone. */
function final(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return code === Code.PermissionDenied || code === Code.NotFound || code === Code.Unauthenticated || code === Code.InvalidArgument;
}

/** WatchJob until the job ends (the server then ends the stream) or the
 * view is left; a dropped connection is opened again, backing off up to
 * 30 s, and its first message brings the counters up to date. */
async function watch(api: Api, name: string, signal: AbortSignal, alert: HTMLElement, got: (job: Job) => void): Promise<void> {
  let wait = 1000;
  let reconnecting = false;
  while (!signal.aborted) {
    try {
      for await (const message of api.jobs.watchJob({ name }, { signal })) {
        wait = 1000;
        if (reconnecting) alert.textContent = "";
        reconnecting = false;
        if (message.job) got(message.job);
      }
      return;
    } catch (err) {
      if (signal.aborted) return;
      reconnecting = !final(err);
      alert.textContent = reconnecting ? `Reconnecting to the job's counters (${message(err)})` : message(err);
      if (!reconnecting) return;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 30_000);
  }
}
