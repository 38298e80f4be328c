import { append, h } from "../dom";
import { WorkerStatus } from "../gen/labelwire/v1/task_pb";
import type { Agreement, GetJobQualityResponse, WorkerQuality } from "../gen/labelwire/v1/quality_service_pb";
import { type Api, message } from "./api";
import { dollars } from "./format";
import { outliersSection } from "./outliers";
import { VirtualTable } from "./virtual";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2f7d4f", "#8cc084", "#f2c14e", "#e07a3f", "#b3261e", "#6d2b7f"];

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function dissentName(d: number): string {
  return d === 0 ? "all agree" : d === 1 ? "all but one" : `${d} disagree`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** The share of measured items by how many judgments differ from the
 * label, as one 100% stacked bar with a labeled axis; the table below it
 * carries the same figures for screen readers and copying. */
function agreementChart(a: Agreement): Element {
  const total = Number(a.itemsMeasured);
  const counts = a.dissentHistogram.map(Number);
  const width = 640;
  const left = 110;
  const barWidth = width - left - 20;
  const chart = svg("svg", { viewBox: `0 0 ${width} 150`, width, height: 150, role: "img", "aria-label": "Agreement chart" });
  chart.append(svg("text", { x: 0, y: 45, class: "axis" }, `items (${total})`));
  let x = left;
  counts.forEach((count, d) => {
    if (count === 0 || total === 0) return;
    const w = (count / total) * barWidth;
    const rect = svg("rect", { x, y: 20, width: w, height: 40, fill: COLOURS[Math.min(d, COLOURS.length - 1)] });
    rect.append(svg("title", {}, `${dissentName(d)}: ${count} (${percent(count / total)})`));
    chart.append(rect);
    if (w > 44) chart.append(svg("text", { x: x + w / 2, y: 45, "text-anchor": "middle", class: "in-bar" }, percent(count / total)));
    x += w;
  });
  for (const tick of [0, 25, 50, 75, 100]) {
    const tx = left + (tick / 100) * barWidth;
    chart.append(svg("line", { x1: tx, x2: tx, y1: 62, y2: 68, stroke: "#667" }));
    chart.append(svg("text", { x: tx, y: 82, "text-anchor": "middle", class: "axis" }, `${tick}%`));
  }
  chart.append(svg("line", { x1: left, x2: left + barWidth, y1: 62, y2: 62, stroke: "#667" }));
  chart.append(svg("text", { x: left + barWidth / 2, y: 100, "text-anchor": "middle", class: "axis" }, "share of items measured"));
  let lx = left;
  counts.forEach((_, d) => {
    chart.append(svg("rect", { x: lx, y: 118, width: 12, height: 12, fill: COLOURS[Math.min(d, COLOURS.length - 1)] }));
    chart.append(svg("text", { x: lx + 16, y: 129, class: "axis" }, dissentName(d)));
    lx += 120;
  });
  return chart;
}

function agreementTable(a: Agreement): HTMLElement {
  const total = Number(a.itemsMeasured);
  return h(
    "table",
    { "aria-label": "Agreement" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Workers"), h("th", { scope: "col", class: "num" }, "Items"), h("th", { scope: "col", class: "num" }, "Share"))),
    h(
      "tbody",
      {},
      ...a.dissentHistogram.map((count, d) =>
        h("tr", {}, h("th", { scope: "row" }, dissentName(d)), h("td", { class: "num" }, `${count}`),
          h("td", { class: "num" }, total ? percent(Number(count) / total) : "–")),
      ),
    ),
  );
}

const STATUS: Record<WorkerStatus, string> = {
  [WorkerStatus.UNSPECIFIED]: "unknown",
  [WorkerStatus.QUIZ]: "in the quiz",
  [WorkerStatus.QUALIFIED]: "qualified",
  [WorkerStatus.FAILED_QUIZ]: "failed the quiz",
  [WorkerStatus.DISQUALIFIED]: "disqualified",
};

type Column = [string, (w: WorkerQuality) => string | number, (w: WorkerQuality) => string];

const gold = (w: WorkerQuality): number => (w.stats && w.stats.goldAnswered > 0n ? w.stats.goldAccuracy : -1);

/** The worker table's columns: heading, sort key, text. */
const COLUMNS: Column[] = [
  ["Worker", (w) => (w.stats?.displayName || w.stats?.name || "").toLowerCase(), (w) => w.stats?.displayName || w.stats?.name || ""],
  ["Status", (w) => STATUS[w.stats?.status ?? WorkerStatus.UNSPECIFIED], (w) => STATUS[w.stats?.status ?? WorkerStatus.UNSPECIFIED]],
  ["Judgments", (w) => Number(w.stats?.judgments ?? 0n), (w) => `${w.stats?.judgments ?? 0n}`],
  ["Gold accuracy", gold, (w) => (w.stats && w.stats.goldAnswered > 0n ? `${percent(w.stats.goldAccuracy)} (${w.stats.goldCorrect} / ${w.stats.goldAnswered})` : "–")],
  ["Agrees with label", (w) => w.agreementWithLabel, (w) => percent(w.agreementWithLabel)],
  ["Estimated skill", (w) => w.estimatedSkill, (w) => w.estimatedSkill.toFixed(2)],
  ["Median time", (w) => w.medianTimeSeconds, (w) => `${w.medianTimeSeconds.toFixed(1)} s`],
  ["Declined", (w) => Number(w.declined), (w) => `${w.declined}`],
];

/** A worker's gold accuracy over time as a small line (0 to 100%, by
 * judgment order: GetJobQuality's gold_accuracy_trend, at most 100 points
 * however many gold answers); its accessible name says where it starts and
 * ends. */
function sparkline(name: string, trend: number[]): Element {
  if (trend.length === 0) return h("span", { "aria-label": `No gold answers of ${name} yet` }, "–");
  const points = trend.map((cumulative, i) => ({ n: i + 1, cumulative }));
  const width = 96;
  const height = 22;
  const last = Math.max(points.length, 2);
  const x = (n: number): number => 1 + ((n - 1) / (last - 1)) * (width - 2);
  const y = (v: number): number => 1 + (1 - v) * (height - 2);
  const first = points[0];
  const final = points[points.length - 1];
  const root = svg("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: "sparkline",
    role: "img",
    "aria-label": `Gold accuracy of ${name} over time: ${percent(first.cumulative)} at first, ${percent(final.cumulative)} at the end`,
  });
  root.append(svg("line", { x1: 0, x2: width, y1: y(0.5), y2: y(0.5), class: "mid" }));
  const d = points.map((p, i) => `${i ? "L" : "M"}${x(p.n).toFixed(1)},${y(p.cumulative).toFixed(1)}`).join(" ");
  root.append(svg("path", { d: points.length === 1 ? `M0,${y(final.cumulative)} L${width},${y(final.cumulative)}` : d, class: "line" }));
  root.append(svg("circle", { cx: points.length === 1 ? width - 2 : x(final.n), cy: y(final.cumulative), r: 2, class: "end" }));
  return root;
}

const OUT = [WorkerStatus.DISQUALIFIED, WorkerStatus.FAILED_QUIZ];

/** The workers, sortable by any column (a button in each heading, the
 * order in aria-sort), each with Disqualify while it may work and Requalify
 * once disqualified by hand; only the visible rows are drawn. */
function workersTable(workers: WorkerQuality[], act: Actions | null, jobId: string): HTMLElement {
  let by = 0;
  let ascending = true;
  const heads = COLUMNS.map(([title], n) => {
    const button = h("button", { type: "button" }, title);
    const th = h("th", { scope: "col", class: n > 1 ? "num" : "" }, button);
    button.addEventListener("click", () => {
      ascending = by === n ? !ascending : n < 2;
      by = n;
      fill();
    });
    return th;
  });
  const sortable = [...heads];
  heads.splice(4, 0, h("th", { scope: "col" }, "Accuracy over time"));
  const row = (w: WorkerQuality): HTMLTableRowElement => {
    const name = w.stats?.displayName || w.stats?.name || "";
    const status = w.stats?.status ?? WorkerStatus.UNSPECIFIED;
    const workerId = (w.stats?.name ?? "").split("/").pop() ?? "";
    const cells: HTMLElement[] = COLUMNS.map(([, , text], n) =>
      n === 0
        ? h("th", { scope: "row" }, h("a", { href: `#/jobs/${encodeURIComponent(jobId)}/workers/${encodeURIComponent(workerId)}`, title: `Accuracy over time of ${name}` }, text(w)))
        : h("td", { class: n > 1 ? "num" : "" }, text(w)));
    cells.splice(4, 0, h("td", {}, sparkline(name, w.goldAccuracyTrend)));
    return h(
      "tr",
      {},
      ...cells,
      act
        ? h(
            "td",
            {},
            status === WorkerStatus.DISQUALIFIED
              ? h("button", { type: "button", class: "small", "aria-label": `Requalify ${name}`, onclick: () => act.requalify(w) }, "Requalify")
              : OUT.includes(status)
                ? null
                : h("button", { type: "button", class: "small danger", "aria-label": `Disqualify ${name}`, onclick: () => act.disqualify(w) }, "Disqualify"),
          )
        : null,
    );
  };
  const head = h("thead", {}, h("tr", {}, ...heads, act ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null));
  const table = new VirtualTable<WorkerQuality>("Workers", head, row);
  table.table.classList.add("workers");
  const fill = (): void => {
    const key = COLUMNS[by][1];
    const sorted = [...workers].sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    sortable.forEach((th, n) => {
      if (n === by) th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
    table.set(sorted);
  };
  fill();
  return table.element;
}

interface Actions {
  disqualify: (w: WorkerQuality) => void;
  requalify: (w: WorkerQuality) => void;
}

/** Cost per label that is right, estimated from the workers' accuracy on
 * gold (every gold answer of the job together); null without gold. */
export function costPerCorrect(q: GetJobQualityResponse): bigint | null {
  let answered = 0n;
  let right = 0n;
  for (const w of q.workers) {
    answered += w.stats?.goldAnswered ?? 0n;
    right += w.stats?.goldCorrect ?? 0n;
  }
  if (answered === 0n || right === 0n || q.costPerLabelMicros === 0n) return null;
  return (q.costPerLabelMicros * answered) / right;
}

function render(main: HTMLElement, q: GetJobQualityResponse, act: Actions | null, jobId: string, outliers: HTMLElement | null): void {
  const perCorrect = costPerCorrect(q);
  const a = q.agreement;
  append(
    main,
    h(
      "table",
      { "aria-label": "Quality figures", class: "counters" },
      h(
        "tbody",
        {},
        ...([
          ["Items measured", `${a?.itemsMeasured ?? 0n}`],
          ["Fleiss' kappa", (a?.fleissKappa ?? 0).toFixed(3)],
          ["Krippendorff's alpha", (a?.krippendorffAlpha ?? 0).toFixed(3)],
          ["Cost", dollars(q.costMicros)],
          ["Cost per label", dollars(q.costPerLabelMicros)],
          ["Cost per correct label (by gold accuracy)", perCorrect === null ? "–" : dollars(perCorrect)],
          ["Declined tasks", `${q.declinedTasks}`],
        ] as [string, string][]).map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", { class: "num" }, v))),
      ),
    ),
    outliers,
    h("h2", {}, "Agreement"),
    a && a.itemsMeasured > 0n
      ? h("div", { class: "chart" }, agreementChart(a), agreementTable(a))
      : h("p", { class: "notice" }, "No item has two judgments yet."),
    h("h2", {}, "Workers"),
    q.workers.length ? workersTable(q.workers, act, jobId) : h("p", { class: "notice" }, "No workers yet."),
    q.declineReasons.length
      ? h("section", {}, h("h2", {}, "Why workers skipped"),
          h("ul", {}, ...q.declineReasons.map((r) => h("li", {}, `${r.reason} (${r.count})`))))
      : null,
  );
}

/** A job's quality: agreement, outliers and spread (box, key-point and
 * number jobs), the worker table, cost. Read once per visit
 * ("Refresh" reads it again): these figures move slowly. */
export async function qualityPage(api: Api, id: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const name = `jobs/${id}`;
  const body = h("div", {});
  const load = async (): Promise<void> => {
    try {
      const [q, got] = await Promise.all([api.quality.getJobQuality({ job: name }, { signal }), api.jobs.getJob({ name }, { signal })]);
      const outliers = got.job ? await outliersSection(api, id, got.job, signal) : null;
      body.replaceChildren();
      render(body, q, api.admin ? null : { disqualify: (w) => void disqualify(w), requalify: (w) => void requalify(w) }, id, outliers);
    } catch (err) {
      if (!signal.aborted) body.replaceChildren(h("p", { class: "error", role: "alert" }, message(err)));
    }
  };
  const alert = h("p", { class: "error", role: "alert" });
  const disqualify = async (w: WorkerQuality): Promise<void> => {
    const who = w.stats?.displayName || w.stats?.name || "this worker";
    if (!w.stats || !confirm(`Disqualify ${who}? Their judgments are dropped and their items judged again.`)) return;
    alert.textContent = "";
    try {
      await api.jobs.disqualifyWorker({ worker: w.stats.name }, { signal });
      await load();
    } catch (err) {
      if (!signal.aborted) alert.textContent = message(err);
    }
  };
  const requalify = async (w: WorkerQuality): Promise<void> => {
    if (!w.stats) return;
    alert.textContent = "";
    try {
      await api.jobs.requalifyWorker({ worker: w.stats.name }, { signal });
      await load();
    } catch (err) {
      if (!signal.aborted) alert.textContent = message(err);
    }
  };
  append(
    main,
    h("p", {}, h("a", { href: `#/jobs/${encodeURIComponent(id)}` }, "← The job")),
    h("div", { class: "title" }, h("h1", {}, "Quality"), h("button", { type: "button", onclick: () => void load() }, "Refresh")),
    alert,
    body,
  );
  await load();
}
