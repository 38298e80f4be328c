import { append, h } from "../dom";
import { type Job, JobState, type RoutingRule } from "../gen/labelwire/v1/job_pb";
import { VerificationSummary_Verdict as Verdict } from "../gen/labelwire/v1/label_pb";
import { type Api, message } from "./api";
import { fieldViolations } from "./errors";
import { Field, input, select, showViolations } from "./form";
import { jobId } from "./format";

interface RuleRow {
  target: Field<HTMLSelectElement>;
  classes: Field<HTMLInputElement>;
  below: Field<HTMLInputElement>;
  verdict: Field<HTMLSelectElement>;
  element: HTMLElement;
}

/** The job's routing rules as a form (prefilled), saved with UpdateJob's
 * mask `routing_rules`; the server checks them and its message goes under
 * the field it names. `targets` are the caller's jobs a rule may send to. */
function rulesEditor(api: Api, job: Job, targets: [string, string][], signal: AbortSignal, saved: (job: Job) => void, cancel: () => void): HTMLElement {
  const rows: RuleRow[] = [];
  const list = h("div", { class: "rules" });
  const alert = h("p", { class: "error", role: "alert" });
  const renumber = (): void => {
    rows.forEach((r, i) => {
      const labels = r.element.querySelectorAll("label");
      ["sends items to", "classes", "confidence below", "verdict"].forEach((what, k) => {
        if (labels[k]) labels[k].textContent = `Rule ${i + 1} ${what}`;
      });
      r.element.setAttribute("aria-label", `Rule ${i + 1}`);
      r.element.querySelector("button")?.setAttribute("aria-label", `Remove rule ${i + 1}`);
    });
  };
  const add = (rule?: RoutingRule): RuleRow => {
    const n = rows.length + 1;
    const row: RuleRow = {
      target: new Field(`Rule ${n} sends items to`, select(targets, rule?.targetJob ?? "")),
      classes: new Field(`Rule ${n} classes`, input({ autocomplete: "off", placeholder: "any class" }), "Class names, comma-separated."),
      below: new Field(`Rule ${n} confidence below`, input({ type: "number", step: "0.05", min: "0", max: "1" }), "0 to 1; empty for any."),
      verdict: new Field(`Rule ${n} verdict`, select([["0", "any"], ...VERDICTS.map(([v, t]): [string, string] => [String(v), t])], String(rule?.verdict ?? 0))),
      element: h("div", { class: "rule-row", role: "group", "aria-label": `Rule ${n}` }),
    };
    row.classes.control.value = rule?.classes.join(", ") ?? "";
    row.below.control.value = rule?.confidenceBelow !== undefined ? String(rule.confidenceBelow) : "";
    const remove = h("button", { type: "button", class: "small", "aria-label": `Remove rule ${n}` }, "Remove");
    remove.addEventListener("click", () => {
      const at = rows.indexOf(row);
      if (at >= 0) rows.splice(at, 1);
      row.element.remove();
      renumber();
      (rows[Math.min(at, rows.length - 1)]?.target.control ?? addButton).focus();
    });
    append(row.element, row.target.element, row.classes.element, row.below.element, row.verdict.element, remove);
    rows.push(row);
    list.append(row.element);
    return row;
  };
  for (const rule of job.routingRules) add(rule);
  const addButton = h("button", { type: "button", disabled: targets.length === 0, onclick: () => add().target.control.focus() }, "Add routing rule");
  const save = h("button", { type: "submit" }, "Save routing rules");
  const form = h(
    "form",
    { class: "rules-editor", "aria-label": "Routing rules", novalidate: true },
    list,
    addButton,
    h("div", { class: "actions" }, save, h("button", { type: "button", onclick: cancel }, "Cancel")),
    alert,
  );
  const route = (path: string): Field | undefined => {
    const rule = /^job\.routing_rules\[(\d+)\](?:\.(target_job|classes|confidence_below|verdict))?/.exec(path);
    const row = rule ? rows[Number(rule[1])] : undefined;
    if (!rule || !row) return undefined;
    return rule[2] === "target_job" ? row.target : rule[2] === "confidence_below" ? row.below : rule[2] === "verdict" ? row.verdict : row.classes;
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void (async () => {
      for (const r of rows) for (const f of [r.target, r.classes, r.below, r.verdict]) f.reset();
      alert.textContent = "";
      save.disabled = true;
      try {
        const response = await api.jobs.updateJob(
          {
            job: {
              name: job.name,
              routingRules: rows.map((r) => ({
                targetJob: r.target.value,
                classes: r.classes.value.split(",").map((c) => c.trim()).filter((c) => c !== ""),
                confidenceBelow: r.below.value === "" ? undefined : Number(r.below.value),
                verdict: Number(r.verdict.value) as Verdict,
              })),
            },
            updateMask: { paths: ["routing_rules"] },
          },
          { signal },
        );
        if (response.job) saved(response.job);
      } catch (err) {
        if (signal.aborted) return;
        const left = showViolations(fieldViolations(err), route);
        if (left.length || !fieldViolations(err).length) alert.textContent = left.length ? left.map((v) => v.description).join(" ") : message(err);
      } finally {
        save.disabled = false;
      }
    })();
  });
  return form;
}

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
  const edit = h("div", {});
  const section = h("section", { "aria-labelledby": "chains-heading" }, h("h2", { id: "chains-heading" }, "Chained jobs"), status, down, up, edit);
  const targets: [string, string][] = [];
  const editable = !api.admin && job.state !== JobState.CANCELLED && job.state !== JobState.FAILED;
  const open = (): void => {
    const button = edit.querySelector("button");
    const editor = rulesEditor(api, job, targets, signal, (changed) => section.replaceWith(chainsSection(api, changed, signal)), () => {
      editor.replaceWith(openButton());
      edit.querySelector("button")?.focus();
    });
    button?.replaceWith(editor);
    (editor.querySelector("select, button") as HTMLElement | null)?.focus();
  };
  const openButton = (): HTMLElement => h("button", { type: "button", onclick: open }, "Edit routing rules");
  const run = async (): Promise<void> => {
    const known = new Map<string, string>();
    const feeding: [Job, RoutingRule, number][] = [];
    let token = "";
    let read = 0;
    do {
      const page = await api.jobs.listJobs({ pageSize: 100, pageToken: token }, { signal });
      for (const other of page.jobs) {
        known.set(other.name, other.displayName);
        if (other.name !== job.name && other.state !== JobState.CANCELLED && other.state !== JobState.FAILED) {
          targets.push([other.name, `${other.displayName} (${other.name})`]);
        }
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
    if (editable) edit.append(openButton());
  };
  run().catch((err: unknown) => {
    if (!signal.aborted) status.textContent = message(err);
  });
  return section;
}
