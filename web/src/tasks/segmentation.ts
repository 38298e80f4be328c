import { h } from "../dom";
import type { TaskInput, TaskView } from "./types";

export function segmentation(_input: TaskInput): TaskView {
  return {
    root: h("p", { class: "notice" }, "Segmentation tasks are not supported by this page yet."),
    answer: () => "Segmentation tasks are not supported by this page yet.",
  };
}
