import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { WorkerService } from "./gen/labelwire/v1/worker_service_pb";

export type WorkerApi = Client<typeof WorkerService>;

/** Connect in binary to this origin, with the token on every call (the
 * worker app's and the console's). */
export function bearerTransport(token: string): Transport {
  const auth: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  return createConnectTransport({
    baseUrl: location.origin,
    useBinaryFormat: true,
    interceptors: [auth],
  });
}

/** The generated Connect-ES client, with the worker's token on every call. */
export function workerApi(token: string): WorkerApi {
  return createClient(WorkerService, bearerTransport(token));
}

const TOKEN_KEY = "labelwire.worker-token";

/** The sign-in link's token moves into this tab's session storage, and out
 * of the address bar and history, before anything else runs. */
export function takeToken(): string | null {
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (given !== null) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    if (given.trim()) sessionStorage.setItem(TOKEN_KEY, given.trim());
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function keepToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}
