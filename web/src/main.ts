import "./style.css";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { forgetToken, keepToken, takeToken, type WorkerApi, workerApi } from "./api";
import { append, clear, h, isTyping, kbd } from "./dom";
import type { Answer } from "./gen/labelwire/v1/answer_pb";
import { type LabelClass, MediaType } from "./gen/labelwire/v1/job_pb";
import { type Task, TaskPhase, type WorkerStats, WorkerStatus } from "./gen/labelwire/v1/task_pb";
import type { GetInstructionsResponse, NextTaskResponse, SubmitJudgmentResponse } from "./gen/labelwire/v1/worker_service_pb";
import type { TaskView } from "./tasks/types";
import { classesOf, view } from "./tasks/registry";
import type { WorkerJob } from "./gen/labelwire/v1/account_pb";
import { allJobs, jobCards } from "./jobs";
import { describe } from "./answers";
import { historyPage } from "./history";
import { preload } from "./tasks/payload";
import { Panels } from "./panels";

const app = document.getElementById("app") as HTMLElement;
const token = takeToken();

/** One job the worker works on. A per-job token gives one (`job` empty:
 * the token names it); an account token picks one from its job list, and
 * every call that is not about a task names it. */
interface JobEntry {
  api: WorkerApi;
  info: GetInstructionsResponse;
  job: string;
  /** Back to the job list; only for account tokens. */
  back?: () => void;
}

function errorText(err: unknown): string {
  if (err instanceof ConnectError) return err.rawMessage;
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------- sign-in

function signIn(problem = ""): void {
  clear(app);
  const input = h("input", { type: "password", id: "token", autocomplete: "off", spellcheck: "false", required: true });
  const form = h(
    "form",
    { class: "card signin" },
    h("h1", {}, "labelwire · work"),
    problem ? h("p", { class: "error", role: "alert" }, problem) : null,
    h("p", {}, "Open the sign-in link you were sent, or paste your worker token."),
    h("label", { for: "token" }, "Worker token"),
    input,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    keepToken(value);
    void start(value);
  });
  app.append(form);
  input.focus();
}

function refused(err: unknown): void {
  if (err instanceof ConnectError && err.code === Code.Unauthenticated) {
    forgetToken();
    signIn("That token was not accepted (it may have expired or been revoked). Ask for a new link.");
  } else if (err instanceof ConnectError && err.code === Code.PermissionDenied) {
    forgetToken();
    signIn(`That token may not do this: ${err.rawMessage}`);
  } else {
    signIn(`The server could not be reached: ${errorText(err)}`);
  }
}

/** A worker account token (`lwa_…`) opens on the job list; a per-job token
 * opens its job. */
async function start(secret: string): Promise<void> {
  const api = workerApi(secret);
  if (secret.startsWith("lwa_")) return jobList(api);
  let info: GetInstructionsResponse;
  try {
    info = await api.getInstructions({});
  } catch (err) {
    return refused(err);
  }
  new Workspace({ api, info, job: "" }).begin();
}

async function jobList(api: WorkerApi): Promise<void> {
  let jobs: WorkerJob[];
  try {
    jobs = await allJobs(api);
  } catch (err) {
    return refused(err);
  }
  clear(app);
  const notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  const open = async (job: WorkerJob): Promise<void> => {
    let info: GetInstructionsResponse;
    try {
      info = await api.getInstructions({ job: job.job });
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) return refused(err);
      notice.textContent = `That job cannot be opened: ${errorText(err)}`;
      return;
    }
    new Workspace({ api, info, job: job.job, back: () => void jobList(api) }).begin();
  };
  append(
    app,
    h("header", { class: "bar" }, h("h1", {}, "Your jobs"),
      h("nav", { "aria-label": "Actions" },
        h("button", { type: "button", onclick: () => void jobList(api) }, "Refresh"),
        h("button", { type: "button", onclick: () => void historyPage(app, api, () => void jobList(api), "All jobs") }, "History"),
        h("button", { type: "button", onclick: () => { forgetToken(); location.replace(location.pathname); } }, "Sign out"))),
    notice,
    h("main", {}, jobCards(jobs, (job) => void open(job))),
  );
  app.querySelector<HTMLButtonElement>(".job-card button")?.focus();
}

