import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { digit, h, kbd } from "../dom";
import { payload } from "./payload";
import type { TaskInput, TaskView } from "./types";

/** Multi-label: the classes as checkboxes, 1–9 toggles the n-th; none
 * checked is an answer too (no class fits). */
export function multiLabel(input: TaskInput): TaskView {
  const shown = payload(input.task, input.media);
  const boxes = input.classes.map(() => h("input", { type: "checkbox" }));
  const rows = input.classes.map((c, i) =>
    h("label", { class: "choice" }, boxes[i], i < 9 ? kbd(String(i + 1)) : null, h("span", { class: "name" }, c.name)),
  );
  return {
    root: h("div", { class: "task" }, shown.el, h("fieldset", { class: "choices" }, h("legend", {}, "Every class that fits"), ...rows)),
    ready: shown.ready,
    key(e) {
      const i = digit(e);
      if (i >= 0 && i < boxes.length) {
        boxes[i].checked = !boxes[i].checked;
        return true;
      }
      return false;
    },
    answer() {
      const classNames = input.classes.filter((_, i) => boxes[i].checked).map((c) => c.name);
      return create(AnswerSchema, { value: { case: "multiLabel", value: { classNames } } });
    },
  };
}
