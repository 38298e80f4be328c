import { append, clear, h } from "../dom";
import type { Job } from "../gen/labelwire/v1/job_pb";
import { type Api, message } from "./api";
import { costText, jobId, progressText, stateName } from "./format";

function row(job: Job): HTMLElement {
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: `#/jobs/${encodeURIComponent(jobId(job.name))}` }, job.displayName)),
    h("td", {}, h("span", { class: `state state-${stateName(job.state)}` }, stateName(job.state))),
    h("td", { class: "num" }, progressText(job)),
    h("td", { class: "num" }, costText(job)),
  );
}

/** The caller's jobs (every client's for the admin key), newest first, a
 * page of 50 at a time. */
export async function jobsPage(api: Api, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const body = h("tbody", {});
  const more = h("button", { type: "button", hidden: true }, "More jobs");
  const status = h("p", { class: "notice", role: "status" });
  append(
    main,
    h(
      "div",
      { class: "title" },
      h("h1", {}, api.admin ? "Every client's jobs" : "Jobs"),
      api.admin ? null : h("a", { href: "#/jobs/new", class: "button" }, "New job"),
    ),
    status,
    h(
      "table",
      { class: "jobs" },
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "State"),
          h("th", { scope: "col", class: "num" }, "Labeled / total"), h("th", { scope: "col", class: "num" }, "Cost")),
      ),
      body,
    ),
    more,
  );
  let token = "";
  const load = async (): Promise<void> => {
    try {
      const page = await api.jobs.listJobs({ pageSize: 50, pageToken: token }, { signal });
      append(body, ...page.jobs.map(row));
      token = page.nextPageToken;
      more.hidden = !token;
      if (!body.firstChild) {
        clear(status);
        append(status, "No jobs yet. Create one with “New job”, the Python or TypeScript SDK, or `labelwire jobs`.");
      }
    } catch (err) {
      if (!signal.aborted) status.textContent = message(err);
    }
  };
  more.addEventListener("click", () => void load());
  await load();
}
