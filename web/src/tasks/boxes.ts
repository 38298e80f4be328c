import { h } from "../dom";
import type { TaskInput, TaskView } from "./types";

export function boxes(_input: TaskInput): TaskView {
  return {
    root: h("p", { class: "notice" }, "Bounding-box tasks are not supported by this page yet."),
    answer: () => "Bounding-box tasks are not supported by this page yet.",
  };
}
