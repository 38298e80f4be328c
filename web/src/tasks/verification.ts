import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { digit, h, kbd } from "../dom";
import { payload } from "./payload";
import type { TaskInput, TaskView } from "./types";

/** Verification of a model's label: every item of the batch is confirmed
 * by default, its number (or a click) toggles it to wrong. A batch of one
 * until batches come. */
export function verification(input: TaskInput): TaskView {
  const shown = payload(input.task, input.media);
  const pre = input.task.prelabel?.value;
  const said = pre?.case === "classification" ? pre.value.className : pre?.case === "multiLabel" ? pre.value.classNames.join(", ") : "(no label)";
  const items = [shown.el];
  const wrong = items.map(() => false);
  const toggles = items.map((_, i) =>
    h("button", { type: "button", "aria-pressed": "false", class: "verdict", onclick: () => toggle(i) }, kbd(String(i + 1)), h("span", {}, `Item ${i + 1} is wrong`)),
  );
  const cards = items.map((el, i) => h("div", { class: "verify-card" }, el, toggles[i]));
  function toggle(i: number): void {
    wrong[i] = !wrong[i];
    toggles[i].setAttribute("aria-pressed", String(wrong[i]));
    cards[i].classList.toggle("wrong", wrong[i]);
  }
  return {
    root: h("div", { class: "task" }, h("p", { class: "model-says" }, "The model says: ", h("strong", {}, said)), ...cards,
      h("p", { class: "hint" }, "Every item is confirmed unless you mark it wrong.")),
    ready: shown.ready,
    key(e) {
      const i = digit(e);
      if (i >= 0 && i < items.length) {
        toggle(i);
        return true;
      }
      return false;
    },
    answer() {
      return create(AnswerSchema, { value: { case: "verification", value: { correct: wrong.map((w) => !w) } } });
    },
  };
}
