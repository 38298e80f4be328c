import { append, h } from "../dom";
import type { ItemDecline } from "../gen/labelwire/v1/job_service_pb";
import { type Api, message } from "./api";
import { commentsSection, itemLink } from "./comments";

/** Declines read at most (ListTaskDeclines, newest first): the groups are
 * of the job's latest ones beyond that. */
export const MOST_DECLINES = 10_000;

interface Group {
  key: string;
  name: string;
  count: number;
  reasons: Map<string, number>;
}

/** Declines grouped by `by`, most declines first (ties by name); each
 * group's reasons most given first, "no reason" for an empty one. */
export function groupDeclines(declines: ItemDecline[], by: (d: ItemDecline) => [string, string]): Group[] {
  const groups = new Map<string, Group>();
  for (const d of declines) {
    const [key, name] = by(d);
    let g = groups.get(key);
    if (!g) {
      g = { key, name, count: 0, reasons: new Map() };
      groups.set(key, g);
    }
    g.count += 1;
    const reason = d.reason || "no reason";
    g.reasons.set(reason, (g.reasons.get(reason) ?? 0) + 1);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function reasonsText(g: Group): string {
  return [...g.reasons.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([reason, n]) => `${reason} (${n})`)
    .join("; ");
}

function groupTable(label: string, first: string, groups: Group[], link: (g: Group) => HTMLElement): HTMLElement {
  return h(
    "table",
    { class: "wide", "aria-label": label },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, first), h("th", { scope: "col", class: "num" }, "Declines"), h("th", { scope: "col" }, "Reasons"))),
    h("tbody", {}, ...groups.map((g) => h("tr", {}, h("th", { scope: "row" }, link(g)), h("td", { class: "num" }, `${g.count}`), h("td", { class: "comment" }, reasonsText(g))))),
  );
}

/** A job's feedback from its workers: why they declined tasks, grouped by
 * worker and by item (ListTaskDeclines), beside their comments. */
export async function feedbackPage(api: Api, id: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const status = h("p", { class: "notice" }, "Reading declines…");
  const body = h("div", {});
  append(
    main,
    h("p", {}, h("a", { href: `#/jobs/${encodeURIComponent(id)}` }, "← The job")),
    h("div", { class: "title" }, h("h1", {}, "Feedback")),
    h("section", { "aria-labelledby": "declines-heading" }, h("h2", { id: "declines-heading" }, "Declined tasks"), status, body),
    commentsSection(api, id, signal),
  );
  const declines: ItemDecline[] = [];
  let token = "";
  try {
    do {
      const page = await api.jobs.listTaskDeclines({ job: `jobs/${id}`, pageSize: 1000, pageToken: token }, { signal });
      declines.push(...page.declines);
      token = page.nextPageToken;
    } while (token && declines.length < MOST_DECLINES);
  } catch (err) {
    if (!signal.aborted) status.textContent = message(err);
    return;
  }
  if (declines.length === 0) {
    status.textContent = "No worker has declined a task yet.";
    return;
  }
  status.textContent = `${declines.length}${token ? "+ (the latest)" : ""} declined task${declines.length === 1 ? "" : "s"}.`;
  const workerOf = (d: ItemDecline): [string, string] => [d.worker, d.workerDisplayName || d.worker];
  append(
    body,
    h("h3", {}, "By worker"),
    groupTable("Declines by worker", "Worker", groupDeclines(declines, workerOf), (g) =>
      h("a", { href: `#/jobs/${encodeURIComponent(id)}/workers/${encodeURIComponent(g.key.split("/").pop() ?? "")}` }, g.name)),
    h("h3", {}, "By item"),
    groupTable("Declines by item", "Item", groupDeclines(declines, (d) => [d.itemKey, d.itemKey]), (g) => itemLink(id, g.key)),
  );
}
