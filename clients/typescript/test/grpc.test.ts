/** The SDK over the gRPC port, from Node, against a live `labelwire serve`. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  AdminClient,
  Client,
  Code,
  ConnectError,
  type ItemInit,
  JobState,
  type Label,
  type Transport,
  textItem,
  WorkerClient,
} from "../src/index.js";
import { grpcTransport } from "../src/node.js";
import { relay } from "./proxy.js";
import { clientFor, clientPath, drain, runningJob, sequences, work } from "./scenario.js";
import { type Served, serve } from "./server.js";

let served: Served;
let transport: Transport;

before(async () => {
  served = await serve();
  transport = grpcTransport(served.address);
});

after(async () => {
  await served.stop();
});

test("the client path runs over gRPC: job, items in batches, a worker, the label stream", async () => {
  await clientPath(transport, served.adminKey);
});

test("the label stream reconnects after a dropped connection and resumes after the last sequence", async () => {
  const key = await clientFor(transport, served.adminKey, "resume");
  const lw = new Client(transport, key);
  const job = await runningJob(lw, 3);
  const worker = new WorkerClient(transport, (await lw.createWorker(job.name, "ada")).token);
  assert.equal(await work(worker, 1), 1);

  const link = await relay(served.address);
  try {
    const through = new Client(grpcTransport(link.address), key);
    const seen: Label[] = [];
    const followed = drain(
      (async function* () {
        for await (const label of through.streamLabels(job.name, { retryDelayMs: 50 })) {
          seen.push(label);
          if (seen.length === 1) {
            link.cut();
            assert.equal(await work(worker), 2);
          }
          yield label;
        }
      })(),
    );
    assert.deepEqual(sequences(await followed), [1, 2, 3]);
    assert.equal(link.connections, 2);
  } finally {
    await link.close();
  }
});

test("without reconnect, a dropped connection ends the stream with an error and no second connection", async () => {
  const key = await clientFor(transport, served.adminKey, "no-resume");
  const lw = new Client(transport, key);
  const job = await runningJob(lw, 2);
  assert.equal(await work(new WorkerClient(transport, (await lw.createWorker(job.name, "ada")).token), 1), 1);
  const link = await relay(served.address);
  try {
    const stream = new Client(grpcTransport(link.address), key).streamLabels(job.name, { reconnect: false });
    const first = await stream.next();
    assert.equal(first.done, false);
    link.cut();
    await assert.rejects(stream.next(), ConnectError);
    assert.equal(link.connections, 1);
  } finally {
    await link.close();
  }
});

test("AddItems is all or nothing: a source that fails after the first batch adds nothing", async () => {
  const lw = new Client(transport, await clientFor(transport, served.adminKey, "uploads"));
  const job = await lw.createJob("Sentiment", { classes: ["pos", "neg"] });
  function* failing(): Generator<ItemInit> {
    yield textItem("a", "one");
    yield textItem("b", "two");
    throw new Error("the source broke");
  }
  await assert.rejects(lw.addItems(job.name, failing(), { perMessage: 1 }));
  assert.equal((await lw.getJob(job.name)).counters?.totalItems ?? 0n, 0n);
  const again = await lw.addItems(job.name, [textItem("a", "one"), textItem("b", "two")]);
  assert.equal(again.addedCount, 2n);
  assert.equal((await lw.addItems(job.name, [textItem("a", "one")])).duplicateCount, 1n);
});

test("a bad request is a ConnectError with the server's status and a message naming the field", async () => {
  const lw = new Client(transport, await clientFor(transport, served.adminKey, "bad"));
  await assert.rejects(lw.createJob("Sentiment", { classes: ["pos", "neg"], judgmentsPerItem: 12 }), (error: unknown) => {
    const failure = ConnectError.from(error);
    return failure.code === Code.InvalidArgument && failure.rawMessage.includes("judgments_per_item");
  });
  await assert.rejects(new Client(transport, "lwc_not-a-key").getJob("jobs/1"), (error: unknown) => {
    return ConnectError.from(error).code === Code.Unauthenticated;
  });
  assert.throws(() => new Client(transport, ""), TypeError);
  await assert.rejects(lw.addItems("jobs/1", [], { perMessage: 0 }), RangeError);
});

test("a worker extends, releases and declines tasks, is not offered those items again; the owner sees the reason", async () => {
  const lw = new Client(transport, await clientFor(transport, served.adminKey, "worker"));
  const job = await runningJob(lw, 3);
  const worker = new WorkerClient(transport, (await lw.createWorker(job.name, "ada")).token);
  assert.equal((await worker.instructions()).job, job.name);

  const leased = (await worker.nextTask()).task;
  assert.ok(leased?.leaseExpireTime);
  const shortened = await worker.extend(leased.name, 60); // from now: sooner than the task time limit
  assert.ok((shortened.leaseExpireTime?.seconds ?? 0n) < leased.leaseExpireTime.seconds);
  const renewed = await worker.extend(leased.name); // the whole limit again, from now
  assert.ok((renewed.leaseExpireTime?.seconds ?? 0n) >= leased.leaseExpireTime.seconds);
  await worker.release(leased.name);

  const again = (await worker.nextTask()).task;
  assert.ok(again);
  const comment = await worker.comment(again.name, "The text is cut off.");
  assert.equal(comment.task, again.name);
  await worker.decline(again.name, "cannot read the text");
  assert.deepEqual(
    (await lw.listTaskComments(job.name)).map((c) => [c.task, c.workerDisplayName, c.text]),
    [[again.name, "ada", "The text is cut off."]],
  );
  const quality = await lw.jobQuality(job.name);
  assert.equal(quality.declinedTasks, 1n);
  assert.deepEqual(
    quality.declineReasons.map((r) => [r.reason, r.count]),
    [["cannot read the text", 1n]],
  );
  assert.equal((await worker.stats()).judgments, 0n);
  assert.equal(await work(worker), 1);
  assert.equal((await worker.stats()).judgments, 1n);
});

test("the operator issues, lists, rotates and revokes API keys", async () => {
  const admin = new AdminClient(transport, served.adminKey);
  const key = await admin.createApiKey("rotating");
  const listed = (await admin.listApiKeys()).filter((k) => k.clientName === "rotating");
  assert.equal(listed.length, 1);
  const [apiKey] = listed;
  assert.ok(apiKey);
  const rotated = await admin.rotateApiKey(apiKey.name);
  assert.match(rotated.secret, /^lwc_/);
  const lw = new Client(transport, rotated.secret);
  const job = await lw.createJob("Sentiment", { classes: ["pos", "neg"] });
  assert.deepEqual(
    (await drainJobs(lw)).map((j) => j.name),
    [job.name],
  );
  await admin.revokeApiKey(apiKey.name);
  await assert.rejects(new Client(transport, key).getJob(job.name), (error: unknown) => {
    return ConnectError.from(error).code === Code.Unauthenticated;
  });
  assert.equal((await lw.getJob(job.name)).state, JobState.DRAFT);
});

async function drainJobs(lw: Client): Promise<{ name: string }[]> {
  return drain(lw.listJobs());
}
