import { append, h } from "../dom";
import type { Job, RoutingRule } from "../gen/labelwire/v1/job_pb";
import { VerificationSummary_Verdict as Verdict } from "../gen/labelwire/v1/label_pb";
import { type Api, message } from "./api";
import { jobId } from "./format";

/** Jobs read at most to find the ones that feed this job (ListJobs pages
 * of 100): an owner with more sees the first ones and a note. */
const JOBS_SCANNED = 2_000;

export const VERDICTS: [Verdict, string][] = [
  [Verdict.CONFIRMED, "confirmed"],
  [Verdict.DISCONFIRMED, "disconfirmed"],
  [Verdict.SPLIT, "split"],
];

/** A rule's condition in words: every condition it sets holds. */
export function conditionText(rule: RoutingRule): string {
  const parts: string[] = [];
  if (rule.classes.length) parts.push(`class is ${rule.classes.join(" or ")}`);
  if (rule.confidenceBelow !== undefined) parts.push(`confidence below ${rule.confidenceBelow}`);
  const verdict = VERDICTS.find(([v]) => v === rule.verdict);
  if (verdict) parts.push(`verdict is ${verdict[1]}`);
  return parts.join(" and ") || "every label";
}

function jobLink(name: string, known: Map<string, string>): HTMLElement {
  return h("a", { href: `#/jobs/${encodeURIComponent(jobId(name))}` }, known.get(name) ?? name);
}

/** The job's place in a chain of jobs (routing rules): the jobs its labels
 * go on to, by rule, and the jobs whose rules send items to it. The
 * upstream jobs are found by reading the caller's jobs (ListJobs), since a
 * rule lives on the job it starts from. */
export function chainsSection(api: Api, job: Job, signal: AbortSignal): HTMLElement {
  const status = h("p", { class: "notice" }, "Reading the jobs around this one…");
  const down = h("div", {});
  const up = h("div", {});
  const section = h("section", { "aria-labelledby": "chains-heading" }, h("h2", { id: "chains-heading" }, "Chained jobs"), status, down, up);
  const run = async (): Promise<void> => {
    const known = new Map<string, string>();
    const feeding: [Job, RoutingRule, number][] = [];
    let token = "";
    let read = 0;
    do {
      const page = await api.jobs.listJobs({ pageSize: 100, pageToken: token }, { signal });
      for (const other of page.jobs) {
        known.set(other.name, other.displayName);
        other.routingRules.forEach((rule, n) => {
          if (rule.targetJob === job.name) feeding.push([other, rule, n]);
        });
      }
      read += page.jobs.length;
      token = page.nextPageToken;
    } while (token && read < JOBS_SCANNED);
    const rules = job.routingRules;
    if (rules.length) {
      append(
        down,
        h("h3", { id: "downstream-heading" }, "Its labels go on to"),
        h(
          "table",
          { class: "wide", "aria-labelledby": "downstream-heading" },
          h("thead", {}, h("tr", {}, ...["Rule", "Job", "When"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, ...rules.map((rule, n) => h("tr", {}, h("th", { scope: "row" }, `${n + 1}`), h("td", {}, jobLink(rule.targetJob, known)), h("td", {}, conditionText(rule))))),
        ),
        h("p", { class: "hint" }, "The first label of an item that meets a rule sends the item on, once; the next job's labels come back to this job's feed as revisions (method routed)."),
      );
    }
    if (feeding.length) {
      append(
        up,
        h("h3", { id: "upstream-heading" }, "It receives items from"),
        h(
          "table",
          { class: "wide", "aria-labelledby": "upstream-heading" },
          h("thead", {}, h("tr", {}, ...["Job", "Rule", "When"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, ...feeding.map(([other, rule, n]) => h("tr", {}, h("td", {}, jobLink(other.name, known)), h("td", {}, `${n + 1}`), h("td", {}, conditionText(rule))))),
        ),
      );
    }
    status.textContent =
      rules.length || feeding.length
        ? token ? `Only the first ${read} jobs were read for the jobs that feed this one.` : ""
        : "No routing rules: this job neither sends items to another job nor receives any.";
    status.hidden = status.textContent === "";
  };
  run().catch((err: unknown) => {
    if (!signal.aborted) status.textContent = message(err);
  });
  return section;
}
