/**
 * Transports for Node: gRPC (the gRPC port, HTTP/2), and Connect or gRPC-Web
 * (the HTTP port). All three stream item uploads, which a browser cannot.
 */
import type { Transport } from "@connectrpc/connect";
import {
  type ConnectTransportOptions,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  type GrpcTransportOptions,
  type GrpcWebTransportOptions,
} from "@connectrpc/connect-node";

import { baseUrl } from "./address.js";

type Without<T> = T extends unknown ? Omit<T, "baseUrl"> : never;

/** gRPC over HTTP/2 to `labelwire serve --address` (`127.0.0.1:50051`, or `https://host:port` for TLS). */
export function grpcTransport(address: string, options: Omit<GrpcTransportOptions, "baseUrl"> = {}): Transport {
  return createGrpcTransport({ ...options, baseUrl: baseUrl(address) });
}

/** The Connect protocol to the HTTP port (`--http-address`); HTTP/1.1 unless `httpVersion: "2"`. */
export function connectTransport(
  address: string,
  options: Without<ConnectTransportOptions> = { httpVersion: "1.1" },
): Transport {
  return createConnectTransport({ ...options, baseUrl: baseUrl(address) });
}

/** gRPC-Web to the HTTP port; HTTP/1.1 unless `httpVersion: "2"`. */
export function grpcWebTransport(
  address: string,
  options: Without<GrpcWebTransportOptions> = { httpVersion: "1.1" },
): Transport {
  return createGrpcWebTransport({ ...options, baseUrl: baseUrl(address) });
}

export * from "./index.js";
