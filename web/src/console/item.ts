import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { describe } from "../answers";
import { append, h } from "../dom";
import type { Judgment } from "../gen/labelwire/v1/judgment_pb";
import type { Label } from "../gen/labelwire/v1/label_pb";
import { type Api, message } from "./api";

/** Answers read for one item or one worker at most, a page of 1,000 at a time. */
const MOST = 10_000;

function when(t: Timestamp | undefined): string {
  return t ? new Date(timestampMs(t)).toLocaleString() : "";
}

function spent(j: Judgment): string {
  const s = j.timeSpent ? Number(j.timeSpent.seconds) + j.timeSpent.nanos / 1e9 : 0;
  return `${s.toFixed(1)} s`;
}

/** Every page of ListJudgments for the filter, up to MOST. */
export async function judgmentsOf(
  api: Api,
  job: string,
  filter: { itemKey?: string; worker?: string },
  signal: AbortSignal,
): Promise<{ judgments: Judgment[]; more: boolean }> {
  const judgments: Judgment[] = [];
  let token = "";
  do {
    const page = await api.labels.listJudgments({ job, pageSize: 1000, pageToken: token, ...filter }, { signal });
    judgments.push(...page.judgments);
    token = page.nextPageToken;
  } while (token && judgments.length < MOST);
  return { judgments, more: token !== "" };
}

/** The job's workers' names by resource name (ListWorkers, every page). */
export async function workerNames(api: Api, job: string, signal: AbortSignal): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  let token = "";
  do {
    const page = await api.jobs.listWorkers({ job, pageToken: token }, { signal });
    for (const w of page.workers) names.set(w.name, w.displayName || w.name);
    token = page.nextPageToken;
  } while (token);
  return names;
}

function goldText(j: Judgment): string {
  if (!j.gold) return "no";
  return j.goldCorrect === undefined ? "yes" : j.goldCorrect ? "yes, right" : "yes, wrong";
}

function methodText(label: Label): string {
  return label.method === "owner_correction" ? "corrected by the owner" : label.method;
}

/** One item's history: every judgment of it (ListJudgments by item key:
 * who, the answer, time spent, when, gold, whether it counts and why not)
 * and every revision of its label (ListLabelRevisions). */
export async function itemPage(api: Api, id: string, key: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const job = `jobs/${id}`;
  const back = `#/jobs/${encodeURIComponent(id)}/labels`;
  append(main, h("p", {}, h("a", { href: back }, "← Labels")), h("h1", {}, `Item ${key}`));
  const alert = h("p", { class: "error", role: "alert" });
  append(main, alert);
  try {
    const [revisions, answers, names] = await Promise.all([
      api.labels.listLabelRevisions({ job, itemKey: key }, { signal }),
      judgmentsOf(api, job, { itemKey: key }, signal),
      workerNames(api, job, signal),
    ]);
    const judgments = answers.judgments;
    const metadata = revisions.labels[revisions.labels.length - 1]?.itemMetadata;
    append(
      main,
      metadata && Object.keys(metadata).length
        ? h("section", { "aria-labelledby": "metadata-heading" }, h("h2", { id: "metadata-heading" }, "Metadata"), h("pre", { class: "metadata" }, JSON.stringify(metadata, null, 2)))
        : null,
      h("h2", { id: "answers-heading" }, `Judgments (${judgments.length}${answers.more ? "+" : ""})`),
      judgments.length
        ? h(
            "table",
            { "aria-labelledby": "answers-heading", class: "wide" },
            h("thead", {}, h("tr", {}, ...["Worker", "Answer", "Time spent", "Submitted", "Gold", "Counted"].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              ...judgments.map((j) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row" }, names.get(j.worker) ?? (j.externalWorkerId || j.worker)),
                  h("td", {}, describe(j.answer)),
                  h("td", { class: "num" }, spent(j)),
                  h("td", {}, when(j.createTime)),
                  h("td", {}, goldText(j)),
                  h("td", {}, j.excluded ? `no: ${j.excludedReason.replaceAll("_", " ") || "excluded"}` : "yes"),
                ),
              ),
            ),
          )
        : h("p", { class: "notice" }, "No judgments yet."),
      h("h2", { id: "revisions-heading" }, "Label revisions"),
      revisions.labels.length
        ? h(
            "table",
            { "aria-labelledby": "revisions-heading", class: "wide" },
            h("thead", {}, h("tr", {}, ...["Revision", "Label", "Confidence", "Judgments", "Method", "By a person", "Sequence", "When"].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              ...revisions.labels.map((l) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row" }, `${l.revision}`),
                  h("td", {}, describe(l.value)),
                  h("td", { class: "num" }, l.confidence.toFixed(2)),
                  h("td", { class: "num" }, `${l.judgmentCount}`),
                  h("td", {}, methodText(l)),
                  h("td", {}, l.humanAnnotated ? "yes" : "no"),
                  h("td", { class: "num" }, `${l.sequence}`),
                  h("td", {}, when(l.createTime)),
                ),
              ),
            ),
          )
        : h("p", { class: "notice" }, "Not labeled yet."),
      revisions.truncated ? h("p", { class: "notice" }, "Only the latest 1,000 revisions are shown.") : null,
    );
  } catch (err) {
    if (!signal.aborted) alert.textContent = message(err);
  }
}