// ---------------------------------------------------------------- the workspace

class Workspace {
  private readonly entry: JobEntry;
  private readonly api: WorkerApi;
  private readonly info: GetInstructionsResponse;
  private readonly job: string;
  private readonly back?: () => void;
  private readonly listening = new AbortController();
  private ticker = 0;
  private gone = false;
  private readonly classes: LabelClass[];
  private readonly limitMs: number;
  private task: Task | null = null;
  /** The lease after `task` (lookahead), whose image is loaded ahead. */
  private upcoming: Task | null = null;
  /** Whether to hold a lease ahead: only when tasks show an image to load. */
  private lookahead: boolean;
  private current: TaskView | null = null;
  private deadline = 0;
  private lastActive = Date.now();
  private extending = false;
  private busy = false;
  private submitted = 0;
  private pendingNext: NextTaskResponse | null = null;
  private given: Answer | undefined;
  /** The task a comment is about: the one on screen, or the quiz question
   * whose feedback is on screen. */
  private commentable: Task | null = null;
  private retryTimer = 0;
  private readonly stage = h("section", { class: "stage", "aria-label": "Task" });
  private readonly notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  private readonly timer = h("span", { class: "timer", role: "timer", "aria-label": "Time left" });
  private readonly phase = h("span", { class: "phase" });
  private readonly record = h("dl", { class: "record", "aria-label": "Your record" });
  private readonly submitButton = h("button", { type: "button", class: "primary", onclick: () => void this.submit() }, "Submit ", kbd("Enter"));
  private readonly panels = new Panels();

  constructor(job: JobEntry) {
    this.entry = job;
    this.api = job.api;
    this.info = job.info;
    this.job = job.job;
    this.back = job.back;
    this.classes = classesOf(this.info);
    this.lookahead = this.info.mediaType === MediaType.IMAGE;
    const limit = this.info.taskTimeLimit;
    this.limitMs = limit ? Number(limit.seconds) * 1000 + limit.nanos / 1e6 : 300_000;
  }

  begin(): void {
    clear(app);
    const short = this.info.instructions?.shortInstructions ?? "";
    append(
      app,
      h(
        "header",
        { class: "bar" },
        h("h1", {}, this.info.displayName || "Job"),
        this.phase,
        this.timer,
        h("nav", { "aria-label": "Actions" },
          this.back ? h("button", { type: "button", onclick: () => void this.leave() }, "All jobs") : null,
          h("button", { type: "button", onclick: () => this.panels.instructions(this.info, this.classes) }, "Instructions ", kbd("i")),
          h("button", { type: "button", onclick: () => this.panels.keys() }, "Keys ", kbd("?")),
          h("button", { type: "button", onclick: () => void this.leave(() => this.history()) }, "History"),
          h("button", { type: "button", onclick: () => this.stop() }, "Stop for now"),
          h("button", { type: "button", onclick: () => this.signOut() }, "Sign out"),
        ),
      ),
      short ? h("p", { class: "short" }, short) : null,
      this.notice,
      h("main", {}, this.stage),
      h("footer", {}, this.record),
    );
    const signal = this.listening.signal;
    document.addEventListener("keydown", (e) => this.onKey(e), { signal });
    for (const kind of ["pointerdown", "keydown", "wheel"]) document.addEventListener(kind, () => (this.lastActive = Date.now()), { passive: true, signal });
    this.ticker = window.setInterval(() => this.tick(), 1000);
    void this.refreshRecord();
    void this.next();
  }

  /** The worker's history; its back button returns to this job, afresh. */
  private history(): void {
    void historyPage(app, this.api, () => new Workspace(this.entry).begin(), "Back to work");
  }

