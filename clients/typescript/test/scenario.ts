/** The client path every transport must carry, and the small builders the tests share. */
import assert from "node:assert/strict";

import type { Transport } from "@connectrpc/connect";

import {
  AdminClient,
  classification,
  Client,
  type Job,
  JobState,
  type Label,
  textItem,
  WorkerClient,
} from "../src/index.js";

export const CLASSES = ["pos", "neg", "neutral"] as const;
const STREAM_MS = 30_000;

/** Item `i<n>` carries its true class in its text, so a test worker can answer right. */
export function items(count: number): ReturnType<typeof textItem>[] {
  return Array.from({ length: count }, (_, n) => textItem(`i${n}`, `truth:${CLASSES[n % 3] ?? ""}`));
}

export function truthOf(key: string): string {
  return CLASSES[Number(key.slice(1)) % 3] ?? "";
}

export async function clientFor(transport: Transport, adminKey: string, name: string): Promise<string> {
  return new AdminClient(transport, adminKey).createApiKey(name);
}

/** Answers tasks right until none is left or `limit` is reached; how many it submitted. */
export async function work(worker: WorkerClient, limit = 1000): Promise<number> {
  let done = 0;
  while (done < limit) {
    const { task } = await worker.nextTask();
    if (!task) return done;
    const text = task.payload.case === "text" ? task.payload.value : "";
    await worker.submit(task.name, classification(text.split(":")[1] ?? ""), { timeSpentSeconds: 1.5 });
    done += 1;
  }
  return done;
}

/** Every message of a stream that should end; one still open after 30 s fails the test instead of hanging it. */
export async function drain<T>(stream: AsyncIterable<T>, ms = STREAM_MS): Promise<T[]> {
  const out: T[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(); }, ms);
  const ended = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => { reject(new Error(`the stream did not end within ${ms / 1000} s`)); });
  });
  try {
    await Promise.race([
      (async () => {
        for await (const message of stream) out.push(message);
      })(),
      ended,
    ]);
  } finally {
    clearTimeout(timer);
  }
  return out;
}

export async function runningJob(lw: Client, count: number, uploads: Client = lw): Promise<Job> {
  const job = await lw.createJob("Sentiment", { classes: [...CLASSES], judgmentsPerItem: 1, quizSize: 0, hiddenGoldShare: 0 });
  await uploads.addItems(job.name, items(count));
  return lw.startJob(job.name);
}

export function sequences(labels: Label[]): number[] {
  return labels.map((label) => Number(label.sequence));
}

/**
 * Create a job, add items in batches, start it, have a worker answer, read the
 * labels there are, then follow the rest from the last sequence to the end.
 * Over a browser transport the items go up in AddItemBatch calls.
 */
export async function clientPath(transport: Transport, adminKey: string): Promise<void> {
  const key = await clientFor(transport, adminKey, "client-path");
  const lw = new Client(transport, key);
  const draft = await lw.createJob("Sentiment", { classes: { pos: "liked it", neg: "did not", neutral: "neither" }, judgmentsPerItem: 1, quizSize: 0, hiddenGoldShare: 0 });
  assert.equal(draft.state, JobState.DRAFT);
  assert.match(draft.name, /^jobs\/\d+$/);

  const progress: [number, number | undefined][] = [];
  const added = await lw.addItems(draft.name, items(5), {
    perMessage: 2,
    onProgress: (sent, total) => progress.push([sent, total]),
  });
  assert.deepEqual([added.addedCount, added.duplicateCount], [5n, 0n]);
  assert.deepEqual(progress, [[2, 5], [4, 5], [5, 5]]);
  assert.equal((await lw.startJob(draft.name)).state, JobState.RUNNING);

  const { token } = await lw.createWorker(draft.name, "ada");
  const worker = new WorkerClient(transport, token);
  assert.equal(await work(worker, 2), 2);
  const first = await drain(lw.streamLabels(draft.name, { snapshotOnly: true }));
  assert.deepEqual(sequences(first), [1, 2]);

  assert.equal(await work(worker), 3);
  const last = first.at(-1)?.sequence ?? 0n;
  const rest = await drain(lw.streamLabels(draft.name, { afterSequence: last }));
  assert.deepEqual(sequences(rest), [3, 4, 5]);

  const labels = [...first, ...rest];
  assert.deepEqual(labels.map((l) => l.itemKey).sort(), ["i0", "i1", "i2", "i3", "i4"]);
  for (const label of labels) {
    assert.equal(label.value?.value.case, "classification");
    assert.equal(label.value.value.value.className, truthOf(label.itemKey), label.itemKey);
  }
  const done = await lw.getJob(draft.name);
  assert.equal(done.state, JobState.COMPLETED);
  assert.equal(done.counters?.labeledItems, 5n);
}
