/** What a new user copies works: the README's example, as written, against a live server. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { AdminClient } from "../src/index.js";
import { grpcTransport } from "../src/node.js";
import { type Served, serve } from "./server.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));
// Inside the package, so that `@labelwire/client/node` resolves to the built files by name.
const EXAMPLE = fileURLToPath(new URL("./readme-example.mjs", import.meta.url));

let served: Served;

before(async () => {
  served = await serve();
});

after(async () => {
  rmSync(EXAMPLE, { force: true });
  await served.stop();
});

test("the README's example runs to the end and prints one label per item", async () => {
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(readFileSync(README, "utf8"));
  assert.ok(block?.[1], "README.md has no ```ts block");
  writeFileSync(EXAMPLE, block[1]);
  const apiKey = await new AdminClient(grpcTransport(served.address), served.adminKey).createApiKey("readme");
  const { stdout } = await promisify(execFile)(process.execPath, [EXAMPLE], {
    env: { ...process.env, LABELWIRE_ADDRESS: served.address, LABELWIRE_API_KEY: apiKey },
    timeout: 60_000,
  });
  const lines = stdout.trim().split("\n").map((line) => line.split(" "));
  assert.deepEqual(lines.map(([sequence]) => sequence), ["1", "2"]);
  assert.deepEqual(lines.map(([, key, value]) => `${key ?? ""}=${value ?? ""}`).sort(), ["r1=positive", "r2=negative"]);
  assert.ok(lines.every(([, , , confidence]) => Number(confidence) > 0.5 && Number(confidence) <= 1));
});
