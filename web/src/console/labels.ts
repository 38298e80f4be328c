import { create, fromJson, type JsonValue, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { describe } from "../answers";
import { choicesOf } from "../choices";
import { append, clear, h } from "../dom";
import { type Answer, AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import type { Job } from "../gen/labelwire/v1/job_pb";
import type { Label } from "../gen/labelwire/v1/label_pb";
import type { LabelFilterSchema } from "../gen/labelwire/v1/label_service_pb";
import { type Api, message } from "./api";
import { fieldViolations } from "./errors";
import { exportSection } from "./exports";
import { Field, input, select } from "./form";
import { VirtualTable } from "./virtual";

/** Labels per ListLabels page the explorer reads. */
const PAGE = 500;
/** Below this a label counts as low confidence in the filter. */
const LOW_CONFIDENCE = 0.7;

function classNames(job: Job): string[] {
  return choicesOf(job.taskConfig).map((x) => x.name);
}

/** The filter the explorer's form asks the server for (ListLabels' filter). */
export function labelFilter(params: URLSearchParams): MessageInitShape<typeof LabelFilterSchema> {
  const number = (key: string): number | undefined => {
    const text = params.get(key);
    return text === null || text === "" || Number.isNaN(Number(text)) ? undefined : Number(text);
  };
  let max = number("max");
  if (params.get("low") === "1") max = Math.min(max ?? 1, LOW_CONFIDENCE);
  const human = params.get("human");
  return {
    itemKeyContains: params.get("q") ?? "",
    className: params.get("class") ?? "",
    minConfidence: number("min"),
    maxConfidence: max,
    method: params.get("method") ?? "",
    humanAnnotated: human === "1" ? true : human === "0" ? false : undefined,
    revised: params.get("revised") === "1",
    contested: params.get("contested") === "1",
  };
}

/** The label explorer: the current label of every labeled item, filtered on
 * the server (ListLabels' filter: key, class, confidence, method, human,
 * contested, revised), read a page at a time as the table scrolls, in a
 * table that draws only its visible rows; a label corrected by the owner
 * (CorrectLabel); each item's history a link away; the labels downloaded as
 * JSON Lines or exported to the server's files. */
export async function labelsPage(api: Api, id: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const name = `jobs/${id}`;
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const alert = h("p", { class: "error", role: "alert" });
  let job: Job;
  try {
    const got = await api.jobs.getJob({ name }, { signal });
    if (!got.job) return;
    job = got.job;
  } catch (err) {
    append(main, alert);
    alert.textContent = message(err);
    return;
  }
  const classes = classNames(job);
  const search = new Field("Item key contains", input({ type: "search", value: params.get("q") ?? "" }));
  const cls = new Field("Class", select([["", "Any class"], ...classes.map((c): [string, string] => [c, c])], params.get("class") ?? ""));
  const min = new Field("Confidence from", input({ type: "number", step: "0.05", min: "0", max: "1", value: params.get("min") ?? "" }));
  const max = new Field("Confidence to", input({ type: "number", step: "0.05", min: "0", max: "1", value: params.get("max") ?? "" }));
  const method = new Field("Method", input({ type: "search", value: params.get("method") ?? "", list: "label-methods" }));
  const human = new Field("Made by", select([["", "anyone"], ["1", "a person"], ["0", "a model or rule"]], params.get("human") ?? ""));
  const check = (key: string): HTMLInputElement => {
    const box = h("input", { type: "checkbox" });
    box.checked = params.get(key) === "1";
    box.dataset.key = key;
    return box;
  };
  const contested = check("contested");
  const revised = check("revised");
  const low = check("low");
  const shown = h("p", { class: "notice", role: "status" });
  const more = h("button", { type: "button", hidden: true }, "Load more labels");
  let labels: Label[] = [];
  let token = "";
  /** Each filter change starts a new read; an older one's pages are dropped. */
  let generation = 0;
  let loading = false;

  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter labels", onsubmit: (e: Event) => e.preventDefault() },
    search.element,
    cls.element,
    min.element,
    max.element,
    method.element,
    human.element,
    h(
      "fieldset",
      { class: "flags" },
      h("legend", {}, "Only"),
      h("label", { class: "check" }, contested, " contested (workers split)"),
      h("label", { class: "check" }, revised, " revised"),
      h("label", { class: "check" }, low, ` low confidence (${LOW_CONFIDENCE} or under)`),
    ),
    h("datalist", { id: "label-methods" }, ...["majority_vote_posterior", "majority_vote", "dawid_skene", "owner_correction", "model"].map((m) => h("option", { value: m }))),
  );

  const dialog = correctionDialog(api, name, job, classes, (label) => {
    const at = labels.findIndex((l) => l.itemKey === label.itemKey);
    if (at >= 0) labels[at] = label;
    table.refresh();
  });

  const itemLink = (key: string): string => `#/jobs/${encodeURIComponent(id)}/items/${encodeURIComponent(key)}`;
  const row = (label: Label): HTMLTableRowElement =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, h("a", { href: itemLink(label.itemKey), title: `History of ${label.itemKey}` }, label.itemKey)),
      h("td", {}, describe(label.value)),
      h("td", { class: "num" }, label.confidence.toFixed(2)),
      h("td", { class: "num" }, `${label.judgmentCount}`),
      h("td", { class: "num" }, `${label.revision}`),
      h("td", {}, label.method === "owner_correction" ? "corrected by the owner" : label.method),
      h(
        "td",
        {},
        h("button", { type: "button", class: "small", "aria-label": `Correct ${label.itemKey}`, onclick: () => dialog.open(label) }, "Correct"),
      ),
    );

  const head = h(
    "thead",
    {},
    h("tr", {}, ...["Item", "Label", "Confidence", "Judgments", "Revision", "Method", ""].map((t, n) =>
      h("th", { scope: "col", class: [2, 3, 4].includes(n) ? "num" : "" }, t))),
  );
  const table = new VirtualTable<Label>("Labels", head, row, () => {
    if (token && !loading) void load();
  });
  table.table.classList.add("labels");

  const query = (): URLSearchParams => {
    const q = new URLSearchParams();
    if (search.value) q.set("q", search.value);
    if (cls.value) q.set("class", cls.value);
    if (min.value) q.set("min", min.value);
    if (max.value) q.set("max", max.value);
    if (method.value) q.set("method", method.value);
    if (human.value) q.set("human", human.value);
    for (const box of [contested, revised, low]) if (box.checked) q.set(box.dataset.key ?? "", "1");
    return q;
  };

  const status = (): void => {
    const one = labels.length === 1;
    shown.textContent = `${labels.length} label${one ? "" : "s"}${query().toString() ? ` that pass${one ? "es" : ""} the filter` : ""}${token ? " read so far (more to read)" : ""}.`;
    more.hidden = !token;
  };

  /** Reads the next page; pages the server ends short (its scan limit) are
   * followed until one has a label or the labels end. */
  const load = async (): Promise<void> => {
    const mine = generation;
    loading = true;
    try {
      const filter = labelFilter(query());
      do {
        const page = await api.labels.listLabels({ job: name, pageSize: PAGE, pageToken: token, filter }, { signal });
        if (mine !== generation) return;
        labels.push(...page.labels);
        token = page.nextPageToken;
        if (page.labels.length) break;
        status();
      } while (token);
      table.refresh();
      status();
      alert.textContent = "";
    } catch (err) {
      if (!signal.aborted && mine === generation) alert.textContent = message(err);
    } finally {
      if (mine === generation) loading = false;
    }
  };
  more.addEventListener("click", () => void load());

  let pending = 0;
  const restart = (): void => {
    const text = query().toString();
    history.replaceState(null, "", `#/jobs/${encodeURIComponent(id)}/labels${text ? `?${text}` : ""}`);
    clearTimeout(pending);
    pending = window.setTimeout(() => {
      generation++;
      labels = [];
      token = "";
      loading = false;
      table.set(labels);
      void load();
    }, 250);
  };
  filters.addEventListener("input", restart);
  filters.addEventListener("change", restart);

  append(
    main,
    h("p", {}, h("a", { href: `#/jobs/${encodeURIComponent(id)}` }, "← The job")),
    h("h1", {}, `Labels of ${job.displayName}`),
    alert,
    filters,
    shown,
    table.element,
    more,
    exportSection(api, name, job),
    dialog.element,
  );
  table.set(labels);
  await load();
}

