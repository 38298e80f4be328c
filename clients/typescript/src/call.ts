/**
 * What every client class of the SDK shares: the bearer token and the
 * per-call settings, paging, and the few helpers their methods use.
 */
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";

/** What every call accepts: cancel it, or bound its time. */
export interface CallSettings {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export function seconds(value: number): ReturnType<typeof durationFromMs> {
  return durationFromMs(value * 1000);
}

export async function* pages<P, T>(
  fetchPage: (pageToken: string) => Promise<P & { nextPageToken: string }>,
  itemsOf: (page: P) => T[],
): AsyncGenerator<T> {
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    yield* itemsOf(page);
    pageToken = page.nextPageToken;
  } while (pageToken);
}

export async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new ConnectError(`the server sent no ${field}`, Code.Internal);
  return value;
}

/** What every client class shares: the bearer token on each call. */
export abstract class Authenticated {
  private readonly authorization: string;

  protected constructor(token: string) {
    if (!token) throw new TypeError("a token is required: a client API key, a worker token, an adapter key or the admin key");
    this.authorization = `Bearer ${token}`;
  }

  protected call(settings: CallSettings = {}): CallOptions {
    return {
      headers: { authorization: this.authorization },
      signal: settings.signal,
      timeoutMs: settings.timeoutMs,
    };
  }
}
