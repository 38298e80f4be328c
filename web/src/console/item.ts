import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { describe } from "../answers";
import { append, h } from "../dom";
import { type Item, GoldUse } from "../gen/labelwire/v1/item_pb";
import { type GetItemResponse, ItemState } from "../gen/labelwire/v1/job_service_pb";
import { MediaType } from "../gen/labelwire/v1/job_pb";
import type { Judgment } from "../gen/labelwire/v1/judgment_pb";
import type { Label } from "../gen/labelwire/v1/label_pb";
import { safeUrl } from "../tasks/payload";
import { type Api, message } from "./api";
import { commentsTable } from "./comments";
import { jobId } from "./format";

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

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

/** The item as workers see it: text as text, JSON pretty-printed as text,
 * a file the browser can load (http or https, or an s3:// file through the
 * short-lived link GetItem presigned) as an image, sound or video by the
 * job's media, any other file by its address only. */
export function content(item: Item, media: MediaType, presigned = ""): HTMLElement {
  const p = item.payload;
  if (p.case === "text") return h("div", { class: "item-text" }, p.value);
  if (p.case === "json") return h("pre", { class: "metadata" }, pretty(p.value));
  if (p.case !== "sourceRef") return h("p", { class: "notice" }, "No content.");
  const url = safeUrl(presigned || p.value);
  if (url === null) {
    const why = p.value.startsWith("s3://") ? "the server presigns only files under the S3 prefixes it allows you" : "only http and https addresses are";
    return h("p", { class: "notice" }, `The file ${p.value} cannot be shown in the browser (${why}).`);
  }
  const link = h("p", {}, h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, p.value));
  if (media === MediaType.AUDIO) return h("div", {}, h("audio", { src: url, controls: true, "aria-label": `Item ${item.key}` }), link);
  if (media === MediaType.VIDEO) return h("div", {}, h("video", { src: url, controls: true, "aria-label": `Item ${item.key}`, class: "item-media" }), link);
  if (media === MediaType.DOCUMENT) return link;
  return h("div", {}, h("img", { src: url, alt: `Item ${item.key}`, class: "item-media" }), link);
}

const STATES: Record<ItemState, string> = {
  [ItemState.UNSPECIFIED]: "unknown",
  [ItemState.OPEN]: "waiting for judgments",
  [ItemState.LABELED]: "labeled",
  [ItemState.FAILED]: "failed",
};

const GOLD_USES: Record<GoldUse, string> = {
  [GoldUse.UNSPECIFIED]: "any",
  [GoldUse.ANY]: "quiz or hidden (the server splits)",
  [GoldUse.QUIZ]: "entry quiz",
  [GoldUse.HIDDEN]: "hidden gold",
};

function facts(view: GetItemResponse): [string, string | HTMLElement][] {
  const item = view.item;
  // An item back in the queue (a worker disqualified, a dynamic policy
  // asking for more) keeps the label it has meanwhile.
  const state = view.state === ItemState.OPEN && view.label ? "labeled, waiting for more judgments" : STATES[view.state];
  const rows: [string, string | HTMLElement][] = [["State", state + (view.failureReason ? `: ${view.failureReason}` : "")]];
  if (view.label) rows.push(["Label", `${describe(view.label.value)} (confidence ${view.label.confidence.toFixed(2)}, revision ${view.label.revision})`]);
  if (item?.prelabel) rows.push(["Model's label", `${describe(item.prelabel)} (confidence ${item.prelabelConfidence.toFixed(2)})`]);
  if (item?.goldAnswer) {
    rows.push(["Gold answer", describe(item.goldAnswer)]);
    rows.push(["Gold for", GOLD_USES[item.goldUse]]);
    if (item.goldExplanation) rows.push(["Why", item.goldExplanation]);
  }
  if (view.routedFromJob) {
    const from = jobId(view.routedFromJob);
    rows.push(["Routed from", h("a", { href: `#/jobs/${encodeURIComponent(from)}` }, view.routedFromJob)]);
  }
  return rows;
}

/** One item: its content as workers saw it with what only the owner sees
 * (GetItem: gold, state, label, comments), every judgment of it
 * (ListJudgments by item key: who, the answer, time spent, when, gold,
 * whether it counts and why not) and every revision of its label
 * (ListLabelRevisions). */
export async function itemPage(api: Api, id: string, key: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const job = `jobs/${id}`;
  const back = `#/jobs/${encodeURIComponent(id)}/labels`;
  append(main, h("p", {}, h("a", { href: back }, "← Labels")), h("h1", {}, `Item ${key}`));
  const alert = h("p", { class: "error", role: "alert" });
  append(main, alert);
  try {
    const [view, jobResponse, revisions, answers, names] = await Promise.all([
      api.jobs.getItem({ job, itemKey: key }, { signal }),
      api.jobs.getJob({ name: job }, { signal }),
      api.labels.listLabelRevisions({ job, itemKey: key }, { signal }),
      judgmentsOf(api, job, { itemKey: key }, signal),
      workerNames(api, job, signal),
    ]);
    const judgments = answers.judgments;
    const metadata = view.item?.metadata;
    const media = jobResponse.job?.mediaType ?? MediaType.TEXT;
    const comments = view.comments.length ? commentsTable(id, "Comments on this item", view.comments, false).table : h("p", { class: "notice" }, "No comments on this item.");
    append(
      main,
      h(
        "section",
        { "aria-labelledby": "content-heading", class: "item-view" },
        h("h2", { id: "content-heading" }, "Content"),
        view.item ? content(view.item, media, view.sourceUrl) : null,
        h("table", { class: "facts", "aria-label": "About this item" }, h("tbody", {}, ...facts(view).map(([what, value]) => h("tr", {}, h("th", { scope: "row" }, what), h("td", {}, value))))),
      ),
      metadata && Object.keys(metadata).length
        ? h("section", { "aria-labelledby": "metadata-heading" }, h("h2", { id: "metadata-heading" }, "Metadata"), h("pre", { class: "metadata" }, JSON.stringify(metadata, null, 2)))
        : null,
      h("section", { "aria-labelledby": "item-comments-heading" }, h("h2", { id: "item-comments-heading" }, `Comments (${view.comments.length})`), comments),
      h(
        "section",
        { "aria-labelledby": "declines-heading" },
        h("h2", { id: "declines-heading" }, `Declined (${view.declines.length})`),
        view.declines.length
          ? h(
              "table",
              { class: "wide comments", "aria-label": "Declines of this item" },
              h("thead", {}, h("tr", {}, ...["When", "Worker", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
              h(
                "tbody",
                {},
                ...view.declines.map((d) =>
                  h(
                    "tr",
                    {},
                    h("td", {}, when(d.declineTime)),
                    h("td", {}, h("a", { href: `#/jobs/${encodeURIComponent(id)}/workers/${encodeURIComponent(d.worker.split("/").pop() ?? "")}` }, d.workerDisplayName || d.worker)),
                    h("td", { class: "comment" }, d.reason || "(no reason given)"),
                  ),
                ),
              ),
            )
          : h("p", { class: "notice" }, "No worker declined this item."),
      ),
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