  /** Back to the job list (or on to `then`): the task goes back to the
   * queue and this page's keys, timers and panels end with it. */
  private async leave(then = this.back): Promise<void> {
    this.gone = true;
    this.listening.abort();
    window.clearInterval(this.ticker);
    window.clearTimeout(this.retryTimer);
    this.panels.closeAll();
    const task = this.task;
    this.task = null;
    this.current?.destroy?.();
    this.current = null;
    await this.giveBack(task, this.upcoming);
    this.upcoming = null;
    then?.();
  }

  // ---- tasks

  private async next(): Promise<void> {
    window.clearTimeout(this.retryTimer);
    try {
      const res = await this.api.nextTask({ job: this.job, lookahead: this.lookahead });
      if (this.gone) return void this.giveBack(res.task, res.upcoming);
      this.show(res);
    } catch (err) {
      if (!this.gone) this.waiting("The server did not answer", errorText(err), 5);
    }
  }

  private show(res: NextTaskResponse): void {
    if (this.gone) return void this.giveBack(res.task, res.upcoming);
    this.pendingNext = null;
    this.upcoming = res.upcoming ?? null;
    preload(res.upcoming, this.info.mediaType); // loaded while this task is answered
    this.current?.destroy?.();
    this.current = null;
    this.task = null;
    this.commentable = null;
    if (!res.task) {
      const retry = res.retryAfter ? Number(res.retryAfter.seconds) : 0;
      switch (res.status) {
        case WorkerStatus.FAILED_QUIZ:
          return this.final("You did not pass the quiz", res.message);
        case WorkerStatus.DISQUALIFIED:
          return this.final("You can no longer work on this job", res.message);
      }
      if (retry > 0) return this.waiting(/paused/.test(res.message) ? "The job is paused" : "No task right now", res.message, retry);
      return this.final(/complete/.test(res.message) ? "The job is finished" : "No more work", res.message);
    }
    const task = res.task;
    this.task = task;
    this.commentable = task;
    const media = this.info.mediaType;
    if (task.payload.case === "sourceRef" && media !== MediaType.AUDIO && media !== MediaType.VIDEO && media !== MediaType.DOCUMENT) this.lookahead = true;
    this.deadline = Date.now() + Math.min(this.limitMs, timestampMs(task.leaseExpireTime!) - Date.now());
    this.lastActive = Date.now();
    const quiz = task.phase === TaskPhase.QUIZ;
    this.phase.textContent = quiz ? "Quiz question" : "";
    const current = view({ job: this.info, task, classes: this.classes, media: this.info.mediaType });
    this.current = current;
    clear(this.stage);
    append(this.stage, current.root, h("div", { class: "actions" }, this.submitButton,
      h("button", { type: "button", onclick: () => this.skip() }, "Skip ", kbd("s")),
      h("button", { type: "button", onclick: () => this.comment() }, "Comment ", kbd("m"))));
    this.tick();
  }

  private async submit(): Promise<void> {
    if (this.pendingNext) return this.show(this.pendingNext);
    if (!this.task || !this.current || this.busy) return;
    this.busy = true;
    const task = this.task;
    let answer: Answer | string;
    try {
      answer = await this.current.answer();
    } catch (err) {
      answer = `The answer could not be made: ${errorText(err)}`;
    }
    if (typeof answer === "string" || this.task !== task) {
      this.busy = false;
      return typeof answer === "string" ? this.say(answer) : undefined;
    }
    let res: SubmitJudgmentResponse;
    try {
      res = await this.api.submitJudgment({ task: task.name, answer, wantNext: true, lookahead: this.lookahead });
      this.given = answer;
    } catch (err) {
      this.busy = false;
      if (err instanceof ConnectError && err.code === Code.FailedPrecondition) {
        this.say(`Time ran out on that task and it went back to the queue; here is another. (${err.rawMessage})`);
        return this.next();
      }
      if (err instanceof ConnectError && err.code === Code.InvalidArgument) return this.say(`The answer was refused: ${err.rawMessage}`);
      return this.say(`The answer was not saved: ${errorText(err)}. Press Enter to try again.`);
    }
    this.busy = false;
    this.submitted += 1;
    this.say(res.message);
    if (res.message || task.phase === TaskPhase.QUIZ || this.submitted % 10 === 0) void this.refreshRecord();
    if (res.quizFeedback) return this.feedback(res, task);
    if (res.next) this.show(res.next);
    else void this.next();
  }

