import type { Answer, } from "../gen/labelwire/v1/answer_pb";
import type { LabelClass, MediaType } from "../gen/labelwire/v1/job_pb";
import type { Task } from "../gen/labelwire/v1/task_pb";
import type { GetInstructionsResponse } from "../gen/labelwire/v1/worker_service_pb";

/** One task type's component: it renders one task and turns the worker's
 * choices into an answer. The page owns the keys it does not consume. */
export interface TaskView {
  root: HTMLElement;
  /** Handles a key press; true when the key was used. */
  key?(e: KeyboardEvent): boolean;
  /** The answer, or a sentence saying what is still missing (a promise of
   * either when making it takes a moment: a mask's PNG, a frame's reply). */
  answer(): Answer | string | Promise<Answer | string>;
  /** Resolves when the task's media are ready to show. */
  ready?: Promise<void>;
  destroy?(): void;
}

export interface TaskInput {
  job: GetInstructionsResponse;
  task: Task;
  classes: LabelClass[];
  media: MediaType;
}
