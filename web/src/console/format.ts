import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type Job, JobState } from "../gen/labelwire/v1/job_pb";
import type { Label } from "../gen/labelwire/v1/label_pb";

const STATES: Record<JobState, string> = {
  [JobState.UNSPECIFIED]: "unknown",
  [JobState.DRAFT]: "draft",
  [JobState.RUNNING]: "running",
  [JobState.PAUSED]: "paused",
  [JobState.COMPLETED]: "completed",
  [JobState.CANCELLED]: "cancelled",
  [JobState.FAILED]: "failed",
};

export function stateName(state: JobState): string {
  return STATES[state] ?? "unknown";
}

/** `jobs/{id}` to `{id}`, the part the console's URLs carry. */
export function jobId(name: string): string {
  return name.replace(/^jobs\//, "");
}

/** Millionths of a dollar as dollars: cents, or four places under a cent. */
export function dollars(micros: bigint): string {
  const d = Number(micros) / 1e6;
  return `$${d !== 0 && Math.abs(d) < 0.01 ? d.toFixed(4) : d.toFixed(2)}`;
}

/** Spent against the budget, as an owner reads it: "$1.20 of $5.00". */
export function costText(job: Job): string {
  const spent = dollars(job.counters?.costMicros ?? 0n);
  return job.budgetMicros > 0n ? `${spent} of ${dollars(job.budgetMicros)}` : `${spent} (no budget)`;
}

export function progressText(job: Job): string {
  const c = job.counters;
  return `${c?.labeledItems ?? 0n} / ${c?.totalItems ?? 0n}`;
}

export function timeOf(label: Label): string {
  return label.createTime ? new Date(timestampMs(label.createTime)).toLocaleTimeString() : "";
}