  /** After a quiz answer: right or wrong and the expected answer, until the
   * worker presses Enter (Figure Eight's test-question feedback). */
  private feedback(res: SubmitJudgmentResponse, task: Task): void {
    const fb = res.quizFeedback!;
    this.current?.destroy?.();
    this.current = null;
    this.task = null;
    this.timer.textContent = "";
    preload(res.next?.task, this.info.mediaType); // fetched while the worker reads the feedback
    this.pendingNext = res.next ?? { $typeName: "labelwire.v1.NextTaskResponse", status: res.status, message: "", retryAfter: undefined, task: undefined };
    clear(this.stage);
    const cont = h("button", { type: "button", class: "primary", onclick: () => void this.submit() }, "Continue ", kbd("Enter"));
    append(
      this.stage,
      h("div", { class: `feedback ${fb.correct ? "right" : "wrong"}`, role: "alert" },
        h("h2", {}, fb.correct ? "Right!" : "Not quite."),
        h("p", {}, "Your answer: ", h("strong", {}, describe(this.given))),
        h("p", {}, "The expected answer: ", h("strong", {}, describe(fb.expectedAnswer))),
        fb.explanation ? h("p", { class: "explanation" }, h("strong", {}, "Why: "), fb.explanation) : null,
        task.payload.case === "text" ? h("blockquote", {}, task.payload.value) : null,
        res.message ? h("p", {}, res.message) : null,
      ),
      h("div", { class: "actions" }, cont,
        h("button", { type: "button", onclick: () => this.comment() }, "Comment ", kbd("m"))),
    );
    cont.focus();
  }

  private waiting(title: string, message: string, seconds: number): void {
    this.phase.textContent = "";
    this.timer.textContent = "";
    clear(this.stage);
    let left = seconds;
    const count = h("span", {}, String(left));
    append(this.stage, h("div", { class: "empty" }, h("h2", {}, title), message ? h("p", {}, message) : null,
      h("p", {}, "Checking again in ", count, " s.")));
    const step = (): void => {
      left -= 1;
      count.textContent = String(Math.max(left, 0));
      if (left <= 0) void this.next();
      else this.retryTimer = window.setTimeout(step, 1000);
    };
    this.retryTimer = window.setTimeout(step, 1000);
  }

  private final(title: string, message: string): void {
    this.phase.textContent = "";
    this.timer.textContent = "";
    clear(this.stage);
    append(this.stage, h("div", { class: "empty" }, h("h2", {}, title), message ? h("p", {}, message) : null));
    void this.refreshRecord();
  }

  // ---- the lease

