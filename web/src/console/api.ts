import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { bearerTransport } from "../api";
import { AdminService } from "../gen/labelwire/v1/admin_service_pb";
import { JobService } from "../gen/labelwire/v1/job_service_pb";
import { LabelService } from "../gen/labelwire/v1/label_service_pb";
import { QualityService } from "../gen/labelwire/v1/quality_service_pb";
import { TeamService } from "../gen/labelwire/v1/team_service_pb";

/** The public services the console calls, all with the one key. */
export interface Api {
  jobs: Client<typeof JobService>;
  labels: Client<typeof LabelService>;
  quality: Client<typeof QualityService>;
  teams: Client<typeof TeamService>;
  /** True for the operator's admin key: every client's jobs, read only. */
  admin: boolean;
}

const KEY = "labelwire.console-key";

/** The key lives in this tab's session storage only: never in a URL, gone
 * when the tab closes or on "Sign out". */
export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

/** Checks the key with a call every key may make (ListJobs), and whether it
 * is the admin key (the one key AdminService answers). */
export async function signIn(key: string): Promise<Api> {
  const transport = bearerTransport(key);
  const jobs = createClient(JobService, transport);
  await jobs.listJobs({ pageSize: 1 });
  let admin = false;
  try {
    await createClient(AdminService, transport).listApiKeys({ parent: "clients/-" });
    admin = true;
  } catch (err) {
    const code = ConnectError.from(err).code;
    if (code !== Code.PermissionDenied && code !== Code.Unauthenticated) throw err;
  }
  sessionStorage.setItem(KEY, key);
  return {
    jobs,
    labels: createClient(LabelService, transport),
    quality: createClient(QualityService, transport),
    teams: createClient(TeamService, transport),
    admin,
  };
}

export function message(err: unknown): string {
  const e = ConnectError.from(err);
  return e.code === Code.Unauthenticated ? "This key is not valid (or was revoked)." : e.rawMessage || e.message;
}
