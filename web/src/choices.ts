import type { LabelClass, TaskConfig } from "./gen/labelwire/v1/job_pb";

/** The named choices a job's tasks offer: classes, entity types or key
 * points; none for number and custom jobs. Shared by both apps. */
export function choicesOf(config: TaskConfig | undefined): LabelClass[] {
  const c = config?.config;
  if (!c) return [];
  switch (c.case) {
    case "spans":
      return c.value.entityTypes;
    case "keypoints":
      return c.value.keypoints;
    case "custom":
    case "number":
    case undefined:
      return [];
    default:
      return c.value.classes;
  }
}
