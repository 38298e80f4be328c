/**
 * Transports for browsers (and any runtime with `fetch`): Connect and
 * gRPC-Web to the HTTP port (`--http-address`; the page's origin must be
 * allowed with `--http-cors-origin` unless the server serves the page).
 * `fetch` cannot stream a request body, so `Client.addItems` needs a Node
 * transport; everything else, the label stream included, works here.
 */
import type { Transport } from "@connectrpc/connect";
import {
  type ConnectTransportOptions,
  createConnectTransport,
  createGrpcWebTransport,
  type GrpcWebTransportOptions,
} from "@connectrpc/connect-web";

import { baseUrl } from "./address.js";

/** The Connect protocol (JSON unless `useBinaryFormat: true`). */
export function connectTransport(address: string, options: Omit<ConnectTransportOptions, "baseUrl"> = {}): Transport {
  return createConnectTransport({ ...options, baseUrl: baseUrl(address) });
}

/** gRPC-Web (binary). */
export function grpcWebTransport(address: string, options: Omit<GrpcWebTransportOptions, "baseUrl"> = {}): Transport {
  return createGrpcWebTransport({ ...options, baseUrl: baseUrl(address) });
}

export * from "./index.js";
