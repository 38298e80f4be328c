import { create, fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { type Answer, AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { type Item, ItemSchema } from "../gen/labelwire/v1/item_pb";

/** One record of a picked file: its first line's number, and the row or why
 * it could not be read. */
export interface Row {
  line: number;
  row?: Record<string, JsonValue>;
  error?: string;
}

export interface Columns {
  key: string;
  gold: string;
  /** The job's task type, as the oneof case of TaskConfig. */
  taskType: string;
}

/** Reads a file chunk by chunk (a million-line manifest never sits in the
 * page whole), yielding each record and, with it, the bytes read so far. */
export async function* records(file: File, csv: boolean): AsyncGenerator<[Row, number]> {
  const reader = file.stream().getReader();
  const decoder = new TextDecoder();
  const parse = csv ? csvParser() : jsonlParser();
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    read += value.byteLength;
    for (const row of parse(decoder.decode(value, { stream: true }), false)) yield [row, read];
  }
  for (const row of parse(decoder.decode(), true)) yield [row, read];
}

type Parser = (text: string, end: boolean) => Row[];

function jsonlParser(): Parser {
  let rest = "";
  let line = 0;
  return (text, end) => {
    const lines = (rest + text).split("\n");
    rest = end ? "" : (lines.pop() ?? "");
    const out: Row[] = [];
    for (const raw of lines) {
      line += 1;
      const t = raw.trim();
      if (!t) continue;
      try {
        const value = JSON.parse(t) as JsonValue;
        if (value === null || typeof value !== "object" || Array.isArray(value)) out.push({ line, error: "is not a JSON object" });
        else out.push({ line, row: value });
      } catch (err) {
        out.push({ line, error: `is not valid JSON (${(err as Error).message})` });
      }
    }
    return out;
  };
}

/** RFC 4180: quoted fields may hold commas, doubled quotes and newlines;
 * the first record names the columns. */
function csvParser(): Parser {
  let header: string[] | null = null;
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let quote = false; // a quote seen inside a quoted field: an escape or the end
  let line = 1;
  let start = 1;
  const finish = (out: Row[]): void => {
    fields.push(field);
    field = "";
    const got = fields;
    fields = [];
    if (got.length === 1 && got[0] === "") return;
    if (header === null) {
      header = got.map((f) => f.trim());
      return;
    }
    if (got.length !== header.length) {
      out.push({ line: start, error: `has ${got.length} fields, the header ${header.length}` });
      return;
    }
    const row: Record<string, JsonValue> = {};
    header.forEach((name, i) => {
      row[name] = got[i];
    });
    out.push({ line: start, row });
  };
  return (text, end) => {
    const out: Row[] = [];
    for (const c of text) {
      if (quote) {
        quote = false;
        if (c === '"') {
          field += '"';
          continue;
        }
        quoted = false;
      }
      if (quoted) {
        if (c === '"') quote = true;
        else {
          if (c === "\n") line += 1;
          field += c;
        }
        continue;
      }
      if (c === '"' && field === "") quoted = true;
      else if (c === ",") {
        fields.push(field);
        field = "";
      } else if (c === "\n") {
        if (field.endsWith("\r")) field = field.slice(0, -1);
        finish(out);
        line += 1;
        start = line;
      } else field += c;
    }
    if (end && (field !== "" || fields.length > 0)) {
      if (quoted && !quote) out.push({ line: start, error: "has a quoted field that never ends" });
      else finish(out);
    }
    return out;
  };
}

const CASE_KEY: Record<string, string> = { classification: "classification", multiLabel: "multi_label" };

/** A gold answer or pre-label cell as an Answer: a JSON Answer as is, else a
 * class name (classification) or names joined by `|` (multi-label), as the
 * server's manifest import reads them. */
function answer(value: JsonValue, taskType: string, what: string): Answer {
  let v = value;
  if (typeof v === "string" && v.trim().startsWith("{")) {
    try {
      v = JSON.parse(v) as JsonValue;
    } catch {
      throw new Error(`the ${what} is not JSON`);
    }
  }
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    try {
      return fromJson(AnswerSchema, v);
    } catch (err) {
      throw new Error(`the ${what} is not an Answer (${(err as Error).message})`);
    }
  }
  const key = CASE_KEY[taskType];
  if (key === "classification") return create(AnswerSchema, { value: { case: "classification", value: { className: String(v) } } });
  if (key === "multi_label") {
    const names = Array.isArray(v) ? v.map(String) : String(v).split("|").filter(Boolean);
    return create(AnswerSchema, { value: { case: "multiLabel", value: { classNames: names } } });
  }
  throw new Error(`a ${taskType} ${what} must be a JSON Answer`);
}

/** A manifest row as an item, the way ImportManifest reads one: `source`
 * (text) or `source-ref` (a URI), the key column, the gold column, an
 * optional `prelabel` and `prelabel_confidence`; every other column is
 * metadata. Throws with what is wrong with the row. */
export function toItem(row: Record<string, JsonValue>, line: number, columns: Columns): Item {
  const rest: JsonObject = { ...row };
  const item = create(ItemSchema, {});
  const ref = rest["source-ref"];
  if (ref !== undefined && ref !== null && ref !== "") {
    item.payload = { case: "sourceRef", value: String(ref) };
    delete rest["source-ref"];
  } else if (rest.source !== undefined && rest.source !== null) {
    item.payload = { case: "text", value: String(rest.source) };
    delete rest.source;
  } else throw new Error("has neither source nor source-ref");
  if (columns.key) {
    const key = rest[columns.key];
    if (key === undefined || key === null || key === "") throw new Error(`has no "${columns.key}" (the key column)`);
    item.key = String(key);
  } else item.key = `line-${line}`;
  if (columns.gold && columns.gold in rest) {
    const gold = rest[columns.gold];
    delete rest[columns.gold];
    if (gold !== null && gold !== "") item.goldAnswer = answer(gold, columns.taskType, "gold answer");
  }
  if ("prelabel" in rest) {
    const pre = rest.prelabel;
    delete rest.prelabel;
    if (pre !== null && pre !== "") item.prelabel = answer(pre, columns.taskType, "prelabel");
  }
  if ("prelabel_confidence" in rest) {
    item.prelabelConfidence = Number(rest.prelabel_confidence);
    delete rest.prelabel_confidence;
  }
  if (Object.keys(rest).length) item.metadata = rest;
  return item;
}
