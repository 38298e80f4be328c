/**
 * @labelwire/client: the labelwire API for TypeScript, in Node and in
 * browsers. Pick a transport from `@labelwire/client/node` (gRPC, Connect,
 * gRPC-Web) or `@labelwire/client/web` (Connect, gRPC-Web) and hand it to
 * `Client`, `WorkerClient` or `AdminClient`. The generated messages, enums
 * and service descriptors are exported here too.
 */
export * from "./adapter.js";
export * from "./client.js";
export * from "./items.js";
export * from "./gen/labelwire/v1/adapter_service_pb.js";
export * from "./gen/labelwire/v1/admin_service_pb.js";
export * from "./gen/labelwire/v1/answer_pb.js";
export * from "./gen/labelwire/v1/item_pb.js";
export * from "./gen/labelwire/v1/job_pb.js";
export * from "./gen/labelwire/v1/job_service_pb.js";
export * from "./gen/labelwire/v1/label_pb.js";
export * from "./gen/labelwire/v1/label_service_pb.js";
export * from "./gen/labelwire/v1/quality_service_pb.js";
export * from "./gen/labelwire/v1/task_pb.js";
export * from "./gen/labelwire/v1/worker_service_pb.js";
export { Code, ConnectError, type Transport } from "@connectrpc/connect";
