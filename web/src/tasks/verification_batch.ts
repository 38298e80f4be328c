import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import type { BatchItem, Task } from "../gen/labelwire/v1/task_pb";
import { digit, h, kbd } from "../dom";
import { payload } from "./payload";
import type { TaskInput, TaskView } from "./types";

/** Columns of the grid: the arrow keys move by one cell or one row. */
const COLUMNS = 5;

function modelSays(item: BatchItem | undefined): string {
  const pre = item?.prelabel?.value;
  if (pre?.case === "classification") return pre.value.className;
  if (pre?.case === "multiLabel") return pre.value.classNames.join(", ");
  return "(no label)";
}

/** Bulk verification, as the bulk-QA seed ran it: the batch's items (all of
 * one model class) in a grid, every one confirmed until the worker marks it
 * wrong by a click, or by moving with the arrow keys and pressing Space (or
 * its number, for the first nine); Enter sends one verdict per item. */
export function verificationBatch(input: TaskInput): TaskView {
  const batch = input.task.batch;
  const shown = batch.map((item) => payload({ ...input.task, payload: item.payload } as Task, input.media));
  const wrong = batch.map(() => false);
  let cursor = 0;
  const cells = batch.map((item, i) => {
    const confidence = item.prelabelConfidence === undefined ? "" : `${Math.round(item.prelabelConfidence * 100)}%`;
    const cell = h(
      "button",
      {
        type: "button",
        class: "verify-cell",
        "aria-pressed": "false",
        "aria-label": `Item ${i + 1} is wrong`,
        tabindex: i === 0 ? "0" : "-1",
        onclick: (e: Event) => {
          if ((e as MouseEvent).detail === 0) return; // Space and Enter arrive as keys, handled below
          cursor = i;
          toggle(i);
        },
      },
      shown[i].el,
      h("span", { class: "cell-foot" }, i < 9 ? kbd(String(i + 1)) : null, h("span", { class: "confidence" }, confidence)),
    );
    return cell;
  });
  const status = h("p", { class: "hint", role: "status" });
  function count(): void {
    const marked = wrong.filter(Boolean).length;
    status.textContent = `${batch.length - marked} confirmed, ${marked} marked wrong`;
  }
  function toggle(i: number): void {
    wrong[i] = !wrong[i];
    cells[i].setAttribute("aria-pressed", String(wrong[i]));
    cells[i].classList.toggle("wrong", wrong[i]);
    count();
  }
  function move(to: number): void {
    cursor = Math.max(0, Math.min(batch.length - 1, to));
    cells.forEach((cell, i) => cell.setAttribute("tabindex", i === cursor ? "0" : "-1"));
    cells[cursor].focus();
  }
  count();
  const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -COLUMNS, ArrowDown: COLUMNS };
  return {
    root: h(
      "div",
      { class: "task" },
      h("p", { class: "model-says" }, "The model says: ", h("strong", {}, modelSays(batch[0])), ` (${batch.length} items)`),
      h("div", { class: "verify-grid", role: "group", "aria-label": "Items to verify" }, ...cells),
      h("p", { class: "hint" }, "Every item is confirmed unless you mark it wrong: click it, or move with the arrows and press Space. Enter sends."),
      status,
    ),
    ready: Promise.all(shown.map((s) => s.ready)).then(() => undefined),
    key(e) {
      if (e.key in moves) {
        move(cursor + moves[e.key]);
        return true;
      }
      if (e.key === " ") {
        toggle(cursor);
        return true;
      }
      const i = digit(e);
      if (i >= 0 && i < batch.length) {
        move(i);
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
