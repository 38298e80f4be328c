import { Code, ConnectError } from "@connectrpc/connect";
import { append, clear, h } from "../dom";
import type { Item } from "../gen/labelwire/v1/item_pb";
import { type Api, message } from "./api";
import { fieldViolations } from "./errors";
import { Field, input } from "./form";
import { type Columns, records, toItem } from "./manifest";

/** Items per AddItemBatch call (the server takes up to 10,000), and the
 * bytes of payload at which a batch is sent early. */
const BATCH_ITEMS = 1000;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Rows with errors listed on the page; the count covers them all. */
const SHOWN_ERRORS = 500;

interface Pending {
  line: number;
  item: Item;
}

/** Where an upload of this file to this job got to: the last line of the
 * last batch the server took. In localStorage, so closing the tab, losing
 * the network or pausing loses nothing; items are idempotent by key, so a
 * batch sent twice adds nothing twice. */
function progressKey(job: string, file: File): string {
  return `labelwire.upload:${job}:${file.name}:${file.size}:${file.lastModified}`;
}

/** The item index a field path of AddItemBatch blames (`items[7].key`). */
function blamed(field: string): number | null {
  const m = /^items\[(\d+)\]/.exec(field);
  return m ? Number(m[1]) : null;
}

/** Uploads a CSV or JSON Lines manifest picked in the page, in batches of
 * AddItemBatch (the browser cannot stream a request), with a progress bar;
 * a row the page or the server refuses is listed by line and the rest go
 * on; a stopped upload resumes after the last batch the server took. */
