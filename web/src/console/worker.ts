import { timestampMs } from "@bufbuild/protobuf/wkt";
import { describe } from "../answers";
import { append, h } from "../dom";
import type { Judgment } from "../gen/labelwire/v1/judgment_pb";
import { type Api, message } from "./api";
import { commentsOf, commentsTable } from "./comments";
import { judgmentsOf, workerNames } from "./item";

const SVG = "http://www.w3.org/2000/svg";
/** Gold answers the rolling accuracy is taken over. */
export const WINDOW = 10;

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface Point {
  /** 1 for the worker's first gold answer. */
  n: number;
  cumulative: number;
  rolling: number;
}

/** A worker's accuracy after each gold answer, in the order given: over
 * all its gold answers so far, and over the last WINDOW of them. */
export function accuracyOverTime(judgments: Judgment[]): Point[] {
  const marks = judgments.filter((j) => j.gold && j.goldCorrect !== undefined).map((j) => (j.goldCorrect ? 1 : 0));
  let right = 0;
  return marks.map((m, i) => {
    right += m;
    const from = Math.max(0, i + 1 - WINDOW);
    const recent = marks.slice(from, i + 1);
    return { n: i + 1, cumulative: right / (i + 1), rolling: recent.reduce((a: number, b) => a + b, 0) / recent.length };
  });
}

function chart(points: Point[]): SVGElement {
  const width = 640;
  const height = 240;
  const left = 48;
  const right = 16;
  const top = 12;
  const bottom = 40;
  const w = width - left - right;
  const hgt = height - top - bottom;
  const last = Math.max(points.length, 2);
  const x = (n: number): number => left + ((n - 1) / (last - 1)) * w;
  const y = (v: number): number => top + (1 - v) * hgt;
  const final = points[points.length - 1];
  const root = svg("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `Gold accuracy over ${points.length} gold answers: ${(final.cumulative * 100).toFixed(1)}% overall, ${(final.rolling * 100).toFixed(1)}% over the last ${Math.min(WINDOW, points.length)}`,
  });
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    root.append(svg("line", { x1: left, x2: left + w, y1: y(v), y2: y(v), stroke: "#e6e8ec" }));
    root.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, `${v * 100}%`));
  }
  for (const n of [1, Math.ceil(last / 2), last]) {
    if (n > points.length) continue;
    root.append(svg("text", { x: x(n), y: top + hgt + 16, "text-anchor": "middle", class: "axis" }, `${n}`));
  }
  root.append(svg("text", { x: left + w / 2, y: height - 6, "text-anchor": "middle", class: "axis" }, "gold answers, in the order given"));
  const line = (key: "cumulative" | "rolling", colour: string, dash: string): void => {
    const d = points.map((p) => `${x(p.n).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points: d, fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": dash }));
  };
  line("cumulative", "#2357c6", "");
  line("rolling", "#e07a3f", "5 3");
  return root;
}

/** One worker of a job: its gold accuracy over time (every gold answer,
 * from ListJudgments by worker) as a line, beside its answers. */
export async function workerPage(api: Api, id: string, workerId: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const job = `jobs/${id}`;
  const worker = `${job}/workers/${workerId}`;
  const heading = h("h1", {}, "Worker");
  const alert = h("p", { class: "error", role: "alert" });
  append(main, h("p", {}, h("a", { href: `#/jobs/${encodeURIComponent(id)}/quality` }, "← Quality")), heading, alert);
  try {
    const [{ judgments, more }, names, said] = await Promise.all([
      judgmentsOf(api, job, { worker }, signal),
      workerNames(api, job, signal),
      commentsOf(api, job, worker, signal),
    ]);
    const name = names.get(worker) ?? worker;
    heading.textContent = `Worker ${name}`;
    const points = accuracyOverTime(judgments);
    const counted = judgments.filter((j) => !j.excluded).length;
    append(
      main,
      h("p", {}, `${judgments.length}${more ? "+" : ""} judgments, ${counted} counted; ${points.length} gold answers.`),
      h("h2", {}, "Accuracy over time"),
      points.length
        ? h(
            "div",
            { class: "chart" },
            chart(points),
            h(
              "ul",
              { class: "legend" },
              h("li", { class: "line-all" }, `all gold answers so far: ${(points[points.length - 1].cumulative * 100).toFixed(1)}% at the end`),
              h("li", { class: "line-recent" }, `the last ${WINDOW}: ${(points[points.length - 1].rolling * 100).toFixed(1)}% at the end`),
            ),
          )
        : h("p", { class: "notice" }, "No gold answers yet: accuracy is measured on gold."),
      h("h2", { id: "worker-answers" }, "Answers"),
      h(
        "table",
        { "aria-labelledby": "worker-answers", class: "wide" },
        h("thead", {}, h("tr", {}, ...["Item", "Answer", "Submitted", "Gold", "Counted"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          ...judgments.slice(-200).reverse().map((j) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, j.gold ? `${j.itemKey} (gold)` : h("a", { href: `#/jobs/${encodeURIComponent(id)}/items/${encodeURIComponent(j.itemKey)}` }, j.itemKey)),
              h("td", {}, describe(j.answer)),
              h("td", {}, j.createTime ? new Date(timestampMs(j.createTime)).toLocaleString() : ""),
              h("td", {}, !j.gold ? "no" : j.goldCorrect ? "right" : "wrong"),
              h("td", {}, j.excluded ? `no: ${j.excludedReason.replaceAll("_", " ")}` : "yes"),
            ),
          ),
        ),
      ),
      judgments.length > 200 ? h("p", { class: "notice" }, "The latest 200 answers.") : null,
      h("h2", {}, `Comments (${said.comments.length}${said.more ? "+" : ""})`),
      said.comments.length ? commentsTable(id, "Comments by this worker", said.comments, true).table : h("p", { class: "notice" }, "No comments from this worker."),
      said.more ? h("p", { class: "notice" }, "Among the job's latest 10,000 comments.") : null,
    );
  } catch (err) {
    if (!signal.aborted) alert.textContent = message(err);
  }
}
