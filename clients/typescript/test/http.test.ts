/**
 * The SDK over the HTTP port (`labelwire serve --http-address`): Connect and
 * gRPC-Web from Node, and the browser transports (fetch) a web page uses.
 * Skipped, saying why, while the server has no HTTP port.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client, WorkerClient, type Label } from "../src/index.js";
import * as node from "../src/node.js";
import * as web from "../src/web.js";
import { relay } from "./proxy.js";
import { clientFor, clientPath, drain, items, runningJob, sequences, work } from "./scenario.js";
import { hasHttpPort, LABELWIRE, type Served, serve } from "./server.js";

const skip = hasHttpPort()
  ? false
  : `${LABELWIRE} serve has no --http-address flag: the HTTP port (Connect, gRPC-Web) is not in this server yet`;

describe("over the HTTP port", { skip }, () => {
  let served: Served;
  let http: string;

  before(async () => {
    served = await serve();
    assert.ok(served.httpAddress, "the start-up line names no http_address");
    http = served.httpAddress;
  });

  after(async () => {
    await served.stop();
  });

  test("Connect JSON over HTTP/1.1 from Node carries the client path", async () => {
    await clientPath(node.connectTransport(http, { httpVersion: "1.1" }), served.adminKey);
  });

  test("Connect binary over HTTP/2 from Node carries the client path", async () => {
    await clientPath(node.connectTransport(http, { httpVersion: "2", useBinaryFormat: true }), served.adminKey);
  });

  test("gRPC-Web from Node carries the client path", async () => {
    await clientPath(node.grpcWebTransport(http), served.adminKey);
  });

  test("a browser's Connect transport (fetch, JSON) carries the client path, items in AddItemBatch calls", async () => {
    await clientPath(web.connectTransport(http), served.adminKey);
  });

  test("a browser's gRPC-Web transport (fetch) carries the client path, items in AddItemBatch calls", async () => {
    await clientPath(web.grpcWebTransport(http), served.adminKey);
  });

  test("over fetch, addItems sends AddItemBatch per batch and sums the counts; Node transports stream", async () => {
    const key = await clientFor(node.grpcTransport(served.address), served.adminKey, "batches");
    const browser = new Client(web.connectTransport(http), key);
    assert.equal(browser.streamsItems, false);
    assert.equal(new Client(node.connectTransport(http), key).streamsItems, true);
    assert.equal(new Client(web.connectTransport(http), key, { streamItems: true }).streamsItems, true);
    const job = await browser.createJob("Batches", { classes: ["a", "b"], quizSize: 0 });
    const first = await browser.addItems(job.name, items(5), { perMessage: 2 });
    const again = await browser.addItems(job.name, [...items(7)].reverse(), { perMessage: 3 });
    const none = await browser.addItems(job.name, []);
    assert.deepEqual([first.addedCount, first.duplicateCount], [5n, 0n]);
    assert.deepEqual([again.addedCount, again.duplicateCount], [2n, 5n]);
    assert.deepEqual([none.addedCount, none.duplicateCount], [0n, 0n]);
    assert.equal((await browser.getJob(job.name)).counters?.totalItems, 7n);
  });

  test("a browser's label stream reconnects after a dropped connection and resumes after the last sequence", async () => {
    const grpc = node.grpcTransport(served.address);
    const key = await clientFor(grpc, served.adminKey, "web-resume");
    const lw = new Client(grpc, key);
    const job = await runningJob(lw, 3);
    const worker = new WorkerClient(grpc, (await lw.createWorker(job.name, "ada")).token);
    assert.equal(await work(worker, 1), 1);
    const link = await relay(http);
    try {
      const through = new Client(web.connectTransport(link.address), key);
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
      assert.ok(link.connections >= 2, `the stream did not reconnect (${link.connections} connection)`);
    } finally {
      await link.close();
    }
  });
});
