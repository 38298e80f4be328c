/**
 * The package as a user installs it: its export map resolves to the built
 * files, and the browser entry points load nothing Node-only.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const BUILT = fileURLToPath(new URL("../src/", import.meta.url));
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function load(specifier: string): Promise<Record<string, unknown>> {
  return (await import(specifier)) as Record<string, unknown>;
}

test("the package's entry points resolve by name and export the clients, builders and transports", async () => {
  const main = await load("@labelwire/client");
  for (const name of ["Client", "WorkerClient", "AdminClient", "textItem", "sourceItem", "classification", "JobService", "JobState", "ConnectError"]) {
    assert.ok(name in main, `@labelwire/client exports no ${name}`);
  }
  const node = await load("@labelwire/client/node");
  for (const name of ["grpcTransport", "connectTransport", "grpcWebTransport", "Client"]) {
    assert.ok(name in node, `@labelwire/client/node exports no ${name}`);
  }
  const web = await load("@labelwire/client/web");
  for (const name of ["connectTransport", "grpcWebTransport", "Client"]) {
    assert.ok(name in web, `@labelwire/client/web exports no ${name}`);
  }
});

/** Every module specifier that `entry` and the package's own modules it imports name, outside the package. */
function importsOf(entry: string): Set<string> {
  const seen = new Set<string>();
  const outside = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    for (const [, specifier = ""] of source.matchAll(/(?:import|export)[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
      if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier));
      else outside.add(specifier);
    }
  };
  visit(resolve(BUILT, entry));
  return outside;
}

test("the browser entry points import nothing Node-only", () => {
  for (const entry of ["index.js", "web.js"]) {
    const outside = [...importsOf(entry)];
    assert.ok(outside.includes("@connectrpc/connect"), `${entry}: the import scan found nothing`);
    const nodeOnly = outside.filter((s) => s.startsWith("node:") || s === "@connectrpc/connect-node");
    assert.deepEqual(nodeOnly, [], `${entry} imports Node-only modules`);
  }
  assert.ok(importsOf("node.js").has("@connectrpc/connect-node"));
});

test("npm pack ships the built entry points with their types, and no tests", async () => {
  // `npm test` has just built dist/ (what prepack would do), so the scripts are skipped here.
  const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: PACKAGE_ROOT,
  });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { files: { path: string }[] }[];
  const files = new Set(packed?.files.map((f) => f.path));
  for (const entry of ["index", "node", "web"]) {
    assert.ok(files.has(`dist/src/${entry}.js`) && files.has(`dist/src/${entry}.d.ts`), `no dist/src/${entry}`);
  }
  assert.ok(files.has("dist/src/gen/labelwire/v1/job_service_pb.js"));
  assert.ok(files.has("dist/browser/labelwire.js"), "no browser build (dist/browser/labelwire.js)");
  assert.ok(files.has("package.json") && files.has("README.md"));
  assert.deepEqual([...files].filter((f) => /^(dist\/test|test|node_modules)\//.test(f)), []);
});
