import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { append, clear, digit, h, kbd } from "../dom";
import { image } from "./payload";
import type { TaskInput, TaskView } from "./types";

/** A box in the image's own whole pixels: what goes out is what the worker saw listed. */
interface Box {
  cls: number;
  left: number;
  top: number;
  width: number;
  height: number;
}
type Point = { x: number; y: number };
type Edge = "nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w";

/** Below this distance on screen a drag is taken for a click. */
const MIN_DRAG = 4;
/** The zoom steps of the buttons and keys, in screen pixels per image pixel;
 * the smallest zoom is the one that fits the image in the view. */
const STEPS = [0.1, 0.125, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1, 1.5, 2, 3, 4, 6, 8];
const MAX_ZOOM = 8;
/** The view is at most this share of the window's height (as in the style sheet). */
const VIEW_HEIGHT = 0.7;
const EDGES: Edge[] = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
const ARROWS: Record<string, Point> = { ArrowLeft: { x: -1, y: 0 }, ArrowRight: { x: 1, y: 0 }, ArrowUp: { x: 0, y: -1 }, ArrowDown: { x: 0, y: 1 } };

const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);

/** Bounding boxes: drag on the image to draw a box; the class picked (1–9
 * or its button) goes to the box in hand and to the next ones. A box is
 * taken in hand by a click or from the list (Tab); its body drags it, its
 * handles resize it, arrows move it and Alt (or Ctrl) with arrows resize it;
 * Delete removes it. The view zooms (buttons, + and -, Ctrl+wheel) and pans
 * (scrollbars, Space held while dragging, the pan button). Boxes live and go
 * out in the image's own whole pixels, whatever the zoom. */
