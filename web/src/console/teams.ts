import { append, clear, h } from "../dom";
import type { Team, WorkerAccount } from "../gen/labelwire/v1/account_pb";
import { type Api, message } from "./api";
import { fieldViolations } from "./errors";
import { Field, input, select } from "./form";

async function allTeams(api: Api, signal: AbortSignal): Promise<Team[]> {
  const out: Team[] = [];
  let token = "";
  do {
    const page = await api.teams.listTeams({ pageSize: 1000, pageToken: token }, { signal });
    out.push(...page.teams);
    token = page.nextPageToken;
  } while (token);
  return out;
}

async function allAccounts(api: Api, signal: AbortSignal): Promise<WorkerAccount[]> {
  const out: WorkerAccount[] = [];
  let token = "";
  do {
    const page = await api.teams.listWorkerAccounts({ pageSize: 1000, pageToken: token }, { signal });
    out.push(...page.workerAccounts);
    token = page.nextPageToken;
  } while (token);
  return out;
}

/** The worker app's sign-in link for a token: the app moves the token out
 * of the address bar into the tab's session storage as it opens. */
export function signInLink(token: string): string {
  return `${location.origin}/work/?token=${encodeURIComponent(token)}`;
}

/** Teams and worker accounts (TeamService): create a team, create an
 * account (into a team), add an account to a team or take it out, issue an
 * account's sign-in link to copy (its earlier links stop working), revoke
 * its tokens. The admin key reads every client's, without the controls. */
