/**
 * Transports for browsers (and any runtime with `fetch`): Connect and
 * gRPC-Web to the HTTP port (`--http-address`; the page's origin must be
 * allowed with `--http-cors-origin` unless the server serves the page).
 * `fetch` cannot stream a request body, so these transports are marked
 * (`withoutRequestStreams`) and `Client.addItems` sends AddItemBatch calls
 * over them; everything else, the label stream included, works as in Node.
 */
import type { Transport } from "@connectrpc/connect";
import {
  type ConnectTransportOptions,
  createConnectTransport,
  createGrpcWebTransport,
  type GrpcWebTransportOptions,
} from "@connectrpc/connect-web";

import { baseUrl } from "./address.js";
import { withoutRequestStreams } from "./client.js";

/** The Connect protocol (JSON unless `useBinaryFormat: true`). */
export function connectTransport(address: string, options: Omit<ConnectTransportOptions, "baseUrl"> = {}): Transport {
  return withoutRequestStreams(createConnectTransport({ ...options, baseUrl: baseUrl(address) }));
}

/** gRPC-Web (binary). */
export function grpcWebTransport(address: string, options: Omit<GrpcWebTransportOptions, "baseUrl"> = {}): Transport {
  return withoutRequestStreams(createGrpcWebTransport({ ...options, baseUrl: baseUrl(address) }));
}

export * from "./index.js";
