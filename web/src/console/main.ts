import "./style.css";
import { clear, h } from "../dom";
import { type Api, forgetKey, message, signIn, storedKey } from "./api";
import { createPage } from "./create";
import { feedbackPage } from "./feedback";
import { itemPage } from "./item";
import { jobPage } from "./job";
import { jobsPage } from "./jobs";
import { labelsPage } from "./labels";
import { modelsPage } from "./models";
import { qualityPage } from "./quality";
import { teamsPage } from "./teams";
import { uploadPage } from "./upload";
import { workerPage } from "./worker";

const app = document.getElementById("app") as HTMLElement;
let api: Api | null = null;
/** Stops the current view's stream and timers when the view changes. */
let leave: AbortController | null = null;

function header(): HTMLElement {
  return h(
    "header",
    { class: "bar" },
    h("a", { href: "#/jobs", class: "brand" }, "labelwire · console"),
    api?.admin ? h("span", { class: "badge" }, "admin: read only") : null,
    h("nav", { "aria-label": "Console" }, h("a", { href: "#/jobs" }, "Jobs"), h("a", { href: "#/teams" }, "Teams"), h("button", { type: "button", onclick: signOut }, "Sign out")),
  );
}

function signOut(): void {
  forgetKey();
  api = null;
  location.hash = "";
  route();
}

function signInForm(problem = ""): void {
  const input = h("input", { type: "password", id: "key", autocomplete: "off", spellcheck: "false", required: true });
  const form = h(
    "form",
    { class: "card signin" },
    h("h1", {}, "labelwire · console"),
    problem ? h("p", { class: "error", role: "alert" }, problem) : null,
    h("p", {}, "Sign in with your client API key (kept in this tab only), or the admin key for a read-only view of every client's jobs."),
    h("label", { for: "key" }, "API key"),
    input,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (key) void connect(key);
  });
  clear(app);
  app.append(form);
  input.focus();
}

async function connect(key: string): Promise<void> {
  try {
    api = await signIn(key);
  } catch (err) {
    forgetKey();
    signInForm(message(err));
    return;
  }
  route();
}

/** Every view has its own address: `#/jobs`, `#/jobs/new`, `#/jobs/{id}`,
 * `#/jobs/{id}/quality`, `#/jobs/{id}/feedback`, `#/jobs/{id}/upload`, `#/jobs/{id}/labels`,
 * `#/jobs/{id}/items/{key}` (an item's history), `#/jobs/{id}/workers/{id}`,
 * `#/jobs/{id}/models`, `#/teams`. */
function route(): void {
  leave?.abort();
  leave = new AbortController();
  if (api === null) {
    const key = storedKey();
    if (key) void connect(key);
    else signInForm();
    return;
  }
  const main = h("main", {});
  clear(app);
  app.append(header(), main);
  const sub = /^#\/jobs\/([^/?]+)\/(items|workers)\/([^/?]+)$/.exec(location.hash);
  const job = /^#\/jobs\/([^/?]+)(?:\/(quality|feedback|upload|labels|models))?(?:\?.*)?$/.exec(location.hash);
  const id = job ? decodeURIComponent(job[1]) : "";
  if (location.hash === "#/teams") void teamsPage(api, main, leave.signal);
  else if (sub?.[2] === "items") void itemPage(api, decodeURIComponent(sub[1]), decodeURIComponent(sub[3]), main, leave.signal);
  else if (sub) void workerPage(api, decodeURIComponent(sub[1]), decodeURIComponent(sub[3]), main, leave.signal);
  else if (id === "new" && !api.admin) void createPage(api, main, leave.signal);
  else if (job?.[2] === "quality") void qualityPage(api, id, main, leave.signal);
  else if (job?.[2] === "feedback") void feedbackPage(api, id, main, leave.signal);
  else if (job?.[2] === "upload") void uploadPage(api, id, main, leave.signal);
  else if (job?.[2] === "labels") void labelsPage(api, id, main, leave.signal);
  else if (job?.[2] === "models") void modelsPage(api, id, main, leave.signal);
  else if (job) void jobPage(api, id, main, leave.signal);
  else void jobsPage(api, main, leave.signal);
}

window.addEventListener("hashchange", route);
route();
