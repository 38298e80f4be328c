import { create } from "@bufbuild/protobuf";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { type Answer, AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { h } from "../dom";
import { payload, safeUrl } from "./payload";
import type { TaskInput, TaskView } from "./types";

/** The frame's own document: served with a sandboxing policy of its own. */
const FRAME = "frame.html";
/** How long the frame has to hand over its answer. */
const REPLY_MS = 3000;
/** The app's keys a template may pass on from inside the frame. */
const FORWARDED = /^(Enter|Escape|\?|i|s|m|[1-9])$/;

type Reply = { answer?: JsonValue; error?: string };

/** The item as the template gets it (`labelwire.task`): one of `text`,
 * `data` (parsed JSON) or `source_ref` (an http(s) URL), never more. */
function item(input: TaskInput): Record<string, JsonValue> {
  const p = input.task.payload;
  if (p.case === "text") return { text: p.value };
  if (p.case === "json") {
    try {
      return { data: JSON.parse(p.value) as JsonValue };
    } catch {
      return { text: p.value };
    }
  }
  if (p.case === "sourceRef") return { source_ref: safeUrl(p.value) ?? "" };
  return {};
}

/** The first way `value` breaks the job's answer schema, or "" when it fits
 * (the server checks again; this only saves the worker a round trip). The
 * validator is loaded with the first custom task, not with the page. */
async function problem(schema: JsonObject | undefined, value: JsonObject): Promise<string> {
  if (!schema || !Object.keys(schema).length) return "";
  const named = typeof schema.$schema === "string" ? schema.$schema : "";
  const draft = /draft-04/.test(named) ? "4" : /draft-07/.test(named) ? "7" : /2019-09/.test(named) ? "2019-09" : "2020-12";
  const { Validator } = await import("@cfworker/json-schema");
  const result = new Validator(schema as never, draft, false).validate(value);
  if (result.valid) return "";
  const deepest = result.errors.reduce((a, b) => (b.instanceLocation.length > a.instanceLocation.length ? b : a));
  const where = deepest.instanceLocation.replace(/^#\/?/, "").replace(/\//g, ".");
  return `${where || "the answer"}: ${deepest.error}`;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A custom task: the job's template runs in a sandboxed frame (an opaque
 * origin: no cookies, storage or token of the app's, and a policy that lets
 * it call nowhere) and hands its answer over by postMessage; the answer is
 * checked against the job's JSON Schema before it is sent. Without a
 * template the worker writes the JSON object in a text box. A Ground Truth
 * template arrives rendered in the task (`renderedTemplate`). */
export function custom(input: TaskInput): TaskView {
  const config = input.job.taskConfig?.config;
  // A Ground Truth template comes rendered for this task by the server
  // (its s3:// references presigned for the lease); a plain one as it is.
  const template = input.task.renderedTemplate || (config?.case === "custom" ? config.value.template : "");
  const schema = config?.case === "custom" ? config.value.answerSchema : undefined;
  const check = async (value: JsonValue | undefined): Promise<Answer | string> => {
    if (!isObject(value)) return "The task's answer must be a JSON object.";
    const why = await problem(schema, value);
    if (why) return `The answer does not fit the job's schema: ${why}`;
    return create(AnswerSchema, { value: { case: "custom", value } });
  };

  if (!template) {
    const shown = payload(input.task, input.media);
    const box = h("textarea", { id: "custom-answer", rows: "6", spellcheck: "false", class: "json-answer" });
    return {
      root: h("div", { class: "task" }, shown.el, h("label", { for: "custom-answer" }, "Your answer (a JSON object)"), box),
      ready: shown.ready,
      answer() {
        let value: JsonValue;
        try {
          value = JSON.parse(box.value || "{}") as JsonValue;
        } catch (err) {
          return `The answer is not JSON: ${err instanceof Error ? err.message : String(err)}`;
        }
        return check(value);
      },
    };
  }

  const frame = h("iframe", { sandbox: "allow-scripts", src: FRAME, title: "Task", class: "custom-frame", referrerpolicy: "no-referrer" });
  const waiting = new Map<number, (reply: Reply) => void>();
  let asked = 0;
  let offered: Reply | null = null;
  let loaded!: () => void;
  const ready = new Promise<void>((resolve) => (loaded = resolve));
  const listen = new AbortController();
  window.addEventListener(
    "message",
    (e: MessageEvent) => {
      if (e.source !== frame.contentWindow || !isObject(e.data as JsonValue)) return;
      const d = e.data as { type?: string; id?: number; key?: string } & Reply;
      if (d.type === "labelwire:loaded") frame.contentWindow?.postMessage({ type: "labelwire:task", template, task: item(input) }, "*");
      else if (d.type === "labelwire:ready") loaded();
      else if (d.type === "labelwire:answer" && typeof d.id === "number") waiting.get(d.id)?.(d);
      else if (d.type === "labelwire:submit") {
        offered = { answer: d.answer };
        document.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
      } else if (d.type === "labelwire:key" && typeof d.key === "string" && FORWARDED.test(d.key))
        document.dispatchEvent(new KeyboardEvent("keydown", { key: d.key, bubbles: true, cancelable: true }));
    },
    { signal: listen.signal },
  );

  /** Asks the frame for its answer. */
  const collect = (): Promise<Reply> =>
    new Promise((resolve) => {
      const id = ++asked;
      const timer = window.setTimeout(() => done({ error: "the task did not hand over an answer" }), REPLY_MS);
      const done = (reply: Reply): void => {
        window.clearTimeout(timer);
        waiting.delete(id);
        resolve(reply);
      };
      waiting.set(id, done);
      frame.contentWindow?.postMessage({ type: "labelwire:collect", id }, "*");
    });

  return {
    root: h("div", { class: "task" }, frame),
    ready,
    async answer() {
      const reply = offered ?? (await collect());
      offered = null;
      if (reply.error) return `The task's page failed: ${reply.error}`;
      return check(reply.answer);
    },
    destroy() {
      listen.abort();
    },
  };
}
