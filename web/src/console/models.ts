import { Code, ConnectError } from "@connectrpc/connect";
import { append, h } from "../dom";
import type { Job } from "../gen/labelwire/v1/job_pb";
import type { GetCalibrationResponse, GetVerificationReportResponse, VerificationCounts } from "../gen/labelwire/v1/quality_service_pb";
import { type Api, message } from "./api";

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function range(lower: number, upper: number): string {
  return `${lower.toFixed(2)}–${upper.toFixed(2)}`;
}

function table(label: string, heads: string[], rows: (string | number)[][], numeric: (n: number) => boolean): HTMLElement {
  return h(
    "table",
    { "aria-label": label, class: "wide" },
    h("thead", {}, h("tr", {}, ...heads.map((t, n) => h("th", { scope: "col", class: numeric(n) ? "num" : "" }, t)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((v, n) => (n === 0 ? h("th", { scope: "row" }, `${v}`) : h("td", { class: numeric(n) ? "num" : "" }, `${v}`)))))),
  );
}

/** The pre-label table of the bulk-QA seed, for a verification job: per
 * model class and confidence bucket, the items workers confirmed,
 * disconfirmed or split on and the model's % correct; per class the
 * recommended threshold with its precision interval. */
function verificationSection(r: GetVerificationReportResponse): HTMLElement {
  const counts = (c: VerificationCounts | undefined): (string | number)[] => [
    `${c?.total ?? 0n}`,
    `${c?.confirmed ?? 0n}`,
    `${c?.disconfirmed ?? 0n}`,
    `${c?.split ?? 0n}`,
    c && c.total > 0n ? `${c.percentCorrect.toFixed(1)}%` : "–", // a percentage already, not a share
  ];
  const rows: (string | number)[][] = [];
  for (const cls of r.classes) {
    for (const b of cls.buckets) rows.push([cls.className, range(b.lower, b.upper), ...counts(b.counts)]);
    rows.push([cls.className, "all", ...counts(cls.counts)]);
  }
  rows.push(["every class", "all", ...counts(r.total)]);
  const thresholds = r.classes.map((c) => [
    c.className,
    c.targetReached ? c.recommendedThreshold.toFixed(2) : "not reached",
    c.targetReached ? `${c.itemsAbove}` : "–",
    c.targetReached ? `${pct(c.precision)} (${pct(c.precisionLower)}–${pct(c.precisionUpper)})` : "–",
  ]);
  return h(
    "section",
    { "aria-labelledby": "verification-heading" },
    h("h2", { id: "verification-heading" }, "Pre-labels checked by workers"),
    table("Pre-label table", ["Model class", "Confidence", "Total", "Confirmed", "Disconfirmed", "Split", "% correct"], rows, (n) => n > 1),
    h("h3", {}, "Recommended thresholds"),
    table("Recommended thresholds", ["Model class", "Accept from", "Items at or above", "Precision (interval)"], thresholds, (n) => n > 0),
  );
}

/** Model routing and calibration: per class, the threshold the job routes
 * by (set or learned), the labels it accepted and audited; the model's
 * accuracy per confidence bucket against the human labels. */
function calibrationSection(r: GetCalibrationResponse): HTMLElement {
  const routing = r.routing.map((c) => [
    c.className,
    c.threshold.toFixed(2),
    c.learned ? "learned" : "set",
    `${c.autoAccepted}`,
    `${c.audited}`,
    `${c.auditAgreed}`,
    c.audited > 0n ? `${pct(c.auditPrecision)} (${pct(c.auditPrecisionLower)}–${pct(c.auditPrecisionUpper)})` : "–",
  ]);
  const buckets: (string | number)[][] = [];
  for (const cls of r.classes) {
    for (const b of cls.buckets) buckets.push([cls.className, range(b.lower, b.upper), `${b.count}`, b.count > 0n ? pct(b.accuracy) : "–"]);
  }
  const accept = r.classes.map((c) => [c.className, `${c.items}`, c.acceptThreshold > 0 ? c.acceptThreshold.toFixed(2) : "none"]);
  return h(
    "section",
    { "aria-labelledby": "routing-heading" },
    h("h2", { id: "routing-heading" }, "Model routing"),
    h("p", {}, `Human judgments saved by accepted model labels: ${r.humanJudgmentsSaved}.`),
    routing.length
      ? table("Model routing", ["Class", "Threshold", "Threshold is", "Accepted without a person", "Audited", "Audit agreed", "Audit precision (interval)"], routing, (n) => n !== 2 && n > 0)
      : h("p", { class: "notice" }, "This job does not route by model confidence."),
    h("h2", { id: "calibration-heading" }, "Calibration"),
    buckets.length
      ? h(
          "div",
          {},
          table("Calibration", ["Class", "Model confidence", "Items", "Model agrees with the label"], buckets, (n) => n > 1),
          h("h3", {}, "Accept thresholds"),
          table("Accept thresholds", ["Class", "Items", "Accept from"], accept, (n) => n > 0),
        )
      : h("p", { class: "notice" }, "No item with a model pre-label has a human label yet."),
  );
}

/** A job's model pre-labels: the routing report (GetCalibration) and, for
 * a verification job, the bulk-QA table (GetVerificationReport). Read once
 * per visit. */
export async function modelsPage(api: Api, id: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const job = `jobs/${id}`;
  const alert = h("p", { class: "error", role: "alert" });
  append(main, h("p", {}, h("a", { href: `#/jobs/${encodeURIComponent(id)}` }, "← The job")), h("h1", {}, "Model labels"), alert);
  let spec: Job | undefined;
  try {
    spec = (await api.jobs.getJob({ name: job }, { signal })).job;
  } catch (err) {
    if (!signal.aborted) alert.textContent = message(err);
    return;
  }
  if (spec?.taskConfig?.config.case === "verification") {
    // Workers judge the model's label here rather than label the item, so
    // the bulk-QA table is the calibration; GetCalibration's is not asked.
    try {
      append(main, verificationSection(await api.quality.getVerificationReport({ job }, { signal })));
    } catch (err) {
      if (!signal.aborted) append(main, h("p", { class: "notice" }, message(err)));
    }
    return;
  }
  try {
    append(main, calibrationSection(await api.quality.getCalibration({ job }, { signal })));
  } catch (err) {
    if (signal.aborted) return;
    const e = ConnectError.from(err);
    append(main, h("p", { class: "notice" }, e.code === Code.FailedPrecondition ? e.rawMessage : message(err)));
  }
}
