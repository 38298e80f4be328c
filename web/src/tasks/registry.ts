import { choicesOf } from "../choices";
import type { LabelClass } from "../gen/labelwire/v1/job_pb";
import type { GetInstructionsResponse } from "../gen/labelwire/v1/worker_service_pb";
import { boxes } from "./boxes";
import { classification } from "./classification";
import { custom } from "./custom";
import { keypoints } from "./keypoints";
import { multiLabel } from "./multilabel";
import { number } from "./number";
import { segmentation } from "./segmentation";
import { spans } from "./spans";
import type { TaskInput, TaskView } from "./types";
import { verification } from "./verification";
import { verificationBatch } from "./verification_batch";

/** Every task type's keys, for the Keys panel. */
export const KEYS: [string, string][] = [
  ["1–9", "choose (or toggle) the n-th class; take the n-th key point in hand (key points)"],
  ["Enter", "submit the answer (also from a number's input)"],
  ["Arrows, Space", "move between a verification batch's items; mark the one in focus wrong (or back)"],
  ["Delete", "remove the box in hand (bounding boxes); take back the key point in hand (key points)"],
  ["Arrows", "move the box or key point in hand by 1 px, with Shift by 10 (bounding boxes, key points)"],
  ["Alt+arrows", "resize the box in hand: Right and Down grow it, Left and Up shrink it; Ctrl too (bounding boxes)"],
  ["+ - 0", "zoom in, zoom out, fit the image (bounding boxes; Ctrl+wheel zooms at the pointer)"],
  ["Space+drag", "pan the zoomed image (bounding boxes; or the scrollbars, or the Pan button)"],
  ["p", "place the key point in hand at the image's centre, to move with the arrows (key points)"],
  ["n", "mark the key point in hand not visible, or visible again (key points)"],
  ["b p e", "brush, polygon, eraser (segmentation)"],
  ["[ ]", "a smaller or larger brush (segmentation)"],
  ["c", "close the polygon (segmentation; Enter too)"],
  ["z", "undo the last stroke or polygon (segmentation)"],
  ["?", "this help"],
  ["i", "the instructions"],
  ["s", "skip the task (with a reason)"],
  ["m", "write a comment on the task to the job's owner"],
  ["Esc", "close a panel; let go of the box in hand (bounding boxes); leave a number's input"],
];

/** The named choices a job's tasks offer (classes, entity types, key points). */
export function classesOf(info: GetInstructionsResponse): LabelClass[] {
  return choicesOf(info.taskConfig);
}

/** The component that renders a task of the job's type. */
export function view(input: TaskInput): TaskView {
  switch (input.job.taskConfig?.config.case) {
    case "multiLabel":
      return multiLabel(input);
    case "verification":
      return input.task.batch.length ? verificationBatch(input) : verification(input);
    case "spans":
      return spans(input);
    case "boundingBox":
      return boxes(input);
    case "segmentation":
      return segmentation(input);
    case "custom":
      return custom(input);
    case "number":
      return number(input);
    case "keypoints":
      return keypoints(input);
    default:
      return classification(input);
  }
}
