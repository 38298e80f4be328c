import { append, h } from "../dom";
import type { Job } from "../gen/labelwire/v1/job_pb";
import type { GetWorkerOutliersResponse, ItemSpread, WorkerOutlierRate } from "../gen/labelwire/v1/quality_service_pb";
import { type Api, message } from "./api";
import { workerNames } from "./item";

/** Items listed, widest spread first. */
const ITEMS = 25;

/** What an item's spread is measured in, by task type (GetWorkerOutliers'
 * ItemSpread.spread). */
function measure(job: Job): { about: string; text: (s: number) => string } | null {
  const config = job.taskConfig?.config;
  switch (config?.case) {
    case "number": {
      const unit = config.value.unit;
      return {
        about: `the median absolute deviation of the workers' values${unit ? `, in ${unit}` : ""}`,
        text: (s) => `${+s.toFixed(3)}${unit ? ` ${unit}` : ""}`,
      };
    }
    case "keypoints":
      return { about: "the median distance of the placed points to the label's, in pixels, over its visible points", text: (s) => `${s.toFixed(1)} px` };
    case "boundingBox":
      return { about: "1 minus the mean overlap (IoU) of the label's boxes with each worker's best box; 0 when all agree", text: (s) => s.toFixed(3) };
    default:
      return null;
  }
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** Drifting workers first, then by the shrunk rate (which does not call a
 * worker with two annotations a drifter), then by name. */
export function byDrift(a: WorkerOutlierRate, b: WorkerOutlierRate): number {
  return Number(b.drifting) - Number(a.drifting) || b.shrunkRate - a.shrunkRate || a.worker.localeCompare(b.worker);
}

function cell(text: string, num = true): HTMLElement {
  return h("td", { class: num ? "num" : "" }, text);
}

function head(...titles: string[]): HTMLElement {
  return h("thead", {}, h("tr", {}, ...titles.map((t, n) => h("th", { scope: "col", class: n ? "num" : "" }, t))));
}

function workersTable(id: string, rates: WorkerOutlierRate[], names: Map<string, string>): HTMLElement {
  const row = (r: WorkerOutlierRate): HTMLElement => {
    const workerId = r.worker.split("/").pop() ?? "";
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, h("a", { href: `#/jobs/${encodeURIComponent(id)}/workers/${encodeURIComponent(workerId)}` }, names.get(r.worker) ?? workerId)),
      cell(`${r.checked}`),
      cell(`${r.flagged}`),
      cell(percent(r.outlierRate)),
      cell(percent(r.shrunkRate)),
      cell(r.drifting ? "drifting" : "", false),
    );
  };
  return h(
    "table",
    { "aria-label": "Worker outlier rates" },
    head("Worker", "Checked", "Outliers", "Outlier rate", "Ranked rate", "Drift"),
    h("tbody", {}, ...[...rates].sort(byDrift).map(row)),
  );
}

function itemsTable(id: string, items: ItemSpread[], text: (s: number) => string): HTMLElement {
  return h(
    "table",
    { "aria-label": "Items of widest spread" },
    head("Item", "Annotations", "Spread", "Outliers"),
    h(
      "tbody",
      {},
      ...items.map((i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, h("a", { href: `#/jobs/${encodeURIComponent(id)}/items/${encodeURIComponent(i.itemKey)}` }, i.itemKey)),
          cell(`${i.annotations}`),
          cell(text(i.spread)),
          cell(`${i.outliers}`),
        ),
      ),
    ),
  );
}

/** For a box, key-point or number job: which items the workers disagree on
 * most and which workers drift from the rest (GetWorkerOutliers), so an
 * owner can see which labels are hard and whose answers to look at. Null
 * for other task types, which have no spread; a failed read is said in the
 * section, leaving the rest of the quality view. */
export async function outliersSection(api: Api, id: string, job: Job, signal: AbortSignal): Promise<HTMLElement | null> {
  const kind = measure(job);
  if (kind === null) return null;
  const section = h("section", { "aria-labelledby": "outliers-heading" }, h("h2", { id: "outliers-heading" }, "Outliers and spread"));
  let report: GetWorkerOutliersResponse;
  let names: Map<string, string>;
  try {
    [report, names] = await Promise.all([
      api.quality.getWorkerOutliers({ job: job.name, itemLimit: ITEMS }, { signal }),
      workerNames(api, job.name, signal),
    ]);
  } catch (err) {
    append(section, h("p", { class: "error", role: "alert" }, message(err)));
    return section;
  }
  const checked = report.itemsChecked > 0n;
  append(
    section,
    h(
      "p",
      {},
      checked
        ? `${report.itemsChecked} items with three or more annotations checked; ${percent(report.poolRate)} of their annotations are outliers. A worker drifts when its ranked rate (its rate pulled towards the pool's until it has many annotations) is at least three times the pool's.`
        : "No item has three annotations yet: outliers are told from three on.",
    ),
    report.workers.length ? workersTable(id, report.workers, names) : null,
    h("h3", {}, "Items of widest spread"),
    h("p", { class: "hint" }, `Spread: ${kind.about}.`),
    report.items.length ? itemsTable(id, report.items, kind.text) : h("p", { class: "notice" }, "No item has judgments yet."),
  );
  return section;
}
