import { h } from "../dom";
import type { TaskInput, TaskView } from "./types";

export function custom(_input: TaskInput): TaskView {
  return {
    root: h("p", { class: "notice" }, "Custom tasks are not supported by this page yet."),
    answer: () => "Custom tasks are not supported by this page yet.",
  };
}
