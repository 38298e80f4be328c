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
    case "segmentation":
      return maskSize(v.value.maskPng);
    case "custom":
      return JSON.stringify(v.value);
    case "number":
      return String(v.value.value);
    case "keypoints":
      return v.value.points.map((p) => (p.notVisible ? `${p.name} not visible` : `${p.name} at ${Math.round(p.x)}, ${Math.round(p.y)}`)).join("; ") || "no points";
    default:
      return "";
  }
}

/** A mask's size from its PNG header (the pixels would need inflating,
 * which a browser only does asynchronously). */
function maskSize(png: Uint8Array): string {
  const PNG = [0x89, 0x50, 0x4e, 0x47];
  if (png.length < 24 || PNG.some((b, i) => png[i] !== b)) return png.length ? "a mask (not a PNG)" : "no mask";
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return `a ${view.getUint32(16)}×${view.getUint32(20)} mask`;
}