/** The correction form, in a modal dialog (Esc closes it, focus stays in
 * it): the job's classes as radio buttons or check boxes, other task types
 * as the answer's JSON. */
function correctionDialog(
  api: Api,
  job: string,
  spec: Job,
  classes: string[],
  done: (label: Label) => void,
): { element: HTMLDialogElement; open: (label: Label) => void } {
  const kind = spec.taskConfig?.config.case;
  const heading = h("h2", { id: "correct-heading" }, "");
  const answers = h("tbody", {});
  const answersNote = h("p", { class: "notice" });
  let names: Map<string, string> | null = null;
  const choices = h("div", { class: "choices" });
  const error = h("p", { class: "error", role: "alert", id: "correct-error" });
  const save = h("button", { type: "submit", class: "primary" }, "Save correction");
  const cancel = h("button", { type: "button" }, "Cancel");
  const answersTable = h(
    "table",
    { "aria-label": "Answers", class: "wide" },
    h("thead", {}, h("tr", {}, ...["Worker", "Answer", "Time spent", "Submitted", "Counted"].map((t) => h("th", { scope: "col" }, t)))),
    answers,
  );
  const form = h("form", { method: "dialog" }, heading, answersTable, answersNote, choices, error, h("div", { class: "actions" }, save, cancel));

  /** Every worker's answer to the item (ListJudgments), with the workers'
   * names from ListWorkers, read once per page. */
  const showAnswers = async (itemKey: string): Promise<void> => {
    answers.replaceChildren();
    answersNote.textContent = "Reading the answers…";
    try {
      if (names === null) {
        const found = new Map<string, string>();
        let token = "";
        do {
          const page = await api.jobs.listWorkers({ job, pageToken: token });
          for (const w of page.workers) found.set(w.name, w.displayName || w.name);
          token = page.nextPageToken;
        } while (token);
        names = found;
      }
      const page = await api.labels.listJudgments({ job, itemKey, pageSize: 100 });
      for (const j of page.judgments) {
        const spent = j.timeSpent ? Number(j.timeSpent.seconds) + j.timeSpent.nanos / 1e9 : 0;
        append(
          answers,
          h(
            "tr",
            {},
            h("th", { scope: "row" }, names.get(j.worker) ?? (j.externalWorkerId || j.worker)),
            h("td", {}, describe(j.answer)),
            h("td", { class: "num" }, `${spent.toFixed(1)} s`),
            h("td", {}, j.createTime ? new Date(timestampMs(j.createTime)).toLocaleString() : ""),
            h("td", {}, j.excluded ? `no (${j.excludedReason.replaceAll("_", " ")})` : "yes"),
          ),
        );
      }
      answersNote.textContent = page.judgments.length ? (page.nextPageToken ? "The first 100 answers." : "") : "No answers recorded.";
    } catch (err) {
      answersNote.textContent = message(err);
    }
  };
  const element = h("dialog", { "aria-labelledby": "correct-heading" }, form);
  let current: Label | null = null;
  let read: () => Answer = () => create(AnswerSchema, {});

  cancel.addEventListener("click", () => element.close());
  const open = (label: Label): void => {
    current = label;
    heading.textContent = `Correct the label of ${label.itemKey}`;
    void showAnswers(label.itemKey);
    error.textContent = "";
    clear(choices);
    const v = label.value?.value;
    if (kind === "classification" || kind === "multiLabel") {
      const multi = kind === "multiLabel";
      const picked = new Set(v?.case === "classification" ? [v.value.className] : v?.case === "multiLabel" ? v.value.classNames : []);
      const boxes = classes.map((c) => {
        const box = h("input", { type: multi ? "checkbox" : "radio", name: "correct-class", value: c });
        box.checked = picked.has(c);
        return box;
      });
      append(
        choices,
        h("fieldset", { "aria-describedby": "correct-error" }, h("legend", {}, multi ? "Every class that fits" : "The right class"),
          ...boxes.map((box) => h("label", { class: "check" }, box, ` ${box.value}`))),
      );
      read = () => {
        const on = boxes.filter((b) => b.checked).map((b) => b.value);
        return create(AnswerSchema, multi
          ? { value: { case: "multiLabel", value: { classNames: on } } }
          : { value: { case: "classification", value: { className: on[0] ?? "" } } });
      };
      element.showModal();
      (boxes.find((b) => b.checked) ?? boxes[0])?.focus();
    } else {
      const area = h("textarea", { rows: 8, id: "correct-json", "aria-describedby": "correct-error" });
      area.value = label.value ? JSON.stringify(toJson(AnswerSchema, label.value), null, 2) : "{}";
      append(choices, h("label", { for: "correct-json" }, "The right answer (JSON)"), area);
      read = () => fromJson(AnswerSchema, JSON.parse(area.value) as JsonValue);
      element.showModal();
      area.focus();
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (current === null) return;
    const key = current.itemKey;
    let value: Answer;
    try {
      value = read();
    } catch (err) {
      error.textContent = `That is not an answer: ${(err as Error).message}`;
      return;
    }
    save.disabled = true;
    api.labels
      .correctLabel({ job, itemKey: key, value })
      .then((r) => {
        if (r.label) done(r.label);
        element.close();
      })
      .catch((err: unknown) => {
        const v = fieldViolations(err)[0];
        error.textContent = v ? v.description : message(err);
      })
      .finally(() => {
        save.disabled = false;
      });
  });
  return { element, open };
}
