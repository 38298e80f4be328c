import { ConnectError } from "@connectrpc/connect";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/** One google.rpc.BadRequest field violation: the request field's path as
 * the server names it (`job.judgment_policy.judgments_per_item`,
 * `items[7].key`) and what to change. */
export interface FieldViolation {
  field: string;
  description: string;
}

const BAD_REQUEST = "google.rpc.BadRequest";

function violation(bytes: Uint8Array): FieldViolation {
  const reader = new BinaryReader(bytes);
  const out: FieldViolation = { field: "", description: "" };
  while (reader.pos < reader.len) {
    const [no, wire] = reader.tag();
    if (no === 1) out.field = reader.string();
    else if (no === 2) out.description = reader.string();
    else reader.skip(wire);
  }
  return out;
}

/** The field violations an error carries (the server attaches a BadRequest
 * to every INVALID_ARGUMENT that one field is to blame for). Decoded by hand
 * from the wire: two string fields are not worth bundling the googleapis
 * descriptors for. */
export function fieldViolations(err: unknown): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const detail of ConnectError.from(err).details) {
    if (!("type" in detail) || detail.type !== BAD_REQUEST) continue;
    const reader = new BinaryReader(detail.value);
    while (reader.pos < reader.len) {
      const [no, wire] = reader.tag();
      if (no === 1) out.push(violation(reader.bytes()));
      else reader.skip(wire);
    }
  }
  return out;
}
