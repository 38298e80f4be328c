import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { append, clear, digit, h, kbd } from "../dom";
import { image } from "./payload";
import type { TaskInput, TaskView } from "./types";

interface Box {
  cls: number;
  left: number; // in the image's own pixels
  top: number;
  width: number;
  height: number;
}

/** Below this size on screen a drag is taken for a click, not a box. */
const MIN_DRAG = 4;

/** Bounding boxes: drag on the image to draw a box; the class picked (1–9
 * or its button) goes to the box in hand and to the next ones; Delete or
 * the list's × removes a box. Boxes go out in the image's own pixels, so
 * the answer does not depend on the size the page showed it at. */
export function boxes(input: TaskInput): TaskView {
  const ref = input.task.payload.case === "sourceRef" ? input.task.payload.value : "";
  const shown = image(ref, "the image to mark");
  const drawn: Box[] = [];
  let current = 0;
  let selected = -1;
  const layer = h("div", { class: "box-layer", "aria-hidden": "true" });
  const canvas = h("div", { class: "box-canvas" }, shown.el, layer);
  const list = h("ol", { class: "box-list", "aria-label": "Boxes" });
  const note = h("p", { class: "hint" }, "Drag on the image to draw a box; pick its class with its key or button.");
  const buttons = input.classes.map((c, i) =>
    h("button", { type: "button", role: "radio", "aria-checked": "false", class: "choice", onclick: () => pick(i) },
      i < 9 ? kbd(String(i + 1)) : null, h("span", { class: "name" }, c.name)),
  );
  const img = shown.img;

  /** Screen pixels to the image's pixels. */
  const scale = (): number => (img && img.clientWidth ? img.naturalWidth / img.clientWidth : 1);

  function pick(i: number): void {
    current = i;
    if (selected >= 0) drawn[selected].cls = i;
    render();
  }

  function remove(i: number): void {
    drawn.splice(i, 1);
    selected = -1;
    render();
  }

  function render(): void {
    buttons.forEach((b, j) => b.setAttribute("aria-checked", String(j === current)));
    clear(layer);
    clear(list);
    const k = scale();
    drawn.forEach((b, i) => {
      const name = input.classes[b.cls].name;
      const el = h("div", { class: i === selected ? "box selected" : "box", "data-class": name });
      Object.assign(el.style, { left: `${b.left / k}px`, top: `${b.top / k}px`, width: `${b.width / k}px`, height: `${b.height / k}px` });
      el.addEventListener("pointerdown", (e) => {
        e.stopPropagation();
        selected = i;
        render();
      });
      append(el, h("span", {}, name));
      layer.append(el);
      append(list, h("li", { class: i === selected ? "selected" : "" },
        h("strong", {}, name), ` ${Math.round(b.left)}, ${Math.round(b.top)} · ${Math.round(b.width)}×${Math.round(b.height)} px `,
        h("button", { type: "button", "aria-label": `Remove box ${i + 1} (${name})`, onclick: () => remove(i) }, "×")));
    });
  }

  let start: { x: number; y: number } | null = null;
  let draft: HTMLElement | null = null;
  const at = (e: PointerEvent): { x: number; y: number } => {
    const r = layer.getBoundingClientRect();
    return { x: Math.min(Math.max(e.clientX - r.left, 0), r.width), y: Math.min(Math.max(e.clientY - r.top, 0), r.height) };
  };
  layer.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 || !img) return;
    e.preventDefault();
    layer.setPointerCapture(e.pointerId);
    start = at(e);
    draft = h("div", { class: "box draft" });
    layer.append(draft);
  });
  layer.addEventListener("pointermove", (e) => {
    if (!start || !draft) return;
    const p = at(e);
    Object.assign(draft.style, { left: `${Math.min(p.x, start.x)}px`, top: `${Math.min(p.y, start.y)}px`, width: `${Math.abs(p.x - start.x)}px`, height: `${Math.abs(p.y - start.y)}px` });
  });
  const finish = (e: PointerEvent): void => {
    if (!start) return;
    const p = at(e);
    const from = start;
    start = null;
    draft?.remove();
    draft = null;
    if (Math.abs(p.x - from.x) < MIN_DRAG || Math.abs(p.y - from.y) < MIN_DRAG) {
      selected = -1;
      render();
      return;
    }
    const k = scale();
    drawn.push({ cls: current, left: Math.min(p.x, from.x) * k, top: Math.min(p.y, from.y) * k, width: Math.abs(p.x - from.x) * k, height: Math.abs(p.y - from.y) * k });
    selected = drawn.length - 1;
    note.textContent = "";
    render();
  };
  layer.addEventListener("pointerup", finish);
  layer.addEventListener("pointercancel", () => {
    start = null;
    draft?.remove();
    draft = null;
  });
  const resized = new ResizeObserver(() => render());
  if (img) resized.observe(img);
  render();

  return {
    root: h("div", { class: "task" }, canvas,
      h("div", { class: "choices", role: "radiogroup", "aria-label": "Class" }, ...buttons), note, list),
    ready: shown.ready,
    key(e) {
      const i = digit(e);
      if (i >= 0 && i < buttons.length) {
        pick(i);
        return true;
      }
      if ((e.key === "Delete" || e.key === "Backspace") && selected >= 0) {
        remove(selected);
        return true;
      }
      return false;
    },
    answer() {
      if (!img) return "This item's image cannot be shown here, so it cannot be marked; skip it (s).";
      return create(AnswerSchema, {
        value: {
          case: "boundingBoxes",
          value: {
            boxes: drawn.map((b) => ({ className: input.classes[b.cls].name, left: b.left, top: b.top, width: b.width, height: b.height })),
          },
        },
      });
    },
    destroy() {
      resized.disconnect();
    },
  };
}
