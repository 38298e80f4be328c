import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { digit, h, kbd } from "../dom";
import { payload } from "./payload";
import type { TaskInput, TaskView } from "./types";

/** Single-label: the classes as radio buttons, 1–9 picks the n-th. */
export function classification(input: TaskInput): TaskView {
  const shown = payload(input.task, input.media);
  let chosen = -1;
  const buttons = input.classes.map((c, i) =>
    h(
      "button",
      { type: "button", role: "radio", "aria-checked": "false", class: "choice", onclick: () => pick(i) },
      i < 9 ? kbd(String(i + 1)) : null,
      h("span", { class: "name" }, c.name),
      c.description ? h("small", { "aria-hidden": "true" }, c.description) : null,
    ),
  );
  function pick(i: number): void {
    chosen = i;
    buttons.forEach((b, j) => {
      b.setAttribute("aria-checked", String(j === i));
      b.tabIndex = j === i ? 0 : -1;
    });
  }
  buttons.forEach((b, j) => (b.tabIndex = j === 0 ? 0 : -1));
  const group = h("div", { role: "radiogroup", "aria-label": "Class", class: "choices" }, ...buttons);
  return {
    root: h("div", { class: "task" }, shown.el, group),
    ready: shown.ready,
    key(e) {
      const i = digit(e);
      if (i >= 0 && i < buttons.length) {
        pick(i);
        return true;
      }
      return false;
    },
    answer() {
      if (chosen < 0) return "Choose a class first (keys 1–9).";
      return create(AnswerSchema, {
        value: { case: "classification", value: { className: input.classes[chosen].name } },
      });
    },
  };
}
