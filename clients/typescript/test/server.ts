/**
 * `labelwire serve` as an operator runs it, for the tests: a child process on
 * an ephemeral port with a fresh SQLite file, JSON logs whose start-up line
 * says where it listens, and the admin key it made beside the database.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The server under test: `LABELWIRE_BIN`, else the repository's .venv (as the README installs it). */
export const LABELWIRE = process.env.LABELWIRE_BIN ?? resolve(PACKAGE_ROOT, "../../.venv/bin/labelwire");
const START_MS = 30_000;

let help: string | undefined;

/** Whether this server has the HTTP port (Connect and gRPC-Web): `--http-address` in `labelwire serve --help`. */
export function hasHttpPort(): boolean {
  help ??= execFileSync(LABELWIRE, ["serve", "--help"], { encoding: "utf8" });
  return help.includes("--http-address");
}

export interface Served {
  /** HOST:PORT of the gRPC port. */
  address: string;
  /** HOST:PORT of the HTTP port, when the server has one. */
  httpAddress: string | undefined;
  adminKey: string;
  stop(): Promise<void>;
}

export async function serve(): Promise<Served> {
  const folder = mkdtempSync(join(tmpdir(), "labelwire-ts-"));
  const database = join(folder, "labelwire.db");
  const flags = ["--log-format", "json", "--address", "127.0.0.1:0", "--database", database];
  if (hasHttpPort()) flags.push("--http-address", "127.0.0.1:0");
  const child = spawn(LABELWIRE, ["serve", ...flags], { cwd: folder, stdio: ["ignore", "ignore", "pipe"] });
  const log: string[] = [];
  try {
    const start = await startLine(child, log);
    const stop = async (): Promise<void> => {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(folder, { recursive: true, force: true });
    };
    return {
      address: String(start.address),
      httpAddress: typeof start.http_address === "string" ? start.http_address : undefined,
      adminKey: readFileSync(`${database}.admin-key`, "utf8").trim(),
      stop,
    };
  } catch (error) {
    child.kill("SIGKILL");
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

function startLine(child: ChildProcess, log: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolveStart, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`labelwire serve ${why}:\n${log.join("\n")}`));
    };
    const timer = setTimeout(() => { fail(`did not start within ${START_MS / 1000} s`); }, START_MS);
    child.once("exit", (code) => { fail(`exited with ${String(code)} before it started`); });
    child.once("error", (error) => { fail(`could not run ${LABELWIRE}: ${error.message}`); });
    if (!child.stderr) throw new Error("stderr is not piped");
    createInterface({ input: child.stderr }).on("line", (line) => {
      log.push(line);
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (record.event === "start") {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolveStart(record);
      }
    });
  });
}