export async function uploadPage(api: Api, id: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const job = `jobs/${id}`;
  const picker = h("input", { type: "file", accept: ".csv,.jsonl,.json,.ndjson,.manifest,text/csv,application/json" });
  const file = new Field("Manifest file", picker, "CSV with a header row, or JSON Lines: source or source-ref, a key, optional gold.");
  const keyColumn = new Field("Key column", input({ value: "key" }), "Empty: each item's key is line-N.");
  const goldColumn = new Field("Gold column", input({ value: "gold" }), "A class name, names joined by |, or a JSON answer.");
  const start = h("button", { type: "button", class: "primary" }, "Upload");
  const resume = h("button", { type: "button", hidden: true }, "Resume");
  const pause = h("button", { type: "button", hidden: true }, "Pause");
  const bar = h("progress", { "aria-label": "Upload progress", max: 1, value: 0 });
  const status = h("p", { class: "notice", role: "status" });
  const alert = h("p", { class: "error", role: "alert" });
  const errorsBody = h("tbody", {});
  const errorsTable = h(
    "table",
    { "aria-label": "Rows not added", class: "wide", hidden: true },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "num" }, "Line"), h("th", { scope: "col" }, "Why"))),
    errorsBody,
  );
  append(
    main,
    h("p", {}, h("a", { href: `#/jobs/${encodeURIComponent(id)}` }, "← The job")),
    h("h1", { id: "upload-heading" }, "Upload items"),
    h(
      "form",
      { class: "upload", "aria-labelledby": "upload-heading", onsubmit: (e: Event) => e.preventDefault() },
      file.element,
      keyColumn.element,
      goldColumn.element,
      h("div", { class: "actions" }, start, resume, pause),
    ),
    h("div", { class: "upload-progress" }, bar, status),
    alert,
    errorsTable,
  );

  let taskType = "";
  try {
    const got = await api.jobs.getJob({ name: job }, { signal });
    taskType = got.job?.taskConfig?.config.case ?? "";
    const heading = main.querySelector("h1");
    if (heading && got.job) heading.textContent = `Upload items to ${got.job.displayName}`;
  } catch (err) {
    alert.textContent = message(err);
    return;
  }

  let paused = false;
  let running = false;
  const picked = (): File | undefined => picker.files?.[0];

  const offerResume = (): void => {
    const f = picked();
    const done = f ? Number(localStorage.getItem(progressKey(job, f)) ?? "0") : 0;
    resume.hidden = !(done > 0);
    resume.textContent = `Resume after line ${done}`;
    status.textContent = done > 0 ? `This file was uploaded up to line ${done}.` : "";
  };
  picker.addEventListener("change", offerResume);

  const rowError = (line: number, why: string, count: { errors: number }): void => {
    count.errors += 1;
    errorsTable.hidden = false;
    if (errorsBody.childElementCount < SHOWN_ERRORS) {
      append(errorsBody, h("tr", {}, h("td", { class: "num" }, `${line}`), h("td", {}, why)));
    }
  };

  const run = async (after: number): Promise<void> => {
    const f = picked();
    file.reset();
    alert.textContent = "";
    if (!f) {
      file.fail("Pick a CSV or JSON Lines file first.");
      file.control.focus();
      return;
    }
    const key = progressKey(job, f);
    const columns: Columns = { key: keyColumn.value, gold: goldColumn.value, taskType };
    const csv = /\.csv$/i.test(f.name) || f.type === "text/csv";
    const count = { added: 0, duplicates: 0, gold: 0, errors: 0 };
    clear(errorsBody);
    errorsTable.hidden = true;
    running = true;
    paused = false;
    start.disabled = resume.disabled = true;
    pause.hidden = false;
    bar.max = Math.max(f.size, 1);
    let batch: Pending[] = [];
    let bytes = 0;
    let done = after;

    const say = (): void => {
      status.textContent =
        `${count.added} added, ${count.duplicates} already there, ${count.gold} of them gold, ` +
        `${count.errors} row${count.errors === 1 ? "" : "s"} with errors; up to line ${done}.`;
    };

    /** Sends a batch; a row the server refuses is listed and the batch sent
     * again without it. False when the upload has to stop. */
    const send = async (): Promise<boolean> => {
      while (batch.length) {
        try {
          const r = await api.jobs.addItemBatch({ job, items: batch.map((p) => p.item) }, { signal });
          count.added += Number(r.addedCount);
          count.duplicates += Number(r.duplicateCount);
          count.gold += Number(r.goldCount);
          break;
        } catch (err) {
          if (signal.aborted) return false;
          const e = ConnectError.from(err);
          const bad = fieldViolations(err).map((v) => [blamed(v.field), v.description] as const);
          const at = bad.find(([i]) => i !== null && i < batch.length);
          if (e.code === Code.InvalidArgument && at) {
            const [i, why] = at as [number, string];
            rowError(batch[i].line, why.replace(/^items\[\d+\]\.?/, "") || why, count);
            batch.splice(i, 1);
            continue;
          }
          alert.textContent = `The upload stopped after line ${done}: ${message(err)}. Resume when it is fixed.`;
          return false;
        }
      }
      done = batch.length ? batch[batch.length - 1].line : done;
      localStorage.setItem(key, String(done));
      batch = [];
      bytes = 0;
      say();
      return true;
    };

    let ok = true;
    try {
      for await (const [row, read] of records(f, csv)) {
        if (signal.aborted) return;
        bar.value = read;
        if (row.line <= after) continue;
        if (row.error || !row.row) {
          rowError(row.line, row.error ?? "cannot be read", count);
          continue;
        }
        try {
          const item = toItem(row.row, row.line, columns);
          batch.push({ line: row.line, item });
          bytes += item.payload.value?.length ?? 0;
        } catch (err) {
          rowError(row.line, (err as Error).message, count);
          continue;
        }
        if (batch.length >= BATCH_ITEMS || bytes >= BATCH_BYTES) {
          ok = await send();
          if (!ok) break;
          if (paused) {
            status.textContent += " Paused.";
            break;
          }
        }
      }
      if (ok && !paused) ok = await send();
      if (ok && !paused) {
        bar.value = bar.max;
        localStorage.removeItem(key);
        say();
        status.textContent = `Done: ${status.textContent}`;
      }
    } catch (err) {
      alert.textContent = `The file could not be read: ${(err as Error).message}`;
    } finally {
      running = false;
      start.disabled = resume.disabled = false;
      pause.hidden = true;
      if (!ok || paused) {
        resume.hidden = false;
        resume.textContent = `Resume after line ${done}`;
      } else resume.hidden = true;
    }
  };

  start.addEventListener("click", () => {
    if (!running) void run(0);
  });
  resume.addEventListener("click", () => {
    const f = picked();
    if (!running && f) void run(Number(localStorage.getItem(progressKey(job, f)) ?? "0"));
  });
  pause.addEventListener("click", () => {
    paused = true;
    pause.hidden = true;
  });
}
