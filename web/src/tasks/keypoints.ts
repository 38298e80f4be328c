import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { append, clear, digit, h, kbd } from "../dom";
import { image } from "./payload";
import type { TaskInput, TaskView } from "./types";

/** A point's state: not decided yet, placed (image pixels), or not visible. */
type Place = { x: number; y: number } | "hidden" | null;

const ARROWS: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/** Key points: the job's named points, one in hand at a time (1–9 or its
 * button). A click on the image places the point in hand and hands over the
 * next undecided one; the arrows move the point in hand (Shift: 10 px), `p`
 * places it at the centre for a keyboard-only worker, `n` marks it not
 * visible, Delete takes it back. Every change is announced; points live and
 * go out in the image's own whole pixels. */
export function keypoints(input: TaskInput): TaskView {
  const ref = input.task.payload.case === "sourceRef" ? input.task.payload.value : "";
  const shown = image(ref, "the image to place points on");
  const img = shown.img;
  const names = input.classes.map((c) => c.name);
  const places: Place[] = names.map(() => null);
  let current = 0;

  const layer = h("div", { class: "kp-layer", "aria-hidden": "true" });
  const canvas = h("div", { class: "kp-canvas" }, shown.el, layer);
  const status = h("p", { class: "box-status", role: "status" });
  const states = names.map((_, i) => h("span", { class: "kp-state", id: `kp-state-${i}` }));
  const buttons = names.map((name, i) =>
    h("button", { type: "button", role: "radio", "aria-checked": "false", class: "choice", "aria-describedby": `kp-state-${i}`, onclick: () => pick(i) },
      i < 9 ? kbd(String(i + 1)) : null, h("span", { class: "name" }, name)));
  const hidden = h("button", { type: "button", "aria-pressed": "false", onclick: () => toggleHidden() }, kbd("n"), "Not visible");
  const list = h("ol", { class: "kp-list", role: "radiogroup", "aria-label": "Key points" },
    ...names.map((_, i) => h("li", {}, buttons[i], " ", states[i])));
  const root = h("div", { class: "task" }, canvas,
    h("p", { class: "hint" }, "Click on the image to place the point in hand; arrows move it, ", kbd("p"), " places it at the centre, ", kbd("n"), " marks it not visible."),
    list, h("div", { class: "box-tools" }, hidden), status);

  const natural = (): { w: number; h: number } => ({ w: img?.naturalWidth || 1, h: img?.naturalHeight || 1 });
  const say = (text: string): void => void (status.textContent = text);
  const describe = (p: Place): string => (p === null ? "not placed" : p === "hidden" ? "not visible" : `at ${p.x}, ${p.y}`);

  function render(): void {
    clear(layer);
    const n = natural();
    places.forEach((p, i) => {
      states[i].textContent = describe(p);
      buttons[i].setAttribute("aria-checked", String(i === current));
      buttons[i].tabIndex = i === current ? 0 : -1;
      if (p === null || p === "hidden") return;
      // Set through the CSSOM: the page's content security policy refuses style attributes.
      const dot = h("span", { class: `kp-dot${i === current ? " current" : ""}` }, h("span", { class: "kp-name" }, names[i]));
      Object.assign(dot.style, { left: `${(100 * p.x) / n.w}%`, top: `${(100 * p.y) / n.h}%` });
      append(layer, dot);
    });
    hidden.setAttribute("aria-pressed", String(places[current] === "hidden"));
  }

  function pick(i: number): void {
    current = i;
    render();
    say(`${names[i]} in hand: ${describe(places[i])}.`);
  }

  const clampTo = (v: number, hi: number): number => Math.min(Math.max(Math.round(v), 0), Math.max(hi - 1, 0));

  function place(x: number, y: number, verb: string): void {
    const n = natural();
    const p = { x: clampTo(x, n.w), y: clampTo(y, n.h) };
    places[current] = p;
    render();
    say(`${names[current]} ${verb} ${p.x}, ${p.y}.`);
  }

  /** After a point is decided, the next undecided one comes in hand. */
  function advance(): void {
    const next = places.findIndex((p, i) => p === null && i > current);
    const first = places.findIndex((p) => p === null);
    const to = next >= 0 ? next : first;
    if (to >= 0 && to !== current) {
      current = to;
      render();
    }
  }

  function toggleHidden(): void {
    const was = places[current] === "hidden";
    places[current] = was ? null : "hidden";
    render();
    say(`${names[current]} ${was ? "no longer marked not visible" : "marked not visible"}.`);
    if (!was) advance();
  }

  layer.addEventListener("pointerdown", (e) => {
    const r = layer.getBoundingClientRect();
    const n = natural();
    place(((e.clientX - r.left) * n.w) / r.width, ((e.clientY - r.top) * n.h) / r.height, "placed at");
    advance();
  });
  render();
  return {
    root,
    ready: shown.ready,
    key(e) {
      const i = digit(e);
      if (i >= 0 && i < names.length) {
        pick(i);
        return true;
      }
      const arrow = ARROWS[e.key];
      const p = places[current];
      if (arrow && !e.altKey && !e.ctrlKey) {
        if (p === null || p === "hidden") {
          say(`${names[current]} is not placed: click on the image or press p first.`);
          return true;
        }
        const by = e.shiftKey ? 10 : 1;
        place(p.x + arrow[0] * by, p.y + arrow[1] * by, "moved to");
        return true;
      }
      if (e.key === "p") {
        const n = natural();
        place(n.w / 2, n.h / 2, "placed at");
        return true;
      }
      if (e.key === "n") {
        toggleHidden();
        return true;
      }
      if (e.key === "Delete" || e.key === "Backspace") {
        places[current] = null;
        render();
        say(`${names[current]} taken back: not placed.`);
        return true;
      }
      return false;
    },
    answer() {
      const open = names.filter((_, i) => places[i] === null);
      if (open.length) return `Place or mark not visible: ${open.join(", ")}.`;
      const points = names.map((name, i) => {
        const p = places[i];
        return p === "hidden" || p === null ? { name, notVisible: true } : { name, x: p.x, y: p.y };
      });
      return create(AnswerSchema, { value: { case: "keypoints", value: { points } } });
    },
  };
}
