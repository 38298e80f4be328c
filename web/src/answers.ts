import type { Answer } from "./gen/labelwire/v1/answer_pb";

/** An answer in a few words, as text (the worker app's quiz feedback and the
 * console's label feed say it the same way). */
export function describe(answer: Answer | undefined): string {
  const v = answer?.value;
  switch (v?.case) {
    case "classification":
      return v.value.className;
    case "multiLabel":
      return v.value.classNames.length ? v.value.classNames.join(", ") : "none of the classes";
    case "verification":
      return v.value.correct.map((c) => (c ? "right" : "wrong")).join(", ");
    case "spans":
      return v.value.spans.map((s) => `${s.entityType} ${s.start}–${s.end}`).join("; ") || "no spans";
    case "boundingBoxes":
      return `${v.value.boxes.length} box(es): ${v.value.boxes.map((b) => b.className).join(", ")}`;
    case "custom":
      return JSON.stringify(v.value);
    default:
      return "";
  }
}