export async function teamsPage(api: Api, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const alert = h("p", { class: "error", role: "alert" });
  const status = h("p", { class: "notice", role: "status" });
  const body = h("div", {});
  append(main, h("h1", {}, "Teams and workers"), alert, status, body);

  const run = async (what: () => Promise<unknown>, done: string): Promise<void> => {
    alert.textContent = "";
    try {
      await what();
      status.textContent = done;
      await load();
    } catch (err) {
      if (!signal.aborted) alert.textContent = message(err);
    }
  };

  const load = async (): Promise<void> => {
    let teams: Team[];
    let accounts: WorkerAccount[];
    try {
      [teams, accounts] = await Promise.all([allTeams(api, signal), allAccounts(api, signal)]);
    } catch (err) {
      if (!signal.aborted) alert.textContent = message(err);
      return;
    }
    const teamName = new Map(teams.map((t) => [t.name, t.displayName || t.name]));
    clear(body);
    append(
      body,
      h("h2", { id: "teams-heading" }, "Teams"),
      teams.length
        ? h(
            "table",
            { "aria-labelledby": "teams-heading", class: "wide" },
            h("thead", {}, h("tr", {}, ...["Team", "Description", "Members"].map((t, n) => h("th", { scope: "col", class: n === 2 ? "num" : "" }, t)))),
            h("tbody", {}, ...teams.map((t) => h("tr", {}, h("th", { scope: "row" }, t.displayName || t.name), h("td", {}, t.description), h("td", { class: "num" }, `${t.workerCount}`)))),
          )
        : h("p", { class: "notice" }, "No teams yet."),
      api.admin ? null : newTeamForm(api, (name) => void run(async () => name, `Created team ${name}.`)),
      h("h2", { id: "accounts-heading" }, "Worker accounts"),
      accounts.length
        ? h(
            "table",
            { "aria-labelledby": "accounts-heading", class: "wide accounts" },
            h("thead", {}, h("tr", {}, ...["Worker", "Teams", "Active tokens", ...(api.admin ? [] : ["Sign-in link", "Add to a team"])].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, ...accounts.map((a) => accountRow(api, a, teams, teamName, run))),
          )
        : h("p", { class: "notice" }, "No worker accounts yet."),
      api.admin ? null : newAccountForm(api, teams, (name) => void run(async () => name, `Created worker account ${name}.`)),
    );
  };
  await load();
}

function accountRow(
  api: Api,
  a: WorkerAccount,
  teams: Team[],
  teamName: Map<string, string>,
  run: (what: () => Promise<unknown>, done: string) => Promise<void>,
): HTMLElement {
  const who = a.displayName || a.name;
  const memberOf = h(
    "ul",
    { class: "plain" },
    ...a.teams.map((t) =>
      h(
        "li",
        {},
        `${teamName.get(t) ?? t} `,
        api.admin
          ? null
          : h("button", {
              type: "button",
              class: "small",
              "aria-label": `Remove ${who} from ${teamName.get(t) ?? t}`,
              onclick: () => void run(() => api.teams.removeTeamMember({ team: t, worker: a.name }), `Removed ${who} from ${teamName.get(t) ?? t}.`),
            }, "Remove"),
      )),
  );
  const tokens = h("td", { class: "num" }, `${a.activeTokens}`);
  const row = h("tr", {}, h("th", { scope: "row" }, who), h("td", {}, a.teams.length ? memberOf : "none"), tokens);
  if (api.admin) return row;
  const linkCell = h("td", {});
  const shown = h("div", { class: "issued" });
  const issue = h("button", { type: "button", class: "small", "aria-label": `Sign-in link for ${who}` }, "New link");
  const revoke = h("button", { type: "button", class: "small danger", "aria-label": `Revoke ${who}'s tokens`, disabled: a.activeTokens === 0 }, "Revoke");
  issue.addEventListener("click", () => {
    if (a.activeTokens > 0 && !confirm(`A new link for ${who}? Their earlier links stop working.`)) return;
    api.teams
      .issueWorkerAccountToken({ worker: a.name })
      .then((r) => {
        const link = h("input", { type: "text", readonly: true, value: signInLink(r.token), "aria-label": `Sign-in link of ${who}`, class: "link" });
        const copy = h("button", { type: "button", class: "small", "aria-label": `Copy the sign-in link of ${who}` }, "Copy");
        copy.addEventListener("click", () => {
          link.select();
          void navigator.clipboard?.writeText(link.value).then(() => {
            copy.textContent = "Copied";
          }, () => {
            copy.textContent = "Select and copy";
          });
        });
        shown.replaceChildren(link, " ", copy, h("p", { class: "hint" }, "Shown once: send it to the worker."));
        revoke.disabled = false;
        tokens.textContent = `${r.workerAccount?.activeTokens ?? a.activeTokens + 1}`;
        link.focus();
        link.select();
      })
      .catch((err: unknown) => {
        shown.replaceChildren(h("p", { class: "error" }, message(err)));
      });
  });
  revoke.addEventListener("click", () => {
    if (!confirm(`Revoke every token of ${who}? They are signed out everywhere.`)) return;
    void run(() => api.teams.revokeWorkerAccountToken({ worker: a.name }), `Revoked ${who}'s tokens.`);
  });
  linkCell.append(issue, " ", revoke, shown);
  const others = teams.filter((t) => !a.teams.includes(t.name));
  if (others.length === 0) {
    append(row, linkCell, h("td", {}, teams.length ? "in every team" : "no team yet"));
    return row;
  }
  const pick = select(others.map((t): [string, string] => [t.name, t.displayName || t.name]), "");
  pick.setAttribute("aria-label", `Team for ${who}`);
  const add = h("button", { type: "button", class: "small", "aria-label": `Add ${who} to the team` }, "Add");
  add.addEventListener("click", () => {
    const team = pick.value;
    void run(() => api.teams.addTeamMember({ team, worker: a.name }), `Added ${who} to ${teamName.get(team) ?? team}.`);
  });
  append(row, linkCell, h("td", {}, h("span", { class: "inline" }, pick, " ", add)));
  return row;
}

function newTeamForm(api: Api, created: (name: string) => void): HTMLElement {
  const name = new Field("Team name", input({ required: "required" }));
  const description = new Field("Description", input({}));
  const form = h("form", { class: "inline-form", "aria-label": "New team" }, name.element, description.element, h("button", { type: "submit" }, "Create team"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    name.reset();
    api.teams
      .createTeam({ team: { displayName: name.value, description: description.value } })
      .then((r) => {
        form.reset();
        created(r.team?.displayName ?? name.value);
      })
      .catch((err: unknown) => {
        const v = fieldViolations(err)[0];
        name.fail(v ? v.description : message(err));
        name.control.focus();
      });
  });
  return form;
}

function newAccountForm(api: Api, teams: Team[], created: (name: string) => void): HTMLElement {
  const name = new Field("Worker's name", input({ required: "required" }));
  const team = new Field("Into team", select([["", "no team"], ...teams.map((t): [string, string] => [t.name, t.displayName || t.name])], ""));
  const form = h("form", { class: "inline-form", "aria-label": "New worker account" }, name.element, team.element, h("button", { type: "submit" }, "Create worker account"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    name.reset();
    void (async () => {
      try {
        const r = await api.teams.createWorkerAccount({ workerAccount: { displayName: name.value } });
        if (team.value && r.workerAccount) await api.teams.addTeamMember({ team: team.value, worker: r.workerAccount.name });
        form.reset();
        created(r.workerAccount?.displayName ?? name.value);
      } catch (err) {
        const v = fieldViolations(err)[0];
        name.fail(v ? v.description : message(err));
        name.control.focus();
      }
    })();
  });
  return form;
}