export function boxes(input: TaskInput): TaskView {
  const ref = input.task.payload.case === "sourceRef" ? input.task.payload.value : "";
  const shown = image(ref, "the image to mark");
  const img = shown.img;
  const drawn: Box[] = [];
  let current = 0;
  let selected = -1;
  /** Screen pixels per image pixel; null follows the fit as the page resizes. */
  let zoom: number | null = null;
  let panMode = false;
  let spaceHeld = false;

  const layer = h("div", { class: "box-layer", "aria-hidden": "true" });
  const canvas = h("div", { class: "box-canvas" }, shown.el, layer);
  const view = h("div", { class: "box-view" }, canvas);
  const list = h("ol", { class: "box-list", "aria-label": "Boxes" });
  const note = h("p", { class: "hint" }, "Drag on the image to draw a box; pick its class with its key or button. Drag a box to move it, its handles to resize it.");
  const status = h("p", { class: "box-status", role: "status" });
  const level = h("span", { class: "zoom-level" }, "100%");
  const buttons = input.classes.map((c, i) =>
    h("button", { type: "button", role: "radio", "aria-checked": "false", class: "choice", onclick: () => pick(i) },
      i < 9 ? kbd(String(i + 1)) : null, h("span", { class: "name" }, c.name)),
  );
  const panButton = h("button", { type: "button", "aria-pressed": "false", onclick: () => setPan(!panMode) }, "Pan");
  const tools = h("div", { class: "box-tools", role: "group", "aria-label": "Image view" },
    h("button", { type: "button", "aria-label": "Zoom out", onclick: () => step(-1) }, kbd("-"), "Zoom out"),
    level,
    h("button", { type: "button", "aria-label": "Zoom in", onclick: () => step(1) }, kbd("+"), "Zoom in"),
    h("button", { type: "button", "aria-label": "Fit the image", onclick: () => zoomTo(null) }, kbd("0"), "Fit"),
    panButton);
  const root = h("div", { class: "task" }, tools, view,
    h("div", { class: "choices", role: "radiogroup", "aria-label": "Class" }, ...buttons), note, status, list);

  const natural = (): Point => ({ x: img?.naturalWidth ?? 0, y: img?.naturalHeight ?? 0 });
  const nameOf = (i: number): string => `Box ${i + 1} (${input.classes[drawn[i].cls].name})`;
  const where = (b: Box): string => `left ${b.left}, top ${b.top}, ${b.width} × ${b.height} px`;
  const say = (text: string): void => void (status.textContent = text);

  /** The zoom that shows the whole image in the view, never above its own size. */
  function fit(): number {
    const n = natural();
    if (!n.x || !n.y) return 1;
    const w = root.clientWidth || n.x;
    return Math.min(1, w / n.x, Math.max(200, window.innerHeight * VIEW_HEIGHT) / n.y);
  }
  const scale = (): number => zoom ?? fit();

  /** Sizes the canvas for the zoom; boxes are placed in shares of it, so they follow. */
  function layout(): void {
    const n = natural();
    if (!n.x || !root.isConnected) return;
    if (zoom !== null && zoom <= fit()) zoom = null;
    const s = scale();
    canvas.style.width = `${n.x * s}px`;
    canvas.style.height = `${n.y * s}px`;
    canvas.classList.add("sized");
    level.textContent = `${Math.round(s * 100)}%`;
    place();
  }

  /** Changes the zoom keeping one point of the image where it is on screen:
   * the pointer's (wheel), else the box in hand's centre when it is in
   * sight, else the view's centre. */
  function zoomTo(to: number | null, anchor?: Point): void {
    const n = natural();
    if (!n.x) return;
    const old = scale();
    const next = to === null ? null : clamp(to, fit(), Math.max(MAX_ZOOM, fit()));
    const r = view.getBoundingClientRect();
    let a: Point = anchor ? { x: anchor.x - r.left, y: anchor.y - r.top } : { x: view.clientWidth / 2, y: view.clientHeight / 2 };
    if (!anchor && selected >= 0) {
      const b = drawn[selected];
      const c = { x: (b.left + b.width / 2) * old - view.scrollLeft, y: (b.top + b.height / 2) * old - view.scrollTop };
      if (c.x >= 0 && c.y >= 0 && c.x <= view.clientWidth && c.y <= view.clientHeight) a = c;
    }
    const p = { x: (view.scrollLeft + a.x) / old, y: (view.scrollTop + a.y) / old };
    zoom = next;
    layout();
    const s = scale();
    view.scrollLeft = p.x * s - a.x;
    view.scrollTop = p.y * s - a.y;
    say(`Zoom ${Math.round(s * 100)}%`);
  }

  function step(dir: 1 | -1): void {
    const s = scale();
    const next = dir > 0 ? STEPS.find((z) => z > s * 1.001) ?? MAX_ZOOM : [...STEPS].reverse().find((z) => z < s / 1.001) ?? 0;
    zoomTo(dir < 0 && next <= fit() ? null : next);
  }

  function setPan(on: boolean): void {
    panMode = on;
    panButton.setAttribute("aria-pressed", String(on));
    layer.classList.toggle("pan", panMode || spaceHeld);
  }

  function pick(i: number): void {
    current = i;
    if (selected >= 0) {
      drawn[selected].cls = i;
      say(`${nameOf(selected)}: ${where(drawn[selected])}`);
    }
    render();
  }

  function select(i: number, focus = false): void {
    if (i === selected) return;
    selected = i;
    render();
    if (i >= 0) {
      say(`${nameOf(i)} selected: ${where(drawn[i])}`);
      if (focus) picks[i]?.focus({ preventScroll: true });
    }
  }

  function remove(i: number): void {
    const gone = nameOf(i);
    drawn.splice(i, 1);
    selected = -1;
    render();
    say(`${gone} removed`);
  }

  let els: HTMLElement[] = [];
  let picks: HTMLButtonElement[] = [];
  let coords: HTMLElement[] = [];

  /** Builds the boxes and the list again (a box added, removed, classed or taken in hand). */
  function render(): void {
    const focused = list.contains(document.activeElement);
    buttons.forEach((b, j) => b.setAttribute("aria-checked", String(j === current)));
    clear(layer);
    clear(list);
    els = [];
    picks = [];
    coords = [];
    drawn.forEach((b, i) => {
      const name = input.classes[b.cls].name;
      const el = h("div", { class: i === selected ? "box selected" : "box", "data-index": i }, h("span", {}, name));
      if (i === selected) for (const edge of EDGES) append(el, h("div", { class: `handle ${edge}`, "data-edge": edge }));
      layer.append(el);
      els.push(el);
      const pickButton = h("button", { type: "button", class: "box-pick", "aria-pressed": String(i === selected), onclick: () => select(i), onfocus: () => select(i) }, nameOf(i));
      const at = h("span", { class: "box-at" });
      picks.push(pickButton);
      coords.push(at);
      append(list, h("li", { class: i === selected ? "selected" : "" }, pickButton, at,
        h("button", { type: "button", "aria-label": `Remove box ${i + 1} (${name})`, onclick: () => remove(i) }, "×")));
    });
    place();
    if (focused && selected >= 0) picks[selected].focus({ preventScroll: true });
  }

  /** Puts the boxes where their pixels are and lists their coordinates. */
  function place(): void {
    const n = natural();
    if (!n.x) return;
    const s = scale();
    drawn.forEach((b, i) => {
      const el = els[i];
      if (!el) return;
      Object.assign(el.style, { left: `${(b.left / n.x) * 100}%`, top: `${(b.top / n.y) * 100}%`, width: `${(b.width / n.x) * 100}%`, height: `${(b.height / n.y) * 100}%` });
      el.classList.toggle("label-inside", b.top * s < 20);
      coords[i].textContent = ` ${b.left}, ${b.top} · ${b.width}×${b.height} px `;
    });
  }

  /** A pointer's place in the image's pixels (not clamped). */
  const at = (e: PointerEvent): Point => {
    const r = layer.getBoundingClientRect();
    const n = natural();
    return { x: ((e.clientX - r.left) * n.x) / r.width, y: ((e.clientY - r.top) * n.y) / r.height };
  };

  /** Moves box i by whole pixels, kept inside the image. */
  function moveBy(i: number, from: Box, dx: number, dy: number): void {
    const n = natural();
    const b = drawn[i];
    b.left = clamp(Math.round(from.left + dx), 0, n.x - b.width);
    b.top = clamp(Math.round(from.top + dy), 0, n.y - b.height);
  }

  /** Sets box i's edges from `from` moved by (dx, dy) on the dragged edges; an
   * edge dragged past its opposite flips the box; at least one pixel stays. */
  function resizeBy(i: number, from: Box, edge: string, dx: number, dy: number): void {
    const n = natural();
    let l = from.left;
    let t = from.top;
    let r = from.left + from.width;
    let btm = from.top + from.height;
    if (edge.includes("w")) l = clamp(Math.round(l + dx), 0, n.x);
    if (edge.includes("e")) r = clamp(Math.round(r + dx), 0, n.x);
    if (edge.includes("n")) t = clamp(Math.round(t + dy), 0, n.y);
    if (edge.includes("s")) btm = clamp(Math.round(btm + dy), 0, n.y);
    const b = drawn[i];
    b.left = Math.min(Math.min(l, r), n.x - 1);
    b.top = Math.min(Math.min(t, btm), n.y - 1);
    b.width = Math.max(1, Math.abs(r - l));
    b.height = Math.max(1, Math.abs(btm - t));
  }

  type Drag =
    | { kind: "draw"; start: Point; screen: Point; draft: HTMLElement }
    | { kind: "move" | "resize"; index: number; edge: string; start: Point; screen: Point; from: Box; moved: boolean }
    | { kind: "pan"; screen: Point; scroll: Point };
  let drag: Drag | null = null;

  layer.addEventListener("pointerdown", (e) => {
    if (!img || !natural().x || (e.button !== 0 && e.button !== 1)) return;
    e.preventDefault();
    layer.setPointerCapture(e.pointerId);
    const screen = { x: e.clientX, y: e.clientY };
    if (e.button === 1 || panMode || spaceHeld) {
      drag = { kind: "pan", screen, scroll: { x: view.scrollLeft, y: view.scrollTop } };
      layer.classList.add("panning");
      return;
    }
    const target = e.target instanceof HTMLElement ? e.target : null;
    const handle = target?.closest<HTMLElement>("[data-edge]");
    const boxEl = target?.closest<HTMLElement>("[data-index]");
    if (boxEl && !e.shiftKey) {
      const index = Number(boxEl.dataset.index);
      select(index, true);
      drag = { kind: handle ? "resize" : "move", index, edge: handle?.dataset.edge ?? "", start: at(e), screen, from: { ...drawn[index] }, moved: false };
      return;
    }
    const draft = h("div", { class: "box draft" });
    layer.append(draft);
    drag = { kind: "draw", start: at(e), screen, draft };
  });

  layer.addEventListener("pointermove", (e) => {
    if (!drag) return;
    if (drag.kind === "pan") {
      view.scrollLeft = drag.scroll.x - (e.clientX - drag.screen.x);
      view.scrollTop = drag.scroll.y - (e.clientY - drag.screen.y);
      return;
    }
    const p = at(e);
    if (drag.kind === "draw") {
      const n = natural();
      const q = { x: clamp(p.x, 0, n.x), y: clamp(p.y, 0, n.y) };
      const s = drag.start;
      Object.assign(drag.draft.style, {
        left: `${(Math.min(q.x, s.x) / n.x) * 100}%`, top: `${(Math.min(q.y, s.y) / n.y) * 100}%`,
        width: `${(Math.abs(q.x - s.x) / n.x) * 100}%`, height: `${(Math.abs(q.y - s.y) / n.y) * 100}%`,
      });
      return;
    }
    if (!drag.moved && Math.hypot(e.clientX - drag.screen.x, e.clientY - drag.screen.y) < MIN_DRAG) return;
    drag.moved = true;
    const dx = p.x - drag.start.x;
    const dy = p.y - drag.start.y;
    if (drag.kind === "move") moveBy(drag.index, drag.from, dx, dy);
    else resizeBy(drag.index, drag.from, drag.edge, dx, dy);
    place();
  });

  const finish = (e: PointerEvent): void => {
    const d = drag;
    if (!d) return;
    drag = null;
    layer.classList.remove("panning");
    if (d.kind === "pan") return;
    if (d.kind !== "draw") {
      if (d.moved) say(`${nameOf(d.index)}: ${where(drawn[d.index])}`);
      return;
    }
    d.draft.remove();
    if (e.type === "pointercancel") return;
    if (Math.abs(e.clientX - d.screen.x) < MIN_DRAG || Math.abs(e.clientY - d.screen.y) < MIN_DRAG) {
      select(-1);
      return;
    }
    const n = natural();
    const p = at(e);
    const x = [d.start.x, clamp(p.x, 0, n.x)].map(Math.round).sort((a, b) => a - b);
    const y = [d.start.y, clamp(p.y, 0, n.y)].map(Math.round).sort((a, b) => a - b);
    if (x[1] === x[0] || y[1] === y[0]) return;
    drawn.push({ cls: current, left: x[0], top: y[0], width: x[1] - x[0], height: y[1] - y[0] });
    selected = drawn.length - 1;
    render();
    say(`${nameOf(selected)} drawn: ${where(drawn[selected])}`);
  };
  layer.addEventListener("pointerup", finish);
  layer.addEventListener("pointercancel", finish);

  view.addEventListener("wheel", (e) => {
    if (!e.ctrlKey) return; // the wheel alone scrolls the view
    e.preventDefault();
    zoomTo(scale() * Math.exp(-e.deltaY / 300), { x: e.clientX, y: e.clientY });
  }, { passive: false });

  const ended = new AbortController();
  document.addEventListener("keyup", (e) => {
    if (e.key === " ") {
      spaceHeld = false;
      setPan(panMode);
    }
  }, { signal: ended.signal });
  window.addEventListener("blur", () => {
    spaceHeld = false;
    setPan(panMode);
  }, { signal: ended.signal });
  window.addEventListener("resize", () => layout(), { signal: ended.signal });
  img?.addEventListener("load", () => layout(), { signal: ended.signal });
  let width = 0;
  const resized = new ResizeObserver(() => {
    if (root.clientWidth === width) return;
    width = root.clientWidth;
    requestAnimationFrame(() => layout()); // not inside the observer: the canvas's size changes the root's
  });
  resized.observe(root);
  render();

  return {
    root,
    ready: shown.ready.then(() => layout()),
    key(e) {
      const arrow = ARROWS[e.key];
      if (arrow) {
        if (selected < 0) return false;
        const d = e.shiftKey ? 10 : 1;
        const b = drawn[selected];
        const from = { ...b };
        if (e.altKey || e.ctrlKey) resizeBy(selected, from, arrow.x ? "e" : "s", arrow.x * d, arrow.y * d);
        else moveBy(selected, from, arrow.x * d, arrow.y * d);
        place();
        say(`${nameOf(selected)}: ${where(b)}`);
        return true;
      }
      if (e.altKey || e.ctrlKey || e.metaKey) return false;
      const i = digit(e);
      if (i >= 0 && i < buttons.length) {
        pick(i);
        return true;
      }
      if ((e.key === "Delete" || e.key === "Backspace") && selected >= 0) {
        remove(selected);
        return true;
      }
      if (e.key === "+" || e.key === "=") step(1);
      else if (e.key === "-") step(-1);
      else if (e.key === "0") zoomTo(null);
      else if (e.key === " ") {
        spaceHeld = true;
        setPan(panMode);
      } else if (e.key === "Escape" && selected >= 0) select(-1);
      else return false;
      return true;
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
      ended.abort();
    },
  };
}
