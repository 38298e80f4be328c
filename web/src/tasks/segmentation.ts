import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { digit, h, kbd } from "../dom";
import { image } from "./payload";
import { palettePng } from "./png";
import type { TaskInput, TaskView } from "./types";

type Tool = "brush" | "polygon" | "eraser";
type Point = { x: number; y: number };

/** Distinct colours for the classes, in the job's order (index 0 is the background). */
const COLOURS: [number, number, number][] = [
  [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180],
  [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128],
];
const colour = (cls: number): [number, number, number] => COLOURS[(cls - 1) % COLOURS.length];
/** A class's colour beside its name (set through the style object: the page's policy refuses style attributes). */
function swatch(cls: number): HTMLElement {
  const el = h("span", { class: "swatch", "aria-hidden": "true" });
  el.style.background = `rgb(${colour(cls).join(",")})`;
  return el;
}
const UNDO_DEPTH = 30;
/** A click this close to the polygon's first point (on screen) closes it. */
const CLOSE_PX = 10;

/** Semantic segmentation: paint a class mask over the image with a brush,
 * fill polygons, erase; 1–9 pick the class, `b`/`p`/`e` the tool, `[` `]`
 * the brush size, `z` undoes. The mask is kept as one class index per image
 * pixel (never blended, whatever size the page shows the image at) and goes
 * out as a palette PNG of the image's own size. */
