import { timestampMs } from "@bufbuild/protobuf/wkt";
import { append, h } from "../dom";
import type { TaskComment } from "../gen/labelwire/v1/task_pb";
import { type Api, message } from "./api";

/** Comments read a page at a time on the job's page. */
const PAGE = 50;

function workerLink(id: string, c: TaskComment): HTMLElement {
  const worker = c.worker.split("/").pop() ?? "";
  return h("a", { href: `#/jobs/${encodeURIComponent(id)}/workers/${encodeURIComponent(worker)}` }, c.workerDisplayName || c.worker);
}

export function itemLink(id: string, key: string): HTMLElement {
  return h("a", { href: `#/jobs/${encodeURIComponent(id)}/items/${encodeURIComponent(key)}` }, key);
}

function when(c: TaskComment): string {
  return c.createTime ? new Date(timestampMs(c.createTime)).toLocaleString() : "";
}

/** A table of comments, newest first; the text is a text node, whatever a
 * worker wrote. `withItem` adds the item's key (a link to its page). */
export function commentsTable(id: string, label: string, comments: TaskComment[], withItem: boolean): { table: HTMLElement; add: (more: TaskComment[]) => void } {
  const body = h("tbody", {});
  const add = (more: TaskComment[]): void => {
    for (const c of more) {
      append(
        body,
        h(
          "tr",
          {},
          h("td", {}, when(c)),
          h("td", {}, workerLink(id, c)),
          withItem ? h("td", {}, itemLink(id, c.itemKey)) : null,
          h("td", { class: "comment" }, c.text),
        ),
      );
    }
  };
  add(comments);
  const heads = ["When", "Worker", ...(withItem ? ["Item"] : []), "Comment"];
  const table = h("table", { class: "wide comments", "aria-label": label }, h("thead", {}, h("tr", {}, ...heads.map((t) => h("th", { scope: "col" }, t)))), body);
  return { table, add };
}

/** The job's comments from its workers (ListTaskComments), newest first,
 * a page at a time with "More comments". */
export function commentsSection(api: Api, id: string, signal: AbortSignal): HTMLElement {
  const status = h("p", { class: "notice" }, "Reading comments…");
  const more = h("button", { type: "button", hidden: true }, "More comments");
  const { table, add } = commentsTable(id, "Worker comments", [], true);
  table.hidden = true;
  let token = "";
  let count = 0;
  const read = async (): Promise<void> => {
    more.disabled = true;
    try {
      const page = await api.jobs.listTaskComments({ job: `jobs/${id}`, pageSize: PAGE, pageToken: token }, { signal });
      add(page.comments);
      count += page.comments.length;
      token = page.nextPageToken;
      table.hidden = count === 0;
      status.textContent = count === 0 ? "No comments from workers yet." : `${count}${token ? "+" : ""} comment${count === 1 ? "" : "s"}, newest first.`;
      more.hidden = token === "";
    } catch (err) {
      if (!signal.aborted) status.textContent = message(err);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => void read());
  void read();
  return h("section", { "aria-labelledby": "comments-heading" }, h("h2", { id: "comments-heading" }, "Worker comments"), status, table, more);
}

/** Comments read at most when one worker's are picked out of the job's. */
const SCANNED = 10_000;

/** One worker's comments on the job (the job's comments, newest first,
 * picked out by worker: ListTaskComments has no worker filter). */
export async function commentsOf(api: Api, job: string, worker: string, signal: AbortSignal): Promise<{ comments: TaskComment[]; more: boolean }> {
  const comments: TaskComment[] = [];
  let token = "";
  let read = 0;
  do {
    const page = await api.jobs.listTaskComments({ job, pageSize: 1000, pageToken: token }, { signal });
    comments.push(...page.comments.filter((c) => c.worker === worker));
    read += page.comments.length;
    token = page.nextPageToken;
  } while (token && read < SCANNED);
  return { comments, more: token !== "" };
}
