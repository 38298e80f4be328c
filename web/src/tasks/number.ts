import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { h, kbd } from "../dom";
import { payload } from "./payload";
import type { TaskInput, TaskView } from "./types";

/** A number: one input, focused when the task shows, with the job's bounds,
 * step and unit; Enter in it submits. The server checks the value again. */
export function number(input: TaskInput): TaskView {
  const shown = payload(input.task, input.media);
  const c = input.job.taskConfig?.config;
  const config = c?.case === "number" ? c.value : undefined;
  const unit = config?.unit ?? "";
  const limits: string[] = [];
  if (config?.minValue !== undefined) limits.push(`at least ${config.minValue}`);
  if (config?.maxValue !== undefined) limits.push(`at most ${config.maxValue}`);
  if (config?.step) limits.push(`in steps of ${config.step}`);
  const hint = limits.length ? `A number ${limits.join(", ")}${unit ? `, in ${unit}` : ""}.` : unit ? `A number, in ${unit}.` : "A number.";
  const field = h("input", {
    type: "number",
    id: "number-answer",
    inputmode: "decimal",
    autocomplete: "off",
    "aria-describedby": "number-hint",
    "data-enter-submits": "true",
    min: config?.minValue,
    max: config?.maxValue,
    step: config?.step ? config.step : "any",
  });
  const root = h("div", { class: "task" }, shown.el,
    h("div", { class: "number-answer" },
      h("label", { for: "number-answer" }, unit ? `Value (${unit})` : "Value"),
      field,
      unit ? h("span", { class: "unit", "aria-hidden": "true" }, unit) : null,
      h("p", { class: "hint", id: "number-hint" }, hint, " Press ", kbd("Enter"), " to submit.")));
  // Shown first, then focused: the hand goes straight to the digits.
  queueMicrotask(() => field.focus());
  return {
    root,
    ready: shown.ready,
    answer() {
      const text = field.value.trim();
      if (!text) return "Type a number first.";
      const value = Number(text);
      if (!Number.isFinite(value)) return `"${text}" is not a number.`;
      if (config?.minValue !== undefined && value < config.minValue) return `The value must be at least ${config.minValue}.`;
      if (config?.maxValue !== undefined && value > config.maxValue) return `The value must be at most ${config.maxValue}.`;
      return create(AnswerSchema, { value: { case: "number", value: { value } } });
    },
  };
}