export function segmentation(input: TaskInput): TaskView {
  const ref = input.task.payload.case === "sourceRef" ? input.task.payload.value : "";
  const shown = image(ref, "the image to paint");
  const img = shown.img;
  let width = 0;
  let height = 0;
  let mask: Uint8Array = new Uint8Array(0);
  const undo: Uint8Array[] = [];
  let cls = 1;
  let tool: Tool = "brush";
  let radius = 8;
  let polygon: Point[] = [];

  const paint = h("canvas", { class: "seg-paint", "aria-hidden": "true" });
  const ctx = paint.getContext("2d")!;
  const outline = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  outline.setAttribute("class", "seg-outline");
  outline.setAttribute("aria-hidden", "true");
  const stage = h("div", { class: "seg-canvas" }, shown.el, paint, outline);
  const note = h("p", { class: "hint", role: "status" }, "Paint with the mouse; pick the class with its key or button.");
  const size = h("span", { class: "seg-size" });

  const classButtons = input.classes.map((c, i) =>
    h("button", { type: "button", role: "radio", "aria-checked": "false", class: "choice", onclick: () => pickClass(i + 1) },
      i < 9 ? kbd(String(i + 1)) : null, swatch(i + 1), h("span", { class: "name" }, c.name)),
  );
  const toolKeys: [Tool, string, string][] = [["brush", "b", "Brush"], ["polygon", "p", "Polygon"], ["eraser", "e", "Eraser"]];
  const toolButtons = toolKeys.map(([t, key, name]) =>
    h("button", { type: "button", role: "radio", "aria-checked": "false", class: "choice", onclick: () => pickTool(t) }, kbd(key), h("span", { class: "name" }, name)),
  );
  const undoButton = h("button", { type: "button", onclick: () => back() }, kbd("z"), "Undo");

  function pickClass(i: number): void {
    cls = i;
    if (tool === "eraser") tool = "brush";
    controls();
  }
  function pickTool(t: Tool): void {
    if (t !== "polygon") cancelPolygon();
    tool = t;
    controls();
  }
  function controls(): void {
    classButtons.forEach((b, j) => b.setAttribute("aria-checked", String(j + 1 === cls)));
    toolButtons.forEach((b, j) => b.setAttribute("aria-checked", String(toolKeys[j][0] === tool)));
    size.textContent = `brush ${radius * 2} px`;
    undoButton.disabled = undo.length === 0;
  }

  /** Keeps the mask as it was before a stroke or a polygon. */
  function checkpoint(): void {
    undo.push(mask.slice());
    if (undo.length > UNDO_DEPTH) undo.shift();
    controls();
  }
  function back(): void {
    if (polygon.length) return cancelPolygon();
    const before = undo.pop();
    if (!before) return;
    mask = before;
    render(0, 0, width, height);
    controls();
  }

  /** Repaints the overlay over a rectangle of image pixels. */
  function render(x0: number, y0: number, x1: number, y1: number): void {
    x0 = Math.max(0, Math.floor(x0));
    y0 = Math.max(0, Math.floor(y0));
    x1 = Math.min(width, Math.ceil(x1));
    y1 = Math.min(height, Math.ceil(y1));
    if (x1 <= x0 || y1 <= y0) return;
    const out = ctx.createImageData(x1 - x0, y1 - y0);
    const px = out.data;
    for (let y = y0, o = 0; y < y1; y++) {
      for (let x = x0; x < x1; x++, o += 4) {
        const v = mask[y * width + x];
        if (!v) continue;
        const [r, g, b] = colour(v);
        px[o] = r;
        px[o + 1] = g;
        px[o + 2] = b;
        px[o + 3] = 130;
      }
    }
    ctx.putImageData(out, x0, y0);
  }

  function disc(cx: number, cy: number, value: number): void {
    const r2 = radius * radius;
    for (let y = Math.max(0, Math.ceil(cy - radius)); y <= Math.min(height - 1, Math.floor(cy + radius)); y++) {
      for (let x = Math.max(0, Math.ceil(cx - radius)); x <= Math.min(width - 1, Math.floor(cx + radius)); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r2) mask[y * width + x] = value;
      }
    }
  }
  function stroke(a: Point, b: Point): void {
    const value = tool === "eraser" ? 0 : cls;
    const steps = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / Math.max(1, radius / 2)));
    for (let i = 0; i <= steps; i++) disc(a.x + ((b.x - a.x) * i) / steps, a.y + ((b.y - a.y) * i) / steps, value);
    render(Math.min(a.x, b.x) - radius - 1, Math.min(a.y, b.y) - radius - 1, Math.max(a.x, b.x) + radius + 2, Math.max(a.y, b.y) + radius + 2);
  }

  /** Fills the polygon (even-odd, at pixel centres) with the class in hand. */
  function fill(points: Point[]): void {
    checkpoint();
    const ys = points.map((p) => p.y);
    const top = Math.max(0, Math.floor(Math.min(...ys)));
    const bottom = Math.min(height - 1, Math.ceil(Math.max(...ys)));
    for (let y = top; y <= bottom; y++) {
      const cy = y + 0.5;
      const xs: number[] = [];
      for (let i = 0; i < points.length; i++) {
        const a = points[i];
        const b = points[(i + 1) % points.length];
        if ((a.y <= cy && b.y > cy) || (b.y <= cy && a.y > cy)) xs.push(a.x + ((cy - a.y) / (b.y - a.y)) * (b.x - a.x));
      }
      xs.sort((p, q) => p - q);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const from = Math.max(0, Math.ceil(xs[k] - 0.5));
        const to = Math.min(width - 1, Math.floor(xs[k + 1] - 0.5));
        if (to >= from) mask.fill(cls, y * width + from, y * width + to + 1);
      }
    }
    const xs = points.map((p) => p.x);
    render(Math.min(...xs) - 1, top, Math.max(...xs) + 2, bottom + 1);
  }

  function drawOutline(): void {
    outline.replaceChildren();
    if (!polygon.length) return;
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", polygon.map((p) => `${p.x},${p.y}`).join(" "));
    line.setAttribute("vector-effect", "non-scaling-stroke");
    line.setAttribute("stroke", `rgb(${colour(cls).join(",")})`);
    outline.append(line);
    for (const p of polygon) {
      const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      dot.setAttribute("cx", String(p.x));
      dot.setAttribute("cy", String(p.y));
      dot.setAttribute("r", String(Math.max(2, width / 300)));
      outline.append(dot);
    }
  }
  function closePolygon(): void {
    if (polygon.length >= 3) fill(polygon);
    polygon = [];
    drawOutline();
    note.textContent = "";
  }
  function cancelPolygon(): void {
    polygon = [];
    drawOutline();
  }

  /** Screen to image pixels. */
  const at = (e: PointerEvent): Point => {
    const r = paint.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * width) / r.width, y: ((e.clientY - r.top) * height) / r.height };
  };
  let last: Point | null = null;
  paint.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 || !width) return;
    e.preventDefault();
    const p = at(e);
    if (tool === "polygon") {
      const first = polygon[0];
      const k = paint.getBoundingClientRect().width / width;
      if (first && polygon.length >= 3 && Math.hypot(p.x - first.x, p.y - first.y) * k <= CLOSE_PX) closePolygon();
      else {
        polygon.push(p);
        drawOutline();
        note.textContent = "Click the first point (or press c) to close the polygon; Esc drops it.";
      }
      return;
    }
    paint.setPointerCapture(e.pointerId);
    checkpoint();
    last = p;
    stroke(p, p);
  });
  paint.addEventListener("pointermove", (e) => {
    if (!last) return;
    const p = at(e);
    stroke(last, p);
    last = p;
  });
  const lift = (): void => {
    last = null;
  };
  paint.addEventListener("pointerup", lift);
  paint.addEventListener("pointercancel", lift);

  const ready = shown.ready.then(() => {
    if (!img || !img.naturalWidth) return;
    width = img.naturalWidth;
    height = img.naturalHeight;
    mask = new Uint8Array(width * height);
    paint.width = width;
    paint.height = height;
    outline.setAttribute("viewBox", `0 0 ${width} ${height}`);
    radius = Math.max(2, Math.round(Math.min(width, height) / 60));
    controls();
  });
  controls();

  return {
    root: h("div", { class: "task" }, stage,
      h("div", { class: "choices", role: "radiogroup", "aria-label": "Class" }, ...classButtons),
      h("div", { class: "choices seg-tools" },
        h("span", { role: "radiogroup", "aria-label": "Tool", class: "choices" }, ...toolButtons),
        undoButton, size),
      note),
    ready,
    key(e) {
      const i = digit(e);
      if (i >= 0 && i < classButtons.length) {
        pickClass(i + 1);
        return true;
      }
      const t = toolKeys.find(([, k]) => k === e.key);
      if (t) {
        pickTool(t[0]);
        return true;
      }
      if (e.key === "z") back();
      else if (e.key === "[" || e.key === "]") {
        radius = Math.max(1, Math.min(500, Math.round(radius * (e.key === "]" ? 1.5 : 1 / 1.5))));
        controls();
      } else if ((e.key === "c" || e.key === "Enter") && polygon.length) closePolygon();
      else if (e.key === "Escape" && polygon.length) cancelPolygon();
      else if (e.key === "Backspace" && polygon.length) {
        polygon.pop();
        drawOutline();
      } else return false;
      return true;
    },
    async answer() {
      if (!img) return "This item's image cannot be shown here, so it cannot be painted; skip it (s).";
      await ready;
      if (!width) return "The image has not loaded; wait a moment, or skip it (s).";
      if (polygon.length) return "Close the polygon first (click its first point or press c), or drop it with Esc.";
      const palette: [number, number, number][] = [[0, 0, 0], ...input.classes.map((_, i) => colour(i + 1))];
      const maskPng = await palettePng(width, height, mask, palette);
      return create(AnswerSchema, { value: { case: "segmentation", value: { maskPng } } });
    },
  };
}
