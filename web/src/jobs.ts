import type { WorkerApi } from "./api";
import { append, h } from "./dom";
import { type WorkerJob, WorkerJobStatus } from "./gen/labelwire/v1/account_pb";
import { JobState } from "./gen/labelwire/v1/job_pb";

/** Every job an account may work on, all pages: a worker is in few teams,
 * and the list is read once per visit to it. */
export async function allJobs(api: WorkerApi): Promise<WorkerJob[]> {
  const jobs: WorkerJob[] = [];
  let pageToken = "";
  do {
    const page = await api.listWorkerJobs({ pageToken });
    jobs.push(...page.jobs);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return jobs;
}

const STATUS: Record<number, string> = {
  [WorkerJobStatus.NOT_STARTED]: "not started",
  [WorkerJobStatus.QUIZ]: "taking the quiz",
  [WorkerJobStatus.QUALIFIED]: "qualified",
  [WorkerJobStatus.FAILED_QUIZ]: "failed the quiz",
  [WorkerJobStatus.DISQUALIFIED]: "disqualified",
  [WorkerJobStatus.JOB_ENDED]: "job ended",
};

/** Why the worker cannot open a job, or "" when it can. */
function closed(job: WorkerJob): string {
  switch (job.status) {
    case WorkerJobStatus.FAILED_QUIZ:
      return "You did not pass this job's quiz.";
    case WorkerJobStatus.DISQUALIFIED:
      return "You can no longer work on this job.";
    case WorkerJobStatus.JOB_ENDED:
      return "This job has ended.";
  }
  return job.jobState === JobState.COMPLETED || job.jobState === JobState.CANCELLED || job.jobState === JobState.FAILED ? "This job has ended." : "";
}

export function pay(micros: bigint): string {
  if (micros <= 0n) return "unpaid";
  const dollars = Number(micros) / 1e6;
  return `${new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(dollars)} a judgment`;
}

function minutes(job: WorkerJob): string {
  const s = job.taskTimeLimit ? Number(job.taskTimeLimit.seconds) : 0;
  return s > 0 ? `${Math.round(s / 60) || 1} min a task` : "";
}

/** One card per job: its name, short instructions, pay and where the
 * worker stands; the button opens it. */
export function jobCards(jobs: WorkerJob[], open: (job: WorkerJob) => void): HTMLElement {
  if (!jobs.length)
    return h("div", { class: "empty" }, h("h2", {}, "No jobs for you right now"),
      h("p", {}, "Jobs appear here when their owner names one of your teams."));
  const list = h("ul", { class: "jobs", "aria-label": "Your jobs" });
  for (const job of jobs) {
    const why = closed(job);
    const paused = job.jobState === JobState.PAUSED;
    const stats = job.worker;
    append(list, h("li", { class: "job-card" },
      h("h2", {}, job.displayName || job.job),
      job.shortInstructions ? h("p", { class: "short" }, job.shortInstructions) : null,
      h("dl", { class: "record" },
        h("div", {}, h("dt", {}, "Pay"), h("dd", {}, pay(job.pricePerJudgmentMicros))),
        h("div", {}, h("dt", {}, "Status"), h("dd", { class: "status" }, STATUS[job.status] ?? "")),
        stats ? h("div", {}, h("dt", {}, "Judgments"), h("dd", {}, String(stats.judgments))) : null,
        minutes(job) ? h("div", {}, h("dt", {}, "Time"), h("dd", {}, minutes(job))) : null,
        paused ? h("div", {}, h("dt", {}, "Job"), h("dd", {}, "paused")) : null),
      why ? h("p", { class: "hint" }, why)
        : h("button", { type: "button", class: "primary", "aria-label": `Work on ${job.displayName || job.job}`, onclick: () => open(job) },
          job.status === WorkerJobStatus.NOT_STARTED ? "Start" : "Continue")));
  }
  return list;
}
