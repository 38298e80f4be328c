/**
 * A workforce adapter in its own process, written with @labelwire/client: the
 * "vendor" of the workforce conformance suite (tests/conformance), whose
 * outside service is three workers who read the truth off each item's text.
 *
 *   LABELWIRE_ADDRESS=127.0.0.1:50051 LABELWIRE_ADAPTER_KEY=lwf_... node dist/examples/adapter/vendor.js
 *
 * It polls for the running jobs that name it, resumes the items it claimed
 * before a restart, claims more, and reports one judgment per call, each with
 * an id of its own (`{item}/{worker}`), so after a crash it simply reports
 * everything again and labelwire records nothing twice. It prints
 * `cancelled jobs/N` when it sees a job of its cancelled.
 *
 * Settings (environment): LABELWIRE_ADDRESS, LABELWIRE_ADAPTER_KEY,
 * LABELWIRE_ADAPTER_TRANSPORT (`grpc`, the default, to the gRPC port, or
 * `connect` to the HTTP port), LABELWIRE_ADAPTER_PAUSE_MS (a pause after each
 * report, to stand in for a slow outside service).
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

import {
  type AdapterItem,
  classification,
  connectTransport,
  grpcTransport,
  type Job,
  JobState,
  WorkforceAdapterClient,
} from "../../src/node.js";

const POLL_MS = 50;
const CLAIM_BATCH = 50;

function setting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
}

const address = setting("LABELWIRE_ADDRESS");
const transport =
  setting("LABELWIRE_ADAPTER_TRANSPORT", "grpc") === "connect"
    ? connectTransport(address, { httpVersion: "1.1" })
    : grpcTransport(address);
const adapter = new WorkforceAdapterClient(transport, setting("LABELWIRE_ADAPTER_KEY"));
const pauseMs = Number(setting("LABELWIRE_ADAPTER_PAUSE_MS", "0"));
const seenCancelled = new Set<string>();

/** The outside service: worker `v{n}` answers with the class the item's text names. */
async function judge(job: Job, item: AdapterItem): Promise<void> {
  const workers = job.judgmentPolicy?.judgmentsPerItem ?? 1;
  for (let n = 0; n < workers; n++) {
    const judgment = {
      judgmentId: `${item.key}/v${n}`,
      itemKey: item.key,
      workerId: `v${n}`,
      answer: classification(item.payload),
      timeSpentSeconds: 3,
    };
    const outcome = await adapter.recordJudgments(job.name, [judgment]);
    if (n === 0) {
      // A report repeated (a retry after a lost response) is not counted twice.
      await adapter.recordJudgments(job.name, [judgment]);
    }
    for (const rejected of outcome.rejected) console.error(`${job.name} ${rejected.judgmentId}: ${rejected.reason}`);
    if (pauseMs) await sleep(pauseMs);
  }
  // An answer naming no class of the job is rejected, not recorded.
  await adapter.recordJudgments(job.name, [
    { judgmentId: `${item.key}/v9`, itemKey: item.key, workerId: "v9", answer: classification("zzz") },
  ]);
}

async function serve(job: Job): Promise<void> {
  const resumed = await adapter.claimedItems(job.name);
  const claimed = await adapter.claimItems(job.name, randomUUID(), CLAIM_BATCH);
  for (const item of [...resumed, ...claimed]) await judge(job, item);
}

async function round(): Promise<void> {
  for (const job of await adapter.listJobs([JobState.RUNNING, JobState.CANCELLED])) {
    if (job.state === JobState.CANCELLED) {
      if (!seenCancelled.has(job.name)) console.log(`cancelled ${job.name}`);
      seenCancelled.add(job.name);
    } else {
      await serve(job);
    }
  }
}

const stop = new AbortController();
process.on("SIGTERM", () => {
  stop.abort();
});
const name = await adapter.attach(["classification"]);
console.log(`${name} adapter attached`);
while (!stop.signal.aborted) {
  try {
    await round();
  } catch (failure) {
    // The server restarting, or a job ending under a claim: try again next round.
    console.error(`round failed: ${String(failure)}`);
  }
  await sleep(POLL_MS);
}