  private tick(): void {
    if (!this.task) return;
    const left = Math.max(0, this.deadline - Date.now());
    const s = Math.ceil(left / 1000);
    this.timer.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} left`;
    this.timer.classList.toggle("low", left < 30_000);
    const active = Date.now() - this.lastActive < 60_000;
    if (active && left < this.limitMs / 3 && !this.extending) void this.extend(this.task);
  }

  private async extend(task: Task): Promise<void> {
    this.extending = true;
    try {
      const res = await this.api.extendLease({ task: task.name });
      if (this.task === task && res.leaseExpireTime) this.deadline = Date.now() + Math.min(this.limitMs, timestampMs(res.leaseExpireTime) - Date.now());
    } catch {
      /* an expired lease shows at submit */
    } finally {
      this.extending = false;
    }
  }

  // ---- skip, stop, record

  private skip(): void {
    const task = this.task;
    if (!task) return;
    this.panels.askText("Skip this task", "skip-reason", "Why? (the job's owner reads this)", 1000, 3, "Skip task", (reason) => {
      void (async () => {
        try {
          await this.api.declineTask({ task: task.name, reason });
          this.say("Skipped.");
        } catch (err) {
          this.say(`The skip was not saved: ${errorText(err)}`);
        }
        void this.next();
      })();
    });
  }

  /** A comment on the task for the job's owner (Ground Truth's and Figure
   * Eight's "contact the requester"); the task stays on screen. */
  private comment(): void {
    const task = this.commentable;
    if (!task) return;
    this.panels.askText("Comment to the job's owner", "comment-text", "Your comment on this task (at most 2,000 characters)", 2000, 4, "Send comment", (text) => {
      if (!text.trim()) return false;
      this.say("Sending the comment…");
      this.api.commentOnTask({ task: task.name, text }).then(
        () => this.say("Comment sent to the job's owner."),
        (err: unknown) => this.say(`The comment was not sent: ${errorText(err)}`),
      );
    });
  }

  private async stop(): Promise<void> {
    await this.giveBack(this.task, this.upcoming);
    this.upcoming = null;
    this.task = null;
    this.commentable = null;
    this.current = null;
    window.clearTimeout(this.retryTimer);
    this.timer.textContent = "";
    clear(this.stage);
    append(this.stage, h("div", { class: "empty" }, h("h2", {}, "Stopped"), h("p", {}, "Your task went back to the queue."),
      h("button", { type: "button", class: "primary", onclick: () => void this.next() }, "Continue working")));
  }

  private signOut(): void {
    void this.giveBack(this.task, this.upcoming);
    forgetToken();
    location.replace(location.pathname);
  }

  /** Gives leases back unanswered (an error leaves a lease to end by itself). */
  private async giveBack(...tasks: (Task | null | undefined)[]): Promise<void> {
    await Promise.all(tasks.map((t) => (t ? this.api.releaseTask({ task: t.name }).catch(() => undefined) : undefined)));
  }

  private async refreshRecord(): Promise<void> {
    let stats: WorkerStats | undefined;
    try {
      stats = (await this.api.getWorkerStats({ job: this.job })).stats;
    } catch {
      return;
    }
    if (!stats) return;
    const status = { [WorkerStatus.QUIZ]: "taking the quiz", [WorkerStatus.QUALIFIED]: "qualified", [WorkerStatus.FAILED_QUIZ]: "failed the quiz", [WorkerStatus.DISQUALIFIED]: "disqualified" }[stats.status as number] ?? "";
    clear(this.record);
    const row = (k: string, v: string): void => append(this.record, h("div", {}, h("dt", {}, k), h("dd", {}, v)));
    row("Worker", stats.displayName);
    row("Status", status);
    row("Judgments", String(stats.judgments));
    row("Quiz", `${stats.goldCorrect} of ${stats.goldAnswered} right` + (stats.quizRemaining ? `, ${stats.quizRemaining} to go` : ""));
  }

  // ---- panels

  private say(text: string): void {
    this.notice.textContent = text;
  }

  private onKey(e: KeyboardEvent): void {
    if (this.panels.active || e.metaKey) return;
    if (isTyping(e.target)) {
      // A number's input hands Enter to the page (submit) and Esc gives the keys back.
      const own = e.target instanceof HTMLElement && e.target.dataset.enterSubmits !== undefined;
      if (own && e.key === "Escape") (e.target as HTMLElement).blur();
      if (!own || e.key !== "Enter") return;
    }
    // Alt and Ctrl reach a task with the arrows only (Alt+arrows resize a box); every other chord is the browser's.
    if ((e.ctrlKey || e.altKey) && !e.key.startsWith("Arrow")) return;
    if (e.key === "?") this.panels.keys();
    else if (e.key === "i") this.panels.instructions(this.info, this.classes);
    else if (e.key === "s" && this.task) this.skip();
    else if (e.key === "m" && this.commentable) this.comment();
    else if (e.key === "Enter") {
      if (!this.current?.key?.(e)) void this.submit(); // a task may use Enter first (closing a polygon)
    }
    else if (this.current?.key?.(e)) {
      /* used by the task */
    } else return;
    e.preventDefault();
  }
}

if (token) void start(token);
else signIn();
