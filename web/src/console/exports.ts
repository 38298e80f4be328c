import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { h } from "../dom";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import type { Job } from "../gen/labelwire/v1/job_pb";
import type { Judgment } from "../gen/labelwire/v1/judgment_pb";
import type { Label } from "../gen/labelwire/v1/label_pb";
import { TaskPhase } from "../gen/labelwire/v1/task_pb";
import { type Api, message } from "./api";
import { fieldViolations } from "./errors";
import { Field, input } from "./form";

/** Labels or judgments per page a download reads. */
const EXPORT_PAGE = 1000;
/** Manifest lines a download keeps at most (a million items): past it the
 * page stops rather than exhaust the tab's memory, and says so. */
export const MANIFEST_MAX_LINES = 1_000_000;

/** A label as one JSON Lines record of the browser's download. */
export function exportLine(label: Label): string {
  return JSON.stringify({
    item_key: label.itemKey,
    label: label.value ? toJson(AnswerSchema, label.value) : null,
    confidence: label.confidence,
    judgment_count: label.judgmentCount,
    revision: label.revision,
    method: label.method,
    human_annotated: label.humanAnnotated,
    sequence: Number(label.sequence),
    creation_date: label.createTime ? new Date(timestampMs(label.createTime)).toISOString() : null,
    metadata: label.itemMetadata ?? null,
  });
}

const CSV_COLUMNS = ["item_key", "label", "confidence", "judgment_count", "revision", "method", "human_annotated", "sequence", "creation_date"];

/** One CSV cell: quoted when it holds a comma, quote or line break; text
 * a spreadsheet would run as a formula (=, +, -, @, tab, CR first) starts
 * with an apostrophe, so opening the file runs nothing. */
export function csvCell(value: string, text = true): string {
  const safe = text && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A label as one CSV row: the label is the class name (names joined by
 * `|` for multi-label), or the API's JSON answer for other task types. */
export function csvLine(label: Label): string {
  const v = label.value?.value;
  const text =
    v?.case === "classification" ? v.value.className
    : v?.case === "multiLabel" ? v.value.classNames.join("|")
    : label.value ? JSON.stringify(toJson(AnswerSchema, label.value)) : "";
  return [
    csvCell(label.itemKey),
    csvCell(text),
    csvCell(String(label.confidence), false),
    String(label.judgmentCount),
    String(label.revision),
    csvCell(label.method),
    String(label.humanAnnotated),
    String(label.sequence),
    label.createTime ? new Date(timestampMs(label.createTime)).toISOString() : "",
  ].join(",");
}

/** A worker's raw answer as one JSON Lines record of the judgments download. */
export function judgmentLine(j: Judgment): string {
  return JSON.stringify({
    item_key: j.itemKey,
    worker: j.worker,
    account: j.account || null,
    external_worker_id: j.externalWorkerId || null,
    answer: j.answer ? toJson(AnswerSchema, j.answer) : null,
    time_spent_ms: j.timeSpent ? Number(j.timeSpent.seconds) * 1000 + Math.round(j.timeSpent.nanos / 1e6) : 0,
    creation_date: j.createTime ? new Date(timestampMs(j.createTime)).toISOString() : null,
    phase: TaskPhase[j.phase]?.toLowerCase() ?? "",
    gold: j.gold,
    gold_correct: j.goldCorrect ?? null,
    excluded: j.excluded,
    excluded_reason: j.excludedReason || null,
    instructions_version: j.instructionsVersion,
  });
}

function save(lines: string[], name: string, type: string): void {
  const blob = new Blob(lines.map((l) => `${l}\n`), { type });
  const link = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}


/** Downloads every current label as JSON Lines or CSV built in the page
 * from ListLabels, the Ground Truth augmented manifest as the server builds
 * it (StreamLabelManifest), the judgments (ListJudgments): no server files
 * needed for any of them. Or has the server write the manifest where its
 * files root or S3 policy allows (ExportLabels). */
export function exportSection(api: Api, job: string, spec: Job): HTMLElement {
  const status = h("p", { class: "notice", role: "status" });
  const uri = new Field("Server path or s3:// URI", input({ placeholder: "out/labels.manifest" }), "Inside your folder under the server's files root, or an allowed S3 prefix.");
  const write = h("button", { type: "submit" }, "Export manifest");
  const base = spec.displayName.replace(/[^\w-]+/g, "-") || "labels";
  const buttons: HTMLButtonElement[] = [];
  /** A download built in the page from every page of a listing. */
  const offer = (text: string, run: (progress: (n: number) => void) => Promise<string>): void => {
    const button = h("button", { type: "button" }, text);
    buttons.push(button);
    button.addEventListener("click", () => {
      for (const b of buttons) b.disabled = true;
      run((n) => {
        status.textContent = `Read ${n}…`;
      })
        .then((done) => {
          status.textContent = done;
        })
        .catch((err: unknown) => {
          status.textContent = message(err);
        })
        .finally(() => {
          for (const b of buttons) b.disabled = false;
        });
    });
  };
  const allLabels = async (progress: (n: number) => void): Promise<Label[]> => {
    const labels: Label[] = [];
    let token = "";
    do {
      const page = await api.labels.listLabels({ job, pageSize: EXPORT_PAGE, pageToken: token });
      labels.push(...page.labels);
      token = page.nextPageToken;
      progress(labels.length);
    } while (token);
    return labels;
  };
  offer("Download labels (JSON Lines)", async (progress) => {
    const labels = await allLabels(progress);
    save(labels.map(exportLine), `${base}.jsonl`, "application/x-ndjson");
    return `Downloaded ${labels.length} labels.`;
  });
  offer("Download labels (CSV)", async (progress) => {
    const labels = await allLabels(progress);
    save([CSV_COLUMNS.join(","), ...labels.map(csvLine)], `${base}.csv`, "text/csv");
    return `Downloaded ${labels.length} labels as CSV.`;
  });
  offer("Download judgments (JSON Lines)", async (progress) => {
    const lines: string[] = [];
    let token = "";
    do {
      const page = await api.labels.listJudgments({ job, pageSize: EXPORT_PAGE, pageToken: token });
      for (const j of page.judgments) lines.push(judgmentLine(j));
      token = page.nextPageToken;
      progress(lines.length);
    } while (token);
    save(lines, `${base}-judgments.jsonl`, "application/x-ndjson");
    return `Downloaded ${lines.length} judgments.`;
  });
  offer("Download manifest (Ground Truth)", async (progress) => {
    const lines: string[] = [];
    for await (const part of api.labels.streamLabelManifest({ job })) {
      if (lines.length + part.lines.length > MANIFEST_MAX_LINES) {
        throw new Error(`The manifest has more than ${MANIFEST_MAX_LINES.toLocaleString("en")} lines: use "Export manifest" to have the server write it.`);
      }
      lines.push(...part.lines);
      progress(lines.length);
    }
    save(lines, `${base}.manifest`, "application/x-ndjson");
    return `Downloaded the manifest: ${lines.length} items.`;
  });
  const form = h("form", { class: "export", "aria-label": "Export to the server" }, uri.element, write);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    uri.reset();
    api.labels
      .exportLabels({ job, uri: uri.value })
      .then((r) => {
        status.textContent = `Wrote ${r.lineCount} lines (${r.labelCount} with a label) to ${r.uri}.`;
      })
      .catch((err: unknown) => {
        const v = fieldViolations(err)[0];
        uri.fail(v ? v.description : message(err));
      });
  });
  return h("section", { "aria-labelledby": "export-heading" }, h("h2", { id: "export-heading" }, "Export"), h("div", { class: "actions" }, ...buttons), status, form);
}
