import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { WorkerApi } from "./api";
import { append, clear, h } from "./dom";
import type { WorkerJobRecord, WorkerTotals } from "./gen/labelwire/v1/account_pb";
import { JobState } from "./gen/labelwire/v1/job_pb";
import { WorkerStatus } from "./gen/labelwire/v1/task_pb";
import { pay } from "./jobs";

/** Every page of the caller's history (a worker has few jobs). */
async function read(api: WorkerApi): Promise<{ jobs: WorkerJobRecord[]; totals?: WorkerTotals }> {
  const jobs: WorkerJobRecord[] = [];
  let totals: WorkerTotals | undefined;
  let pageToken = "";
  do {
    const page = await api.getWorkerHistory({ pageToken });
    jobs.push(...page.jobs);
    totals = page.totals ?? totals;
    pageToken = page.nextPageToken;
  } while (pageToken);
  return { jobs, totals };
}

/** Where the worker stands on a job, and whether it is out of it. */
function standing(record: WorkerJobRecord): { text: string; out: boolean } {
  switch (record.stats?.status) {
    case WorkerStatus.FAILED_QUIZ:
      return { text: "Out: failed the quiz", out: true };
    case WorkerStatus.DISQUALIFIED:
      return { text: "Out: disqualified", out: true };
    case WorkerStatus.QUALIFIED:
      return { text: "Qualified", out: false };
    case WorkerStatus.QUIZ:
      return { text: "Taking the quiz", out: false };
  }
  return { text: "", out: false };
}

const ENDED: Partial<Record<JobState, string>> = {
  [JobState.PAUSED]: "paused",
  [JobState.COMPLETED]: "finished",
  [JobState.CANCELLED]: "cancelled",
  [JobState.FAILED]: "failed",
};

function date(record: WorkerJobRecord): string {
  return record.startTime ? new Date(timestampMs(record.startTime)).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" }) : "";
}

/** The worker's history as a page: totals, then one row per job it started,
 * with its status there (being out of a job stands out) and its quiz result.
 * `back` returns to where the worker came from. */
export async function historyPage(app: HTMLElement, api: WorkerApi, back: () => void, backLabel: string): Promise<void> {
  clear(app);
  const main = h("main", { "aria-busy": "true" }, h("p", {}, "Reading your history…"));
  const backButton = h("button", { type: "button", onclick: back }, backLabel);
  append(app, h("header", { class: "bar" }, h("h1", {}, "Your history"), h("nav", { "aria-label": "Actions" }, backButton)), main);
  backButton.focus();
  let history: Awaited<ReturnType<typeof read>>;
  try {
    history = await read(api);
  } catch (err) {
    clear(main);
    main.removeAttribute("aria-busy");
    append(main, h("p", { class: "error", role: "alert" }, `Your history could not be read: ${err instanceof Error ? err.message : String(err)}`));
    return;
  }
  clear(main);
  main.removeAttribute("aria-busy");
  const t = history.totals;
  const out = history.jobs.filter((r) => standing(r).out);
  if (out.length)
    append(main, h("div", { class: "out-notice", role: "alert" },
      h("h2", {}, out.length === 1 ? "You are out of one job" : `You are out of ${out.length} jobs`),
      h("p", {}, "You get no more tasks there: ", out.map((r) => `${r.displayName || r.job} (${standing(r).text.replace(/^Out: /, "")})`).join(", "), ".")));
  if (t)
    append(main, h("dl", { class: "record totals", "aria-label": "Totals" },
      h("div", {}, h("dt", {}, "Jobs"), h("dd", {}, String(t.jobs))),
      h("div", {}, h("dt", {}, "Qualified on"), h("dd", {}, String(t.qualifiedJobs))),
      h("div", {}, h("dt", {}, "Out of"), h("dd", {}, String(t.disqualifiedJobs))),
      h("div", {}, h("dt", {}, "Judgments"), h("dd", {}, String(t.judgments))),
      h("div", {}, h("dt", {}, "Quiz answers right"), h("dd", {}, `${t.goldCorrect} of ${t.goldAnswered}`))));
  if (!history.jobs.length) {
    append(main, h("div", { class: "empty" }, h("h2", {}, "No work yet"), h("p", {}, "The jobs you start show here.")));
    return;
  }
  const rows = history.jobs.map((r) => {
    const s = standing(r);
    const state = ENDED[r.jobState];
    return h("tr", { class: s.out ? "out" : "" },
      h("th", { scope: "row" }, r.displayName || r.job, state ? h("small", {}, ` (job ${state})`) : null),
      h("td", {}, s.out ? h("strong", { class: "out-badge" }, s.text) : s.text),
      h("td", { class: "num" }, String(r.stats?.judgments ?? 0)),
      h("td", {}, r.stats ? `${r.stats.goldCorrect} of ${r.stats.goldAnswered} right` : ""),
      h("td", {}, pay(r.pricePerJudgmentMicros)),
      h("td", {}, date(r)));
  });
  append(main, h("table", { class: "history", "aria-label": "Jobs you worked on" },
    h("thead", {}, h("tr", {}, ...["Job", "Status", "Judgments", "Quiz", "Pay", "Started"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...rows)));
}
